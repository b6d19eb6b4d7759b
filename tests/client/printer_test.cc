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

TEST(JsonPrinterTest, SingleObjectIsPretty) {
  std::ostringstream out, err;
  auto printer = NewJsonPrinter(out, err);
  ASSERT_TRUE(printer->PrintChange(ParseDossier(kReceived)).ok());
  EXPECT_THAT(out.str(), HasSubstr("\n \"code\": \"000.00.31.H15-200106-0001\""));
  EXPECT_THAT(out.str(), Not(HasSubstr("\\u")));  // UTF-8 printed as is
}

}  // namespace
}  // namespace onestop::client
