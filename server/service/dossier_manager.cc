#include "server/service/dossier_manager.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "server/core/page_token.h"
#include "server/core/validation.h"
#include "server/util/status_macros.h"

namespace onestop::service {
namespace {

using onestop::v1::Dossier;

absl::Status ValidateCode(const std::string& code) {
  if (code.empty()) {
    return absl::InvalidArgumentError("code: the dossier code is required");
  }
  return core::ValidateText("code", code, core::kMaxCodeBytes,
                            core::Requirement::kRequired);
}

absl::Status ValidateRequestId(const std::string& request_id) {
  if (request_id.empty()) return absl::OkStatus();
  if (request_id.size() > 128) {
    return absl::InvalidArgumentError(
        "request_id: must be at most 128 characters");
  }
  for (unsigned char c : request_id) {
    if (c < 0x21 || c > 0x7E) {
      return absl::InvalidArgumentError(
          "request_id: use printable ASCII characters only (no spaces)");
    }
  }
  return absl::OkStatus();
}

// Canonical bytes of the list filters, for page tokens.
std::string ListFingerprint(const onestop::v1::ListDossiersRequest& request) {
  return absl::StrCat("agency=", request.agency_code(),
                      "\nstatus=", request.status(),
                      "\nprocedure=", request.procedure_code(),
                      "\noverdue=", request.overdue_only() ? 1 : 0);
}

}  // namespace

DossierManager::DossierManager(storage::DossierStore* store,
                               std::shared_ptr<const core::Catalogue> catalogue,
                               const Clock* clock, DossierManagerOptions options)
    : store_(store),
      clock_(clock),
      options_(options),
      catalogue_(std::move(catalogue)) {}

std::shared_ptr<const core::Catalogue> DossierManager::catalogue() const {
  absl::MutexLock lock(&mu_);
  return catalogue_;
}

void DossierManager::Decorate(Dossier& dossier, absl::Time now,
                              const core::Catalogue& catalogue) const {
  dossier.set_portal_status_code(static_cast<int>(dossier.status()));
  dossier.set_timeliness(core::ClassifyTimeliness(
      dossier, now, catalogue.calendar(), options_.timeliness));
}

absl::StatusOr<std::optional<Dossier>> DossierManager::Replay(
    const std::string& request_id, const std::string& fingerprint) {
  if (request_id.empty()) return std::optional<Dossier>();
  ONESTOP_ASSIGN_OR_RETURN(std::optional<storage::RecordedRequest> recorded,
                           store_->FindRequest(request_id));
  if (!recorded.has_value()) return std::optional<Dossier>();
  if (recorded->fingerprint != fingerprint) {
    return absl::InvalidArgumentError(absl::StrCat(
        "request_id \"", request_id,
        "\" was already used for a different request; use a new request_id "
        "for a new request"));
  }
  return std::optional<Dossier>(std::move(recorded->response));
}

absl::StatusOr<Dossier> DossierManager::Submit(
    const onestop::v1::SubmitDossierRequest& request,
    const std::string& fingerprint, const std::string& actor) {
  ONESTOP_RETURN_IF_ERROR(ValidateRequestId(request.request_id()));
  const std::shared_ptr<const core::Catalogue> catalogue = this->catalogue();
  ONESTOP_ASSIGN_OR_RETURN(std::optional<Dossier> replayed,
                           Replay(request.request_id(), fingerprint));
  if (replayed.has_value()) {
    Decorate(*replayed, clock_->Now(), *catalogue);
    return *std::move(replayed);
  }

  const absl::Time now = clock_->Now();
  ONESTOP_ASSIGN_OR_RETURN(
      core::NewDossier prepared,
      core::PrepareSubmission(request, *catalogue, {now, actor}));
  storage::CreateDossierWrite write;
  write.dossier = std::move(prepared.dossier);
  write.entry = std::move(prepared.entry);
  write.code_prefix = std::move(prepared.code_prefix);
  if (!request.request_id().empty()) {
    write.idempotency = storage::IdempotencyKey{request.request_id(), fingerprint};
  }
  absl::StatusOr<Dossier> created = store_->Create(write);
  if (absl::IsAlreadyExists(created.status()) && write.idempotency) {
    // A concurrent retry with the same request_id won the race.
    ONESTOP_ASSIGN_OR_RETURN(replayed, Replay(request.request_id(), fingerprint));
    if (replayed.has_value()) created = *std::move(replayed);
  }
  if (!created.ok()) return created.status();
  Decorate(*created, now, *catalogue);
  return created;
}

absl::StatusOr<Dossier> DossierManager::Act(const ActionCommand& command,
                                            const std::string& actor) {
  ONESTOP_RETURN_IF_ERROR(ValidateCode(command.code));
  ONESTOP_RETURN_IF_ERROR(ValidateRequestId(command.request_id));
  const std::shared_ptr<const core::Catalogue> catalogue = this->catalogue();
  ONESTOP_ASSIGN_OR_RETURN(std::optional<Dossier> replayed,
                           Replay(command.request_id, command.fingerprint));
  if (replayed.has_value()) {
    Decorate(*replayed, clock_->Now(), *catalogue);
    return *std::move(replayed);
  }
  if (command.etag <= 0) {
    return absl::InvalidArgumentError(
        "etag: pass the etag of the dossier as you last read it");
  }

  ONESTOP_ASSIGN_OR_RETURN(Dossier current, store_->Get(command.code));
  if (current.etag() != command.etag) {
    return absl::AbortedError(absl::StrCat(
        "dossier ", command.code, " was changed by someone else (now version ",
        current.etag(), ", you had ", command.etag,
        "); reload it and try again"));
  }
  const absl::Time now = clock_->Now();
  ONESTOP_ASSIGN_OR_RETURN(
      core::Transition transition,
      core::ApplyAction(current, command.action, *catalogue, {now, actor}));

  storage::UpdateDossierWrite write;
  write.dossier = std::move(transition.dossier);
  write.dossier.clear_history();
  write.expected_etag = command.etag;
  write.entry = std::move(transition.entry);
  if (!command.request_id.empty()) {
    write.idempotency = storage::IdempotencyKey{command.request_id, command.fingerprint};
  }
  absl::StatusOr<Dossier> updated = store_->Update(write);
  if (absl::IsAlreadyExists(updated.status()) && write.idempotency) {
    ONESTOP_ASSIGN_OR_RETURN(replayed, Replay(command.request_id, command.fingerprint));
    if (replayed.has_value()) updated = *std::move(replayed);
  }
  if (!updated.ok()) return updated.status();
  Decorate(*updated, now, *catalogue);
  return updated;
}

absl::StatusOr<Dossier> DossierManager::Get(const std::string& code) {
  ONESTOP_RETURN_IF_ERROR(ValidateCode(code));
  ONESTOP_ASSIGN_OR_RETURN(Dossier dossier, store_->Get(code));
  Decorate(dossier, clock_->Now(), *catalogue());
  return dossier;
}

absl::StatusOr<onestop::v1::ListDossiersResponse> DossierManager::List(
    const onestop::v1::ListDossiersRequest& request) {
  if (request.page_size() < 0) {
    return absl::InvalidArgumentError("page_size: must not be negative");
  }
  if (!onestop::v1::DossierStatus_IsValid(request.status())) {
    return absl::InvalidArgumentError(
        absl::StrCat("status: ", request.status(), " is not a status code (1–10)"));
  }
  ONESTOP_RETURN_IF_ERROR(core::ValidateText("agency_code", request.agency_code(),
                                             core::kMaxCodeBytes,
                                             core::Requirement::kOptional));
  ONESTOP_RETURN_IF_ERROR(core::ValidateText("procedure_code", request.procedure_code(),
                                             core::kMaxCodeBytes,
                                             core::Requirement::kOptional));
  const std::string fingerprint = ListFingerprint(request);
  storage::DossierQuery query;
  query.agency_code = request.agency_code();
  query.status = request.status();
  query.procedure_code = request.procedure_code();
  query.page_size = request.page_size() == 0
                        ? options_.default_page_size
                        : std::min(request.page_size(), options_.max_page_size);
  if (!request.page_token().empty()) {
    ONESTOP_ASSIGN_OR_RETURN(query.before_position,
                             core::DecodePageToken(request.page_token(), fingerprint));
  }
  const std::shared_ptr<const core::Catalogue> catalogue = this->catalogue();
  const absl::Time now = clock_->Now();
  if (request.overdue_only()) {
    query.open_and_due_before = core::StartOfLocalDay(now, catalogue->calendar());
  }
  ONESTOP_ASSIGN_OR_RETURN(storage::DossierPage page, store_->List(query));
  onestop::v1::ListDossiersResponse response;
  for (Dossier& dossier : page.dossiers) {
    Decorate(dossier, now, *catalogue);
    *response.add_dossiers() = std::move(dossier);
  }
  if (page.more) {
    response.set_next_page_token(core::EncodePageToken(page.last_position, fingerprint));
  }
  return response;
}

}  // namespace onestop::service
