// Who may do what, where: the authorization policy as pure functions.
//
// A Principal holds one or more (role, agency) grants. A role holds a fixed
// set of permissions (RoleHolds; the table in docs/SECURITY.md); a grant
// covers its agency's whole subtree (Catalogue::IsInSubtree). A call is
// allowed when ONE grant both holds the permission and covers one of the
// call's target agencies (or the call has no target agency; for the
// permissions that act on the whole daemon, ActsOnTheWholeDaemon, the grant
// must then be at a top-level agency). Nothing here
// reads credentials, clocks or storage: server/service/auth/ authenticates
// and calls these functions.
//
// Thread safety: the functions are pure; the types are plain values.
#ifndef ONESTOP_SERVER_CORE_AUTHORIZATION_H_
#define ONESTOP_SERVER_CORE_AUTHORIZATION_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "onestop/v1/dossier.pb.h"
#include "server/core/catalogue.h"
#include "server/core/documents.h"

namespace onestop::core {

enum class Role { kClerk, kOfficer, kSupervisor, kService, kAdmin };
inline constexpr Role kAllRoles[] = {Role::kClerk, Role::kOfficer, Role::kSupervisor,
                                     Role::kService, Role::kAdmin};

// Every RPC or action the server checks. Names (PermissionName) are the
// snake_case forms, e.g. "record_decision".
enum class Permission {
  // Dossier reads.
  kGetDossier,
  kListDossiers,
  kWatchEvents,
  kGetCompletionReport,
  // DownloadComponent: read a digitised component's bytes.
  kFetchComponent,
  // Dossier writes (one per lifecycle action). RequestSupplement is two
  // permissions: at reception (status NEW, Form 02, the desk) and during
  // processing (the processing agency); SupplementPermission picks one.
  kSubmitDossier,
  kAcceptDossier,
  kRequestSupplementAtReception,
  kRequestSupplementInProcessing,
  kSupplyDocuments,
  kRefuseDossier,
  kHandOverDossier,
  kRecordDecision,
  kMarkResultReady,
  kReturnResult,
  kWithdrawDossier,
  kStopProcessing,
  kRequestPayment,
  kConfirmPayment,
  kRescheduleDossier,
  kForwardDossier,
  kCompleteStage,
  // UploadComponent: an applicant's component (at reception or for a
  // requested supplement) is the desk's; a result document (RESULT_READY)
  // may be attached by the desk or by the deciding officer.
  // AttachPermission picks one.
  kAttachComponent,
  kAttachResultDocument,
  kImportDossiers,
  // Catalogue and clock reads (ListAgencies, ListProcedures, GetCalendar;
  // GetClock).
  kReadCatalogue,
  kReadClock,
  // Administration.
  kControlClock,  // SetClock, AdvanceClock, ResetClock
  kManageTokens,  // CreateToken, ListTokens, RevokeToken
  kReadAudit,     // ListAudit
  kAdministerDaemon,  // ReloadConfig, BackupDatabase
};
inline constexpr Permission kAllPermissions[] = {
    Permission::kGetDossier,
    Permission::kListDossiers,
    Permission::kWatchEvents,
    Permission::kGetCompletionReport,
    Permission::kFetchComponent,
    Permission::kSubmitDossier,
    Permission::kAcceptDossier,
    Permission::kRequestSupplementAtReception,
    Permission::kRequestSupplementInProcessing,
    Permission::kSupplyDocuments,
    Permission::kRefuseDossier,
    Permission::kHandOverDossier,
    Permission::kRecordDecision,
    Permission::kMarkResultReady,
    Permission::kReturnResult,
    Permission::kWithdrawDossier,
    Permission::kStopProcessing,
    Permission::kRequestPayment,
    Permission::kConfirmPayment,
    Permission::kRescheduleDossier,
    Permission::kForwardDossier,
    Permission::kCompleteStage,
    Permission::kAttachComponent,
    Permission::kAttachResultDocument,
    Permission::kImportDossiers,
    Permission::kReadCatalogue,
    Permission::kReadClock,
    Permission::kControlClock,
    Permission::kManageTokens,
    Permission::kReadAudit,
    Permission::kAdministerDaemon,
};

struct Grant {
  Role role = Role::kClerk;
  std::string agency_code = "";
};

struct Principal {
  // e.g. "clerk.lienson"; recorded in history and audit.
  std::string id = "";
  std::vector<Grant> grants = {};
  // Extra permissions of the principal's kService grants (ignored for
  // other roles). Only dossier writes may be granted (IsGrantableServiceWrite).
  std::vector<Permission> service_writes = {};
};

// "clerk", "officer", "supervisor", "service", "admin".
absl::string_view RoleName(Role role);
// The inverse of RoleName; nullopt for anything else.
std::optional<Role> ParseRole(absl::string_view name);

// "get_dossier", "record_decision", … (unique per permission).
absl::string_view PermissionName(Permission permission);
// The inverse of PermissionName; nullopt for anything else.
std::optional<Permission> ParsePermission(absl::string_view name);

// True if `role` holds `permission` by the fixed roles table. A kService
// grant may hold more through Principal::service_writes.
bool RoleHolds(Role role, Permission permission);

// True for the permissions that act on the whole daemon rather than on an
// agency's dossiers — control_clock, read_audit, administer_daemon (the
// clock every deadline reads, every desk's audit records, the whole
// database's backup and configuration): held only through a grant at a
// top-level agency (no parent: the province's administrators), never by a
// district's or a commune's admin.
bool ActsOnTheWholeDaemon(Permission permission);

// True for the dossier writes a service principal may be granted
// (kSubmitDossier … kImportDossiers); false for reads and administration.
bool IsGrantableServiceWrite(Permission permission);

// RequestSupplement at reception (the dossier is NEW) or in processing.
Permission SupplementPermission(onestop::v1::DossierStatus status);

// What an upload needs: kAttachResultDocument for a result document,
// kAttachComponent for an applicant's component.
Permission AttachPermission(DocumentKind kind);

// Checks that `principal` may use `permission` on `target_agencies`: for a
// dossier its agencies (DossierAgencies; any one suffices) or, for a
// processing action, those whose turn it is (ActingAgencyCandidates,
// workflow.h), for a request naming an agency that
// agency, for administration the agencies it touches (the grants of a token
// being created); empty for global operations (clock, audit, catalogue).
// Returns OK, or PERMISSION_DENIED with a message a clerk reads:
//   "clerk.lienson may not record_decision: that is an officer's action"
//   "clerk.lienson may not accept_dossier on 000.31.02.H15: it is outside
//    your agencies (000.31.01.H15)"
// A principal with no grants is denied everything, and a grant on an
// agency the catalogue no longer knows (a merged or dissolved desk) confers
// nothing, not even global operations.
// `targets_named_as`, if not empty, stands for the targets in a denial
// ("… on dossier 000.31.01.H15-200106-0001: it is outside your agencies
// (…)"): a caller who may not see a dossier must not learn from the
// refusal where it is.
absl::Status Authorize(const Principal& principal, Permission permission,
                       const std::vector<std::string>& target_agencies,
                       const Catalogue& catalogue, absl::string_view targets_named_as = "");

// The agencies a dossier concerns — receiving, holder, deciding and every
// stage task's agency, each once, empty codes left out: the targets of a
// read or a reception action on an existing dossier (any one in scope lets
// the call through); a processing action targets ActingAgencyCandidates.
std::vector<std::string> DossierAgencies(const onestop::v1::Dossier& dossier);

// The agencies whose dossiers `principal` may reach with `permission` (the
// union of the subtrees of the grants holding it, each code once, in grant
// order), for scoping lists, watches and reports. Empty if no grant holds
// the permission.
std::vector<std::string> VisibleAgencies(const Principal& principal, Permission permission,
                                         const Catalogue& catalogue);

// Which roles see applicants' personal ID and phone numbers unmasked.
struct PrivacyPolicy {
  // Clerks and officers contact the applicant; the others see masked
  // numbers unless configured otherwise.
  std::vector<Role> roles_seeing_personal_data = {Role::kClerk, Role::kOfficer};
};

// True if one of the principal's grants on an agency `catalogue` knows has
// a role listed in `policy` (a grant on an agency that left the catalogue
// confers nothing, as in Authorize).
bool MaySeePersonalData(const Principal& principal, const PrivacyPolicy& policy,
                        const Catalogue& catalogue);

// "0912345678" → "******5678": every character but the last four becomes
// '*' (counted in UTF-8 characters); four or fewer characters are masked
// completely. Empty stays empty.
std::string MaskDigits(absl::string_view value);

// Masks the applicant's personal_id and phone in `dossier` (not null) with
// MaskDigits; everything else is left as is. For feed events, mask the
// event's dossier.
void MaskPersonalData(onestop::v1::Dossier* dossier);

// True if `last_four` (exactly four ASCII digits) equals the last four
// digits of the applicant's phone or personal ID number (non-digits in the
// stored number are ignored). False for anything else, including a number
// with fewer than four digits. Compares in time independent of where the
// digits differ.
bool MatchesLastFour(const onestop::v1::Applicant& applicant, absl::string_view last_four);

}  // namespace onestop::core

#endif  // ONESTOP_SERVER_CORE_AUTHORIZATION_H_
