// SecurityService and CitizenService through in-process gRPC over a real
// SQLite file: the admin-only matrix (generated), immediate expiry and
// revocation, the audit of every denial, and the citizens' rate limit.
#include <grpcpp/grpcpp.h>

#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "onestop/v1/security_service.grpc.pb.h"
#include "server/service/auth/principals.h"
#include "tests/security/auth_test_util.h"

namespace onestop::testing {
namespace {

using ::testing::HasSubstr;
using onestop::v1::CitizenService;
using onestop::v1::SecurityService;

constexpr onestop::v1::Role kRoles[] = {onestop::v1::ROLE_CLERK, onestop::v1::ROLE_OFFICER,
                                        onestop::v1::ROLE_SUPERVISOR, onestop::v1::ROLE_SERVICE,
                                        onestop::v1::ROLE_ADMIN};

enum class Rpc { kCreateToken, kListTokens, kRevokeToken, kListAudit };
constexpr Rpc kRpcs[] = {Rpc::kCreateToken, Rpc::kListTokens, Rpc::kRevokeToken,
                         Rpc::kListAudit};

std::string RpcName(Rpc rpc) {
  switch (rpc) {
    case Rpc::kCreateToken: return "CreateToken";
    case Rpc::kListTokens: return "ListTokens";
    case Rpc::kRevokeToken: return "RevokeToken";
    case Rpc::kListAudit: return "ListAudit";
  }
  return "";
}

// The caller's grant is the district. In scope, CreateToken asks for a
// grant at a commune below it; out of scope, at the province above. The
// other RPCs touch no agency: "out of scope" is the same call.
enum class Scope { kInScope, kOutOfScope };

struct Case {
  Rpc rpc;
  onestop::v1::Role role;
  Scope scope;
};

std::vector<Case> AllCases() {
  std::vector<Case> cases;
  for (Rpc rpc : kRpcs) {
    for (onestop::v1::Role role : kRoles) {
      for (Scope scope : {Scope::kInScope, Scope::kOutOfScope}) cases.push_back({rpc, role, scope});
    }
  }
  return cases;
}

std::string CaseName(const ::testing::TestParamInfo<Case>& info) {
  return RpcName(info.param.rpc) + "_" + onestop::v1::Role_Name(info.param.role) +
         (info.param.scope == Scope::kInScope ? "_in_scope" : "_out_of_scope");
}

// docs/SECURITY.md: tokens and audit are the admin's, within the admin's
// agencies for the grants a token carries.
grpc::StatusCode Expected(const Case& c) {
  if (c.role != onestop::v1::ROLE_ADMIN) return grpc::StatusCode::PERMISSION_DENIED;
  // The whole audit log is a top-level admin's; the caller is the district's.
  if (c.rpc == Rpc::kListAudit) return grpc::StatusCode::PERMISSION_DENIED;
  if (c.rpc == Rpc::kCreateToken && c.scope == Scope::kOutOfScope) {
    return grpc::StatusCode::PERMISSION_DENIED;
  }
  return grpc::StatusCode::OK;
}

// What a denial must leave unchanged: the tokens as listed and the number
// of successful (non-denial) audit records.
struct Snapshot {
  std::string tokens;
  size_t non_denials = 0;
  size_t denials = 0;
};

Snapshot Take(AuthTestServer& server) {
  Snapshot snapshot;
  auto tokens = server.store().ListTokens({.include_inactive = true, .now = server.clock().Now()});
  EXPECT_TRUE(tokens.ok());
  for (const auto& token : *tokens) snapshot.tokens += token.ShortDebugString() + "\n";
  auto audit = server.store().ListAudit({.limit = 1000});
  EXPECT_TRUE(audit.ok());
  for (const auto& record : audit->records) {
    (record.result_code() == 7 || record.result_code() == 16 ? snapshot.denials
                                                             : snapshot.non_denials)++;
  }
  return snapshot;
}

class SecurityMatrixTest : public ::testing::TestWithParam<Case> {};

TEST_P(SecurityMatrixTest, OnlyAdminsWithinTheirAgencies) {
  const Case& c = GetParam();
  AuthTestServer server({});
  const std::string caller =
      server.TokenFor(MakePrincipal("caller", c.role, kDistrict));
  const std::string victim_id = [&] {
    auto created = server.store().CreateToken(
        {.principal = MakePrincipal("victim", onestop::v1::ROLE_CLERK, kCommune),
         .created = server.clock().Now(), .expires = server.clock().Now() + absl::Hours(1)});
    return created.ok() ? created->info.id() : "";
  }();
  auto channel = grpc::CreateChannel(server.Address(), grpc::InsecureChannelCredentials());
  auto stub = SecurityService::NewStub(channel);
  const Snapshot before = Take(server);

  grpc::Status status;
  auto context = ContextWith(caller);
  switch (c.rpc) {
    case Rpc::kCreateToken: {
      onestop::v1::CreateTokenRequest request;
      *request.mutable_principal() = MakePrincipal(
          "new.clerk", onestop::v1::ROLE_CLERK, c.scope == Scope::kInScope ? kCommune : kProvince);
      onestop::v1::CreateTokenResponse response;
      status = stub->CreateToken(context.get(), request, &response);
      if (status.ok()) {
        EXPECT_THAT(response.secret(), ::testing::StartsWith("ost_"));
      }
      break;
    }
    case Rpc::kListTokens: {
      onestop::v1::ListTokensResponse response;
      status = stub->ListTokens(context.get(), {}, &response);
      if (status.ok()) {
        EXPECT_EQ(response.tokens_size(), 2);
      } else {
        EXPECT_EQ(response.tokens_size(), 0);
      }
      break;
    }
    case Rpc::kRevokeToken: {
      onestop::v1::RevokeTokenRequest request;
      request.set_token_id(victim_id);
      onestop::v1::RevokeTokenResponse response;
      status = stub->RevokeToken(context.get(), request, &response);
      break;
    }
    case Rpc::kListAudit: {
      onestop::v1::ListAuditResponse response;
      status = stub->ListAudit(context.get(), {}, &response);
      break;
    }
  }
  EXPECT_EQ(status.error_code(), Expected(c)) << status.error_message();
  const Snapshot after = Take(server);
  if (Expected(c) == grpc::StatusCode::OK) {
    const bool mutating = c.rpc == Rpc::kCreateToken || c.rpc == Rpc::kRevokeToken;
    EXPECT_EQ(after.non_denials, before.non_denials + (mutating ? 1 : 0));
    EXPECT_EQ(after.tokens == before.tokens, !mutating);
    EXPECT_EQ(after.denials, before.denials);
  } else {
    EXPECT_THAT(status.error_message(),
                HasSubstr(c.role != onestop::v1::ROLE_ADMIN ? "caller may not "
                          : c.rpc == Rpc::kListAudit        ? "acts on the whole daemon"
                                                            : "outside your agencies"));
    EXPECT_EQ(after.tokens, before.tokens);
    EXPECT_EQ(after.non_denials, before.non_denials);
    // The denial is in the audit log, naming the caller and the RPC.
    ASSERT_EQ(after.denials, before.denials + 1);
    auto denials = server.store().ListAudit({.limit = 10, .denials_only = true});
    ASSERT_TRUE(denials.ok());
    EXPECT_EQ(denials->records.back().principal_id(), "caller");
    EXPECT_EQ(denials->records.back().rpc(), RpcName(c.rpc));
    EXPECT_EQ(denials->records.back().result_code(), 7);
  }
}

INSTANTIATE_TEST_SUITE_P(AllRpcsRolesScopes, SecurityMatrixTest, ::testing::ValuesIn(AllCases()),
                         CaseName);

class SecurityServiceTest : public ::testing::Test {
 protected:
  AuthTestServer server_{{}};
  std::unique_ptr<SecurityService::Stub> stub_ = SecurityService::NewStub(
      grpc::CreateChannel(server_.Address(), grpc::InsecureChannelCredentials()));
  std::string admin_ =
      server_.TokenFor(MakePrincipal("admin.tinh", onestop::v1::ROLE_ADMIN, kProvince));

  grpc::Status List(const std::string& token) {
    onestop::v1::ListTokensResponse response;
    return stub_->ListTokens(ContextWith(token).get(), {}, &response);
  }
};

TEST_F(SecurityServiceTest, ExpiryTakesEffectImmediately) {
  onestop::v1::CreateTokenRequest request;
  *request.mutable_principal() = MakePrincipal("admin.huyen", onestop::v1::ROLE_ADMIN, kDistrict);
  request.set_ttl_seconds(60);
  onestop::v1::CreateTokenResponse created;
  ASSERT_TRUE(stub_->CreateToken(ContextWith(admin_).get(), request, &created).ok());
  EXPECT_TRUE(List(created.secret()).ok());
  ASSERT_TRUE(server_.clock().Advance(absl::Seconds(59)).ok());
  EXPECT_TRUE(List(created.secret()).ok());
  ASSERT_TRUE(server_.clock().Advance(absl::Seconds(1)).ok());
  const grpc::Status expired = List(created.secret());
  EXPECT_EQ(expired.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(expired.error_message(), "invalid or expired token");
}

TEST_F(SecurityServiceTest, RevocationTakesEffectImmediately) {
  onestop::v1::CreateTokenRequest request;
  *request.mutable_principal() = MakePrincipal("admin.huyen", onestop::v1::ROLE_ADMIN, kDistrict);
  request.set_label("district admin");
  onestop::v1::CreateTokenResponse created;
  ASSERT_TRUE(stub_->CreateToken(ContextWith(admin_).get(), request, &created).ok());
  EXPECT_EQ(created.token().label(), "district admin");
  // Default lifetime: 90 days.
  EXPECT_EQ(created.token().expire_time().seconds() - created.token().create_time().seconds(),
            90 * 24 * 3600);
  ASSERT_TRUE(List(created.secret()).ok());
  onestop::v1::RevokeTokenRequest revoke;
  revoke.set_token_id(created.token().id());
  onestop::v1::RevokeTokenResponse revoked;
  ASSERT_TRUE(stub_->RevokeToken(ContextWith(admin_).get(), revoke, &revoked).ok());
  EXPECT_TRUE(revoked.token().has_revoke_time());
  EXPECT_EQ(List(created.secret()).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  // The listing never shows a secret.
  onestop::v1::ListTokensRequest all;
  all.set_include_inactive(true);
  onestop::v1::ListTokensResponse listed;
  ASSERT_TRUE(stub_->ListTokens(ContextWith(admin_).get(), all, &listed).ok());
  EXPECT_EQ(listed.tokens_size(), 2);
  EXPECT_EQ(listed.DebugString().find(created.secret().substr(4)), std::string::npos);
  revoke.set_token_id("tk_000000000000");
  EXPECT_EQ(stub_->RevokeToken(ContextWith(admin_).get(), revoke, &revoked).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(SecurityServiceTest, MissingOrBadCredentialsAreUnauthenticatedAndAudited) {
  EXPECT_EQ(List("").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(List("ost_nonsense").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  grpc::ClientContext basic;
  basic.AddMetadata("authorization", "Basic YWRtaW46YWRtaW4=");
  onestop::v1::ListTokensResponse response;
  const grpc::Status status = stub_->ListTokens(&basic, {}, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(status.error_message(), HasSubstr("Bearer"));
  onestop::v1::ListAuditRequest request;
  request.set_denials_only(true);
  onestop::v1::ListAuditResponse audit;
  ASSERT_TRUE(stub_->ListAudit(ContextWith(admin_).get(), request, &audit).ok());
  ASSERT_EQ(audit.records_size(), 3);
  for (const auto& record : audit.records()) {
    EXPECT_EQ(record.principal_id(), "");
    EXPECT_EQ(record.rpc(), "ListTokens");
    EXPECT_EQ(record.result_code(), 16);
  }
}

TEST_F(SecurityServiceTest, CreateTokenValidatesThePrincipal) {
  auto create = [&](const onestop::v1::Principal& principal, int64_t ttl = 0) {
    onestop::v1::CreateTokenRequest request;
    *request.mutable_principal() = principal;
    request.set_ttl_seconds(ttl);
    onestop::v1::CreateTokenResponse response;
    return stub_->CreateToken(ContextWith(admin_).get(), request, &response);
  };
  EXPECT_EQ(create(MakePrincipal("x", onestop::v1::ROLE_CLERK, "999.99.99.X00")).error_message(),
            "principal.grants: unknown agency \"999.99.99.X00\"");
  EXPECT_EQ(create(MakePrincipal("has space", onestop::v1::ROLE_CLERK, kCommune)).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(create(MakePrincipal("x", onestop::v1::ROLE_UNSPECIFIED, kCommune)).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  auto writer = MakePrincipal("sync", onestop::v1::ROLE_SERVICE, kDistrict);
  writer.add_service_writes("manage_tokens");
  EXPECT_EQ(create(writer).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  writer.set_service_writes(0, "submit_dossier");
  EXPECT_TRUE(create(writer).ok());
  auto clerk_writes = MakePrincipal("c", onestop::v1::ROLE_CLERK, kCommune);
  clerk_writes.add_service_writes("submit_dossier");
  EXPECT_EQ(create(clerk_writes).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(create(MakePrincipal("x", onestop::v1::ROLE_CLERK, kCommune), -1).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(create(MakePrincipal("x", onestop::v1::ROLE_CLERK, kCommune), 400 * 24 * 3600)
                .error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

// A token whose grant's agency left the catalogue (a commune merged away in
// a reload): it confers nothing, and the province's admins still list and
// revoke it; a district's admin neither sees nor revokes it.
TEST_F(SecurityServiceTest, GrantOnAnAgencyThatLeftTheCatalogueIsTheProvincesToRevoke) {
  constexpr char kGone[] = "000.31.99.H15";  // not in the test catalogue
  ASSERT_EQ(server_.catalogue().FindAgency(kGone), nullptr);
  auto orphan = server_.store().CreateToken(
      {.principal = MakePrincipal("admin.merged", onestop::v1::ROLE_ADMIN, kGone),
       .created = server_.clock().Now(),
       .expires = server_.clock().Now() + absl::Hours(1)});
  ASSERT_TRUE(orphan.ok()) << orphan.status();
  // Its admin grant no longer passes even a global check.
  const grpc::Status global = List(orphan->secret);
  EXPECT_EQ(global.error_code(), grpc::StatusCode::PERMISSION_DENIED) << global.error_message();
  EXPECT_THAT(global.error_message(), HasSubstr(absl::StrCat(kGone, ", no longer in the catalogue")));

  const std::string district_admin =
      server_.TokenFor(MakePrincipal("admin.huyen", onestop::v1::ROLE_ADMIN, kDistrict));
  auto listed_ids = [this](const std::string& token) {
    onestop::v1::ListTokensResponse response;
    EXPECT_TRUE(stub_->ListTokens(ContextWith(token).get(), {}, &response).ok());
    std::vector<std::string> ids;
    for (const auto& info : response.tokens()) ids.push_back(info.id());
    return ids;
  };
  EXPECT_THAT(listed_ids(district_admin), ::testing::Not(::testing::Contains(orphan->info.id())));
  EXPECT_THAT(listed_ids(admin_), ::testing::Contains(orphan->info.id()));

  onestop::v1::RevokeTokenRequest revoke;
  revoke.set_token_id(orphan->info.id());
  onestop::v1::RevokeTokenResponse revoked;
  const grpc::Status refused =
      stub_->RevokeToken(ContextWith(district_admin).get(), revoke, &revoked);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(refused.error_message(), HasSubstr("no longer in the catalogue"));
  const grpc::Status done = stub_->RevokeToken(ContextWith(admin_).get(), revoke, &revoked);
  ASSERT_TRUE(done.ok()) << done.error_message();
  EXPECT_TRUE(revoked.token().has_revoke_time());
  EXPECT_EQ(List(orphan->secret).error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(SecurityServiceTest, PrincipalIdNamesOnePrincipalWhileItHasActiveTokens) {
  auto create = [&](const onestop::v1::Principal& principal,
                    onestop::v1::CreateTokenResponse* response) {
    onestop::v1::CreateTokenRequest request;
    *request.mutable_principal() = principal;
    return stub_->CreateToken(ContextWith(admin_).get(), request, response);
  };
  onestop::v1::Principal clerk = MakePrincipal("clerk.lienson", onestop::v1::ROLE_CLERK, kCommune);
  onestop::v1::CreateTokenResponse first, rotated, other;
  ASSERT_TRUE(create(clerk, &first).ok());
  // A rotation: the same powers under the same id.
  ASSERT_TRUE(create(clerk, &rotated).ok());
  // Other powers under a taken id: refused, audited, nothing created.
  const size_t tokens_before =
      server_.store().ListTokens({.include_inactive = true, .now = server_.clock().Now()})->size();
  const grpc::Status taken =
      create(MakePrincipal("clerk.lienson", onestop::v1::ROLE_ADMIN, kDistrict), &other);
  EXPECT_EQ(taken.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_THAT(taken.error_message(), HasSubstr("\"clerk.lienson\" already belongs"));
  EXPECT_EQ(
      server_.store().ListTokens({.include_inactive = true, .now = server_.clock().Now()})->size(),
      tokens_before);
  auto audit = server_.store().ListAudit({.limit = 1000});
  ASSERT_TRUE(audit.ok());
  EXPECT_EQ(audit->records.back().rpc(), "CreateToken");
  EXPECT_EQ(audit->records.back().result_code(), 6);  // ALREADY_EXISTS
  // Once the id's tokens are revoked, it may be given other powers.
  for (const auto* token : {&first, &rotated}) {
    onestop::v1::RevokeTokenRequest revoke;
    revoke.set_token_id(token->token().id());
    onestop::v1::RevokeTokenResponse revoked;
    ASSERT_TRUE(stub_->RevokeToken(ContextWith(admin_).get(), revoke, &revoked).ok());
  }
  EXPECT_TRUE(create(MakePrincipal("clerk.lienson", onestop::v1::ROLE_OFFICER, kCommune), &other)
                  .ok());
}

// A client certificate's principal (configuration) holds its id too: a
// token may carry it only with the same powers.
TEST(SecurityServiceCertificateTest, ACertificatesPrincipalIdIsRefusedWithOtherPowers) {
  const onestop::v1::Principal portal =
      MakePrincipal("portal.sync", onestop::v1::ROLE_SERVICE, kProvince);
  AuthServerOptions options;
  absl::StatusOr<core::Principal> mapped = service::auth::PrincipalFromProto(portal);
  ASSERT_TRUE(mapped.ok()) << mapped.status();
  options.authenticator.certificate_principals.push_back({"portal-sync.daklak.gov.vn", *mapped});
  AuthTestServer server(std::move(options));
  const std::string admin =
      server.TokenFor(MakePrincipal("admin.tinh", onestop::v1::ROLE_ADMIN, kProvince));
  auto stub = SecurityService::NewStub(
      grpc::CreateChannel(server.Address(), grpc::InsecureChannelCredentials()));
  auto create = [&](const onestop::v1::Principal& principal) {
    onestop::v1::CreateTokenRequest request;
    *request.mutable_principal() = principal;
    onestop::v1::CreateTokenResponse response;
    return stub->CreateToken(ContextWith(admin).get(), request, &response);
  };
  const grpc::Status taken =
      create(MakePrincipal("portal.sync", onestop::v1::ROLE_ADMIN, kProvince));
  EXPECT_EQ(taken.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_THAT(taken.error_message(), HasSubstr("client certificate"));
  EXPECT_EQ(
      server.store().ListTokens({.include_inactive = true, .now = server.clock().Now()})->size(),
      1u);  // the admin's only
  // The same powers: a token standing in for the certificate is fine.
  EXPECT_TRUE(create(portal).ok());
}

TEST_F(SecurityServiceTest, BootstrapAdminTokenAdministersEveryRoot) {
  auto created = service::auth::CreateBootstrapAdminToken(&server_.store(), &server_.clock(),
                                                          server_.catalogue(), "admin",
                                                          absl::Hours(1));
  ASSERT_TRUE(created.ok()) << created.status();
  ASSERT_EQ(created->info.principal().grants_size(), 1);
  EXPECT_EQ(created->info.principal().grants(0).agency_code(), kProvince);
  EXPECT_TRUE(List(created->secret).ok());
}

onestop::v1::Dossier CitizenDossier() {
  onestop::v1::Dossier dossier;
  dossier.set_code("000.31.01.H15-200106-0001");
  dossier.set_status(onestop::v1::DOSSIER_STATUS_PROCESSING);
  dossier.set_portal_status_code(4);
  dossier.mutable_applicant()->set_full_name("Nguyễn Thị Hằng");
  dossier.mutable_applicant()->set_phone("0912345678");
  dossier.mutable_applicant()->set_personal_id("066190001234");
  dossier.mutable_due_time()->set_seconds(1578500000);
  dossier.mutable_rescheduled_due_time()->set_seconds(1578900000);
  return dossier;
}

AuthServerOptions CitizenOptions() {
  AuthServerOptions options;
  options.rate = {.burst = 5, .refill_interval = absl::Seconds(10)};
  options.lookup = [](const std::string& code) -> absl::StatusOr<onestop::v1::Dossier> {
    if (code == CitizenDossier().code()) return CitizenDossier();
    return absl::NotFoundError("no dossier " + code);
  };
  return options;
}

TEST(CitizenServiceTest, AnswersStatusAndAppointmentOnlyForTheRightPair) {
  AuthTestServer server(CitizenOptions());
  auto stub = CitizenService::NewStub(
      grpc::CreateChannel(server.Address(), grpc::InsecureChannelCredentials()));
  onestop::v1::LookupDossierRequest request;
  request.set_code(CitizenDossier().code());
  request.set_last_four("5678");
  onestop::v1::LookupDossierResponse response;
  ASSERT_TRUE(stub->LookupDossier(ContextWith("").get(), request, &response).ok());
  EXPECT_EQ(response.status(), onestop::v1::DOSSIER_STATUS_PROCESSING);
  EXPECT_EQ(response.portal_status_code(), 4);
  EXPECT_EQ(response.due_time().seconds(), 1578500000);
  EXPECT_EQ(response.rescheduled_due_time().seconds(), 1578900000);
  request.set_last_four("1234");  // the ID number's digits also work
  EXPECT_TRUE(stub->LookupDossier(ContextWith("").get(), request, &response).ok());
  // Wrong pair and unknown code: the same answer.
  request.set_last_four("0000");
  const grpc::Status wrong = stub->LookupDossier(ContextWith("").get(), request, &response);
  request.set_code("000.31.01.H15-200106-9999");
  const grpc::Status unknown = stub->LookupDossier(ContextWith("").get(), request, &response);
  EXPECT_EQ(wrong.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(wrong.error_message(), unknown.error_message());
  EXPECT_THAT(wrong.error_message(), ::testing::Not(HasSubstr("9999")));
  request.set_last_four("12a4");
  EXPECT_EQ(stub->LookupDossier(ContextWith("").get(), request, &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST(CitizenServiceTest, BruteForceHitsTheRateLimit) {
  AuthTestServer server(CitizenOptions());
  auto stub = CitizenService::NewStub(
      grpc::CreateChannel(server.Address(), grpc::InsecureChannelCredentials()));
  onestop::v1::LookupDossierRequest request;
  request.set_code(CitizenDossier().code());
  onestop::v1::LookupDossierResponse response;
  std::map<grpc::StatusCode, int> answers;
  for (int guess = 0; guess < 100; ++guess) {
    request.set_last_four(absl::StrFormat("%04d", guess));
    ++answers[stub->LookupDossier(ContextWith("").get(), request, &response).error_code()];
  }
  EXPECT_EQ(answers[grpc::StatusCode::NOT_FOUND], 5);
  EXPECT_EQ(answers[grpc::StatusCode::RESOURCE_EXHAUSTED], 95);
  // Even the right pair is refused until the bucket refills.
  request.set_last_four("5678");
  EXPECT_EQ(stub->LookupDossier(ContextWith("").get(), request, &response).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
  ASSERT_TRUE(server.clock().Advance(absl::Seconds(10)).ok());
  EXPECT_TRUE(stub->LookupDossier(ContextWith("").get(), request, &response).ok());
  EXPECT_EQ(stub->LookupDossier(ContextWith("").get(), request, &response).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
}

}  // namespace
}  // namespace onestop::testing
