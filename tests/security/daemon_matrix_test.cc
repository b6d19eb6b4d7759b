// The whole daemon under its security rules (issue #7, docs/SECURITY.md):
// every RPC × every role × {in scope, out of scope}, plus callers without or
// with a bad token, against an in-process OnestopServer on a real SQLite
// file. The expected answer of each call comes from the roles table below,
// written out by hand from docs/SECURITY.md (as authorization_test.cc does),
// never from the code under test. A denial must change nothing (dossier,
// dossier store revision, tokens, clock, configuration, backups) and append
// exactly one audit record; an allowed write appends exactly one, a read
// none.
//
// Then the edges: revocation and expiry take effect on the next call and
// end open watches, history names the principal (never the `onestop-actor`
// header), lists without a filter are scoped, personal numbers are masked
// for supervisors, the per-principal stream limit, and the citizens'
// lookup.
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "onestop/v1/dossier_service.grpc.pb.h"
#include "onestop/v1/feed_service.grpc.pb.h"
#include "onestop/v1/report_service.grpc.pb.h"
#include "onestop/v1/security_service.grpc.pb.h"
#include "server/config/config_loader.h"
#include "server/core/catalogue.h"
#include "server/service/onestop_server.h"
#include "server/util/clock.h"
#include "server/util/proto_time.h"
#include "storage/sqlite/sqlite_dossier_store.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_auth.h"
#include "tests/testing/test_config.h"

namespace onestop {
namespace {

using namespace onestop::v1;  // NOLINT: request and response names are long enough
using ::testing::HasSubstr;

constexpr char kProvince[] = "000.00.00.H15";
constexpr char kDistrict[] = "000.00.31.H15";
constexpr char kCommune[] = "000.31.01.H15";
constexpr char kOtherCommune[] = "000.31.02.H15";
// An interlinked commune procedure whose single stage is the receiving
// commune itself, added to the test catalogue so that ForwardDossier and
// CompleteStage can succeed.
constexpr char kInterlinkedProcedure[] = "9.000001";
// Sent with every call: the server must ignore it.
constexpr char kForgedActor[] = "mallory";
constexpr char kPersonalId[] = "066190001234";
constexpr char kPhone[] = "0912345678";
// What supervisors and services read (docs/SECURITY.md: last four kept).
constexpr char kMaskedPersonalId[] = "********1234";
constexpr char kMaskedPhone[] = "******5678";

std::string TestConfigText() {
  return absl::StrCat(testing::kTestConfig, R"pb(
    procedures {
      code: "9.000001" name: "Thủ tục liên thông thử nghiệm" level: "commune"
      deadline { amount: 5 unit: DEADLINE_UNIT_WORKING_DAYS } field: "Thử nghiệm"
      route {
        name: "UBND xã kiểm tra, xác nhận"
        agencies { agency_code: "000.31.01.H15" }
        budget { amount: 5 unit: DEADLINE_UNIT_WORKING_DAYS }
      }
    }
  )pb");
}

absl::Time VnTime(int y, int m, int d, int hh, int mm) {
  return absl::FromCivil(absl::CivilMinute(y, m, d, hh, mm), absl::FixedTimeZone(7 * 3600));
}

// docs/SECURITY.md "Roles", by hand: C clerk, O officer, S supervisor,
// V service, A admin. administer_daemon (ReloadConfig, BackupDatabase) is
// documented in server/service/admin_service.h as the admins'.
const std::map<std::string, std::string>& DocumentedTable() {
  static const auto* table = new std::map<std::string, std::string>{
      {"get_dossier", "COSV"},
      {"list_dossiers", "COSV"},
      {"watch_events", "SV"},
      {"get_completion_report", "S"},
      {"submit_dossier", "C"},
      {"accept_dossier", "C"},
      {"request_supplement_at_reception", "C"},
      {"request_supplement_in_processing", "O"},
      {"supply_documents", "C"},
      {"refuse_dossier", "C"},
      {"hand_over_dossier", "C"},
      {"record_decision", "O"},
      {"mark_result_ready", "O"},
      {"return_result", "C"},
      {"withdraw_dossier", "C"},
      {"stop_processing", "O"},
      {"request_payment", "O"},
      {"confirm_payment", "O"},
      {"reschedule_dossier", "O"},
      {"forward_dossier", "CO"},
      {"complete_stage", "O"},
      {"import_dossiers", "A"},
      {"read_catalogue", "COSVA"},
      {"read_clock", "COSVA"},
      {"control_clock", "A"},
      {"manage_tokens", "A"},
      {"read_audit", "A"},
      {"administer_daemon", "A"},
  };
  return *table;
}

// The rows marked `w`: what a service principal may be granted.
const std::vector<std::string>& ServiceWrites() {
  static const auto* writes = new std::vector<std::string>{
      "submit_dossier", "accept_dossier", "request_supplement_at_reception",
      "request_supplement_in_processing", "supply_documents", "refuse_dossier",
      "hand_over_dossier", "record_decision", "mark_result_ready", "return_result",
      "withdraw_dossier", "stop_processing", "request_payment", "confirm_payment",
      "reschedule_dossier", "forward_dossier", "complete_stage", "import_dossiers",
  };
  return *writes;
}

enum class Kind {
  kClerk,
  kOfficer,
  kSupervisor,
  kService,
  kServiceWithWrites,
  kAdmin,
  kAnonymous,  // no authorization header
  kGarbage,    // a token that was never issued
};

char Letter(Kind kind) {
  switch (kind) {
    case Kind::kClerk: return 'C';
    case Kind::kOfficer: return 'O';
    case Kind::kSupervisor: return 'S';
    case Kind::kService:
    case Kind::kServiceWithWrites: return 'V';
    case Kind::kAdmin: return 'A';
    default: return '?';
  }
}

std::string KindName(Kind kind) {
  switch (kind) {
    case Kind::kClerk: return "clerk";
    case Kind::kOfficer: return "officer";
    case Kind::kSupervisor: return "supervisor";
    case Kind::kService: return "service";
    case Kind::kServiceWithWrites: return "service_w";
    case Kind::kAdmin: return "admin";
    case Kind::kAnonymous: return "anonymous";
    case Kind::kGarbage: return "garbage";
  }
  return "?";
}

Role ProtoRole(Kind kind) {
  switch (kind) {
    case Kind::kClerk: return ROLE_CLERK;
    case Kind::kOfficer: return ROLE_OFFICER;
    case Kind::kSupervisor: return ROLE_SUPERVISOR;
    case Kind::kService:
    case Kind::kServiceWithWrites: return ROLE_SERVICE;
    case Kind::kAdmin: return ROLE_ADMIN;
    default: return ROLE_UNSPECIFIED;
  }
}

// The agencies whose dossiers a grant at `agency` reaches (the subtrees of
// the test catalogue, by hand).
std::set<std::string> Subtree(const std::string& agency) {
  if (agency == kProvince) return {kProvince, kDistrict, kCommune, kOtherCommune};
  if (agency == kDistrict) return {kDistrict, kCommune, kOtherCommune};
  return {agency};
}

struct Stubs {
  explicit Stubs(const std::shared_ptr<grpc::Channel>& channel)
      : dossiers(DossierService::NewStub(channel)),
        feed(FeedService::NewStub(channel)),
        reports(ReportService::NewStub(channel)),
        catalogue(CatalogueService::NewStub(channel)),
        admin(AdminService::NewStub(channel)),
        security(SecurityService::NewStub(channel)),
        citizen(CitizenService::NewStub(channel)) {}
  std::unique_ptr<DossierService::Stub> dossiers;
  std::unique_ptr<FeedService::Stub> feed;
  std::unique_ptr<ReportService::Stub> reports;
  std::unique_ptr<CatalogueService::Stub> catalogue;
  std::unique_ptr<AdminService::Stub> admin;
  std::unique_ptr<SecurityService::Stub> security;
  std::unique_ptr<CitizenService::Stub> citizen;
};

struct Caller {
  std::string label;  // e.g. "clerk@000.31.02.H15"
  std::string id;     // the principal id; "" when not authenticated
  Kind kind = Kind::kAnonymous;
  std::string agency;  // the grant's agency (unauthenticated: the other commune)
  bool in_scope = false;  // the grant covers kCommune, where every matrix dossier lives
  std::unique_ptr<Stubs> stubs;
};

// Every call: a deadline and a forged actor name.
std::unique_ptr<grpc::ClientContext> NewContext() {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  context->AddMetadata("onestop-actor", kForgedActor);
  return context;
}

template <typename Request, typename Response>
grpc::Status SendAction(grpc::Status (DossierService::Stub::*method)(grpc::ClientContext*,
                                                                     const Request&, Response*),
                        DossierService::Stub* stub, Request request, const Dossier& dossier,
                        Dossier* out) {
  request.set_code(dossier.code());
  request.set_etag(dossier.etag());
  auto context = NewContext();
  Response response;
  const grpc::Status status = (stub->*method)(context.get(), request, &response);
  if (status.ok() && out != nullptr) *out = response.dossier();
  return status;
}

// One lifecycle action on `dossier` with the usual fields.
grpc::Status Act(DossierService::Stub* stub, ActionKind kind, const Dossier& dossier,
                 const std::string& acting_agency, Dossier* out) {
  using Stub = DossierService::Stub;
  switch (kind) {
    case ACTION_KIND_ACCEPT:
      return SendAction(&Stub::AcceptDossier, stub, AcceptDossierRequest(), dossier, out);
    case ACTION_KIND_REQUEST_SUPPLEMENT: {
      RequestSupplementRequest request;
      request.add_missing_items("Bản sao giấy chứng sinh");
      request.set_acting_agency_code(acting_agency);
      return SendAction(&Stub::RequestSupplement, stub, request, dossier, out);
    }
    case ACTION_KIND_SUPPLY_DOCUMENTS: {
      SupplyDocumentsRequest request;
      SubmittedDocument* document = request.add_documents();
      document->set_name("Bản sao giấy chứng sinh");
      document->set_copies(1);
      return SendAction(&Stub::SupplyDocuments, stub, request, dossier, out);
    }
    case ACTION_KIND_REFUSE: {
      RefuseDossierRequest request;
      request.set_reason("Hồ sơ không thuộc thẩm quyền");
      return SendAction(&Stub::RefuseDossier, stub, request, dossier, out);
    }
    case ACTION_KIND_HAND_OVER:
      return SendAction(&Stub::HandOverDossier, stub, HandOverDossierRequest(), dossier, out);
    case ACTION_KIND_RECORD_DECISION: {
      RecordDecisionRequest request;
      request.set_outcome(DECISION_OUTCOME_APPROVED);
      request.set_acting_agency_code(acting_agency);
      return SendAction(&Stub::RecordDecision, stub, request, dossier, out);
    }
    case ACTION_KIND_MARK_RESULT_READY:
      return SendAction(&Stub::MarkResultReady, stub, MarkResultReadyRequest(), dossier, out);
    case ACTION_KIND_RETURN_RESULT: {
      ReturnResultRequest request;
      request.set_mode(RETURN_MODE_AT_DESK);
      return SendAction(&Stub::ReturnResult, stub, request, dossier, out);
    }
    case ACTION_KIND_WITHDRAW: {
      WithdrawDossierRequest request;
      request.set_reason("Công dân xin rút hồ sơ");
      return SendAction(&Stub::WithdrawDossier, stub, request, dossier, out);
    }
    case ACTION_KIND_STOP: {
      StopProcessingRequest request;
      request.set_reason("Dừng theo đề nghị của cơ quan");
      return SendAction(&Stub::StopProcessing, stub, request, dossier, out);
    }
    case ACTION_KIND_REQUEST_PAYMENT: {
      RequestPaymentRequest request;
      request.set_note("Thông báo thuế số 12");
      return SendAction(&Stub::RequestPayment, stub, request, dossier, out);
    }
    case ACTION_KIND_CONFIRM_PAYMENT: {
      ConfirmPaymentRequest request;
      request.set_note("Biên lai số 34");
      return SendAction(&Stub::ConfirmPayment, stub, request, dossier, out);
    }
    case ACTION_KIND_RESCHEDULE: {
      RescheduleDossierRequest request;
      request.set_reason("Cần xác minh thêm");
      *request.mutable_new_due_time() =
          ToProtoTime(FromProtoTime(dossier.due_time()) + absl::Hours(48));
      return SendAction(&Stub::RescheduleDossier, stub, request, dossier, out);
    }
    case ACTION_KIND_FORWARD: {
      ForwardDossierRequest request;
      request.set_acting_agency_code(acting_agency);
      return SendAction(&Stub::ForwardDossier, stub, request, dossier, out);
    }
    case ACTION_KIND_COMPLETE_STAGE: {
      CompleteStageRequest request;
      request.set_acting_agency_code(acting_agency);
      return SendAction(&Stub::CompleteStage, stub, request, dossier, out);
    }
    default:
      return grpc::Status(grpc::StatusCode::INTERNAL, "the test has no such action");
  }
}

// Reads a WatchEvents stream until `done` says so (then it counts as
// admitted: OK) or the stream ends (its status). Event dossiers go to `out`.
grpc::Status Watch(FeedService::Stub* stub, const WatchEventsRequest& request,
                   std::vector<Dossier>* out,
                   const std::function<bool(const WatchEventsResponse&)>& done) {
  auto context = NewContext();
  std::unique_ptr<grpc::ClientReader<WatchEventsResponse>> reader =
      stub->WatchEvents(context.get(), request);
  WatchEventsResponse message;
  while (reader->Read(&message)) {
    if (message.has_event()) out->push_back(message.event().dossier());
    if (done(message)) {
      context->TryCancel();
      reader->Finish();
      return grpc::Status::OK;
    }
  }
  return reader->Finish();
}

// How a dossier reaches the status an action needs: submitted at kCommune,
// then these steps by the all-roles setup caller.
struct Preparation {
  std::string procedure;
  bool receive_now = true;
  std::vector<ActionKind> steps;
};

enum class Target {
  kDossier,      // the dossier's agencies (all kCommune here)
  kCommune,      // the request names kCommune
  kGlobal,       // no agency
  kWholeDaemon,  // no agency, and only a top-level agency's grant holds it
};

// Which acting_agency_code an action sends.
enum class Acting {
  kNone,
  kCommune,  // the right one
  kOwn,      // the caller's own grant agency (a caller trying to act "for" it)
};

struct RpcCase {
  std::string label;       // unique; the key of reusable prepared dossiers
  std::string rpc;         // as recorded in the audit log
  std::string permission;  // row of DocumentedTable
  Target target = Target::kGlobal;
  bool mutating = false;
  std::optional<Preparation> preparation;
  // Needs a live token to revoke (RevokeToken).
  bool needs_victim = false;
  // Besides OK, what an allowed call may answer: a domain error documented
  // for the request (e.g. FAILED_PRECONDITION when acting for an agency
  // that holds no task).
  std::set<grpc::StatusCode> also_allowed;
  // Calls as the caller; dossiers the answer carries go to `out`.
  std::function<grpc::Status(Caller& caller, const Dossier& dossier, std::vector<Dossier>* out)>
      call;
};

enum class Expect { kAllowed, kDenied, kUnauthenticated };

// The expectation, from the documented table and the scope only.
Expect Expected(const RpcCase& c, const Caller& caller) {
  if (caller.kind == Kind::kAnonymous || caller.kind == Kind::kGarbage) {
    return Expect::kUnauthenticated;
  }
  bool holds = DocumentedTable().at(c.permission).find(Letter(caller.kind)) != std::string::npos;
  if (caller.kind == Kind::kServiceWithWrites &&
      std::find(ServiceWrites().begin(), ServiceWrites().end(), c.permission) !=
          ServiceWrites().end()) {
    holds = true;
  }
  if (!holds) return Expect::kDenied;
  if (c.target == Target::kWholeDaemon) {
    return caller.agency == kProvince ? Expect::kAllowed : Expect::kDenied;
  }
  if (c.target != Target::kGlobal && !caller.in_scope) return Expect::kDenied;
  return Expect::kAllowed;
}

class DaemonMatrixTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto catalogue = config::LoadConfigText(TestConfigText(), "matrix.textproto");
    ASSERT_TRUE(catalogue.ok()) << catalogue.status();
    catalogue_ = *catalogue;
    clock_ = std::make_unique<ControlledClock>(VnTime(2020, 1, 6, 8, 0), SystemClock::Get());
    storage::SqliteOptions store_options;
    store_options.path = dir_.File("onestop.db");
    auto store = storage::SqliteDossierStore::Open(store_options);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    auth_ = testing::MustOpenTestAuth(dir_.File("onestop.db"));

    service::ServerOptions options;
    options.listen = "127.0.0.1:0";
    testing::UseInsecureLoopback(options);
    options.streams.max_streams_per_principal = 2;
    // Open watches ask again whether their token is still valid this often
    // (real time; the default is 5 s).
    options.feed.recheck_interval = absl::Milliseconds(100);
    service::ServerDependencies deps;
    deps.store = store_.get();
    deps.security_store = auth_->store();
    deps.catalogue = catalogue_;
    deps.clock = clock_.get();
    deps.controlled_clock = clock_.get();
    deps.admin_hooks.reload_config =
        [this]() -> absl::StatusOr<std::shared_ptr<const core::Catalogue>> {
      ++reloads_;
      return catalogue_;
    };
    deps.admin_hooks.backup_database = [this](const std::string& path) {
      ++backups_;
      return store_->Backup(path);
    };
    auto server = service::OnestopServer::Start(options, deps);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    setup_ = std::make_unique<Stubs>(testing::AuthorizedChannel(
        server_->address(), testing::MustToken(auth_->AllRolesToken(*catalogue_, "setup.tester"))));
  }

  void TearDown() override {
    if (server_) server_->Shutdown(absl::Seconds(5));
    server_.reset();
  }

  // A dossier received at kCommune and handed over to `agency`.
  Dossier ReceivedAndHandedOverTo(const std::string& agency) {
    Dossier dossier = MustSubmit(testing::kCommuneProcedure, kCommune, true);
    HandOverDossierRequest hand_over;
    hand_over.set_to_agency_code(agency);
    const grpc::Status status = SendAction(&DossierService::Stub::HandOverDossier,
                                           setup_->dossiers.get(), hand_over, dossier, &dossier);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return dossier;
  }

  // A caller holding `kind` at `agency` (one grant).
  std::unique_ptr<Caller> NewCaller(Kind kind, const std::string& agency) {
    auto caller = std::make_unique<Caller>();
    caller->kind = kind;
    caller->agency = agency;
    caller->label = absl::StrCat(KindName(kind), "@", agency);
    caller->in_scope = Subtree(agency).count(kCommune) > 0;
    if (kind == Kind::kAnonymous) {
      caller->stubs = std::make_unique<Stubs>(
          grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials()));
      return caller;
    }
    if (kind == Kind::kGarbage) {
      caller->stubs = std::make_unique<Stubs>(testing::AuthorizedChannel(
          server_->address(), "ost_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
      return caller;
    }
    caller->id = absl::StrCat(KindName(kind), ".", agency);
    Principal principal;
    principal.set_id(caller->id);
    Grant* grant = principal.add_grants();
    grant->set_role(ProtoRole(kind));
    grant->set_agency_code(agency);
    if (kind == Kind::kServiceWithWrites) {
      for (const std::string& write : ServiceWrites()) principal.add_service_writes(write);
    }
    caller->stubs = std::make_unique<Stubs>(testing::AuthorizedChannel(
        server_->address(), testing::MustToken(auth_->TokenFor(principal))));
    return caller;
  }

  SubmitDossierRequest Submission(const std::string& procedure, const std::string& agency,
                                  bool receive_now) {
    SubmitDossierRequest request;
    request.set_procedure_code(procedure);
    request.set_receiving_agency_code(agency);
    request.mutable_applicant()->set_full_name("Nguyễn Thị Hằng");
    request.mutable_applicant()->set_personal_id(kPersonalId);
    request.mutable_applicant()->set_phone(kPhone);
    request.set_channel(CHANNEL_DIRECT);
    SubmittedDocument* document = request.add_documents();
    document->set_name("Tờ khai đăng ký khai sinh");
    document->set_copies(1);
    request.set_receive_now(receive_now);
    return request;
  }

  // Setup-side helpers: the all-roles caller; failures are test failures.
  Dossier MustSubmit(const std::string& procedure, const std::string& agency,
                     bool receive_now) {
    auto context = NewContext();
    SubmitDossierResponse response;
    const grpc::Status status = setup_->dossiers->SubmitDossier(
        context.get(), Submission(procedure, agency, receive_now), &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.dossier();
  }

  Dossier MustAct(ActionKind kind, const Dossier& dossier, const std::string& acting) {
    Dossier out;
    const grpc::Status status = Act(setup_->dossiers.get(), kind, dossier, acting, &out);
    EXPECT_TRUE(status.ok()) << "setup " << ActionKind_Name(kind) << ": "
                             << status.error_message();
    return out;
  }

  Dossier MustGet(const std::string& code) {
    auto context = NewContext();
    GetDossierRequest request;
    request.set_code(code);
    GetDossierResponse response;
    const grpc::Status status = setup_->dossiers->GetDossier(context.get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.dossier();
  }

  Dossier Prepare(const Preparation& preparation) {
    Dossier dossier = MustSubmit(preparation.procedure, kCommune, preparation.receive_now);
    for (ActionKind step : preparation.steps) {
      const bool stage_action = step == ACTION_KIND_FORWARD || step == ACTION_KIND_COMPLETE_STAGE;
      dossier = MustAct(step, dossier, stage_action ? kCommune : "");
    }
    return dossier;
  }

  // Audit records after `after_sequence`, oldest first, read from the store.
  std::vector<AuditRecord> AuditAfter(int64_t after_sequence) {
    std::vector<AuditRecord> records;
    for (;;) {
      auto page = auth_->store()->ListAudit({.after_sequence = after_sequence, .limit = 1000});
      EXPECT_TRUE(page.ok()) << page.status();
      if (!page.ok()) return records;
      for (AuditRecord& record : page->records) records.push_back(std::move(record));
      if (page->next_after_sequence == 0) return records;
      after_sequence = page->next_after_sequence;
    }
  }

  // The sequence of the newest audit record (0: none yet).
  int64_t AuditHead() {
    const std::vector<AuditRecord> records = AuditAfter(audit_head_);
    if (!records.empty()) audit_head_ = records.back().sequence();
    return audit_head_;
  }

  int64_t LastRevision() {
    auto revision = store_->LastRevision();
    EXPECT_TRUE(revision.ok()) << revision.status();
    return revision.ok() ? *revision : -1;
  }

  size_t TokenCount() {
    auto tokens = auth_->store()->ListTokens({.include_inactive = true, .now = clock_->Now()});
    EXPECT_TRUE(tokens.ok()) << tokens.status();
    return tokens.ok() ? tokens->size() : 0;
  }

  // The matrix's RPCs, in the order they run (ResetClock last: it lets the
  // clock follow real time).
  std::vector<RpcCase> Cases();
  void RunCase(const RpcCase& c, Caller& caller, std::map<Expect, int>* counts);

  testing::TempDir dir_;
  std::shared_ptr<const core::Catalogue> catalogue_;
  std::unique_ptr<ControlledClock> clock_;
  std::unique_ptr<storage::SqliteDossierStore> store_;
  std::unique_ptr<testing::TestAuth> auth_;
  std::atomic<int> reloads_{0};
  std::atomic<int> backups_{0};
  std::unique_ptr<service::OnestopServer> server_;
  std::unique_ptr<Stubs> setup_;
  // Prepared dossiers still in their prepared state (a denial changed
  // nothing), by case label: reused by the next caller.
  std::map<std::string, Dossier> pristine_;
  // A live token for RevokeToken to revoke.
  std::optional<storage::CreatedToken> victim_;
  int backup_files_ = 0;
  int imports_ = 0;
  // Imported records refused for the caller's scope inside an allowed
  // stream: each is audited as a denial of its own.
  int refused_import_records_ = 0;
  int64_t audit_head_ = 0;
};

std::vector<RpcCase> DaemonMatrixTest::Cases() {
  const std::string proc = testing::kCommuneProcedure;
  const Preparation kNew{proc, false, {}};
  const Preparation kSupplementAtReception{proc, false, {ACTION_KIND_REQUEST_SUPPLEMENT}};
  const Preparation kReceived{proc, true, {}};
  const Preparation kProcessing{proc, true, {ACTION_KIND_HAND_OVER}};
  const Preparation kDecided{proc, true, {ACTION_KIND_HAND_OVER, ACTION_KIND_RECORD_DECISION}};
  const Preparation kResultReady{
      proc, true,
      {ACTION_KIND_HAND_OVER, ACTION_KIND_RECORD_DECISION, ACTION_KIND_MARK_RESULT_READY}};
  const Preparation kAwaitingPayment{proc, true,
                                     {ACTION_KIND_HAND_OVER, ACTION_KIND_REQUEST_PAYMENT}};
  const Preparation kInterlinkedReceived{kInterlinkedProcedure, true, {}};
  const Preparation kInterlinkedInStage{kInterlinkedProcedure, true, {ACTION_KIND_FORWARD}};

  std::vector<RpcCase> cases;
  auto action = [&](const std::string& label, const std::string& rpc,
                    const std::string& permission, const Preparation& preparation,
                    ActionKind kind, Acting acting, std::set<grpc::StatusCode> also = {}) {
    RpcCase c;
    c.label = label;
    c.rpc = rpc;
    c.permission = permission;
    c.target = Target::kDossier;
    c.mutating = true;
    c.preparation = preparation;
    c.also_allowed = std::move(also);
    c.call = [kind, acting](Caller& caller, const Dossier& dossier, std::vector<Dossier>* out) {
      const std::string agency = acting == Acting::kNone      ? ""
                                 : acting == Acting::kCommune ? kCommune
                                                              : caller.agency;
      Dossier acted;
      const grpc::Status status = Act(caller.stubs->dossiers.get(), kind, dossier, agency, &acted);
      if (status.ok()) out->push_back(acted);
      return status;
    };
    cases.push_back(std::move(c));
  };
  auto other = [&](const std::string& label, const std::string& rpc,
                   const std::string& permission, Target target, bool mutating,
                   std::function<grpc::Status(Caller&, const Dossier&, std::vector<Dossier>*)>
                       call) {
    RpcCase c;
    c.label = label;
    c.rpc = rpc;
    c.permission = permission;
    c.target = target;
    c.mutating = mutating;
    c.call = std::move(call);
    cases.push_back(std::move(c));
  };

  other("SubmitDossier", "SubmitDossier", "submit_dossier", Target::kCommune, true,
        [this](Caller& caller, const Dossier&, std::vector<Dossier>* out) {
          auto context = NewContext();
          SubmitDossierResponse response;
          const grpc::Status status = caller.stubs->dossiers->SubmitDossier(
              context.get(), Submission(testing::kCommuneProcedure, kCommune, true), &response);
          if (status.ok()) out->push_back(response.dossier());
          return status;
        });
  {
    RpcCase& get = cases.emplace_back();
    get.label = "GetDossier";
    get.rpc = "GetDossier";
    get.permission = "get_dossier";
    get.target = Target::kDossier;
    get.preparation = kReceived;
    get.call = [](Caller& caller, const Dossier& dossier, std::vector<Dossier>* out) {
      auto context = NewContext();
      GetDossierRequest request;
      request.set_code(dossier.code());
      GetDossierResponse response;
      const grpc::Status status =
          caller.stubs->dossiers->GetDossier(context.get(), request, &response);
      if (status.ok()) out->push_back(response.dossier());
      return status;
    };
  }
  for (const bool filtered : {true, false}) {
    other(filtered ? "ListDossiers(agency)" : "ListDossiers(no filter)", "ListDossiers",
          "list_dossiers", filtered ? Target::kCommune : Target::kGlobal, false,
          [filtered](Caller& caller, const Dossier&, std::vector<Dossier>* out) {
            auto context = NewContext();
            ListDossiersRequest request;
            if (filtered) request.set_agency_code(kCommune);
            request.set_page_size(500);
            ListDossiersResponse response;
            const grpc::Status status =
                caller.stubs->dossiers->ListDossiers(context.get(), request, &response);
            for (const Dossier& dossier : response.dossiers()) out->push_back(dossier);
            return status;
          });
  }

  action("AcceptDossier", "AcceptDossier", "accept_dossier", kNew, ACTION_KIND_ACCEPT,
         Acting::kNone);
  action("RequestSupplement(reception)", "RequestSupplement", "request_supplement_at_reception",
         kNew, ACTION_KIND_REQUEST_SUPPLEMENT, Acting::kNone);
  action("RequestSupplement(processing)", "RequestSupplement",
         "request_supplement_in_processing", kProcessing, ACTION_KIND_REQUEST_SUPPLEMENT,
         Acting::kNone);
  // Naming an acting agency must not move the check off the dossier's
  // agencies: the workflow ignores it for a procedure without a route.
  action("RequestSupplement(processing, acting as own agency)", "RequestSupplement",
         "request_supplement_in_processing", kProcessing, ACTION_KIND_REQUEST_SUPPLEMENT,
         Acting::kOwn);
  action("SupplyDocuments", "SupplyDocuments", "supply_documents", kSupplementAtReception,
         ACTION_KIND_SUPPLY_DOCUMENTS, Acting::kNone);
  action("RefuseDossier", "RefuseDossier", "refuse_dossier", kReceived, ACTION_KIND_REFUSE,
         Acting::kNone);
  action("HandOverDossier", "HandOverDossier", "hand_over_dossier", kReceived,
         ACTION_KIND_HAND_OVER, Acting::kNone);
  action("RecordDecision", "RecordDecision", "record_decision", kProcessing,
         ACTION_KIND_RECORD_DECISION, Acting::kNone);
  action("RecordDecision(acting as own agency)", "RecordDecision", "record_decision",
         kProcessing, ACTION_KIND_RECORD_DECISION, Acting::kOwn);
  action("MarkResultReady", "MarkResultReady", "mark_result_ready", kDecided,
         ACTION_KIND_MARK_RESULT_READY, Acting::kNone);
  action("ReturnResult", "ReturnResult", "return_result", kResultReady,
         ACTION_KIND_RETURN_RESULT, Acting::kNone);
  action("WithdrawDossier", "WithdrawDossier", "withdraw_dossier", kReceived,
         ACTION_KIND_WITHDRAW, Acting::kNone);
  action("StopProcessing", "StopProcessing", "stop_processing", kProcessing, ACTION_KIND_STOP,
         Acting::kNone);
  action("RequestPayment", "RequestPayment", "request_payment", kProcessing,
         ACTION_KIND_REQUEST_PAYMENT, Acting::kNone);
  action("ConfirmPayment", "ConfirmPayment", "confirm_payment", kAwaitingPayment,
         ACTION_KIND_CONFIRM_PAYMENT, Acting::kNone);
  action("RescheduleDossier", "RescheduleDossier", "reschedule_dossier", kReceived,
         ACTION_KIND_RESCHEDULE, Acting::kNone);
  action("ForwardDossier", "ForwardDossier", "forward_dossier", kInterlinkedReceived,
         ACTION_KIND_FORWARD, Acting::kCommune);
  // An allowed caller acting for an agency that is not the desk (the
  // district) gets the workflow's FAILED_PRECONDITION.
  action("ForwardDossier(acting as own agency)", "ForwardDossier", "forward_dossier",
         kInterlinkedReceived, ACTION_KIND_FORWARD, Acting::kOwn,
         {grpc::StatusCode::FAILED_PRECONDITION});
  action("CompleteStage", "CompleteStage", "complete_stage", kInterlinkedInStage,
         ACTION_KIND_COMPLETE_STAGE, Acting::kCommune);
  action("CompleteStage(acting as own agency)", "CompleteStage", "complete_stage",
         kInterlinkedInStage, ACTION_KIND_COMPLETE_STAGE, Acting::kOwn,
         {grpc::StatusCode::FAILED_PRECONDITION});

  other("WatchEvents(agency)", "WatchEvents", "watch_events", Target::kCommune, false,
        [](Caller& caller, const Dossier&, std::vector<Dossier>* out) {
          WatchEventsRequest request;
          request.mutable_filter()->set_agency_code(kCommune);
          return Watch(caller.stubs->feed.get(), request, out,
                       [](const WatchEventsResponse&) { return true; });
        });
  other("GetCompletionReport(agency)", "GetCompletionReport", "get_completion_report",
        Target::kCommune, false, [](Caller& caller, const Dossier&, std::vector<Dossier>*) {
          auto context = NewContext();
          GetCompletionReportRequest request;
          request.set_agency_code(kCommune);
          *request.mutable_from() = core::ToDateProto(absl::CivilDay(2020, 1, 1));
          *request.mutable_to() = core::ToDateProto(absl::CivilDay(2020, 1, 31));
          GetCompletionReportResponse response;
          return caller.stubs->reports->GetCompletionReport(context.get(), request, &response);
        });
  other("ListAgencies", "ListAgencies", "read_catalogue", Target::kGlobal, false,
        [](Caller& caller, const Dossier&, std::vector<Dossier>*) {
          auto context = NewContext();
          ListAgenciesResponse response;
          return caller.stubs->catalogue->ListAgencies(context.get(), ListAgenciesRequest(),
                                                       &response);
        });
  other("ListProcedures", "ListProcedures", "read_catalogue", Target::kGlobal, false,
        [](Caller& caller, const Dossier&, std::vector<Dossier>*) {
          auto context = NewContext();
          ListProceduresResponse response;
          return caller.stubs->catalogue->ListProcedures(context.get(), ListProceduresRequest(),
                                                         &response);
        });
  other("GetCalendar", "GetCalendar", "read_catalogue", Target::kGlobal, false,
        [](Caller& caller, const Dossier&, std::vector<Dossier>*) {
          auto context = NewContext();
          GetCalendarRequest request;
          request.set_from_year(2020);
          request.set_to_year(2020);
          GetCalendarResponse response;
          return caller.stubs->catalogue->GetCalendar(context.get(), request, &response);
        });
  other("GetClock", "GetClock", "read_clock", Target::kGlobal, false,
        [](Caller& caller, const Dossier&, std::vector<Dossier>*) {
          auto context = NewContext();
          GetClockResponse response;
          return caller.stubs->admin->GetClock(context.get(), GetClockRequest(), &response);
        });
  other("SetClock", "SetClock", "control_clock", Target::kWholeDaemon, true,
        [this](Caller& caller, const Dossier&, std::vector<Dossier>*) {
          auto context = NewContext();
          SetClockRequest request;
          *request.mutable_time() = ToProtoTime(clock_->Now() + absl::Seconds(1));
          SetClockResponse response;
          return caller.stubs->admin->SetClock(context.get(), request, &response);
        });
  other("AdvanceClock", "AdvanceClock", "control_clock", Target::kWholeDaemon, true,
        [](Caller& caller, const Dossier&, std::vector<Dossier>*) {
          auto context = NewContext();
          AdvanceClockRequest request;
          request.set_seconds(1);
          AdvanceClockResponse response;
          return caller.stubs->admin->AdvanceClock(context.get(), request, &response);
        });
  other("ReloadConfig", "ReloadConfig", "administer_daemon", Target::kWholeDaemon, true,
        [](Caller& caller, const Dossier&, std::vector<Dossier>*) {
          auto context = NewContext();
          ReloadConfigResponse response;
          return caller.stubs->admin->ReloadConfig(context.get(), ReloadConfigRequest(),
                                                   &response);
        });
  other("BackupDatabase", "BackupDatabase", "administer_daemon", Target::kWholeDaemon, true,
        [this](Caller& caller, const Dossier&, std::vector<Dossier>*) {
          auto context = NewContext();
          BackupDatabaseRequest request;
          request.set_path(dir_.File(absl::StrCat("backup-", ++backup_files_, ".db")));
          BackupDatabaseResponse response;
          return caller.stubs->admin->BackupDatabase(context.get(), request, &response);
        });
  // One historical dossier per call (a new code each time). The stream is
  // authorized once for import_dossiers; records outside the caller's
  // agencies fail alone inside an OK stream, so the target is global.
  other("ImportDossiers", "ImportDossiers", "import_dossiers", Target::kGlobal, true,
        [this](Caller& caller, const Dossier&, std::vector<Dossier>*) {
          auto context = NewContext();
          ImportDossiersRequest request;
          Dossier* d = request.add_dossiers();
          d->set_code(absl::StrCat(kCommune, "-191231-", 1000 + ++imports_));
          d->set_procedure_code(testing::kCommuneProcedure);
          d->set_receiving_agency_code(kCommune);
          d->set_holder_agency_code(kCommune);
          d->mutable_applicant()->set_full_name("Nguyễn Văn Cũ");
          d->set_channel(CHANNEL_DIRECT);
          d->set_status(DOSSIER_STATUS_NEW);
          *d->mutable_submitted_time() = ToProtoTime(VnTime(2019, 12, 31, 9, 0));
          HistoryEntry* entry = d->add_history();
          entry->set_sequence(1);
          *entry->mutable_time() = d->submitted_time();
          entry->set_actor("canbo.cu");
          entry->set_action(ACTION_KIND_SUBMIT);
          entry->set_to_status(DOSSIER_STATUS_NEW);
          d->set_etag(1);
          auto stream = caller.stubs->admin->ImportDossiers(context.get());
          ImportDossiersResponse response;
          if (stream->Write(request)) stream->Read(&response);
          stream->WritesDone();
          return stream->Finish();
        });
  // Token creation is scoped by the grants it issues (a clerk at kCommune).
  other("CreateToken", "CreateToken", "manage_tokens", Target::kCommune, true,
        [](Caller& caller, const Dossier&, std::vector<Dossier>*) {
          auto context = NewContext();
          CreateTokenRequest request;
          request.mutable_principal()->set_id("clerk.new");
          Grant* grant = request.mutable_principal()->add_grants();
          grant->set_role(ROLE_CLERK);
          grant->set_agency_code(kCommune);
          request.set_ttl_seconds(3600);
          CreateTokenResponse response;
          return caller.stubs->security->CreateToken(context.get(), request, &response);
        });
  other("ListTokens", "ListTokens", "manage_tokens", Target::kGlobal, false,
        [](Caller& caller, const Dossier&, std::vector<Dossier>*) {
          auto context = NewContext();
          ListTokensResponse response;
          return caller.stubs->security->ListTokens(context.get(), ListTokensRequest(),
                                                    &response);
        });
  {
    RpcCase& revoke = cases.emplace_back();
    revoke.label = "RevokeToken";
    revoke.rpc = "RevokeToken";
    revoke.permission = "manage_tokens";
    // The victim holds a clerk grant at kCommune: only an admin whose
    // agencies include it may revoke it.
    revoke.target = Target::kCommune;
    revoke.mutating = true;
    revoke.needs_victim = true;
    revoke.call = [this](Caller& caller, const Dossier&, std::vector<Dossier>*) {
      auto context = NewContext();
      RevokeTokenRequest request;
      request.set_token_id(victim_->info.id());
      RevokeTokenResponse response;
      return caller.stubs->security->RevokeToken(context.get(), request, &response);
    };
  }
  other("ListAudit", "ListAudit", "read_audit", Target::kWholeDaemon, false,
        [](Caller& caller, const Dossier&, std::vector<Dossier>*) {
          auto context = NewContext();
          ListAuditRequest request;
          request.set_page_size(1);
          ListAuditResponse response;
          return caller.stubs->security->ListAudit(context.get(), request, &response);
        });
  other("ResetClock", "ResetClock", "control_clock", Target::kWholeDaemon, true,
        [](Caller& caller, const Dossier&, std::vector<Dossier>*) {
          auto context = NewContext();
          ResetClockResponse response;
          return caller.stubs->admin->ResetClock(context.get(), ResetClockRequest(), &response);
        });
  return cases;
}

void DaemonMatrixTest::RunCase(const RpcCase& c, Caller& caller,
                               std::map<Expect, int>* counts) {
  const Expect expect = Expected(c, caller);
  ++(*counts)[expect];
  Dossier before;
  if (c.preparation) {
    const auto kept = pristine_.find(c.label);
    if (kept != pristine_.end()) {
      before = kept->second;
      pristine_.erase(kept);
    } else {
      before = Prepare(*c.preparation);
    }
    ASSERT_FALSE(before.code().empty());
  }
  if (c.needs_victim && !victim_) {
    Principal victim;
    victim.set_id("victim.clerk");
    Grant* grant = victim.add_grants();
    grant->set_role(ROLE_CLERK);
    grant->set_agency_code(kCommune);
    auto created = auth_->store()->CreateToken(
        {.principal = victim,
         .label = "victim",
         .created = absl::FromCivil(absl::CivilDay(2000, 1, 1), absl::UTCTimeZone()),
         .expires = absl::Now() + absl::Hours(24 * 366)});
    ASSERT_TRUE(created.ok()) << created.status();
    victim_ = *created;
  }
  const int64_t audit_head = AuditHead();
  const int64_t revision = LastRevision();
  const size_t tokens = TokenCount();
  const bool pinned = clock_->pinned();
  const absl::Time now = clock_->Now();
  const int reloads = reloads_;
  const int backups = backups_;

  std::vector<Dossier> returned;
  const grpc::Status status = c.call(caller, before, &returned);
  const std::vector<AuditRecord> audit = AuditAfter(audit_head);

  if (expect != Expect::kAllowed) {
    const grpc::StatusCode code = expect == Expect::kDenied
                                      ? grpc::StatusCode::PERMISSION_DENIED
                                      : grpc::StatusCode::UNAUTHENTICATED;
    EXPECT_EQ(status.error_code(), code) << status.error_message();
    if (expect == Expect::kDenied && status.error_code() == code) {
      EXPECT_THAT(status.error_message(), HasSubstr(caller.id));
    }
    // Exactly one audit record: the denial.
    EXPECT_EQ(audit.size(), 1u);
    if (!audit.empty()) {
      EXPECT_EQ(audit[0].principal_id(), caller.id);
      EXPECT_EQ(audit[0].rpc(), c.rpc);
      EXPECT_EQ(audit[0].result_code(), static_cast<int>(code));
      if (c.target == Target::kDossier) {
        EXPECT_EQ(audit[0].dossier_code(), before.code());
      }
    }
    // Nothing changed.
    EXPECT_EQ(LastRevision(), revision);
    EXPECT_EQ(TokenCount(), tokens);
    EXPECT_EQ(clock_->pinned(), pinned);
    if (pinned) {
      EXPECT_EQ(clock_->Now(), now);
    }
    EXPECT_EQ(reloads_.load(), reloads);
    EXPECT_EQ(backups_.load(), backups);
    if (c.needs_victim) {
      EXPECT_TRUE(auth_->store()->Authenticate(victim_->secret, clock_->Now()).ok());
    }
    if (c.preparation) {
      const Dossier after = MustGet(before.code());
      EXPECT_EQ(after.etag(), before.etag());
      EXPECT_EQ(after.status(), before.status());
      if (after.etag() == before.etag()) pristine_[c.label] = after;
    }
    return;
  }

  EXPECT_TRUE(status.ok() || c.also_allowed.count(status.error_code()) > 0)
      << status.error_code() << " " << status.error_message();
  EXPECT_NE(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_NE(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  if (c.mutating) {
    // One audit record with the call's outcome; an imported record outside
    // the caller's agencies adds its own denial before it.
    const bool record_refused = c.rpc == "ImportDossiers" && !caller.in_scope;
    EXPECT_EQ(audit.size(), record_refused ? 2u : 1u);
    if (record_refused && !audit.empty()) {
      EXPECT_EQ(audit.front().principal_id(), caller.id);
      EXPECT_EQ(audit.front().result_code(),
                static_cast<int>(grpc::StatusCode::PERMISSION_DENIED));
      ++refused_import_records_;
    }
    if (!audit.empty()) {
      EXPECT_EQ(audit.back().principal_id(), caller.id);
      EXPECT_EQ(audit.back().rpc(), c.rpc);
      EXPECT_EQ(audit.back().result_code(), static_cast<int>(status.error_code()));
    }
  } else {
    EXPECT_TRUE(audit.empty()) << audit.size() << " records, first " << audit[0].rpc();
  }
  // Supervisors and services read masked numbers; clerks and officers do not.
  const bool sees_numbers = Letter(caller.kind) == 'C' || Letter(caller.kind) == 'O';
  for (const Dossier& dossier : returned) {
    EXPECT_EQ(dossier.applicant().personal_id(), sees_numbers ? kPersonalId : kMaskedPersonalId)
        << dossier.code();
    EXPECT_EQ(dossier.applicant().phone(), sees_numbers ? kPhone : kMaskedPhone)
        << dossier.code();
  }
  if (c.rpc == "ListDossiers" || c.rpc == "WatchEvents") {
    const std::set<std::string> visible = Subtree(caller.agency);
    for (const Dossier& dossier : returned) {
      EXPECT_TRUE(visible.count(dossier.receiving_agency_code()) > 0 ||
                  visible.count(dossier.holder_agency_code()) > 0)
          << dossier.code() << " is outside " << caller.agency;
    }
  }
  if (c.mutating && status.ok() && !returned.empty()) {
    // History names the principal, never the forged header.
    const Dossier after = MustGet(returned[0].code());
    ASSERT_GT(after.history_size(), 0);
    EXPECT_EQ(after.history(after.history_size() - 1).actor(), caller.id);
    if (c.preparation) {
      EXPECT_GT(after.etag(), before.etag());
    }
  }
  if (c.needs_victim && status.ok()) {
    EXPECT_FALSE(auth_->store()->Authenticate(victim_->secret, clock_->Now()).ok());
    victim_.reset();
  }
  if (c.preparation && !status.ok()) {
    // A domain error changed nothing either.
    const Dossier after = MustGet(before.code());
    EXPECT_EQ(after.etag(), before.etag());
    if (after.etag() == before.etag()) pristine_[c.label] = after;
  }
}

TEST_F(DaemonMatrixTest, EveryRpcRoleAndScopeMatchesTheDocumentedTable) {
  std::vector<std::unique_ptr<Caller>> callers;
  for (const Kind kind : {Kind::kClerk, Kind::kOfficer, Kind::kSupervisor, Kind::kService,
                          Kind::kServiceWithWrites, Kind::kAdmin}) {
    for (const char* agency : {kCommune, kDistrict, kOtherCommune}) {
      callers.push_back(NewCaller(kind, agency));
    }
  }
  // The province's admin: the only one of these who acts on the whole
  // daemon (clock, audit, reload, backup).
  callers.push_back(NewCaller(Kind::kAdmin, kProvince));
  callers.push_back(NewCaller(Kind::kAnonymous, kOtherCommune));
  callers.push_back(NewCaller(Kind::kGarbage, kOtherCommune));
  // A dossier in the other commune, so that scoped lists have something to
  // leave out.
  MustSubmit(testing::kCommuneProcedure, kOtherCommune, true);

  const int64_t start = AuditHead();
  std::map<Expect, int> counts;
  const std::vector<RpcCase> cases = Cases();
  for (const RpcCase& c : cases) {
    for (const std::unique_ptr<Caller>& caller : callers) {
      SCOPED_TRACE(absl::StrCat(c.label, " as ", caller->label));
      RunCase(c, *caller, &counts);
    }
  }
  // Every denial of the matrix is in the audit log, and nothing else is a
  // denial.
  int denials = 0;
  for (const AuditRecord& record : AuditAfter(start)) {
    if (record.result_code() == static_cast<int>(grpc::StatusCode::PERMISSION_DENIED) ||
        record.result_code() == static_cast<int>(grpc::StatusCode::UNAUTHENTICATED)) {
      ++denials;
    }
  }
  EXPECT_EQ(denials, counts[Expect::kDenied] + counts[Expect::kUnauthenticated] +
                         refused_import_records_);
  EXPECT_EQ(static_cast<size_t>(counts[Expect::kAllowed] + counts[Expect::kDenied] +
                                counts[Expect::kUnauthenticated]),
            cases.size() * callers.size());
  // 40 RPC cases × 21 callers.
  EXPECT_EQ(cases.size(), 40u);
  EXPECT_EQ(counts[Expect::kUnauthenticated], 2 * 40);
}

// --- The edges ------------------------------------------------------------

TEST_F(DaemonMatrixTest, RevokedTokenIsRefusedOnTheNextCall) {
  auto admin = NewCaller(Kind::kAdmin, kProvince);
  auto context = NewContext();
  CreateTokenRequest create;
  create.mutable_principal()->set_id("clerk.short");
  Grant* grant = create.mutable_principal()->add_grants();
  grant->set_role(ROLE_CLERK);
  grant->set_agency_code(kCommune);
  CreateTokenResponse created;
  ASSERT_TRUE(admin->stubs->security->CreateToken(context.get(), create, &created).ok());
  Stubs clerk(testing::AuthorizedChannel(server_->address(), created.secret()));
  GetClockResponse clock;
  {
    auto call = NewContext();
    EXPECT_TRUE(clerk.admin->GetClock(call.get(), GetClockRequest(), &clock).ok());
  }
  {
    auto call = NewContext();
    RevokeTokenRequest revoke;
    revoke.set_token_id(created.token().id());
    RevokeTokenResponse revoked;
    ASSERT_TRUE(admin->stubs->security->RevokeToken(call.get(), revoke, &revoked).ok());
    EXPECT_TRUE(revoked.token().has_revoke_time());
  }
  const int64_t head = AuditHead();
  auto call = NewContext();
  const grpc::Status status = clerk.admin->GetClock(call.get(), GetClockRequest(), &clock);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  const std::vector<AuditRecord> audit = AuditAfter(head);
  ASSERT_EQ(audit.size(), 1u);
  EXPECT_EQ(audit[0].principal_id(), "");
  EXPECT_EQ(audit[0].rpc(), "GetClock");
  EXPECT_EQ(audit[0].result_code(), static_cast<int>(grpc::StatusCode::UNAUTHENTICATED));
}

TEST_F(DaemonMatrixTest, TokenIsRefusedOnceTheClockPassesItsExpiry) {
  auto admin = NewCaller(Kind::kAdmin, kProvince);
  CreateTokenRequest create;
  create.mutable_principal()->set_id("clerk.hour");
  Grant* grant = create.mutable_principal()->add_grants();
  grant->set_role(ROLE_CLERK);
  grant->set_agency_code(kCommune);
  create.set_ttl_seconds(3600);
  CreateTokenResponse created;
  {
    auto context = NewContext();
    ASSERT_TRUE(admin->stubs->security->CreateToken(context.get(), create, &created).ok());
  }
  Stubs clerk(testing::AuthorizedChannel(server_->address(), created.secret()));
  auto get_clock = [&clerk] {
    auto context = NewContext();
    GetClockResponse response;
    return clerk.admin->GetClock(context.get(), GetClockRequest(), &response);
  };
  auto advance = [&admin](int64_t seconds) {
    auto context = NewContext();
    AdvanceClockRequest request;
    request.set_seconds(seconds);
    AdvanceClockResponse response;
    return admin->stubs->admin->AdvanceClock(context.get(), request, &response);
  };
  ASSERT_TRUE(advance(3599).ok());
  EXPECT_TRUE(get_clock().ok());
  ASSERT_TRUE(advance(1).ok());
  EXPECT_EQ(get_clock().error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

// A supervisor's token minted by the admin (ttl 0: the default lifetime),
// its secret and id.
CreateTokenResponse MintSupervisorToken(SecurityService::Stub* admin, int64_t ttl_seconds) {
  CreateTokenRequest create;
  create.mutable_principal()->set_id("supervisor.watching");
  Grant* grant = create.mutable_principal()->add_grants();
  grant->set_role(ROLE_SUPERVISOR);
  grant->set_agency_code(kDistrict);
  create.set_ttl_seconds(ttl_seconds);
  CreateTokenResponse created;
  auto context = NewContext();
  const grpc::Status status = admin->CreateToken(context.get(), create, &created);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return created;
}

// Opens a watch with `secret`, reads its first message (the progress that
// says it caught up), runs `end_credentials`, then reads on: the stream must
// end UNAUTHENTICATED by itself, and the refusal be audited once.
void ExpectWatchEndsWhenCredentialsDo(const std::string& address, const std::string& secret,
                                      const std::function<void()>& end_credentials,
                                      const std::function<int64_t()>& audit_head,
                                      const std::function<std::vector<AuditRecord>(int64_t)>&
                                          audit_after) {
  Stubs watcher(testing::AuthorizedChannel(address, secret));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  std::unique_ptr<grpc::ClientReader<WatchEventsResponse>> reader =
      watcher.feed->WatchEvents(&context, WatchEventsRequest());
  WatchEventsResponse message;
  ASSERT_TRUE(reader->Read(&message)) << "the watch was not admitted";
  const int64_t head = audit_head();
  end_credentials();
  while (reader->Read(&message)) {
  }
  const grpc::Status status = reader->Finish();
  // Not DEADLINE_EXCEEDED: the server ended the stream, not the client.
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED) << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr("the watch was ended"));
  std::vector<AuditRecord> refusals;  // the revocation or clock change is audited too
  for (const AuditRecord& record : audit_after(head)) {
    if (record.rpc() == "WatchEvents") refusals.push_back(record);
  }
  ASSERT_EQ(refusals.size(), 1u);
  const AuditRecord& refusal = refusals.front();
  EXPECT_EQ(refusal.principal_id(), "");
  EXPECT_EQ(refusal.result_code(), static_cast<int>(grpc::StatusCode::UNAUTHENTICATED));
}

TEST_F(DaemonMatrixTest, RevokingATokenEndsItsOpenWatch) {
  auto admin = NewCaller(Kind::kAdmin, kProvince);
  MustSubmit(testing::kCommuneProcedure, kCommune, true);
  const CreateTokenResponse created = MintSupervisorToken(admin->stubs->security.get(), 0);
  ExpectWatchEndsWhenCredentialsDo(
      server_->address(), created.secret(),
      [&] {
        auto context = NewContext();
        RevokeTokenRequest revoke;
        revoke.set_token_id(created.token().id());
        RevokeTokenResponse revoked;
        ASSERT_TRUE(admin->stubs->security->RevokeToken(context.get(), revoke, &revoked).ok());
      },
      [this] { return AuditHead(); }, [this](int64_t head) { return AuditAfter(head); });
}

TEST_F(DaemonMatrixTest, ExpiringATokenEndsItsOpenWatch) {
  auto admin = NewCaller(Kind::kAdmin, kProvince);
  const CreateTokenResponse created = MintSupervisorToken(admin->stubs->security.get(), 3600);
  ExpectWatchEndsWhenCredentialsDo(
      server_->address(), created.secret(),
      [&] {
        auto context = NewContext();
        AdvanceClockRequest request;
        request.set_seconds(3600);
        AdvanceClockResponse response;
        ASSERT_TRUE(admin->stubs->admin->AdvanceClock(context.get(), request, &response).ok());
      },
      [this] { return AuditHead(); }, [this](int64_t head) { return AuditAfter(head); });
}

TEST_F(DaemonMatrixTest, HistoryRecordsThePrincipalNotTheActorHeader) {
  auto clerk = NewCaller(Kind::kClerk, kCommune);
  auto officer = NewCaller(Kind::kOfficer, kCommune);
  auto context = NewContext();  // carries onestop-actor: mallory
  SubmitDossierResponse submitted;
  ASSERT_TRUE(clerk->stubs->dossiers
                  ->SubmitDossier(context.get(),
                                  Submission(testing::kCommuneProcedure, kCommune, true),
                                  &submitted)
                  .ok());
  Dossier dossier = submitted.dossier();
  ASSERT_TRUE(Act(clerk->stubs->dossiers.get(), ACTION_KIND_HAND_OVER, dossier, "", &dossier).ok());
  ASSERT_TRUE(
      Act(officer->stubs->dossiers.get(), ACTION_KIND_RECORD_DECISION, dossier, "", &dossier)
          .ok());
  const Dossier stored = MustGet(dossier.code());
  ASSERT_EQ(stored.history_size(), 3);
  EXPECT_EQ(stored.history(0).actor(), clerk->id);
  EXPECT_EQ(stored.history(1).actor(), clerk->id);
  EXPECT_EQ(stored.history(2).actor(), officer->id);
  for (const HistoryEntry& entry : stored.history()) EXPECT_NE(entry.actor(), kForgedActor);
}

// A processing action needs the officer's grant at the agency the workflow
// acts as — the holder — not at any of the dossier's agencies: the
// receiving commune's officer may not decide, stop or mark ready a dossier
// handed over to another agency, with or without naming an acting agency
// (a procedure without a route ignores it), and gets PERMISSION_DENIED
// with nothing changed; the holder's officer may.
TEST_F(DaemonMatrixTest, OnlyTheHoldersOfficerTakesProcessingActions) {
  const Dossier dossier = ReceivedAndHandedOverTo(kOtherCommune);
  ASSERT_EQ(dossier.holder_agency_code(), kOtherCommune);
  ASSERT_EQ(dossier.receiving_agency_code(), kCommune);

  auto receiving_officer = NewCaller(Kind::kOfficer, kCommune);
  for (const std::string& acting : {std::string(), std::string(kCommune)}) {
    for (ActionKind kind :
         {ACTION_KIND_RECORD_DECISION, ACTION_KIND_STOP, ACTION_KIND_MARK_RESULT_READY}) {
      Dossier ignored;
      const grpc::Status status =
          Act(receiving_officer->stubs->dossiers.get(), kind, dossier, acting, &ignored);
      EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED)
          << ActionKind_Name(kind) << " acting \"" << acting << "\": " << status.error_message();
    }
  }
  const Dossier unchanged = MustGet(dossier.code());
  EXPECT_EQ(unchanged.etag(), dossier.etag());
  EXPECT_EQ(unchanged.status(), DOSSIER_STATUS_PROCESSING);
  // The receiving officer may see the dossier: its denial says whose turn it is.
  {
    Dossier ignored;
    const grpc::Status status = Act(receiving_officer->stubs->dossiers.get(),
                                    ACTION_KIND_RECORD_DECISION, dossier, "", &ignored);
    EXPECT_THAT(status.error_message(), HasSubstr(absl::StrCat("on ", kOtherCommune)));
  }

  auto holding_officer = NewCaller(Kind::kOfficer, kOtherCommune);
  Dossier decided;
  const grpc::Status status = Act(holding_officer->stubs->dossiers.get(),
                                  ACTION_KIND_RECORD_DECISION, dossier, "", &decided);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(decided.decision().agency_code(), kOtherCommune);
}

// A caller who may not see a dossier learns from a refusal neither where
// the dossier is now nor where it went: the denial names its code (which
// carries the receiving desk by design) and the caller's own agencies.
TEST_F(DaemonMatrixTest, DenialToACallerWhoMayNotSeeTheDossierDoesNotSayWhereItIs) {
  const Dossier dossier = ReceivedAndHandedOverTo(kDistrict);
  ASSERT_EQ(dossier.holder_agency_code(), kDistrict);
  auto outsider = NewCaller(Kind::kOfficer, kOtherCommune);
  std::vector<grpc::Status> denials;
  {
    auto context = NewContext();
    GetDossierRequest request;
    request.set_code(dossier.code());
    GetDossierResponse response;
    denials.push_back(outsider->stubs->dossiers->GetDossier(context.get(), request, &response));
  }
  Dossier ignored;
  denials.push_back(Act(outsider->stubs->dossiers.get(), ACTION_KIND_RECORD_DECISION, dossier, "",
                        &ignored));
  for (const grpc::Status& status : denials) {
    EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << status.error_message();
    EXPECT_THAT(status.error_message(), HasSubstr(absl::StrCat("on dossier ", dossier.code())));
    EXPECT_THAT(status.error_message(), HasSubstr(kOtherCommune));  // the caller's own
    EXPECT_THAT(status.error_message(), ::testing::Not(HasSubstr(kDistrict)));
  }
}

TEST_F(DaemonMatrixTest, UnfilteredListOfACommuneClerkHoldsOnlyItsCommune) {
  const Dossier mine = MustSubmit(testing::kCommuneProcedure, kCommune, true);
  const Dossier theirs = MustSubmit(testing::kCommuneProcedure, kOtherCommune, true);
  auto list = [](Caller& caller) {
    auto context = NewContext();
    ListDossiersResponse response;
    const grpc::Status status =
        caller.stubs->dossiers->ListDossiers(context.get(), ListDossiersRequest(), &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    std::set<std::string> codes;
    for (const Dossier& dossier : response.dossiers()) codes.insert(dossier.code());
    return codes;
  };
  auto clerk = NewCaller(Kind::kClerk, kCommune);
  EXPECT_EQ(list(*clerk), std::set<std::string>({mine.code()}));
  auto other_clerk = NewCaller(Kind::kClerk, kOtherCommune);
  EXPECT_EQ(list(*other_clerk), std::set<std::string>({theirs.code()}));
  auto district_clerk = NewCaller(Kind::kClerk, kDistrict);
  EXPECT_EQ(list(*district_clerk), std::set<std::string>({mine.code(), theirs.code()}));
}

TEST_F(DaemonMatrixTest, SupervisorsReadMaskedNumbersInGetListAndFeed) {
  const Dossier dossier = MustSubmit(testing::kCommuneProcedure, kCommune, true);
  auto read = [&dossier](Caller& caller) {
    std::vector<Dossier> seen;
    {
      auto context = NewContext();
      GetDossierRequest request;
      request.set_code(dossier.code());
      GetDossierResponse response;
      EXPECT_TRUE(caller.stubs->dossiers->GetDossier(context.get(), request, &response).ok());
      seen.push_back(response.dossier());
    }
    {
      auto context = NewContext();
      ListDossiersRequest request;
      request.set_agency_code(kCommune);
      ListDossiersResponse response;
      EXPECT_TRUE(caller.stubs->dossiers->ListDossiers(context.get(), request, &response).ok());
      EXPECT_EQ(response.dossiers_size(), 1);
      for (const Dossier& listed : response.dossiers()) seen.push_back(listed);
    }
    return seen;
  };
  auto watch = [&dossier](Caller& caller) {
    std::vector<Dossier> seen;
    WatchEventsRequest request;
    const grpc::Status status =
        Watch(caller.stubs->feed.get(), request, &seen, [&dossier](const WatchEventsResponse& m) {
          return m.has_event() && m.event().dossier().code() == dossier.code();
        });
    EXPECT_TRUE(status.ok()) << status.error_message();
    EXPECT_FALSE(seen.empty());
    return seen;
  };
  auto supervisor = NewCaller(Kind::kSupervisor, kDistrict);
  std::vector<Dossier> masked = read(*supervisor);
  for (const Dossier& d : watch(*supervisor)) masked.push_back(d);
  ASSERT_EQ(masked.size(), 3u);
  for (const Dossier& d : masked) {
    EXPECT_EQ(d.applicant().personal_id(), kMaskedPersonalId);
    EXPECT_EQ(d.applicant().phone(), kMaskedPhone);
  }
  auto clerk = NewCaller(Kind::kClerk, kCommune);
  const std::vector<Dossier> plain = read(*clerk);
  ASSERT_EQ(plain.size(), 2u);
  for (const Dossier& d : plain) {
    EXPECT_EQ(d.applicant().personal_id(), kPersonalId);
    EXPECT_EQ(d.applicant().phone(), kPhone);
  }
  // A desk that also supervises watches the feed with the numbers.
  Principal both;
  both.set_id("clerk.and.supervisor");
  for (const Role role : {ROLE_CLERK, ROLE_SUPERVISOR}) {
    Grant* grant = both.add_grants();
    grant->set_role(role);
    grant->set_agency_code(kCommune);
  }
  Caller desk;
  desk.stubs = std::make_unique<Stubs>(
      testing::AuthorizedChannel(server_->address(), testing::MustToken(auth_->TokenFor(both))));
  const std::vector<Dossier> fed = watch(desk);
  ASSERT_FALSE(fed.empty());
  EXPECT_EQ(fed.back().applicant().personal_id(), kPersonalId);
  EXPECT_EQ(fed.back().applicant().phone(), kPhone);
}

TEST_F(DaemonMatrixTest, ThirdConcurrentWatchOfOnePrincipalIsResourceExhausted) {
  auto supervisor = NewCaller(Kind::kSupervisor, kDistrict);
  MustSubmit(testing::kCommuneProcedure, kCommune, true);
  struct Open {
    std::unique_ptr<grpc::ClientContext> context;
    std::unique_ptr<grpc::ClientReader<WatchEventsResponse>> reader;
  };
  std::vector<Open> open;
  for (int i = 0; i < 2; ++i) {
    Open stream;
    stream.context = NewContext();
    stream.reader =
        supervisor->stubs->feed->WatchEvents(stream.context.get(), WatchEventsRequest());
    WatchEventsResponse first;
    ASSERT_TRUE(stream.reader->Read(&first)) << "stream " << i << " was not admitted";
    open.push_back(std::move(stream));
  }
  std::vector<Dossier> ignored;
  const grpc::Status third = Watch(supervisor->stubs->feed.get(), WatchEventsRequest(), &ignored,
                                   [](const WatchEventsResponse&) { return true; });
  EXPECT_EQ(third.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << third.error_message();
  EXPECT_THAT(third.error_message(), HasSubstr(supervisor->id));
  // The limit is per principal: another one still gets a stream.
  auto service = NewCaller(Kind::kService, kDistrict);
  EXPECT_TRUE(Watch(service->stubs->feed.get(), WatchEventsRequest(), &ignored,
                    [](const WatchEventsResponse&) { return true; })
                  .ok());
  for (Open& stream : open) {
    stream.context->TryCancel();
    stream.reader->Finish();
  }
}

TEST_F(DaemonMatrixTest, CitizenLookupNeedsNoTokenAndAnswersWrongDigitsLikeUnknownCodes) {
  const Dossier dossier = MustSubmit(testing::kCommuneProcedure, kCommune, true);
  auto anonymous = NewCaller(Kind::kAnonymous, kOtherCommune);
  auto lookup = [&anonymous](const std::string& code, const std::string& four,
                             LookupDossierResponse* response) {
    auto context = NewContext();
    LookupDossierRequest request;
    request.set_code(code);
    request.set_last_four(four);
    return anonymous->stubs->citizen->LookupDossier(context.get(), request, response);
  };
  for (const char* four : {"5678", "1234"}) {  // phone, then personal ID
    LookupDossierResponse found;
    const grpc::Status status = lookup(dossier.code(), four, &found);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(found.code(), dossier.code());
    EXPECT_EQ(found.status(), DOSSIER_STATUS_RECEIVED);
    EXPECT_EQ(found.due_time().seconds(), dossier.due_time().seconds());
  }
  LookupDossierResponse ignored;
  const grpc::Status wrong = lookup(dossier.code(), "0000", &ignored);
  const grpc::Status unknown = lookup("000.31.01.H15-200106-9999", "5678", &ignored);
  EXPECT_EQ(wrong.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(wrong.error_message(), unknown.error_message());
  EXPECT_EQ(wrong.error_details(), unknown.error_details());
}

}  // namespace
}  // namespace onestop
