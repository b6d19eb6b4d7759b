// ReportService end to end: the real OnestopServer (so the
// AggregatingDossierStore composition) over a real SQLite file through
// in-process gRPC, with a controlled clock; and a randomised workload
// through the real DossierManager whose report must equal a from-scratch
// recomputation for every grouping.
#include <grpcpp/grpcpp.h>

#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "google/protobuf/util/message_differencer.h"
#include "onestop/v1/dossier_service.grpc.pb.h"
#include "onestop/v1/report_service.grpc.pb.h"
#include "server/config/config_loader.h"
#include "server/core/report.h"
#include "server/service/aggregating_dossier_store.h"
#include "server/service/dossier_manager.h"
#include "server/service/onestop_server.h"
#include "server/service/report_service.h"
#include "server/util/clock.h"
#include "storage/sqlite/sqlite_dossier_store.h"
#include "tests/testing/test_auth.h"
#include "tests/testing/temp_dir.h"

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
using ::testing::HasSubstr;

constexpr char kDistrict[] = "000.00.31.H15";
constexpr char kCommune[] = "000.01.31.H15";
constexpr char kOtherCommune[] = "000.02.31.H15";

std::shared_ptr<const core::Catalogue> Sample() { return SampleWithThreeDayProcedure(); }

absl::Time Local(const core::Catalogue& c, absl::CivilDay day, int hour) {
  return c.calendar().FromLocal(absl::CivilMinute(day.year(), day.month(), day.day(), hour, 0));
}

class ReportServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    catalogue_ = Sample();
    clock_ = std::make_unique<ControlledClock>(
        Local(*catalogue_, absl::CivilDay(2020, 4, 1), 8), SystemClock::Get());
    auto store = storage::SqliteDossierStore::Open(
        {.path = dir_.File("onestop.db"), .durability = storage::Durability::kNormal});
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    service::ServerOptions options;
    options.listen = "127.0.0.1:0";
    testing::UseInsecureLoopback(options);
    service::ServerDependencies deps;
    deps.store = store_.get();
    deps.catalogue = catalogue_;
    deps.clock = clock_.get();
    auth_ = testing::MustOpenTestAuth(dir_.File("onestop.db"));
    deps.security_store = auth_->store();
    if (token_.empty()) token_ = testing::MustToken(auth_->AllRolesToken(*deps.catalogue, "tester"));
    auto server = service::OnestopServer::Start(options, deps);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    auto channel = testing::AuthorizedChannel(server_->address(), token_);
    dossiers_ = v1::DossierService::NewStub(channel);
    reports_ = v1::ReportService::NewStub(channel);
  }
  void TearDown() override {
    if (server_) server_->Shutdown(absl::Seconds(5));
    server_.reset();
    store_.reset();
  }

  v1::Dossier Submit(const std::string& agency, v1::Channel channel) {
    v1::SubmitDossierRequest request;
    request.set_procedure_code(kThreeDay);
    request.set_receiving_agency_code(agency);
    request.mutable_applicant()->set_full_name("H' Hen Niê");
    request.set_channel(channel);
    request.set_summary("Thay đổi nội dung đăng ký hộ kinh doanh");
    request.set_receive_now(true);
    grpc::ClientContext context;
    v1::SubmitDossierResponse response;
    const grpc::Status status = dossiers_->SubmitDossier(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.dossier();
  }

  // hand over, decide, ready.
  v1::Dossier Resolve(v1::Dossier d) {
    {
      v1::HandOverDossierRequest r;
      r.set_code(d.code());
      r.set_etag(d.etag());
      grpc::ClientContext context;
      v1::HandOverDossierResponse response;
      const grpc::Status status = dossiers_->HandOverDossier(&context, r, &response);
      EXPECT_TRUE(status.ok()) << status.error_message();
      d = response.dossier();
    }
    {
      v1::RecordDecisionRequest r;
      r.set_code(d.code());
      r.set_etag(d.etag());
      r.set_outcome(v1::DECISION_OUTCOME_APPROVED);
      grpc::ClientContext context;
      v1::RecordDecisionResponse response;
      EXPECT_TRUE(dossiers_->RecordDecision(&context, r, &response).ok());
      d = response.dossier();
    }
    v1::MarkResultReadyRequest r;
    r.set_code(d.code());
    r.set_etag(d.etag());
    grpc::ClientContext context;
    v1::MarkResultReadyResponse response;
    const grpc::Status status = dossiers_->MarkResultReady(&context, r, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.dossier();
  }

  grpc::Status Report(const v1::GetCompletionReportRequest& request,
                      v1::GetCompletionReportResponse* response) {
    grpc::ClientContext context;
    return reports_->GetCompletionReport(&context, request, response);
  }

  v1::GetCompletionReportRequest Request(absl::CivilDay from, absl::CivilDay to,
                                         const std::string& agency = kDistrict) {
    v1::GetCompletionReportRequest request;
    request.set_agency_code(agency);
    *request.mutable_from() = core::ToDateProto(from);
    *request.mutable_to() = core::ToDateProto(to);
    return request;
  }

  testing::TempDir dir_;
  std::shared_ptr<const core::Catalogue> catalogue_;
  std::unique_ptr<ControlledClock> clock_;
  std::unique_ptr<storage::SqliteDossierStore> store_;
  std::unique_ptr<testing::TestAuth> auth_;
  std::string token_;
  std::unique_ptr<service::OnestopServer> server_;
  std::unique_ptr<v1::DossierService::Stub> dossiers_;
  std::unique_ptr<v1::ReportService::Stub> reports_;
};

TEST_F(ReportServiceTest, CountsWritesMadeThroughTheDossierService) {
  // Wednesday 1/4/2020 (Thursday 2/4 is Giỗ Tổ): due 7/4 (Fri 3, Mon 6, Tue 7).
  const v1::Dossier early = Submit(kCommune, v1::CHANNEL_ONLINE);
  const v1::Dossier on_time = Submit(kCommune, v1::CHANNEL_DIRECT);
  const v1::Dossier late = Submit(kOtherCommune, v1::CHANNEL_POSTAL);
  Submit(kOtherCommune, v1::CHANNEL_ONLINE);  // stays open: overdue by 30/4
  ASSERT_TRUE(clock_->SetTime(Local(*catalogue_, absl::CivilDay(2020, 4, 3), 9)).ok());
  Resolve(early);
  ASSERT_TRUE(clock_->SetTime(Local(*catalogue_, absl::CivilDay(2020, 4, 7), 9)).ok());
  Resolve(on_time);
  ASSERT_TRUE(clock_->SetTime(Local(*catalogue_, absl::CivilDay(2020, 4, 9), 9)).ok());
  Resolve(late);

  v1::GetCompletionReportResponse report;
  v1::GetCompletionReportRequest request =
      Request(absl::CivilDay(2020, 4, 1), absl::CivilDay(2020, 4, 30));
  request.set_group_by(v1::REPORT_GROUP_BY_AGENCY);
  ASSERT_TRUE(Report(request, &report).ok());
  const v1::CompletionColumns& c = report.total().columns();
  EXPECT_EQ(c.received_total(), 4);
  EXPECT_EQ(c.received_online(), 2);
  EXPECT_EQ(c.received_postal(), 1);
  EXPECT_EQ(c.resolved_early(), 1);
  EXPECT_EQ(c.resolved_on_time(), 1);
  EXPECT_EQ(c.resolved_late(), 1);
  EXPECT_EQ(c.in_progress_overdue(), 1);
  // 2 of 3 resolved early or on time; 2 late (1 resolved + 1 open) of 4.
  EXPECT_EQ(c.on_time_rate_over_resolved().numerator(), 2);
  EXPECT_EQ(c.on_time_rate_over_resolved().denominator(), 3);
  EXPECT_EQ(c.late_rate_over_to_handle().numerator(), 2);
  EXPECT_EQ(c.late_rate_over_to_handle().denominator(), 4);
  ASSERT_EQ(report.rows_size(), 2);  // one row per commune
  EXPECT_EQ(report.rows(0).key(), kCommune);
  EXPECT_EQ(report.rows(0).columns().received_total(), 2);
  EXPECT_EQ(report.rows(1).columns().received_total(), 2);
  EXPECT_THAT(report.scope_label(), HasSubstr("Lắk"));

  // May: everything open is carried over.
  ASSERT_TRUE(Report(Request(absl::CivilDay(2020, 5, 1), absl::CivilDay(2020, 5, 31)), &report)
                  .ok());
  EXPECT_EQ(report.total().columns().carried_over(), 1);
  EXPECT_EQ(report.total().columns().received_total(), 0);
}

TEST_F(ReportServiceTest, BadRequestsGetSpecificCodes) {
  v1::GetCompletionReportResponse report;
  v1::GetCompletionReportRequest empty_scope =
      Request(absl::CivilDay(2020, 4, 1), absl::CivilDay(2020, 4, 30));
  empty_scope.clear_agency_code();
  grpc::Status status = Report(empty_scope, &report);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("scope"));

  status = Report(Request(absl::CivilDay(2020, 4, 30), absl::CivilDay(2020, 4, 1)), &report);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("reversed"));

  status = Report(Request(absl::CivilDay(2020, 4, 1), absl::CivilDay(2020, 4, 30), "000.77.31.H15"),
                  &report);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(status.error_message(), HasSubstr("000.77.31.H15"));
}

// The randomised workload, in-process: manager → aggregating → SQLite.
TEST(ReportRecomputationTest, AggregatesEqualRecomputationAfterARandomisedWorkload) {
  const std::shared_ptr<const core::Catalogue> catalogue = Sample();
  auto sqlite = storage::SqliteDossierStore::Open({.path = ":memory:"});
  ASSERT_TRUE(sqlite.ok());
  auto current = [catalogue] { return catalogue; };
  service::AggregatingDossierStore store(sqlite->get(), current);
  ControlledClock clock(Local(*catalogue, absl::CivilDay(2020, 1, 2), 7), SystemClock::Get());
  service::DossierManager manager(&store, catalogue, &clock);
  service::CompletionReporter reporter(&store, current);

  std::mt19937 rng(766);
  const std::vector<std::string> agencies = {"000.01.31.H15", "000.05.31.H15", "000.11.31.H15"};
  const std::vector<std::string> procedures = {"1.001193", kThreeDay, "2.000908"};
  std::vector<std::string> codes;
  auto act = [&](const std::string& code, core::Action action) {
    absl::StatusOr<v1::Dossier> current = manager.Get(code);
    ASSERT_TRUE(current.ok());
    service::ActionCommand command;
    command.code = code;
    command.etag = current->etag();
    command.action = std::move(action);
    // Illegal moves are refused without writing; that is part of the mix.
    manager.Act(command, "canbo").IgnoreError();
  };
  for (int step = 0; step < 1500; ++step) {
    ASSERT_TRUE(clock.Advance(absl::Minutes(20 + rng() % 400)).ok());
    if (codes.empty() || rng() % 4 == 0) {
      v1::SubmitDossierRequest request;
      request.set_procedure_code(procedures[rng() % procedures.size()]);
      request.set_receiving_agency_code(agencies[rng() % agencies.size()]);
      request.mutable_applicant()->set_full_name("Ama Thuột");
      request.set_channel(static_cast<v1::Channel>(1 + rng() % 3));
      request.set_summary("Ngẫu nhiên");
      request.set_receive_now(rng() % 10 != 0);
      absl::StatusOr<v1::Dossier> d = manager.Submit(request, "", "canbo");
      ASSERT_TRUE(d.ok()) << d.status();
      codes.push_back(d->code());
      continue;
    }
    const std::string& code = codes[rng() % codes.size()];
    core::Action action;
    switch (rng() % 11) {
      case 0: action.kind = v1::ACTION_KIND_ACCEPT; break;
      case 1: action.kind = v1::ACTION_KIND_HAND_OVER; break;
      case 2:
        action.kind = v1::ACTION_KIND_RECORD_DECISION;
        action.outcome = v1::DECISION_OUTCOME_APPROVED;
        break;
      case 3: action.kind = v1::ACTION_KIND_MARK_RESULT_READY; break;
      case 4:
        action.kind = v1::ACTION_KIND_RETURN_RESULT;
        action.return_mode = v1::RETURN_MODE_AT_DESK;
        break;
      case 5:
        action.kind = v1::ACTION_KIND_REQUEST_SUPPLEMENT;
        action.missing_items = {"Bản sao CCCD"};
        break;
      case 6:
        action.kind = v1::ACTION_KIND_SUPPLY_DOCUMENTS;
        action.documents.emplace_back().set_name("Bản sao CCCD");
        break;
      case 7: action.kind = v1::ACTION_KIND_REQUEST_PAYMENT; break;
      case 8: action.kind = v1::ACTION_KIND_CONFIRM_PAYMENT; break;
      case 9:
        action.kind = rng() % 2 ? v1::ACTION_KIND_WITHDRAW : v1::ACTION_KIND_REFUSE;
        action.note = "Theo đề nghị";
        break;
      default:
        action.kind = v1::ACTION_KIND_STOP;
        action.note = "Dừng xử lý";
        break;
    }
    act(code, action);
  }
  std::vector<v1::Dossier> all;
  for (const std::string& code : codes) {
    absl::StatusOr<v1::Dossier> d = store.Get(code);
    ASSERT_TRUE(d.ok());
    all.push_back(*d);
  }
  const absl::CivilDay start(2020, 1, 2);
  const absl::CivilDay end = catalogue->calendar().ToLocalDay(clock.Now());
  const std::vector<v1::ReportGroupBy> groupings = {
      v1::REPORT_GROUP_BY_NONE,      v1::REPORT_GROUP_BY_AGENCY,  v1::REPORT_GROUP_BY_LEVEL,
      v1::REPORT_GROUP_BY_PROCEDURE, v1::REPORT_GROUP_BY_CHANNEL, v1::REPORT_GROUP_BY_FIELD};
  int64_t seen_received = 0;
  for (int i = 0; i < 36; ++i) {
    const int span = end - start + 1;
    const absl::CivilDay from = start + static_cast<int>(rng() % span);
    const absl::CivilDay to = from + static_cast<int>(rng() % 120);
    v1::GetCompletionReportRequest request;
    if (i % 3 == 0) {
      request.set_level("commune");
    } else {
      request.set_agency_code(i % 3 == 1 ? kDistrict : agencies[rng() % agencies.size()]);
    }
    *request.mutable_from() = core::ToDateProto(from);
    *request.mutable_to() = core::ToDateProto(to);
    request.set_group_by(groupings[i % groupings.size()]);
    request.set_withdrawn_policy(i % 2 ? v1::WITHDRAWN_POLICY_ON_TIME
                                       : v1::WITHDRAWN_POLICY_NOT_RESOLVED);
    absl::StatusOr<v1::GetCompletionReportResponse> fast = reporter.GetCompletionReport(request);
    ASSERT_TRUE(fast.ok()) << fast.status();
    absl::StatusOr<core::ReportQuery> q =
        core::ParseReportRequest(request, *catalogue, v1::WITHDRAWN_POLICY_NOT_RESOLVED);
    ASSERT_TRUE(q.ok());
    const v1::GetCompletionReportResponse slow = core::RecomputeReport(all, *q, *catalogue);
    std::string diff;
    google::protobuf::util::MessageDifferencer differencer;
    differencer.ReportDifferencesToString(&diff);
    EXPECT_TRUE(differencer.Compare(slow, *fast)) << "query " << i << ": " << diff;
    seen_received += fast->total().columns().received_total();
  }
  EXPECT_GT(seen_received, 0);  // the queries were not all empty
}

// Every counter series of `store` summed over all days.
std::vector<storage::CounterSums> AllCounters(storage::DossierStore& store) {
  storage::CounterQuery query;
  query.series_prefixes = {"o:", "t:", "l:"};
  query.ranges = {{storage::kEarliestCounterDay, storage::kLatestCounterDay}};
  absl::StatusOr<std::vector<storage::CounterSums>> sums = store.SumCounters(query);
  EXPECT_TRUE(sums.ok()) << sums.status();
  return sums.ok() ? *std::move(sums) : std::vector<storage::CounterSums>();
}

bool SameCounters(const std::vector<storage::CounterSums>& a,
                  const std::vector<storage::CounterSums>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].series != b[i].series || a[i].sums != b[i].sums) return false;
  }
  return true;
}

// A three-day dossier received at the commune's desk, for the aggregating
// decorator's tests.
v1::SubmitDossierRequest CommuneDeskSubmission() {
  v1::SubmitDossierRequest request;
  request.set_procedure_code(kThreeDay);
  request.set_receiving_agency_code(kCommune);
  request.mutable_applicant()->set_full_name("Ama Thuột");
  request.set_channel(v1::CHANNEL_DIRECT);
  request.set_receive_now(true);
  return request;
}

// The aggregating decorator's asynchronous update without the caller's
// copy of the dossier (it reads it itself, and keeps it until the answer)
// counts what the blocking update with the copy counts; a stale or unknown
// dossier is refused and counts nothing.
TEST(AggregatingDossierStoreTest, AsyncUpdateWithoutTheReadDossierCountsTheSame) {
  const std::shared_ptr<const core::Catalogue> catalogue = Sample();
  auto current = [catalogue] { return catalogue; };
  ControlledClock clock(Local(*catalogue, absl::CivilDay(2020, 4, 1), 8), SystemClock::Get());
  const v1::SubmitDossierRequest request = CommuneDeskSubmission();

  auto blocking_sqlite = storage::SqliteDossierStore::Open({.path = ":memory:"});
  auto async_sqlite = storage::SqliteDossierStore::Open({.path = ":memory:"});
  ASSERT_TRUE(blocking_sqlite.ok() && async_sqlite.ok());
  service::AggregatingDossierStore blocking(blocking_sqlite->get(), current);
  service::AggregatingDossierStore async(async_sqlite->get(), current);
  absl::StatusOr<v1::Dossier> submitted =
      service::DossierManager(&blocking, catalogue, &clock).Submit(request, "", "canbo");
  ASSERT_TRUE(submitted.ok()) << submitted.status();
  ASSERT_TRUE(service::DossierManager(&async, catalogue, &clock).Submit(request, "", "canbo").ok());
  const std::vector<storage::CounterSums> received = AllCounters(blocking);
  ASSERT_TRUE(SameCounters(received, AllCounters(async)));

  // The result is ready: the dossier counts as resolved.
  storage::UpdateDossierWrite ready;
  ready.dossier = *submitted;
  ready.dossier.clear_history();
  ready.dossier.set_status(v1::DOSSIER_STATUS_RESULT_READY);
  *ready.dossier.mutable_finished_time() = ready.dossier.received_time();
  ready.expected_etag = submitted->etag();
  ready.entry.set_action(v1::ACTION_KIND_MARK_RESULT_READY);
  ready.entry.set_to_status(v1::DOSSIER_STATUS_RESULT_READY);
  storage::UpdateDossierWrite with_before = ready;
  with_before.before = &*submitted;
  ASSERT_TRUE(blocking.Update(with_before).ok());
  EXPECT_FALSE(SameCounters(received, AllCounters(blocking)));  // the update counted

  auto update_async = [&](storage::UpdateDossierWrite write) {
    absl::Notification answered;
    absl::StatusOr<v1::Dossier> result = absl::UnknownError("not answered");
    async.UpdateAsync(std::move(write), [&](absl::StatusOr<v1::Dossier> r) {
      result = std::move(r);
      answered.Notify();
    });
    answered.WaitForNotification();
    return result;
  };
  ASSERT_TRUE(update_async(ready).ok());  // no `before`: read by the decorator
  EXPECT_TRUE(SameCounters(AllCounters(blocking), AllCounters(async)));

  const std::vector<storage::CounterSums> after = AllCounters(async);
  EXPECT_EQ(update_async(ready).status().code(), absl::StatusCode::kAborted);  // stale now
  storage::UpdateDossierWrite unknown = ready;
  unknown.dossier.set_code("000.01.31.H15-200401-9999");
  EXPECT_EQ(update_async(unknown).status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(SameCounters(after, AllCounters(async)));
}

// A write that already carries counter deltas keeps them: the decorator
// adds the dossier's contribution beside them.
TEST(AggregatingDossierStoreTest, ACreateCarryingDeltasKeepsThemBesideTheContribution) {
  const std::shared_ptr<const core::Catalogue> catalogue = Sample();
  auto current = [catalogue] { return catalogue; };
  ControlledClock clock(Local(*catalogue, absl::CivilDay(2020, 4, 1), 8), SystemClock::Get());
  const v1::SubmitDossierRequest request = CommuneDeskSubmission();
  auto managed_sqlite = storage::SqliteDossierStore::Open({.path = ":memory:"});
  auto direct_sqlite = storage::SqliteDossierStore::Open({.path = ":memory:"});
  ASSERT_TRUE(managed_sqlite.ok() && direct_sqlite.ok());
  service::AggregatingDossierStore managed(managed_sqlite->get(), current);
  service::AggregatingDossierStore direct(direct_sqlite->get(), current);
  absl::StatusOr<v1::Dossier> submitted =
      service::DossierManager(&managed, catalogue, &clock).Submit(request, "", "canbo");
  ASSERT_TRUE(submitted.ok()) << submitted.status();
  const std::vector<storage::CounterSums> contribution = AllCounters(managed);
  ASSERT_FALSE(contribution.empty());

  storage::CreateDossierWrite write;
  write.dossier = *submitted;
  write.dossier.clear_history();
  write.entry = submitted->history(0);
  write.code_prefix = "000.01.31.H15-200401";
  storage::CounterDelta extra;
  extra.series = "o:extra";
  extra.day = absl::CivilDay(2020, 4, 1);
  extra.values[0] = 5;
  write.counter_deltas.push_back(extra);
  ASSERT_TRUE(direct.Create(write).ok());

  std::vector<storage::CounterSums> stored = AllCounters(direct);
  const auto kept = std::find_if(stored.begin(), stored.end(),
                                 [](const storage::CounterSums& s) { return s.series == "o:extra"; });
  ASSERT_NE(kept, stored.end());
  ASSERT_EQ(kept->sums.size(), 1u);
  EXPECT_EQ(kept->sums[0][0], 5);
  stored.erase(kept);
  EXPECT_TRUE(SameCounters(contribution, stored));
}

}  // namespace
}  // namespace onestop
