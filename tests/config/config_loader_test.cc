// The configuration loader: the shipped sample loads, and every kind of
// mistake is reported as FILE:LINE:COL: field: message.
#include "server/config/config_loader.h"

#include <cstdio>
#include <fstream>
#include <initializer_list>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace onestop::config {
namespace {

using ::onestop::testing::IsOk;
using ::onestop::testing::StatusIs;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using ::testing::UnorderedElementsAreArray;

constexpr char kSamplePath[] = ONESTOP_SOURCE_DIR "/deploy/daklak-2020.textproto";
constexpr char kLak[] = "000.00.31.H15";

// Joins lines with "\n" so that a test can see which line is which.
std::string Lines(std::initializer_list<const char*> lines) {
  return absl::StrJoin(lines, "\n");
}

// A small valid configuration; line numbers are used by the tests below.
std::vector<const char*> BaseLines() {
  return {
      R"(name: "Thử nghiệm")",                                     // 1
      R"(levels { code: "province" name: "Cấp tỉnh" })",           // 2
      R"(levels { code: "district" name: "Cấp huyện" })",          // 3
      R"(agencies {)",                                             // 4
      R"(  code: "P")",                                            // 5
      R"(  name: "UBND tỉnh Đắk Lắk")",                            // 6
      R"(  level: "province")",                                    // 7
      R"(})",                                                      // 8
      R"(agencies {)",                                             // 9
      R"(  code: "D")",                                            // 10
      R"(  name: "UBND huyện Lắk")",                               // 11
      R"(  level: "district")",                                    // 12
      R"(  parent_code: "P")",                                     // 13
      R"(})",                                                      // 14
  };
}

std::string Text(const std::vector<const char*>& lines) {
  return absl::StrJoin(lines, "\n");
}

// The message's lines.
std::vector<std::string> MessageLines(const absl::Status& status) {
  return absl::StrSplit(std::string(status.message()), '\n');
}

TEST(ConfigLoaderTest, BaseConfigurationLoads) {
  EXPECT_THAT(LoadConfigText(Text(BaseLines()), "base.textproto"), IsOk());
}

// --- Interlinked routes -----------------------------------------------------

// BaseLines plus a land office that closed at the end of 2019 and a
// procedure offered from 2020 whose route names it.
std::vector<const char*> RouteLines() {
  std::vector<const char*> lines = BaseLines();
  for (const char* line : {
           R"(agencies {)",                                                 // 15
           R"(  code: "L")",                                                // 16
           R"(  name: "Chi nhánh Văn phòng đăng ký đất đai huyện Lắk")",    // 17
           R"(  level: "district")",                                        // 18
           R"(  parent_code: "P")",                                         // 19
           R"(  valid_to { year: 2019 month: 12 day: 31 })",                // 20
           R"(})",                                                          // 21
           R"(procedures {)",                                               // 22
           R"(  code: "1.004227")",                                         // 23
           R"(  name: "Đăng ký biến động quyền sử dụng đất")",              // 24
           R"(  level: "district")",                                        // 25
           R"(  valid_from { year: 2020 month: 1 day: 1 })",                // 26
           R"(  deadline { amount: 10 unit: DEADLINE_UNIT_WORKING_DAYS })", // 27
           R"(  route {)",                                                  // 28
           R"(    agencies { agency_code: "L" })",                          // 29
           R"(    budget { amount: 10 unit: DEADLINE_UNIT_WORKING_DAYS })", // 30
           R"(  })",                                                        // 31
           R"(})",                                                          // 32
       }) {
    lines.push_back(line);
  }
  return lines;
}

TEST(ConfigLoaderTest, RouteNamingAVanishedAgencyIsRejectedAtItsLine) {
  auto loaded = LoadConfigText(Text(RouteLines()), "deploy/x.textproto");
  ASSERT_THAT(loaded, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(MessageLines(loaded.status()),
              ElementsAre(AllOf(
                  StartsWith("deploy/x.textproto:29:16: "
                             "procedures[0].route[0].agencies[0].agency_code: "),
                  HasSubstr("names agency L (Chi nhánh Văn phòng đăng ký đất đai huyện Lắk), "
                            "which exists only from the beginning to 2019-12-31"),
                  HasSubstr("no longer exists"))));
}

TEST(ConfigLoaderTest, RouteBudgetsNotAddingUpAreRejectedAtTheRoute) {
  std::vector<const char*> lines = RouteLines();
  lines[19] = R"(  valid_to { year: 2029 month: 12 day: 31 })";                // 20
  lines[29] = R"(    budget { amount: 9 unit: DEADLINE_UNIT_WORKING_DAYS })";  // 30
  auto loaded = LoadConfigText(Text(lines), "deploy/x.textproto");
  ASSERT_THAT(loaded, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(MessageLines(loaded.status()),
              ElementsAre("deploy/x.textproto:28:3: procedures[0].route: procedure 1.004227: "
                          "stage budgets add up to 9, but the deadline is 10 "
                          "(DEADLINE_UNIT_WORKING_DAYS); they must be equal"));
}

TEST(ConfigLoaderTest, RelativeReferenceThatCannotResolveIsRejected) {
  std::vector<const char*> lines = RouteLines();
  lines[19] = R"(  valid_to { year: 2029 month: 12 day: 31 })";                       // 20
  lines[28] = R"(    agencies { unit: RELATIVE_UNIT_RECEIVING kind: "police" })";   // 29
  auto loaded = LoadConfigText(Text(lines), "deploy/x.textproto");
  ASSERT_THAT(loaded, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(MessageLines(loaded.status()),
              ElementsAre(AllOf(StartsWith("deploy/x.textproto:29:5: "
                                           "procedures[0].route[0].agencies[0]: "),
                                HasSubstr("no agency of kind \"police\" serves"))));
}

TEST(SampleConfigTest, ShipsTheThreeRouteShapesAndTheTwoTierWorld) {
  auto loaded = LoadConfigFile(kSamplePath);
  ASSERT_THAT(loaded, IsOk());
  const core::Catalogue& catalogue = **loaded;
  struct Expected {
    const char* code;
    int stages;
    int parallel_in_last;
  };
  for (const Expected& e : std::vector<Expected>{
           {"1.004227", 2, 2}, {"1.001193.LT", 2, 2}, {"2.000720", 1, 1}}) {
    SCOPED_TRACE(e.code);
    const onestop::v1::Procedure* procedure = catalogue.FindProcedure(e.code);
    ASSERT_NE(procedure, nullptr);
    ASSERT_EQ(procedure->route_size(), e.stages);
    EXPECT_EQ(procedure->route(e.stages - 1).agencies_size(), e.parallel_in_last);
  }
  // Other helpers' fixtures rely on these staying ordinary.
  EXPECT_TRUE(catalogue.FindProcedure("1.001193")->route().empty());
  const onestop::v1::Agency* lien_son_lak = catalogue.FindAgency("000.41.00.H15");
  ASSERT_NE(lien_son_lak, nullptr);
  EXPECT_EQ(lien_son_lak->name(), "UBND xã Liên Sơn Lắk");
  EXPECT_EQ(lien_son_lak->parent_code(), "000.00.00.H15");
  EXPECT_FALSE(catalogue.AgencyValidOn(*lien_son_lak, absl::CivilDay(2025, 6, 30)));
  EXPECT_TRUE(catalogue.AgencyValidOn(*lien_son_lak, absl::CivilDay(2025, 7, 1)));
  EXPECT_THAT(catalogue.FindAgency("000.01.31.H15")->successor_codes(),
              ElementsAre("000.41.00.H15"));
  // A supervisor of huyện Lắk sees its 11 communes.
  EXPECT_EQ(catalogue.SubtreeCodes(kLak).size(), 12u);
}

// --- The shipped sample ----------------------------------------------------

TEST(SampleConfigTest, LoadsAndHoldsHuyenLakWithElevenCommunes) {
  auto loaded = LoadConfigFile(kSamplePath);
  ASSERT_THAT(loaded, IsOk());
  const core::Catalogue& catalogue = **loaded;

  EXPECT_EQ(catalogue.config().name(), "Đắk Lắk (2020)");
  ASSERT_EQ(catalogue.levels().size(), 3u);
  EXPECT_EQ(catalogue.levels()[0].name(), "Cấp tỉnh");
  EXPECT_EQ(catalogue.levels()[1].name(), "Cấp huyện");
  EXPECT_EQ(catalogue.levels()[2].name(), "Cấp xã");

  const onestop::v1::Agency* lak = catalogue.FindAgency(kLak);
  ASSERT_NE(lak, nullptr);
  EXPECT_EQ(lak->name(), "UBND huyện Lắk");
  EXPECT_EQ(lak->level(), "district");
  EXPECT_TRUE(catalogue.AgencyValidOn(*lak, absl::CivilDay(2020, 9, 30)));
  EXPECT_TRUE(catalogue.AgencyValidOn(*lak, absl::CivilDay(2025, 6, 30)));
  EXPECT_FALSE(catalogue.AgencyValidOn(*lak, absl::CivilDay(2025, 7, 1)));

  std::vector<std::string> communes;
  for (const onestop::v1::Agency& agency : catalogue.agencies()) {
    if (agency.parent_code() != kLak || agency.level() != "commune") continue;
    communes.push_back(agency.name());
    EXPECT_TRUE(catalogue.IsInSubtree(agency.code(), kLak)) << agency.code();
    EXPECT_TRUE(catalogue.AgencyValidOn(agency, absl::CivilDay(2020, 1, 2)));
    EXPECT_FALSE(catalogue.AgencyValidOn(agency, absl::CivilDay(2025, 7, 1)))
        << agency.name();
  }
  EXPECT_THAT(communes,
              UnorderedElementsAreArray(
                  {"UBND thị trấn Liên Sơn", "UBND xã Bông Krang", "UBND xã Buôn Triết",
                   "UBND xã Buôn Tría", "UBND xã Đắk Liêng", "UBND xã Đắk Nuê",
                   "UBND xã Đắk Phơi", "UBND xã Ea R'Bin", "UBND xã Krông Nô",
                   "UBND xã Nam Ka", "UBND xã Yang Tao"}));

  // The district's own branch offices sit at district level.
  const onestop::v1::Agency* land = catalogue.FindAgency("000.31.02.H15");
  ASSERT_NE(land, nullptr);
  EXPECT_EQ(land->name(), "Chi nhánh Văn phòng đăng ký đất đai huyện Lắk");
  EXPECT_EQ(land->level(), "district");
  const onestop::v1::Agency* tax = catalogue.FindAgency("000.31.04.H15");
  ASSERT_NE(tax, nullptr);
  EXPECT_EQ(tax->name(), "Chi cục Thuế huyện Lắk");
}

TEST(SampleConfigTest, AgencyCodesHaveTheElectronicIdShape) {
  auto loaded = LoadConfigFile(kSamplePath);
  ASSERT_THAT(loaded, IsOk());
  std::set<std::string> codes;
  for (const onestop::v1::Agency& agency : (*loaded)->agencies()) {
    EXPECT_THAT(agency.code(),
                ::testing::MatchesRegex("[0-9]{3}\\.[0-9]{2}\\.[0-9]{2}\\.H15"));
    EXPECT_TRUE(codes.insert(agency.code()).second) << agency.code();
  }
  EXPECT_GE(codes.size(), 20u);
}

TEST(SampleConfigTest, HoldsTheExpectedProcedures) {
  auto loaded = LoadConfigFile(kSamplePath);
  ASSERT_THAT(loaded, IsOk());
  const core::Catalogue& catalogue = **loaded;
  using onestop::v1::DEADLINE_UNIT_WORKING_DAYS;

  struct Expected {
    const char* code;
    const char* name_prefix;
    const char* level;
    int working_days;
    const char* deciding_agency;
  };
  for (const Expected& e : std::vector<Expected>{
           {"1.001193", "Đăng ký khai sinh", "commune", 0, ""},
           {"1.000894", "Đăng ký kết hôn", "commune", 0, ""},
           {"2.000908", "Chứng thực bản sao từ bản chính", "commune", 0, ""},
           {"2.000575", "Đăng ký thành lập hộ kinh doanh", "district", 3, ""},
           {"1.003010", "Đăng ký biến động quyền sử dụng đất", "district", 10,
            "000.31.02.H15"},
           {"2.000488", "Cấp Phiếu lý lịch tư pháp", "province", 10, "000.00.01.H15"},
       }) {
    SCOPED_TRACE(e.code);
    const onestop::v1::Procedure* procedure = catalogue.FindProcedure(e.code);
    ASSERT_NE(procedure, nullptr);
    EXPECT_THAT(procedure->name(), StartsWith(e.name_prefix));
    EXPECT_EQ(procedure->level(), e.level);
    EXPECT_EQ(procedure->deadline().unit(), DEADLINE_UNIT_WORKING_DAYS);
    EXPECT_EQ(procedure->deadline().amount(), e.working_days);
    EXPECT_EQ(procedure->deciding_agency_code(), e.deciding_agency);
    EXPECT_FALSE(procedure->field().empty());
  }
  EXPECT_EQ(catalogue.FindProcedure("2.000488")->fee_vnd(), 200000);
  EXPECT_EQ(catalogue.FindProcedure("1.001193")->fee_vnd(), 0);
}

TEST(SampleConfigTest, CalendarCoversTwentyNineteenToTwentySevenWithItsSpecialDays) {
  auto loaded = LoadConfigFile(kSamplePath);
  ASSERT_THAT(loaded, IsOk());
  const core::WorkingCalendar& calendar = (*loaded)->calendar();
  EXPECT_EQ(calendar.first_year(), 2019);
  EXPECT_EQ(calendar.last_year(), 2027);
  EXPECT_EQ(calendar.cutoff_minute(), 15 * 60);
  EXPECT_EQ(calendar.minutes_per_working_day(), 480);

  using core::DayKind;
  struct Day {
    absl::CivilDay day;
    DayKind kind;
  };
  for (const Day& d : std::vector<Day>{
           {absl::CivilDay(2018, 12, 31), DayKind::kSwappedDayOff},
           {absl::CivilDay(2019, 1, 5), DayKind::kSwappedWorkDay},
           {absl::CivilDay(2019, 4, 15), DayKind::kCompensatoryDay},  // Giỗ Tổ on Sunday
           {absl::CivilDay(2019, 9, 2), DayKind::kHoliday},
           {absl::CivilDay(2019, 9, 3), DayKind::kWorkingDay},
           {absl::CivilDay(2020, 1, 23), DayKind::kHoliday},          // Tết Canh Tý
           {absl::CivilDay(2020, 1, 29), DayKind::kHoliday},
           {absl::CivilDay(2020, 1, 30), DayKind::kWorkingDay},
           {absl::CivilDay(2020, 9, 2), DayKind::kHoliday},
           {absl::CivilDay(2020, 9, 3), DayKind::kWorkingDay},        // one day before 2021
           {absl::CivilDay(2021, 9, 3), DayKind::kHoliday},
           {absl::CivilDay(2023, 5, 2), DayKind::kCompensatoryDay},
           {absl::CivilDay(2023, 5, 3), DayKind::kCompensatoryDay},
           {absl::CivilDay(2023, 5, 4), DayKind::kWorkingDay},
           {absl::CivilDay(2024, 5, 4), DayKind::kSwappedWorkDay},
           {absl::CivilDay(2025, 4, 26), DayKind::kSwappedWorkDay},
           {absl::CivilDay(2025, 5, 2), DayKind::kSwappedDayOff},
       }) {
    SCOPED_TRACE(absl::FormatCivilTime(d.day));
    EXPECT_EQ(calendar.Classify(d.day).kind, d.kind);
  }
  // Friday 17/1/2020 + 5 working days: 20, 21, 22, then Tết until 29/1,
  // then 30 and 31.
  EXPECT_EQ(calendar.AddWorkingDays(absl::CivilDay(2020, 1, 17), 5),
            absl::CivilDay(2020, 1, 31));
}

// --- Syntax errors -----------------------------------------------------------

TEST(ConfigLoaderTest, UnknownFieldReportsFileLineAndColumn) {
  std::vector<const char*> lines = BaseLines();
  lines[11] = R"(  levle: "district")";  // line 12, a typo
  auto loaded = LoadConfigText(Text(lines), "deploy/x.textproto");
  // Protobuf 3.21 reports the column of the token after the name (the ':').
  EXPECT_THAT(loaded, StatusIs(absl::StatusCode::kInvalidArgument,
                               AllOf(StartsWith("deploy/x.textproto:12:"),
                                     HasSubstr("levle"))));
}

TEST(ConfigLoaderTest, MissingBraceReportsWhereTheParserStopped) {
  const std::string text = Lines({
      R"(name: "x")",
      R"(levels { code: "province")",
      R"(agencies { code: "P" })",
  });
  auto loaded = LoadConfigText(text, "broken.textproto");
  ASSERT_THAT(loaded, StatusIs(absl::StatusCode::kInvalidArgument,
                               StartsWith("broken.textproto:3:")));
}

TEST(ConfigLoaderTest, BadEnumValueIsASyntaxError) {
  const std::string text = Lines({
      R"(levels { code: "commune" name: "Cấp xã" })",
      R"(procedures {)",
      R"(  code: "1.001193" name: "Đăng ký khai sinh" level: "commune")",
      R"(  deadline { amount: 1 unit: WORKING_DAYS })",
      R"(})",
  });
  EXPECT_THAT(LoadConfigText(text, "e.textproto"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(StartsWith("e.textproto:4:"), HasSubstr("WORKING_DAYS"))));
}

// --- Semantic errors ---------------------------------------------------------

TEST(ConfigLoaderTest, UnknownParentPointsAtTheParentCodeLine) {
  std::vector<const char*> lines = BaseLines();
  lines[12] = R"(  parent_code: "X")";  // line 13
  auto loaded = LoadConfigText(Text(lines), "deploy/x.textproto");
  ASSERT_THAT(loaded, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(MessageLines(loaded.status()),
              ElementsAre(AllOf(StartsWith("deploy/x.textproto:13:3: agencies[1].parent_code: "),
                                HasSubstr("unknown parent agency \"X\""))));
}

TEST(ConfigLoaderTest, DuplicateCodePointsAtTheSecondCode) {
  std::vector<const char*> lines = BaseLines();
  lines[9] = R"(  code: "P")";  // line 10 repeats line 5's code
  lines[12] = R"(  parent_code: "")";
  lines[11] = R"(  level: "province")";
  auto loaded = LoadConfigText(Text(lines), "dup.textproto");
  ASSERT_THAT(loaded, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(MessageLines(loaded.status()),
              ElementsAre(AllOf(StartsWith("dup.textproto:10:3: agencies[1].code: "),
                                HasSubstr("duplicate agency code \"P\""))));
}

TEST(ConfigLoaderTest, UnknownLevelPointsAtTheLevelLine) {
  std::vector<const char*> lines = BaseLines();
  lines[11] = R"(  level: "huyen")";  // line 12
  auto loaded = LoadConfigText(Text(lines), "lvl.textproto");
  ASSERT_THAT(loaded, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(MessageLines(loaded.status()),
              ElementsAre(AllOf(StartsWith("lvl.textproto:12:3: agencies[1].level: "),
                                HasSubstr("unknown level \"huyen\""))));
}

TEST(ConfigLoaderTest, NestedFieldIsLocatedInsideItsMessage) {
  const std::string text = Lines({
      R"(levels { code: "commune" name: "Cấp xã" })",
      R"(procedures {)",
      R"(  code: "1.001193")",
      R"(  name: "Đăng ký khai sinh")",
      R"(  level: "commune")",
      R"(  deadline {)",
      R"(    amount: -1)",
      R"(    unit: DEADLINE_UNIT_WORKING_DAYS)",
      R"(  })",
      R"(})",
  });
  auto loaded = LoadConfigText(text, "n.textproto");
  ASSERT_THAT(loaded, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(MessageLines(loaded.status()),
              ElementsAre(StartsWith("n.textproto:7:5: procedures[0].deadline.amount: ")));
}

TEST(ConfigLoaderTest, AbsentFieldIsLocatedAtItsEnclosingElement) {
  std::vector<const char*> lines = BaseLines();
  lines[10] = R"(  # no name)";  // agencies[1] now lacks a name; it starts on line 9
  auto loaded = LoadConfigText(Text(lines), "a.textproto");
  ASSERT_THAT(loaded, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(MessageLines(loaded.status()),
              ElementsAre(StartsWith("a.textproto:9:1: agencies[1].name: ")));
}

TEST(ConfigLoaderTest, ProblemWithNoLocationOmitsLineAndColumn) {
  auto loaded = LoadConfigText(R"(name: "không có cấp")", "empty.textproto");
  ASSERT_THAT(loaded, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(MessageLines(loaded.status()),
              ElementsAre(StartsWith("empty.textproto: levels: ")));
}

TEST(ConfigLoaderTest, CalendarProblemPointsAtTheCalendar) {
  std::vector<const char*> lines = BaseLines();
  lines.push_back(R"(calendar {)");                                      // 15
  lines.push_back(R"(  years { year: 2020 holidays { date: "2020-02-30" name: "x" } })");
  lines.push_back(R"(})");
  auto loaded = LoadConfigText(Text(lines), "cal.textproto");
  ASSERT_THAT(loaded, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(MessageLines(loaded.status()),
              ElementsAre(AllOf(StartsWith("cal.textproto:15:1: calendar: "),
                                HasSubstr("2020-02-30"))));
}

TEST(ConfigLoaderTest, ReportsEveryProblemOnePerLine) {
  std::vector<const char*> lines = BaseLines();
  lines[6] = R"(  level: "tinh")";       // line 7: unknown level
  lines[12] = R"(  parent_code: "X")";  // line 13: unknown parent
  lines.push_back(R"(procedures {)");  // 15
  lines.push_back(R"(  code: "2.000908" name: "Chứng thực" level: "district")");
  lines.push_back(R"(  deadline { amount: 0 unit: DEADLINE_UNIT_WORKING_DAYS })");
  lines.push_back(R"(  deciding_agency_code: "Q")");  // line 18
  lines.push_back(R"(})");
  auto loaded = LoadConfigText(Text(lines), "m.textproto");
  ASSERT_THAT(loaded, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(MessageLines(loaded.status()),
              ElementsAre(StartsWith("m.textproto:7:3: agencies[0].level: "),
                          StartsWith("m.textproto:13:3: agencies[1].parent_code: "),
                          StartsWith("m.textproto:18:3: procedures[0].deciding_agency_code: ")));
}

TEST(ConfigLoaderTest, ProblemsAreSortedByLine) {
  std::vector<const char*> lines = BaseLines();
  lines.insert(lines.begin() + 7, R"(  parent_code: "X")");  // line 8, agencies[0]
  lines[12] = R"(  level: "huyen")";                         // line 13, agencies[1]
  auto loaded = LoadConfigText(Text(lines), "s.textproto");
  ASSERT_THAT(loaded, StatusIs(absl::StatusCode::kInvalidArgument));
  // The validator finds the unknown level first; the report follows the file.
  EXPECT_THAT(MessageLines(loaded.status()),
              ElementsAre(StartsWith("s.textproto:8:3: agencies[0].parent_code: "),
                          StartsWith("s.textproto:13:3: agencies[1].level: ")));
}

// --- Files -------------------------------------------------------------------

TEST(ConfigLoaderTest, MissingFileIsNotFoundAndNamesThePath) {
  const std::string path = ::testing::TempDir() + "/no-such-dir/onestop.textproto";
  EXPECT_THAT(LoadConfigFile(path),
              StatusIs(absl::StatusCode::kNotFound,
                       AllOf(HasSubstr(path), HasSubstr("No such file or directory"))));
}

TEST(ConfigLoaderTest, DirectoryIsFailedPreconditionAndNamesThePath) {
  const std::string path = ::testing::TempDir();
  EXPECT_THAT(LoadConfigFile(path),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr(path)));
}

TEST(ConfigLoaderTest, FileErrorsAreLabelledWithThePath) {
  const std::string path = ::testing::TempDir() + "/config_loader_test_bad.textproto";
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    std::vector<const char*> lines = BaseLines();
    lines[12] = R"(  parent_code: "X")";
    out << Text(lines);
  }
  EXPECT_THAT(LoadConfigFile(path),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       StartsWith(path + ":13:3: agencies[1].parent_code: ")));
  std::remove(path.c_str());
}

// --- Encoding ----------------------------------------------------------------

TEST(ConfigLoaderTest, RawInvalidUtf8IsRejectedWithItsPosition) {
  std::string text = Text(BaseLines());
  // Line 11 is `  name: "UBND huyện Lắk"`; break the "ệ" (E1 BB 87).
  const size_t at = text.find("UBND huy\xe1\xbb\x87n");
  ASSERT_NE(at, std::string::npos);
  text[at + 9] = '(';
  EXPECT_THAT(LoadConfigText(text, "u.textproto"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(StartsWith("u.textproto:11:18: "), HasSubstr("UTF-8"))));
}

TEST(ConfigLoaderTest, InvalidUtf8InACommentIsRejected) {
  std::string text = Text(BaseLines()) + "\n# Latin-1 comment: caf\xe9\n";
  EXPECT_THAT(LoadConfigText(text, "c.textproto"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(StartsWith("c.textproto:15:"), HasSubstr("UTF-8"))));
}

TEST(ConfigLoaderTest, EscapedInvalidUtf8InAStringIsRejectedWithItsField) {
  std::vector<const char*> lines = BaseLines();
  lines[10] = R"(  name: "UBND huy\341\273n")";  // a truncated 3-byte sequence
  auto loaded = LoadConfigText(Text(lines), "esc.textproto");
  ASSERT_THAT(loaded, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(MessageLines(loaded.status()),
              ElementsAre(AllOf(StartsWith("esc.textproto:11:3: agencies[1].name: "),
                                HasSubstr("UTF-8"))));
}

TEST(ConfigLoaderTest, OverlongAndSurrogateEncodingsAreRejected) {
  for (const char* bad : {"\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe1\xbb"}) {
    std::string text = Text(BaseLines());
    const size_t at = text.find("Lắk\"");
    ASSERT_NE(at, std::string::npos);
    text.insert(at, bad);
    EXPECT_THAT(LoadConfigText(text, "o.textproto"),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("invalid UTF-8")))
        << absl::CHexEscape(bad);
  }
}

TEST(ConfigLoaderTest, VietnameseNamesRoundTripExactly) {
  // Precomposed (NFC) and decomposed (NFD: "e" + U+0302 + U+0323) spellings
  // must both survive byte for byte, and as written, not normalised.
  const std::string nfc = "UBND xã Đắk Liêng – Ea R'Bin, Buôn Tría";
  const std::string nfd = "Huye\xcc\x82\xcc\xa3n La\xcc\x86\xcc\x81k";
  const std::vector<const char*> base = BaseLines();
  std::vector<std::string> lines(base.begin(), base.end());
  lines[5] = "  name: \"" + nfc + "\"";
  lines[10] = "  name: \"" + nfd + "\"";
  lines.push_back(
      R"(procedures { code: "1.001193" name: "\304\220\304\203ng k\303\275 khai sinh")"
      R"( level: "province" deadline { amount: 0 unit: DEADLINE_UNIT_WORKING_DAYS })"
      R"( field: "H\341\273\231 t\341\273\213ch" })");
  auto loaded = LoadConfigText(absl::StrJoin(lines, "\n"), "vi.textproto");
  ASSERT_THAT(loaded, IsOk());
  EXPECT_EQ((*loaded)->FindAgency("P")->name(), nfc);
  EXPECT_EQ((*loaded)->FindAgency("D")->name(), nfd);
  EXPECT_EQ((*loaded)->FindProcedure("1.001193")->name(), "Đăng ký khai sinh");
  EXPECT_EQ((*loaded)->FindProcedure("1.001193")->field(), "Hộ tịch");
  EXPECT_EQ((*loaded)->config().name(), "Thử nghiệm");
  EXPECT_EQ((*loaded)->levels()[1].name(), "Cấp huyện");
}

}  // namespace
}  // namespace onestop::config
