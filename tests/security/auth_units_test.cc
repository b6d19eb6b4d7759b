// The transport rule, the limiters, principal conversion and bearer
// parsing, each on its own.
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include <google/protobuf/text_format.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/service/auth/access_guard.h"
#include "server/service/auth/authenticator.h"
#include "server/service/auth/limits.h"
#include "server/service/auth/principals.h"
#include "server/service/auth/transport.h"
#include "storage/security/sqlite_security_store.h"
#include "storage/sqlite/sqlite_dossier_store.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_config.h"

namespace onestop::service::auth {
namespace {

using ::onestop::testing::IsOk;
using ::onestop::testing::StatusIs;
using ::testing::HasSubstr;

// The test configuration's catalogue; null if it does not build.
std::shared_ptr<const core::Catalogue> TestCatalogue() {
  onestop::config::v1::Config config;
  if (!google::protobuf::TextFormat::ParseFromString(testing::kTestConfig, &config)) {
    return nullptr;
  }
  auto built = core::Catalogue::Build(config);
  if (!std::holds_alternative<std::shared_ptr<const core::Catalogue>>(built)) return nullptr;
  return std::get<std::shared_ptr<const core::Catalogue>>(built);
}

TEST(TransportTest, LoopbackAddresses) {
  for (const char* address : {"127.0.0.1:7600", "127.1.2.3:1", "[::1]:7600", "localhost:7600",
                              "127.0.0.1", "::1", "localhost"}) {
    EXPECT_TRUE(IsLoopbackAddress(address)) << address;
  }
  for (const char* address : {"0.0.0.0:7600", "[::]:7600", "10.0.0.5:7600", "example.org:7600",
                              "128.0.0.1:7600", "127.0.0.1.evil.org:7600", "127.0.0:1",
                              "localhost.evil.org:7600", ""}) {
    EXPECT_FALSE(IsLoopbackAddress(address)) << address;
  }
}

TEST(TransportTest, InsecureOnlyOnLoopbackAndNeverWithTlsFiles) {
  EXPECT_THAT(CheckTransport({.listen_address = "127.0.0.1:7600", .transport = Transport::kInsecure}),
              IsOk());
  EXPECT_THAT(CheckTransport({.listen_address = "0.0.0.0:7600", .transport = Transport::kInsecure}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--insecure is refused on 0.0.0.0:7600")));
  EXPECT_THAT(CheckTransport({.listen_address = "127.0.0.1:7600",
                              .transport = Transport::kInsecure,
                              .tls = {.cert_file = "c.pem"}}),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(TransportTest, TlsNeedsCertAndKeyAndConsistentClientCa) {
  EXPECT_THAT(CheckTransport({.listen_address = "0.0.0.0:7600"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--tls-cert and --tls-key")));
  EXPECT_THAT(CheckTransport({.listen_address = "0.0.0.0:7600",
                              .tls = {.cert_file = "c", .key_file = "k"}}),
              IsOk());
  EXPECT_THAT(CheckTransport({.listen_address = "0.0.0.0:7600",
                              .tls = {.cert_file = "c",
                                      .key_file = "k",
                                      .client_certificates = ClientCertificates::kRequireAndVerify}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--tls-client-ca")));
  EXPECT_THAT(CheckTransport({.listen_address = "0.0.0.0:7600",
                              .tls = {.cert_file = "c", .key_file = "k", .client_ca_file = "ca"}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not requested")));
  EXPECT_THAT(ServerCredentialsFor({.listen_address = "0.0.0.0:7600",
                                    .tls = {.cert_file = "/nonexistent/c.pem", .key_file = "k"}}),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("/nonexistent/c.pem")));
}

TEST(RateLimiterTest, BurstThenRefillPerKey) {
  ControlledClock clock(absl::FromUnixSeconds(1000), SystemClock::Get());
  RateLimiter limiter(&clock, {.burst = 3, .refill_interval = absl::Seconds(10)});
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.TryAcquire("a")) << i;
  EXPECT_FALSE(limiter.TryAcquire("a"));
  EXPECT_TRUE(limiter.TryAcquire("b"));  // another address has its own bucket
  ASSERT_THAT(clock.Advance(absl::Seconds(9)), IsOk());
  EXPECT_FALSE(limiter.TryAcquire("a"));
  ASSERT_THAT(clock.Advance(absl::Seconds(1)), IsOk());
  EXPECT_TRUE(limiter.TryAcquire("a"));
  EXPECT_FALSE(limiter.TryAcquire("a"));
  // A long pause refills to the burst, not beyond.
  ASSERT_THAT(clock.Advance(absl::Hours(1)), IsOk());
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.TryAcquire("a")) << i;
  EXPECT_FALSE(limiter.TryAcquire("a"));
}

TEST(RateLimiterTest, BoundedKeysEvictTheLeastRecentlyUsedNotAnEmptyBucketsState) {
  ControlledClock clock(absl::FromUnixSeconds(1000), SystemClock::Get());
  RateLimiter limiter(&clock, {.burst = 1, .refill_interval = absl::Hours(1), .max_keys = 2});
  EXPECT_TRUE(limiter.TryAcquire("a"));
  ASSERT_THAT(clock.Advance(absl::Seconds(1)), IsOk());
  EXPECT_TRUE(limiter.TryAcquire("b"));
  ASSERT_THAT(clock.Advance(absl::Seconds(1)), IsOk());
  EXPECT_TRUE(limiter.TryAcquire("c"));  // evicts "a", the oldest
  EXPECT_FALSE(limiter.TryAcquire("b"));  // "b" kept its empty bucket
  EXPECT_FALSE(limiter.TryAcquire("c"));
}

TEST(RateLimiterTest, ClientAddressFromPeer) {
  EXPECT_EQ(ClientAddressFromPeer("ipv4:10.0.0.5:51234"), "10.0.0.5");
  EXPECT_EQ(ClientAddressFromPeer("ipv6:[::1]:51234"), "::1");
  EXPECT_EQ(ClientAddressFromPeer("unix:/run/onestop.sock"), "unix:/run/onestop.sock");
}

TEST(StreamLimiterTest, CapsOpenStreamsPerPrincipalAndReleasesOnDestruction) {
  StreamLimiter limiter({.max_streams_per_principal = 2});
  auto first = limiter.Acquire("svc");
  auto second = limiter.Acquire("svc");
  ASSERT_THAT(first, IsOk());
  ASSERT_THAT(second, IsOk());
  EXPECT_THAT(limiter.Acquire("svc"),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       "svc already has 2 streams open (the limit); close one first"));
  EXPECT_THAT(limiter.Acquire("other"), IsOk());  // released at once (temporary)
  EXPECT_EQ(limiter.open("svc"), 2);
  first->reset();
  EXPECT_EQ(limiter.open("svc"), 1);
  EXPECT_THAT(limiter.Acquire("svc"), IsOk());
  EXPECT_EQ(limiter.open("other"), 0);
}

TEST(PrincipalsTest, RoundTripsAndRejectsBadShapes) {
  onestop::v1::Principal proto;
  proto.set_id("sync.portal");
  auto* grant = proto.add_grants();
  grant->set_role(onestop::v1::ROLE_SERVICE);
  grant->set_agency_code("000.00.31.H15");
  proto.add_service_writes("return_result");
  auto principal = PrincipalFromProto(proto);
  ASSERT_THAT(principal, IsOk());
  EXPECT_EQ(principal->grants[0].role, core::Role::kService);
  ASSERT_EQ(principal->service_writes.size(), 1u);
  EXPECT_EQ(principal->service_writes[0], core::Permission::kReturnResult);
  EXPECT_EQ(PrincipalToProto(*principal).SerializeAsString(), proto.SerializeAsString());

  onestop::v1::Principal no_grants;
  no_grants.set_id("x");
  EXPECT_THAT(PrincipalFromProto(no_grants),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("grants")));
  onestop::v1::Principal long_id = proto;
  long_id.set_id(std::string(129, 'a'));
  EXPECT_THAT(PrincipalFromProto(long_id), StatusIs(absl::StatusCode::kInvalidArgument));
  onestop::v1::Principal no_agency = proto;
  no_agency.mutable_grants(0)->clear_agency_code();
  EXPECT_THAT(PrincipalFromProto(no_agency),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("agency_code")));
}

TEST(PrincipalsTest, CertificatePrincipalsFileParsesAndNamesTheBadLine) {
  const std::shared_ptr<const core::Catalogue> built = TestCatalogue();
  ASSERT_NE(built, nullptr);
  const core::Catalogue& catalogue = *built;

  auto parsed = ParseCertificatePrincipals(
      "# mutual TLS principals\n"
      "\n"
      "portal-sync.daklak.gov.vn  portal-sync  service:000.00.00.H15 writes=submit_dossier\n"
      "inspector  thanh-tra  supervisor:000.00.31.H15,supervisor:000.31.02.H15  # two grants\n",
      catalogue);
  ASSERT_THAT(parsed, IsOk());
  ASSERT_EQ(parsed->size(), 2u);
  EXPECT_EQ((*parsed)[0].common_name, "portal-sync.daklak.gov.vn");
  EXPECT_EQ((*parsed)[0].principal.id, "portal-sync");
  ASSERT_EQ((*parsed)[0].principal.service_writes.size(), 1u);
  EXPECT_EQ((*parsed)[0].principal.service_writes[0], core::Permission::kSubmitDossier);
  ASSERT_EQ((*parsed)[1].principal.grants.size(), 2u);
  EXPECT_EQ((*parsed)[1].principal.grants[1].agency_code, "000.31.02.H15");

  EXPECT_THAT(ParseCertificatePrincipals("a b\n", catalogue),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("line 1")));
  EXPECT_THAT(ParseCertificatePrincipals("\na b chief:000.00.00.H15\n", catalogue),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("line 2")));
  EXPECT_THAT(ParseCertificatePrincipals("a b clerk:999.99.99.X99\n", catalogue),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("999.99.99.X99")));
  EXPECT_THAT(ParseCertificatePrincipals("a b clerk:000.00.00.H15 writes=submit_dossier\n",
                                         catalogue),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("ROLE_SERVICE")));
  EXPECT_THAT(ParseCertificatePrincipals(
                  "a b clerk:000.00.00.H15\na c officer:000.00.00.H15\n", catalogue),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("mapped twice")));
}

class AuthenticatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = storage::SqliteSecurityStore::Open(
        {.path = ":memory:", .check = storage::DatabaseCheck::kStandalone});
    ASSERT_THAT(store, IsOk());
    store_ = std::move(*store);
    onestop::v1::Principal principal;
    principal.set_id("clerk.lienson");
    auto* grant = principal.add_grants();
    grant->set_role(onestop::v1::ROLE_CLERK);
    grant->set_agency_code("000.31.01.H15");
    auto created = store_->CreateToken(
        {.principal = principal, .created = clock_.Now(), .expires = clock_.Now() + absl::Minutes(5)});
    ASSERT_THAT(created, IsOk());
    secret_ = created->secret;
    id_ = created->info.id();
  }

  ControlledClock clock_{absl::FromUnixSeconds(1000), SystemClock::Get()};
  std::unique_ptr<storage::SqliteSecurityStore> store_;
  std::string secret_, id_;
};

TEST_F(AuthenticatorTest, BearerTokenUntilExpiryOrRevocation) {
  core::Principal mapped{"portal", {core::Grant{core::Role::kService, "000.00.00.H15"}}, {}};
  Authenticator authenticator(store_.get(), &clock_, {.certificate_principals = {{"portal-sync", mapped}}});
  auto principal = authenticator.AuthenticateBearer("Bearer " + secret_);
  ASSERT_THAT(principal, IsOk());
  ASSERT_NE(*principal, nullptr);
  EXPECT_EQ((*principal)->id, "clerk.lienson");
  EXPECT_THAT(authenticator.AuthenticateBearer("bearer " + secret_), IsOk());
  EXPECT_THAT(authenticator.AuthenticateBearer(secret_),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("malformed")));
  EXPECT_THAT(authenticator.AuthenticateBearer("Bearer "),
              StatusIs(absl::StatusCode::kUnauthenticated));
  ASSERT_THAT(clock_.Advance(absl::Minutes(5)), IsOk());
  EXPECT_THAT(authenticator.AuthenticateBearer("Bearer " + secret_),
              StatusIs(absl::StatusCode::kUnauthenticated, "invalid or expired token"));

  auto cert = authenticator.AuthenticateCertificate({"portal-sync"});
  ASSERT_THAT(cert, IsOk());
  EXPECT_EQ((*cert)->id, "portal");
  EXPECT_THAT(authenticator.AuthenticateCertificate({"intruder"}),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("\"intruder\"")));
}

// What may be answered on gRPC's thread: the authenticator answers a call
// without credentials at once, but the guard answers it (and audits the
// denial) only where the audit store never waits; elsewhere it leaves the
// call to the executor, auditing nothing.
TEST_F(AuthenticatorTest, FromMemoryOnlyWhereTheAuditNeverWaits) {
  const std::shared_ptr<const core::Catalogue> catalogue = TestCatalogue();
  ASSERT_NE(catalogue, nullptr);
  grpc::ServerContext no_credentials;
  const CallInfo call{.rpc = "SubmitDossier"};

  // :memory:, no dossier store's writer: audit appends are synchronous.
  Authenticator authenticator(store_.get(), &clock_, {});
  auto answered = authenticator.AuthenticateFromMemory(no_credentials);
  ASSERT_TRUE(answered.has_value());
  EXPECT_THAT(*answered, StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("no credentials")));
  ASSERT_FALSE(store_->AppendsAuditWithoutWaiting());
  AccessGuard guard(&authenticator, store_.get(), [catalogue] { return catalogue; }, &clock_);
  EXPECT_EQ(guard.AuthenticateFromMemory(no_credentials, call), std::nullopt);
  auto audit = store_->ListAudit({.limit = 10});
  ASSERT_THAT(audit, IsOk());
  EXPECT_TRUE(audit->records.empty());

  // The daemon's SQLite setup: audit records ride the dossier writer.
  testing::TempDir dir;
  auto dossiers = storage::SqliteDossierStore::Open({.path = dir.File("onestop.db")});
  ASSERT_THAT(dossiers, IsOk());
  auto shared = storage::SqliteSecurityStore::Open(
      {.path = dir.File("onestop.db"), .shared_writer = dossiers->get()});
  ASSERT_THAT(shared, IsOk());
  ASSERT_TRUE((*shared)->AppendsAuditWithoutWaiting());
  Authenticator shared_authenticator(shared->get(), &clock_, {});
  AccessGuard shared_guard(&shared_authenticator, shared->get(),
                           [catalogue] { return catalogue; }, &clock_);
  auto denied = shared_guard.AuthenticateFromMemory(no_credentials, call);
  ASSERT_TRUE(denied.has_value());
  EXPECT_THAT(*denied, StatusIs(absl::StatusCode::kUnauthenticated));
  audit = (*shared)->ListAudit({.limit = 10});
  ASSERT_THAT(audit, IsOk());
  ASSERT_EQ(audit->records.size(), 1u);
  EXPECT_EQ(audit->records[0].rpc(), "SubmitDossier");
  EXPECT_EQ(audit->records[0].result_code(), 16);  // UNAUTHENTICATED
}

TEST_F(AuthenticatorTest, RevocationIsSeenByTheNextCall) {
  Authenticator authenticator(store_.get(), &clock_, {});
  ASSERT_THAT(authenticator.AuthenticateBearer("Bearer " + secret_), IsOk());
  ASSERT_THAT(store_->RevokeToken(id_, clock_.Now()), IsOk());
  EXPECT_THAT(authenticator.AuthenticateBearer("Bearer " + secret_),
              StatusIs(absl::StatusCode::kUnauthenticated, "invalid or expired token"));
}

// SQLite hands out the principal it keeps; the authenticator converts it
// once and every later call shares the result.
TEST_F(AuthenticatorTest, RepeatedCallsShareOneConvertedPrincipal) {
  Authenticator authenticator(store_.get(), &clock_, {});
  auto first = authenticator.AuthenticateBearer("Bearer " + secret_);
  auto second = authenticator.AuthenticateBearer("Bearer " + secret_);
  ASSERT_THAT(first, IsOk());
  ASSERT_THAT(second, IsOk());
  EXPECT_EQ(first->get(), second->get());
  EXPECT_EQ((*second)->id, "clerk.lienson");
}

// A token whose stored principal does not convert (the store keeps what it
// is given; only the service validates) is an internal error, not a caller.
TEST_F(AuthenticatorTest, AStoredPrincipalThatDoesNotConvertIsInternal) {
  onestop::v1::Principal no_grants;
  no_grants.set_id("clerk.nogrant");
  auto created = store_->CreateToken({.principal = no_grants,
                                      .created = clock_.Now(),
                                      .expires = clock_.Now() + absl::Minutes(5)});
  ASSERT_THAT(created, IsOk());
  Authenticator authenticator(store_.get(), &clock_, {});
  EXPECT_THAT(authenticator.AuthenticateBearer("Bearer " + created->secret),
              StatusIs(absl::StatusCode::kInternal, "a stored token's principal is invalid"));
  EXPECT_THAT(authenticator.AuthenticateBearer("Bearer " + secret_), IsOk());
}

// Every call passed to `base`; the doubles below change one or two.
class ForwardingSecurityStore : public storage::SecurityStore {
 public:
  explicit ForwardingSecurityStore(storage::SecurityStore* base) : base_(base) {}
  absl::StatusOr<storage::CreatedToken> CreateToken(const storage::NewToken& token) override {
    return base_->CreateToken(token);
  }
  absl::StatusOr<storage::SharedPrincipal> Authenticate(absl::string_view secret,
                                                        absl::Time now) override {
    return base_->Authenticate(secret, now);
  }
  absl::StatusOr<std::vector<onestop::v1::TokenInfo>> ListTokens(
      const storage::TokenQuery& query) override {
    return base_->ListTokens(query);
  }
  absl::StatusOr<onestop::v1::TokenInfo> RevokeToken(const std::string& id,
                                                     absl::Time now) override {
    return base_->RevokeToken(id, now);
  }
  absl::StatusOr<int64_t> AppendAudit(const onestop::v1::AuditRecord& record) override {
    return base_->AppendAudit(record);
  }
  void AppendAuditLater(onestop::v1::AuditRecord record,
                        absl::AnyInvocable<void(absl::Status) &&> done) override {
    base_->AppendAuditLater(std::move(record), std::move(done));
  }
  absl::StatusOr<storage::AuditPage> ListAudit(const storage::AuditQuery& query) override {
    return base_->ListAudit(query);
  }

 protected:
  storage::SecurityStore* base() const { return base_; }

 private:
  storage::SecurityStore* const base_;
};

// A store that parses a new principal per call, like PostgreSQL — each in
// its own allocation, freed when the caller drops it, so the next one may
// land at the same address.
class FreshCopies final : public ForwardingSecurityStore {
 public:
  using ForwardingSecurityStore::ForwardingSecurityStore;
  absl::StatusOr<storage::SharedPrincipal> Authenticate(absl::string_view secret,
                                                        absl::Time now) override {
    absl::StatusOr<storage::SharedPrincipal> kept = base()->Authenticate(secret, now);
    if (!kept.ok()) return kept.status();
    return storage::SharedPrincipal(new onestop::v1::Principal(**kept));
  }
};

// A conversion is reused only for the very copy it was made from: two
// tokens' principals alternating through reused addresses never get each
// other's grants.
TEST_F(AuthenticatorTest, APrincipalAtAReusedAddressIsConvertedAgain) {
  onestop::v1::Principal officer;
  officer.set_id("officer.tnmt");
  auto* grant = officer.add_grants();
  grant->set_role(onestop::v1::ROLE_OFFICER);
  grant->set_agency_code("000.00.11.H15");
  auto other = store_->CreateToken(
      {.principal = officer, .created = clock_.Now(), .expires = clock_.Now() + absl::Minutes(5)});
  ASSERT_THAT(other, IsOk());
  FreshCopies store(store_.get());
  Authenticator authenticator(&store, &clock_, {});
  for (int round = 0; round < 20; ++round) {
    auto clerk = authenticator.AuthenticateBearer("Bearer " + secret_);
    ASSERT_THAT(clerk, IsOk());
    EXPECT_EQ((*clerk)->id, "clerk.lienson");
    ASSERT_EQ((*clerk)->grants.size(), 1u);
    EXPECT_EQ((*clerk)->grants[0].role, core::Role::kClerk);
    clerk->reset();
    auto officer_call = authenticator.AuthenticateBearer("Bearer " + other->secret);
    ASSERT_THAT(officer_call, IsOk());
    EXPECT_EQ((*officer_call)->id, "officer.tnmt");
    ASSERT_EQ((*officer_call)->grants.size(), 1u);
    EXPECT_EQ((*officer_call)->grants[0].agency_code, "000.00.11.H15");
  }
}

// The store's audit appends, with AppendAuditLater held back until the
// test releases it: an append the writer has queued but not yet committed.
class HeldBackAudit final : public ForwardingSecurityStore {
 public:
  using ForwardingSecurityStore::ForwardingSecurityStore;
  void AppendAuditLater(onestop::v1::AuditRecord record,
                        absl::AnyInvocable<void(absl::Status) &&> done) override {
    held_.push_back(std::move(record));
    done_.push_back(std::move(done));
  }
  void Release() {
    for (size_t i = 0; i < held_.size(); ++i) {
      std::move(done_[i])(base()->AppendAudit(held_[i]).status());
    }
    held_.clear();
    done_.clear();
  }
  size_t held() const { return held_.size(); }

 private:
  std::vector<onestop::v1::AuditRecord> held_;
  std::vector<absl::AnyInvocable<void(absl::Status) &&>> done_;
};

// RecordOutcome answers before its record is committed; RecordOutcomeAndWait
// (each ImportDossiers request) only once it is in the log.
TEST_F(AuthenticatorTest, RecordOutcomeQueuesAndRecordOutcomeAndWaitCommits) {
  const std::shared_ptr<const core::Catalogue> catalogue = TestCatalogue();
  ASSERT_NE(catalogue, nullptr);
  HeldBackAudit audit(store_.get());
  Authenticator authenticator(store_.get(), &clock_, {});
  AccessGuard guard(&authenticator, &audit, [catalogue] { return catalogue; }, &clock_);
  const core::Principal admin{"admin", {core::Grant{core::Role::kAdmin, "000.00.00.H15"}}, {}};
  auto logged = [&] {
    auto page = store_->ListAudit({.limit = 100});
    return page.ok() ? page->records.size() : size_t{999};
  };

  guard.RecordOutcome(admin, {.rpc = "HandOverDossier", .dossier_code = "X-1"},
                      absl::OkStatus());
  EXPECT_EQ(audit.held(), 1u);
  EXPECT_EQ(logged(), 0u);
  guard.RecordOutcomeAndWait(admin, {.rpc = "ImportDossiers", .note = "request 1"},
                             absl::OkStatus());
  EXPECT_EQ(audit.held(), 1u);
  EXPECT_EQ(logged(), 1u);
  audit.Release();
  EXPECT_EQ(logged(), 2u);
}

}  // namespace
}  // namespace onestop::service::auth
