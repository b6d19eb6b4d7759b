#include "tests/fuzz/fuzz_entries.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/match.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "google/protobuf/stubs/logging.h"
#include "google/protobuf/util/message_differencer.h"
#include "onestop/v1/dossier_service.pb.h"
#include "server/config/config_loader.h"
#include "server/core/page_token.h"
#include "server/core/workflow.h"
#include "tests/testing/test_config.h"

namespace onestop::fuzz {
namespace {

using onestop::v1::Dossier;
using onestop::v1::SubmitDossierRequest;

absl::Time Now() {
  return absl::FromCivil(absl::CivilMinute(2020, 1, 6, 9, 0), absl::FixedTimeZone(7 * 3600));
}

// Protobuf logs every string field with invalid UTF-8 it parses; at
// fuzzing rates the logging dominates. Silence it once.
void QuietProtobuf() {
  static const bool quiet = [] {
    google::protobuf::SetLogHandler(
        [](google::protobuf::LogLevel, const char*, int, const std::string&) {});
    return true;
  }();
  (void)quiet;
}

const core::Catalogue& TestCatalogue() {
  static const std::shared_ptr<const core::Catalogue>* catalogue = [] {
    auto loaded = config::LoadConfigText(testing::kTestConfig, "test.textproto");
    if (!loaded.ok()) abort();  // the fixture itself is broken
    return new std::shared_ptr<const core::Catalogue>(*std::move(loaded));
  }();
  return **catalogue;
}

core::ActionContext Context() { return core::ActionContext{Now(), "fuzz"}; }

SubmitDossierRequest ValidRequest(const char* procedure, bool receive_now) {
  SubmitDossierRequest request;
  request.set_procedure_code(procedure);
  request.set_receiving_agency_code(procedure == std::string(testing::kCommuneProcedure)
                                        ? testing::kCommune
                                        : testing::kDistrict);
  request.mutable_applicant()->set_full_name("Nguyễn Thị Hằng");
  request.mutable_applicant()->set_phone("0912345678");
  request.set_channel(onestop::v1::CHANNEL_DIRECT);
  auto* document = request.add_documents();
  document->set_name("Tờ khai");
  document->set_copies(1);
  request.set_summary("Đăng ký");
  request.set_receive_now(receive_now);
  return request;
}

// Applies `kind` (with whatever fields it needs) and returns the next state
// with its etag bumped, or nullopt if the chain cannot continue.
std::optional<Dossier> Step(const Dossier& current, onestop::v1::ActionKind kind) {
  core::Action action;
  action.kind = kind;
  action.note = "lý do";
  action.missing_items = {"Giấy chứng sinh"};
  action.outcome = onestop::v1::DECISION_OUTCOME_APPROVED;
  action.return_mode = onestop::v1::RETURN_MODE_AT_DESK;
  auto transition = core::ApplyAction(current, action, TestCatalogue(), Context());
  if (!transition.ok()) return std::nullopt;
  Dossier next = std::move(transition->dossier);
  next.set_etag(current.etag() + 1);
  return next;
}

std::optional<Dossier> Submitted(const char* procedure, bool receive_now) {
  auto prepared =
      core::PrepareSubmission(ValidRequest(procedure, receive_now), TestCatalogue(), Context());
  if (!prepared.ok()) return std::nullopt;
  Dossier dossier = std::move(prepared->dossier);
  dossier.set_code(prepared->code_prefix + "0001");
  dossier.set_etag(1);
  *dossier.add_history() = prepared->entry;
  return dossier;
}

// One dossier in each status the workflow can reach, built by the core.
const std::vector<Dossier>& Bases() {
  static const std::vector<Dossier>* bases = [] {
    using namespace onestop::v1;  // NOLINT
    auto* out = new std::vector<Dossier>();
    auto keep = [out](const std::optional<Dossier>& d) {
      if (d) out->push_back(*d);
      return d;
    };
    for (const char* procedure : {testing::kCommuneProcedure, testing::kDistrictProcedure}) {
      auto fresh = keep(Submitted(procedure, false));  // NEW
      if (!fresh) continue;
      keep(Step(*fresh, ACTION_KIND_REQUEST_SUPPLEMENT));  // reception supplement
      auto received = keep(Step(*fresh, ACTION_KIND_ACCEPT));
      if (!received) continue;
      keep(Step(*received, ACTION_KIND_REFUSE));
      auto processing = keep(Step(*received, ACTION_KIND_HAND_OVER));
      if (!processing) continue;
      keep(Step(*processing, ACTION_KIND_REQUEST_SUPPLEMENT));
      keep(Step(*processing, ACTION_KIND_REQUEST_PAYMENT));
      keep(Step(*processing, ACTION_KIND_WITHDRAW));
      keep(Step(*processing, ACTION_KIND_STOP));
      auto decided = keep(Step(*processing, ACTION_KIND_RECORD_DECISION));
      if (!decided) continue;
      auto ready = keep(Step(*decided, ACTION_KIND_MARK_RESULT_READY));
      if (!ready) continue;
      keep(Step(*ready, ACTION_KIND_RETURN_RESULT));
    }
    return out;
  }();
  return *bases;
}

std::string CheckTransition(const Dossier& before, const core::Transition& t) {
  const Dossier& after = t.dossier;
  const int n = before.history_size();
  if (after.history_size() != n + 1) {
    return absl::StrCat("history grew from ", n, " to ", after.history_size());
  }
  if (t.entry.sequence() != n + 1) return absl::StrCat("entry sequence ", t.entry.sequence());
  if (!google::protobuf::util::MessageDifferencer::Equals(after.history(n), t.entry)) {
    return "the appended entry differs from the returned one";
  }
  if (t.entry.from_status() != before.status()) return "from_status is not the old status";
  if (t.entry.to_status() != after.status()) return "to_status is not the new status";
  if (after.code() != before.code()) return "the code changed";
  return "";
}

}  // namespace

int SubmitActionBaseCount() { return static_cast<int>(Bases().size()); }

std::string FuzzSubmitAndAction(absl::string_view data) {
  QuietProtobuf();
  if (data.size() < 5) return "";
  const auto kind = static_cast<onestop::v1::ActionKind>(static_cast<uint8_t>(data[0]) % 20);
  const auto outcome =
      static_cast<onestop::v1::DecisionOutcome>(static_cast<uint8_t>(data[1]) % 4);
  const auto mode = static_cast<onestop::v1::ReturnMode>(static_cast<uint8_t>(data[2]) % 5);
  const int16_t hours = static_cast<int16_t>(static_cast<uint16_t>(static_cast<uint8_t>(data[3])) |
                                             static_cast<uint16_t>(static_cast<uint8_t>(data[4]))
                                                 << 8);
  SubmitDossierRequest request;
  // Bytes that do not parse still yield whatever was read before the error.
  request.ParsePartialFromArray(data.data() + 5, static_cast<int>(data.size() - 5));

  auto prepared = core::PrepareSubmission(request, TestCatalogue(), Context());
  if (prepared.ok()) {
    if (prepared->entry.sequence() != 1) return "submission entry sequence is not 1";
    if (prepared->code_prefix.empty()) return "submission without a code prefix";
  } else if (prepared.status().message().empty()) {
    return "submission error without a message";
  }

  core::Action action;
  action.kind = kind;
  action.note = request.summary();
  for (const auto& document : request.documents()) {
    action.missing_items.push_back(document.name());
    action.documents.push_back(document);
  }
  action.outcome = outcome;
  action.return_mode = mode;
  action.to_agency_code = request.receiving_agency_code();
  action.new_due_time = Now() + absl::Hours(hours);
  for (const Dossier& base : Bases()) {
    auto transition = core::ApplyAction(base, action, TestCatalogue(), Context());
    if (transition.ok()) {
      std::string problem = CheckTransition(base, *transition);
      if (!problem.empty()) {
        return absl::StrCat(core::ActionName(kind), " from ", core::StatusName(base.status()),
                            ": ", problem);
      }
    } else if (transition.status().message().empty()) {
      return "action error without a message";
    }
  }
  return "";
}

std::string FuzzConfig(absl::string_view data) {
  QuietProtobuf();
  auto catalogue = config::LoadConfigText(data, "fuzz.textproto");
  if (catalogue.ok()) {
    if (*catalogue == nullptr) return "OK without a catalogue";
    return "";
  }
  if (catalogue.status().code() != absl::StatusCode::kInvalidArgument) {
    return absl::StrCat("unexpected code: ", catalogue.status().ToString());
  }
  if (!absl::StartsWith(catalogue.status().message(), "fuzz.textproto")) {
    return absl::StrCat("message does not start with the file name: ",
                        catalogue.status().message().substr(0, 200));
  }
  return "";
}

std::string FuzzPageToken(absl::string_view data) {
  if (data.empty()) return "";
  const size_t split = std::min<size_t>(static_cast<uint8_t>(data[0]), data.size() - 1);
  const absl::string_view fingerprint = data.substr(1, split);
  const absl::string_view token = data.substr(1 + split);
  auto position = core::DecodePageToken(token, fingerprint);
  if (position.ok()) {
    if (*position <= 0) return absl::StrCat("decoded position ", *position);
    const std::string other = absl::StrCat(fingerprint, "#other");
    if (core::DecodePageToken(token, other).ok()) return "token valid for another query";
  } else if (position.status().code() != absl::StatusCode::kInvalidArgument) {
    return absl::StrCat("unexpected code: ", position.status().ToString());
  }
  // Round trip for a position taken from the bytes.
  int64_t wanted = 1;
  for (char c : token.substr(0, 7)) wanted = wanted * 131 + static_cast<uint8_t>(c);
  const std::string encoded = core::EncodePageToken(wanted, fingerprint);
  auto decoded = core::DecodePageToken(encoded, fingerprint);
  if (!decoded.ok() || *decoded != wanted) {
    return absl::StrCat("round trip of ", wanted, " failed");
  }
  return "";
}

}  // namespace onestop::fuzz
