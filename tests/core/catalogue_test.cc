#include "server/core/catalogue.h"

#include <functional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace onestop::core {
namespace {

using onestop::config::v1::Config;
using ::testing::HasSubstr;

// Đắk Lắk in 2020: a province, huyện Lắk, two of its communes (one created
// later, to test validity), a commune and a district procedure.
constexpr char kConfig[] = R"pb(
  name: "Đắk Lắk (2020)"
  levels { code: "province" name: "Cấp tỉnh" }
  levels { code: "district" name: "Cấp huyện" }
  levels { code: "commune" name: "Cấp xã" }
  agencies { code: "000.00.00.H15" name: "UBND tỉnh Đắk Lắk" level: "province" }
  agencies {
    code: "000.00.31.H15"
    name: "UBND huyện Lắk"
    level: "district"
    parent_code: "000.00.00.H15"
    valid_to { year: 2025 month: 6 day: 30 }
  }
  agencies {
    code: "000.31.31.H15"
    name: "UBND thị trấn Liên Sơn"
    level: "commune"
    parent_code: "000.00.31.H15"
    valid_to { year: 2025 month: 6 day: 30 }
  }
  agencies {
    code: "000.32.31.H15"
    name: "UBND xã Buôn Triết"
    level: "commune"
    parent_code: "000.00.31.H15"
    valid_from { year: 2021 month: 1 day: 1 }
    valid_to { year: 2025 month: 6 day: 30 }
  }
  procedures {
    code: "2.000908"
    name: "Chứng thực bản sao từ bản chính"
    level: "commune"
    deadline { amount: 3 unit: DEADLINE_UNIT_WORKING_DAYS }
    field: "Chứng thực"
  }
  procedures {
    code: "1.009994"
    name: "Cấp giấy phép xây dựng"
    level: "district"
    deadline { amount: 15 unit: DEADLINE_UNIT_WORKING_DAYS }
    deciding_agency_code: "000.00.31.H15"
    fee_vnd: 75000
  }
)pb";

Config BaseConfig() {
  Config config;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(kConfig, &config));
  return config;
}

std::string RenderPath(const ConfigFieldPath& path) {
  std::string out;
  for (const auto& [field, index] : path.steps) {
    if (!out.empty()) out += ".";
    absl::StrAppend(&out, field);
    if (index >= 0) absl::StrAppend(&out, "[", index, "]");
  }
  return out;
}

std::vector<std::string> Render(const std::vector<ConfigProblem>& problems) {
  std::vector<std::string> out;
  for (const auto& p : problems) out.push_back(absl::StrCat(RenderPath(p.path), ": ", p.message));
  return out;
}

TEST(CatalogueBuildTest, BuildsIndexesFromAValidConfig) {
  auto built = Catalogue::Build(BaseConfig());
  ASSERT_TRUE(std::holds_alternative<std::shared_ptr<const Catalogue>>(built))
      << absl::StrJoin(Render(std::get<std::vector<ConfigProblem>>(built)), "\n");
  const Catalogue& catalogue = *std::get<std::shared_ptr<const Catalogue>>(built);
  EXPECT_EQ(catalogue.agencies().size(), 4u);
  EXPECT_EQ(catalogue.procedures().size(), 2u);
  EXPECT_EQ(catalogue.levels().size(), 3u);
  ASSERT_NE(catalogue.FindAgency("000.00.31.H15"), nullptr);
  EXPECT_EQ(catalogue.FindAgency("000.00.31.H15")->name(), "UBND huyện Lắk");
  EXPECT_EQ(catalogue.FindAgency("000.00.99.H15"), nullptr);
  ASSERT_NE(catalogue.FindProcedure("2.000908"), nullptr);
  EXPECT_EQ(catalogue.FindProcedure("2.000908")->deadline().amount(), 3);
  EXPECT_EQ(catalogue.FindProcedure("9.999999"), nullptr);
  EXPECT_EQ(catalogue.config().name(), "Đắk Lắk (2020)");
}

struct ProblemCase {
  const char* name;
  std::function<void(Config&)> mutate;
  const char* path;
  const char* message;
};

class CatalogueProblemTest : public ::testing::TestWithParam<ProblemCase> {};

TEST_P(CatalogueProblemTest, ReportsProblemAtPath) {
  Config config = BaseConfig();
  GetParam().mutate(config);
  auto built = Catalogue::Build(config);
  ASSERT_TRUE(std::holds_alternative<std::vector<ConfigProblem>>(built));
  const std::vector<std::string> problems = Render(std::get<std::vector<ConfigProblem>>(built));
  EXPECT_THAT(problems, ::testing::Contains(::testing::AllOf(
                            ::testing::StartsWith(absl::StrCat(GetParam().path, ": ")),
                            HasSubstr(GetParam().message))))
      << absl::StrJoin(problems, "\n");
}

onestop::v1::Agency* AgencyAt(Config& c, int i) { return c.mutable_agencies(i); }

INSTANTIATE_TEST_SUITE_P(
    Problems, CatalogueProblemTest,
    ::testing::Values(
        ProblemCase{"NoLevels", [](Config& c) { c.clear_levels(); }, "levels",
                    "at least one level"},
        ProblemCase{"DuplicateLevel",
                    [](Config& c) { c.mutable_levels(2)->set_code("district"); },
                    "levels[2].code", "duplicate level code \"district\""},
        ProblemCase{"EmptyAgencyCode", [](Config& c) { AgencyAt(c, 3)->clear_code(); },
                    "agencies[3].code", "code is required"},
        ProblemCase{"AgencyCodeWithSpace",
                    [](Config& c) { AgencyAt(c, 3)->set_code("000.32 .31.H15"); },
                    "agencies[3].code", "without spaces"},
        ProblemCase{"DuplicateAgencyCode",
                    [](Config& c) { AgencyAt(c, 3)->set_code("000.31.31.H15"); },
                    "agencies[3].code", "duplicate agency code \"000.31.31.H15\""},
        ProblemCase{"EmptyAgencyName", [](Config& c) { AgencyAt(c, 1)->clear_name(); },
                    "agencies[1].name", "agency 000.00.31.H15: name is required"},
        ProblemCase{"AgencyNameNotUtf8",
                    [](Config& c) { AgencyAt(c, 1)->set_name("UBND huy\xEA" "n L\xE1k"); },
                    "agencies[1].name", "not valid UTF-8"},
        ProblemCase{"UnknownAgencyLevel", [](Config& c) { AgencyAt(c, 2)->set_level("ward"); },
                    "agencies[2].level", "unknown level \"ward\""},
        ProblemCase{"UnknownParent",
                    [](Config& c) { AgencyAt(c, 2)->set_parent_code("000.00.99.H15"); },
                    "agencies[2].parent_code", "unknown parent agency \"000.00.99.H15\""},
        // A parent at any level above is fine (communes under the province
        // from 1/7/2025, see CommuneDirectlyUnderProvinceIsValid); the same
        // level is not.
        ProblemCase{"ParentAtSameLevel",
                    [](Config& c) { AgencyAt(c, 2)->set_parent_code("000.32.31.H15"); },
                    "agencies[2].parent_code", "expected a level above \"commune\""},
        ProblemCase{"SuccessorWithoutEndDate",
                    [](Config& c) { AgencyAt(c, 0)->add_successor_codes("000.00.31.H15"); },
                    "agencies[0].successor_codes[0]", "but no valid_to"},
        ProblemCase{"SuccessorNotStartingNextDay",
                    [](Config& c) { AgencyAt(c, 2)->add_successor_codes("000.32.31.H15"); },
                    "agencies[2].successor_codes[0]",
                    "must start on 2025-07-01, not 2021-01-01"},
        ProblemCase{"UnknownServedUnit",
                    [](Config& c) { AgencyAt(c, 2)->set_serves_unit_code("000.99.31.H15"); },
                    "agencies[2].serves_unit_code", "unknown served unit \"000.99.31.H15\""},
        ProblemCase{"RouteNamesVanishedAgency",
                    [](Config& c) {
                      // Only the 2021 commune receives; the district land
                      // office ended in 2020.
                      auto* land = c.add_agencies();
                      land->set_code("000.31.02.H15");
                      land->set_name("Chi nhánh VPĐKĐĐ huyện Lắk");
                      land->set_level("district");
                      land->set_kind("land_registration");
                      land->set_parent_code("000.00.00.H15");
                      land->mutable_valid_to()->set_year(2020);
                      land->mutable_valid_to()->set_month(12);
                      land->mutable_valid_to()->set_day(31);
                      c.mutable_agencies(2)->mutable_valid_to()->set_year(2020);
                      c.mutable_agencies(2)->mutable_valid_to()->set_month(6);
                      c.mutable_agencies(2)->clear_successor_codes();
                      c.mutable_procedures(0)->mutable_valid_from()->set_year(2021);
                      c.mutable_procedures(0)->mutable_valid_from()->set_month(1);
                      c.mutable_procedures(0)->mutable_valid_from()->set_day(1);
                      auto* stage = c.mutable_procedures(0)->add_route();
                      stage->add_agencies()->set_agency_code("000.31.02.H15");
                      stage->mutable_budget()->set_amount(3);
                      stage->mutable_budget()->set_unit(onestop::v1::DEADLINE_UNIT_WORKING_DAYS);
                    },
                    "procedures[0].route[0].agencies[0].agency_code",
                    "no desk receiving the procedure is open then"},
        ProblemCase{"RouteNamesUnknownAgency",
                    [](Config& c) {
                      auto* stage = c.mutable_procedures(0)->add_route();
                      stage->add_agencies()->set_agency_code("000.77.31.H15");
                      stage->mutable_budget()->set_amount(3);
                      stage->mutable_budget()->set_unit(onestop::v1::DEADLINE_UNIT_WORKING_DAYS);
                    },
                    "procedures[0].route[0].agencies[0].agency_code",
                    "unknown agency \"000.77.31.H15\""},
        ProblemCase{"RouteBudgetsDoNotAddUp",
                    [](Config& c) {
                      for (int amount : {1, 1}) {
                        auto* stage = c.mutable_procedures(0)->add_route();
                        stage->add_agencies()->set_agency_code("000.00.31.H15");
                        stage->mutable_budget()->set_amount(amount);
                        stage->mutable_budget()->set_unit(
                            onestop::v1::DEADLINE_UNIT_WORKING_DAYS);
                      }
                    },
                    "procedures[0].route", "stage budgets add up to 2, but the deadline is 3"},
        ProblemCase{"RouteBudgetInAnotherUnit",
                    [](Config& c) {
                      auto* stage = c.mutable_procedures(0)->add_route();
                      stage->add_agencies()->set_agency_code("000.00.31.H15");
                      stage->mutable_budget()->set_amount(3);
                      stage->mutable_budget()->set_unit(onestop::v1::DEADLINE_UNIT_CALENDAR_DAYS);
                    },
                    "procedures[0].route[0].budget.unit", "differs from the deadline's"},
        ProblemCase{"RelativeReferenceThatCannotResolve",
                    [](Config& c) {
                      auto* stage = c.mutable_procedures(0)->add_route();
                      auto* ref = stage->add_agencies();
                      ref->set_unit(onestop::v1::RELATIVE_UNIT_PARENT);
                      ref->set_kind("tax");
                      stage->mutable_budget()->set_amount(3);
                      stage->mutable_budget()->set_unit(onestop::v1::DEADLINE_UNIT_WORKING_DAYS);
                    },
                    "procedures[0].route[0].agencies[0]",
                    "for desk 000.31.31.H15 (UBND thị trấn Liên Sơn) on 2020-12-31: no agency "
                    "of kind \"tax\" serves UBND huyện Lắk (000.00.31.H15) on 2020-12-31"},
        ProblemCase{"ReferenceWithBothForms",
                    [](Config& c) {
                      auto* stage = c.mutable_procedures(0)->add_route();
                      auto* ref = stage->add_agencies();
                      ref->set_agency_code("000.00.31.H15");
                      ref->set_kind("tax");
                      stage->mutable_budget()->set_amount(3);
                      stage->mutable_budget()->set_unit(onestop::v1::DEADLINE_UNIT_WORKING_DAYS);
                    },
                    "procedures[0].route[0].agencies[0]", "not both"},
        ProblemCase{"ParentBelow",
                    [](Config& c) { AgencyAt(c, 1)->set_parent_code("000.31.31.H15"); },
                    "agencies[1].parent_code", "is at level \"commune\""},
        ProblemCase{"MissingParent", [](Config& c) { AgencyAt(c, 2)->clear_parent_code(); },
                    "agencies[2].parent_code", "parent_code is required at level \"commune\""},
        ProblemCase{"ValidToBeforeValidFrom",
                    [](Config& c) {
                      AgencyAt(c, 3)->mutable_valid_to()->set_year(2020);
                    },
                    "agencies[3].valid_to", "is before valid_from 2021-01-01"},
        ProblemCase{"ImpossibleDate",
                    [](Config& c) {
                      auto* d = AgencyAt(c, 3)->mutable_valid_from();
                      d->set_month(2);
                      d->set_day(30);
                    },
                    "agencies[3].valid_from", "2021-02-30 is not a real date"},
        ProblemCase{"PartialDate",
                    [](Config& c) { AgencyAt(c, 0)->mutable_valid_from()->set_year(2020); },
                    "agencies[0].valid_from", "not a real date"},
        ProblemCase{"ChildOutlivesParent",
                    [](Config& c) { AgencyAt(c, 2)->clear_valid_to(); },
                    "agencies[2].parent_code", "but its parent 000.00.31.H15 only from"},
        ProblemCase{"UnknownSuccessor",
                    [](Config& c) { AgencyAt(c, 1)->add_successor_codes("000.00.77.H15"); },
                    "agencies[1].successor_codes[0]", "unknown successor agency \"000.00.77.H15\""},
        ProblemCase{"EmptyProcedureCode",
                    [](Config& c) { c.mutable_procedures(1)->clear_code(); },
                    "procedures[1].code", "code is required"},
        ProblemCase{"DuplicateProcedureCode",
                    [](Config& c) { c.mutable_procedures(1)->set_code("2.000908"); },
                    "procedures[1].code", "duplicate procedure code \"2.000908\""},
        ProblemCase{"EmptyProcedureName",
                    [](Config& c) { c.mutable_procedures(0)->clear_name(); },
                    "procedures[0].name", "procedure 2.000908: name is required"},
        ProblemCase{"UnknownProcedureLevel",
                    [](Config& c) { c.mutable_procedures(0)->set_level("village"); },
                    "procedures[0].level", "unknown level \"village\""},
        ProblemCase{"DeadlineUnitMissing",
                    [](Config& c) { c.mutable_procedures(0)->mutable_deadline()->clear_unit(); },
                    "procedures[0].deadline.unit", "deadline unit is required"},
        ProblemCase{"NegativeDeadline",
                    [](Config& c) {
                      c.mutable_procedures(0)->mutable_deadline()->set_amount(-1);
                    },
                    "procedures[0].deadline.amount", "deadline amount -1 is negative"},
        ProblemCase{"UnknownDecidingAgency",
                    [](Config& c) {
                      c.mutable_procedures(1)->set_deciding_agency_code("000.00.88.H15");
                    },
                    "procedures[1].deciding_agency_code",
                    "unknown deciding agency \"000.00.88.H15\""},
        ProblemCase{"NegativeFee",
                    [](Config& c) { c.mutable_procedures(1)->set_fee_vnd(-5000); },
                    "procedures[1].fee_vnd", "fee -5000 VND is negative"},
        ProblemCase{"BadCalendarZone",
                    [](Config& c) { c.mutable_calendar()->set_time_zone("Mars/Olympus"); },
                    "calendar", ""}),
    [](const ::testing::TestParamInfo<ProblemCase>& info) { return info.param.name; });

TEST(CatalogueBuildTest, ReportsEveryProblemAtOnce) {
  Config config = BaseConfig();
  AgencyAt(config, 2)->set_parent_code("000.00.99.H15");
  config.mutable_procedures(1)->set_fee_vnd(-1);
  config.mutable_procedures(0)->mutable_deadline()->clear_unit();
  auto built = Catalogue::Build(config);
  ASSERT_TRUE(std::holds_alternative<std::vector<ConfigProblem>>(built));
  const auto& problems = std::get<std::vector<ConfigProblem>>(built);
  ASSERT_EQ(problems.size(), 3u) << absl::StrJoin(Render(problems), "\n");
  EXPECT_EQ(RenderPath(problems[0].path), "agencies[2].parent_code");
  EXPECT_EQ(RenderPath(problems[1].path), "procedures[0].deadline.unit");
  EXPECT_EQ(RenderPath(problems[2].path), "procedures[1].fee_vnd");
}

class CatalogueQueryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto built = Catalogue::Build(BaseConfig());
    ASSERT_TRUE(std::holds_alternative<std::shared_ptr<const Catalogue>>(built));
    catalogue_ = std::get<std::shared_ptr<const Catalogue>>(built);
  }
  std::shared_ptr<const Catalogue> catalogue_;
};

TEST_F(CatalogueQueryTest, AgencyValidOnHonoursBothEnds) {
  struct Case {
    const char* code;
    absl::CivilDay day;
    bool valid;
  };
  const Case cases[] = {
      {"000.00.00.H15", absl::CivilDay(1900, 1, 1), true},   // unbounded both ways
      {"000.00.00.H15", absl::CivilDay(2999, 1, 1), true},
      {"000.00.31.H15", absl::CivilDay(2025, 6, 30), true},  // last day
      {"000.00.31.H15", absl::CivilDay(2025, 7, 1), false},  // district level ceased
      {"000.32.31.H15", absl::CivilDay(2020, 12, 31), false},
      {"000.32.31.H15", absl::CivilDay(2021, 1, 1), true},   // first day
  };
  for (const Case& c : cases) {
    const onestop::v1::Agency* agency = catalogue_->FindAgency(c.code);
    ASSERT_NE(agency, nullptr) << c.code;
    EXPECT_EQ(catalogue_->AgencyValidOn(*agency, c.day), c.valid) << c.code << " " << c.day;
  }
}

TEST_F(CatalogueQueryTest, IsInSubtreeWalksParents) {
  struct Case {
    const char* code;
    const char* ancestor;
    bool expected;
  };
  const Case cases[] = {
      {"000.31.31.H15", "000.31.31.H15", true},  // itself
      {"000.31.31.H15", "000.00.31.H15", true},  // parent
      {"000.31.31.H15", "000.00.00.H15", true},  // grandparent
      {"000.00.31.H15", "000.31.31.H15", false},  // child is not an ancestor
      {"000.31.31.H15", "000.32.31.H15", false},  // sibling
      {"000.99.99.H15", "000.00.00.H15", false},  // unknown code
  };
  for (const Case& c : cases) {
    EXPECT_EQ(catalogue_->IsInSubtree(c.code, c.ancestor), c.expected)
        << c.code << " under " << c.ancestor;
  }
}

TEST(CatalogueBuildTest, CommuneDirectlyUnderProvinceIsValid) {
  Config config = BaseConfig();
  onestop::v1::Agency* merged = config.add_agencies();
  merged->set_code("000.41.00.H15");
  merged->set_name("UBND xã Liên Sơn Lắk");
  merged->set_level("commune");
  merged->set_parent_code("000.00.00.H15");
  merged->mutable_valid_from()->set_year(2025);
  merged->mutable_valid_from()->set_month(7);
  merged->mutable_valid_from()->set_day(1);
  AgencyAt(config, 2)->add_successor_codes("000.41.00.H15");
  auto built = Catalogue::Build(config);
  ASSERT_TRUE(std::holds_alternative<std::shared_ptr<const Catalogue>>(built))
      << absl::StrJoin(Render(std::get<std::vector<ConfigProblem>>(built)), "\n");
  const Catalogue& catalogue = *std::get<std::shared_ptr<const Catalogue>>(built);
  EXPECT_TRUE(catalogue.IsInSubtree("000.41.00.H15", "000.00.00.H15"));
  EXPECT_FALSE(catalogue.IsInSubtree("000.41.00.H15", "000.00.31.H15"));
}

TEST_F(CatalogueQueryTest, SubtreeCodesListsTheAgencyAndEveryDescendant) {
  struct Case {
    const char* code;
    std::vector<std::string> expected;
  };
  const Case cases[] = {
      {"000.00.00.H15", {"000.00.00.H15", "000.00.31.H15", "000.31.31.H15", "000.32.31.H15"}},
      {"000.00.31.H15", {"000.00.31.H15", "000.31.31.H15", "000.32.31.H15"}},
      {"000.32.31.H15", {"000.32.31.H15"}},
      {"000.99.99.H15", {}},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(catalogue_->SubtreeCodes(c.code), c.expected) << c.code;
  }
}

TEST_F(CatalogueQueryTest, ServedUnitDefaults) {
  onestop::v1::Agency agency;
  agency.set_code("A");
  agency.set_parent_code("P");
  EXPECT_EQ(catalogue_->ServedUnitCode(agency), "A");  // untagged: itself
  agency.set_kind("people_committee");
  EXPECT_EQ(catalogue_->ServedUnitCode(agency), "A");
  agency.set_kind("tax");
  EXPECT_EQ(catalogue_->ServedUnitCode(agency), "P");  // others: the parent
  agency.set_serves_unit_code("U");
  EXPECT_EQ(catalogue_->ServedUnitCode(agency), "U");  // explicit wins
}

TEST(DateConversionTest, UnsetIsUnboundedAndSetDatesRoundTrip) {
  EXPECT_EQ(ToCivilDay(onestop::v1::Date()), std::nullopt);
  const absl::CivilDay days[] = {absl::CivilDay(2020, 1, 6), absl::CivilDay(2025, 6, 30),
                                 absl::CivilDay(2024, 2, 29)};
  for (absl::CivilDay day : days) {
    const onestop::v1::Date date = ToDateProto(day);
    EXPECT_EQ(date.year(), day.year());
    EXPECT_EQ(date.month(), day.month());
    EXPECT_EQ(date.day(), day.day());
    EXPECT_EQ(ToCivilDay(date), day);
  }
}

}  // namespace
}  // namespace onestop::core
