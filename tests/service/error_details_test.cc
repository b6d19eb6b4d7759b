// Issue #6: every error reachable through DossierService carries
// google.rpc.Status details — ErrorInfo with a stable reason, BadRequest or
// PreconditionFailure naming the field or subject at fault, and a
// Vietnamese LocalizedMessage. One table row per error path, each run
// against a fresh in-process server over a real SQLite file.
#include <grpcpp/grpcpp.h>
#include <grpcpp/support/error_details.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "onestop/v1/dossier_service.grpc.pb.h"
#include "server/config/config_loader.h"
#include "server/service/onestop_server.h"
#include "server/util/clock.h"
#include "server/util/proto_time.h"
#include "storage/sqlite/sqlite_dossier_store.h"
#include "tests/testing/test_auth.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_config.h"

namespace onestop {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using namespace onestop::v1;  // NOLINT

// An agency closed and a procedure withdrawn before the test's 2020 dates.
constexpr char kExtraConfig[] = R"pb(
  agencies {
    code: "000.31.09.H15" name: "UBND xã Cũ" level: "commune" parent_code: "000.00.31.H15"
    valid_to { year: 2019 month: 12 day: 31 }
  }
  procedures {
    code: "1.000001" name: "Thủ tục đã bãi bỏ" level: "commune"
    deadline { amount: 3 unit: DEADLINE_UNIT_WORKING_DAYS }
    valid_to { year: 2019 month: 12 day: 31 }
  }
)pb";
constexpr char kClosedCommune[] = "000.31.09.H15";
constexpr char kWithdrawnProcedure[] = "1.000001";

absl::Time VnTime(int y, int m, int d, int hh, int mm) {
  return absl::FromCivil(absl::CivilMinute(y, m, d, hh, mm), absl::FixedTimeZone(7 * 3600));
}

// What a row expects: the code, ErrorInfo.reason, and either the field of
// the first field violation or the subject of the first precondition
// violation ("" for neither).
struct Expected {
  grpc::StatusCode code;
  std::string reason;
  std::string field;
  std::string subject;
};

class World;

struct Case {
  std::string name;
  // Runs the failing call; may set `expected.subject` once the dossier code
  // is known.
  std::function<grpc::Status(World&, Expected&)> run;
  Expected expected;
};

class World {
 public:
  explicit World(std::shared_ptr<const core::Catalogue> catalogue) : catalogue_(catalogue) {}

  bool Start() {
    clock_ = std::make_unique<ControlledClock>(VnTime(2020, 1, 6, 8, 0), SystemClock::Get());
    storage::SqliteOptions store_options;
    store_options.path = dir_.File("onestop.db");
    auto store = storage::SqliteDossierStore::Open(store_options);
    if (!store.ok()) return false;
    store_ = std::move(*store);
    service::ServerOptions options;
    options.listen = "127.0.0.1:0";
    testing::UseInsecureLoopback(options);
    service::ServerDependencies deps;
    deps.store = store_.get();
    deps.catalogue = catalogue_;
    deps.clock = clock_.get();
    deps.controlled_clock = clock_.get();
    auth_ = testing::MustOpenTestAuth(dir_.File("onestop.db"));
    deps.security_store = auth_->store();
    if (token_.empty()) token_ = testing::MustToken(auth_->AllRolesToken(*deps.catalogue, "tester"));
    auto server = service::OnestopServer::Start(options, deps);
    if (!server.ok()) return false;
    server_ = std::move(*server);
    stub_ = DossierService::NewStub(
        testing::AuthorizedChannel(server_->address(), token_));
    return true;
  }

  ~World() {
    if (server_) server_->Shutdown(absl::Seconds(5));
  }

  ControlledClock& clock() { return *clock_; }
  DossierService::Stub& stub() { return *stub_; }

  static SubmitDossierRequest Birth(bool receive_now = true) {
    SubmitDossierRequest request;
    request.set_procedure_code(testing::kCommuneProcedure);
    request.set_receiving_agency_code(testing::kCommune);
    request.mutable_applicant()->set_full_name("Nguyễn Thị Hằng");
    request.set_channel(CHANNEL_DIRECT);
    request.add_documents()->set_name("Tờ khai đăng ký khai sinh");
    request.set_receive_now(receive_now);
    return request;
  }

  grpc::Status Submit(const SubmitDossierRequest& request, Dossier* out = nullptr) {
    grpc::ClientContext context;
    SubmitDossierResponse response;
    grpc::Status status = stub_->SubmitDossier(&context, request, &response);
    if (out != nullptr) *out = response.dossier();
    return status;
  }

  // Submits a birth registration; the dossier is valid only if it worked.
  Dossier MustSubmit(bool receive_now = true) {
    Dossier dossier;
    const grpc::Status status = Submit(Birth(receive_now), &dossier);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return dossier;
  }

  // Calls one action RPC on `request` (code and etag already set).
  template <typename Response, typename Request, typename Method>
  grpc::Status Act(Method method, const Request& request, Dossier* out = nullptr) {
    grpc::ClientContext context;
    Response response;
    grpc::Status status = ((*stub_).*method)(&context, request, &response);
    if (out != nullptr && status.ok()) *out = response.dossier();
    return status;
  }

  template <typename Request>
  static Request For(const Dossier& dossier) {
    Request request;
    request.set_code(dossier.code());
    request.set_etag(dossier.etag());
    return request;
  }

  grpc::Status HandOver(const Dossier& dossier, Dossier* out = nullptr) {
    return Act<HandOverDossierResponse>(&DossierService::Stub::HandOverDossier,
                                        For<HandOverDossierRequest>(dossier), out);
  }

  grpc::Status Decide(const Dossier& dossier, Dossier* out = nullptr) {
    auto request = For<RecordDecisionRequest>(dossier);
    request.set_outcome(DECISION_OUTCOME_APPROVED);
    return Act<RecordDecisionResponse>(&DossierService::Stub::RecordDecision, request, out);
  }

  grpc::Status Get(const std::string& code) {
    grpc::ClientContext context;
    GetDossierRequest request;
    request.set_code(code);
    GetDossierResponse response;
    return stub_->GetDossier(&context, request, &response);
  }

  grpc::Status List(const ListDossiersRequest& request, ListDossiersResponse* out = nullptr) {
    grpc::ClientContext context;
    ListDossiersResponse response;
    grpc::Status status = stub_->ListDossiers(&context, request, &response);
    if (out != nullptr) *out = response;
    return status;
  }

 private:
  std::shared_ptr<const core::Catalogue> catalogue_;
  testing::TempDir dir_;
  std::unique_ptr<ControlledClock> clock_;
  std::unique_ptr<storage::SqliteDossierStore> store_;
  std::unique_ptr<testing::TestAuth> auth_;
  std::string token_;
  std::unique_ptr<service::OnestopServer> server_;
  std::unique_ptr<DossierService::Stub> stub_;
};

Expected Field(grpc::StatusCode code, std::string reason, std::string field) {
  return {code, std::move(reason), std::move(field), ""};
}
// The subject is filled in by the row once the dossier exists.
Expected Subject(grpc::StatusCode code, std::string reason) {
  return {code, std::move(reason), "", "?"};
}
Expected Subject(grpc::StatusCode code, std::string reason, std::string subject) {
  return {code, std::move(reason), "", std::move(subject)};
}

std::string SubjectOf(const Dossier& d) { return absl::StrCat("dossier/", d.code()); }

std::vector<Case> Cases() {
  using C = grpc::StatusCode;
  std::vector<Case> cases;
  const auto add = [&](std::string name, Expected expected,
                       std::function<grpc::Status(World&, Expected&)> run) {
    cases.push_back({std::move(name), std::move(run), std::move(expected)});
  };

  // --- Reading one dossier.
  add("GetUnknownCode", Field(C::NOT_FOUND, "DOSSIER_NOT_FOUND", "code"),
      [](World& w, Expected&) { return w.Get("000.31.01.H15-200106-9999"); });
  add("GetEmptyCode", Field(C::INVALID_ARGUMENT, "FIELD_INVALID", "code"),
      [](World& w, Expected&) { return w.Get(""); });
  add("GetCodeWithNewline", Field(C::INVALID_ARGUMENT, "FIELD_INVALID", "code"),
      [](World& w, Expected&) { return w.Get("H15\n1"); });

  // --- SubmitDossier input.
  add("SubmitWithoutName", Field(C::INVALID_ARGUMENT, "FIELD_INVALID", "applicant.full_name"),
      [](World& w, Expected&) {
        auto r = World::Birth();
        r.mutable_applicant()->clear_full_name();
        return w.Submit(r);
      });
  add("SubmitControlCharInSummary", Field(C::INVALID_ARGUMENT, "FIELD_INVALID", "summary"),
      [](World& w, Expected&) {
        auto r = World::Birth();
        r.set_summary("khai\x01sinh");
        return w.Submit(r);
      });
  add("SubmitWithoutChannel", Field(C::INVALID_ARGUMENT, "FIELD_INVALID", "channel"),
      [](World& w, Expected&) {
        auto r = World::Birth();
        r.clear_channel();
        return w.Submit(r);
      });
  add("SubmitNegativeCopies", Field(C::INVALID_ARGUMENT, "FIELD_INVALID", "documents[0].copies"),
      [](World& w, Expected&) {
        auto r = World::Birth();
        r.mutable_documents(0)->set_copies(-2);
        return w.Submit(r);
      });
  add("SubmitUnnamedDocument", Field(C::INVALID_ARGUMENT, "FIELD_INVALID", "documents[0].name"),
      [](World& w, Expected&) {
        auto r = World::Birth();
        r.mutable_documents(0)->clear_name();
        return w.Submit(r);
      });
  add("SubmitWithoutProcedure", Field(C::INVALID_ARGUMENT, "FIELD_INVALID", "procedure_code"),
      [](World& w, Expected&) {
        auto r = World::Birth();
        r.clear_procedure_code();
        return w.Submit(r);
      });
  add("SubmitLongRequestId", Field(C::INVALID_ARGUMENT, "FIELD_INVALID", "request_id"),
      [](World& w, Expected&) {
        auto r = World::Birth();
        r.set_request_id(std::string(200, 'x'));
        return w.Submit(r);
      });
  add("SubmitUnknownAgency",
      Field(C::NOT_FOUND, "AGENCY_NOT_FOUND", "receiving_agency_code"),
      [](World& w, Expected&) {
        auto r = World::Birth();
        r.set_receiving_agency_code("000.99.99.H15");
        return w.Submit(r);
      });
  add("SubmitUnknownProcedure", Field(C::NOT_FOUND, "PROCEDURE_NOT_FOUND", "procedure_code"),
      [](World& w, Expected&) {
        auto r = World::Birth();
        r.set_procedure_code("9.999999");
        return w.Submit(r);
      });
  add("SubmitWrongLevel",
      Field(C::INVALID_ARGUMENT, "PROCEDURE_LEVEL_MISMATCH", "receiving_agency_code"),
      [](World& w, Expected&) {
        auto r = World::Birth();
        r.set_procedure_code(testing::kDistrictProcedure);
        return w.Submit(r);
      });
  add("SubmitToClosedAgency",
      Subject(C::FAILED_PRECONDITION, "AGENCY_NOT_VALID_ON_DAY",
              absl::StrCat("agency/", kClosedCommune)),
      [](World& w, Expected&) {
        auto r = World::Birth();
        r.set_receiving_agency_code(kClosedCommune);
        return w.Submit(r);
      });
  add("SubmitWithdrawnProcedure",
      Subject(C::FAILED_PRECONDITION, "PROCEDURE_NOT_OFFERED_ON_DAY",
              absl::StrCat("procedure/", kWithdrawnProcedure)),
      [](World& w, Expected&) {
        auto r = World::Birth();
        r.set_procedure_code(kWithdrawnProcedure);
        return w.Submit(r);
      });

  // --- Transitions.
  add("HandOverNewDossier", Subject(C::FAILED_PRECONDITION, "ILLEGAL_TRANSITION"),
      [](World& w, Expected& e) {
        const Dossier d = w.MustSubmit(/*receive_now=*/false);
        e.subject = SubjectOf(d);
        return w.HandOver(d);
      });
  add("AcceptRefusedDossier", Subject(C::FAILED_PRECONDITION, "ILLEGAL_TRANSITION"),
      [](World& w, Expected& e) {
        Dossier d = w.MustSubmit(false);
        e.subject = SubjectOf(d);
        auto refuse = World::For<RefuseDossierRequest>(d);
        refuse.set_reason("Không thuộc thẩm quyền");
        EXPECT_TRUE(
            w.Act<RefuseDossierResponse>(&DossierService::Stub::RefuseDossier, refuse, &d).ok());
        return w.Act<AcceptDossierResponse>(&DossierService::Stub::AcceptDossier,
                                            World::For<AcceptDossierRequest>(d));
      });
  add("RefuseWithoutReason", Field(C::INVALID_ARGUMENT, "FIELD_INVALID", "reason"),
      [](World& w, Expected&) {
        const Dossier d = w.MustSubmit(false);
        return w.Act<RefuseDossierResponse>(&DossierService::Stub::RefuseDossier,
                                            World::For<RefuseDossierRequest>(d));
      });
  add("SupplementWithoutItems", Field(C::INVALID_ARGUMENT, "FIELD_INVALID", "missing_items"),
      [](World& w, Expected&) {
        const Dossier d = w.MustSubmit(false);
        return w.Act<RequestSupplementResponse>(&DossierService::Stub::RequestSupplement,
                                                World::For<RequestSupplementRequest>(d));
      });
  add("SecondSupplementAtReception", Subject(C::FAILED_PRECONDITION, "ONCE_ONLY_RULE"),
      [](World& w, Expected& e) {
        Dossier d = w.MustSubmit(false);
        e.subject = SubjectOf(d);
        auto ask = World::For<RequestSupplementRequest>(d);
        ask.add_missing_items("Giấy chứng sinh");
        EXPECT_TRUE(
            w.Act<RequestSupplementResponse>(&DossierService::Stub::RequestSupplement, ask, &d)
                .ok());
        auto supply = World::For<SupplyDocumentsRequest>(d);
        supply.add_documents()->set_name("Giấy chứng sinh");
        EXPECT_TRUE(
            w.Act<SupplyDocumentsResponse>(&DossierService::Stub::SupplyDocuments, supply, &d)
                .ok());
        ask = World::For<RequestSupplementRequest>(d);
        ask.add_missing_items("Sổ hộ khẩu");
        return w.Act<RequestSupplementResponse>(&DossierService::Stub::RequestSupplement, ask);
      });
  add("SecondDecision", Subject(C::FAILED_PRECONDITION, "ONCE_ONLY_RULE"),
      [](World& w, Expected& e) {
        Dossier d = w.MustSubmit();
        e.subject = SubjectOf(d);
        EXPECT_TRUE(w.HandOver(d, &d).ok());
        EXPECT_TRUE(w.Decide(d, &d).ok());
        return w.Decide(d);
      });
  add("ResultReadyWithoutDecision", Subject(C::FAILED_PRECONDITION, "STEP_ORDER_RULE"),
      [](World& w, Expected& e) {
        Dossier d = w.MustSubmit();
        e.subject = SubjectOf(d);
        EXPECT_TRUE(w.HandOver(d, &d).ok());
        return w.Act<MarkResultReadyResponse>(&DossierService::Stub::MarkResultReady,
                                              World::For<MarkResultReadyRequest>(d));
      });
  add("DecisionWithoutOutcome", Field(C::INVALID_ARGUMENT, "FIELD_INVALID", "outcome"),
      [](World& w, Expected&) {
        Dossier d = w.MustSubmit();
        EXPECT_TRUE(w.HandOver(d, &d).ok());
        return w.Act<RecordDecisionResponse>(&DossierService::Stub::RecordDecision,
                                             World::For<RecordDecisionRequest>(d));
      });
  add("HandOverToUnknownAgency", Field(C::NOT_FOUND, "AGENCY_NOT_FOUND", "to_agency_code"),
      [](World& w, Expected&) {
        const Dossier d = w.MustSubmit();
        auto r = World::For<HandOverDossierRequest>(d);
        r.set_to_agency_code("000.99.99.H15");
        return w.Act<HandOverDossierResponse>(&DossierService::Stub::HandOverDossier, r);
      });
  add("HandOverToClosedAgency",
      Subject(C::FAILED_PRECONDITION, "AGENCY_NOT_VALID_ON_DAY",
              absl::StrCat("agency/", kClosedCommune)),
      [](World& w, Expected&) {
        const Dossier d = w.MustSubmit();
        auto r = World::For<HandOverDossierRequest>(d);
        r.set_to_agency_code(kClosedCommune);
        return w.Act<HandOverDossierResponse>(&DossierService::Stub::HandOverDossier, r);
      });
  add("RescheduleWithoutNewTime", Field(C::INVALID_ARGUMENT, "FIELD_INVALID", "new_due_time"),
      [](World& w, Expected&) {
        const Dossier d = w.MustSubmit();
        auto r = World::For<RescheduleDossierRequest>(d);
        r.set_reason("Cần xác minh thêm");
        return w.Act<RescheduleDossierResponse>(&DossierService::Stub::RescheduleDossier, r);
      });
  add("RescheduleOnDueDay", Subject(C::FAILED_PRECONDITION, "RESCHEDULE_TOO_LATE"),
      [](World& w, Expected& e) {
        const Dossier d = w.MustSubmit();  // due Thursday 2020-01-09
        e.subject = SubjectOf(d);
        EXPECT_TRUE(w.clock().SetTime(VnTime(2020, 1, 9, 9, 0)).ok());
        auto r = World::For<RescheduleDossierRequest>(d);
        r.set_reason("Cần xác minh thêm");
        *r.mutable_new_due_time() = ToProtoTime(VnTime(2020, 1, 15, 17, 0));
        return w.Act<RescheduleDossierResponse>(&DossierService::Stub::RescheduleDossier, r);
      });

  // --- Concurrency and idempotency.
  add("StaleEtag", Subject(C::ABORTED, "ETAG_MISMATCH", ""), [](World& w, Expected&) {
    Dossier d = w.MustSubmit();
    const Dossier stale = d;
    EXPECT_TRUE(w.HandOver(d, &d).ok());
    return w.HandOver(stale);
  });
  add("MissingEtag", Field(C::INVALID_ARGUMENT, "FIELD_INVALID", "etag"),
      [](World& w, Expected&) {
        const Dossier d = w.MustSubmit();
        auto r = World::For<HandOverDossierRequest>(d);
        r.clear_etag();
        return w.Act<HandOverDossierResponse>(&DossierService::Stub::HandOverDossier, r);
      });
  add("ReusedRequestId", Field(C::INVALID_ARGUMENT, "REQUEST_ID_REUSED", "request_id"),
      [](World& w, Expected&) {
        auto first = World::Birth();
        first.set_request_id("desk-1-0001");
        EXPECT_TRUE(w.Submit(first).ok());
        auto second = first;
        second.mutable_applicant()->set_full_name("Trần Văn Bình");
        return w.Submit(second);
      });
  add("RequestIdWithSpace", Field(C::INVALID_ARGUMENT, "FIELD_INVALID", "request_id"),
      [](World& w, Expected&) {
        const Dossier d = w.MustSubmit();
        auto r = World::For<HandOverDossierRequest>(d);
        r.set_request_id("desk 1");
        return w.Act<HandOverDossierResponse>(&DossierService::Stub::HandOverDossier, r);
      });

  // --- Listing.
  add("NegativePageSize", Field(C::INVALID_ARGUMENT, "FIELD_INVALID", "page_size"),
      [](World& w, Expected&) {
        ListDossiersRequest r;
        r.set_page_size(-1);
        return w.List(r);
      });
  add("TamperedPageToken", Field(C::INVALID_ARGUMENT, "PAGE_TOKEN_INVALID", "page_token"),
      [](World& w, Expected&) {
        w.MustSubmit();
        w.MustSubmit();
        ListDossiersRequest r;
        r.set_page_size(1);
        ListDossiersResponse page;
        EXPECT_TRUE(w.List(r, &page).ok());
        EXPECT_THAT(page.next_page_token(), Not(IsEmpty()));
        std::string token = page.next_page_token();
        token[token.size() / 2] = token[token.size() / 2] == 'A' ? 'B' : 'A';
        r.set_page_token(token);
        return w.List(r);
      });
  add("TokenFromOtherFilters", Field(C::INVALID_ARGUMENT, "PAGE_TOKEN_INVALID", "page_token"),
      [](World& w, Expected&) {
        w.MustSubmit();
        w.MustSubmit();
        ListDossiersRequest r;
        r.set_page_size(1);
        ListDossiersResponse page;
        EXPECT_TRUE(w.List(r, &page).ok());
        r.set_page_token(page.next_page_token());
        r.set_status(DOSSIER_STATUS_RECEIVED);
        return w.List(r);
      });
  add("OverdueAndDueSoon", Field(C::INVALID_ARGUMENT, "FILTERS_CONFLICT", "overdue_only"),
      [](World& w, Expected&) {
        ListDossiersRequest r;
        r.set_overdue_only(true);
        r.set_due_soon_only(true);
        return w.List(r);
      });
  add("ListUnknownStatus", Field(C::INVALID_ARGUMENT, "FIELD_INVALID", "status"),
      [](World& w, Expected&) {
        ListDossiersRequest r;
        r.set_status(static_cast<DossierStatus>(99));
        return w.List(r);
      });
  add("ListUnknownAgency", Field(C::NOT_FOUND, "AGENCY_NOT_FOUND", "agency_code"),
      [](World& w, Expected&) {
        ListDossiersRequest r;
        r.set_agency_code("000.99.99.H15");
        return w.List(r);
      });
  return cases;
}

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

class ErrorDetailsTest : public ::testing::TestWithParam<Case> {};

TEST_P(ErrorDetailsTest, CarriesReasonFieldOrSubjectAndVietnamese) {
  auto catalogue = config::LoadConfigText(absl::StrCat(testing::kTestConfig, kExtraConfig),
                                          "test.textproto");
  ASSERT_TRUE(catalogue.ok()) << catalogue.status();
  World world(*catalogue);
  ASSERT_TRUE(world.Start());

  const Case& c = GetParam();
  Expected expected = c.expected;
  const grpc::Status status = c.run(world, expected);
  ASSERT_EQ(status.error_code(), expected.code) << status.error_message();

  google::rpc::Status rpc;
  ASSERT_TRUE(grpc::ExtractErrorDetails(status, &rpc).ok());
  EXPECT_EQ(rpc.code(), static_cast<int>(expected.code));
  EXPECT_EQ(rpc.message(), status.error_message());

  google::rpc::ErrorInfo info;
  google::rpc::BadRequest bad_request;
  google::rpc::PreconditionFailure precondition;
  google::rpc::LocalizedMessage localized;
  bool has_info = false, has_bad_request = false, has_precondition = false,
       has_localized = false;
  for (const google::protobuf::Any& any : rpc.details()) {
    has_info |= any.Is<google::rpc::ErrorInfo>() && any.UnpackTo(&info);
    has_bad_request |= any.Is<google::rpc::BadRequest>() && any.UnpackTo(&bad_request);
    has_precondition |= any.Is<google::rpc::PreconditionFailure>() && any.UnpackTo(&precondition);
    has_localized |= any.Is<google::rpc::LocalizedMessage>() && any.UnpackTo(&localized);
  }
  ASSERT_TRUE(has_info);
  EXPECT_EQ(info.reason(), expected.reason) << status.error_message();
  EXPECT_EQ(info.domain(), "onestop.gov.vn");

  if (!expected.field.empty()) {
    ASSERT_TRUE(has_bad_request) << status.error_message();
    ASSERT_GE(bad_request.field_violations_size(), 1);
    EXPECT_EQ(bad_request.field_violations(0).field(), expected.field);
    EXPECT_THAT(bad_request.field_violations(0).description(), Not(IsEmpty()));
  }
  if (!expected.subject.empty()) {
    ASSERT_TRUE(has_precondition) << status.error_message();
    ASSERT_GE(precondition.violations_size(), 1);
    EXPECT_EQ(precondition.violations(0).subject(), expected.subject);
    EXPECT_THAT(precondition.violations(0).type(), Not(IsEmpty()));
  }
  if (expected.field.empty() && expected.subject.empty()) {
    EXPECT_FALSE(has_bad_request);
    EXPECT_FALSE(has_precondition);
  }

  ASSERT_TRUE(has_localized);
  EXPECT_EQ(localized.locale(), "vi-VN");
  EXPECT_THAT(localized.message(), Not(IsEmpty()));
  EXPECT_NE(localized.message(), status.error_message());
  // Vietnamese, not English: every entry is written with diacritics.
  EXPECT_NE(localized.message().find_first_of("\xC3\xC4\xC6\xE1"), std::string::npos)
      << localized.message();
}

INSTANTIATE_TEST_SUITE_P(EveryErrorPath, ErrorDetailsTest, ::testing::ValuesIn(Cases()),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return info.param.name;
                         });

// The illegal-transition message names the status in Vietnamese, and a
// stale etag says which version is current.
class ErrorDetailsSpecificsTest : public ::testing::Test {};

TEST_F(ErrorDetailsSpecificsTest, IllegalTransitionAndStaleEtagSaySpecifics) {
  auto catalogue = config::LoadConfigText(testing::kTestConfig, "test.textproto");
  ASSERT_TRUE(catalogue.ok()) << catalogue.status();
  World w(*catalogue);
  ASSERT_TRUE(w.Start());
  Dossier d = w.MustSubmit(/*receive_now=*/false);
  google::rpc::Status rpc;
  ASSERT_TRUE(grpc::ExtractErrorDetails(w.HandOver(d), &rpc).ok());
  google::rpc::LocalizedMessage localized;
  ASSERT_TRUE(rpc.details(rpc.details_size() - 1).UnpackTo(&localized));
  EXPECT_THAT(localized.message(), HasSubstr("Mới đăng ký"));
  EXPECT_THAT(localized.message(), HasSubstr(d.code()));

  const Dossier stale = d;
  auto accept = World::For<AcceptDossierRequest>(d);
  ASSERT_TRUE(w.Act<AcceptDossierResponse>(&DossierService::Stub::AcceptDossier, accept, &d).ok());
  ASSERT_TRUE(grpc::ExtractErrorDetails(w.HandOver(stale), &rpc).ok());
  google::rpc::ErrorInfo info;
  ASSERT_TRUE(rpc.details(0).UnpackTo(&info));
  EXPECT_EQ(info.reason(), "ETAG_MISMATCH");
  EXPECT_EQ(info.metadata().at("current_etag"), absl::StrCat(d.etag()));
  EXPECT_EQ(info.metadata().at("dossier_code"), d.code());
}

}  // namespace
}  // namespace onestop
