// AdminService.ImportDossiers end to end (issue #8): the real OnestopServer
// (so AggregatingDossierStore and NotifyingDossierStore) over a real SQLite
// file through in-process gRPC, with a controlled clock.
#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "google/protobuf/util/message_differencer.h"
#include "onestop/v1/dossier_service.grpc.pb.h"
#include "onestop/v1/report_service.grpc.pb.h"
#include "server/config/config_loader.h"
#include "server/core/report.h"
#include "server/service/onestop_server.h"
#include "server/util/clock.h"
#include "server/util/proto_time.h"
#include "storage/sqlite/sqlite_dossier_store.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_auth.h"
#include "tests/testing/test_config.h"

namespace onestop {
namespace {

using ::google::protobuf::util::MessageDifferencer;
using ::testing::HasSubstr;
using namespace onestop::v1;  // NOLINT

absl::Time VnTime(int y, int m, int d, int hh, int mm = 0) {
  return absl::FromCivil(absl::CivilMinute(y, m, d, hh, mm), absl::FixedTimeZone(7 * 3600));
}

HistoryEntry Step(int sequence, absl::Time time, ActionKind action, DossierStatus from,
                  DossierStatus to, const std::string& holder, const std::string& actor) {
  HistoryEntry e;
  e.set_sequence(sequence);
  *e.mutable_time() = ToProtoTime(time);
  e.set_actor(actor);
  e.set_action(action);
  e.set_from_status(from);
  e.set_to_status(to);
  e.set_holder_agency_code(holder);
  return e;
}

// A dossier from the old system at `agency`, received at `received`; with
// `returned` it went through to RETURNED (6 entries), else it is still
// PROCESSING (2 entries).
Dossier OldDossier(const std::string& code, const std::string& agency, absl::Time received,
                   bool returned, const std::string& name = "Nguyễn Thị Hằng") {
  Dossier d;
  d.set_code(code);
  d.set_procedure_code(testing::kCommuneProcedure);
  d.set_receiving_agency_code(agency);
  d.set_holder_agency_code(agency);
  d.set_deciding_agency_code(agency);
  d.mutable_applicant()->set_full_name(name);
  d.mutable_applicant()->set_personal_id("066190001234");
  d.mutable_applicant()->set_address("Buôn Jun, thị trấn Liên Sơn, huyện Lắk");
  d.set_channel(CHANNEL_ONLINE);
  d.add_documents()->set_name("Tờ khai đăng ký khai sinh");
  d.mutable_documents(0)->set_copies(1);
  d.set_summary("Đăng ký khai sinh (hệ thống cũ)");
  *d.mutable_submitted_time() = ToProtoTime(received);
  *d.mutable_received_time() = ToProtoTime(received);
  *d.mutable_original_due_time() = ToProtoTime(received + absl::Hours(72));
  *d.mutable_due_time() = ToProtoTime(received + absl::Hours(72));
  *d.add_history() = Step(1, received, ACTION_KIND_SUBMIT, DOSSIER_STATUS_UNSPECIFIED,
                          DOSSIER_STATUS_RECEIVED, agency, "canbo.cu");
  *d.add_history() = Step(2, received + absl::Hours(1), ACTION_KIND_HAND_OVER,
                          DOSSIER_STATUS_RECEIVED, DOSSIER_STATUS_PROCESSING, agency, "canbo.cu");
  d.set_status(DOSSIER_STATUS_PROCESSING);
  if (returned) {
    const absl::Time decided = received + absl::Hours(2);
    d.mutable_decision()->set_outcome(DECISION_OUTCOME_APPROVED);
    d.mutable_decision()->set_agency_code(agency);
    *d.mutable_decision()->mutable_decided_time() = ToProtoTime(decided);
    *d.mutable_finished_time() = ToProtoTime(decided + absl::Hours(1));
    *d.mutable_returned_time() = ToProtoTime(decided + absl::Hours(24));
    d.set_return_mode(RETURN_MODE_AT_DESK);
    *d.add_history() = Step(3, decided, ACTION_KIND_RECORD_DECISION, DOSSIER_STATUS_PROCESSING,
                            DOSSIER_STATUS_PROCESSING, agency, "lanhdao.cu");
    *d.add_history() = Step(4, decided + absl::Hours(1), ACTION_KIND_MARK_RESULT_READY,
                            DOSSIER_STATUS_PROCESSING, DOSSIER_STATUS_RESULT_READY, agency,
                            "lanhdao.cu");
    HistoryEntry note = Step(5, decided + absl::Hours(1), ACTION_KIND_RESCHEDULE,
                             DOSSIER_STATUS_RESULT_READY, DOSSIER_STATUS_RESULT_READY, agency,
                             "canbo.cu");
    note.set_note("Ghi chú chuyển từ hệ thống cũ: “đã gọi điện”");
    *d.add_history() = note;
    *d.add_history() = Step(6, decided + absl::Hours(24), ACTION_KIND_RETURN_RESULT,
                            DOSSIER_STATUS_RESULT_READY, DOSSIER_STATUS_RETURNED, agency,
                            "canbo.cu");
    d.set_status(DOSSIER_STATUS_RETURNED);
  }
  d.set_etag(d.history_size());
  return d;
}

// Number `number` of the commune's dossiers received on 2 January 2020
// (code "000.31.01.H15-200102-NNNN"), returned or still processing.
Dossier CommuneDossier(int number, bool returned = true) {
  return OldDossier(absl::StrFormat("000.31.01.H15-200102-%04d", number), testing::kCommune,
                    VnTime(2020, 1, 2, 9), returned);
}

ImportDossiersRequest RequestOf(const Dossier& dossier) {
  ImportDossiersRequest request;
  *request.add_dossiers() = dossier;
  return request;
}

class ImportServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto catalogue = config::LoadConfigText(testing::kTestConfig, "test.textproto");
    ASSERT_TRUE(catalogue.ok()) << catalogue.status();
    catalogue_ = *catalogue;
    clock_ = std::make_unique<ControlledClock>(VnTime(2020, 1, 6, 8), SystemClock::Get());
    auto store = storage::SqliteDossierStore::Open({.path = dir_.File("onestop.db")});
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
    auto server = service::OnestopServer::Start(options, deps);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    auto channel = testing::AuthorizedChannel(
        server_->address(), testing::MustToken(auth_->AllRolesToken(*catalogue_, "admin.tinh")));
    dossiers_ = DossierService::NewStub(channel);
    admin_ = AdminService::NewStub(channel);
    reports_ = ReportService::NewStub(channel);
    Principal clerk;
    clerk.set_id("clerk.lienson");
    Grant* grant = clerk.add_grants();
    grant->set_role(ROLE_CLERK);
    grant->set_agency_code(testing::kCommune);
    clerk_admin_ = AdminService::NewStub(testing::AuthorizedChannel(
        server_->address(), testing::MustToken(auth_->TokenFor(clerk))));
  }
  void TearDown() override {
    if (server_) server_->Shutdown(absl::Seconds(5));
    server_.reset();
    store_.reset();
  }

  // Streams `batches` and collects the answers; returns the stream status.
  grpc::Status Import(AdminService::Stub* stub, const std::vector<std::vector<Dossier>>& batches,
                      std::vector<ImportDossiersResponse>* answers) {
    grpc::ClientContext context;
    auto stream = stub->ImportDossiers(&context);
    for (const std::vector<Dossier>& batch : batches) {
      ImportDossiersRequest request;
      for (const Dossier& d : batch) *request.add_dossiers() = d;
      if (!stream->Write(request)) break;
      ImportDossiersResponse response;
      if (!stream->Read(&response)) break;
      answers->push_back(response);
    }
    stream->WritesDone();
    return stream->Finish();
  }

  Dossier MustGet(const std::string& code) {
    grpc::ClientContext context;
    GetDossierRequest request;
    request.set_code(code);
    GetDossierResponse response;
    const grpc::Status status = dossiers_->GetDossier(&context, request, &response);
    EXPECT_TRUE(status.ok()) << code << ": " << status.error_message();
    return response.dossier();
  }

  Dossier MustSubmit() {
    SubmitDossierRequest request;
    request.set_procedure_code(testing::kCommuneProcedure);
    request.set_receiving_agency_code(testing::kCommune);
    request.mutable_applicant()->set_full_name("Y Blăk Êban");
    request.set_channel(CHANNEL_DIRECT);
    request.set_receive_now(true);
    grpc::ClientContext context;
    SubmitDossierResponse response;
    const grpc::Status status = dossiers_->SubmitDossier(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.dossier();
  }

  testing::TempDir dir_;
  std::shared_ptr<const core::Catalogue> catalogue_;
  std::unique_ptr<ControlledClock> clock_;
  std::unique_ptr<storage::SqliteDossierStore> store_;
  std::unique_ptr<testing::TestAuth> auth_;
  std::unique_ptr<service::OnestopServer> server_;
  std::unique_ptr<DossierService::Stub> dossiers_;
  std::unique_ptr<AdminService::Stub> admin_;
  std::unique_ptr<ReportService::Stub> reports_;
  std::unique_ptr<AdminService::Stub> clerk_admin_;
};

TEST_F(ImportServiceTest, ImportsGoodRecordsAndReportsEachBadOneWithoutStopping) {
  const Dossier live = MustSubmit();  // 000.31.01.H15-200106-0001, revision 1
  ASSERT_EQ(live.code(), "000.31.01.H15-200106-0001");

  const Dossier a = OldDossier("000.31.01.H15-200106-0050", testing::kCommune,
                               VnTime(2020, 1, 2, 9), /*returned=*/true);
  const Dossier b = OldDossier("000.31.02.H15-200103-0007", testing::kOtherCommune,
                               VnTime(2020, 1, 3, 10), /*returned=*/false, "H' Hen Niê");
  Dossier a_changed = a;
  a_changed.set_summary("Một nội dung khác");
  Dossier no_history = OldDossier("000.31.01.H15-200102-0003", testing::kCommune,
                                  VnTime(2020, 1, 2, 9), false);
  no_history.clear_history();
  no_history.set_etag(0);
  Dossier unknown_agency = OldDossier("000.99.01.H15-200102-0001", "000.99.01.H15",
                                      VnTime(2020, 1, 2, 9), false);
  Dossier over_live = OldDossier(live.code(), testing::kCommune, VnTime(2020, 1, 6, 8), false);

  std::vector<ImportDossiersResponse> answers;
  const grpc::Status status =
      Import(admin_.get(),
             {{a, b, a, a_changed, no_history, unknown_agency, over_live},
              {a, b}},  // the whole file again: nothing new
             &answers);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(answers.size(), 2u);
  EXPECT_EQ(answers[0].imported(), 2);
  EXPECT_EQ(answers[0].already_present(), 1);
  EXPECT_EQ(answers[0].failed(), 4);
  ASSERT_EQ(answers[0].failures_size(), 4);
  EXPECT_EQ(answers[0].failures(0).index(), 3);
  EXPECT_EQ(answers[0].failures(0).code(), a.code());
  EXPECT_EQ(answers[0].failures(0).status_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(answers[0].failures(0).message(), HasSubstr("different dossier"));
  EXPECT_EQ(answers[0].failures(1).index(), 4);
  EXPECT_EQ(answers[0].failures(1).status_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(answers[0].failures(1).message(), HasSubstr("history"));
  EXPECT_EQ(answers[0].failures(2).index(), 5);
  EXPECT_EQ(answers[0].failures(2).status_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(answers[0].failures(2).message(), HasSubstr("000.99.01.H15"));
  EXPECT_EQ(answers[0].failures(3).index(), 6);
  EXPECT_EQ(answers[0].failures(3).status_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(answers[1].imported(), 0);
  EXPECT_EQ(answers[1].already_present(), 2);
  EXPECT_EQ(answers[1].failed(), 0);

  // Nothing else changed: the live dossier is as it was.
  const Dossier live_now = MustGet(live.code());
  EXPECT_EQ(live_now.etag(), live.etag());
  EXPECT_EQ(live_now.history_size(), 1);

  // One IMPORT event per imported dossier, after the submission's.
  absl::StatusOr<std::vector<DossierEvent>> events = store_->ReadEvents(0, 100);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 3u);
  EXPECT_EQ((*events)[1].action(), ACTION_KIND_IMPORT);
  EXPECT_EQ((*events)[1].dossier().code(), a.code());
  EXPECT_EQ((*events)[1].entry().sequence(), 6);
  EXPECT_EQ((*events)[2].action(), ACTION_KIND_IMPORT);
  EXPECT_EQ((*events)[2].dossier().code(), b.code());

  // GetDossier returns the imported history exactly.
  const Dossier got = MustGet(a.code());
  ASSERT_EQ(got.history_size(), a.history_size());
  for (int i = 0; i < a.history_size(); ++i) {
    EXPECT_TRUE(MessageDifferencer::Equals(got.history(i), a.history(i)))
        << got.history(i).ShortDebugString();
  }
  EXPECT_EQ(got.etag(), 6);
  EXPECT_EQ(got.status(), DOSSIER_STATUS_RETURNED);
  EXPECT_EQ(got.portal_status_code(), 10);
  EXPECT_EQ(got.applicant().full_name(), "Nguyễn Thị Hằng");
  EXPECT_EQ(got.history(4).note(), "Ghi chú chuyển từ hệ thống cũ: “đã gọi điện”");
  EXPECT_EQ(MustGet(b.code()).applicant().full_name(), "H' Hen Niê");

  // A later submission at the same desk and day gets a code above them.
  EXPECT_EQ(MustSubmit().code(), "000.31.01.H15-200106-0051");

  // The counters equal a recomputation over every stored dossier.
  std::vector<Dossier> all;
  for (const std::string& code : {live.code(), a.code(), b.code(),
                                  std::string("000.31.01.H15-200106-0051")}) {
    absl::StatusOr<Dossier> d = store_->Get(code);
    ASSERT_TRUE(d.ok()) << d.status();
    all.push_back(*d);
  }
  for (const ReportGroupBy group_by : {REPORT_GROUP_BY_NONE, REPORT_GROUP_BY_AGENCY,
                                       REPORT_GROUP_BY_CHANNEL, REPORT_GROUP_BY_PROCEDURE}) {
    for (const auto& [from, to] : std::vector<std::pair<absl::CivilDay, absl::CivilDay>>{
             {absl::CivilDay(2020, 1, 1), absl::CivilDay(2020, 1, 31)},
             {absl::CivilDay(2020, 1, 3), absl::CivilDay(2020, 1, 4)},
             {absl::CivilDay(2020, 1, 6), absl::CivilDay(2020, 2, 29)}}) {
      GetCompletionReportRequest request;
      request.set_agency_code(testing::kDistrict);
      *request.mutable_from() = core::ToDateProto(from);
      *request.mutable_to() = core::ToDateProto(to);
      request.set_group_by(group_by);
      GetCompletionReportResponse fast;
      grpc::ClientContext context;
      const grpc::Status reported = reports_->GetCompletionReport(&context, request, &fast);
      ASSERT_TRUE(reported.ok()) << reported.error_message();
      absl::StatusOr<core::ReportQuery> query =
          core::ParseReportRequest(request, *catalogue_, WITHDRAWN_POLICY_NOT_RESOLVED);
      ASSERT_TRUE(query.ok()) << query.status();
      const GetCompletionReportResponse slow = core::RecomputeReport(all, *query, *catalogue_);
      std::string diff;
      MessageDifferencer differencer;
      differencer.ReportDifferencesToString(&diff);
      EXPECT_TRUE(differencer.Compare(slow, fast)) << diff;
      if (group_by == REPORT_GROUP_BY_NONE && from == absl::CivilDay(2020, 1, 1)) {
        EXPECT_EQ(fast.total().columns().received_total(), 4);
        EXPECT_EQ(fast.total().columns().received_online(), 2);
      }
    }
  }
}

TEST_F(ImportServiceTest, NonAdminsArePermissionDeniedAndChangeNothing) {
  std::vector<ImportDossiersResponse> answers;
  const grpc::Status status =
      Import(clerk_admin_.get(),
             {{CommuneDossier(9)}},
             &answers);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr("clerk.lienson"));
  EXPECT_TRUE(answers.empty());
  EXPECT_EQ(*store_->LastRevision(), 0);
  // An empty stream is checked too.
  answers.clear();
  EXPECT_EQ(Import(clerk_admin_.get(), {}, &answers).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

// Each record is scoped by its receiving desk, as a submit is: an importer
// granted one commune cannot put dossiers into another commune's books by
// naming itself as their holder.
TEST_F(ImportServiceTest, AnImporterScopedToOneDeskCannotWriteIntoAnothersBooks) {
  Principal scoped;
  scoped.set_id("admin.lienson");
  Grant* grant = scoped.add_grants();
  grant->set_role(ROLE_ADMIN);
  grant->set_agency_code(testing::kCommune);
  auto stub = AdminService::NewStub(testing::AuthorizedChannel(
      server_->address(), testing::MustToken(auth_->TokenFor(scoped))));
  Dossier foreign = OldDossier("000.31.02.H15-200102-0007", testing::kOtherCommune,
                               VnTime(2020, 1, 2, 9), true);
  foreign.set_holder_agency_code(testing::kCommune);
  const Dossier own = CommuneDossier(8);
  std::vector<ImportDossiersResponse> answers;
  const grpc::Status status = Import(stub.get(), {{foreign, own}}, &answers);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_EQ(answers[0].imported(), 1);
  ASSERT_EQ(answers[0].failed(), 1);
  EXPECT_EQ(answers[0].failures(0).index(), 0);
  EXPECT_EQ(answers[0].failures(0).status_code(), static_cast<int>(grpc::StatusCode::PERMISSION_DENIED))
      << answers[0].DebugString();
  EXPECT_EQ(MustGet(own.code()).code(), own.code());
  grpc::ClientContext context;
  GetDossierRequest request;
  request.set_code(foreign.code());
  GetDossierResponse response;
  EXPECT_EQ(dossiers_->GetDossier(&context, request, &response).error_code(),
            grpc::StatusCode::NOT_FOUND);
  // The refused record is audited as a denial of its own, before the
  // request's record with the counts.
  absl::StatusOr<storage::AuditPage> page = auth_->store()->ListAudit({.limit = 100});
  ASSERT_TRUE(page.ok()) << page.status();
  std::vector<AuditRecord> imports;
  for (const AuditRecord& record : page->records) {
    if (record.rpc() == "ImportDossiers") imports.push_back(record);
  }
  ASSERT_EQ(imports.size(), 2u);
  EXPECT_EQ(imports[0].principal_id(), "admin.lienson");
  EXPECT_EQ(imports[0].dossier_code(), foreign.code());
  EXPECT_EQ(imports[0].result_code(), static_cast<int>(grpc::StatusCode::PERMISSION_DENIED));
  EXPECT_EQ(imports[1].result_code(), 0);
  EXPECT_EQ(imports[1].message(), "request 1: 1 imported, 0 already present, 1 failed");
}

TEST_F(ImportServiceTest, OversizedAndEmptyBatchesEndTheStream) {
  std::vector<ImportDossiersResponse> answers;
  EXPECT_EQ(Import(admin_.get(), {{}}, &answers).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  std::vector<Dossier> big(1001, OldDossier("000.31.01.H15-200102-0001", testing::kCommune,
                                            VnTime(2020, 1, 2, 9), false));
  answers.clear();
  const grpc::Status status = Import(admin_.get(), {big}, &answers);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("1001"));
  EXPECT_EQ(*store_->LastRevision(), 0);
}

// Each request is one transaction and is audited on its own, with its
// counts: a daemon that dies mid-stream leaves every committed request in
// the audit log.
TEST_F(ImportServiceTest, EveryRequestIsAuditedWithItsCounts) {
  const Dossier a = OldDossier("000.31.01.H15-200102-0021", testing::kCommune,
                               VnTime(2020, 1, 2, 9), /*returned=*/true);
  const Dossier b = OldDossier("000.31.01.H15-200102-0022", testing::kCommune,
                               VnTime(2020, 1, 2, 10), /*returned=*/false);
  Dossier bad = b;
  bad.set_code("000.31.01.H15-200102-0023");
  bad.clear_history();
  std::vector<ImportDossiersResponse> answers;
  ASSERT_TRUE(Import(admin_.get(), {{a}, {a, b, bad}}, &answers).ok());
  ASSERT_EQ(answers.size(), 2u);

  absl::StatusOr<storage::AuditPage> page = auth_->store()->ListAudit({.limit = 100});
  ASSERT_TRUE(page.ok()) << page.status();
  std::vector<std::string> notes;
  for (const AuditRecord& record : page->records) {
    if (record.rpc() != "ImportDossiers") continue;
    EXPECT_EQ(record.principal_id(), "admin.tinh");
    EXPECT_EQ(record.result_code(), 0);
    notes.push_back(record.message());
  }
  EXPECT_THAT(notes, ::testing::ElementsAre(
                         "request 1: 1 imported, 0 already present, 0 failed",
                         "request 2: 1 imported, 1 already present, 1 failed"));
}

// The caller is checked again for every request: a token revoked during a
// long import stops it at the next request, which writes nothing.
TEST_F(ImportServiceTest, ARevokedTokenStopsTheStreamAtTheNextRequest) {
  std::vector<std::string> roots;
  for (const Agency& agency : catalogue_->agencies()) {
    if (agency.parent_code().empty()) roots.push_back(agency.code());
  }
  absl::StatusOr<storage::CreatedToken> token = auth_->store()->CreateToken(
      {.principal = testing::AllRolesPrincipal(roots, "admin.nhapkhau"),
       .label = "import",
       .created = VnTime(2019, 1, 1, 8),
       .expires = absl::Now() + absl::Hours(24)});
  ASSERT_TRUE(token.ok()) << token.status();
  auto stub = AdminService::NewStub(testing::AuthorizedChannel(server_->address(), token->secret));
  const Dossier first = CommuneDossier(31);
  const Dossier second = CommuneDossier(32);

  grpc::ClientContext context;
  auto stream = stub->ImportDossiers(&context);
  ASSERT_TRUE(stream->Write(RequestOf(first)));
  ImportDossiersResponse response;
  ASSERT_TRUE(stream->Read(&response));
  EXPECT_EQ(response.imported(), 1);

  ASSERT_TRUE(auth_->store()->RevokeToken(token->info.id(), absl::Now()).ok());
  stream->Write(RequestOf(second));  // may already fail if the daemon ended the stream
  EXPECT_FALSE(stream->Read(&response));
  const grpc::Status status = stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED) << status.error_message();
  EXPECT_TRUE(store_->Get(first.code()).ok());
  EXPECT_EQ(store_->Get(second.code()).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(*store_->LastRevision(), 1);
}

// A client that sends every request before reading any answer (as
// onestopctl does) gets the answers in request order, and a code repeated
// in a later request meets the earlier request's dossier, as if the
// requests ran one after the other.
TEST_F(ImportServiceTest, PipelinedRequestsAnswerInOrderAndRepeatedCodesSeeEarlierRequests) {
  auto old = [](int number, const std::string& summary = "") {
    Dossier d = CommuneDossier(number, /*returned=*/number % 2 == 0);
    if (!summary.empty()) d.set_summary(summary);
    return d;
  };
  // Request k carries k + 1 new dossiers (numbers 100k + 0..k); request 2
  // repeats one of request 1 changed, request 3 one of request 2 as it is.
  std::vector<std::vector<Dossier>> batches(8);
  for (int k = 0; k < 8; ++k) {
    for (int j = 0; j <= k; ++j) batches[k].push_back(old(100 * (k + 1) + j));
  }
  batches[2].push_back(old(200, "Nội dung khác"));
  batches[3].push_back(old(300));

  grpc::ClientContext context;
  auto stream = admin_->ImportDossiers(&context);
  for (const std::vector<Dossier>& batch : batches) {
    ImportDossiersRequest request;
    for (const Dossier& d : batch) *request.add_dossiers() = d;
    ASSERT_TRUE(stream->Write(request));
  }
  stream->WritesDone();
  std::vector<ImportDossiersResponse> answers;
  ImportDossiersResponse response;
  while (stream->Read(&response)) answers.push_back(response);
  const grpc::Status status = stream->Finish();
  ASSERT_TRUE(status.ok()) << status.error_message();

  ASSERT_EQ(answers.size(), batches.size());
  for (int k = 0; k < 8; ++k) {
    EXPECT_EQ(answers[k].imported(), k + 1) << "request " << k;
  }
  ASSERT_EQ(answers[2].failures_size(), 1);
  EXPECT_EQ(answers[2].failures(0).index(), 3);
  EXPECT_EQ(answers[2].failures(0).code(), "000.31.01.H15-200102-0200");
  EXPECT_EQ(answers[2].failures(0).status_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(answers[3].already_present(), 1);
  EXPECT_EQ(answers[3].failed(), 0);
  EXPECT_EQ(MustGet("000.31.01.H15-200102-0200").summary(), old(200).summary());
  EXPECT_EQ(*store_->LastRevision(), 36);  // 1 + 2 + … + 8 imported, one event each
}

// A request that fails ends the stream, but only after every request
// before it has been answered, even when they were all sent at once.
TEST_F(ImportServiceTest, AFailedRequestEndsTheStreamAfterTheEarlierAnswers) {
  const Dossier first = CommuneDossier(41);
  const Dossier later = CommuneDossier(42);
  grpc::ClientContext context;
  auto stream = admin_->ImportDossiers(&context);
  ASSERT_TRUE(stream->Write(RequestOf(first)));
  ASSERT_TRUE(stream->Write(ImportDossiersRequest()));  // empty: INVALID_ARGUMENT
  stream->Write(RequestOf(later));  // may fail: the daemon may have ended the stream
  stream->WritesDone();
  std::vector<ImportDossiersResponse> answers;
  ImportDossiersResponse response;
  while (stream->Read(&response)) answers.push_back(response);
  const grpc::Status status = stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_EQ(answers[0].imported(), 1);
  EXPECT_EQ(MustGet(first.code()).etag(), 6);
}

}  // namespace
}  // namespace onestop
