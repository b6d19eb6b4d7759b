// Shared pieces of the security service tests: an in-process server with
// the SecurityService and CitizenService over a real SQLite file.
#ifndef ONESTOP_TESTS_SECURITY_AUTH_TEST_UTIL_H_
#define ONESTOP_TESTS_SECURITY_AUTH_TEST_UTIL_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <variant>

#include <google/protobuf/text_format.h>

#include "gtest/gtest.h"
#include "server/service/auth/access_guard.h"
#include "server/service/auth/authenticator.h"
#include "server/service/auth/limits.h"
#include "server/service/auth/security_service.h"
#include "server/service/executor.h"
#include "storage/security/sqlite_security_store.h"
#include "storage/sqlite/sqlite_dossier_store.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_config.h"

namespace onestop::testing {

inline std::shared_ptr<const core::Catalogue> SecurityTestCatalogue() {
  onestop::config::v1::Config config;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(kTestConfig, &config));
  auto built = core::Catalogue::Build(config);
  EXPECT_TRUE(std::holds_alternative<std::shared_ptr<const core::Catalogue>>(built));
  return std::get<std::shared_ptr<const core::Catalogue>>(built);
}

struct AuthServerOptions {
  std::shared_ptr<grpc::ServerCredentials> credentials = grpc::InsecureServerCredentials();
  service::auth::AuthenticatorOptions authenticator;
  service::auth::RateLimiterOptions rate = {};
  service::auth::DossierLookup lookup = [](const std::string&) {
    return absl::StatusOr<onestop::v1::Dossier>(absl::NotFoundError("unknown"));
  };
};

// Everything a test server needs, in dependency order.
class AuthTestServer {
 public:
  explicit AuthTestServer(AuthServerOptions options)
      : clock_(absl::FromUnixSeconds(1578000000), SystemClock::Get()) {
    auto dossiers = storage::SqliteDossierStore::Open(
        {.path = dir_.File("onestop.db"), .durability = storage::Durability::kNormal});
    EXPECT_TRUE(dossiers.ok()) << dossiers.status();
    dossiers_ = std::move(*dossiers);
    auto store = storage::SqliteSecurityStore::Open(
        {.path = dir_.File("onestop.db"), .durability = storage::SecurityDurability::kNormal});
    EXPECT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    authenticator_options_ = options.authenticator;
    authenticator_ = std::make_unique<service::auth::Authenticator>(
        store_.get(), &clock_, std::move(options.authenticator));
    guard_ = std::make_unique<service::auth::AccessGuard>(authenticator_.get(), store_.get(),
                                                          [c = catalogue_] { return c; }, &clock_);
    service::auth::SecurityServiceOptions tokens;
    for (const auto& mapped : authenticator_options_.certificate_principals) {
      tokens.certificate_principals.push_back(mapped.principal);
    }
    security_ = std::make_unique<service::auth::SecurityServiceImpl>(
        guard_.get(), store_.get(), [c = catalogue_] { return c; }, &clock_, &executor_,
        std::move(tokens));
    limiter_ = std::make_unique<service::auth::RateLimiter>(&clock_, options.rate);
    citizen_ = std::make_unique<service::auth::CitizenServiceImpl>(std::move(options.lookup),
                                                                   limiter_.get(), &executor_);
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", options.credentials, &port_);
    builder.RegisterService(security_.get());
    builder.RegisterService(citizen_.get());
    server_ = builder.BuildAndStart();
    EXPECT_NE(server_, nullptr);
    EXPECT_NE(port_, 0);
  }
  ~AuthTestServer() {
    if (server_ != nullptr) server_->Shutdown(std::chrono::system_clock::now());
  }

  std::string Address(const std::string& host = "127.0.0.1") const {
    return host + ":" + std::to_string(port_);
  }

  // A token for `principal` created straight in the store.
  std::string TokenFor(const onestop::v1::Principal& principal,
                       absl::Duration ttl = absl::Hours(1)) {
    auto created = store_->CreateToken(
        {.principal = principal, .created = clock_.Now(), .expires = clock_.Now() + ttl});
    EXPECT_TRUE(created.ok()) << created.status();
    return created.ok() ? created->secret : "";
  }

  ControlledClock& clock() { return clock_; }
  storage::SqliteSecurityStore& store() { return *store_; }
  const core::Catalogue& catalogue() const { return *catalogue_; }

 private:
  TempDir dir_;
  ControlledClock clock_;
  std::shared_ptr<const core::Catalogue> catalogue_ = SecurityTestCatalogue();
  std::unique_ptr<storage::SqliteDossierStore> dossiers_;
  service::auth::AuthenticatorOptions authenticator_options_;
  std::unique_ptr<storage::SqliteSecurityStore> store_;
  std::unique_ptr<service::auth::Authenticator> authenticator_;
  std::unique_ptr<service::auth::AccessGuard> guard_;
  service::Executor executor_{service::ExecutorOptions{.threads = 2}};
  std::unique_ptr<service::auth::SecurityServiceImpl> security_;
  std::unique_ptr<service::auth::RateLimiter> limiter_;
  std::unique_ptr<service::auth::CitizenServiceImpl> citizen_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

inline onestop::v1::Principal MakePrincipal(const std::string& id, onestop::v1::Role role,
                                            const std::string& agency) {
  onestop::v1::Principal principal;
  principal.set_id(id);
  auto* grant = principal.add_grants();
  grant->set_role(role);
  grant->set_agency_code(agency);
  return principal;
}

// A client context carrying `token` as a bearer token ("" = none), with a
// deadline so a refused handshake fails fast.
inline std::unique_ptr<grpc::ClientContext> ContextWith(const std::string& token) {
  auto context = std::make_unique<grpc::ClientContext>();
  if (!token.empty()) context->AddMetadata("authorization", "Bearer " + token);
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  return context;
}

}  // namespace onestop::testing

#endif  // ONESTOP_TESTS_SECURITY_AUTH_TEST_UTIL_H_
