#include "server/service/auth/principals.h"

#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

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

absl::StatusOr<std::vector<CertificatePrincipal>> ParseCertificatePrincipals(
    absl::string_view text, const core::Catalogue& catalogue) {
  std::vector<CertificatePrincipal> mappings;
  std::set<std::string> seen;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    if (const size_t hash = line.find('#'); hash != absl::string_view::npos) {
      line = line.substr(0, hash);
    }
    const std::vector<absl::string_view> fields =
        absl::StrSplit(line, absl::ByAnyChar(" \t\r"), absl::SkipEmpty());
    if (fields.empty()) continue;
    auto error = [line_number](absl::string_view why) {
      return absl::InvalidArgumentError(absl::StrCat("line ", line_number, ": ", why));
    };
    if (fields.size() < 3 || fields.size() > 4) {
      return error("expected: COMMON_NAME PRINCIPAL ROLE:AGENCY[,ROLE:AGENCY...] [writes=...]");
    }
    onestop::v1::Principal proto;
    proto.set_id(std::string(fields[1]));
    for (absl::string_view grant_text : absl::StrSplit(fields[2], ',', absl::SkipEmpty())) {
      const std::vector<absl::string_view> parts = absl::StrSplit(grant_text, absl::MaxSplits(':', 1));
      const std::optional<core::Role> role = core::ParseRole(parts[0]);
      if (parts.size() != 2 || !role.has_value()) {
        return error(absl::StrCat("\"", grant_text, "\" is not ROLE:AGENCY (roles: clerk, "
                                  "officer, supervisor, service, admin)"));
      }
      onestop::v1::Grant* grant = proto.add_grants();
      grant->set_role(RoleToProto(*role));
      grant->set_agency_code(std::string(parts[1]));
    }
    if (fields.size() == 4) {
      absl::string_view writes = fields[3];
      if (!absl::ConsumePrefix(&writes, "writes=")) {
        return error(absl::StrCat("\"", fields[3], "\" should be writes=PERMISSION,..."));
      }
      for (absl::string_view name : absl::StrSplit(writes, ',', absl::SkipEmpty())) {
        proto.add_service_writes(std::string(name));
      }
    }
    absl::StatusOr<core::Principal> principal = ValidateNewPrincipal(proto, catalogue);
    if (!principal.ok()) return error(principal.status().message());
    if (!seen.insert(std::string(fields[0])).second) {
      return error(absl::StrCat("common name \"", fields[0], "\" is mapped twice"));
    }
    mappings.push_back({.common_name = std::string(fields[0]), .principal = *principal});
  }
  return mappings;
}

}  // namespace onestop::service::auth
