// The time law end to end: the real onestopd (controlled clock, the
// shipped Đắk Lắk 2020 configuration) driven by onestopctl. A land dossier
// received after the cut-off just before Tết 2020, a payment pause across
// Tết, due-soon and overdue lists as the clock moves, the one apology
// (Form 04), and `calendar 2020`. Due times are worked out by hand in the
// comments.
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <google/protobuf/util/json_util.h>

#include "absl/strings/str_split.h"
#include "onestop/v1/dossier.pb.h"
#include "onestop/v1/dossier_service.pb.h"
#include "tests/testing/test_auth.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"

namespace onestop {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::DaemonProcess;
using testing::ProcessResult;
using testing::RunProcess;

constexpr char kDistrict[] = "000.00.31.H15";  // UBND huyện Lắk (sample)
// Đăng ký biến động đất đai: district level, 10 working days, decided by
// the land registration branch; excludes time awaiting financial
// obligations.
constexpr char kLandProcedure[] = "1.003010";

class TimeLawE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Friday 17/1/2020 15:30: after the 15:00 cut-off, the last working day
    // before Tết (Thursday 23/1 – Wednesday 29/1 off).
    ASSERT_TRUE(daemon_.Start(
        {ONESTOPD_PATH,
         "--config=" + std::string(ONESTOP_SOURCE_DIR) + "/deploy/daklak-2020.textproto",
         "--db=" + dir_.File("onestop.db"), "--listen=127.0.0.1:0", "--clock=controlled",
         "--clock-start=2020-01-17T15:30:00+07:00", "--insecure",
         "--bootstrap-token-file=" + dir_.File("admin.token")}))
        << daemon_.error();
    token_ = testing::MustToken(testing::IssueAllRolesToken(
        daemon_.address(), dir_.File("admin.token"), "officer.lak"));
  }

  ProcessResult Ctl(std::vector<std::string> args) {
    std::vector<std::string> argv = {ONESTOPCTL_PATH, "--server=" + daemon_.address(),
                                     "--token=" + token_};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunProcess(argv);
  }

  void ClockSet(const std::string& time) {
    const ProcessResult result = Ctl({"admin", "clock", "set", time});
    ASSERT_EQ(result.exit_code, 0) << result.err;
  }

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

  // The codes `list FLAG --all` prints as JSON lines.
  std::vector<std::string> ListCodes(const std::string& flag) {
    const ProcessResult result = Ctl({"--output=json", "list", flag, "--all"});
    EXPECT_EQ(result.exit_code, 0) << result.err;
    std::vector<std::string> codes;
    for (absl::string_view line : absl::StrSplit(result.out, '\n', absl::SkipEmpty())) {
      v1::Dossier d;
      EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(std::string(line), &d).ok())
          << line;
      codes.push_back(d.code());
    }
    return codes;
  }

  static std::string Rfc3339(const google::protobuf::Timestamp& ts) {
    std::string json;
    EXPECT_TRUE(google::protobuf::util::MessageToJsonString(ts, &json).ok());
    return json;  // a quoted string, e.g. "\"2020-02-10T10:00:00Z\""
  }

  testing::TempDir dir_;
  DaemonProcess daemon_;
  std::string token_;
};

TEST_F(TimeLawE2eTest, CutOffTetPauseDueSoonOverdueAndOneApology) {
  const v1::Dossier received =
      CtlDossier({"submit", "--agency", kDistrict, "--procedure", kLandProcedure, "--name",
                  "Y Bhin Niê", "--summary", "Chuyển nhượng quyền sử dụng đất"});
  ASSERT_EQ(received.status(), v1::DOSSIER_STATUS_RECEIVED);
  const std::string code = received.code();
  // By hand: received after 15:00, so counting starts Monday 20/1; the 10
  // working days after it are 21, 22 (Tết 23–29 off), 30, 31/1, 3, 4, 5, 6,
  // 7 and 10/2. Due Monday 10/2/2020 17:00 (+07:00) = 10:00Z.
  EXPECT_EQ(Rfc3339(received.due_time()), "\"2020-02-10T10:00:00Z\"");
  EXPECT_EQ(Rfc3339(received.original_due_time()), "\"2020-02-10T10:00:00Z\"");

  ASSERT_EQ(CtlDossier({"hand-over", code}).status(), v1::DOSSIER_STATUS_PROCESSING);
  ClockSet("2020-01-22T15:00");  // Wednesday before Tết
  const v1::Dossier paying = CtlDossier(
      {"request-payment", code, "--note", "Thông báo nộp thuế TNCN số 45/TB-CCT"});
  EXPECT_EQ(paying.status(), v1::DOSSIER_STATUS_FINANCIAL_OBLIGATION);
  EXPECT_EQ(paying.portal_status_code(), 6);

  ClockSet("2020-01-30T09:00");  // Thursday after Tết
  const v1::Dossier paid =
      CtlDossier({"confirm-payment", code, "--note", "Biên lai số 0004567"});
  EXPECT_EQ(paid.status(), v1::DOSSIER_STATUS_PROCESSING);
  // Paused working time: 22/1 15:00–17:00 and 30/1 07:00–09:00 = 4 h; Tết
  // adds nothing. Monday 10/2 17:00 + 4 h = Tuesday 11/2 11:00 (04:00Z).
  EXPECT_EQ(Rfc3339(paid.due_time()), "\"2020-02-11T04:00:00Z\"");
  EXPECT_EQ(Rfc3339(paid.original_due_time()), "\"2020-02-10T10:00:00Z\"");

  const ProcessResult shown = Ctl({"show", code});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_THAT(shown.out, HasSubstr("Clock pauses"));
  EXPECT_THAT(shown.out, HasSubstr("15:00 22/01/2020  09:00 30/01/2020"));
  EXPECT_THAT(shown.out, HasSubstr("nghĩa vụ tài chính"));
  EXPECT_THAT(shown.out, HasSubstr("11:00 11/02/2020"));

  // Friday 7/2: due Tuesday is beyond the 1-working-day window (Monday).
  ClockSet("2020-02-07T10:00");
  EXPECT_THAT(ListCodes("--due-soon"), Not(::testing::Contains(code)));
  // Monday 10/2: the window reaches Tuesday 11/2.
  ClockSet("2020-02-10T10:00");
  EXPECT_THAT(ListCodes("--due-soon"), ::testing::ElementsAre(code));
  EXPECT_THAT(ListCodes("--overdue"), ::testing::IsEmpty());

  // The apology (Form 04), 1 day before the due date: allowed once.
  const v1::Dossier apologised = CtlDossier({"reschedule", code, "--to", "2020-02-14T17:00",
                                             "--reason", "Cần xác minh ranh giới thửa đất"});
  EXPECT_EQ(Rfc3339(apologised.rescheduled_due_time()), "\"2020-02-14T10:00:00Z\"");
  EXPECT_EQ(Rfc3339(apologised.due_time()), "\"2020-02-11T04:00:00Z\"");
  const ProcessResult again = Ctl({"reschedule", code, "--to", "2020-02-21T17:00", "--reason",
                                   "Lần thứ hai"});
  EXPECT_EQ(again.exit_code, 9) << again.err;  // FAILED_PRECONDITION
  EXPECT_THAT(again.err, HasSubstr("FAILED_PRECONDITION"));
  const ProcessResult table = Ctl({"show", code});
  EXPECT_THAT(table.out, HasSubstr("Hẹn lại (Form 04)"));
  EXPECT_THAT(table.out, HasSubstr("17:00 14/02/2020 — Cần xác minh ranh giới thửa đất"));

  // Wednesday 12/2: overdue by the due time, whatever the citizen was told.
  ClockSet("2020-02-12T08:00");
  EXPECT_THAT(ListCodes("--overdue"), ::testing::ElementsAre(code));
  EXPECT_THAT(ListCodes("--due-soon"), ::testing::IsEmpty());
  EXPECT_EQ(CtlDossier({"show", code}).timeliness(), v1::TIMELINESS_OVERDUE);
}

TEST_F(TimeLawE2eTest, CalendarPrintsTet2020) {
  const ProcessResult table = Ctl({"calendar", "2020"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_THAT(table.out, HasSubstr("Asia/Ho_Chi_Minh"));
  EXPECT_THAT(table.out, HasSubstr("Thứ Bảy, Chủ Nhật"));
  EXPECT_THAT(table.out, HasSubstr("07:00–11:30, 13:30–17:00"));
  EXPECT_THAT(table.out, ::testing::ContainsRegex("23/01/2020 +Thứ Năm +Nghỉ lễ +Tết Nguyên đán"));
  EXPECT_THAT(table.out, ::testing::ContainsRegex("29/01/2020 +Thứ Tư +Nghỉ lễ +Tết Nguyên đán"));
  EXPECT_EQ(table.err, "");

  const ProcessResult json = Ctl({"--output=json", "calendar", "2020"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  std::vector<std::string> tet;
  int lines = 0;
  for (absl::string_view line : absl::StrSplit(json.out, '\n', absl::SkipEmpty())) {
    ++lines;
    v1::SpecialDay day;
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(std::string(line), &day).ok())
        << line;
    if (day.name() == "Tết Nguyên đán") tet.push_back(std::to_string(day.date().day()));
  }
  // 2020 (Labour Code 2012): New Year, five Tết days, Giỗ Tổ, 30/4, 1/5, 2/9.
  EXPECT_EQ(lines, 10);
  EXPECT_THAT(tet, ::testing::ElementsAre("23", "24", "27", "28", "29"));

  const ProcessResult too_long = Ctl({"calendar", "2000", "--to", "2030"});
  EXPECT_EQ(too_long.exit_code, 3) << too_long.err;  // INVALID_ARGUMENT
  EXPECT_THAT(too_long.err, HasSubstr("at most 20 years"));

  const ProcessResult uncovered = Ctl({"calendar", "2030"});
  EXPECT_EQ(uncovered.exit_code, 0) << uncovered.err;
  EXPECT_THAT(uncovered.err, HasSubstr("covers 2019–2027"));
}

}  // namespace
}  // namespace onestop
