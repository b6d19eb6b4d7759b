// The real service over a real SQLite file, through an in-process gRPC
// server on loopback. The only double is the clock (ControlledClock).
#include <grpcpp/grpcpp.h>

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/cleanup/cleanup.h"
#include "absl/functional/any_invocable.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "onestop/v1/dossier_service.grpc.pb.h"
#include "server/config/config_loader.h"
#include "server/service/dossier_manager.h"
#include "server/service/executor.h"
#include "server/service/handoff.h"
#include "server/service/onestop_server.h"
#include "server/util/clock.h"
#include "server/util/proto_time.h"
#include "storage/forwarding_dossier_store.h"
#include "storage/sqlite/sqlite_dossier_store.h"
#include "tests/testing/test_auth.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_config.h"

namespace onestop {
namespace {

using ::testing::HasSubstr;
using namespace onestop::v1;  // NOLINT

absl::Time VnTime(int y, int m, int d, int hh, int mm) {
  return absl::FromCivil(absl::CivilMinute(y, m, d, hh, mm),
                         absl::FixedTimeZone(7 * 3600));
}

SubmitDossierRequest BirthRegistration(const std::string& name = "Nguyễn Thị Hằng") {
  SubmitDossierRequest request;
  request.set_procedure_code(testing::kCommuneProcedure);
  request.set_receiving_agency_code(testing::kCommune);
  request.mutable_applicant()->set_full_name(name);
  request.mutable_applicant()->set_personal_id("066190001234");
  request.mutable_applicant()->set_phone("0912345678");
  request.mutable_applicant()->set_address("Buôn Jun, thị trấn Liên Sơn, huyện Lắk");
  request.set_channel(CHANNEL_DIRECT);
  auto* document = request.add_documents();
  document->set_name("Tờ khai đăng ký khai sinh");
  document->set_copies(1);
  request.set_summary("Đăng ký khai sinh cho con");
  request.set_receive_now(true);
  return request;
}

class DossierServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto catalogue = config::LoadConfigText(testing::kTestConfig, "test.textproto");
    ASSERT_TRUE(catalogue.ok()) << catalogue.status();
    catalogue_ = *catalogue;
    clock_ = std::make_unique<ControlledClock>(VnTime(2020, 1, 6, 8, 0), SystemClock::Get());
    StartServer();
  }

  void TearDown() override { StopServer(); }

  void StartServer() {
    storage::SqliteOptions store_options;
    store_options.path = dir_.File("onestop.db");
    auto store = storage::SqliteDossierStore::Open(store_options);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    service::ServerOptions options;
    options.listen = "127.0.0.1:0";
    testing::UseInsecureLoopback(options);
    service::ServerDependencies deps;
    deps.store = store_.get();
    deps.catalogue = catalogue_;
    deps.clock = clock_.get();
    deps.controlled_clock = clock_.get();
    // As in the daemon: the security store writes through the dossier
    // store's writer, so calls by a token in memory start on gRPC's thread.
    auth_ = testing::MustOpenTestAuth(dir_.File("onestop.db"), store_.get());
    deps.security_store = auth_->store();
    if (token_.empty()) token_ = testing::MustToken(auth_->AllRolesToken(*deps.catalogue, "clerk.lienson"));
    auto server = service::OnestopServer::Start(options, deps);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    auto channel = testing::AuthorizedChannel(server_->address(), token_);
    dossiers_ = DossierService::NewStub(channel);
    // History records the authenticated principal: actions run as another.
    officer_dossiers_ = DossierService::NewStub(testing::AuthorizedChannel(
        server_->address(),
        testing::MustToken(auth_->AllRolesToken(*catalogue_, "officer.huyen"))));
    admin_ = AdminService::NewStub(channel);
    catalogue_stub_ = CatalogueService::NewStub(channel);
  }

  void StopServer() {
    if (server_) server_->Shutdown(absl::Seconds(5));
    server_.reset();
    auth_.reset();  // it writes through store_
    store_.reset();
  }

  grpc::Status Submit(const SubmitDossierRequest& request, Dossier* out) {
    grpc::ClientContext context;
    SubmitDossierResponse response;
    grpc::Status status = dossiers_->SubmitDossier(&context, request, &response);
    if (out) *out = response.dossier();
    return status;
  }

  Dossier MustSubmit(const SubmitDossierRequest& request) {
    Dossier dossier;
    const grpc::Status status = Submit(request, &dossier);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return dossier;
  }

  grpc::Status Get(const std::string& code, Dossier* out) {
    grpc::ClientContext context;
    GetDossierRequest request;
    request.set_code(code);
    GetDossierResponse response;
    grpc::Status status = dossiers_->GetDossier(&context, request, &response);
    if (out) *out = response.dossier();
    return status;
  }

  // Calls one action RPC with the usual fields and returns its dossier.
  template <typename Request, typename Response, typename Method>
  grpc::Status Call(Method method, Request request, Dossier* out) {
    grpc::ClientContext context;
    Response response;
    grpc::Status status = ((*officer_dossiers_).*method)(&context, request, &response);
    if (out && status.ok()) *out = response.dossier();
    return status;
  }

  testing::TempDir dir_;
  std::shared_ptr<const core::Catalogue> catalogue_;
  std::unique_ptr<ControlledClock> clock_;
  std::unique_ptr<storage::SqliteDossierStore> store_;
  std::unique_ptr<testing::TestAuth> auth_;
  std::string token_;
  std::unique_ptr<service::OnestopServer> server_;
  std::unique_ptr<DossierService::Stub> dossiers_;
  std::unique_ptr<DossierService::Stub> officer_dossiers_;
  std::unique_ptr<AdminService::Stub> admin_;
  std::unique_ptr<CatalogueService::Stub> catalogue_stub_;
};

TEST_F(DossierServiceTest, SubmitReceivesAndIssuesCodeAndAppointment) {
  const Dossier dossier = MustSubmit(BirthRegistration());
  EXPECT_EQ(dossier.code(), "000.31.01.H15-200106-0001");
  EXPECT_EQ(dossier.status(), DOSSIER_STATUS_RECEIVED);
  EXPECT_EQ(dossier.portal_status_code(), 2);
  EXPECT_EQ(dossier.etag(), 1);
  EXPECT_EQ(FromProtoTime(dossier.received_time()), VnTime(2020, 1, 6, 8, 0));
  // Monday 6/1/2020 + 3 working days = Thursday 9/1/2020, at the close.
  EXPECT_EQ(FromProtoTime(dossier.due_time()), VnTime(2020, 1, 9, 17, 0));
  EXPECT_EQ(dossier.applicant().full_name(), "Nguyễn Thị Hằng");
  ASSERT_EQ(dossier.history_size(), 1);
  EXPECT_EQ(dossier.history(0).actor(), "clerk.lienson");
  EXPECT_EQ(dossier.history(0).action(), ACTION_KIND_SUBMIT);
}

TEST_F(DossierServiceTest, FullLifecycleRecordsEveryStepInOrder) {
  Dossier d = MustSubmit(BirthRegistration());
  HandOverDossierRequest hand_over;
  hand_over.set_code(d.code());
  hand_over.set_etag(d.etag());
  ASSERT_TRUE((Call<HandOverDossierRequest, HandOverDossierResponse>(
                   &DossierService::Stub::HandOverDossier, hand_over, &d)).ok());
  EXPECT_EQ(d.status(), DOSSIER_STATUS_PROCESSING);
  clock_->Advance(absl::Hours(2)).IgnoreError();
  RecordDecisionRequest decide;
  decide.set_code(d.code());
  decide.set_etag(d.etag());
  decide.set_outcome(DECISION_OUTCOME_APPROVED);
  ASSERT_TRUE((Call<RecordDecisionRequest, RecordDecisionResponse>(
                   &DossierService::Stub::RecordDecision, decide, &d)).ok());
  MarkResultReadyRequest ready;
  ready.set_code(d.code());
  ready.set_etag(d.etag());
  ASSERT_TRUE((Call<MarkResultReadyRequest, MarkResultReadyResponse>(
                   &DossierService::Stub::MarkResultReady, ready, &d)).ok());
  EXPECT_EQ(d.status(), DOSSIER_STATUS_RESULT_READY);
  EXPECT_EQ(d.holder_agency_code(), testing::kCommune);
  ReturnResultRequest ret;
  ret.set_code(d.code());
  ret.set_etag(d.etag());
  ret.set_mode(RETURN_MODE_AT_DESK);
  ASSERT_TRUE((Call<ReturnResultRequest, ReturnResultResponse>(
                   &DossierService::Stub::ReturnResult, ret, &d)).ok());
  EXPECT_EQ(d.status(), DOSSIER_STATUS_RETURNED);
  EXPECT_EQ(d.portal_status_code(), 10);
  EXPECT_EQ(d.timeliness(), TIMELINESS_EARLY);

  Dossier stored;
  ASSERT_TRUE(Get(d.code(), &stored).ok());
  ASSERT_EQ(stored.history_size(), 5);
  const DossierStatus expected[] = {DOSSIER_STATUS_RECEIVED, DOSSIER_STATUS_PROCESSING,
                                    DOSSIER_STATUS_PROCESSING, DOSSIER_STATUS_RESULT_READY,
                                    DOSSIER_STATUS_RETURNED};
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(stored.history(i).sequence(), i + 1);
    EXPECT_EQ(stored.history(i).to_status(), expected[i]) << "entry " << i;
    if (i > 0) {
      EXPECT_EQ(stored.history(i).from_status(), expected[i - 1]);
    }
  }
  EXPECT_EQ(stored.history(1).actor(), "officer.huyen");
}

TEST_F(DossierServiceTest, ConcurrentSubmissionsGetUniqueGapFreeCodes) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 10;
  std::vector<std::vector<std::string>> codes(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        Dossier d;
        const grpc::Status status = Submit(BirthRegistration(absl::StrCat("Trần Văn ", t, "-", i)), &d);
        if (status.ok()) codes[t].push_back(d.code());
      }
    });
  }
  for (auto& thread : threads) thread.join();
  std::set<std::string> unique;
  for (const auto& list : codes) unique.insert(list.begin(), list.end());
  ASSERT_EQ(unique.size(), static_cast<size_t>(kThreads * kPerThread));
  for (int seq = 1; seq <= kThreads * kPerThread; ++seq) {
    const std::string code = absl::StrCat("000.31.01.H15-200106-", seq < 10 ? "000" : "00", seq);
    EXPECT_TRUE(unique.count(code)) << "missing " << code;
  }
}

TEST_F(DossierServiceTest, StaleEtagIsAbortedAndChangesNothing) {
  const Dossier d = MustSubmit(BirthRegistration());
  HandOverDossierRequest hand_over;
  hand_over.set_code(d.code());
  hand_over.set_etag(d.etag());
  Dossier after;
  ASSERT_TRUE((Call<HandOverDossierRequest, HandOverDossierResponse>(
                   &DossierService::Stub::HandOverDossier, hand_over, &after)).ok());
  StopProcessingRequest stop;
  stop.set_code(d.code());
  stop.set_etag(d.etag());  // stale: the hand-over bumped it
  stop.set_reason("Không đủ điều kiện");
  const grpc::Status status = Call<StopProcessingRequest, StopProcessingResponse>(
      &DossierService::Stub::StopProcessing, stop, nullptr);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ABORTED);
  EXPECT_THAT(status.error_message(), HasSubstr("reload"));
  Dossier stored;
  ASSERT_TRUE(Get(d.code(), &stored).ok());
  EXPECT_EQ(stored.status(), DOSSIER_STATUS_PROCESSING);
  EXPECT_EQ(stored.etag(), after.etag());
  EXPECT_EQ(stored.history_size(), 2);
}

TEST_F(DossierServiceTest, DuplicateRequestIdReturnsTheSameDossier) {
  SubmitDossierRequest request = BirthRegistration();
  request.set_request_id("desk-7-20200106-0001");
  const Dossier first = MustSubmit(request);
  clock_->Advance(absl::Minutes(5)).IgnoreError();
  const Dossier retry = MustSubmit(request);
  EXPECT_EQ(retry.code(), first.code());
  EXPECT_EQ(retry.etag(), first.etag());
  // Nothing new was written: the next submission takes sequence 2.
  const Dossier next = MustSubmit(BirthRegistration("Lê Văn Tám"));
  EXPECT_EQ(next.code(), "000.31.01.H15-200106-0002");

  // The same id for a different request is refused.
  SubmitDossierRequest different = BirthRegistration("Phạm Thị Lan");
  different.set_request_id("desk-7-20200106-0001");
  const grpc::Status status = Submit(different, nullptr);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("already used"));
}

TEST_F(DossierServiceTest, SimultaneousRetriesOfOneSubmissionAllGetItsDossier) {
  // The retries race: some find the recorded request before writing, the
  // others lose in the store (ALREADY_EXISTS) and replay the winner's
  // result after their write's answer (DossierManager::FinishWrite).
  SubmitDossierRequest request = BirthRegistration();
  request.set_request_id("desk-7-20200106-race");
  constexpr int kRetries = 8;
  std::vector<Dossier> answers(kRetries);
  std::vector<grpc::Status> statuses(kRetries);
  std::vector<std::thread> threads;
  for (int i = 0; i < kRetries; ++i) {
    threads.emplace_back([&, i] { statuses[i] = Submit(request, &answers[i]); });
  }
  for (auto& thread : threads) thread.join();
  for (int i = 0; i < kRetries; ++i) {
    ASSERT_TRUE(statuses[i].ok()) << i << ": " << statuses[i].error_message();
    EXPECT_EQ(answers[i].code(), "000.31.01.H15-200106-0001") << i;
    EXPECT_EQ(answers[i].etag(), 1) << i;
  }
  const Dossier next = MustSubmit(BirthRegistration("Lê Văn Tám"));
  EXPECT_EQ(next.code(), "000.31.01.H15-200106-0002");
}

TEST_F(DossierServiceTest, RetriedActionAfterLostResponseIsAppliedOnce) {
  const Dossier d = MustSubmit(BirthRegistration());
  HandOverDossierRequest hand_over;
  hand_over.set_code(d.code());
  hand_over.set_etag(d.etag());
  hand_over.set_request_id("handover-1");
  Dossier first, second;
  ASSERT_TRUE((Call<HandOverDossierRequest, HandOverDossierResponse>(
                   &DossierService::Stub::HandOverDossier, hand_over, &first)).ok());
  // The client never saw the answer and retries with the same etag and id.
  ASSERT_TRUE((Call<HandOverDossierRequest, HandOverDossierResponse>(
                   &DossierService::Stub::HandOverDossier, hand_over, &second)).ok());
  EXPECT_EQ(second.etag(), first.etag());
  Dossier stored;
  ASSERT_TRUE(Get(d.code(), &stored).ok());
  EXPECT_EQ(stored.history_size(), 2);
}

TEST_F(DossierServiceTest, IllegalActionNamesStatusAndAllowedActions) {
  const Dossier d = MustSubmit(BirthRegistration());
  ReturnResultRequest ret;
  ret.set_code(d.code());
  ret.set_etag(d.etag());
  ret.set_mode(RETURN_MODE_AT_DESK);
  const grpc::Status status = Call<ReturnResultRequest, ReturnResultResponse>(
      &DossierService::Stub::ReturnResult, ret, nullptr);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(), HasSubstr("RECEIVED"));
  EXPECT_THAT(status.error_message(), HasSubstr("hand_over"));
}

struct BadSubmission {
  const char* name;
  void (*mutate)(SubmitDossierRequest&);
  grpc::StatusCode code;
  const char* message;
};

TEST_F(DossierServiceTest, BadSubmissionsAreRefusedAndWriteNothing) {
  const BadSubmission cases[] = {
      {"empty name", [](SubmitDossierRequest& r) { r.mutable_applicant()->clear_full_name(); },
       grpc::StatusCode::INVALID_ARGUMENT, "applicant.full_name"},
      {"oversized name",
       [](SubmitDossierRequest& r) { r.mutable_applicant()->set_full_name(std::string(300, 'a')); },
       grpc::StatusCode::INVALID_ARGUMENT, "applicant.full_name"},
      {"unknown agency", [](SubmitDossierRequest& r) { r.set_receiving_agency_code("999.99.99.H99"); },
       grpc::StatusCode::NOT_FOUND, "999.99.99.H99"},
      {"unknown procedure", [](SubmitDossierRequest& r) { r.set_procedure_code("9.999999"); },
       grpc::StatusCode::NOT_FOUND, "9.999999"},
      {"wrong level", [](SubmitDossierRequest& r) { r.set_procedure_code(testing::kDistrictProcedure); },
       grpc::StatusCode::INVALID_ARGUMENT, "level"},
      {"no channel", [](SubmitDossierRequest& r) { r.clear_channel(); },
       grpc::StatusCode::INVALID_ARGUMENT, "channel"},
      {"control character", [](SubmitDossierRequest& r) { r.mutable_applicant()->set_full_name("Lan\x01"); },
       grpc::StatusCode::INVALID_ARGUMENT, "applicant.full_name"},
  };
  for (const BadSubmission& c : cases) {
    SCOPED_TRACE(c.name);
    SubmitDossierRequest request = BirthRegistration();
    c.mutate(request);
    const grpc::Status status = Submit(request, nullptr);
    EXPECT_EQ(status.error_code(), c.code) << status.error_message();
    EXPECT_THAT(status.error_message(), HasSubstr(c.message));
  }
  // Nothing was written: the first good submission still gets sequence 1.
  EXPECT_EQ(MustSubmit(BirthRegistration()).code(), "000.31.01.H15-200106-0001");
}

TEST_F(DossierServiceTest, UnknownCodeIsNotFoundAndEmptyCodeInvalid) {
  EXPECT_EQ(Get("000.31.01.H15-200106-9999", nullptr).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Get("", nullptr).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

ListDossiersResponse List(DossierService::Stub& stub, const ListDossiersRequest& request,
                          grpc::Status* status) {
  grpc::ClientContext context;
  ListDossiersResponse response;
  *status = stub.ListDossiers(&context, request, &response);
  return response;
}

TEST_F(DossierServiceTest, ListPagesThroughEveryDossierOnce) {
  for (int i = 0; i < 23; ++i) MustSubmit(BirthRegistration(absl::StrCat("Người ", i)));
  ListDossiersRequest request;
  request.set_page_size(10);
  std::set<std::string> seen;
  int pages = 0;
  while (true) {
    grpc::Status status;
    const ListDossiersResponse page = List(*dossiers_, request, &status);
    ASSERT_TRUE(status.ok()) << status.error_message();
    ++pages;
    for (const Dossier& d : page.dossiers()) {
      EXPECT_TRUE(seen.insert(d.code()).second) << "duplicate " << d.code();
      EXPECT_EQ(d.history_size(), 0);
    }
    if (page.next_page_token().empty()) break;
    request.set_page_token(page.next_page_token());
  }
  EXPECT_EQ(seen.size(), 23u);
  EXPECT_EQ(pages, 3);
}

TEST_F(DossierServiceTest, ListRejectsBadPageSizeAndForeignOrTamperedTokens) {
  for (int i = 0; i < 3; ++i) MustSubmit(BirthRegistration());
  grpc::Status status;
  ListDossiersRequest negative;
  negative.set_page_size(-1);
  List(*dossiers_, negative, &status);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  ListDossiersRequest first;
  first.set_page_size(1);
  const std::string token = List(*dossiers_, first, &status).next_page_token();
  ASSERT_FALSE(token.empty());

  ListDossiersRequest other_query = first;
  other_query.set_agency_code(testing::kOtherCommune);
  other_query.set_page_token(token);
  List(*dossiers_, other_query, &status);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  ListDossiersRequest tampered = first;
  std::string bad = token;
  bad[bad.size() / 2] = bad[bad.size() / 2] == 'A' ? 'B' : 'A';
  tampered.set_page_token(bad);
  List(*dossiers_, tampered, &status);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(DossierServiceTest, AdvancingPastTheDueDateMakesTheDossierOverdue) {
  const Dossier d = MustSubmit(BirthRegistration());  // due Thu 9/1/2020
  MustSubmit(BirthRegistration("Đã trả"));
  ListDossiersRequest overdue;
  overdue.set_overdue_only(true);
  grpc::Status status;
  EXPECT_EQ(List(*dossiers_, overdue, &status).dossiers_size(), 0);
  ASSERT_TRUE(clock_->SetTime(VnTime(2020, 1, 9, 16, 59)).ok());
  EXPECT_EQ(List(*dossiers_, overdue, &status).dossiers_size(), 0) << "due today is not overdue";
  ASSERT_TRUE(clock_->SetTime(VnTime(2020, 1, 10, 7, 0)).ok());
  const ListDossiersResponse late = List(*dossiers_, overdue, &status);
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(late.dossiers_size(), 2);
  Dossier stored;
  ASSERT_TRUE(Get(d.code(), &stored).ok());
  EXPECT_EQ(stored.timeliness(), TIMELINESS_OVERDUE);
}

TEST_F(DossierServiceTest, ControlledClockIsAnnouncedAndNeverMovesBack) {
  grpc::ClientContext context;
  GetClockResponse response;
  ASSERT_TRUE(admin_->GetClock(&context, GetClockRequest(), &response).ok());
  EXPECT_EQ(response.clock().mode(), CLOCK_MODE_CONTROLLED);
  EXPECT_EQ(FromProtoTime(response.clock().now()), VnTime(2020, 1, 6, 8, 0));
  const auto& headers = context.GetServerInitialMetadata();
  const auto it = headers.find("onestop-clock");
  ASSERT_NE(it, headers.end());
  EXPECT_EQ(std::string(it->second.data(), it->second.size()), "controlled");

  grpc::ClientContext set_context;
  SetClockRequest set;
  *set.mutable_time() = ToProtoTime(VnTime(2020, 1, 1, 0, 0));
  SetClockResponse set_response;
  const grpc::Status status = admin_->SetClock(&set_context, set, &set_response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(clock_->Now(), VnTime(2020, 1, 6, 8, 0));

  grpc::ClientContext advance_context;
  AdvanceClockRequest advance;
  advance.set_seconds(3600);
  AdvanceClockResponse advance_response;
  ASSERT_TRUE(admin_->AdvanceClock(&advance_context, advance, &advance_response).ok());
  EXPECT_EQ(FromProtoTime(advance_response.clock().now()), VnTime(2020, 1, 6, 9, 0));
}

TEST_F(DossierServiceTest, EverythingSurvivesARestart) {
  const Dossier d = MustSubmit(BirthRegistration("Hoàng Thị Ngọc Ánh"));
  HandOverDossierRequest hand_over;
  hand_over.set_code(d.code());
  hand_over.set_etag(d.etag());
  ASSERT_TRUE((Call<HandOverDossierRequest, HandOverDossierResponse>(
                   &DossierService::Stub::HandOverDossier, hand_over, nullptr)).ok());
  StopServer();
  StartServer();
  Dossier stored;
  ASSERT_TRUE(Get(d.code(), &stored).ok());
  EXPECT_EQ(stored.applicant().full_name(), "Hoàng Thị Ngọc Ánh");
  EXPECT_EQ(stored.status(), DOSSIER_STATUS_PROCESSING);
  EXPECT_EQ(stored.history_size(), 2);
  // The sequence continues after the restart.
  EXPECT_EQ(MustSubmit(BirthRegistration()).code(), "000.31.01.H15-200106-0002");
}

TEST_F(DossierServiceTest, CatalogueListsAgenciesAndProcedures) {
  grpc::ClientContext context;
  ListAgenciesResponse agencies;
  ASSERT_TRUE(catalogue_stub_->ListAgencies(&context, ListAgenciesRequest(), &agencies).ok());
  ASSERT_EQ(agencies.agencies_size(), 4);
  EXPECT_EQ(agencies.agencies(1).name(), "UBND huyện Lắk");
  grpc::ClientContext context2;
  ListProceduresRequest request;
  request.set_level("district");
  ListProceduresResponse procedures;
  ASSERT_TRUE(catalogue_stub_->ListProcedures(&context2, request, &procedures).ok());
  ASSERT_EQ(procedures.procedures_size(), 1);
  EXPECT_EQ(procedures.procedures(0).code(), testing::kDistrictProcedure);
}

// A store that keeps the answers of asynchronous creates until Release()
// (a fault double: a commit that is slow to answer). The writes themselves
// commit at once.
class HeldAnswersStore final : public storage::ForwardingDossierStore {
 public:
  using ForwardingDossierStore::ForwardingDossierStore;

  void CreateAsync(storage::CreateDossierWrite write, WriteDone done) override {
    base().CreateAsync(std::move(write), [this, done = std::move(done)](
                                             absl::StatusOr<Dossier> result) mutable {
      absl::MutexLock lock(&mu_);
      held_.push_back([done = std::move(done), result = std::move(result)]() mutable {
        std::move(done)(std::move(result));
      });
    });
  }
  // Waits until `n` answers are held.
  bool AwaitHeld(size_t n) {
    absl::MutexLock lock(&mu_);
    auto enough = [this, n] { return held_.size() >= n; };
    return mu_.AwaitWithTimeout(absl::Condition(&enough), absl::Seconds(30));
  }
  void Release() {
    std::vector<absl::AnyInvocable<void() &&>> held;
    {
      absl::MutexLock lock(&mu_);
      held.swap(held_);
    }
    for (auto& answer : held) std::move(answer)();
  }

 private:
  absl::Mutex mu_;
  std::vector<absl::AnyInvocable<void() &&>> held_ ABSL_GUARDED_BY(mu_);
};

TEST(DossierManagerAsyncTest, WritesBeyondTheLimitBlockInsteadOfQueuing) {
  auto catalogue = config::LoadConfigText(testing::kTestConfig, "test.textproto");
  ASSERT_TRUE(catalogue.ok()) << catalogue.status();
  ControlledClock clock(VnTime(2020, 1, 6, 8, 0), SystemClock::Get());
  auto sqlite = storage::SqliteDossierStore::Open({.path = ":memory:"});
  ASSERT_TRUE(sqlite.ok()) << sqlite.status();
  HeldAnswersStore store(sqlite->get());
  std::unique_ptr<service::Handoff> handoff;  // destroyed after the executor joined
  service::Executor executor(service::ExecutorOptions{.threads = 2});
  handoff = std::make_unique<service::Handoff>(&executor);
  service::DossierManagerOptions options;
  options.handoff = handoff.get();
  options.max_async_writes = 1;
  service::DossierManager manager(&store, *catalogue, &clock, options);

  const SubmitDossierRequest request = BirthRegistration();

  struct Answer {
    absl::Notification done;
    absl::StatusOr<Dossier> result = absl::UnknownError("not answered");
    std::thread::id thread;
  };
  auto submit = [&](Answer& answer) {
    manager.SubmitAsync(request, "", "canbo", [&answer](absl::StatusOr<Dossier> result) {
      answer.result = std::move(result);
      answer.thread = std::this_thread::get_id();
      answer.done.Notify();
    });
  };

  Answer first;
  submit(first);  // takes the one reservation; its answer is held
  ASSERT_FALSE(first.done.HasBeenNotified()) << first.result.status();
  ASSERT_TRUE(store.AwaitHeld(1));
  EXPECT_FALSE(first.done.HasBeenNotified());

  Answer second;
  submit(second);  // beyond the limit: the blocking path, answered here
  ASSERT_TRUE(second.done.HasBeenNotified());
  EXPECT_EQ(second.thread, std::this_thread::get_id());
  ASSERT_TRUE(second.result.ok()) << second.result.status();
  EXPECT_EQ(second.result->code(), "000.31.01.H15-200106-0002");

  store.Release();  // the first answer reaches its continuation on the executor
  ASSERT_TRUE(first.done.WaitForNotificationWithTimeout(absl::Seconds(30)));
  EXPECT_NE(first.thread, std::this_thread::get_id());
  ASSERT_TRUE(first.result.ok()) << first.result.status();
  EXPECT_EQ(first.result->code(), "000.31.01.H15-200106-0001");

  Answer third;
  submit(third);  // the reservation came back with the answer: asynchronous again
  ASSERT_TRUE(store.AwaitHeld(1));
  EXPECT_FALSE(third.done.HasBeenNotified());
  store.Release();
  ASSERT_TRUE(third.done.WaitForNotificationWithTimeout(absl::Seconds(30)));
  EXPECT_THAT(third.result, ::testing::Property(&absl::StatusOr<Dossier>::ok, true));
}

// What a handler on gRPC's thread may start (TrySubmitWithoutWaiting,
// TryActWithoutWaiting): only what waits for nothing. Anything else is
// left untouched (no authorization, no answer) for the executor.
TEST(DossierManagerAsyncTest, TryWithoutWaitingStartsOnlyWhatNeedsNoRead) {
  auto catalogue = config::LoadConfigText(testing::kTestConfig, "test.textproto");
  ASSERT_TRUE(catalogue.ok()) << catalogue.status();
  ControlledClock clock(VnTime(2020, 1, 6, 8, 0), SystemClock::Get());
  auto sqlite = storage::SqliteDossierStore::Open({.path = ":memory:"});
  ASSERT_TRUE(sqlite.ok()) << sqlite.status();
  std::unique_ptr<service::Handoff> handoff;  // destroyed after the executor joined
  service::Executor executor(service::ExecutorOptions{.threads = 2});
  handoff = std::make_unique<service::Handoff>(&executor);
  service::DossierManagerOptions options;
  options.handoff = handoff.get();
  service::DossierManager manager(sqlite->get(), *catalogue, &clock, options);

  struct Answer {
    absl::Notification done;
    absl::StatusOr<Dossier> result = absl::UnknownError("not answered");
  };
  auto answer_to = [](Answer& answer) -> service::DossierManager::WriteDone {
    return [&answer](absl::StatusOr<Dossier> result) {
      answer.result = std::move(result);
      answer.done.Notify();
    };
  };
  auto awaited = [](Answer& answer) -> absl::StatusOr<Dossier> {
    if (!answer.done.WaitForNotificationWithTimeout(absl::Seconds(30))) {
      return absl::DeadlineExceededError("no answer");
    }
    return answer.result;
  };

  // A request_id means a replay read: not started, `done` kept.
  SubmitDossierRequest with_id = BirthRegistration();
  with_id.set_request_id("retry-1");
  Answer refused;
  service::DossierManager::WriteDone kept = answer_to(refused);
  EXPECT_FALSE(manager.TrySubmitWithoutWaiting(with_id, "fp", "canbo", kept));
  ASSERT_TRUE(static_cast<bool>(kept));
  EXPECT_FALSE(refused.done.HasBeenNotified());

  Answer submitted;
  service::DossierManager::WriteDone submit_done = answer_to(submitted);
  ASSERT_TRUE(manager.TrySubmitWithoutWaiting(BirthRegistration(), "fp", "canbo", submit_done));
  absl::StatusOr<Dossier> d = awaited(submitted);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->code(), "000.31.01.H15-200106-0001");  // the refused one wrote nothing

  service::ActionCommand hand_over;
  hand_over.code = d->code();
  hand_over.etag = d->etag();
  hand_over.action.kind = ACTION_KIND_HAND_OVER;
  int authorized = 0;
  auto authorize = [&](const Dossier&) {
    ++authorized;
    return absl::OkStatus();
  };
  // Only updated dossiers are kept in memory: a new one needs a read.
  Answer not_started;
  service::DossierManager::WriteDone act_done = answer_to(not_started);
  EXPECT_FALSE(manager.TryActWithoutWaiting(hand_over, "canbo", authorize, act_done));
  EXPECT_EQ(authorized, 0);
  ASSERT_TRUE(static_cast<bool>(act_done));
  Answer handed;
  manager.ActAsync(hand_over, "canbo", authorize, answer_to(handed));
  d = awaited(handed);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(authorized, 1);

  // Now in memory: started here, authorized once, answered like ActAsync.
  service::ActionCommand decide;
  decide.code = d->code();
  decide.etag = d->etag();
  decide.action.kind = ACTION_KIND_RECORD_DECISION;
  decide.action.outcome = DECISION_OUTCOME_APPROVED;
  decide.request_id = "decide-1";
  EXPECT_FALSE(manager.TryActWithoutWaiting(decide, "canbo", authorize, act_done));
  EXPECT_EQ(authorized, 1);
  decide.request_id.clear();
  Answer decided;
  service::DossierManager::WriteDone decide_done = answer_to(decided);
  ASSERT_TRUE(manager.TryActWithoutWaiting(decide, "canbo", authorize, decide_done));
  d = awaited(decided);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(authorized, 2);
  EXPECT_EQ(d->history_size(), 3);
  // A stale etag is answered at once, on the calling thread.
  Answer stale;
  service::DossierManager::WriteDone stale_done = answer_to(stale);
  ASSERT_TRUE(manager.TryActWithoutWaiting(decide, "canbo", authorize, stale_done));
  ASSERT_TRUE(stale.done.HasBeenNotified());
  EXPECT_EQ(stale.result.status().code(), absl::StatusCode::kAborted);

  // No room for another asynchronous write, or a store whose asynchronous
  // writes run on the caller: not started.
  service::DossierManagerOptions full = options;
  full.max_async_writes = 0;
  service::DossierManager saturated(sqlite->get(), *catalogue, &clock, full);
  EXPECT_FALSE(saturated.TrySubmitWithoutWaiting(BirthRegistration(), "fp", "canbo", kept));
  storage::ForwardingDossierStore writes_on_caller(sqlite->get());
  service::DossierManager blocking(&writes_on_caller, *catalogue, &clock, options);
  EXPECT_FALSE(blocking.TrySubmitWithoutWaiting(BirthRegistration(), "fp", "canbo", kept));
  // A miss in memory gives its reservation back: with room for one
  // asynchronous write, a submission still starts after it.
  service::DossierManagerOptions one = options;
  one.max_async_writes = 1;
  service::DossierManager single(sqlite->get(), *catalogue, &clock, one);
  absl::StatusOr<Dossier> fresh = single.Submit(BirthRegistration(), "", "canbo");
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  hand_over.code = fresh->code();
  hand_over.etag = fresh->etag();
  EXPECT_FALSE(single.TryActWithoutWaiting(hand_over, "canbo", authorize, kept));
  Answer after_miss;
  service::DossierManager::WriteDone after_miss_done = answer_to(after_miss);
  ASSERT_TRUE(single.TrySubmitWithoutWaiting(BirthRegistration(), "fp", "canbo", after_miss_done));
  EXPECT_TRUE(awaited(after_miss).ok()) << after_miss.result.status();
  ASSERT_TRUE(static_cast<bool>(kept));
  EXPECT_FALSE(refused.done.HasBeenNotified());
}

// A store whose reads, once Close()d, wait until Open(): GetDossier calls
// then hold the executor's threads. Its writes and the dossiers it holds in
// memory stay the base's; it counts the writes its base answered.
class GatedReadsStore final : public storage::ForwardingDossierStore {
 public:
  using ForwardingDossierStore::ForwardingDossierStore;

  absl::StatusOr<Dossier> Get(const std::string& code) override {
    {
      absl::MutexLock lock(&mu_);
      if (closed_) {
        ++waiting_;
        mu_.Await(absl::Condition(+[](bool* closed) { return !*closed; }, &closed_));
      }
    }
    return base().Get(code);
  }
  std::optional<Dossier> GetFromMemory(const std::string& code) override {
    return base().GetFromMemory(code);
  }
  void CreateAsync(storage::CreateDossierWrite write, WriteDone done) override {
    base().CreateAsync(std::move(write), Counted(std::move(done)));
  }
  void UpdateAsync(storage::UpdateDossierWrite write, WriteDone done) override {
    base().UpdateAsync(std::move(write), Counted(std::move(done)));
  }
  bool QueuesAsyncWrites() const override { return base().QueuesAsyncWrites(); }

  void Close() {
    absl::MutexLock lock(&mu_);
    closed_ = true;
  }
  void Open() {
    absl::MutexLock lock(&mu_);
    closed_ = false;
  }
  // Wait (up to 30 s) until `n` reads wait at the gate / `n` writes were
  // answered; false on the timeout.
  bool AwaitWaiting(int n) { return AwaitAtLeast(&waiting_, n); }
  bool AwaitAnswered(int n) { return AwaitAtLeast(&answered_, n); }
  int waiting() {
    absl::MutexLock lock(&mu_);
    return waiting_;
  }
  int answered() {
    absl::MutexLock lock(&mu_);
    return answered_;
  }

 private:
  WriteDone Counted(WriteDone done) {
    return [this, done = std::move(done)](absl::StatusOr<Dossier> result) mutable {
      {
        absl::MutexLock lock(&mu_);
        ++answered_;
      }
      std::move(done)(std::move(result));
    };
  }
  bool AwaitAtLeast(const int* count, int n) {
    absl::MutexLock lock(&mu_);
    auto reached = [count, n] { return *count >= n; };
    return mu_.AwaitWithTimeout(absl::Condition(&reached), absl::Seconds(30));
  }

  absl::Mutex mu_;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  int waiting_ ABSL_GUARDED_BY(mu_) = 0;
  int answered_ ABSL_GUARDED_BY(mu_) = 0;
};

// With the executor's only thread held, a call that needs the executor
// waits in its queue, but a submission by a token in memory, and an action
// on a dossier in memory, start on gRPC's thread: their writes commit at
// once, and their answers follow once the thread is free
// (docs/PERFORMANCE.md, "Calls started on gRPC's thread").
TEST(DossierServiceStartTest, CallsThatNeedNoReadStartWithoutTheExecutor) {
  auto catalogue = config::LoadConfigText(testing::kTestConfig, "test.textproto");
  ASSERT_TRUE(catalogue.ok()) << catalogue.status();
  ControlledClock clock(VnTime(2020, 1, 6, 8, 0), SystemClock::Get());
  testing::TempDir dir;
  auto sqlite = storage::SqliteDossierStore::Open({.path = dir.File("onestop.db")});
  ASSERT_TRUE(sqlite.ok()) << sqlite.status();
  GatedReadsStore gated(sqlite->get());
  auto auth = testing::MustOpenTestAuth(dir.File("onestop.db"), sqlite->get());
  const std::string token = testing::MustToken(auth->AllRolesToken(**catalogue, "clerk.lienson"));
  service::ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.executor.threads = 1;
  testing::UseInsecureLoopback(options);
  service::ServerDependencies deps;
  deps.store = &gated;
  deps.catalogue = *catalogue;
  deps.clock = &clock;
  deps.controlled_clock = &clock;
  deps.security_store = auth->store();
  auto server = service::OnestopServer::Start(options, deps);
  ASSERT_TRUE(server.ok()) << server.status();
  auto stub = DossierService::NewStub(testing::AuthorizedChannel((*server)->address(), token));
  auto deadline = [] { return std::chrono::system_clock::now() + std::chrono::seconds(30); };
  auto submit = [&](const SubmitDossierRequest& request, Dossier* out) {
    grpc::ClientContext context;
    context.set_deadline(deadline());
    SubmitDossierResponse response;
    grpc::Status status = stub->SubmitDossier(&context, request, &response);
    *out = response.dossier();
    return status;
  };
  auto decide = [&](const Dossier& current, Dossier* out) {
    grpc::ClientContext context;
    context.set_deadline(deadline());
    RecordDecisionRequest request;
    request.set_code(current.code());
    request.set_etag(current.etag());
    request.set_outcome(DECISION_OUTCOME_APPROVED);
    RecordDecisionResponse response;
    grpc::Status status = stub->RecordDecision(&context, request, &response);
    *out = response.dossier();
    return status;
  };
  auto last_revision = [&] { return (*sqlite)->LastRevision().value_or(-1); };

  // Before the gate: the token is looked up, and the first dossier handed
  // over (an updated dossier is kept in memory; a new one is not).
  Dossier first;
  ASSERT_TRUE(submit(BirthRegistration(), &first).ok());
  {
    grpc::ClientContext context;
    HandOverDossierRequest request;
    request.set_code(first.code());
    request.set_etag(first.etag());
    HandOverDossierResponse response;
    ASSERT_TRUE(stub->HandOverDossier(&context, request, &response).ok());
    first = response.dossier();
  }
  ASSERT_EQ(last_revision(), 2);
  ASSERT_EQ(gated.answered(), 2);

  // A read holds the executor's only thread at the gate.
  std::vector<std::thread> callers;
  absl::Cleanup release = [&] {
    gated.Open();
    for (std::thread& caller : callers) caller.join();
  };
  gated.Close();
  grpc::Status read_status;
  callers.emplace_back([&] {
    grpc::ClientContext context;
    GetDossierRequest request;
    request.set_code(first.code());
    GetDossierResponse response;
    read_status = stub->GetDossier(&context, request, &response);
  });
  ASSERT_TRUE(gated.AwaitWaiting(1));

  // With a request_id (a replay read) the submission waits for the
  // executor; without one it starts here and commits, and so does the
  // decision on the dossier in memory.
  SubmitDossierRequest with_id = BirthRegistration("Y Bhim Niê");
  with_id.set_request_id("needs-the-executor");
  Dossier queued, started, decided;
  grpc::Status queued_status, started_status, decided_status;
  callers.emplace_back([&] { queued_status = submit(with_id, &queued); });
  callers.emplace_back([&] { started_status = submit(BirthRegistration(), &started); });
  callers.emplace_back([&] { decided_status = decide(first, &decided); });
  EXPECT_TRUE(gated.AwaitAnswered(4)) << "the calls did not start while the executor was held";
  EXPECT_EQ(gated.answered(), 4);
  EXPECT_EQ(last_revision(), 4);
  EXPECT_EQ(gated.waiting(), 1);

  std::move(release).Invoke();
  ASSERT_TRUE(started_status.ok()) << started_status.error_message();
  ASSERT_TRUE(decided_status.ok()) << decided_status.error_message();
  ASSERT_TRUE(queued_status.ok()) << queued_status.error_message();
  EXPECT_TRUE(read_status.ok()) << read_status.error_message();
  EXPECT_EQ(started.code(), "000.31.01.H15-200106-0002");  // committed before the queued one
  EXPECT_EQ(queued.code(), "000.31.01.H15-200106-0003");
  EXPECT_EQ(queued.applicant().full_name(), "Y Bhim Niê");
  EXPECT_EQ(decided.history_size(), 3);
  EXPECT_EQ(decided.history(2).actor(), "clerk.lienson");
  EXPECT_EQ(last_revision(), 5);
  (*server)->Shutdown(absl::Seconds(5));
}

}  // namespace
}  // namespace onestop
