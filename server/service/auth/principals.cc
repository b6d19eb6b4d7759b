#include "server/service/auth/principals.h"

#include "absl/strings/str_cat.h"

namespace onestop::service::auth {
namespace {

std::optional<core::Role> RoleFromProto(onestop::v1::Role role) {
  switch (role) {
    case onestop::v1::ROLE_CLERK: return core::Role::kClerk;
    case onestop::v1::ROLE_OFFICER: return core::Role::kOfficer;
    case onestop::v1::ROLE_SUPERVISOR: return core::Role::kSupervisor;
    case onestop::v1::ROLE_SERVICE: return core::Role::kService;
    case onestop::v1::ROLE_ADMIN: return core::Role::kAdmin;
    default: return std::nullopt;
  }
}

bool ValidId(const std::string& id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    if (c <= ' ' || c > '~') return false;
  }
  return true;
}

}  // namespace

onestop::v1::Role RoleToProto(core::Role role) {
  switch (role) {
    case core::Role::kClerk: return onestop::v1::ROLE_CLERK;
    case core::Role::kOfficer: return onestop::v1::ROLE_OFFICER;
    case core::Role::kSupervisor: return onestop::v1::ROLE_SUPERVISOR;
    case core::Role::kService: return onestop::v1::ROLE_SERVICE;
    case core::Role::kAdmin: return onestop::v1::ROLE_ADMIN;
  }
  return onestop::v1::ROLE_UNSPECIFIED;
}

absl::StatusOr<core::Principal> PrincipalFromProto(const onestop::v1::Principal& proto) {
  if (!ValidId(proto.id())) {
    return absl::InvalidArgumentError(
        "principal.id must be 1–128 printable ASCII characters without spaces");
  }
  if (proto.grants().empty()) {
    return absl::InvalidArgumentError("principal.grants: at least one (role, agency) is required");
  }
  core::Principal principal;
  principal.id = proto.id();
  bool service = false;
  for (int i = 0; i < proto.grants_size(); ++i) {
    const onestop::v1::Grant& grant = proto.grants(i);
    const std::optional<core::Role> role = RoleFromProto(grant.role());
    if (!role.has_value()) {
      return absl::InvalidArgumentError(absl::StrCat("principal.grants[", i, "].role is required"));
    }
    if (grant.agency_code().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("principal.grants[", i, "].agency_code is required"));
    }
    service = service || *role == core::Role::kService;
    principal.grants.push_back({*role, grant.agency_code()});
  }
  for (const std::string& name : proto.service_writes()) {
    const std::optional<core::Permission> permission = core::ParsePermission(name);
    if (!permission.has_value() || !core::IsGrantableServiceWrite(*permission)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "principal.service_writes: \"", name, "\" is not a dossier write a service may hold"));
    }
    principal.service_writes.push_back(*permission);
  }
  if (!principal.service_writes.empty() && !service) {
    return absl::InvalidArgumentError(
        "principal.service_writes needs a grant with role ROLE_SERVICE");
  }
  return principal;
}

absl::StatusOr<core::Principal> ValidateNewPrincipal(const onestop::v1::Principal& proto,
                                                     const core::Catalogue& catalogue) {
  absl::StatusOr<core::Principal> principal = PrincipalFromProto(proto);
  if (!principal.ok()) return principal.status();
  for (const core::Grant& grant : principal->grants) {
    if (catalogue.FindAgency(grant.agency_code) == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("principal.grants: unknown agency \"", grant.agency_code, "\""));
    }
  }
  return principal;
}

onestop::v1::Principal PrincipalToProto(const core::Principal& principal) {
  onestop::v1::Principal proto;
  proto.set_id(principal.id);
  for (const core::Grant& grant : principal.grants) {
    onestop::v1::Grant* out = proto.add_grants();
    out->set_role(RoleToProto(grant.role));
    out->set_agency_code(grant.agency_code);
  }
  for (core::Permission permission : principal.service_writes) {
    proto.add_service_writes(std::string(core::PermissionName(permission)));
  }
  return proto;
}

}  // namespace onestop::service::auth
