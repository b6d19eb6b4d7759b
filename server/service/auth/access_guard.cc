#include "server/service/auth/access_guard.h"

#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/util/log.h"
#include "server/util/proto_time.h"

namespace onestop::service::auth {

AccessGuard::AccessGuard(const Authenticator* authenticator, storage::SecurityStore* audit,
                         CatalogueSource catalogue, const Clock* clock)
    : authenticator_(authenticator),
      audit_(audit),
      catalogue_(std::move(catalogue)),
      clock_(clock) {}

void AccessGuard::Append(const std::string& principal_id, const CallInfo& call,
                         const absl::Status& result, bool wait) const {
  onestop::v1::AuditRecord record;
  *record.mutable_time() = ToProtoTime(clock_->Now());
  record.set_principal_id(principal_id);
  record.set_rpc(call.rpc);
  record.set_dossier_code(call.dossier_code);
  record.set_agency_code(call.agency_code);
  record.set_result_code(static_cast<int32_t>(result.code()));
  record.set_message(result.ok() ? call.note : std::string(result.message()));
  auto log_failure = [rpc = call.rpc, principal_id](const absl::Status& appended) {
    if (!appended.ok()) {
      LogError("audit append failed", {{"rpc", rpc},
                                       {"principal", principal_id},
                                       {"error", std::string(appended.message())}});
    }
  };
  if (wait) {
    log_failure(audit_->AppendAudit(record).status());
    return;
  }
  // The call's answer does not wait for its audit record (SecurityStore::
  // AppendAuditLater); a failed append is logged.
  audit_->AppendAuditLater(std::move(record), std::move(log_failure));
}

absl::StatusOr<PrincipalPtr> AccessGuard::Authenticate(const grpc::ServerContextBase& context,
                                                       const CallInfo& call) const {
  return Audited(authenticator_->Authenticate(context), call);
}

std::optional<absl::StatusOr<PrincipalPtr>> AccessGuard::AuthenticateFromMemory(
    const grpc::ServerContextBase& context, const CallInfo& call) const {
  // Whatever follows on this thread may audit a denial: only where that
  // never waits.
  if (!audit_->AppendsAuditWithoutWaiting()) return std::nullopt;
  std::optional<absl::StatusOr<PrincipalPtr>> principal =
      authenticator_->AuthenticateFromMemory(context);
  if (!principal.has_value()) return std::nullopt;
  return Audited(*std::move(principal), call);
}

absl::StatusOr<PrincipalPtr> AccessGuard::Audited(absl::StatusOr<PrincipalPtr> principal,
                                                  const CallInfo& call) const {
  if (!principal.ok() && principal.status().code() == absl::StatusCode::kUnauthenticated) {
    Append("", call, principal.status());
  }
  return principal;
}

absl::Status AccessGuard::Authorize(const core::Principal& principal,
                                    core::Permission permission,
                                    const std::vector<std::string>& target_agencies,
                                    const CallInfo& call) const {
  absl::Status status = core::Authorize(principal, permission, target_agencies, *catalogue_());
  if (!status.ok()) Append(principal.id, call, status);
  return status;
}

absl::Status AccessGuard::AuthorizeOnDossier(const core::Principal& principal,
                                             core::Permission permission,
                                             const onestop::v1::Dossier& dossier,
                                             const std::vector<std::string>& targets,
                                             const CallInfo& call) const {
  const std::shared_ptr<const core::Catalogue> catalogue = catalogue_();
  absl::Status status = core::Authorize(principal, permission, targets, *catalogue);
  if (status.ok()) return status;
  if (!core::Authorize(principal, core::Permission::kGetDossier, core::DossierAgencies(dossier),
                       *catalogue)
           .ok()) {
    status = core::Authorize(principal, permission, targets, *catalogue,
                             absl::StrCat("dossier ", dossier.code()));
  }
  Append(principal.id, call, status);
  return status;
}

absl::Status AccessGuard::AuthorizeNamedAgency(const core::Principal& principal,
                                               core::Permission permission,
                                               const std::string& agency_code,
                                               const CallInfo& call) const {
  std::vector<std::string> targets;
  if (!agency_code.empty() && catalogue_()->FindAgency(agency_code) != nullptr) {
    targets.push_back(agency_code);
  }
  return Authorize(principal, permission, targets, call);
}

absl::StatusOr<PrincipalPtr> AccessGuard::Check(const grpc::ServerContextBase& context,
                                                core::Permission permission,
                                                const std::vector<std::string>& target_agencies,
                                                const CallInfo& call) const {
  absl::StatusOr<PrincipalPtr> principal = Authenticate(context, call);
  if (!principal.ok()) return principal;
  if (absl::Status status = Authorize(**principal, permission, target_agencies, call);
      !status.ok()) {
    return status;
  }
  return principal;
}

void AccessGuard::RecordOutcome(const core::Principal& principal, const CallInfo& call,
                                const absl::Status& result) const {
  Append(principal.id, call, result);
}

void AccessGuard::RecordOutcomeAndWait(const core::Principal& principal, const CallInfo& call,
                                       const absl::Status& result) const {
  Append(principal.id, call, result, /*wait=*/true);
}

}  // namespace onestop::service::auth
