// AccessGuard: authenticate, authorize and audit one call — what every
// handler does before (and, for writes, after) its work.
//
//   auto principal = guard->Check(*context, core::Permission::kAcceptDossier,
//                                 {dossier.receiving_agency_code()},
//                                 {.rpc = "AcceptDossier", .dossier_code = code});
//   if (!principal.ok()) return principal.status();   // audited, nothing changed
//   absl::Status result = …the write, as (*principal)->id…;
//   guard->RecordOutcome(**principal, {.rpc = …}, result);
//
// Every denial (UNAUTHENTICATED, PERMISSION_DENIED) is queued for the
// audit log before it is returned, and RecordOutcome queues a mutating
// call's result (SecurityStore::AppendAuditLater: the call does not wait
// for the commit; a ListAudit that starts afterwards sees the record).
// RecordOutcomeAndWait returns once the record is committed. An audit
// append that fails is logged (JSON line, no personal data) and does not
// change the call's answer.
//
// Thread safety: thread-safe. Blocking (SQLite): call on the executor,
// except AuthenticateFromMemory and, after it answered, the Authorize*
// methods and RecordOutcome (its answer means the audit store only queues
// records).
#ifndef ONESTOP_SERVER_SERVICE_AUTH_ACCESS_GUARD_H_
#define ONESTOP_SERVER_SERVICE_AUTH_ACCESS_GUARD_H_

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/core/authorization.h"
#include "server/core/catalogue.h"
#include "server/service/auth/authenticator.h"
#include "server/util/clock.h"
#include "storage/security/security_store.h"

namespace onestop::service::auth {

// What the audit log records about a call.
struct CallInfo {
  std::string rpc = "";           // "AcceptDossier"
  std::string dossier_code = "";  // "" if none
  std::string agency_code = "";   // the request's agency, "" if none
  std::string note = "";          // for successful writes, e.g. "token tk_… for clerk.x"
};

// The catalogue in force (it may be replaced by a reload between calls).
using CatalogueSource = std::function<std::shared_ptr<const core::Catalogue>()>;

class AccessGuard {
 public:
  // None owned; all must outlive the guard.
  AccessGuard(const Authenticator* authenticator, storage::SecurityStore* audit,
              CatalogueSource catalogue, const Clock* clock);

  // Authenticate, then Authorize. Returns the principal, or the audited
  // denial (UNAUTHENTICATED / PERMISSION_DENIED; UNAVAILABLE if the store
  // is busy, not audited).
  absl::StatusOr<PrincipalPtr> Check(const grpc::ServerContextBase& context,
                                     core::Permission permission,
                                     const std::vector<std::string>& target_agencies,
                                     const CallInfo& call) const;

  // The caller, or the audited UNAUTHENTICATED.
  absl::StatusOr<PrincipalPtr> Authenticate(const grpc::ServerContextBase& context,
                                            const CallInfo& call) const;
  // Authenticate if that needs no database read
  // (Authenticator::AuthenticateFromMemory) and the audit store appends
  // without waiting (SecurityStore::AppendsAuditWithoutWaiting: this
  // denial's record, and those of the checks after it, are then only
  // queued), else nullopt. Never blocks on I/O: callable on a gRPC thread.
  std::optional<absl::StatusOr<PrincipalPtr>> AuthenticateFromMemory(
      const grpc::ServerContextBase& context, const CallInfo& call) const;

  // core::Authorize, auditing a PERMISSION_DENIED.
  absl::Status Authorize(const core::Principal& principal, core::Permission permission,
                         const std::vector<std::string>& target_agencies,
                         const CallInfo& call) const;

  // Authorize on an existing dossier: `targets` are the agencies the
  // permission is needed at (core::DossierAgencies, or for a processing
  // action core::ActingAgencyCandidates). The denial names those agencies
  // only to a caller who may see the dossier (get_dossier at one of its
  // agencies); to anyone else it names the dossier's code, not where the
  // dossier is.
  absl::Status AuthorizeOnDossier(const core::Principal& principal, core::Permission permission,
                                  const onestop::v1::Dossier& dossier,
                                  const std::vector<std::string>& targets,
                                  const CallInfo& call) const;

  // Authorize on an agency the request names (a submission's receiving
  // agency, a list or watch filter, a report's agency). An agency the
  // catalogue does not know is checked for the role only: the call then
  // fails NOT_FOUND downstream, changing nothing, and the caller gets the
  // precise error instead of a denial. Empty `agency_code`: role only.
  absl::Status AuthorizeNamedAgency(const core::Principal& principal,
                                    core::Permission permission,
                                    const std::string& agency_code, const CallInfo& call) const;

  // Queues the outcome of a mutating call (OK or its error) for the audit
  // log; the caller does not wait for it (SecurityStore::AppendAuditLater).
  void RecordOutcome(const core::Principal& principal, const CallInfo& call,
                     const absl::Status& result) const;
  // The same, returning once the record is committed (or its append
  // failed and was logged): for a caller that promises the record exists
  // before it answers (each ImportDossiers request).
  void RecordOutcomeAndWait(const core::Principal& principal, const CallInfo& call,
                            const absl::Status& result) const;

 private:
  // `principal`, after queuing an UNAUTHENTICATED for the audit log.
  absl::StatusOr<PrincipalPtr> Audited(absl::StatusOr<PrincipalPtr> principal,
                                       const CallInfo& call) const;
  void Append(const std::string& principal_id, const CallInfo& call,
              const absl::Status& result, bool wait = false) const;

  const Authenticator* const authenticator_;
  storage::SecurityStore* const audit_;
  const CatalogueSource catalogue_;
  const Clock* const clock_;
};

}  // namespace onestop::service::auth

#endif  // ONESTOP_SERVER_SERVICE_AUTH_ACCESS_GUARD_H_
