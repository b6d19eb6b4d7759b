// Runs the security commands (admin token …, admin audit, lookup) and checks
// the bearer token on every kind of call, parsed by CLI11 as main does,
// against fake SecurityService, CitizenService, AdminService and FeedService
// in the same process.
#include <algorithm>
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
#include "onestop/v1/feed_service.grpc.pb.h"
#include "onestop/v1/security_service.grpc.pb.h"

namespace onestop::client {
namespace {

using ::testing::AllOf;
using ::testing::ContainsRegex;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

// 2020-01-06 08:00:05 and 2020-01-09 08:00 in Asia/Ho_Chi_Minh.
constexpr int64_t kMondayMorning = 1578272405;
constexpr int64_t kThursdayMorning = 1578531600;
constexpr char kSecret[] = "ost_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

std::string AuthorizationOf(const grpc::ServerContext& context) {
  auto header = context.client_metadata().find(kAuthorizationMetadataKey);
  if (header == context.client_metadata().end()) return "(none)";
  return std::string(header->second.data(), header->second.size());
}

class FakeSecurityService final : public v1::SecurityService::Service {
 public:
  grpc::Status CreateToken(grpc::ServerContext* context, const v1::CreateTokenRequest* request,
                           v1::CreateTokenResponse* response) override {
    authorizations.push_back(AuthorizationOf(*context));
    last_create = *request;
    v1::TokenInfo& token = *response->mutable_token();
    token.set_id("tk_0123456789ab");
    *token.mutable_principal() = request->principal();
    token.set_label(request->label());
    token.mutable_create_time()->set_seconds(kMondayMorning);
    token.mutable_expire_time()->set_seconds(kThursdayMorning);
    response->set_secret(kSecret);
    return grpc::Status::OK;
  }
  grpc::Status ListTokens(grpc::ServerContext* context, const v1::ListTokensRequest* request,
                          v1::ListTokensResponse* response) override {
    authorizations.push_back(AuthorizationOf(*context));
    last_list = *request;
    v1::TokenInfo& active = *response->add_tokens();
    active.set_id("tk_aaaaaaaaaaaa");
    active.mutable_principal()->set_id("clerk.lienson");
    v1::Grant& grant = *active.mutable_principal()->add_grants();
    grant.set_role(v1::ROLE_CLERK);
    grant.set_agency_code("000.31.01.H15");
    active.set_label("Liên Sơn desk");
    active.mutable_create_time()->set_seconds(kMondayMorning);
    active.mutable_expire_time()->set_seconds(kThursdayMorning);
    if (request->include_inactive()) {
      v1::TokenInfo& revoked = *response->add_tokens();
      revoked.set_id("tk_bbbbbbbbbbbb");
      revoked.mutable_principal()->set_id("portal-sync");
      v1::Grant& service = *revoked.mutable_principal()->add_grants();
      service.set_role(v1::ROLE_SERVICE);
      service.set_agency_code("000.00.00.H15");
      revoked.mutable_principal()->add_service_writes("submit_dossier");
      revoked.mutable_revoke_time()->set_seconds(kThursdayMorning);
    }
    return grpc::Status::OK;
  }
  grpc::Status RevokeToken(grpc::ServerContext* context, const v1::RevokeTokenRequest* request,
                           v1::RevokeTokenResponse* response) override {
    authorizations.push_back(AuthorizationOf(*context));
    last_revoke = *request;
    if (request->token_id() != "tk_aaaaaaaaaaaa") {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "no token " + request->token_id());
    }
    response->mutable_token()->set_id(request->token_id());
    response->mutable_token()->mutable_principal()->set_id("clerk.lienson");
    response->mutable_token()->mutable_revoke_time()->set_seconds(kThursdayMorning);
    return grpc::Status::OK;
  }
  grpc::Status ListAudit(grpc::ServerContext* context, const v1::ListAuditRequest* request,
                         v1::ListAuditResponse* response) override {
    authorizations.push_back(AuthorizationOf(*context));
    last_audit = *request;
    if (AuthorizationOf(*context) == "(none)") {
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                          "no credentials: send 'authorization: Bearer <token>'");
    }
    v1::AuditRecord& ok = *response->add_records();
    ok.set_sequence(41);
    ok.mutable_time()->set_seconds(kMondayMorning);
    ok.set_principal_id("officer.lak");
    ok.set_rpc("RecordDecision");
    ok.set_dossier_code("000.00.31.H15-200106-0001");
    ok.set_agency_code("000.00.31.H15");
    ok.set_result_code(0);
    v1::AuditRecord& denied = *response->add_records();
    denied.set_sequence(42);
    denied.mutable_time()->set_seconds(kMondayMorning + 1);
    denied.set_rpc("AcceptDossier");
    denied.set_result_code(16);
    denied.set_message("invalid or expired\ntoken");
    response->set_next_after_sequence(42);
    return grpc::Status::OK;
  }

  std::vector<std::string> authorizations;
  v1::CreateTokenRequest last_create;
  v1::ListTokensRequest last_list;
  v1::RevokeTokenRequest last_revoke;
  v1::ListAuditRequest last_audit;
};

class FakeCitizenService final : public v1::CitizenService::Service {
 public:
  grpc::Status LookupDossier(grpc::ServerContext* context,
                             const v1::LookupDossierRequest* request,
                             v1::LookupDossierResponse* response) override {
    authorizations.push_back(AuthorizationOf(*context));
    last_lookup = *request;
    if (request->code() != "000.00.31.H15-200106-0001" || request->last_four() != "5678") {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "no dossier with this code and digits");
    }
    response->set_code(request->code());
    response->set_status(v1::DOSSIER_STATUS_PROCESSING);
    response->set_portal_status_code(4);
    response->mutable_due_time()->set_seconds(kThursdayMorning);
    return grpc::Status::OK;
  }
  std::vector<std::string> authorizations;
  v1::LookupDossierRequest last_lookup;
};

class FakeAdminService final : public v1::AdminService::Service {
 public:
  grpc::Status GetClock(grpc::ServerContext* context, const v1::GetClockRequest*,
                        v1::GetClockResponse* response) override {
    authorizations.push_back(AuthorizationOf(*context));
    response->mutable_clock()->mutable_now()->set_seconds(kMondayMorning);
    return grpc::Status::OK;
  }
  std::vector<std::string> authorizations;
};

// Ends every watch at once: only the metadata matters here.
class FakeFeedService final : public v1::FeedService::Service {
 public:
  grpc::Status WatchEvents(grpc::ServerContext* context, const v1::WatchEventsRequest*,
                           grpc::ServerWriter<v1::WatchEventsResponse>*) override {
    authorizations.push_back(AuthorizationOf(*context));
    return grpc::Status::OK;
  }
  std::vector<std::string> authorizations;
};

GlobalOptions AdminOptions() {
  GlobalOptions options;
  options.server = "in-process";
  options.token = "ost_admin";
  return options;
}

class SecurityCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.RegisterService(&security_);
    builder.RegisterService(&citizen_);
    builder.RegisterService(&admin_);
    builder.RegisterService(&feed_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
  }
  void TearDown() override { server_->Shutdown(); }

  // Parses `command_line` like main and runs the selected command.
  absl::Status Run(const std::string& command_line) {
    CLI::App app("test", "onestopctl");
    app.fallthrough();
    CommandRegistry registry;
    RegisterAdmin(app, registry);
    RegisterLookup(app, registry);
    RegisterWatchCommand(app, registry);
    app.parse(command_line, false);
    const Action* action = registry.Selected();
    if (action == nullptr) return absl::InternalError("no command selected");
    CommandContext context(options_, server_->InProcessChannel(grpc::ChannelArguments()), out_,
                           err_);
    return (*action)(context);
  }

  GlobalOptions options_ = AdminOptions();
  FakeSecurityService security_;
  FakeCitizenService citizen_;
  FakeAdminService admin_;
  FakeFeedService feed_;
  std::unique_ptr<grpc::Server> server_;
  std::ostringstream out_, err_;
};

TEST_F(SecurityCommandTest, TokenCreateSendsThePrincipalAndShowsTheSecretOnce) {
  ASSERT_TRUE(Run("admin token create --principal portal-sync "
                  "--grant service:000.00.00.H15 --grant Supervisor:000.00.31.H15 "
                  "--service-write submit_dossier --service-write return_result "
                  "--ttl 12h --label \"Cổng dịch vụ công\"")
                  .ok());
  const v1::CreateTokenRequest& r = security_.last_create;
  EXPECT_EQ(r.principal().id(), "portal-sync");
  ASSERT_EQ(r.principal().grants_size(), 2);
  EXPECT_EQ(r.principal().grants(0).role(), v1::ROLE_SERVICE);
  EXPECT_EQ(r.principal().grants(0).agency_code(), "000.00.00.H15");
  EXPECT_EQ(r.principal().grants(1).role(), v1::ROLE_SUPERVISOR);
  EXPECT_EQ(r.principal().grants(1).agency_code(), "000.00.31.H15");
  EXPECT_THAT(r.principal().service_writes(), ElementsAre("submit_dossier", "return_result"));
  EXPECT_EQ(r.ttl_seconds(), 12 * 3600);
  EXPECT_EQ(r.label(), "Cổng dịch vụ công");
  EXPECT_THAT(security_.authorizations, ElementsAre("Bearer ost_admin"));

  const std::string out = out_.str();
  EXPECT_THAT(out, HasSubstr("shown once"));
  EXPECT_THAT(out, HasSubstr("store it now"));
  EXPECT_THAT(out, HasSubstr(std::string("Secret:          ") + kSecret));
  EXPECT_THAT(out, HasSubstr("Token id:        tk_0123456789ab"));
  EXPECT_THAT(out, HasSubstr("Grants:          service:000.00.00.H15, supervisor:000.00.31.H15"));
  EXPECT_THAT(out, HasSubstr("Expires:         08:00 09/01/2020"));
}

TEST_F(SecurityCommandTest, TokenCreateWithoutTtlLeavesTheDaemonDefault) {
  ASSERT_TRUE(Run("admin token create --principal clerk.lienson --grant clerk:000.31.01.H15").ok());
  EXPECT_EQ(security_.last_create.ttl_seconds(), 0);
  EXPECT_EQ(security_.last_create.label(), "");
  ASSERT_TRUE(Run("admin token create --principal a --grant admin:X --ttl 90d").ok());
  EXPECT_EQ(security_.last_create.ttl_seconds(), 90 * 86400);
  EXPECT_EQ(security_.last_create.principal().grants(0).role(), v1::ROLE_ADMIN);
}

TEST_F(SecurityCommandTest, TokenCreateJsonPrintsTheWholeResponse) {
  options_.output = OutputFormat::kJson;
  ASSERT_TRUE(Run("admin token create --principal p --grant officer:A").ok());
  EXPECT_THAT(out_.str(), AllOf(HasSubstr(std::string("\"secret\": \"") + kSecret + "\""),
                                HasSubstr("\"id\": \"tk_0123456789ab\""),
                                HasSubstr("\"role\": \"ROLE_OFFICER\""),
                                Not(HasSubstr("shown once"))));
}

TEST_F(SecurityCommandTest, TokenCreateRefusesBadGrantsAndTtlsBeforeAnyCall) {
  try {
    const absl::Status ignored = Run("admin token create --principal p --grant boss:000.00.31.H15");
    ADD_FAILURE() << "an unknown role was accepted: " << ignored;
  } catch (const CLI::ValidationError& e) {
    EXPECT_THAT(e.what(), HasSubstr("unknown role \"boss\""));
    EXPECT_THAT(e.what(), HasSubstr("clerk, officer, supervisor, service or admin"));
  }
  EXPECT_THROW(Run("admin token create --principal p --grant clerk"), CLI::ValidationError);
  EXPECT_THROW(Run("admin token create --principal p --grant clerk:"), CLI::ValidationError);
  EXPECT_THROW(Run("admin token create --principal p --grant clerk:A --ttl 0"),
               CLI::ValidationError);
  EXPECT_THROW(Run("admin token create --principal p --grant clerk:A --ttl soon"),
               CLI::ValidationError);
  EXPECT_THROW(Run("admin token create --principal p"), CLI::RequiredError);
  EXPECT_THROW(Run("admin token create --grant clerk:A"), CLI::RequiredError);
  EXPECT_TRUE(security_.authorizations.empty());
}

TEST_F(SecurityCommandTest, TokenListShowsGrantsExpiryAndRevocation) {
  ASSERT_TRUE(Run("admin token list").ok());
  EXPECT_FALSE(security_.last_list.include_inactive());
  EXPECT_THAT(out_.str(), HasSubstr("tk_aaaaaaaaaaaa  clerk.lienson  clerk:000.31.01.H15"));
  EXPECT_THAT(out_.str(), Not(HasSubstr("tk_bbbbbbbbbbbb")));

  out_.str("");
  ASSERT_TRUE(Run("admin token list --all").ok());
  EXPECT_TRUE(security_.last_list.include_inactive());
  EXPECT_THAT(out_.str(),
              HasSubstr("portal-sync    service:000.00.00.H15 (writes: submit_dossier)"));
  // The revoked token's row ends with its revocation time.
  EXPECT_THAT(out_.str(), ContainsRegex("tk_bbbbbbbbbbbb[^\n]*  08:00 09/01/2020\n"));
  EXPECT_THAT(out_.str(), ContainsRegex("tk_aaaaaaaaaaaa[^\n]*  -\n"));
  EXPECT_THAT(out_.str(), Not(HasSubstr("ost_")));
}

TEST_F(SecurityCommandTest, TokenListJsonIsOneTokenPerLine) {
  options_.output = OutputFormat::kJson;
  ASSERT_TRUE(Run("admin token list --all").ok());
  const std::string out = out_.str();
  ASSERT_EQ(std::count(out.begin(), out.end(), '\n'), 2) << out;
  EXPECT_THAT(out, HasSubstr("{\"id\":\"tk_aaaaaaaaaaaa\""));
  EXPECT_THAT(out, HasSubstr("\"serviceWrites\":[\"submit_dossier\"]"));
}

TEST_F(SecurityCommandTest, TokenRevokeSendsTheIdAndShowsTheRevocation) {
  ASSERT_TRUE(Run("admin token revoke tk_aaaaaaaaaaaa").ok());
  EXPECT_EQ(security_.last_revoke.token_id(), "tk_aaaaaaaaaaaa");
  EXPECT_THAT(out_.str(), HasSubstr("tk_aaaaaaaaaaaa"));
  EXPECT_THAT(out_.str(), HasSubstr("08:00 09/01/2020"));

  const absl::Status unknown = Run("admin token revoke tk_ffffffffffff");
  EXPECT_EQ(unknown.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(unknown.message(), HasSubstr("tk_ffffffffffff"));
  EXPECT_THROW(Run("admin token revoke"), CLI::RequiredError);
}

TEST_F(SecurityCommandTest, AuditSendsTheFiltersAndPrintsOneRowPerRecord) {
  ASSERT_TRUE(Run("admin audit --principal officer.lak --denials --after 40 --limit 2").ok());
  const v1::ListAuditRequest& r = security_.last_audit;
  EXPECT_EQ(r.principal_id(), "officer.lak");
  EXPECT_TRUE(r.denials_only());
  EXPECT_EQ(r.after_sequence(), 40);
  EXPECT_EQ(r.page_size(), 2);

  const std::string out = out_.str();
  EXPECT_THAT(out, HasSubstr("SEQ  TIME                 PRINCIPAL    RPC             DOSSIER"));
  EXPECT_THAT(out, HasSubstr("41   08:00:05 06/01/2020  officer.lak  RecordDecision  "
                             "000.00.31.H15-200106-0001  000.00.31.H15  OK"));
  // No principal: a call without valid credentials; the message stays on
  // one line.
  EXPECT_THAT(out, HasSubstr("42   08:00:06 06/01/2020  (none)       AcceptDossier"));
  EXPECT_THAT(out, HasSubstr("UNAUTHENTICATED  invalid or expired token\n"));
  EXPECT_THAT(out, HasSubstr("next page: --after 42"));
}

TEST_F(SecurityCommandTest, AuditDefaultsAskForEverythingAndJsonIsOneRecordPerLine) {
  options_.output = OutputFormat::kJson;
  ASSERT_TRUE(Run("admin audit").ok());
  EXPECT_EQ(security_.last_audit.principal_id(), "");
  EXPECT_FALSE(security_.last_audit.denials_only());
  EXPECT_EQ(security_.last_audit.after_sequence(), 0);
  EXPECT_EQ(security_.last_audit.page_size(), 0);
  const std::string out = out_.str();
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 2) << out;
  EXPECT_THAT(out, HasSubstr("\"resultCode\":16"));
  EXPECT_EQ(err_.str(), "next page: --after 42\n");
  EXPECT_THROW(Run("admin audit --limit 1001"), CLI::ValidationError);
  EXPECT_THROW(Run("admin audit --after -1"), CLI::ValidationError);
}

TEST_F(SecurityCommandTest, UnauthenticatedSaysHowToPassAToken) {
  options_.token.clear();
  const absl::Status status = Run("admin audit");
  EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(status.message(), HasSubstr("no credentials"));
  EXPECT_THAT(status.message(), HasSubstr("--token"));
  EXPECT_THAT(status.message(), HasSubstr("ONESTOP_TOKEN"));
  EXPECT_THAT(security_.authorizations, ElementsAre("(none)"));
}

TEST_F(SecurityCommandTest, LookupSendsCodeAndDigitsAndPrintsStatusAndAppointment) {
  options_.token.clear();
  ASSERT_TRUE(Run("lookup 000.00.31.H15-200106-0001 5678").ok());
  EXPECT_EQ(citizen_.last_lookup.code(), "000.00.31.H15-200106-0001");
  EXPECT_EQ(citizen_.last_lookup.last_four(), "5678");
  EXPECT_THAT(citizen_.authorizations, ElementsAre("(none)"));
  EXPECT_THAT(out_.str(), HasSubstr("Status:       PROCESSING — Đang xử lý (portal 4)"));
  EXPECT_THAT(out_.str(), HasSubstr("Appointment:  08:00 09/01/2020"));

  EXPECT_EQ(Run("lookup 000.00.31.H15-200106-0001 1234").code(), absl::StatusCode::kNotFound);
  EXPECT_THROW(Run("lookup 000.00.31.H15-200106-0001 567"), CLI::ValidationError);
  EXPECT_THROW(Run("lookup 000.00.31.H15-200106-0001 56a8"), CLI::ValidationError);
}

TEST_F(SecurityCommandTest, LookupSendsATokenIfGiven) {
  ASSERT_TRUE(Run("lookup 000.00.31.H15-200106-0001 5678").ok());
  EXPECT_THAT(citizen_.authorizations, ElementsAre("Bearer ost_admin"));
}

TEST_F(SecurityCommandTest, EveryKindOfCallCarriesTheToken) {
  ASSERT_TRUE(Run("admin clock show").ok());
  EXPECT_THAT(admin_.authorizations, ElementsAre("Bearer ost_admin"));
  // The watch's own stub and its deadline-free context too.
  ASSERT_TRUE(Run("watch").ok());
  EXPECT_THAT(feed_.authorizations, ElementsAre("Bearer ost_admin"));
}

}  // namespace
}  // namespace onestop::client
