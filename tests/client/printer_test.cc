#include <sstream>
#include <string>

#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"
#include "client/output/format.h"
#include "client/output/printer.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace onestop::client {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

v1::Dossier ParseDossier(const std::string& text) {
  v1::Dossier dossier;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &dossier));
  return dossier;
}

// 2020-01-06 08:00 and 2020-01-09 08:00 in Asia/Ho_Chi_Minh.
constexpr char kReceived[] = R"pb(
  code: "000.00.31.H15-200106-0001"
  etag: 2
  procedure_code: "2.000908"
  receiving_agency_code: "000.00.31.H15"
  holder_agency_code: "000.00.31.H15"
  applicant { full_name: "Nguyễn Thị Hằng" personal_id: "066090001234" }
  channel: CHANNEL_DIRECT
  documents { name: "Tờ khai" copies: 1 }
  status: DOSSIER_STATUS_RECEIVED
  portal_status_code: 2
  submitted_time { seconds: 1578272400 }
  received_time { seconds: 1578272400 }
  original_due_time { seconds: 1578531600 }
  due_time { seconds: 1578531600 }
  timeliness: TIMELINESS_WITHIN_DEADLINE
  history {
    sequence: 1
    time { seconds: 1578272400 }
    actor: "hang"
    action: ACTION_KIND_SUBMIT
    from_status: DOSSIER_STATUS_UNSPECIFIED
    to_status: DOSSIER_STATUS_RECEIVED
    holder_agency_code: "000.00.31.H15"
    note: "Nhận tại quầy"
  }
)pb";

TEST(FormatTest, DisplayWidthCountsCodePointsNotBytes) {
  EXPECT_EQ(DisplayWidth("abc"), 3);
  EXPECT_EQ(DisplayWidth("Nguyễn"), 6);  // NFC: ễ is one code point
  EXPECT_EQ(DisplayWidth("Nguye\xCC\x82\xCC\x83n"), 6);  // NFD: e + two marks
  EXPECT_EQ(DisplayWidth("→"), 1);
  EXPECT_EQ(DisplayWidth("\xFF" "a"), 2);  // a stray byte counts one
}

TEST(FormatTest, DeskTimeIsHoChiMinhFormStyle) {
  google::protobuf::Timestamp ts;
  ts.set_seconds(1578272400);  // 2020-01-06T01:00:00Z
  EXPECT_EQ(FormatDeskTime(ts, DeskTimeZone()), "08:00 06/01/2020");
  EXPECT_EQ(FormatDeskTime(google::protobuf::Timestamp(), DeskTimeZone()), "-");
  EXPECT_EQ(FormatRfc3339(ToTime(ts), DeskTimeZone()),
            "2020-01-06T08:00:00+07:00");
}

TEST(FormatTest, Labels) {
  EXPECT_EQ(StatusName(v1::DOSSIER_STATUS_SUPPLEMENT_REQUESTED),
            "SUPPLEMENT_REQUESTED");
  EXPECT_EQ(StatusLabelVi(v1::DOSSIER_STATUS_RECEIVED), "Được tiếp nhận");
  EXPECT_EQ(StatusShort(v1::DOSSIER_STATUS_RETURNED), "RETURNED (10)");
  EXPECT_EQ(ActionName(v1::ACTION_KIND_REQUEST_SUPPLEMENT),
            "request-supplement");
  EXPECT_EQ(TimelinessName(v1::TIMELINESS_ON_TIME), "on time");
  EXPECT_EQ(ReturnModeName(v1::RETURN_MODE_AT_DESK), "desk");

  v1::LegalDeadline deadline;
  deadline.set_amount(3);
  deadline.set_unit(v1::DEADLINE_UNIT_WORKING_DAYS);
  EXPECT_EQ(DeadlineVi(deadline), "3 ngày làm việc");
  EXPECT_EQ(DeadlineEn(deadline), "3 working days");
  deadline.set_amount(1);
  deadline.set_unit(v1::DEADLINE_UNIT_CALENDAR_DAYS);
  EXPECT_EQ(DeadlineEn(deadline), "1 calendar day");

  EXPECT_EQ(FormatVnd(0), "0");
  EXPECT_EQ(FormatVnd(30000), "30.000 đ");
  EXPECT_EQ(FormatVnd(1500000), "1.500.000 đ");
}

TEST(TableTest, AlignsVietnameseByDisplayWidth) {
  Table table({"CODE", "NAME"});
  table.AddRow({"a", "UBND huyện Lắk"});
  table.AddRow({"bbbb", "x"});
  std::ostringstream out;
  table.Print(out);
  EXPECT_EQ(out.str(),
            "CODE  NAME\n"
            "a     UBND huyện Lắk\n"
            "bbbb  x\n");
}

TEST(TablePrinterTest, ShowHasStatusTimesAndHistory) {
  std::ostringstream out, err;
  auto printer = NewTablePrinter(out, err, DeskTimeZone());
  ASSERT_TRUE(printer->PrintDossier(ParseDossier(kReceived)).ok());
  const std::string text = out.str();
  EXPECT_THAT(text, HasSubstr("RECEIVED — Được tiếp nhận (portal 2)"));
  EXPECT_THAT(text, HasSubstr("Nguyễn Thị Hằng, ID 066090001234"));
  EXPECT_THAT(text, HasSubstr("08:00 06/01/2020"));
  EXPECT_THAT(text, HasSubstr("08:00 09/01/2020"));
  EXPECT_THAT(text, HasSubstr("within deadline (trong hạn)"));
  EXPECT_THAT(text, HasSubstr("- → RECEIVED"));
  EXPECT_THAT(text, HasSubstr("Nhận tại quầy"));
  EXPECT_EQ(err.str(), "");
}

TEST(TablePrinterTest, ReceiptShowsCodeAndAppointment) {
  std::ostringstream out, err;
  auto printer = NewTablePrinter(out, err, DeskTimeZone());
  ASSERT_TRUE(printer->PrintReceipt(ParseDossier(kReceived)).ok());
  EXPECT_THAT(out.str(), HasSubstr("Dossier code:  000.00.31.H15-200106-0001"));
  EXPECT_THAT(out.str(), HasSubstr("Appointment:   08:00 09/01/2020"));
}

TEST(TablePrinterTest, ListPrintsNextPageToken) {
  google::protobuf::RepeatedPtrField<v1::Dossier> dossiers;
  *dossiers.Add() = ParseDossier(kReceived);
  std::ostringstream out, err;
  auto printer = NewTablePrinter(out, err, DeskTimeZone());
  ASSERT_TRUE(printer->PrintDossierList(dossiers, "tok").ok());
  const std::vector<std::string> lines =
      absl::StrSplit(out.str(), '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_THAT(lines[0], HasSubstr("CODE"));
  EXPECT_THAT(lines[1], HasSubstr("RECEIVED (2)"));
  EXPECT_EQ(lines[2], "next page token: tok");
}

TEST(JsonPrinterTest, ProtoJsonNamesAndOneLinePerListItem) {
  google::protobuf::RepeatedPtrField<v1::Dossier> dossiers;
  *dossiers.Add() = ParseDossier(kReceived);
  *dossiers.Add() = ParseDossier(kReceived);
  std::ostringstream out, err;
  auto printer = NewJsonPrinter(out, err);
  ASSERT_TRUE(printer->PrintDossierList(dossiers, "tok").ok());
  const std::vector<std::string> lines =
      absl::StrSplit(out.str(), '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_THAT(lines[0], HasSubstr("\"receivingAgencyCode\":\"000.00.31.H15\""));
  EXPECT_THAT(lines[0], HasSubstr("\"status\":\"DOSSIER_STATUS_RECEIVED\""));
  EXPECT_THAT(lines[0], HasSubstr("\"receivedTime\":\"2020-01-06T01:00:00Z\""));
  EXPECT_THAT(lines[0], HasSubstr("Nguyễn Thị Hằng"));
  EXPECT_EQ(err.str(), "next page token: tok\n");
}

TEST(FormatTest, CalendarLabelsAreVietnamese) {
  v1::Date date;
  date.set_year(2020);
  date.set_month(1);
  date.set_day(23);
  EXPECT_EQ(FormatDateVi(date), "23/01/2020");
  EXPECT_EQ(WeekdayVi(date), "Thứ Năm");
  date.set_day(26);
  EXPECT_EQ(WeekdayVi(date), "Chủ Nhật");
  date.set_day(32);
  EXPECT_EQ(WeekdayVi(date), "");  // not a real date
  EXPECT_EQ(FormatDateVi(v1::Date()), "");
  EXPECT_EQ(CalendarDayKindVi(v1::CALENDAR_DAY_KIND_HOLIDAY), "Nghỉ lễ");
  EXPECT_EQ(CalendarDayKindVi(v1::CALENDAR_DAY_KIND_COMPENSATORY), "Nghỉ bù");
  EXPECT_EQ(CalendarDayKindVi(v1::CALENDAR_DAY_KIND_SWAPPED_DAY_OFF), "Nghỉ hoán đổi");
  EXPECT_EQ(CalendarDayKindVi(v1::CALENDAR_DAY_KIND_SWAPPED_WORK_DAY), "Làm bù");
  EXPECT_EQ(CalendarDayKindVi(v1::CALENDAR_DAY_KIND_UNSPECIFIED), "");
}

constexpr char kCalendar[] = R"pb(
  time_zone: "Asia/Ho_Chi_Minh"
  weekly_rest_days: [ 6, 7 ]
  sessions { start: "07:00" end: "11:30" }
  sessions { start: "13:30" end: "17:00" }
  cutoff: "15:00"
  first_year: 2019
  last_year: 2020
  days {
    date { year: 2019 month: 5 day: 4 }
    kind: CALENDAR_DAY_KIND_SWAPPED_WORK_DAY
    name: "Hoán đổi dịp 30/4"
    working: true
  }
  days {
    date { year: 2020 month: 1 day: 23 }
    kind: CALENDAR_DAY_KIND_HOLIDAY
    name: "Tết Nguyên đán"
  }
)pb";

TEST(TablePrinterTest, CalendarShowsRulesAndOneRowPerDay) {
  v1::GetCalendarResponse calendar;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(kCalendar, &calendar));
  std::ostringstream out, err;
  auto printer = NewTablePrinter(out, err, DeskTimeZone());
  ASSERT_TRUE(printer->PrintCalendar(calendar).ok());
  const std::string text = out.str();
  EXPECT_THAT(text, HasSubstr("Rest days:  Thứ Bảy, Chủ Nhật\n"));
  EXPECT_THAT(text, HasSubstr("Sessions:   07:00–11:30, 13:30–17:00\n"));
  EXPECT_THAT(text, HasSubstr("Cut-off:    15:00"));
  EXPECT_THAT(text, HasSubstr("DATE        WEEKDAY  KIND     NAME\n"
                              "04/05/2019  Thứ Bảy  Làm bù   Hoán đổi dịp 30/4\n"
                              "23/01/2020  Thứ Năm  Nghỉ lễ  Tết Nguyên đán\n"));
}

TEST(JsonPrinterTest, CalendarIsOneSpecialDayPerLine) {
  v1::GetCalendarResponse calendar;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(kCalendar, &calendar));
  std::ostringstream out, err;
  auto printer = NewJsonPrinter(out, err);
  ASSERT_TRUE(printer->PrintCalendar(calendar).ok());
  const std::vector<std::string> lines =
      absl::StrSplit(out.str(), '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_THAT(lines[0], HasSubstr("\"kind\":\"CALENDAR_DAY_KIND_SWAPPED_WORK_DAY\""));
  EXPECT_THAT(lines[0], HasSubstr("\"working\":true"));
  EXPECT_THAT(lines[1], HasSubstr("\"name\":\"Tết Nguyên đán\""));
}

TEST(TablePrinterTest, ShowLabelsPausesAndTheRescheduledAppointment) {
  v1::Dossier d = ParseDossier(kReceived);
  // Paused 15:00 22/01/2020 – 09:00 30/01/2020; new appointment 17:00
  // 14/02/2020, with its reason in the history.
  ASSERT_TRUE(google::protobuf::TextFormat::MergeFromString(R"pb(
    pauses {
      start_time { seconds: 1579680000 }
      end_time { seconds: 1580349600 }
      reason: ACTION_KIND_REQUEST_PAYMENT
    }
    pauses { start_time { seconds: 1580349600 } reason: ACTION_KIND_REQUEST_SUPPLEMENT }
    rescheduled_due_time { seconds: 1581674400 }
    history { sequence: 2 action: ACTION_KIND_RESCHEDULE note: "Cần xác minh thực địa" }
  )pb", &d));
  std::ostringstream out, err;
  auto printer = NewTablePrinter(out, err, DeskTimeZone());
  ASSERT_TRUE(printer->PrintDossier(d).ok());
  const std::string text = out.str();
  EXPECT_THAT(text, HasSubstr("Hẹn lại (Form 04):  17:00 14/02/2020 — Cần xác minh thực địa"));
  EXPECT_THAT(text, HasSubstr("15:00 22/01/2020  09:00 30/01/2020  chờ thực hiện nghĩa vụ "
                              "tài chính (request-payment)"));
  EXPECT_THAT(text, HasSubstr("09:00 30/01/2020  ongoing           chờ bổ sung hồ sơ"));

  std::ostringstream change;
  auto change_printer = NewTablePrinter(change, err, DeskTimeZone());
  ASSERT_TRUE(change_printer->PrintChange(d).ok());
  EXPECT_THAT(change.str(), HasSubstr("HẸN LẠI (FORM 04)"));
  EXPECT_THAT(change.str(), HasSubstr("17:00 14/02/2020"));
}

TEST(TablePrinterTest, ShowWithoutRescheduleHasNoAppointmentLine) {
  std::ostringstream out, err;
  auto printer = NewTablePrinter(out, err, DeskTimeZone());
  ASSERT_TRUE(printer->PrintDossier(ParseDossier(kReceived)).ok());
  EXPECT_THAT(out.str(), Not(HasSubstr("Hẹn lại")));
  EXPECT_THAT(out.str(), Not(HasSubstr("Clock pauses")));
}

TEST(JsonPrinterTest, SingleObjectIsPretty) {
  std::ostringstream out, err;
  auto printer = NewJsonPrinter(out, err);
  ASSERT_TRUE(printer->PrintChange(ParseDossier(kReceived)).ok());
  EXPECT_THAT(out.str(), HasSubstr("\n \"code\": \"000.00.31.H15-200106-0001\""));
  EXPECT_THAT(out.str(), Not(HasSubstr("\\u")));  // UTF-8 printed as is
}

}  // namespace
}  // namespace onestop::client
