// Bulk import end to end (issue #8) through the real binaries: a dossier
// processed on one onestopd is exported with `onestopctl show
// --output=json`, written as JSON lines with a second historical dossier
// and two bad lines, and loaded into a fresh onestopd with `onestopctl
// admin import`.
#include <fstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>

#include "onestop/v1/dossier.pb.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_auth.h"

namespace onestop {
namespace {

using ::testing::HasSubstr;
using testing::DaemonProcess;
using testing::ProcessResult;
using testing::RunProcess;

constexpr char kCommune[] = "000.01.31.H15";      // UBND thị trấn Liên Sơn (sample)
constexpr char kBirthRegistration[] = "1.001193";  // commune level, in the sample

class ImportE2eTest : public ::testing::Test {
 protected:
  void Start(const std::string& db) {
    ASSERT_TRUE(daemon_.Start(
        {ONESTOPD_PATH,
         "--config=" + std::string(ONESTOP_SOURCE_DIR) + "/deploy/daklak-2020.textproto",
         "--db=" + dir_.File(db), "--listen=127.0.0.1:0", "--clock=controlled",
         "--clock-start=2020-01-06T08:00:00+07:00", "--insecure",
         "--bootstrap-token-file=" + dir_.File(db + ".token")}))
        << daemon_.error();
    token_ = testing::MustToken(testing::IssueAllRolesToken(
        daemon_.address(), dir_.File(db + ".token"), "admin.tinh"));
  }

  ProcessResult Ctl(std::vector<std::string> args) {
    std::vector<std::string> argv = {ONESTOPCTL_PATH, "--server=" + daemon_.address(),
                                     "--token=" + token_};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunProcess(argv);
  }

  v1::Dossier ParseDossier(const std::string& json) {
    v1::Dossier dossier;
    const auto status = google::protobuf::util::JsonStringToMessage(json, &dossier);
    EXPECT_TRUE(status.ok()) << status.ToString() << "\n" << json;
    return dossier;
  }

  v1::Dossier Show(const std::string& code) {
    const ProcessResult result = Ctl({"--output=json", "show", code});
    EXPECT_EQ(result.exit_code, 0) << result.err;
    return ParseDossier(result.out);
  }

  std::string OneLine(const v1::Dossier& dossier) {
    std::string json;
    EXPECT_TRUE(google::protobuf::util::MessageToJsonString(dossier, &json).ok());
    return json;
  }

  void WriteLines(const std::string& path, const std::vector<std::string>& lines) {
    std::ofstream out(path);
    for (const std::string& line : lines) out << line << "\n";
  }

  testing::TempDir dir_;
  DaemonProcess daemon_;
  std::string token_;
};

TEST_F(ImportE2eTest, ImportsAJsonLinesFileWithLineNumberedErrorsAndIsIdempotent) {
  // The old system: one dossier taken through to the return.
  Start("old.db");
  const auto run = [&](std::vector<std::string> args) {
    const ProcessResult r = Ctl(args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
  };
  run({"submit", "--agency", kCommune, "--procedure", kBirthRegistration, "--name",
       "Nguyễn Thị Hằng", "--phone", "0912345678", "--address", "Buôn Lê, thị trấn Liên Sơn",
       "--document", "Tờ khai:1"});
  const std::string code = "000.01.31.H15-200106-0001";
  run({"hand-over", code});
  run({"decide", code, "--approve"});
  run({"ready", code});
  run({"return", code, "--mode", "desk"});
  const v1::Dossier exported = Show(code);
  ASSERT_EQ(exported.history_size(), 5);
  ASSERT_EQ(daemon_.Stop(), 0) << daemon_.error();

  // A second historical dossier, still open, built by hand.
  v1::Dossier open = exported;
  open.set_code("000.01.31.H15-191230-0077");
  open.mutable_applicant()->set_full_name("Y Bhin Niê");
  open.set_summary("Đăng ký khai sinh cho cháu Hơ Đơk Ly");
  open.set_status(v1::DOSSIER_STATUS_RECEIVED);
  open.mutable_history()->DeleteSubrange(1, 4);
  open.clear_decision();
  open.clear_finished_time();
  open.clear_returned_time();
  open.clear_return_mode();
  open.mutable_submitted_time()->set_seconds(exported.submitted_time().seconds() - 7 * 86400);
  *open.mutable_received_time() = open.submitted_time();
  *open.mutable_history(0)->mutable_time() = open.submitted_time();
  open.set_etag(1);
  v1::Dossier unknown = open;
  unknown.set_code("000.77.31.H15-191230-0001");
  unknown.set_receiving_agency_code("000.77.31.H15");

  const std::string file = dir_.File("old-system.jsonl");
  WriteLines(file, {OneLine(exported), OneLine(open), "{\"code\": \"broken", "",
                    OneLine(unknown)});

  // The new province system.
  Start("new.db");
  ProcessResult imported = Ctl({"admin", "import", file, "--batch", "2"});
  EXPECT_EQ(imported.exit_code, 3) << imported.out << imported.err;  // INVALID_ARGUMENT first
  EXPECT_THAT(imported.out, HasSubstr("line 3: INVALID_ARGUMENT: not a dossier"));
  EXPECT_THAT(imported.out, HasSubstr("line 5 (000.77.31.H15-191230-0001): NOT_FOUND"));
  EXPECT_THAT(imported.out, HasSubstr("2 imported, 0 already present, 2 failed"));

  const v1::Dossier got = Show(code);
  ASSERT_EQ(got.history_size(), exported.history_size());
  for (int i = 0; i < got.history_size(); ++i) {
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(got.history(i),
                                                                   exported.history(i)))
        << got.history(i).ShortDebugString();
  }
  EXPECT_EQ(got.applicant().full_name(), "Nguyễn Thị Hằng");
  EXPECT_EQ(got.status(), v1::DOSSIER_STATUS_RETURNED);
  EXPECT_EQ(Show(open.code()).applicant().full_name(), "Y Bhin Niê");
  const ProcessResult table = Ctl({"show", open.code()});
  EXPECT_THAT(table.out, HasSubstr("Hơ Đơk Ly"));

  // Again, good lines only: nothing new, exit 0.
  const std::string good = dir_.File("good.jsonl");
  WriteLines(good, {OneLine(exported), OneLine(open)});
  imported = Ctl({"admin", "import", good});
  EXPECT_EQ(imported.exit_code, 0) << imported.out << imported.err;
  EXPECT_THAT(imported.out, HasSubstr("0 imported, 2 already present, 0 failed"));

  // New submissions at that desk on that day continue after the import.
  const ProcessResult next = Ctl({"--output=json", "submit", "--agency", kCommune,
                                  "--procedure", kBirthRegistration, "--name", "Ama Khim"});
  ASSERT_EQ(next.exit_code, 0) << next.err;
  EXPECT_EQ(ParseDossier(next.out).code(), "000.01.31.H15-200106-0002");
}

}  // namespace
}  // namespace onestop
