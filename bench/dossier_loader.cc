// dossier_loader: fills a database with N dossiers that each went through
// the whole lifecycle (submit → accept → hand over → decide → ready →
// return: 6 history entries), for the read and footprint benchmarks.
//
// Through the API, 3 million dossiers × 6 durable writes would take hours;
// this calls the same DossierManager and SqliteDossierStore in-process
// with Durability::kNormal (no fsync per commit), so the rows are exactly
// what onestopd writes, only faster to produce. Then onestopd is started on
// the file.
//
// Writes a sample of the issued codes, one per line, to --codes_out (the
// read benchmark picks random dossiers from it), and prints one JSON
// object on stdout.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "server/config/config_loader.h"
#include "server/service/dossier_manager.h"
#include "server/util/clock.h"
#include "storage/sqlite/sqlite_dossier_store.h"

ABSL_FLAG(std::string, db, "", "Database file to fill (created; must not be in use).");
ABSL_FLAG(std::string, config, "deploy/daklak-2020.textproto", "onestopd configuration.");
// A province-level desk and procedure of the sample configuration that are
// valid today: its district and commune agencies ceased on 30/6/2025, and
// the benchmark runs on the real clock like production.
ABSL_FLAG(std::string, agency, "000.00.01.H15", "Receiving agency of the dossiers.");
ABSL_FLAG(std::string, procedure, "2.000488", "Procedure of the dossiers.");
ABSL_FLAG(int64_t, dossiers, 1000, "How many dossiers to create.");
ABSL_FLAG(std::string, codes_out, "", "File for a sample of the issued codes.");
ABSL_FLAG(int64_t, codes_sample, 100000, "At most this many codes go to --codes_out.");
ABSL_FLAG(bool, request_ids, false,
          "Give every write a request_id, as a retrying client would; the store then "
          "keeps an idempotency record (with the full response) per write.");

namespace {

using namespace onestop::v1;  // NOLINT

int Fail(const std::string& what, const absl::Status& status) {
  std::fprintf(stderr, "dossier_loader: %s: %s\n", what.c_str(), status.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  auto catalogue = onestop::config::LoadConfigFile(absl::GetFlag(FLAGS_config));
  if (!catalogue.ok()) return Fail("config", catalogue.status());
  onestop::storage::SqliteOptions store_options;
  store_options.path = absl::GetFlag(FLAGS_db);
  store_options.durability = onestop::storage::Durability::kNormal;
  auto store = onestop::storage::SqliteDossierStore::Open(store_options);
  if (!store.ok()) return Fail("open", store.status());
  onestop::service::DossierManager manager(store->get(), *catalogue,
                                           onestop::SystemClock::Get());

  const int64_t n = absl::GetFlag(FLAGS_dossiers);
  const int64_t stride = std::max<int64_t>(1, n / std::max<int64_t>(1, absl::GetFlag(FLAGS_codes_sample)));
  const bool request_ids = absl::GetFlag(FLAGS_request_ids);
  std::ofstream codes(absl::GetFlag(FLAGS_codes_out));
  const auto start = std::chrono::steady_clock::now();

  SubmitDossierRequest submit;
  submit.set_procedure_code(absl::GetFlag(FLAGS_procedure));
  submit.set_receiving_agency_code(absl::GetFlag(FLAGS_agency));
  submit.set_channel(CHANNEL_DIRECT);
  submit.set_summary("Cấp phiếu lý lịch tư pháp");
  Applicant* applicant = submit.mutable_applicant();
  applicant->set_full_name("Nguyễn Thị Hằng");
  applicant->set_phone("0912345678");
  applicant->set_personal_id("066190001234");
  applicant->set_address("Thôn 1, xã Đắk Liêng, huyện Lắk, tỉnh Đắk Lắk");
  SubmittedDocument* document = submit.add_documents();
  document->set_name("Tờ khai đăng ký khai sinh");
  document->set_copies(1);
  document = submit.add_documents();
  document->set_name("Giấy chứng sinh");
  document->set_copies(1);

  const ActionKind kLifecycle[] = {ACTION_KIND_ACCEPT, ACTION_KIND_HAND_OVER,
                                   ACTION_KIND_RECORD_DECISION, ACTION_KIND_MARK_RESULT_READY,
                                   ACTION_KIND_RETURN_RESULT};
  for (int64_t i = 0; i < n; ++i) {
    if (request_ids) submit.set_request_id(absl::StrCat("load-", i, "-0"));
    auto dossier = manager.Submit(submit, absl::StrCat("SubmitDossier\n", i), "loader");
    if (!dossier.ok()) return Fail("submit", dossier.status());
    if (i % stride == 0) codes << dossier->code() << '\n';
    int step = 1;
    for (ActionKind kind : kLifecycle) {
      onestop::service::ActionCommand command;
      command.code = dossier->code();
      command.etag = dossier->etag();
      if (request_ids) command.request_id = absl::StrCat("load-", i, "-", step);
      command.fingerprint = absl::StrCat(kind, "\n", i);
      command.action.kind = kind;
      if (kind == ACTION_KIND_RECORD_DECISION) {
        command.action.outcome = DECISION_OUTCOME_APPROVED;
      }
      if (kind == ACTION_KIND_RETURN_RESULT) command.action.return_mode = RETURN_MODE_AT_DESK;
      dossier = manager.Act(command, "loader");
      if (!dossier.ok()) return Fail(absl::StrCat("action ", kind), dossier.status());
      ++step;
    }
    if ((i + 1) % 100000 == 0) {
      std::fprintf(stderr, "dossier_loader: %lld dossiers\n", static_cast<long long>(i + 1));
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("{\"kind\":\"load\",\"dossiers\":%lld,\"seconds\":%.2f,\"dossiers_per_second\":%.1f}\n",
              static_cast<long long>(n), seconds, n / seconds);
  return 0;
}
