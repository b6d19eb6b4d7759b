#include "tests/testing/test_auth.h"

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "onestop/v1/dossier_service.grpc.pb.h"
#include "onestop/v1/security_service.grpc.pb.h"

namespace onestop::testing {
namespace {

// Adds the bearer token to every call's initial metadata.
class BearerInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit BearerInterceptor(std::string header) : header_(std::move(header)) {}
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      methods->GetSendInitialMetadata()->insert({"authorization", header_});
    }
    methods->Proceed();
  }

 private:
  const std::string header_;
};

class BearerInterceptorFactory final
    : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit BearerInterceptorFactory(std::string header) : header_(std::move(header)) {}
  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo*) override {
    return new BearerInterceptor(header_);
  }

 private:
  const std::string header_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<TestAuth>> TestAuth::Open(
    const std::string& db_path, storage::sqlite_internal::SharedWriter* shared_writer) {
  absl::StatusOr<std::unique_ptr<storage::SqliteSecurityStore>> store =
      storage::SqliteSecurityStore::Open(
          {.path = db_path,
           .check = db_path == ":memory:" ? storage::DatabaseCheck::kStandalone
                                          : storage::DatabaseCheck::kRequireOnestopDatabase,
           .durability = storage::SecurityDurability::kNormal,
           .shared_writer = shared_writer});
  if (!store.ok()) return store.status();
  return std::unique_ptr<TestAuth>(new TestAuth(std::move(*store)));
}

absl::StatusOr<std::string> TestAuth::TokenFor(const onestop::v1::Principal& principal) {
  const absl::Time from = absl::FromCivil(absl::CivilDay(2000, 1, 1), absl::UTCTimeZone());
  absl::StatusOr<storage::CreatedToken> created = store_->CreateToken(
      {.principal = principal, .label = "test", .created = from,
       .expires = absl::Now() + absl::Hours(24 * 366)});
  if (!created.ok()) return created.status();
  return created->secret;
}

std::unique_ptr<TestAuth> MustOpenTestAuth(const std::string& db_path,
                                           storage::sqlite_internal::SharedWriter* shared_writer) {
  absl::StatusOr<std::unique_ptr<TestAuth>> auth = TestAuth::Open(db_path, shared_writer);
  if (!auth.ok()) {
    std::cerr << "cannot open the security tables of " << db_path << ": " << auth.status()
              << std::endl;
    std::abort();
  }
  return *std::move(auth);
}

std::string MustToken(const absl::StatusOr<std::string>& token) {
  if (!token.ok()) {
    std::cerr << "cannot issue a test token: " << token.status() << std::endl;
    std::abort();
  }
  return *token;
}

onestop::v1::Principal AllRolesPrincipal(const std::vector<std::string>& root_agencies,
                                         const std::string& principal_id) {
  onestop::v1::Principal principal;
  principal.set_id(principal_id);
  for (const std::string& agency : root_agencies) {
    for (const onestop::v1::Role role :
         {onestop::v1::ROLE_CLERK, onestop::v1::ROLE_OFFICER, onestop::v1::ROLE_SUPERVISOR,
          onestop::v1::ROLE_SERVICE, onestop::v1::ROLE_ADMIN}) {
      onestop::v1::Grant* grant = principal.add_grants();
      grant->set_role(role);
      grant->set_agency_code(agency);
    }
  }
  return principal;
}

absl::StatusOr<std::string> TestAuth::AllRolesToken(const core::Catalogue& catalogue,
                                                    const std::string& principal_id) {
  std::vector<std::string> roots;
  for (const onestop::v1::Agency& agency : catalogue.agencies()) {
    if (agency.parent_code().empty()) roots.push_back(agency.code());
  }
  return TokenFor(AllRolesPrincipal(roots, principal_id));
}

std::shared_ptr<grpc::Channel> AuthorizedChannel(const std::string& address,
                                                 const std::string& token,
                                                 const grpc::ChannelArguments& args) {
  std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> factories;
  factories.push_back(std::make_unique<BearerInterceptorFactory>(absl::StrCat("Bearer ", token)));
  return grpc::experimental::CreateCustomChannelWithInterceptors(
      address, grpc::InsecureChannelCredentials(), args, std::move(factories));
}

void UseInsecureLoopback(service::ServerOptions& options) {
  options.transport.transport = service::auth::Transport::kInsecure;
}

std::vector<std::string> InsecureDaemonFlags(const std::string& admin_token_file) {
  return {"--insecure", "--bootstrap-token-file=" + admin_token_file};
}

absl::StatusOr<std::string> IssueAllRolesToken(const std::string& address,
                                               const std::string& admin_token_file,
                                               const std::string& principal_id) {
  std::ifstream file(admin_token_file);
  std::string admin_token;
  if (!std::getline(file, admin_token)) {
    return absl::NotFoundError(absl::StrCat("no admin token in ", admin_token_file));
  }
  absl::StripAsciiWhitespace(&admin_token);
  auto channel = AuthorizedChannel(address, admin_token);
  auto catalogue = onestop::v1::CatalogueService::NewStub(channel);
  onestop::v1::ListAgenciesResponse agencies;
  {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    const grpc::Status status =
        catalogue->ListAgencies(&context, onestop::v1::ListAgenciesRequest(), &agencies);
    if (!status.ok()) {
      return absl::UnavailableError(absl::StrCat("ListAgencies: ", status.error_message()));
    }
  }
  std::vector<std::string> roots;
  for (const onestop::v1::Agency& agency : agencies.agencies()) {
    if (agency.parent_code().empty()) roots.push_back(agency.code());
  }
  auto security = onestop::v1::SecurityService::NewStub(channel);
  onestop::v1::CreateTokenRequest request;
  *request.mutable_principal() = AllRolesPrincipal(roots, principal_id);
  request.set_label("test");
  request.set_ttl_seconds(366 * 24 * 3600);  // the longest: tests move the clock
  onestop::v1::CreateTokenResponse response;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  const grpc::Status status = security->CreateToken(&context, request, &response);
  if (!status.ok()) {
    return absl::UnavailableError(absl::StrCat("CreateToken: ", status.error_message()));
  }
  return response.secret();
}

}  // namespace onestop::testing
