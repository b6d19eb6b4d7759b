#include "server/core/authorization.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace onestop::core {
namespace {

using onestop::v1::DossierStatus;

// The roles table (docs/SECURITY.md mirrors it; tests/security checks both
// against an independent literal).
bool ClerkHolds(Permission p) {
  switch (p) {
    case Permission::kGetDossier:
    case Permission::kListDossiers:
    case Permission::kSubmitDossier:
    case Permission::kAcceptDossier:
    case Permission::kRequestSupplementAtReception:
    case Permission::kSupplyDocuments:
    case Permission::kRefuseDossier:
    case Permission::kHandOverDossier:
    case Permission::kReturnResult:
    case Permission::kWithdrawDossier:
    case Permission::kForwardDossier:
    case Permission::kFetchComponent:
    case Permission::kAttachComponent:
    case Permission::kAttachResultDocument:
    case Permission::kReadCatalogue:
    case Permission::kReadClock:
      return true;
    default:
      return false;
  }
}

bool OfficerHolds(Permission p) {
  switch (p) {
    case Permission::kGetDossier:
    case Permission::kListDossiers:
    case Permission::kRequestSupplementInProcessing:
    case Permission::kRecordDecision:
    case Permission::kMarkResultReady:
    case Permission::kStopProcessing:
    case Permission::kRequestPayment:
    case Permission::kConfirmPayment:
    case Permission::kRescheduleDossier:
    case Permission::kForwardDossier:
    case Permission::kCompleteStage:
    case Permission::kFetchComponent:
    case Permission::kAttachResultDocument:
    case Permission::kReadCatalogue:
    case Permission::kReadClock:
      return true;
    default:
      return false;
  }
}

bool SupervisorHolds(Permission p) {
  switch (p) {
    case Permission::kGetDossier:
    case Permission::kListDossiers:
    case Permission::kWatchEvents:
    case Permission::kGetCompletionReport:
    case Permission::kFetchComponent:
    case Permission::kReadCatalogue:
    case Permission::kReadClock:
      return true;
    default:
      return false;
  }
}

bool ServiceHolds(Permission p) {
  switch (p) {
    case Permission::kGetDossier:
    case Permission::kListDossiers:
    case Permission::kWatchEvents:
    case Permission::kFetchComponent:
    case Permission::kReadCatalogue:
    case Permission::kReadClock:
      return true;
    default:
      return false;
  }
}

bool AdminHolds(Permission p) {
  switch (p) {
    case Permission::kImportDossiers:
    case Permission::kReadCatalogue:
    case Permission::kReadClock:
    case Permission::kControlClock:
    case Permission::kManageTokens:
    case Permission::kReadAudit:
    case Permission::kAdministerDaemon:
      return true;
    default:
      return false;
  }
}

bool GrantHolds(const Principal& principal, const Grant& grant, Permission permission) {
  if (RoleHolds(grant.role, permission)) return true;
  return grant.role == Role::kService && IsGrantableServiceWrite(permission) &&
         std::find(principal.service_writes.begin(), principal.service_writes.end(),
                   permission) != principal.service_writes.end();
}

std::string Possessive(Role role) {
  const absl::string_view name = RoleName(role);
  const bool vowel = role == Role::kOfficer || role == Role::kAdmin;
  return absl::StrCat(vowel ? "an " : "a ", name, "'s");
}

}  // namespace

absl::string_view RoleName(Role role) {
  switch (role) {
    case Role::kClerk:
      return "clerk";
    case Role::kOfficer:
      return "officer";
    case Role::kSupervisor:
      return "supervisor";
    case Role::kService:
      return "service";
    case Role::kAdmin:
      return "admin";
  }
  return "unknown";
}

std::optional<Role> ParseRole(absl::string_view name) {
  for (Role role : kAllRoles) {
    if (RoleName(role) == name) return role;
  }
  return std::nullopt;
}

absl::string_view PermissionName(Permission permission) {
  switch (permission) {
    case Permission::kGetDossier: return "get_dossier";
    case Permission::kListDossiers: return "list_dossiers";
    case Permission::kWatchEvents: return "watch_events";
    case Permission::kGetCompletionReport: return "get_completion_report";
    case Permission::kFetchComponent: return "fetch_component";
    case Permission::kSubmitDossier: return "submit_dossier";
    case Permission::kAcceptDossier: return "accept_dossier";
    case Permission::kRequestSupplementAtReception: return "request_supplement_at_reception";
    case Permission::kRequestSupplementInProcessing: return "request_supplement_in_processing";
    case Permission::kSupplyDocuments: return "supply_documents";
    case Permission::kRefuseDossier: return "refuse_dossier";
    case Permission::kHandOverDossier: return "hand_over_dossier";
    case Permission::kRecordDecision: return "record_decision";
    case Permission::kMarkResultReady: return "mark_result_ready";
    case Permission::kReturnResult: return "return_result";
    case Permission::kWithdrawDossier: return "withdraw_dossier";
    case Permission::kStopProcessing: return "stop_processing";
    case Permission::kRequestPayment: return "request_payment";
    case Permission::kConfirmPayment: return "confirm_payment";
    case Permission::kRescheduleDossier: return "reschedule_dossier";
    case Permission::kForwardDossier: return "forward_dossier";
    case Permission::kCompleteStage: return "complete_stage";
    case Permission::kAttachComponent: return "attach_component";
    case Permission::kAttachResultDocument: return "attach_result_document";
    case Permission::kImportDossiers: return "import_dossiers";
    case Permission::kReadCatalogue: return "read_catalogue";
    case Permission::kReadClock: return "read_clock";
    case Permission::kControlClock: return "control_clock";
    case Permission::kManageTokens: return "manage_tokens";
    case Permission::kReadAudit: return "read_audit";
    case Permission::kAdministerDaemon: return "administer_daemon";
  }
  return "unknown";
}

std::optional<Permission> ParsePermission(absl::string_view name) {
  for (Permission permission : kAllPermissions) {
    if (PermissionName(permission) == name) return permission;
  }
  return std::nullopt;
}

bool RoleHolds(Role role, Permission permission) {
  switch (role) {
    case Role::kClerk:
      return ClerkHolds(permission);
    case Role::kOfficer:
      return OfficerHolds(permission);
    case Role::kSupervisor:
      return SupervisorHolds(permission);
    case Role::kService:
      return ServiceHolds(permission);
    case Role::kAdmin:
      return AdminHolds(permission);
  }
  return false;
}

bool IsGrantableServiceWrite(Permission permission) {
  return permission >= Permission::kSubmitDossier && permission <= Permission::kImportDossiers;
}

Permission SupplementPermission(DossierStatus status) {
  return status == onestop::v1::DOSSIER_STATUS_NEW ? Permission::kRequestSupplementAtReception
                                                   : Permission::kRequestSupplementInProcessing;
}

Permission AttachPermission(DocumentKind kind) {
  return kind == DocumentKind::kResult ? Permission::kAttachResultDocument
                                       : Permission::kAttachComponent;
}

bool ActsOnTheWholeDaemon(Permission permission) {
  return permission == Permission::kControlClock || permission == Permission::kReadAudit ||
         permission == Permission::kAdministerDaemon;
}

absl::Status Authorize(const Principal& principal, Permission permission,
                       const std::vector<std::string>& target_agencies,
                       const Catalogue& catalogue, absl::string_view targets_named_as) {
  std::vector<std::string> holding_agencies;
  const bool whole_daemon = ActsOnTheWholeDaemon(permission);
  std::vector<std::string> departed;  // agencies of holding grants no longer in the catalogue
  for (const Grant& grant : principal.grants) {
    if (!GrantHolds(principal, grant, permission)) continue;
    const onestop::v1::Agency* agency = catalogue.FindAgency(grant.agency_code);
    if (agency == nullptr) {  // left the catalogue: confers nothing
      departed.push_back(grant.agency_code);
      continue;
    }
    if (whole_daemon && !agency->parent_code().empty()) {
      if (std::find(holding_agencies.begin(), holding_agencies.end(), grant.agency_code) ==
          holding_agencies.end()) {
        holding_agencies.push_back(grant.agency_code);
      }
      continue;
    }
    if (target_agencies.empty()) return absl::OkStatus();
    for (const std::string& target : target_agencies) {
      if (!target.empty() && catalogue.IsInSubtree(target, grant.agency_code)) {
        return absl::OkStatus();
      }
    }
    if (std::find(holding_agencies.begin(), holding_agencies.end(), grant.agency_code) ==
        holding_agencies.end()) {
      holding_agencies.push_back(grant.agency_code);
    }
  }
  const std::string who = principal.id.empty() ? "this caller" : principal.id;
  if (holding_agencies.empty() && !departed.empty()) {
    return absl::PermissionDeniedError(absl::StrCat(
        who, " may not ", PermissionName(permission), ": your grants for it are on ",
        absl::StrJoin(departed, ", "), ", no longer in the catalogue"));
  }
  if (holding_agencies.empty()) {
    std::vector<std::string> roles;
    for (Role role : kAllRoles) {
      if (RoleHolds(role, permission)) roles.push_back(Possessive(role));
    }
    std::string whose = roles.empty() ? "nobody's" : absl::StrJoin(roles, " or ");
    return absl::PermissionDeniedError(absl::StrCat(who, " may not ", PermissionName(permission),
                                                    ": that is ", whose, " action"));
  }
  if (whole_daemon) {
    return absl::PermissionDeniedError(absl::StrCat(
        who, " may not ", PermissionName(permission),
        ": it acts on the whole daemon, for an admin of a top-level agency (yours: ",
        absl::StrJoin(holding_agencies, ", "), ")"));
  }
  std::vector<std::string> targets;
  for (const std::string& target : target_agencies) {
    if (!target.empty() &&
        std::find(targets.begin(), targets.end(), target) == targets.end()) {
      targets.push_back(target);
    }
  }
  const bool named = !targets_named_as.empty();
  return absl::PermissionDeniedError(absl::StrCat(
      who, " may not ", PermissionName(permission), " on ",
      named ? std::string(targets_named_as) : absl::StrJoin(targets, ", "), ": ",
      named || targets.size() == 1 ? "it is" : "they are", " outside your agencies (",
      absl::StrJoin(holding_agencies, ", "), ")"));
}

std::vector<std::string> DossierAgencies(const onestop::v1::Dossier& dossier) {
  std::vector<std::string> agencies;
  auto add = [&agencies](const std::string& code) {
    if (!code.empty() && std::find(agencies.begin(), agencies.end(), code) == agencies.end()) {
      agencies.push_back(code);
    }
  };
  add(dossier.receiving_agency_code());
  add(dossier.holder_agency_code());
  add(dossier.deciding_agency_code());
  for (const onestop::v1::Stage& stage : dossier.stages()) {
    for (const onestop::v1::StageTask& task : stage.tasks()) add(task.agency_code());
  }
  return agencies;
}

std::vector<std::string> VisibleAgencies(const Principal& principal, Permission permission,
                                         const Catalogue& catalogue) {
  std::vector<std::string> visible;
  std::set<std::string> seen;
  for (const Grant& grant : principal.grants) {
    if (!GrantHolds(principal, grant, permission)) continue;
    for (std::string& code : catalogue.SubtreeCodes(grant.agency_code)) {
      if (seen.insert(code).second) visible.push_back(std::move(code));
    }
  }
  return visible;
}

bool MaySeePersonalData(const Principal& principal, const PrivacyPolicy& policy,
                        const Catalogue& catalogue) {
  for (const Grant& grant : principal.grants) {
    if (catalogue.FindAgency(grant.agency_code) == nullptr) continue;  // left the catalogue
    if (std::find(policy.roles_seeing_personal_data.begin(),
                  policy.roles_seeing_personal_data.end(),
                  grant.role) != policy.roles_seeing_personal_data.end()) {
      return true;
    }
  }
  return false;
}

std::string MaskDigits(absl::string_view value) {
  // Split into UTF-8 characters (continuation bytes 10xxxxxx join the
  // previous one).
  std::vector<absl::string_view> chars;
  size_t start = 0;
  for (size_t i = 1; i <= value.size(); ++i) {
    if (i == value.size() || (static_cast<unsigned char>(value[i]) & 0xC0) != 0x80) {
      chars.push_back(value.substr(start, i - start));
      start = i;
    }
  }
  const size_t keep = chars.size() > 4 ? 4 : 0;
  std::string masked(chars.size() - keep, '*');
  for (size_t i = chars.size() - keep; i < chars.size(); ++i) absl::StrAppend(&masked, chars[i]);
  return masked;
}

void MaskPersonalData(onestop::v1::Dossier* dossier) {
  onestop::v1::Applicant* applicant = dossier->mutable_applicant();
  if (!applicant->personal_id().empty()) {
    applicant->set_personal_id(MaskDigits(applicant->personal_id()));
  }
  if (!applicant->phone().empty()) applicant->set_phone(MaskDigits(applicant->phone()));
}

namespace {

// The last four ASCII digits of `number`, or "" if it has fewer.
std::string LastFourDigits(absl::string_view number) {
  std::string digits;
  for (char c : number) {
    if (c >= '0' && c <= '9') digits.push_back(c);
  }
  return digits.size() < 4 ? std::string() : digits.substr(digits.size() - 4);
}

bool EqualFour(absl::string_view a, absl::string_view b) {
  if (a.size() != 4 || b.size() != 4) return false;
  unsigned diff = 0;
  for (int i = 0; i < 4; ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

}  // namespace

bool MatchesLastFour(const onestop::v1::Applicant& applicant, absl::string_view last_four) {
  if (last_four.size() != 4) return false;
  for (char c : last_four) {
    if (c < '0' || c > '9') return false;
  }
  // Evaluate both, so the time taken does not say which one matched.
  const bool phone = EqualFour(LastFourDigits(applicant.phone()), last_four);
  const bool id = EqualFour(LastFourDigits(applicant.personal_id()), last_four);
  return phone | id;
}

}  // namespace onestop::core
