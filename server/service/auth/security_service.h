// gRPC handlers for onestop.v1.SecurityService (tokens, audit: admin only)
// and onestop.v1.CitizenService (the tokenless, rate-limited lookup).
// Thin: authenticate/authorize/audit through AccessGuard, then one store
// call on the executor (gRFC L67).
#ifndef ONESTOP_SERVER_SERVICE_AUTH_SECURITY_SERVICE_H_
#define ONESTOP_SERVER_SERVICE_AUTH_SECURITY_SERVICE_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "onestop/v1/security_service.grpc.pb.h"
#include "server/core/catalogue.h"
#include "server/service/auth/access_guard.h"
#include "server/service/auth/limits.h"
#include "server/service/executor.h"
#include "server/util/clock.h"
#include "storage/security/security_store.h"

namespace onestop::service::auth {

struct SecurityServiceOptions {
  // Lifetime of a token created with ttl_seconds = 0.
  absl::Duration default_token_ttl = absl::Hours(24 * 90);
  // Longest lifetime a token may be given.
  absl::Duration max_token_ttl = absl::Hours(24 * 366);
  // The principals client certificates stand for (the configuration's,
  // AuthenticatorOptions): CreateToken refuses their ids with other powers.
  std::vector<core::Principal> certificate_principals = {};
};

class SecurityServiceImpl final : public onestop::v1::SecurityService::CallbackService {
 public:
  // None owned; all must outlive the service.
  SecurityServiceImpl(const AccessGuard* guard, storage::SecurityStore* store,
                      CatalogueSource catalogue, const Clock* clock, Executor* executor,
                      SecurityServiceOptions options = {});

  grpc::ServerUnaryReactor* CreateToken(grpc::CallbackServerContext* context,
                                        const onestop::v1::CreateTokenRequest* request,
                                        onestop::v1::CreateTokenResponse* response) override;
  grpc::ServerUnaryReactor* ListTokens(grpc::CallbackServerContext* context,
                                       const onestop::v1::ListTokensRequest* request,
                                       onestop::v1::ListTokensResponse* response) override;
  grpc::ServerUnaryReactor* RevokeToken(grpc::CallbackServerContext* context,
                                        const onestop::v1::RevokeTokenRequest* request,
                                        onestop::v1::RevokeTokenResponse* response) override;
  grpc::ServerUnaryReactor* ListAudit(grpc::CallbackServerContext* context,
                                      const onestop::v1::ListAuditRequest* request,
                                      onestop::v1::ListAuditResponse* response) override;

 private:
  // OK if `admin` may list and revoke `token`: every grant of it on an
  // agency the catalogue knows lies in the admin's manage_tokens scope, and
  // a grant on an agency that left the catalogue (a merged desk: it belongs
  // to no desk now, and confers nothing) is the province's, so only an
  // admin of a top-level agency administers it. PERMISSION_DENIED
  // otherwise, saying which grant.
  static absl::Status Administers(const core::Principal& admin,
                                  const onestop::v1::TokenInfo& token,
                                  const core::Catalogue& catalogue);

  const AccessGuard* const guard_;
  storage::SecurityStore* const store_;
  const CatalogueSource catalogue_;
  const Clock* const clock_;
  Executor* const executor_;
  const SecurityServiceOptions options_;
  // Serialises CreateToken's check of the principal id and its insert.
  absl::Mutex create_mu_;
};

// Creates a token for principal `principal_id` holding ROLE_ADMIN at every
// root agency of `catalogue` (for a first start and the quickstart), valid
// for `ttl` from clock->Now(), and returns it (secret included, shown once).
// Errors as SecurityStore::CreateToken; FAILED_PRECONDITION if the
// catalogue has no agency.
absl::StatusOr<storage::CreatedToken> CreateBootstrapAdminToken(storage::SecurityStore* store,
                                                                const Clock* clock,
                                                                const core::Catalogue& catalogue,
                                                                const std::string& principal_id,
                                                                absl::Duration ttl);

// Finds a dossier by code (the lead wires DossierManager::Get). NOT_FOUND
// for an unknown code. Called on an executor thread.
using DossierLookup = std::function<absl::StatusOr<onestop::v1::Dossier>(const std::string&)>;

class CitizenServiceImpl final : public onestop::v1::CitizenService::CallbackService {
 public:
  // `limiter` and `executor` are not owned and must outlive the service.
  CitizenServiceImpl(DossierLookup lookup, RateLimiter* limiter, Executor* executor);

  grpc::ServerUnaryReactor* LookupDossier(grpc::CallbackServerContext* context,
                                          const onestop::v1::LookupDossierRequest* request,
                                          onestop::v1::LookupDossierResponse* response) override;

 private:
  const DossierLookup lookup_;
  RateLimiter* const limiter_;
  Executor* const executor_;
};

}  // namespace onestop::service::auth

#endif  // ONESTOP_SERVER_SERVICE_AUTH_SECURITY_SERVICE_H_
