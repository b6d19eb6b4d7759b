// End to end: configuration reload (admin RPC and SIGHUP) and an online
// backup taken under load, restored by starting a daemon on the copy.
#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "onestop/v1/dossier_service.grpc.pb.h"
#include "storage/sqlite/sqlite_dossier_store.h"
#include "tests/testing/test_auth.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"

namespace onestop {
namespace {

using ::testing::HasSubstr;
using testing::DaemonProcess;
using testing::ProcessResult;
using testing::RunProcess;

std::string SampleConfig() {
  std::ifstream in(std::string(ONESTOP_SOURCE_DIR) + "/deploy/daklak-2020.textproto");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class OperationsE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_ = dir_.File("onestopd.textproto");
    std::ofstream(config_) << SampleConfig();
    StartDaemon(daemon_, dir_.File("onestop.db"));
  }

  void StartDaemon(DaemonProcess& daemon, const std::string& db) {
    ASSERT_TRUE(daemon.Start({ONESTOPD_PATH, "--config=" + config_, "--db=" + db,
                              "--listen=127.0.0.1:0", "--admin-listen=off",
                              "--clock=controlled",
                              "--clock-start=2020-01-06T08:00:00+07:00", "--insecure",
                              "--bootstrap-token-file=" + db + ".admin.token"}))
        << daemon.error();
    // Tokens live in the database (a restored copy keeps them): issue once.
    if (token_.empty()) {
      token_ = testing::MustToken(
          testing::IssueAllRolesToken(daemon.address(), db + ".admin.token", "operator"));
    }
  }

  ProcessResult Ctl(const DaemonProcess& daemon, std::vector<std::string> args) {
    std::vector<std::string> argv = {ONESTOPCTL_PATH, "--server=" + daemon.address(),
                                     "--token=" + token_};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunProcess(argv);
  }

  int ProcedureCount(const DaemonProcess& daemon) {
    const ProcessResult result = Ctl(daemon, {"--output=json", "procedures"});
    EXPECT_EQ(result.exit_code, 0) << result.err;
    int lines = 0;
    for (absl::string_view line : absl::StrSplit(result.out, '\n')) lines += !line.empty();
    return lines;
  }

  testing::TempDir dir_;
  std::string config_;
  DaemonProcess daemon_;
  std::string token_;
};

constexpr char kExtraProcedure[] = R"pb(
procedures {
  code: "9.000001" name: "Thủ tục thử nghiệm tải lại cấu hình" level: "commune"
  deadline { amount: 2 unit: DEADLINE_UNIT_WORKING_DAYS } field: "Thử nghiệm"
}
)pb";

TEST_F(OperationsE2eTest, ReloadSwapsAValidConfigAndKeepsTheOldOnAnError) {
  const int before = ProcedureCount(daemon_);
  std::ofstream(config_, std::ios::app) << kExtraProcedure;
  const ProcessResult reload = Ctl(daemon_, {"admin", "reload"});
  ASSERT_EQ(reload.exit_code, 0) << reload.err;
  EXPECT_THAT(reload.out, HasSubstr(absl::StrCat(before + 1, " procedures")));
  EXPECT_EQ(ProcedureCount(daemon_), before + 1);

  // A broken file is refused with its line; the running catalogue stays.
  std::ofstream(config_, std::ios::app) << "procedures { code: \"9.000002\" level: \"nowhere\" }\n";
  const ProcessResult bad = Ctl(daemon_, {"admin", "reload"});
  EXPECT_EQ(bad.exit_code, 3) << bad.err;  // INVALID_ARGUMENT
  EXPECT_THAT(bad.err, HasSubstr("onestopd.textproto:"));
  EXPECT_EQ(ProcedureCount(daemon_), before + 1);
}

TEST_F(OperationsE2eTest, SighupReloadsTheConfiguration) {
  const int before = ProcedureCount(daemon_);
  std::ofstream(config_, std::ios::app) << kExtraProcedure;
  ASSERT_EQ(kill(daemon_.pid(), SIGHUP), 0);
  // SIGHUP is asynchronous: wait (bounded) for the new catalogue to show.
  int after = before;
  for (int attempt = 0; attempt < 100 && after == before; ++attempt) {
    after = ProcedureCount(daemon_);
  }
  EXPECT_EQ(after, before + 1);
}

TEST_F(OperationsE2eTest, BackupUnderLoadHoldsEveryEarlierAcknowledgedWrite) {
  auto channel = testing::AuthorizedChannel(daemon_.address(), token_);
  auto stub = v1::DossierService::NewStub(channel);
  auto admin = v1::AdminService::NewStub(channel);
  std::mutex mu;
  std::condition_variable landed;
  std::vector<std::string> acknowledged;
  std::atomic<bool> stop{false};
  std::vector<std::thread> writers;
  for (int t = 0; t < 2; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; !stop.load(); ++i) {
        v1::SubmitDossierRequest request;
        request.set_procedure_code("1.001193");
        request.set_receiving_agency_code("000.01.31.H15");
        request.mutable_applicant()->set_full_name(absl::StrCat("Người nộp ", t, "-", i));
        request.set_channel(v1::CHANNEL_DIRECT);
        request.set_receive_now(true);
        grpc::ClientContext context;
        v1::SubmitDossierResponse response;
        if (stub->SubmitDossier(&context, request, &response).ok()) {
          std::lock_guard<std::mutex> lock(mu);
          acknowledged.push_back(response.dossier().code());
          landed.notify_all();
        }
      }
    });
  }
  // Let some writes land, then snapshot what was acknowledged so far.
  std::vector<std::string> before_backup;
  {
    std::unique_lock<std::mutex> lock(mu);
    landed.wait(lock, [&] { return acknowledged.size() >= 50; });
    before_backup = acknowledged;
  }
  const std::string copy = dir_.File("backup.db");
  grpc::ClientContext context;
  v1::BackupDatabaseRequest request;
  request.set_path(copy);
  v1::BackupDatabaseResponse response;
  const grpc::Status status = admin->BackupDatabase(&context, request, &response);
  stop = true;
  for (auto& writer : writers) writer.join();
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_GT(response.bytes(), 0);

  // The copy opens cleanly (integrity checked at Open) and holds them all.
  {
    storage::SqliteOptions options;
    options.path = copy;
    auto store = storage::SqliteDossierStore::Open(options);
    ASSERT_TRUE(store.ok()) << store.status();
    for (const std::string& code : before_backup) {
      EXPECT_TRUE((*store)->Get(code).ok()) << "missing from the backup: " << code;
    }
  }
  // Restore = start a daemon on the copy.
  DaemonProcess restored;
  StartDaemon(restored, copy);
  const ProcessResult shown = Ctl(restored, {"show", before_backup.front()});
  EXPECT_EQ(shown.exit_code, 0) << shown.err;

  // A relative path is refused before anything is written.
  grpc::ClientContext bad_context;
  v1::BackupDatabaseRequest relative;
  relative.set_path("backup.db");
  EXPECT_EQ(admin->BackupDatabase(&bad_context, relative, &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

}  // namespace
}  // namespace onestop
