// Interlinked one-stop routes over the shipped Đắk Lắk sample: relative
// resolution for every commune (before and after 1/7/2025), parallel
// stages, per-stage outcomes, supplements by a stage agency, dossiers
// straddling the 2025 reform, and the control slip.
#include "server/core/route.h"

#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "server/core/deadline.h"
#include "server/core/workflow.h"
#include "server/util/proto_time.h"
#include "tests/testing/status_matchers.h"

namespace onestop::core {
namespace {

using ::onestop::testing::IsOk;
using ::onestop::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
namespace v1 = onestop::v1;

constexpr char kLand[] = "1.004227";         // commune → district (land ∥ tax) → commune
constexpr char kBirthGroup[] = "1.001193.LT";  // justice → police ∥ social insurance
constexpr char kBoundaryFree[] = "2.000720";  // district procedure, commune desk
constexpr char kLienSon[] = "000.01.31.H15";
constexpr char kLandBranch[] = "000.31.02.H15";
constexpr char kTaxLak[] = "000.31.04.H15";

std::shared_ptr<const Catalogue> LoadSample() {
  std::ifstream in(ONESTOP_SOURCE_DIR "/deploy/daklak-2020.textproto");
  std::stringstream text;
  text << in.rdbuf();
  onestop::config::v1::Config config;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text.str(), &config));
  auto built = Catalogue::Build(config);
  EXPECT_TRUE(std::holds_alternative<std::shared_ptr<const Catalogue>>(built));
  if (!std::holds_alternative<std::shared_ptr<const Catalogue>>(built)) return nullptr;
  return std::get<std::shared_ptr<const Catalogue>>(built);
}

// The agencies of each stage, e.g. {{"A"}, {"B", "C"}}.
std::vector<std::vector<std::string>> Codes(const std::vector<v1::Stage>& stages) {
  std::vector<std::vector<std::string>> out;
  for (const auto& stage : stages) {
    auto& codes = out.emplace_back();
    for (const auto& task : stage.tasks()) codes.push_back(task.agency_code());
  }
  return out;
}

class RouteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    catalogue_ = LoadSample();
    ASSERT_NE(catalogue_, nullptr);
  }
  const WorkingCalendar& calendar() const { return catalogue_->calendar(); }
  absl::Time At(int y, int m, int d, int h, int min = 0) const {
    return calendar().FromLocal(absl::CivilMinute(y, m, d, h, min));
  }
  std::string Local(const google::protobuf::Timestamp& ts) const {
    return absl::FormatTime("%d/%m/%Y %H:%M", FromProtoTime(ts), calendar().zone());
  }
  std::vector<std::vector<std::string>> Resolve(const char* procedure, const char* desk,
                                                absl::CivilDay day) const {
    absl::StatusOr<std::vector<v1::Stage>> stages = ResolveRoute(
        *catalogue_->FindProcedure(procedure), *catalogue_->FindAgency(desk), day, *catalogue_);
    EXPECT_THAT(stages, IsOk()) << procedure << " at " << desk;
    return stages.ok() ? Codes(*stages) : std::vector<std::vector<std::string>>{};
  }

  absl::StatusOr<v1::Dossier> Receive(const char* procedure, const char* desk,
                                      absl::Time now) const {
    v1::SubmitDossierRequest request;
    request.set_procedure_code(procedure);
    request.set_receiving_agency_code(desk);
    request.mutable_applicant()->set_full_name("Y Bhim Niê");
    request.set_channel(v1::CHANNEL_DIRECT);
    request.set_receive_now(true);
    absl::StatusOr<NewDossier> prepared =
        PrepareSubmission(request, *catalogue_, ActionContext{now, "clerk"});
    if (!prepared.ok()) return prepared.status();
    v1::Dossier dossier = prepared->dossier;
    dossier.set_code(prepared->code_prefix + "0001");
    *dossier.add_history() = prepared->entry;
    return dossier;
  }

  absl::StatusOr<Transition> Try(const v1::Dossier& dossier, v1::ActionKind kind,
                                 absl::Time now, const std::string& acting = "") const {
    Action action;
    action.kind = kind;
    action.acting_agency_code = acting;
    if (kind == v1::ACTION_KIND_RECORD_DECISION) action.outcome = v1::DECISION_OUTCOME_APPROVED;
    if (kind == v1::ACTION_KIND_RETURN_RESULT) action.return_mode = v1::RETURN_MODE_AT_DESK;
    if (kind == v1::ACTION_KIND_REQUEST_SUPPLEMENT) action.missing_items = {"Tờ khai thuế"};
    if (kind == v1::ACTION_KIND_SUPPLY_DOCUMENTS) {
      action.documents.emplace_back().set_name("Tờ khai thuế");
    }
    return ApplyAction(dossier, action, *catalogue_, ActionContext{now, "officer"});
  }
  v1::Dossier Do(const v1::Dossier& dossier, v1::ActionKind kind, absl::Time now,
                 const std::string& acting = "") const {
    absl::StatusOr<Transition> t = Try(dossier, kind, now, acting);
    EXPECT_THAT(t, IsOk()) << ActionName(kind);
    return t.ok() ? t->dossier : dossier;
  }

  // A land dossier at huyện Lắk received Monday 2/3/2020 09:00 (due Monday
  // 16/3 17:00), through stage 1 (done early on 3/3) and forwarded to the
  // land branch and the tax office on Tuesday 3/3 10:05 (stage due Friday
  // 13/3 17:00).
  v1::Dossier LandAtStageTwo() const {
    absl::StatusOr<v1::Dossier> d = Receive(kLand, kLienSon, At(2020, 3, 2, 9));
    EXPECT_THAT(d, IsOk());
    v1::Dossier dossier = *d;
    dossier = Do(dossier, v1::ACTION_KIND_FORWARD, At(2020, 3, 2, 9, 10));
    dossier = Do(dossier, v1::ACTION_KIND_COMPLETE_STAGE, At(2020, 3, 3, 10), kLienSon);
    return Do(dossier, v1::ACTION_KIND_FORWARD, At(2020, 3, 3, 10, 5));
  }

  std::shared_ptr<const Catalogue> catalogue_;
};

TEST_F(RouteTest, ResolvesEveryCommuneOfHuyenLakBeforeTheReform) {
  const absl::CivilDay day(2020, 6, 1);
  for (int k = 1; k <= 11; ++k) {
    const std::string commune = absl::StrFormat("000.%02d.31.H15", k);
    const std::string police = absl::StrFormat("001.%02d.31.H15", k);
    SCOPED_TRACE(commune);
    EXPECT_EQ(Resolve(kLand, commune.c_str(), day),
              (std::vector<std::vector<std::string>>{{commune}, {kLandBranch, kTaxLak}}));
    EXPECT_EQ(Resolve(kBirthGroup, commune.c_str(), day),
              (std::vector<std::vector<std::string>>{{commune}, {police, "000.31.07.H15"}}));
    EXPECT_EQ(Resolve(kBoundaryFree, commune.c_str(), day),
              (std::vector<std::vector<std::string>>{{"000.00.31.H15"}}));
  }
}

TEST_F(RouteTest, ResolvesOtherDistrictsAndTheTwoTierWorld) {
  struct Case {
    const char* procedure;
    const char* desk;
    absl::CivilDay day;
    std::vector<std::vector<std::string>> expected;
  };
  const Case cases[] = {
      {kLand, "000.01.21.H15", absl::CivilDay(2020, 6, 1),
       {{"000.01.21.H15"}, {"000.21.02.H15", "000.21.04.H15"}}},
      {kBirthGroup, "000.02.29.H15", absl::CivilDay(2020, 6, 1),
       {{"000.02.29.H15"}, {"001.02.29.H15", "000.29.07.H15"}}},
      // A commune police desk receives like its commune.
      {kBirthGroup, "001.03.31.H15", absl::CivilDay(2020, 6, 1),
       {{"000.03.31.H15"}, {"001.03.31.H15", "000.31.07.H15"}}},
      // A district desk: its own People's Committee decides.
      {kBoundaryFree, "000.00.29.H15", absl::CivilDay(2020, 6, 1), {{"000.00.29.H15"}}},
      // From 1/7/2025 the parent of a commune is the province.
      {kLand, "000.41.00.H15", absl::CivilDay(2025, 7, 1),
       {{"000.41.00.H15"}, {"000.00.05.H15", "000.00.04.H15"}}},
      {kLand, "000.44.00.H15", absl::CivilDay(2026, 3, 2),
       {{"000.44.00.H15"}, {"000.00.05.H15", "000.00.04.H15"}}},
      {kBirthGroup, "000.42.00.H15", absl::CivilDay(2025, 7, 1),
       {{"000.42.00.H15"}, {"001.42.00.H15", "000.00.07.H15"}}},
      {kBirthGroup, "000.43.00.H15", absl::CivilDay(2025, 7, 1),
       {{"000.43.00.H15"}, {"001.43.00.H15", "000.00.07.H15"}}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(absl::StrCat(c.procedure, " at ", c.desk));
    EXPECT_EQ(Resolve(c.procedure, c.desk, c.day), c.expected);
  }
}

TEST_F(RouteTest, ReceptionNeedsUnitAndProcedureValidThatDay) {
  // Huyện Lắk's communes ceased on 30/6/2025.
  EXPECT_THAT(Receive(kLand, kLienSon, At(2025, 7, 1, 9)),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("does not exist on 2025-07-01")));
  // The merged commune exists only from 1/7/2025.
  EXPECT_THAT(Receive(kLand, "000.41.00.H15", At(2025, 6, 30, 9)),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("does not exist on 2025-06-30")));
  // District procedures are no longer offered after the reform.
  EXPECT_THAT(Receive(kBoundaryFree, "000.41.00.H15", At(2025, 7, 1, 9)),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("is not offered on 2025-07-01")));
  EXPECT_THAT(Receive(kBoundaryFree, kLienSon, At(2025, 6, 30, 9)), IsOk());
}

TEST_F(RouteTest, StageLateButDossierOnTimeAndTheSlipShowsWho) {
  v1::Dossier d = LandAtStageTwo();
  EXPECT_EQ(Local(d.due_time()), "16/03/2020 17:00");
  ASSERT_EQ(d.current_stage(), 2);
  EXPECT_EQ(d.holder_agency_code(), kLandBranch);
  // Parallel: the tax office finishes first, the land branch still holds it.
  d = Do(d, v1::ACTION_KIND_COMPLETE_STAGE, At(2020, 3, 13, 16), kTaxLak);
  EXPECT_EQ(d.holder_agency_code(), kLandBranch);
  EXPECT_THAT(Try(d, v1::ACTION_KIND_FORWARD, At(2020, 3, 13, 16, 5)),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("stage 2 of dossier 000.01.31.H15-200302-0001 is not "
                                 "finished; waiting for 000.31.02.H15")));
  EXPECT_THAT(Try(d, v1::ACTION_KIND_MARK_RESULT_READY, At(2020, 3, 13, 16, 5)),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("stage 2 of 2")));
  d = Do(d, v1::ACTION_KIND_RECORD_DECISION, At(2020, 3, 16, 8, 50), kLandBranch);
  EXPECT_EQ(d.decision().agency_code(), kLandBranch);
  d = Do(d, v1::ACTION_KIND_COMPLETE_STAGE, At(2020, 3, 16, 9), kLandBranch);
  EXPECT_EQ(d.holder_agency_code(), kLandBranch);  // it forwards the result back
  d = Do(d, v1::ACTION_KIND_FORWARD, At(2020, 3, 16, 9, 30));
  EXPECT_EQ(d.current_stage(), 3);
  EXPECT_EQ(d.holder_agency_code(), kLienSon);
  EXPECT_THAT(Try(d, v1::ACTION_KIND_FORWARD, At(2020, 3, 16, 9, 35)),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("finished its route")));
  d = Do(d, v1::ACTION_KIND_MARK_RESULT_READY, At(2020, 3, 16, 10));
  d = Do(d, v1::ACTION_KIND_RETURN_RESULT, At(2020, 3, 16, 10, 30));
  EXPECT_EQ(d.status(), v1::DOSSIER_STATUS_RETURNED);
  EXPECT_EQ(ClassifyTimeliness(d, At(2020, 3, 20, 9), calendar()), v1::TIMELINESS_ON_TIME);

  struct Row {
    int stage;
    std::string from, to, handed, due, completed;
    v1::StageOutcome outcome;
  };
  const std::vector<Row> expected = {
      {1, kLienSon, kLienSon, "02/03/2020 09:10", "04/03/2020 17:00", "03/03/2020 10:00",
       v1::STAGE_OUTCOME_EARLY},
      {2, kLienSon, kLandBranch, "03/03/2020 10:05", "13/03/2020 17:00", "16/03/2020 09:00",
       v1::STAGE_OUTCOME_LATE},
      {2, kLienSon, kTaxLak, "03/03/2020 10:05", "13/03/2020 17:00", "13/03/2020 16:00",
       v1::STAGE_OUTCOME_ON_TIME},
      {0, kLandBranch, kLienSon, "16/03/2020 09:30", "16/03/2020 17:00", "16/03/2020 10:00",
       v1::STAGE_OUTCOME_ON_TIME},
  };
  const std::vector<v1::SlipEntry> slip = BuildControlSlip(d, calendar(), At(2020, 3, 20, 9));
  ASSERT_EQ(slip.size(), expected.size());
  for (size_t i = 0; i < slip.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(slip[i].stage_index(), expected[i].stage);
    EXPECT_EQ(slip[i].from_agency_code(), expected[i].from);
    EXPECT_EQ(slip[i].to_agency_code(), expected[i].to);
    EXPECT_EQ(Local(slip[i].handed_time()), expected[i].handed);
    EXPECT_EQ(Local(slip[i].received_time()), expected[i].handed);
    EXPECT_EQ(Local(slip[i].due_time()), expected[i].due);
    EXPECT_EQ(Local(slip[i].completed_time()), expected[i].completed);
    EXPECT_EQ(slip[i].outcome(), expected[i].outcome);
  }
  EXPECT_EQ(StageOutcomeLabelVi(slip[1].outcome()), "Quá hạn");
}

TEST_F(RouteTest, EveryStageOnTimeButDossierLate) {
  // Birth group received Monday 2/3/2020 09:00: due Thursday 5/3 17:00.
  absl::StatusOr<v1::Dossier> received = Receive(kBirthGroup, kLienSon, At(2020, 3, 2, 9));
  ASSERT_THAT(received, IsOk());
  v1::Dossier d = *received;
  EXPECT_EQ(Local(d.due_time()), "05/03/2020 17:00");
  // The desk forwards only on Wednesday; stage 1 (1 day) is due Thursday.
  d = Do(d, v1::ACTION_KIND_FORWARD, At(2020, 3, 4, 9));
  d = Do(d, v1::ACTION_KIND_COMPLETE_STAGE, At(2020, 3, 5, 16), kLienSon);
  d = Do(d, v1::ACTION_KIND_FORWARD, At(2020, 3, 6, 8));  // stage 2 due Tuesday 10/3
  d = Do(d, v1::ACTION_KIND_COMPLETE_STAGE, At(2020, 3, 9, 10), "000.31.07.H15");
  EXPECT_EQ(d.holder_agency_code(), "001.01.31.H15");
  d = Do(d, v1::ACTION_KIND_COMPLETE_STAGE, At(2020, 3, 10, 11), "001.01.31.H15");
  d = Do(d, v1::ACTION_KIND_FORWARD, At(2020, 3, 10, 14));
  d = Do(d, v1::ACTION_KIND_RECORD_DECISION, At(2020, 3, 10, 15));
  EXPECT_EQ(d.decision().agency_code(), kLienSon);
  d = Do(d, v1::ACTION_KIND_MARK_RESULT_READY, At(2020, 3, 10, 16));
  EXPECT_EQ(ClassifyTimeliness(d, At(2020, 3, 11, 9), calendar()), v1::TIMELINESS_LATE);
  std::vector<v1::StageOutcome> outcomes;
  for (const auto& row : BuildControlSlip(d, calendar(), At(2020, 3, 11, 9))) {
    outcomes.push_back(row.outcome());
  }
  EXPECT_THAT(outcomes, ElementsAre(v1::STAGE_OUTCOME_ON_TIME, v1::STAGE_OUTCOME_ON_TIME,
                                    v1::STAGE_OUTCOME_EARLY, v1::STAGE_OUTCOME_LATE));
}

TEST_F(RouteTest, SupplementBySecondAgencyPausesEveryClockOncePerAgency) {
  v1::Dossier d = LandAtStageTwo();
  // The tax office, second in the stage, asks on Wednesday 4/3 10:05.
  d = Do(d, v1::ACTION_KIND_REQUEST_SUPPLEMENT, At(2020, 3, 4, 10, 5), kTaxLak);
  EXPECT_EQ(d.status(), v1::DOSSIER_STATUS_SUPPLEMENT_REQUESTED);
  ASSERT_EQ(d.supplements_size(), 1);
  EXPECT_EQ(d.supplements(0).agency_code(), kTaxLak);
  EXPECT_THAT(Try(d, v1::ACTION_KIND_COMPLETE_STAGE, At(2020, 3, 5, 9), kLandBranch),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  // Supplied two working days later: everything moves by two days.
  d = Do(d, v1::ACTION_KIND_SUPPLY_DOCUMENTS, At(2020, 3, 6, 10, 5));
  EXPECT_EQ(Local(d.due_time()), "18/03/2020 17:00");
  EXPECT_THAT(Try(d, v1::ACTION_KIND_REQUEST_SUPPLEMENT, At(2020, 3, 9, 9), kTaxLak),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("Chi cục Thuế huyện Lắk (000.31.04.H15) already requested")));
  // The land branch has its own one request.
  EXPECT_THAT(Try(d, v1::ACTION_KIND_REQUEST_SUPPLEMENT, At(2020, 3, 9, 9), kLandBranch),
              IsOk());
  // Tuesday 17/3 is on time against the stage due 13/3 + 2 working days.
  d = Do(d, v1::ACTION_KIND_COMPLETE_STAGE, At(2020, 3, 17, 16), kLandBranch);
  const v1::StageTask& land = d.stages(1).tasks(0);
  EXPECT_EQ(Local(land.due_time()), "13/03/2020 17:00");
  EXPECT_EQ(Local(land.effective_due_time()), "17/03/2020 17:00");
  EXPECT_EQ(land.outcome(), v1::STAGE_OUTCOME_ON_TIME);
  // The open task's slip due time counts the pause too.
  const std::vector<v1::SlipEntry> slip = BuildControlSlip(d, calendar(), At(2020, 3, 17, 16));
  ASSERT_EQ(slip.size(), 3u);
  EXPECT_EQ(Local(slip[2].due_time()), "17/03/2020 17:00");
  EXPECT_EQ(slip[2].outcome(), v1::STAGE_OUTCOME_UNSPECIFIED);
}

TEST_F(RouteTest, OnlyTheHolderOfAnActiveTaskCompletesIt) {
  v1::Dossier d = LandAtStageTwo();
  EXPECT_THAT(
      Try(d, v1::ACTION_KIND_COMPLETE_STAGE, At(2020, 3, 4, 9), kLienSon),
      StatusIs(absl::StatusCode::kFailedPrecondition,
               HasSubstr("UBND thị trấn Liên Sơn (000.01.31.H15) has no task in stage 2 of "
                         "dossier 000.01.31.H15-200302-0001; the stage is held by Chi nhánh "
                         "Văn phòng đăng ký đất đai huyện Lắk (000.31.02.H15), Chi cục Thuế "
                         "huyện Lắk (000.31.04.H15)")));
  EXPECT_THAT(Try(d, v1::ACTION_KIND_COMPLETE_STAGE, At(2020, 3, 4, 9)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("acting_agency_code")));
  d = Do(d, v1::ACTION_KIND_COMPLETE_STAGE, At(2020, 3, 4, 9), kTaxLak);
  EXPECT_THAT(Try(d, v1::ACTION_KIND_COMPLETE_STAGE, At(2020, 3, 4, 10), kTaxLak),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("has already completed its task in stage 2")));
  EXPECT_THAT(Try(d, v1::ACTION_KIND_RECORD_DECISION, At(2020, 3, 4, 10), "000.00.00.H15"),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("does not hold dossier")));
  EXPECT_THAT(Try(d, v1::ACTION_KIND_HAND_OVER, At(2020, 3, 4, 10)),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(RouteTest, ReceivedInJune2025UnderHuyenLakFinishesInJuly) {
  // Monday 30/6/2025, the last day of huyện Lắk: due 14/7/2025.
  absl::StatusOr<v1::Dossier> received = Receive(kLand, kLienSon, At(2025, 6, 30, 9));
  ASSERT_THAT(received, IsOk());
  v1::Dossier d = *received;
  EXPECT_EQ(Local(d.due_time()), "14/07/2025 17:00");
  EXPECT_EQ(Codes({d.stages().begin(), d.stages().end()}),
            (std::vector<std::vector<std::string>>{{kLienSon}, {kLandBranch, kTaxLak}}));
  d = Do(d, v1::ACTION_KIND_FORWARD, At(2025, 6, 30, 10));
  d = Do(d, v1::ACTION_KIND_COMPLETE_STAGE, At(2025, 7, 1, 9), kLienSon);
  // Units kept from reception, though they ceased the day before.
  d = Do(d, v1::ACTION_KIND_FORWARD, At(2025, 7, 1, 10));
  EXPECT_EQ(d.holder_agency_code(), kLandBranch);
  d = Do(d, v1::ACTION_KIND_COMPLETE_STAGE, At(2025, 7, 8, 9), kTaxLak);
  d = Do(d, v1::ACTION_KIND_RECORD_DECISION, At(2025, 7, 9, 9), kLandBranch);
  d = Do(d, v1::ACTION_KIND_COMPLETE_STAGE, At(2025, 7, 9, 10), kLandBranch);
  d = Do(d, v1::ACTION_KIND_FORWARD, At(2025, 7, 9, 14));
  d = Do(d, v1::ACTION_KIND_MARK_RESULT_READY, At(2025, 7, 10, 9));
  EXPECT_EQ(d.receiving_agency_code(), kLienSon);
  EXPECT_EQ(d.holder_agency_code(), kLienSon);
  EXPECT_EQ(ClassifyTimeliness(d, At(2025, 7, 11, 9), calendar()), v1::TIMELINESS_EARLY);
  // Stage 2 was due Friday 11/7/2025 (8 working days from 1/7).
  EXPECT_EQ(Local(d.stages(1).tasks(0).due_time()), "11/07/2025 17:00");
  EXPECT_EQ(d.stages(1).tasks(0).outcome(), v1::STAGE_OUTCOME_EARLY);
}

}  // namespace
}  // namespace onestop::core
