// Authenticator: who is calling, from a bearer token or (with mutual TLS)
// the verified client certificate.
//
// Order: an `authorization` metadata entry, if present, must be
// "Bearer <secret>" and decides alone (a bad token is UNAUTHENTICATED even
// over mTLS); otherwise a verified client certificate whose common name is
// configured maps to that principal; otherwise UNAUTHENTICATED.
//
// The principal is shared and immutable: a token's principal is converted
// from the store's onestop.v1.Principal once and reused for as long as the
// store hands out the same copy (SQLite's token cache does; PostgreSQL
// parses a new one per call, so it is converted per call). A bench token
// with 22 grants cost ~50 allocations per call when each call copied it.
//
// Thread safety: thread-safe. Authenticate reads the SecurityStore
// (SQLite): call it on an executor thread, never on a gRPC reaction thread;
// AuthenticateFromMemory may be called anywhere.
#ifndef ONESTOP_SERVER_SERVICE_AUTH_AUTHENTICATOR_H_
#define ONESTOP_SERVER_SERVICE_AUTH_AUTHENTICATOR_H_

#include <grpcpp/grpcpp.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "server/core/authorization.h"
#include "server/util/clock.h"
#include "storage/security/security_store.h"

namespace onestop::service::auth {

// The caller of one RPC, shared with every other call by the same token.
using PrincipalPtr = std::shared_ptr<const core::Principal>;

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
  // Never null when OK.
  absl::StatusOr<PrincipalPtr> Authenticate(const grpc::ServerContextBase& context) const;
  // Authenticate's answer if it needs no database read (a certificate, a
  // missing or malformed header, a token the store answers from memory:
  // SecurityStore::AuthenticateFromMemory), or nullopt. Never blocks on
  // I/O: callable on a gRPC thread.
  std::optional<absl::StatusOr<PrincipalPtr>> AuthenticateFromMemory(
      const grpc::ServerContextBase& context) const;

  // The parts of Authenticate, for tests and other transports.
  // `header` is the authorization metadata value.
  absl::StatusOr<PrincipalPtr> AuthenticateBearer(absl::string_view header) const;
  // `common_names` are the verified peer's x509_common_name values.
  absl::StatusOr<PrincipalPtr> AuthenticateCertificate(
      const std::vector<std::string>& common_names) const;

 private:
  // `stored` converted, from conversions_ when the store handed out the
  // same copy before. INTERNAL if it does not convert.
  absl::StatusOr<PrincipalPtr> Convert(const storage::SharedPrincipal& stored) const;
  // Authenticate (from_memory_only false: never nullopt) or
  // AuthenticateFromMemory.
  std::optional<absl::StatusOr<PrincipalPtr>> Answer(const grpc::ServerContextBase& context,
                                                     bool from_memory_only) const;
  std::optional<absl::StatusOr<PrincipalPtr>> AnswerBearer(absl::string_view header,
                                                           bool from_memory_only) const;

  storage::SecurityStore* const store_;
  const Clock* const clock_;
  std::map<std::string, PrincipalPtr> by_common_name_;

  // Conversions by the store's copy. The weak pointer tells a live copy
  // from a later one at a reused address. Cleared when full (PostgreSQL
  // fills it with copies that are already gone).
  struct Conversion {
    std::weak_ptr<const onestop::v1::Principal> stored;
    PrincipalPtr principal;
  };
  static constexpr size_t kMaxConversions = 4096;
  mutable absl::Mutex conversions_mu_;
  mutable absl::flat_hash_map<const onestop::v1::Principal*, Conversion> conversions_
      ABSL_GUARDED_BY(conversions_mu_);
};

}  // namespace onestop::service::auth

#endif  // ONESTOP_SERVER_SERVICE_AUTH_AUTHENTICATOR_H_
