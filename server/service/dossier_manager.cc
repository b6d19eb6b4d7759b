#include "server/service/dossier_manager.h"

#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "server/core/import.h"
#include "server/core/page_token.h"
#include "server/core/route.h"
#include "server/core/validation.h"
#include "server/util/error_info.h"
#include "server/util/proto_time.h"
#include "server/util/status_macros.h"

namespace onestop::service {
namespace {

using onestop::v1::Dossier;

absl::Status ValidateCode(const std::string& code) {
  if (code.empty()) {
    return InvalidFieldError("code", "code: the dossier code is required");
  }
  return core::ValidateText("code", code, core::kMaxCodeBytes,
                            core::Requirement::kRequired);
}

absl::Status ValidateRequestId(const std::string& request_id) {
  if (request_id.empty()) return absl::OkStatus();
  if (request_id.size() > 128) {
    return InvalidFieldError("request_id", "request_id: must be at most 128 characters");
  }
  for (unsigned char c : request_id) {
    if (c < 0x21 || c > 0x7E) {
      return InvalidFieldError("request_id",
                               "request_id: use printable ASCII characters only (no spaces)");
    }
  }
  return absl::OkStatus();
}

// Reads dossier `code`; a missing one is DOSSIER_NOT_FOUND (field "code").
absl::StatusOr<Dossier> LoadDossier(storage::DossierStore& store, const std::string& code) {
  absl::StatusOr<Dossier> dossier = store.Get(code);
  if (absl::IsNotFound(dossier.status())) {
    return WithFieldViolation(
        WithDefaultReason(dossier.status(), kReasonDossierNotFound), "code",
        "no dossier with this code");
  }
  return dossier;
}

// Canonical bytes of the list filters, for page tokens.
std::string ListFingerprint(const onestop::v1::ListDossiersRequest& request) {
  return absl::StrCat("agency=", request.agency_code(),
                      "\nstatus=", request.status(),
                      "\nprocedure=", request.procedure_code(),
                      "\noverdue=", request.overdue_only() ? 1 : 0,
                      "\ndue_soon=", request.due_soon_only() ? 1 : 0);
}

bool HasOpenPause(const Dossier& dossier) {
  for (const onestop::v1::ClockPause& pause : dossier.pauses()) {
    if (pause.has_start_time() && !pause.has_end_time()) return true;
  }
  return false;
}

// The stored due time includes closed pauses only; while a pause is open
// it counts up to `now` too, so a dossier awaiting payment or documents
// never turns overdue and its due time moves with the stopped clock.
void ApplyOpenPause(Dossier& dossier, absl::Time now, const core::WorkingCalendar& calendar) {
  if (!dossier.has_original_due_time() || !HasOpenPause(dossier)) return;
  *dossier.mutable_due_time() = ToProtoTime(core::EffectiveDueTime(
      FromProtoTime(dossier.original_due_time()), dossier.pauses(), now, calendar));
}

std::string FormatMinuteOfDay(int minute) {
  return absl::StrFormat("%02d:%02d", minute / 60, minute % 60);
}

onestop::v1::CalendarDayKind ToProtoKind(core::DayKind kind) {
  switch (kind) {
    case core::DayKind::kHoliday: return onestop::v1::CALENDAR_DAY_KIND_HOLIDAY;
    case core::DayKind::kCompensatoryDay: return onestop::v1::CALENDAR_DAY_KIND_COMPENSATORY;
    case core::DayKind::kSwappedDayOff: return onestop::v1::CALENDAR_DAY_KIND_SWAPPED_DAY_OFF;
    case core::DayKind::kSwappedWorkDay: return onestop::v1::CALENDAR_DAY_KIND_SWAPPED_WORK_DAY;
    case core::DayKind::kWorkingDay:
    case core::DayKind::kRestDay:
      break;
  }
  return onestop::v1::CALENDAR_DAY_KIND_UNSPECIFIED;
}

}  // namespace

DossierManager::DossierManager(storage::DossierStore* store,
                               std::shared_ptr<const core::Catalogue> catalogue,
                               const Clock* clock, DossierManagerOptions options)
    : store_(store),
      clock_(clock),
      options_(options),
      catalogue_(std::move(catalogue)) {}

void DossierManager::ReplaceCatalogue(std::shared_ptr<const core::Catalogue> catalogue) {
  absl::MutexLock lock(&mu_);
  catalogue_ = std::move(catalogue);
}

std::shared_ptr<const core::Catalogue> DossierManager::catalogue() const {
  absl::MutexLock lock(&mu_);
  return catalogue_;
}

void DossierManager::Decorate(Dossier& dossier, absl::Time now,
                              const core::Catalogue& catalogue) const {
  dossier.set_portal_status_code(static_cast<int>(dossier.status()));
  ApplyOpenPause(dossier, now, catalogue.calendar());
  dossier.set_timeliness(core::ClassifyTimeliness(
      dossier, now, catalogue.calendar(), options_.timeliness));
  // The control slip is a view over the stages, derived at read time.
  dossier.clear_slip();
  if (dossier.stages_size() > 0) {
    for (onestop::v1::SlipEntry& row : core::BuildControlSlip(dossier, catalogue.calendar(), now)) {
      *dossier.add_slip() = std::move(row);
    }
  }
}

absl::StatusOr<std::vector<absl::Status>> DossierManager::Import(
    std::vector<Dossier> records, const core::Principal& principal) {
  if (records.empty() || records.size() > static_cast<size_t>(core::kMaxImportBatch)) {
    return InvalidFieldError(
        "dossiers", absl::StrCat("an import request carries ", records.size(),
                                 " dossiers; send 1 to ", core::kMaxImportBatch, " per request"));
  }
  const std::shared_ptr<const core::Catalogue> catalogue = this->catalogue();
  std::vector<absl::Status> results(records.size());
  std::vector<storage::ImportDossierWrite> writes;
  std::vector<size_t> positions;
  writes.reserve(records.size());
  positions.reserve(records.size());
  for (size_t i = 0; i < records.size(); ++i) {
    absl::StatusOr<core::PreparedImport> prepared =
        core::PrepareImport(std::move(records[i]), *catalogue);
    if (!prepared.ok()) {
      results[i] = prepared.status();
      continue;
    }
    // Scope by the receiving desk alone, as SubmitDossier does: the books
    // the dossier lands in (reports, gauges, the desk's feed) are its
    // receiving agency's. Any-of over every named agency would let an
    // importer scoped to one district write into another's books by naming
    // itself as a holder or a stage.
    absl::Status allowed =
        core::Authorize(principal, core::Permission::kImportDossiers,
                        {prepared->dossier.receiving_agency_code()}, *catalogue);
    if (!allowed.ok()) {
      results[i] = allowed;
      continue;
    }
    storage::ImportDossierWrite& write = writes.emplace_back();
    write.dossier = std::move(prepared->dossier);
    write.code_prefix = std::move(prepared->code.prefix);
    write.code_sequence = prepared->code.sequence;
    positions.push_back(i);
  }
  if (writes.empty()) return results;
  ONESTOP_ASSIGN_OR_RETURN(std::vector<absl::Status> stored,
                           store_->ImportDossiers(std::move(writes)));
  if (stored.size() != positions.size()) {
    return absl::InternalError("the store answered a different number of import records");
  }
  for (size_t k = 0; k < positions.size(); ++k) results[positions[k]] = std::move(stored[k]);
  return results;
}

absl::StatusOr<std::optional<Dossier>> DossierManager::Replay(
    const std::string& request_id, const std::string& fingerprint) {
  if (request_id.empty()) return std::optional<Dossier>();
  ONESTOP_ASSIGN_OR_RETURN(std::optional<storage::RecordedRequest> recorded,
                           store_->FindRequest(request_id));
  if (!recorded.has_value()) return std::optional<Dossier>();
  if (recorded->fingerprint != fingerprint) {
    const std::string message = absl::StrCat(
        "request_id \"", request_id,
        "\" was already used for a different request; use a new request_id "
        "for a new request");
    return WithFieldViolation(
        WithReason(absl::InvalidArgumentError(message), kReasonRequestIdReused), "request_id",
        message);
  }
  return std::optional<Dossier>(std::move(recorded->response));
}

absl::StatusOr<DossierManager::PreparedSubmit> DossierManager::PrepareSubmit(
    const onestop::v1::SubmitDossierRequest& request, const std::string& fingerprint,
    const std::string& actor) {
  ONESTOP_RETURN_IF_ERROR(ValidateRequestId(request.request_id()));
  PreparedSubmit out;
  out.catalogue = this->catalogue();
  ONESTOP_ASSIGN_OR_RETURN(out.replayed, Replay(request.request_id(), fingerprint));
  out.now = clock_->Now();
  if (out.replayed.has_value()) {
    Decorate(*out.replayed, out.now, *out.catalogue);
    return out;
  }
  ONESTOP_ASSIGN_OR_RETURN(
      core::NewDossier prepared,
      core::PrepareSubmission(request, *out.catalogue, {out.now, actor}));
  out.write.dossier = std::move(prepared.dossier);
  out.write.entry = std::move(prepared.entry);
  out.write.code_prefix = std::move(prepared.code_prefix);
  if (!request.request_id().empty()) {
    out.write.idempotency = storage::IdempotencyKey{request.request_id(), fingerprint};
  }
  return out;
}

absl::StatusOr<Dossier> DossierManager::FinishWrite(absl::StatusOr<Dossier> written,
                                                    const std::string& request_id,
                                                    const std::string& fingerprint,
                                                    absl::Time now,
                                                    const core::Catalogue& catalogue) {
  if (absl::IsAlreadyExists(written.status()) && !request_id.empty()) {
    // A concurrent retry with the same request_id won the race.
    ONESTOP_ASSIGN_OR_RETURN(std::optional<Dossier> replayed, Replay(request_id, fingerprint));
    if (replayed.has_value()) written = *std::move(replayed);
  }
  if (!written.ok()) return written.status();
  Decorate(*written, now, catalogue);
  return written;
}

absl::StatusOr<Dossier> DossierManager::Submit(
    const onestop::v1::SubmitDossierRequest& request,
    const std::string& fingerprint, const std::string& actor) {
  ONESTOP_ASSIGN_OR_RETURN(PreparedSubmit prepared, PrepareSubmit(request, fingerprint, actor));
  if (prepared.replayed.has_value()) return *std::move(prepared.replayed);
  return FinishWrite(store_->Create(prepared.write), request.request_id(), fingerprint,
                      prepared.now, *prepared.catalogue);
}

bool DossierManager::ReserveAsyncWrite() {
  if (options_.handoff == nullptr) return false;
  if (async_writes_.fetch_add(1, std::memory_order_relaxed) < options_.max_async_writes) {
    return true;
  }
  ReleaseAsyncWrite();
  return false;
}

template <typename Prepared>
bool DossierManager::AnsweredWithoutWrite(absl::StatusOr<Prepared>& prepared, WriteDone& done) {
  if (prepared.ok() && !prepared->replayed.has_value()) return false;
  ReleaseAsyncWrite();  // nothing to write
  if (!prepared.ok()) {
    std::move(done)(prepared.status());
  } else {
    std::move(done)(*std::move(prepared->replayed));
  }
  return true;
}

void DossierManager::SubmitAsync(const onestop::v1::SubmitDossierRequest& request,
                                 std::string fingerprint, const std::string& actor,
                                 WriteDone done) {
  if (!ReserveAsyncWrite()) {
    std::move(done)(Submit(request, fingerprint, actor));
    return;
  }
  SubmitReserved(request, std::move(fingerprint), actor, std::move(done));
}

void DossierManager::SubmitReserved(const onestop::v1::SubmitDossierRequest& request,
                                    std::string fingerprint, const std::string& actor,
                                    WriteDone done) {
  absl::StatusOr<PreparedSubmit> prepared = PrepareSubmit(request, fingerprint, actor);
  if (AnsweredWithoutWrite(prepared, done)) return;
  store_->CreateAsync(std::move(prepared->write),
                      ContinueOnExecutor(request.request_id(), std::move(fingerprint),
                                         prepared->now, std::move(prepared->catalogue),
                                         /*keep_alive=*/nullptr, std::move(done)));
}

bool DossierManager::MayStartWithoutWaiting(const std::string& request_id) const {
  return request_id.empty() && options_.handoff != nullptr && store_->QueuesAsyncWrites();
}

bool DossierManager::TrySubmitWithoutWaiting(const onestop::v1::SubmitDossierRequest& request,
                                             const std::string& fingerprint,
                                             const std::string& actor, WriteDone& done) {
  if (!MayStartWithoutWaiting(request.request_id()) || !ReserveAsyncWrite()) return false;
  SubmitReserved(request, fingerprint, actor, std::move(done));
  return true;
}

bool DossierManager::TryActWithoutWaiting(const ActionCommand& command, const std::string& actor,
                                          ActAuthorizer authorize, WriteDone& done) {
  if (!MayStartWithoutWaiting(command.request_id) || !ValidateCode(command.code).ok() ||
      !ReserveAsyncWrite()) {
    return false;
  }
  std::optional<Dossier> loaded = store_->GetFromMemory(command.code);
  if (!loaded.has_value()) {
    ReleaseAsyncWrite();
    return false;
  }
  ActReserved(command, actor, authorize, std::move(loaded), std::move(done));
  return true;
}

absl::StatusOr<DossierManager::PreparedAct> DossierManager::PrepareAct(
    const ActionCommand& command, const std::string& actor, ActAuthorizer authorize,
    std::optional<Dossier> loaded) {
  ONESTOP_RETURN_IF_ERROR(ValidateCode(command.code));
  // One read serves the authorization and the action (the etag check below
  // and the store's conditional write keep it safe).
  PreparedAct out;
  if (loaded.has_value()) {
    out.current = std::make_unique<Dossier>(*std::move(loaded));
  } else {
    ONESTOP_ASSIGN_OR_RETURN(Dossier read, LoadDossier(*store_, command.code));
    out.current = std::make_unique<Dossier>(std::move(read));
  }
  Dossier& current = *out.current;
  ONESTOP_RETURN_IF_ERROR(authorize(current));
  ONESTOP_RETURN_IF_ERROR(ValidateRequestId(command.request_id));
  out.catalogue = this->catalogue();
  const core::Catalogue& catalogue = *out.catalogue;
  ONESTOP_ASSIGN_OR_RETURN(out.replayed, Replay(command.request_id, command.fingerprint));
  if (out.replayed.has_value()) {
    Decorate(*out.replayed, clock_->Now(), catalogue);
    return out;
  }
  if (command.etag <= 0) {
    return InvalidFieldError("etag", "etag: pass the etag of the dossier as you last read it");
  }
  if (current.etag() != command.etag) {
    absl::Status stale = WithReason(
        absl::AbortedError(absl::StrCat(
            "dossier ", command.code, " was changed by someone else (now version ",
            current.etag(), ", you had ", command.etag, "); reload it and try again")),
        kReasonEtagMismatch);
    stale = WithMetadata(std::move(stale), "dossier_code", command.code);
    stale = WithMetadata(std::move(stale), "current_etag", absl::StrCat(current.etag()));
    return WithMessageVi(std::move(stale),
                         absl::StrCat("Hồ sơ ", command.code,
                                      " vừa được người khác cập nhật; vui lòng tải lại hồ sơ "
                                      "rồi thực hiện lại."));
  }
  out.now = clock_->Now();
  // Rules on the due time (a reschedule's "1 day before", "after the due
  // time") see the due time as read, paused time included.
  ApplyOpenPause(current, out.now, catalogue.calendar());
  ONESTOP_ASSIGN_OR_RETURN(
      core::Transition transition,
      core::ApplyAction(current, command.action, catalogue, {out.now, actor}));

  storage::UpdateDossierWrite& write = out.write;
  write.dossier = std::move(transition.dossier);
  write.dossier.clear_history();
  write.expected_etag = command.etag;
  write.before = &current;  // lets the aggregating decorator diff without a read
  write.entry = std::move(transition.entry);
  if (!command.request_id.empty()) {
    write.idempotency = storage::IdempotencyKey{command.request_id, command.fingerprint};
  }
  return out;
}

absl::StatusOr<Dossier> DossierManager::Act(const ActionCommand& command, const std::string& actor,
                                            ActAuthorizer authorize) {
  ONESTOP_ASSIGN_OR_RETURN(PreparedAct prepared, PrepareAct(command, actor, authorize));
  if (prepared.replayed.has_value()) return *std::move(prepared.replayed);
  return FinishWrite(store_->Update(prepared.write), command.request_id, command.fingerprint,
                     prepared.now, *prepared.catalogue);
}

void DossierManager::ActAsync(const ActionCommand& command, const std::string& actor,
                              ActAuthorizer authorize, WriteDone done) {
  if (!ReserveAsyncWrite()) {
    std::move(done)(Act(command, actor, authorize));
    return;
  }
  ActReserved(command, actor, authorize, /*loaded=*/std::nullopt, std::move(done));
}

void DossierManager::ActReserved(const ActionCommand& command, const std::string& actor,
                                 ActAuthorizer authorize, std::optional<Dossier> loaded,
                                 WriteDone done) {
  absl::StatusOr<PreparedAct> prepared =
      PrepareAct(command, actor, authorize, std::move(loaded));
  if (AnsweredWithoutWrite(prepared, done)) return;
  store_->UpdateAsync(std::move(prepared->write),
                      ContinueOnExecutor(command.request_id, command.fingerprint, prepared->now,
                                         std::move(prepared->catalogue),
                                         std::move(prepared->current), std::move(done)));
}

storage::DossierStore::WriteDone DossierManager::ContinueOnExecutor(
    std::string request_id, std::string fingerprint, absl::Time now,
    std::shared_ptr<const core::Catalogue> catalogue, std::unique_ptr<Dossier> keep_alive,
    WriteDone done) {
  // The store answers on its writer thread: hand the rest (a replay read
  // after a lost race, the decoration, the caller's continuation) to the
  // executor at once. `keep_alive` is the write's `before`. The write's
  // reservation ends with its answer.
  return [this, request_id = std::move(request_id), fingerprint = std::move(fingerprint), now,
          catalogue = std::move(catalogue), keep_alive = std::move(keep_alive),
          done = std::move(done)](absl::StatusOr<Dossier> written) mutable {
    ReleaseAsyncWrite();
    options_.handoff->Post([this, written = std::move(written),
                            request_id = std::move(request_id),
                            fingerprint = std::move(fingerprint), now,
                            catalogue = std::move(catalogue), keep_alive = std::move(keep_alive),
                            done = std::move(done)]() mutable {
      keep_alive.reset();
      std::move(done)(FinishWrite(std::move(written), request_id, fingerprint, now, *catalogue));
    });
  };
}

absl::StatusOr<Dossier> DossierManager::Act(const ActionCommand& command,
                                            const std::string& actor) {
  return Act(command, actor, [](const Dossier&) { return absl::OkStatus(); });
}

absl::StatusOr<Dossier> DossierManager::Get(const std::string& code) {
  ONESTOP_RETURN_IF_ERROR(ValidateCode(code));
  ONESTOP_ASSIGN_OR_RETURN(Dossier dossier, LoadDossier(*store_, code));
  Decorate(dossier, clock_->Now(), *catalogue());
  return dossier;
}

absl::StatusOr<onestop::v1::ListDossiersResponse> DossierManager::List(
    const onestop::v1::ListDossiersRequest& request,
    const std::optional<std::vector<std::string>>& scope) {
  if (request.page_size() < 0) {
    return InvalidFieldError("page_size", "page_size: must not be negative");
  }
  if (!onestop::v1::DossierStatus_IsValid(request.status())) {
    return InvalidFieldError(
        "status", absl::StrCat("status: ", request.status(), " is not a status code (1–10)"));
  }
  ONESTOP_RETURN_IF_ERROR(core::ValidateText("agency_code", request.agency_code(),
                                             core::kMaxCodeBytes,
                                             core::Requirement::kOptional));
  ONESTOP_RETURN_IF_ERROR(core::ValidateText("procedure_code", request.procedure_code(),
                                             core::kMaxCodeBytes,
                                             core::Requirement::kOptional));
  if (request.overdue_only() && request.due_soon_only()) {
    const absl::string_view message =
        "overdue_only and due_soon_only exclude each other (an overdue dossier "
        "is no longer due soon); ask for one, then the other";
    return WithFieldViolation(
        WithFieldViolation(WithReason(absl::InvalidArgumentError(message), kReasonFiltersConflict),
                           "overdue_only", message),
        "due_soon_only", message);
  }
  const std::string fingerprint = ListFingerprint(request);
  storage::DossierQuery query;
  const std::shared_ptr<const core::Catalogue> scope_catalogue = this->catalogue();
  if (!request.agency_code().empty()) {
    // A district's list includes its communes' dossiers.
    query.agency_codes = scope_catalogue->SubtreeCodes(request.agency_code());
    if (query.agency_codes.empty()) {
      return WithFieldViolation(
          WithReason(absl::NotFoundError(
                         absl::StrCat("no agency with code \"", request.agency_code(), "\"")),
                     kReasonAgencyNotFound),
          "agency_code", "no such agency in the catalogue");
    }
  } else if (scope.has_value()) {
    // An empty scope sees nothing (an empty filter would mean "any agency").
    if (scope->empty()) return onestop::v1::ListDossiersResponse();
    query.agency_codes = *scope;
  }
  query.status = request.status();
  query.procedure_code = request.procedure_code();
  query.page_size = request.page_size() == 0
                        ? options_.default_page_size
                        : std::min(request.page_size(), options_.max_page_size);
  if (!request.page_token().empty()) {
    absl::StatusOr<int64_t> position = core::DecodePageToken(request.page_token(), fingerprint);
    if (!position.ok()) {
      const std::string message(position.status().message());
      return WithFieldViolation(WithReason(position.status(), kReasonPageTokenInvalid),
                                "page_token", message);
    }
    query.before_position = *position;
  }
  const std::shared_ptr<const core::Catalogue> catalogue = this->catalogue();
  const absl::Time now = clock_->Now();
  const core::WorkingCalendar& calendar = catalogue->calendar();
  // The store filters on the stored due time. An open pause moves the due
  // time as read (Decorate) later, never earlier, so the store's answer is
  // a superset, narrowed here by the timeliness as read.
  std::optional<onestop::v1::Timeliness> wanted;
  if (request.overdue_only()) {
    query.open_and_due_before = core::StartOfLocalDay(now, calendar);
    wanted = onestop::v1::TIMELINESS_OVERDUE;
  }
  if (request.due_soon_only()) {
    // The window of core::ClassifyTimeliness: due date in [today,
    // AddWorkingDays(today, window)]. No lower bound for the store: a
    // paused dossier stored as due yesterday may be due soon as read.
    const absl::CivilDay today = calendar.ToLocalDay(now);
    const absl::CivilDay last = calendar.AddWorkingDays(
        today, std::max(0, options_.timeliness.due_soon_working_days));
    query.open_and_due_before = absl::FromCivil(last + 1, calendar.zone());
    wanted = onestop::v1::TIMELINESS_DUE_SOON;
  }
  const int page_size = query.page_size;
  onestop::v1::ListDossiersResponse response;
  // Filtering can leave a store page short: read on until the page is full,
  // the store is exhausted, or kMaxScannedRows rows were read (then the
  // page is short but has a token).
  constexpr int kMaxScannedRows = 5000;
  int scanned = 0;
  while (true) {
    query.page_size = page_size - response.dossiers_size();
    ONESTOP_ASSIGN_OR_RETURN(storage::DossierPage page, store_->List(query));
    scanned += static_cast<int>(page.dossiers.size());
    for (Dossier& dossier : page.dossiers) {
      Decorate(dossier, now, *catalogue);
      if (wanted.has_value() && dossier.timeliness() != *wanted) continue;
      *response.add_dossiers() = std::move(dossier);
    }
    if (!page.more) break;
    query.before_position = page.last_position;
    if (response.dossiers_size() >= page_size || scanned >= kMaxScannedRows) {
      response.set_next_page_token(core::EncodePageToken(page.last_position, fingerprint));
      break;
    }
  }
  return response;
}

absl::StatusOr<onestop::v1::GetCalendarResponse> DossierManager::Calendar(
    const onestop::v1::GetCalendarRequest& request) const {
  const int from = request.from_year();
  const int to = request.to_year() == 0 ? from : request.to_year();
  if (from < 1 || from > 9999 || to < 1 || to > 9999) {
    return InvalidFieldError(
        from < 1 || from > 9999 ? "from_year" : "to_year",
        absl::StrCat("years must be between 1 and 9999 (got from_year ", request.from_year(),
                     ", to_year ", request.to_year(), ")"));
  }
  if (from > to) {
    return InvalidFieldError("to_year",
                             absl::StrCat("from_year ", from, " is after to_year ", to));
  }
  if (to - from + 1 > kMaxCalendarYears) {
    return InvalidFieldError(
        "to_year", absl::StrCat("ask for at most ", kMaxCalendarYears, " years at a time (", from,
                                "–", to, " is ", to - from + 1, ")"));
  }
  const std::shared_ptr<const core::Catalogue> catalogue = this->catalogue();
  const core::WorkingCalendar& calendar = catalogue->calendar();
  onestop::v1::GetCalendarResponse response;
  response.set_time_zone(calendar.zone().name());
  // The calendar keeps its rest days private; the configuration holds them
  // (empty means Saturday and Sunday, as in WorkingCalendar::FromConfig).
  const auto& rest = catalogue->config().calendar().weekly_rest_days();
  if (rest.empty()) {
    response.add_weekly_rest_days(6);
    response.add_weekly_rest_days(7);
  } else {
    std::vector<int32_t> days(rest.begin(), rest.end());
    std::sort(days.begin(), days.end());
    for (int32_t day : days) response.add_weekly_rest_days(day);
  }
  for (const core::WorkingSession& session : calendar.sessions()) {
    onestop::v1::WorkingHours* hours = response.add_sessions();
    hours->set_start(FormatMinuteOfDay(session.start_minute));
    hours->set_end(FormatMinuteOfDay(session.end_minute));
  }
  response.set_cutoff(FormatMinuteOfDay(calendar.cutoff_minute()));
  response.set_first_year(calendar.first_year());
  response.set_last_year(calendar.last_year());
  for (const core::CalendarDay& day :
       calendar.SpecialDays(absl::CivilDay(from, 1, 1), absl::CivilDay(to, 12, 31))) {
    onestop::v1::SpecialDay* out = response.add_days();
    *out->mutable_date() = core::ToDateProto(day.day);
    out->set_kind(ToProtoKind(day.kind));
    out->set_name(day.name);
    out->set_working(day.is_working());
  }
  return response;
}

}  // namespace onestop::service
