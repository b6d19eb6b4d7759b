// End to end through the real binaries: onestopd on a SQLite file with the
// shipped sample configuration, driven by onestopctl; restarted; checked.
#include <fstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <google/protobuf/util/json_util.h>

#include "absl/strings/str_split.h"
#include "onestop/v1/dossier.pb.h"
#include "tests/testing/test_auth.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"

namespace onestop {
namespace {

using ::testing::HasSubstr;
using testing::DaemonProcess;
using testing::ProcessResult;
using testing::RunProcess;

constexpr char kCommune[] = "000.01.31.H15";      // UBND thị trấn Liên Sơn (sample)
constexpr char kBirthRegistration[] = "1.001193";  // commune level, in the sample

class LifecycleE2eTest : public ::testing::Test {
 protected:
  std::vector<std::string> DaemonArgs(const std::string& listen = "127.0.0.1:0") {
    return {ONESTOPD_PATH,
            "--config=" + std::string(ONESTOP_SOURCE_DIR) + "/deploy/daklak-2020.textproto",
            "--db=" + dir_.File("onestop.db"), "--listen=" + listen,
            "--clock=controlled", "--clock-start=2020-01-06T08:00:00+07:00",
            "--insecure", "--bootstrap-token-file=" + dir_.File("admin.token")};
  }

  void StartDaemon() {
    ASSERT_TRUE(daemon_.Start(DaemonArgs())) << daemon_.error();
    // The token lives in the database: one issue survives restarts.
    if (token_.empty()) {
      token_ = testing::MustToken(testing::IssueAllRolesToken(
          daemon_.address(), dir_.File("admin.token"), "clerk.lienson"));
    }
  }

  ProcessResult Ctl(std::vector<std::string> args) {
    std::vector<std::string> argv = {ONESTOPCTL_PATH, "--server=" + daemon_.address(),
                                     "--token=" + token_};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunProcess(argv);
  }

  // Runs a command that prints one dossier as JSON and parses it.
  v1::Dossier CtlDossier(std::vector<std::string> args) {
    args.insert(args.begin(), "--output=json");
    const ProcessResult result = Ctl(args);
    EXPECT_EQ(result.exit_code, 0) << result.err;
    v1::Dossier dossier;
    google::protobuf::util::JsonParseOptions options;
    options.ignore_unknown_fields = true;
    const auto status = google::protobuf::util::JsonStringToMessage(result.out, &dossier, options);
    EXPECT_TRUE(status.ok()) << status.ToString() << "\n" << result.out;
    return dossier;
  }

  testing::TempDir dir_;
  DaemonProcess daemon_;
  std::string token_;
};

TEST_F(LifecycleE2eTest, FullLifecycleSurvivesRestart) {
  StartDaemon();
  const v1::Dossier submitted =
      CtlDossier({"submit", "--agency", kCommune, "--procedure", kBirthRegistration,
                  "--name", "Nguyễn Thị Hằng", "--phone", "0912345678",
                  "--address", "Buôn Lê, thị trấn Liên Sơn", "--document", "Tờ khai:1"});
  ASSERT_EQ(submitted.code(), "000.01.31.H15-200106-0001");
  EXPECT_EQ(submitted.status(), v1::DOSSIER_STATUS_RECEIVED);
  const std::string code = submitted.code();

  EXPECT_EQ(CtlDossier({"hand-over", code}).status(), v1::DOSSIER_STATUS_PROCESSING);
  EXPECT_EQ(CtlDossier({"request-supplement", code, "--item", "Giấy chứng sinh"}).status(),
            v1::DOSSIER_STATUS_SUPPLEMENT_REQUESTED);
  EXPECT_EQ(CtlDossier({"supply", code, "--document", "Giấy chứng sinh:1"}).status(),
            v1::DOSSIER_STATUS_PROCESSING);
  EXPECT_EQ(CtlDossier({"decide", code, "--approve"}).decision().outcome(),
            v1::DECISION_OUTCOME_APPROVED);
  EXPECT_EQ(CtlDossier({"ready", code}).status(), v1::DOSSIER_STATUS_RESULT_READY);
  const v1::Dossier returned = CtlDossier({"return", code, "--mode", "desk"});
  EXPECT_EQ(returned.status(), v1::DOSSIER_STATUS_RETURNED);
  EXPECT_EQ(returned.portal_status_code(), 10);

  // A second dossier left open, to find after the restart too.
  const v1::Dossier open = CtlDossier({"submit", "--agency", kCommune, "--procedure",
                                       kBirthRegistration, "--name", "Y Bhin Niê"});
  EXPECT_EQ(open.code(), "000.01.31.H15-200106-0002");

  const v1::Dossier before = CtlDossier({"show", code});
  ASSERT_EQ(before.history_size(), 7);

  // The table view speaks Vietnamese and shows the history.
  const ProcessResult table = Ctl({"show", code});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_THAT(table.out, HasSubstr("Nguyễn Thị Hằng"));
  EXPECT_THAT(table.out, HasSubstr("Đã trả kết quả"));

  ASSERT_EQ(daemon_.Stop(), 0) << "clean shutdown on SIGTERM: " << daemon_.error();
  StartDaemon();

  const v1::Dossier after = CtlDossier({"show", code});
  EXPECT_EQ(after.SerializeAsString().size(), before.SerializeAsString().size());
  ASSERT_EQ(after.history_size(), before.history_size());
  for (int i = 0; i < after.history_size(); ++i) {
    EXPECT_EQ(after.history(i).DebugString(), before.history(i).DebugString()) << "entry " << i;
  }
  EXPECT_EQ(after.applicant().full_name(), "Nguyễn Thị Hằng");
  EXPECT_EQ(CtlDossier({"show", open.code()}).status(), v1::DOSSIER_STATUS_RECEIVED);
}

TEST_F(LifecycleE2eTest, ErrorsExitWithTheGrpcCodeAndTheServersMessage) {
  StartDaemon();
  const ProcessResult missing = Ctl({"show", "000.01.31.H15-200106-9999"});
  EXPECT_EQ(missing.exit_code, 5);  // NOT_FOUND
  EXPECT_THAT(missing.err, HasSubstr("NOT_FOUND"));

  const ProcessResult bad = Ctl({"submit", "--agency", "999.99.99.H99", "--procedure",
                                 kBirthRegistration, "--name", "Lan"});
  EXPECT_EQ(bad.exit_code, 5);
  EXPECT_THAT(bad.err, HasSubstr("999.99.99.H99"));

  const v1::Dossier d = CtlDossier({"submit", "--agency", kCommune, "--procedure",
                                    kBirthRegistration, "--name", "Lan"});
  const ProcessResult illegal = Ctl({"return", d.code(), "--mode", "desk"});
  EXPECT_EQ(illegal.exit_code, 9);  // FAILED_PRECONDITION
  EXPECT_THAT(illegal.err, HasSubstr("RECEIVED"));
}

TEST_F(LifecycleE2eTest, ClockAdvanceMakesDossierOverdueInList) {
  StartDaemon();
  const v1::Dossier d = CtlDossier({"submit", "--agency", kCommune, "--procedure",
                                    kBirthRegistration, "--name", "Lan"});
  ProcessResult overdue = Ctl({"--output=json", "list", "--overdue"});
  ASSERT_EQ(overdue.exit_code, 0) << overdue.err;
  EXPECT_THAT(overdue.out, ::testing::Not(HasSubstr(d.code())));
  ASSERT_EQ(Ctl({"admin", "clock", "advance", "30d"}).exit_code, 0);
  overdue = Ctl({"--output=json", "list", "--overdue"});
  ASSERT_EQ(overdue.exit_code, 0) << overdue.err;
  EXPECT_THAT(overdue.out, HasSubstr(d.code()));
  const ProcessResult back = Ctl({"admin", "clock", "set", "2020-01-01T00:00:00+07:00"});
  EXPECT_EQ(back.exit_code, 9);  // FAILED_PRECONDITION: never backwards
}

TEST_F(LifecycleE2eTest, DaemonRefusesUnsafeOrBrokenStarts) {
  DaemonProcess public_clock;
  EXPECT_FALSE(public_clock.Start(DaemonArgs("0.0.0.0:0")));
  EXPECT_THAT(public_clock.error(), HasSubstr("loopback"));

  const std::string bad_config = dir_.File("bad.textproto");
  std::ofstream(bad_config) << "agencies { code: \"X\" level: \"nowhere\" }\n";
  DaemonProcess config_daemon;
  EXPECT_FALSE(config_daemon.Start({ONESTOPD_PATH, "--config=" + bad_config,
                                    "--db=" + dir_.File("x.db"), "--listen=127.0.0.1:0",
                                    "--insecure"}));
  EXPECT_THAT(config_daemon.error(), HasSubstr("bad.textproto:1"));

  const std::string corrupt_db = dir_.File("corrupt.db");
  std::ofstream(corrupt_db) << std::string(8192, 'x');
  DaemonProcess db_daemon;
  EXPECT_FALSE(db_daemon.Start(
      {ONESTOPD_PATH, "--config=" + std::string(ONESTOP_SOURCE_DIR) + "/deploy/daklak-2020.textproto",
       "--db=" + corrupt_db, "--listen=127.0.0.1:0", "--insecure"}));
  EXPECT_THAT(db_daemon.error(), HasSubstr("corrupt.db"));
}

}  // namespace
}  // namespace onestop
