// Runs onestopctl commands (parsed by CLI11 as main does) against a fake
// DossierService in the same process. The security commands and the bearer
// token have their own file: security_command_test.cc.
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "client/commands/command_context.h"
#include "client/commands/commands.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "onestop/v1/dossier_service.grpc.pb.h"

namespace onestop::client {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;

// The `authorization` header of a call, or "(none)".
std::string AuthorizationOf(const grpc::ServerContext& context) {
  auto header = context.client_metadata().find(kAuthorizationMetadataKey);
  if (header == context.client_metadata().end()) return "(none)";
  return std::string(header->second.data(), header->second.size());
}

class FakeDossierService final : public v1::DossierService::Service {
 public:
  grpc::Status GetDossier(grpc::ServerContext* context,
                          const v1::GetDossierRequest* request,
                          v1::GetDossierResponse* response) override {
    authorizations.push_back(AuthorizationOf(*context));
    if (request->code() != "X-1") {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "no dossier X-2");
    }
    response->mutable_dossier()->set_code("X-1");
    response->mutable_dossier()->set_etag(7);
    return grpc::Status::OK;
  }
  grpc::Status AcceptDossier(grpc::ServerContext* context,
                             const v1::AcceptDossierRequest* request,
                             v1::AcceptDossierResponse* response) override {
    last_accept = *request;
    authorizations.push_back(AuthorizationOf(*context));
    if (abort_next) {
      return grpc::Status(grpc::StatusCode::ABORTED, "etag 7 is stale");
    }
    v1::Dossier& d = *response->mutable_dossier();
    d.set_code(request->code());
    d.set_etag(request->etag() + 1);
    d.set_status(v1::DOSSIER_STATUS_RECEIVED);
    d.set_holder_agency_code("000.00.31.H15");
    return grpc::Status::OK;
  }
  grpc::Status SubmitDossier(grpc::ServerContext*,
                             const v1::SubmitDossierRequest* request,
                             v1::SubmitDossierResponse* response) override {
    last_submit = *request;
    v1::Dossier& d = *response->mutable_dossier();
    d.set_code("000.00.31.H15-200106-0001");
    d.set_etag(1);
    d.set_status(v1::DOSSIER_STATUS_RECEIVED);
    d.mutable_received_time()->set_seconds(1578272400);
    d.mutable_due_time()->set_seconds(1578531600);
    return grpc::Status::OK;
  }

  grpc::Status RequestPayment(grpc::ServerContext*,
                              const v1::RequestPaymentRequest* request,
                              v1::RequestPaymentResponse* response) override {
    last_request_payment = *request;
    response->mutable_dossier()->set_code(request->code());
    response->mutable_dossier()->set_status(v1::DOSSIER_STATUS_FINANCIAL_OBLIGATION);
    return grpc::Status::OK;
  }
  grpc::Status ConfirmPayment(grpc::ServerContext*,
                              const v1::ConfirmPaymentRequest* request,
                              v1::ConfirmPaymentResponse* response) override {
    last_confirm_payment = *request;
    response->mutable_dossier()->set_code(request->code());
    return grpc::Status::OK;
  }
  // The verbs that carry a --reason: the fake records it and answers the
  // dossier with the status the verb leads to.
  template <typename Request, typename Response>
  grpc::Status RecordReason(const Request& request, Response& response, v1::DossierStatus status) {
    reasons.push_back(request.reason());
    response.mutable_dossier()->set_code(request.code());
    response.mutable_dossier()->set_status(status);
    return grpc::Status::OK;
  }
  grpc::Status RefuseDossier(grpc::ServerContext*, const v1::RefuseDossierRequest* request,
                             v1::RefuseDossierResponse* response) override {
    return RecordReason(*request, *response, v1::DOSSIER_STATUS_REFUSED);
  }
  grpc::Status WithdrawDossier(grpc::ServerContext*, const v1::WithdrawDossierRequest* request,
                               v1::WithdrawDossierResponse* response) override {
    return RecordReason(*request, *response, v1::DOSSIER_STATUS_WITHDRAWN);
  }
  grpc::Status StopProcessing(grpc::ServerContext*, const v1::StopProcessingRequest* request,
                              v1::StopProcessingResponse* response) override {
    return RecordReason(*request, *response, v1::DOSSIER_STATUS_STOPPED);
  }
  grpc::Status RescheduleDossier(grpc::ServerContext*,
                                 const v1::RescheduleDossierRequest* request,
                                 v1::RescheduleDossierResponse* response) override {
    last_reschedule = *request;
    if (reschedule_refused) {
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                          "cannot reschedule: already rescheduled once");
    }
    response->mutable_dossier()->set_code(request->code());
    *response->mutable_dossier()->mutable_rescheduled_due_time() = request->new_due_time();
    return grpc::Status::OK;
  }
  grpc::Status ListDossiers(grpc::ServerContext*,
                            const v1::ListDossiersRequest* request,
                            v1::ListDossiersResponse*) override {
    last_list = *request;
    return grpc::Status::OK;
  }

  bool abort_next = false;
  bool reschedule_refused = false;
  std::vector<std::string> reasons;
  v1::RequestPaymentRequest last_request_payment;
  v1::ConfirmPaymentRequest last_confirm_payment;
  v1::RescheduleDossierRequest last_reschedule;
  v1::ListDossiersRequest last_list;
  v1::AcceptDossierRequest last_accept;
  v1::SubmitDossierRequest last_submit;
  // One per GetDossier or AcceptDossier call, in order.
  std::vector<std::string> authorizations;
};

class FakeCatalogueService final : public v1::CatalogueService::Service {
 public:
  grpc::Status GetCalendar(grpc::ServerContext*,
                           const v1::GetCalendarRequest* request,
                           v1::GetCalendarResponse* response) override {
    last_calendar = *request;
    response->set_first_year(2019);
    response->set_last_year(2027);
    v1::SpecialDay* day = response->add_days();
    day->mutable_date()->set_year(2020);
    day->mutable_date()->set_month(1);
    day->mutable_date()->set_day(23);
    day->set_kind(v1::CALENDAR_DAY_KIND_HOLIDAY);
    day->set_name("Tết Nguyên đán");
    return grpc::Status::OK;
  }
  v1::GetCalendarRequest last_calendar;
};

GlobalOptions InProcessOptions() {
  GlobalOptions options;
  options.server = "in-process";
  return options;
}

class CommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.RegisterService(&service_);
    builder.RegisterService(&catalogue_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
  }
  void TearDown() override { server_->Shutdown(); }

  // Parses `command_line` like main and runs the selected command.
  absl::Status Run(const std::string& command_line) {
    CLI::App app("test", "onestopctl");
    app.fallthrough();
    CommandRegistry registry;
    RegisterSubmit(app, registry);
    RegisterShow(app, registry);
    RegisterList(app, registry);
    RegisterLifecycle(app, registry);
    RegisterCatalogue(app, registry);
    RegisterAdmin(app, registry);
    RegisterCalendar(app, registry);
    app.parse(command_line, false);
    const Action* action = registry.Selected();
    if (action == nullptr) return absl::InternalError("no command selected");
    CommandContext context(options_,
                           server_->InProcessChannel(grpc::ChannelArguments()),
                           out_, err_);
    return (*action)(context);
  }

  GlobalOptions options_ = InProcessOptions();
  FakeDossierService service_;
  FakeCatalogueService catalogue_;
  std::unique_ptr<grpc::Server> server_;
  std::ostringstream out_, err_;
};

TEST_F(CommandTest, AcceptFetchesEtagAndSendsTheTokenAndRequestId) {
  options_.token = "ost_desk-token";
  ASSERT_TRUE(Run("accept X-1 --note \"Đủ thành phần\"").ok());
  EXPECT_EQ(service_.last_accept.etag(), 7);
  EXPECT_EQ(service_.last_accept.note(), "Đủ thành phần");
  EXPECT_THAT(service_.last_accept.request_id(), MatchesRegex("[0-9a-f]{32}"));
  // Both calls, the read of the etag and the write, carry the token.
  EXPECT_THAT(service_.authorizations,
              ElementsAre("Bearer ost_desk-token", "Bearer ost_desk-token"));
  EXPECT_THAT(out_.str(), HasSubstr("X-1   RECEIVED (2)  000.00.31.H15"));
}

TEST_F(CommandTest, WithoutATokenNoAuthorizationIsSent) {
  ASSERT_TRUE(Run("accept X-1").ok());
  EXPECT_THAT(service_.authorizations, ElementsAre("(none)", "(none)"));
}

TEST_F(CommandTest, AcceptUsesGivenEtagAndRequestId) {
  ASSERT_TRUE(Run("accept X-1 --etag 3 --request-id r-1").ok());
  EXPECT_EQ(service_.last_accept.etag(), 3);
  EXPECT_EQ(service_.last_accept.request_id(), "r-1");
}

TEST_F(CommandTest, AbortedKeepsCodeAndAdvisesRereading) {
  service_.abort_next = true;
  const absl::Status status = Run("accept X-1 --request-id r-2");
  EXPECT_EQ(status.code(), absl::StatusCode::kAborted);
  EXPECT_EQ(status.message(), "etag 7 is stale");
  auto hint = HintOf(status);
  ASSERT_TRUE(hint.has_value());
  EXPECT_THAT(*hint, HasSubstr("request id: r-2"));
  EXPECT_THAT(*hint, HasSubstr("onestopctl show X-1"));
}

TEST_F(CommandTest, UnknownDossierIsNotFound) {
  EXPECT_EQ(Run("show X-2").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Run("accept X-2").code(), absl::StatusCode::kNotFound);
}

TEST_F(CommandTest, SubmitReceivesNowByDefault) {
  ASSERT_TRUE(Run("submit --agency 000.00.31.H15 --procedure 2.000908 "
                  "--name \"Nguyễn Văn A\" --document \"Tờ khai:1\" "
                  "--document CCCD:2 --channel postal")
                  .ok());
  const v1::SubmitDossierRequest& r = service_.last_submit;
  EXPECT_TRUE(r.receive_now());
  EXPECT_EQ(r.applicant().full_name(), "Nguyễn Văn A");
  EXPECT_EQ(r.channel(), v1::CHANNEL_POSTAL);
  ASSERT_EQ(r.documents_size(), 2);
  EXPECT_EQ(r.documents(0).name(), "Tờ khai");
  EXPECT_EQ(r.documents(1).copies(), 2);
  EXPECT_FALSE(r.request_id().empty());
  EXPECT_THAT(out_.str(), HasSubstr("Appointment:   08:00 09/01/2020"));
}

TEST_F(CommandTest, SubmitCheckLaterLeavesItNew) {
  ASSERT_TRUE(Run("submit --agency A --procedure P --name N --check-later "
                  "--request-id same")
                  .ok());
  EXPECT_FALSE(service_.last_submit.receive_now());
  EXPECT_EQ(service_.last_submit.request_id(), "same");
}

TEST_F(CommandTest, PaymentVerbsSendTheirNotes) {
  ASSERT_TRUE(Run("request-payment X-1 --note \"Thông báo thuế 45/TB\"").ok());
  EXPECT_EQ(service_.last_request_payment.code(), "X-1");
  EXPECT_EQ(service_.last_request_payment.etag(), 7);
  EXPECT_EQ(service_.last_request_payment.note(), "Thông báo thuế 45/TB");
  EXPECT_THAT(out_.str(), HasSubstr("FINANCIAL_OBLIGATION (6)"));
  ASSERT_TRUE(Run("confirm-payment X-1 --etag 8 --note \"Biên lai 0004567\"").ok());
  EXPECT_EQ(service_.last_confirm_payment.etag(), 8);
  EXPECT_EQ(service_.last_confirm_payment.note(), "Biên lai 0004567");
}

TEST_F(CommandTest, ReasonVerbsNeedAReasonAndSendIt) {
  for (const std::string verb : {"refuse", "withdraw", "stop"}) {
    EXPECT_THROW(Run(verb + " X-1"), CLI::RequiredError) << verb;
  }
  EXPECT_TRUE(service_.reasons.empty());
  ASSERT_TRUE(Run("refuse X-1 --reason \"Không thuộc thẩm quyền\"").ok());
  EXPECT_THAT(out_.str(), HasSubstr("REFUSED"));
  ASSERT_TRUE(Run("withdraw X-1 --reason \"Công dân xin rút\"").ok());
  EXPECT_THAT(out_.str(), HasSubstr("WITHDRAWN"));
  ASSERT_TRUE(Run("stop X-1 --reason \"Có quyết định của Tòa án\"").ok());
  EXPECT_THAT(out_.str(), HasSubstr("STOPPED"));
  EXPECT_THAT(service_.reasons, ::testing::ElementsAre("Không thuộc thẩm quyền", "Công dân xin rút",
                                                       "Có quyết định của Tòa án"));
}

TEST_F(CommandTest, RescheduleReadsLocalTimeAndSendsTheReason) {
  ASSERT_TRUE(Run("reschedule X-1 --to 2020-02-14T17:00 --reason \"Cần xác minh\"").ok());
  // 17:00 in Asia/Ho_Chi_Minh = 10:00Z.
  EXPECT_EQ(service_.last_reschedule.new_due_time().seconds(), 1581674400);
  EXPECT_EQ(service_.last_reschedule.reason(), "Cần xác minh");
  EXPECT_THAT(out_.str(), HasSubstr("HẸN LẠI (FORM 04)"));
  EXPECT_THAT(out_.str(), HasSubstr("17:00 14/02/2020"));

  service_.reschedule_refused = true;
  const absl::Status refused =
      Run("reschedule X-1 --to 2020-02-21T17:00:00+07:00 --reason again");
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.message(), HasSubstr("once"));
}

TEST_F(CommandTest, RescheduleNeedsAParsableTimeAndAReason) {
  EXPECT_THROW(Run("reschedule X-1 --to 14/02/2020 --reason x"), CLI::ValidationError);
  EXPECT_THROW(Run("reschedule X-1 --to 2020-02-14T17:00"), CLI::RequiredError);
}

TEST_F(CommandTest, ListDueSoonSetsTheFilterAndExcludesOverdue) {
  ASSERT_TRUE(Run("list --due-soon").ok());
  EXPECT_TRUE(service_.last_list.due_soon_only());
  EXPECT_FALSE(service_.last_list.overdue_only());
  EXPECT_THROW(Run("list --due-soon --overdue"), CLI::ExcludesError);
}

TEST_F(CommandTest, CalendarAsksForTheYearsAndNotesUncoveredOnes) {
  ASSERT_TRUE(Run("calendar 2020").ok());
  EXPECT_EQ(catalogue_.last_calendar.from_year(), 2020);
  EXPECT_EQ(catalogue_.last_calendar.to_year(), 2020);
  EXPECT_THAT(out_.str(), HasSubstr("23/01/2020  Thứ Năm  Nghỉ lễ  Tết Nguyên đán"));
  EXPECT_EQ(err_.str(), "");
  ASSERT_TRUE(Run("calendar 2026 --to 2030").ok());
  EXPECT_EQ(catalogue_.last_calendar.to_year(), 2030);
  EXPECT_THAT(err_.str(), HasSubstr("covers 2019–2027"));
}

}  // namespace
}  // namespace onestop::client
