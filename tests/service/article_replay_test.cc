// The source article, replayed (DOMAIN.md §10): huyện Lắk, nine months of
// 2020, 23,874 commune-level dossiers and 1,331 interlinked district–commune
// dossiers (25,205 in all), every one resolved with a seeded mix of early /
// on-time / late. The workload runs in-process through the real
// DossierManager over AggregatingDossierStore over SQLite (in memory, so it
// takes seconds), under a controlled clock moved forward event by event. The
// report must reproduce the article's totals and every rate computed by hand
// from the generator's own counts, and equal a from-scratch recomputation.
#include <algorithm>
#include <cstdint>
#include <fstream>
#include <memory>
#include <queue>
#include <random>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/time/time.h"
#include "google/protobuf/util/message_differencer.h"
#include "onestop/v1/dossier_service.pb.h"
#include "onestop/v1/report_service.pb.h"
#include "server/config/config_loader.h"
#include "server/core/report.h"
#include "server/service/aggregating_dossier_store.h"
#include "server/service/dossier_manager.h"
#include "server/service/report_service.h"
#include "server/util/clock.h"
#include "storage/sqlite/sqlite_dossier_store.h"

namespace onestop {
namespace {

namespace v1 = ::onestop::v1;

// The shipped sample plus one test-only commune procedure with a 3-day
// deadline and no route (the sample's commune procedures are same-day or
// interlinked), so a commune dossier can be early, on time or late.
constexpr char kThreeDay[] = "9.990003";
std::shared_ptr<const core::Catalogue> SampleWithThreeDayProcedure() {
  std::ifstream in(ONESTOP_SOURCE_DIR "/deploy/daklak-2020.textproto");
  std::stringstream text;
  text << in.rdbuf()
       << "\nprocedures {\n  code: \"9.990003\"\n"
          "  name: \"Thủ tục cấp xã minh hoạ (3 ngày làm việc, chỉ dùng trong kiểm thử)\"\n"
          "  level: \"commune\"\n"
          "  deadline { amount: 3 unit: DEADLINE_UNIT_WORKING_DAYS }\n"
          "  field: \"Chứng thực\"\n}\n";
  auto catalogue = config::LoadConfigText(text.str(), "daklak-2020+test.textproto");
  EXPECT_TRUE(catalogue.ok()) << catalogue.status();
  return *catalogue;
}

constexpr char kDistrict[] = "000.00.31.H15";
constexpr int kCommuneDossiers = 23874;
constexpr int kInterlinkedDossiers = 1331;
// Commune-level procedures: birth registration (0 working days: on time or
// late, never early) and a test-only 3-day commune procedure; the
// interlinked land procedure (a commune stage, then the district land
// branch and tax office; 10 days).
constexpr char kBirth[] = "1.001193";
constexpr const char* kBusiness = kThreeDay;
constexpr char kLand[] = "1.004227";

enum class Outcome { kEarly, kOnTime, kLate };

struct Plan {
  std::string agency;
  std::string procedure;
  v1::Channel channel = v1::CHANNEL_DIRECT;
  bool interlinked = false;
  absl::Time received;
  absl::Time finish;  // result ready
  Outcome outcome = Outcome::kOnTime;
  // Runtime state.
  v1::Dossier dossier;
  int next_step = 0;
};

class ArticleReplayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    catalogue_ = SampleWithThreeDayProcedure();
    ASSERT_NE(catalogue_, nullptr);
    auto store = storage::SqliteDossierStore::Open(
        {.path = ":memory:", .durability = storage::Durability::kNormal});
    ASSERT_TRUE(store.ok()) << store.status();
    sqlite_ = std::move(*store);
    auto current = [this] { return catalogue_; };
    store_ = std::make_unique<service::AggregatingDossierStore>(sqlite_.get(), current);
    clock_ = std::make_unique<ControlledClock>(
        calendar().FromLocal(absl::CivilMinute(2020, 1, 1, 0, 0)), SystemClock::Get());
    manager_ =
        std::make_unique<service::DossierManager>(store_.get(), catalogue_, clock_.get());
    reporter_ = std::make_unique<service::CompletionReporter>(store_.get(), current);
  }

  const core::WorkingCalendar& calendar() const { return catalogue_->calendar(); }
  absl::Time Local(absl::CivilDay day, int hour, int second) const {
    return calendar().FromLocal(absl::CivilMinute(day.year(), day.month(), day.day(), hour, 0)) +
           absl::Seconds(second);
  }

  // The dossier's steps after submission, as actions; the last one is
  // mark_result_ready.
  std::vector<core::Action> Steps(const Plan& p) const {
    std::vector<core::Action> steps;
    auto action = [](v1::ActionKind kind, const std::string& acting = "") {
      core::Action a;
      a.kind = kind;
      a.acting_agency_code = acting;
      if (kind == v1::ACTION_KIND_RECORD_DECISION) a.outcome = v1::DECISION_OUTCOME_APPROVED;
      return a;
    };
    if (!p.interlinked) {
      steps.push_back(action(v1::ACTION_KIND_HAND_OVER));
    } else {
      steps.push_back(action(v1::ACTION_KIND_FORWARD));
      for (const v1::Stage& stage : p.dossier.stages()) {
        for (const v1::StageTask& task : stage.tasks()) {
          steps.push_back(action(v1::ACTION_KIND_COMPLETE_STAGE, task.agency_code()));
        }
        steps.push_back(action(v1::ACTION_KIND_FORWARD));
      }
    }
    steps.push_back(action(v1::ACTION_KIND_RECORD_DECISION));
    steps.push_back(action(v1::ACTION_KIND_MARK_RESULT_READY));
    return steps;
  }

  std::shared_ptr<const core::Catalogue> catalogue_;
  std::unique_ptr<storage::SqliteDossierStore> sqlite_;
  std::unique_ptr<service::AggregatingDossierStore> store_;
  std::unique_ptr<ControlledClock> clock_;
  std::unique_ptr<service::DossierManager> manager_;
  std::unique_ptr<service::CompletionReporter> reporter_;
};

TEST_F(ArticleReplayTest, NineMonthsOfHuyenLakReproduceTheArticle) {
  // ---- Generate ----
  std::mt19937 rng(2020);
  std::vector<std::string> communes;
  for (const std::string& code : catalogue_->SubtreeCodes(kDistrict)) {
    const v1::Agency* a = catalogue_->FindAgency(code);
    if (a->level() == "commune" && catalogue_->AgencyValidOn(*a, absl::CivilDay(2020, 1, 1))) {
      communes.push_back(code);
    }
  }
  ASSERT_EQ(communes.size(), 11u);
  std::vector<absl::CivilDay> working_days;  // reception days, leaving room to finish
  for (absl::CivilDay d(2020, 1, 2); d <= absl::CivilDay(2020, 9, 4); ++d) {
    if (calendar().IsWorkingDay(d)) working_days.push_back(d);
  }
  const absl::CivilDay last_day(2020, 9, 30);

  std::vector<Plan> plans(kCommuneDossiers + kInterlinkedDossiers);
  int64_t early = 0, on_time = 0, late = 0, online = 0;
  int64_t interlinked_early = 0, interlinked_on_time = 0, interlinked_late = 0;
  for (size_t i = 0; i < plans.size(); ++i) {
    Plan& p = plans[i];
    p.interlinked = i >= static_cast<size_t>(kCommuneDossiers);
    p.agency = communes[rng() % communes.size()];
    const int amount = p.interlinked ? 10 : (rng() % 2 ? 3 : 0);
    p.procedure = p.interlinked ? kLand : (amount == 3 ? kBusiness : kBirth);
    p.channel = static_cast<v1::Channel>(1 + rng() % 3);
    const absl::CivilDay received = working_days[rng() % working_days.size()];
    p.received = Local(received, 8, static_cast<int>(i % 3000));
    const absl::CivilDay due = calendar().AddWorkingDays(received, amount);
    const int roll = static_cast<int>(rng() % 100);  // ~55 % early, 35 % on time, 10 % late
    p.outcome = roll < 55 ? Outcome::kEarly : (roll < 90 ? Outcome::kOnTime : Outcome::kLate);
    if (p.outcome == Outcome::kEarly && amount == 0) p.outcome = Outcome::kOnTime;
    absl::CivilDay finish = due;
    if (p.outcome == Outcome::kEarly) {
      finish = calendar().AddWorkingDays(received, static_cast<int>(rng() % amount));
    } else if (p.outcome == Outcome::kLate) {
      finish = calendar().AddWorkingDays(due, 1 + static_cast<int>(rng() % 3));
    }
    ASSERT_LE(finish, last_day);
    // Ready at 16:00 at the latest, after the steps of the morning.
    p.finish = Local(finish, 16, static_cast<int>(i % 3000));
    (p.outcome == Outcome::kEarly ? early : p.outcome == Outcome::kOnTime ? on_time : late) += 1;
    if (p.interlinked) {
      (p.outcome == Outcome::kEarly     ? interlinked_early
       : p.outcome == Outcome::kOnTime ? interlinked_on_time
                                        : interlinked_late) += 1;
    }
    if (p.channel == v1::CHANNEL_ONLINE) ++online;
  }

  // ---- Run, event by event in time order ----
  using Event = std::tuple<absl::Time, size_t>;
  std::priority_queue<Event, std::vector<Event>, std::greater<Event>> events;
  for (size_t i = 0; i < plans.size(); ++i) events.emplace(plans[i].received, i);
  std::vector<std::vector<core::Action>> steps(plans.size());
  int64_t writes = 0;
  while (!events.empty()) {
    const auto [at, i] = events.top();
    events.pop();
    Plan& p = plans[i];
    if (at > clock_->Now()) {
      ASSERT_TRUE(clock_->SetTime(at).ok());
    }
    absl::StatusOr<v1::Dossier> result;
    if (p.next_step == 0) {
      v1::SubmitDossierRequest request;
      request.set_procedure_code(p.procedure);
      request.set_receiving_agency_code(p.agency);
      request.mutable_applicant()->set_full_name("Y Bhiăo Niê");
      request.set_channel(p.channel);
      request.set_summary("Hồ sơ mô phỏng");
      request.set_receive_now(true);
      result = manager_->Submit(request, "", "canbo.motcua");
      ASSERT_TRUE(result.ok()) << result.status();
      p.dossier = *result;
      steps[i] = Steps(p);
    } else {
      service::ActionCommand command;
      command.code = p.dossier.code();
      command.etag = p.dossier.etag();
      command.action = steps[i][p.next_step - 1];
      result = manager_->Act(command, "canbo.xuly");
      ASSERT_TRUE(result.ok()) << result.status() << " at step " << p.next_step << " of "
                               << p.dossier.code();
      p.dossier = *result;
    }
    ++writes;
    ++p.next_step;
    if (p.next_step <= static_cast<int>(steps[i].size())) {
      const bool last = p.next_step == static_cast<int>(steps[i].size());
      events.emplace(last ? p.finish : at + absl::Seconds(1), i);
    }
  }
  const int64_t total = kCommuneDossiers + kInterlinkedDossiers;
  ASSERT_EQ(total, 25205);
  ASSERT_EQ(early + on_time + late, total);

  // ---- Report: the district, 1/1–30/9/2020, by procedure ----
  v1::GetCompletionReportRequest request;
  request.set_agency_code(kDistrict);
  *request.mutable_from() = core::ToDateProto(absl::CivilDay(2020, 1, 1));
  *request.mutable_to() = core::ToDateProto(absl::CivilDay(2020, 9, 30));
  request.set_group_by(v1::REPORT_GROUP_BY_PROCEDURE);
  absl::StatusOr<v1::GetCompletionReportResponse> report = reporter_->GetCompletionReport(request);
  ASSERT_TRUE(report.ok()) << report.status();
  const v1::CompletionColumns& c = report->total().columns();
  EXPECT_EQ(c.carried_over(), 0);
  EXPECT_EQ(c.received_total(), 25205);
  EXPECT_EQ(c.to_handle(), 25205);
  EXPECT_EQ(c.resolved_total(), 25205);
  EXPECT_EQ(c.in_progress_total(), 0);
  EXPECT_EQ(c.completion_rate().numerator(), 25205);
  EXPECT_DOUBLE_EQ(c.completion_rate().percent(), 100.0);
  EXPECT_EQ(c.resolved_early(), early);
  EXPECT_EQ(c.resolved_on_time(), on_time);
  EXPECT_EQ(c.resolved_late(), late);
  EXPECT_EQ(c.received_online(), online);
  EXPECT_DOUBLE_EQ(c.on_time_rate_over_resolved().percent(),
                   100.0 * static_cast<double>(early + on_time) / 25205.0);
  EXPECT_DOUBLE_EQ(c.late_rate_over_to_handle().percent(), 100.0 * static_cast<double>(late) / 25205.0);
  EXPECT_DOUBLE_EQ(c.online_share().percent(), 100.0 * static_cast<double>(online) / 25205.0);
  // The two published definitions differ: not complements of each other
  // unless nothing is in progress — here nothing is, so they are.
  EXPECT_DOUBLE_EQ(c.on_time_rate_over_resolved().percent() + c.late_rate_over_to_handle().percent(),
                   100.0);

  // Sub-totals: commune-level procedures and the interlinked one.
  int64_t commune_received = 0, interlinked_received = 0;
  for (const v1::CompletionReportRow& row : report->rows()) {
    if (row.key() == kLand) {
      interlinked_received += row.columns().received_total();
      EXPECT_EQ(row.columns().resolved_early(), interlinked_early);
      EXPECT_EQ(row.columns().resolved_on_time(), interlinked_on_time);
      EXPECT_EQ(row.columns().resolved_late(), interlinked_late);
    } else {
      commune_received += row.columns().received_total();
    }
  }
  EXPECT_EQ(commune_received, 23874);
  EXPECT_EQ(interlinked_received, 1331);
  // Every dossier was received at a commune desk: the level report agrees.
  request.clear_agency_code();
  request.set_level("commune");
  request.set_group_by(v1::REPORT_GROUP_BY_NONE);
  absl::StatusOr<v1::GetCompletionReportResponse> communes_report =
      reporter_->GetCompletionReport(request);
  ASSERT_TRUE(communes_report.ok());
  EXPECT_EQ(communes_report->total().columns().resolved_total(), 25205);

  // ---- The counters equal a from-scratch recomputation ----
  std::vector<v1::Dossier> all;
  all.reserve(plans.size());
  for (const Plan& p : plans) all.push_back(p.dossier);
  const std::vector<std::tuple<absl::CivilDay, absl::CivilDay, v1::ReportGroupBy>> periods = {
      {absl::CivilDay(2020, 1, 1), absl::CivilDay(2020, 9, 30), v1::REPORT_GROUP_BY_AGENCY},
      {absl::CivilDay(2020, 3, 1), absl::CivilDay(2020, 3, 31), v1::REPORT_GROUP_BY_FIELD},
      {absl::CivilDay(2020, 4, 15), absl::CivilDay(2020, 7, 2), v1::REPORT_GROUP_BY_CHANNEL},
      {absl::CivilDay(2020, 6, 30), absl::CivilDay(2020, 6, 30), v1::REPORT_GROUP_BY_PROCEDURE},
  };
  for (const auto& [from, to, group_by] : periods) {
    v1::GetCompletionReportRequest r;
    r.set_agency_code(kDistrict);
    *r.mutable_from() = core::ToDateProto(from);
    *r.mutable_to() = core::ToDateProto(to);
    r.set_group_by(group_by);
    absl::StatusOr<v1::GetCompletionReportResponse> fast = reporter_->GetCompletionReport(r);
    ASSERT_TRUE(fast.ok()) << fast.status();
    absl::StatusOr<core::ReportQuery> q =
        core::ParseReportRequest(r, *catalogue_, v1::WITHDRAWN_POLICY_NOT_RESOLVED);
    ASSERT_TRUE(q.ok());
    const v1::GetCompletionReportResponse slow = core::RecomputeReport(all, *q, *catalogue_);
    std::string diff;
    google::protobuf::util::MessageDifferencer differencer;
    differencer.ReportDifferencesToString(&diff);
    EXPECT_TRUE(differencer.Compare(slow, *fast)) << diff;
  }
  RecordProperty("writes", static_cast<int>(writes));
}

}  // namespace
}  // namespace onestop
