#include "server/core/import.h"

#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"
#include "server/core/validation.h"
#include "server/core/workflow.h"
#include "server/util/error_info.h"
#include "server/util/status_macros.h"

namespace onestop::core {
namespace {

namespace v1 = ::onestop::v1;
using ::google::protobuf::Timestamp;

// Instants outside [1900-01-02, 9999-12-30] UTC would put report counters
// outside their days (a day either side absorbs the time zone).
absl::Status ValidateInstant(absl::string_view field, const Timestamp& t) {
  static const int64_t kMin =
      absl::ToUnixSeconds(absl::FromCivil(absl::CivilDay(1900, 1, 2), absl::UTCTimeZone()));
  static const int64_t kMax =
      absl::ToUnixSeconds(absl::FromCivil(absl::CivilDay(9999, 12, 30), absl::UTCTimeZone()));
  if (t.seconds() < kMin || t.seconds() > kMax || t.nanos() < 0 || t.nanos() > 999999999) {
    return InvalidFieldError(
        field, absl::StrCat(field, " is not a time between 1900-01-02 and 9999-12-30"));
  }
  return absl::OkStatus();
}

absl::Status ValidateInstants(const v1::Dossier& d) {
  struct Field {
    const char* name;
    bool set;
    const Timestamp* value;
  };
  const Field fields[] = {
      {"submitted_time", d.has_submitted_time(), &d.submitted_time()},
      {"received_time", d.has_received_time(), &d.received_time()},
      {"original_due_time", d.has_original_due_time(), &d.original_due_time()},
      {"due_time", d.has_due_time(), &d.due_time()},
      {"rescheduled_due_time", d.has_rescheduled_due_time(), &d.rescheduled_due_time()},
      {"finished_time", d.has_finished_time(), &d.finished_time()},
      {"returned_time", d.has_returned_time(), &d.returned_time()},
      {"closed_time", d.has_closed_time(), &d.closed_time()},
      {"decision.decided_time", d.decision().has_decided_time(), &d.decision().decided_time()},
  };
  for (const Field& f : fields) {
    if (f.set) ONESTOP_RETURN_IF_ERROR(ValidateInstant(f.name, *f.value));
  }
  if (d.has_returned_to_desk_time()) {
    ONESTOP_RETURN_IF_ERROR(ValidateInstant("returned_to_desk_time", d.returned_to_desk_time()));
  }
  for (int i = 0; i < d.stages_size(); ++i) {
    for (int j = 0; j < d.stages(i).tasks_size(); ++j) {
      const v1::StageTask& task = d.stages(i).tasks(j);
      const std::string at = absl::StrCat("stages[", i, "].tasks[", j, "].");
      const std::pair<const char*, const Timestamp*> times[] = {
          {"handed_time", task.has_handed_time() ? &task.handed_time() : nullptr},
          {"received_time", task.has_received_time() ? &task.received_time() : nullptr},
          {"due_time", task.has_due_time() ? &task.due_time() : nullptr},
          {"effective_due_time",
           task.has_effective_due_time() ? &task.effective_due_time() : nullptr},
          {"completed_time", task.has_completed_time() ? &task.completed_time() : nullptr},
      };
      for (const auto& [name, value] : times) {
        if (value != nullptr) ONESTOP_RETURN_IF_ERROR(ValidateInstant(at + name, *value));
      }
    }
  }
  for (int i = 0; i < d.pauses_size(); ++i) {
    const v1::ClockPause& p = d.pauses(i);
    if (p.has_start_time()) {
      ONESTOP_RETURN_IF_ERROR(
          ValidateInstant(absl::StrCat("pauses[", i, "].start_time"), p.start_time()));
    }
    if (p.has_end_time()) {
      ONESTOP_RETURN_IF_ERROR(
          ValidateInstant(absl::StrCat("pauses[", i, "].end_time"), p.end_time()));
    }
  }
  return absl::OkStatus();
}

bool Before(const Timestamp& a, const Timestamp& b) {
  return a.seconds() < b.seconds() || (a.seconds() == b.seconds() && a.nanos() < b.nanos());
}

absl::Status ValidateStatus(absl::string_view field, v1::DossierStatus status,
                            bool allow_unspecified) {
  if (!v1::DossierStatus_IsValid(status) ||
      (!allow_unspecified && status == v1::DOSSIER_STATUS_UNSPECIFIED)) {
    return InvalidFieldError(
        field, absl::StrCat(field, " is ", static_cast<int>(status),
                            "; give one of the National Portal status codes 1–10"));
  }
  return absl::OkStatus();
}

absl::Status ValidateHistory(const v1::Dossier& d) {
  if (d.history_size() == 0) {
    return InvalidFieldError("history",
                             "history is empty; an imported dossier needs its full history "
                             "(at least the submission)");
  }
  if (d.history_size() > kMaxImportHistory) {
    return InvalidFieldError("history", absl::StrCat("history has ", d.history_size(),
                                                     " entries; at most ", kMaxImportHistory,
                                                     " are allowed"));
  }
  for (int i = 0; i < d.history_size(); ++i) {
    const v1::HistoryEntry& e = d.history(i);
    const std::string at = absl::StrCat("history[", i, "]");
    if (e.sequence() != i + 1) {
      return InvalidFieldError(
          absl::StrCat(at, ".sequence"),
          absl::StrCat(at, ".sequence is ", e.sequence(), "; entries must be numbered 1, 2, 3… "
                       "in order, so it must be ", i + 1));
    }
    if (!e.has_time()) {
      return InvalidFieldError(absl::StrCat(at, ".time"), absl::StrCat(at, ".time is missing"));
    }
    ONESTOP_RETURN_IF_ERROR(ValidateInstant(absl::StrCat(at, ".time"), e.time()));
    if (i > 0 && Before(e.time(), d.history(i - 1).time())) {
      return InvalidFieldError(absl::StrCat(at, ".time"),
                               absl::StrCat(at, ".time is earlier than the entry before it; "
                                            "history must be in time order"));
    }
    if (!v1::ActionKind_IsValid(e.action()) || e.action() == v1::ACTION_KIND_UNSPECIFIED ||
        e.action() == v1::ACTION_KIND_IMPORT) {
      return InvalidFieldError(absl::StrCat(at, ".action"),
                               absl::StrCat(at, ".action is missing or not a lifecycle action"));
    }
    ONESTOP_RETURN_IF_ERROR(ValidateStatus(absl::StrCat(at, ".from_status"), e.from_status(),
                                           /*allow_unspecified=*/true));
    ONESTOP_RETURN_IF_ERROR(ValidateStatus(absl::StrCat(at, ".to_status"), e.to_status(),
                                           /*allow_unspecified=*/false));
    ONESTOP_RETURN_IF_ERROR(ValidateText(absl::StrCat(at, ".actor"), e.actor(), kMaxNameBytes,
                                         Requirement::kOptional));
    ONESTOP_RETURN_IF_ERROR(ValidateText(absl::StrCat(at, ".holder_agency_code"),
                                         e.holder_agency_code(), kMaxCodeBytes,
                                         Requirement::kOptional));
    ONESTOP_RETURN_IF_ERROR(
        ValidateText(absl::StrCat(at, ".note"), e.note(), kMaxTextBytes, Requirement::kOptional));
  }
  const v1::HistoryEntry& last = d.history(d.history_size() - 1);
  if (last.to_status() != d.status()) {
    return InvalidFieldError(
        "status", absl::StrCat("status is ", StatusName(d.status()),
                               " but the last history entry leads to ",
                               StatusName(last.to_status()), "; they must agree"));
  }
  return absl::OkStatus();
}

absl::Status ValidateTexts(const v1::Dossier& d) {
  const v1::Applicant& a = d.applicant();
  ONESTOP_RETURN_IF_ERROR(
      ValidateText("applicant.full_name", a.full_name(), kMaxNameBytes, Requirement::kRequired));
  ONESTOP_RETURN_IF_ERROR(ValidateText("applicant.personal_id", a.personal_id(), kMaxNameBytes,
                                       Requirement::kOptional));
  ONESTOP_RETURN_IF_ERROR(
      ValidateText("applicant.phone", a.phone(), kMaxNameBytes, Requirement::kOptional));
  ONESTOP_RETURN_IF_ERROR(
      ValidateText("applicant.email", a.email(), kMaxNameBytes, Requirement::kOptional));
  ONESTOP_RETURN_IF_ERROR(
      ValidateText("applicant.address", a.address(), kMaxTextBytes, Requirement::kOptional));
  ONESTOP_RETURN_IF_ERROR(
      ValidateText("summary", d.summary(), kMaxTextBytes, Requirement::kOptional));
  ONESTOP_RETURN_IF_ERROR(
      ValidateText("closing_reason", d.closing_reason(), kMaxTextBytes, Requirement::kOptional));
  ONESTOP_RETURN_IF_ERROR(ValidateText("decision.reason", d.decision().reason(), kMaxTextBytes,
                                       Requirement::kOptional));
  ONESTOP_RETURN_IF_ERROR(ValidateText("holder_agency_code", d.holder_agency_code(),
                                       kMaxCodeBytes, Requirement::kOptional));
  ONESTOP_RETURN_IF_ERROR(ValidateText("deciding_agency_code", d.deciding_agency_code(),
                                       kMaxCodeBytes, Requirement::kOptional));
  if (d.documents_size() > static_cast<int>(kMaxListItems)) {
    return InvalidFieldError("documents", absl::StrCat("documents lists ", d.documents_size(),
                                                       " documents; at most ", kMaxListItems,
                                                       " are allowed"));
  }
  for (int i = 0; i < d.documents_size(); ++i) {
    ONESTOP_RETURN_IF_ERROR(ValidateText(absl::StrCat("documents[", i, "].name"),
                                         d.documents(i).name(), kMaxNameBytes,
                                         Requirement::kRequired));
    if (d.documents(i).copies() < 0) {
      return InvalidFieldError(absl::StrCat("documents[", i, "].copies"),
                               absl::StrCat("documents[", i, "].copies is negative"));
    }
  }
  if (d.supplements_size() > static_cast<int>(kMaxListItems)) {
    return InvalidFieldError("supplements", "too many supplement requests");
  }
  for (int i = 0; i < d.supplements_size(); ++i) {
    const v1::SupplementRequest& s = d.supplements(i);
    ONESTOP_RETURN_IF_ERROR(ValidateText(absl::StrCat("supplements[", i, "].note"), s.note(),
                                         kMaxTextBytes, Requirement::kOptional));
    if (s.missing_items_size() > static_cast<int>(kMaxListItems)) {
      return InvalidFieldError(absl::StrCat("supplements[", i, "].missing_items"),
                               "too many missing items");
    }
    for (int j = 0; j < s.missing_items_size(); ++j) {
      ONESTOP_RETURN_IF_ERROR(
          ValidateText(absl::StrCat("supplements[", i, "].missing_items[", j, "]"),
                       s.missing_items(j), kMaxTextBytes, Requirement::kRequired));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ImportCode> ParseImportCode(absl::string_view code) {
  if (code.empty()) {
    return InvalidFieldError("code", "code: the dossier's original code is required");
  }
  ONESTOP_RETURN_IF_ERROR(ValidateText("code", code, kMaxCodeBytes, Requirement::kRequired));
  const size_t dash = code.rfind('-');
  const absl::string_view digits =
      dash == absl::string_view::npos ? absl::string_view() : code.substr(dash + 1);
  bool all_digits = !digits.empty() && digits.size() <= kMaxCodeSequenceDigits;
  for (char c : digits) all_digits = all_digits && absl::ascii_isdigit(static_cast<unsigned char>(c));
  if (dash == absl::string_view::npos || dash == 0 || !all_digits) {
    return InvalidFieldError(
        "code", absl::StrCat("code \"", code, "\" is not shaped <agency>-<YYMMDD>-<number>: it "
                             "must end in a dash and 1–", kMaxCodeSequenceDigits,
                             " digits after something, e.g. 000.31.01.H15-190305-0042"));
  }
  ImportCode out;
  out.prefix = std::string(code.substr(0, dash + 1));
  if (!absl::SimpleAtoi(digits, &out.sequence)) {
    return InvalidFieldError("code", absl::StrCat("code \"", code, "\": its number is too large"));
  }
  return out;
}

namespace {

// An agency named by the record (other than the receiving one, checked
// with its validity day above) must be in the catalogue: reports, gauges
// and the access checks group by it.
absl::Status ValidateNamedAgency(absl::string_view field, absl::string_view code,
                                 const Catalogue& catalogue) {
  if (code.empty() || catalogue.FindAgency(std::string(code)) != nullptr) {
    return absl::OkStatus();
  }
  return WithFieldViolation(
      WithReason(absl::NotFoundError(absl::StrCat(field, ": no agency with code \"", code,
                                                  "\" in the catalogue")),
                 kReasonAgencyNotFound),
      field, "no such agency in the catalogue");
}

// The interlinked route as the workflow expects it (workflow.cc's Forward
// and CompleteStage index stages by current_stage and take each stage's
// first task): 0 ≤ current_stage ≤ stages + 1, no stage without a task,
// every task's agency known. A route the daemon could not have produced is
// refused here rather than crashing a later action.
absl::Status ValidateImportedRoute(const v1::Dossier& d, const Catalogue& catalogue) {
  ONESTOP_RETURN_IF_ERROR(
      ValidateNamedAgency("holder_agency_code", d.holder_agency_code(), catalogue));
  ONESTOP_RETURN_IF_ERROR(
      ValidateNamedAgency("deciding_agency_code", d.deciding_agency_code(), catalogue));
  ONESTOP_RETURN_IF_ERROR(ValidateNamedAgency("returned_to_desk_by_agency_code",
                                              d.returned_to_desk_by_agency_code(), catalogue));
  if (d.current_stage() < 0 || d.current_stage() > d.stages_size() + (d.stages_size() > 0)) {
    return InvalidFieldError(
        "current_stage",
        absl::StrCat("current_stage is ", d.current_stage(), " but the route has ",
                     d.stages_size(), " stages; give 0 (before the first forward), the stage "
                     "in progress (1–", d.stages_size(), ") or ", d.stages_size() + 1,
                     " (back at the receiving desk)"));
  }
  for (int i = 0; i < d.stages_size(); ++i) {
    if (d.stages(i).tasks_size() == 0) {
      return InvalidFieldError(absl::StrCat("stages[", i, "].tasks"),
                               absl::StrCat("stage ", i + 1, " has no agency: every stage of a "
                                            "route needs at least one task"));
    }
    for (int j = 0; j < d.stages(i).tasks_size(); ++j) {
      const std::string field = absl::StrCat("stages[", i, "].tasks[", j, "].agency_code");
      if (d.stages(i).tasks(j).agency_code().empty()) {
        return InvalidFieldError(field, absl::StrCat(field, " is required"));
      }
      ONESTOP_RETURN_IF_ERROR(
          ValidateNamedAgency(field, d.stages(i).tasks(j).agency_code(), catalogue));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<PreparedImport> PrepareImport(v1::Dossier record, const Catalogue& catalogue) {
  PreparedImport out;
  ONESTOP_ASSIGN_OR_RETURN(out.code, ParseImportCode(record.code()));
  ONESTOP_RETURN_IF_ERROR(ValidateStatus("status", record.status(), /*allow_unspecified=*/false));
  ONESTOP_RETURN_IF_ERROR(ValidateHistory(record));
  if (record.etag() != 0 && record.etag() != record.history_size()) {
    return InvalidFieldError(
        "etag", absl::StrCat("etag is ", record.etag(), " but the history has ",
                             record.history_size(),
                             " entries; give the number of entries (or 0)"));
  }
  if (record.channel() == v1::CHANNEL_UNSPECIFIED || !v1::Channel_IsValid(record.channel())) {
    return InvalidFieldError("channel",
                             "channel is required: direct (at the desk), online or postal");
  }
  if (record.components_size() > 0) {
    return InvalidFieldError(
        "components", "components cannot be imported (their files are not part of the import); "
                      "remove them and attach the files afterwards with onestopctl attach");
  }
  ONESTOP_RETURN_IF_ERROR(ValidateTexts(record));
  ONESTOP_RETURN_IF_ERROR(ValidateInstants(record));

  ONESTOP_RETURN_IF_ERROR(ValidateText("procedure_code", record.procedure_code(), kMaxCodeBytes,
                                       Requirement::kRequired));
  ONESTOP_RETURN_IF_ERROR(ValidateText("receiving_agency_code", record.receiving_agency_code(),
                                       kMaxCodeBytes, Requirement::kRequired));
  if (catalogue.FindProcedure(record.procedure_code()) == nullptr) {
    return WithFieldViolation(
        WithReason(absl::NotFoundError(absl::StrCat("no procedure with code \"",
                                                    record.procedure_code(),
                                                    "\" in the catalogue")),
                   kReasonProcedureNotFound),
        "procedure_code", "no such procedure in the catalogue");
  }
  const v1::Agency* agency = catalogue.FindAgency(record.receiving_agency_code());
  if (agency == nullptr) {
    return WithFieldViolation(
        WithReason(absl::NotFoundError(absl::StrCat("no agency with code \"",
                                                    record.receiving_agency_code(),
                                                    "\" in the catalogue")),
                   kReasonAgencyNotFound),
        "receiving_agency_code", "no such agency in the catalogue");
  }
  const Timestamp& submitted =
      record.has_submitted_time() ? record.submitted_time() : record.history(0).time();
  const absl::CivilDay day = catalogue.calendar().ToLocalDay(
      absl::FromUnixSeconds(submitted.seconds()) + absl::Nanoseconds(submitted.nanos()));
  if (!catalogue.AgencyValidOn(*agency, day)) {
    return PreconditionError(
        kReasonAgencyNotValidOnDay, kPreconditionValidity, AgencySubject(agency->code()),
        absl::StrFormat("agency %s (%s) did not exist on %04d-%02d-%02d, the day dossier %s was "
                        "submitted",
                        agency->code(), agency->name(), day.year(), day.month(), day.day(),
                        record.code()));
  }

  ONESTOP_RETURN_IF_ERROR(ValidateImportedRoute(record, catalogue));

  out.dossier = std::move(record);
  v1::Dossier& d = out.dossier;
  d.set_etag(d.history_size());
  d.set_portal_status_code(static_cast<int32_t>(d.status()));
  d.clear_timeliness();
  d.clear_slip();
  return out;
}

}  // namespace onestop::core
