// Authenticator: who is calling, from a bearer token or (with mutual TLS)
// the verified client certificate.
//
// Order: an `authorization` metadata entry, if present, must be
// "Bearer <secret>" and decides alone (a bad token is UNAUTHENTICATED even
// over mTLS); otherwise a verified client certificate whose common name is
// configured maps to that principal; otherwise UNAUTHENTICATED.
//
// Thread safety: thread-safe; immutable after construction. Authenticate
// reads the SecurityStore (SQLite): call it on an executor thread, never on
// a gRPC reaction thread.
#ifndef ONESTOP_SERVER_SERVICE_AUTH_AUTHENTICATOR_H_
#define ONESTOP_SERVER_SERVICE_AUTH_AUTHENTICATOR_H_

#include <grpcpp/grpcpp.h>

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/core/authorization.h"
#include "server/util/clock.h"
#include "storage/security/security_store.h"

namespace onestop::service::auth {

// A client certificate (by subject common name) standing for a principal
// (from the configuration).
struct CertificatePrincipal {
  std::string common_name = "";  // e.g. "portal-sync.daklak.gov.vn"
  core::Principal principal = {};
};

struct AuthenticatorOptions {
  std::vector<CertificatePrincipal> certificate_principals = {};
};

class Authenticator {
 public:
  // `store` and `clock` are not owned and must outlive this object.
  Authenticator(storage::SecurityStore* store, const Clock* clock, AuthenticatorOptions options);

  // The calling principal. UNAUTHENTICATED ("no credentials: send
  // 'authorization: Bearer <token>'" / "invalid or expired token" /
  // "malformed authorization header" / "client certificate \"CN\" is not
  // mapped to a principal"); UNAVAILABLE if the store is busy.
  absl::StatusOr<core::Principal> Authenticate(const grpc::ServerContextBase& context) const;

  // The parts of Authenticate, for tests and other transports.
  // `header` is the authorization metadata value.
  absl::StatusOr<core::Principal> AuthenticateBearer(absl::string_view header) const;
  // `common_names` are the verified peer's x509_common_name values.
  absl::StatusOr<core::Principal> AuthenticateCertificate(
      const std::vector<std::string>& common_names) const;

 private:
  storage::SecurityStore* const store_;
  const Clock* const clock_;
  std::map<std::string, core::Principal> by_common_name_;
};

}  // namespace onestop::service::auth

#endif  // ONESTOP_SERVER_SERVICE_AUTH_AUTHENTICATOR_H_
