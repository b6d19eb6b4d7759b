// Conversions between the wire's onestop.v1.Principal and core::Principal,
// with the validation a new token's principal must pass.
//
// Thread safety: stateless functions.
#ifndef ONESTOP_SERVER_SERVICE_AUTH_PRINCIPALS_H_
#define ONESTOP_SERVER_SERVICE_AUTH_PRINCIPALS_H_

#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "onestop/v1/security_service.pb.h"
#include "server/core/authorization.h"
#include "server/core/catalogue.h"
#include "server/service/auth/authenticator.h"

namespace onestop::service::auth {

// Converts, checking the shape. INVALID_ARGUMENT naming the field: an id
// that is empty, longer than 128 bytes or not printable ASCII without
// spaces; no grants; ROLE_UNSPECIFIED or an unknown role; an empty agency
// code; an unknown service write name, or one that is not a grantable
// dossier write (core::IsGrantableServiceWrite); service writes without a
// ROLE_SERVICE grant.
absl::StatusOr<core::Principal> PrincipalFromProto(const onestop::v1::Principal& proto);

// PrincipalFromProto, and every grant's agency exists in `catalogue`
// (INVALID_ARGUMENT "unknown agency \"X\"").
absl::StatusOr<core::Principal> ValidateNewPrincipal(const onestop::v1::Principal& proto,
                                                     const core::Catalogue& catalogue);

onestop::v1::Principal PrincipalToProto(const core::Principal& principal);

onestop::v1::Role RoleToProto(core::Role role);

// Parses the --cert-principals file: one mapping per line,
//   <common name> <principal id> <role>:<agency>[,<role>:<agency>…] [writes=<permission>,…]
// e.g. "portal-sync.daklak.gov.vn portal-sync service:000.00.00.H15 writes=submit_dossier".
// Blank lines and text after '#' are ignored. Each principal passes
// PrincipalFromProto and each agency must be in `catalogue` (checked at
// start, like every other configuration). INVALID_ARGUMENT "line N: …", also
// for a common name mapped twice.
absl::StatusOr<std::vector<CertificatePrincipal>> ParseCertificatePrincipals(
    absl::string_view text, const core::Catalogue& catalogue);

}  // namespace onestop::service::auth

#endif  // ONESTOP_SERVER_SERVICE_AUTH_PRINCIPALS_H_
