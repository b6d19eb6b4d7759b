#include "server/service/auth/security_service.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/core/validation.h"
#include "server/service/auth/principals.h"
#include "server/service/unary_call.h"
#include "server/util/proto_time.h"
#include "server/util/status_macros.h"

namespace onestop::service::auth {

using namespace onestop::v1;  // NOLINT: handler signatures are long enough

namespace {

// A principal's grants and service writes in one order: two tokens with the
// same id must carry the same powers.
std::string Powers(const Principal& principal) {
  std::vector<std::string> parts;
  for (const Grant& grant : principal.grants()) {
    parts.push_back(absl::StrCat("grant ", grant.role(), " ", grant.agency_code()));
  }
  for (const std::string& write : principal.service_writes()) {
    parts.push_back(absl::StrCat("write ", write));
  }
  std::sort(parts.begin(), parts.end());
  parts.erase(std::unique(parts.begin(), parts.end()), parts.end());
  return absl::StrJoin(parts, "\n");
}

}  // namespace

SecurityServiceImpl::SecurityServiceImpl(const AccessGuard* guard, storage::SecurityStore* store,
                                         CatalogueSource catalogue, const Clock* clock,
                                         Executor* executor, SecurityServiceOptions options)
    : guard_(guard),
      store_(store),
      catalogue_(std::move(catalogue)),
      clock_(clock),
      executor_(executor),
      options_(options) {}

grpc::ServerUnaryReactor* SecurityServiceImpl::CreateToken(grpc::CallbackServerContext* context,
                                                           const CreateTokenRequest* request,
                                                           CreateTokenResponse* response) {
  return RunUnary(context, executor_, [=]() -> absl::Status {
    CallInfo call{.rpc = "CreateToken"};
    // Role first (a clerk learns nothing about the request's validity),
    // then the request, then the grants' agencies against the admin's.
    ONESTOP_ASSIGN_OR_RETURN(const auth::PrincipalPtr caller,
                             guard_->Check(*context, core::Permission::kManageTokens, {}, call));
    const core::Principal& admin = *caller;
    // A refused request is a mutating call's outcome too: audited.
    absl::StatusOr<core::Principal> validated =
        ValidateNewPrincipal(request->principal(), *catalogue_());
    absl::Status request_ok = validated.status();
    if (request_ok.ok() &&
        (request->label().size() > 200 || !core::IsValidUtf8(request->label()))) {
      request_ok = absl::InvalidArgumentError("label must be at most 200 bytes of UTF-8");
    }
    if (request_ok.ok() && request->ttl_seconds() < 0) {
      request_ok = absl::InvalidArgumentError("ttl_seconds must not be negative");
    }
    const absl::Duration ttl = request->ttl_seconds() == 0
                                   ? options_.default_token_ttl
                                   : absl::Seconds(request->ttl_seconds());
    if (request_ok.ok() && ttl > options_.max_token_ttl) {
      request_ok = absl::InvalidArgumentError(absl::StrCat(
          "ttl_seconds exceeds the maximum of ", absl::ToInt64Seconds(options_.max_token_ttl)));
    }
    if (!request_ok.ok()) {
      guard_->RecordOutcome(admin, call, request_ok);
      return request_ok;
    }
    const core::Principal& principal = *validated;
    // Every grant's agency must be the admin's: Authorize alone accepts a
    // list when any one target is in scope.
    for (const core::Grant& grant : principal.grants) {
      ONESTOP_RETURN_IF_ERROR(
          guard_->Authorize(admin, core::Permission::kManageTokens, {grant.agency_code}, call));
    }
    const absl::Time now = clock_->Now();
    // A principal id names one person or service in history, audit and the
    // stream limit: a second active token for it (a rotation), or a token
    // for a client certificate's principal, must carry the same powers.
    // Revoked and expired tokens do not hold their id.
    // One check-then-create at a time in this daemon, so that two creates
    // of one id cannot both pass the check.
    const Principal stored = PrincipalToProto(principal);
    absl::MutexLock lock(&create_mu_);
    absl::StatusOr<std::vector<TokenInfo>> active =
        store_->ListTokens({.include_inactive = false, .now = now});
    if (!active.ok()) {
      guard_->RecordOutcome(admin, call, active.status());
      return active.status();
    }
    // Who holds the id with other powers, if anyone.
    std::string holder;
    for (const TokenInfo& token : *active) {
      if (token.principal().id() == stored.id() &&
          Powers(token.principal()) != Powers(stored)) {
        holder = "an active token with other grants; choose another id, or revoke that token "
                 "first";
        break;
      }
    }
    for (const core::Principal& mapped : options_.certificate_principals) {
      if (holder.empty() && mapped.id == stored.id() &&
          Powers(PrincipalToProto(mapped)) != Powers(stored)) {
        holder = "a client certificate (the daemon's configuration) with other grants; choose "
                 "another id";
      }
    }
    if (!holder.empty()) {
      const absl::Status taken = absl::AlreadyExistsError(
          absl::StrCat("principal id \"", stored.id(), "\" already belongs to ", holder));
      guard_->RecordOutcome(admin, call, taken);
      return taken;
    }
    absl::StatusOr<storage::CreatedToken> created =
        store_->CreateToken({.principal = stored,
                             .label = request->label(),
                             .created = now,
                             .expires = now + ttl});
    call.note = created.ok() ? absl::StrCat("token ", created->info.id(), " for ", principal.id)
                             : "";
    guard_->RecordOutcome(admin, call, created.status());
    if (!created.ok()) return created.status();
    *response->mutable_token() = std::move(created->info);
    response->set_secret(std::move(created->secret));
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* SecurityServiceImpl::ListTokens(grpc::CallbackServerContext* context,
                                                          const ListTokensRequest* request,
                                                          ListTokensResponse* response) {
  return RunUnary(context, executor_, [=]() -> absl::Status {
    ONESTOP_ASSIGN_OR_RETURN(
        const auth::PrincipalPtr caller,
        guard_->Check(*context, core::Permission::kManageTokens, {}, {.rpc = "ListTokens"}));
    const core::Principal& admin = *caller;
    ONESTOP_ASSIGN_OR_RETURN(
        std::vector<TokenInfo> tokens,
        store_->ListTokens({.include_inactive = request->include_inactive(), .now = clock_->Now()}));
    // Only the tokens this admin could have issued (every grant inside its
    // agencies): a commune's admin does not see the province's principals.
    const std::shared_ptr<const core::Catalogue> catalogue = catalogue_();
    for (TokenInfo& token : tokens) {
      if (Administers(admin, token, *catalogue).ok()) *response->add_tokens() = std::move(token);
    }
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* SecurityServiceImpl::RevokeToken(grpc::CallbackServerContext* context,
                                                           const RevokeTokenRequest* request,
                                                           RevokeTokenResponse* response) {
  return RunUnary(context, executor_, [=]() -> absl::Status {
    CallInfo call{.rpc = "RevokeToken"};
    ONESTOP_ASSIGN_OR_RETURN(const auth::PrincipalPtr caller,
                             guard_->Check(*context, core::Permission::kManageTokens, {}, call));
    const core::Principal& admin = *caller;
    call.note = absl::StrCat("token ", request->token_id());
    if (request->token_id().empty() || request->token_id().size() > 64) {
      const absl::Status invalid =
          absl::InvalidArgumentError("token_id is required (e.g. tk_3f9a0c1b2d4e)");
      guard_->RecordOutcome(admin, call, invalid);
      return invalid;
    }
    // Only a token this admin could have issued; the denial is audited.
    ONESTOP_ASSIGN_OR_RETURN(
        std::vector<TokenInfo> tokens,
        store_->ListTokens({.include_inactive = true, .now = clock_->Now()}));
    for (const TokenInfo& token : tokens) {
      if (token.id() != request->token_id()) continue;
      if (absl::Status administers = Administers(admin, token, *catalogue_());
          !administers.ok()) {
        guard_->RecordOutcome(admin, call, administers);  // a denial, audited
        return administers;
      }
    }
    absl::StatusOr<TokenInfo> revoked = store_->RevokeToken(request->token_id(), clock_->Now());
    guard_->RecordOutcome(admin, call, revoked.status());
    if (!revoked.ok()) return revoked.status();
    *response->mutable_token() = *std::move(revoked);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* SecurityServiceImpl::ListAudit(grpc::CallbackServerContext* context,
                                                         const ListAuditRequest* request,
                                                         ListAuditResponse* response) {
  return RunUnary(context, executor_, [=]() -> absl::Status {
    ONESTOP_RETURN_IF_ERROR(
        guard_->Check(*context, core::Permission::kReadAudit, {}, {.rpc = "ListAudit"}).status());
    if (request->page_size() < 0 || request->page_size() > 1000) {
      return absl::InvalidArgumentError("page_size must be 0–1000");
    }
    if (request->after_sequence() < 0) {
      return absl::InvalidArgumentError("after_sequence must not be negative");
    }
    ONESTOP_ASSIGN_OR_RETURN(
        storage::AuditPage page,
        store_->ListAudit({.after_sequence = request->after_sequence(),
                           .limit = request->page_size() == 0 ? 100 : request->page_size(),
                           .principal_id = request->principal_id(),
                           .denials_only = request->denials_only()}));
    for (AuditRecord& record : page.records) *response->add_records() = std::move(record);
    response->set_next_after_sequence(page.next_after_sequence);
    return absl::OkStatus();
  });
}

absl::Status SecurityServiceImpl::Administers(const core::Principal& admin,
                                              const TokenInfo& token,
                                              const core::Catalogue& catalogue) {
  for (const Grant& grant : token.principal().grants()) {
    if (catalogue.FindAgency(grant.agency_code()) != nullptr) {
      ONESTOP_RETURN_IF_ERROR(core::Authorize(admin, core::Permission::kManageTokens,
                                              {grant.agency_code()}, catalogue));
      continue;
    }
    std::vector<std::string> roots;
    for (const Agency& agency : catalogue.agencies()) {
      if (agency.parent_code().empty()) roots.push_back(agency.code());
    }
    if (!core::Authorize(admin, core::Permission::kManageTokens, roots, catalogue).ok()) {
      return absl::PermissionDeniedError(absl::StrCat(
          admin.id, " may not manage token ", token.id(), ": its grant on ", grant.agency_code(),
          ", an agency no longer in the catalogue, is managed by an admin of a top-level "
          "agency"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<storage::CreatedToken> CreateBootstrapAdminToken(storage::SecurityStore* store,
                                                                const Clock* clock,
                                                                const core::Catalogue& catalogue,
                                                                const std::string& principal_id,
                                                                absl::Duration ttl) {
  Principal principal;
  principal.set_id(principal_id);
  for (const Agency& agency : catalogue.agencies()) {
    if (!agency.parent_code().empty()) continue;
    Grant* grant = principal.add_grants();
    grant->set_role(ROLE_ADMIN);
    grant->set_agency_code(agency.code());
  }
  if (principal.grants().empty()) {
    return absl::FailedPreconditionError("the catalogue has no agency to administer");
  }
  const absl::Time now = clock->Now();
  return store->CreateToken({.principal = principal,
                             .label = "bootstrap admin token",
                             .created = now,
                             .expires = now + ttl});
}

CitizenServiceImpl::CitizenServiceImpl(DossierLookup lookup, RateLimiter* limiter,
                                       Executor* executor)
    : lookup_(std::move(lookup)), limiter_(limiter), executor_(executor) {}

grpc::ServerUnaryReactor* CitizenServiceImpl::LookupDossier(
    grpc::CallbackServerContext* context, const LookupDossierRequest* request,
    LookupDossierResponse* response) {
  // The limiter only takes a mutex: checked on the reaction thread, so a
  // flood never reaches the executor.
  if (!limiter_->TryAcquire(ClientAddressFromPeer(context->peer()))) {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                 "too many lookups from your address; try again in a minute"));
    return reactor;
  }
  return RunUnary(context, executor_, [=]() -> absl::Status {
    if (request->code().empty() || request->code().size() > 64) {
      return absl::InvalidArgumentError("code is required (at most 64 characters)");
    }
    const std::string& four = request->last_four();
    if (four.size() != 4 || four.find_first_not_of("0123456789") != std::string::npos) {
      return absl::InvalidArgumentError(
          "last_four must be the last four digits of the applicant's phone or ID number");
    }
    const absl::Status not_found =
        absl::NotFoundError("no dossier matches this code and these digits");
    absl::StatusOr<Dossier> dossier = lookup_(request->code());
    if (!dossier.ok()) {
      return dossier.status().code() == absl::StatusCode::kNotFound ? not_found
                                                                    : dossier.status();
    }
    if (!core::MatchesLastFour(dossier->applicant(), four)) return not_found;
    response->set_code(dossier->code());
    response->set_status(dossier->status());
    response->set_portal_status_code(dossier->portal_status_code());
    if (dossier->has_due_time()) *response->mutable_due_time() = dossier->due_time();
    if (dossier->has_rescheduled_due_time()) {
      *response->mutable_rescheduled_due_time() = dossier->rescheduled_due_time();
    }
    return absl::OkStatus();
  });
}

}  // namespace onestop::service::auth
