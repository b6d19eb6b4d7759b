// DossierManager: the application layer between the gRPC handlers and the
// store. It runs one use case per method: validate, read, ask the domain
// core for the next state, write conditionally, and derive read-time fields
// (timeliness). Handlers only translate messages and map errors.
//
// Idempotency: a write with a request_id first looks the id up; a recorded
// id with the same fingerprint returns the recorded response and writes
// nothing, with another fingerprint it is INVALID_ARGUMENT. Records are kept
// for the life of the database (retention comes with the feed issue).
//
// Thread-safe; methods block on the store (SubmitAsync and ActAsync on its
// reads, not on the write's commit), so call them from executor threads,
// never from a gRPC reaction — except TrySubmitWithoutWaiting and
// TryActWithoutWaiting, which never block.
#ifndef ONESTOP_SERVER_SERVICE_DOSSIER_MANAGER_H_
#define ONESTOP_SERVER_SERVICE_DOSSIER_MANAGER_H_

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "onestop/v1/dossier_service.pb.h"
#include "server/core/authorization.h"
#include "server/core/catalogue.h"
#include "server/core/deadline.h"
#include "server/core/workflow.h"
#include "server/service/handoff.h"
#include "server/util/clock.h"
#include "storage/dossier_store.h"

namespace onestop::service {

struct DossierManagerOptions {
  core::TimelinessOptions timeliness;
  int default_page_size = 50;
  int max_page_size = 500;
  // Where SubmitAsync and ActAsync continue once their write is answered
  // (not owned; must outlive the manager's calls). Null: they block like
  // Submit and Act and answer on the calling thread.
  Handoff* handoff = nullptr;
  // Asynchronous writes in flight at most. Beyond it SubmitAsync and
  // ActAsync block like Submit and Act, so an overloaded daemon fills its
  // executor and refuses new calls with UNAVAILABLE (RunUnary) instead of
  // queuing writes without bound. 1,024 is ~0.1 s of submits at this
  // machine's group-commit rate (docs/PERFORMANCE.md).
  int max_async_writes = 1024;
};

// One lifecycle action on an existing dossier, as received from a client.
struct ActionCommand {
  std::string code;
  int64_t etag = 0;
  std::string request_id;  // optional
  // Identifies the request's content for idempotency (method + fields).
  std::string fingerprint;
  core::Action action;
};

class DossierManager {
 public:
  // `store` and `clock` are not owned and must outlive the manager.
  DossierManager(storage::DossierStore* store,
                 std::shared_ptr<const core::Catalogue> catalogue,
                 const Clock* clock, DossierManagerOptions options = {});

  // Registers (and with receive_now receives) a dossier. Errors: see
  // core::PrepareSubmission and storage::DossierStore::Create.
  absl::StatusOr<onestop::v1::Dossier> Submit(
      const onestop::v1::SubmitDossierRequest& request,
      const std::string& fingerprint, const std::string& actor);

  // Submit without holding the calling thread while the write waits for
  // its group commit: the checks run on the calling thread, the write is
  // queued (DossierStore::CreateAsync), and `done` gets Submit's result on
  // an executor thread of options.handoff (or on the calling thread, for
  // an error before the write or a replayed request_id). `request` must
  // stay valid until `done` runs.
  using WriteDone = storage::DossierStore::WriteDone;
  void SubmitAsync(const onestop::v1::SubmitDossierRequest& request, std::string fingerprint,
                   const std::string& actor, WriteDone done);
  // Whether a write with this request_id may start on the calling thread
  // at all: none (its replay is a read), a handoff, and a store that
  // queues asynchronous writes (DossierStore::QueuesAsyncWrites). A
  // handler asks before it authenticates on gRPC's thread.
  bool MayStartWithoutWaiting(const std::string& request_id) const;
  // SubmitAsync when it needs no wait at all on the calling thread:
  // MayStartWithoutWaiting and room for another asynchronous write.
  // Otherwise returns false having done nothing (`done` untouched): call
  // SubmitAsync from an executor thread instead. For a handler on gRPC's
  // own thread (docs/PERFORMANCE.md, "Calls started on gRPC's thread");
  // `done` may then run on the calling thread (an error before the write).
  bool TrySubmitWithoutWaiting(const onestop::v1::SubmitDossierRequest& request,
                               const std::string& fingerprint, const std::string& actor,
                               WriteDone& done);

  // Checks that the caller may act on the dossier as stored (before any
  // decoration); its error is returned as is.
  using ActAuthorizer = absl::FunctionRef<absl::Status(const onestop::v1::Dossier& current)>;

  // Applies one action. Reads the dossier once: `authorize` sees it before
  // anything else is checked (a recorded request_id is replayed only to a
  // caller allowed on the dossier). While a clock pause is open, the core
  // sees the due time as read (paused time so far included), so a
  // reschedule is judged against it. Errors: INVALID_ARGUMENT (bad code,
  // reused request_id), NOT_FOUND, `authorize`'s, ABORTED (stale etag),
  // FAILED_PRECONDITION (illegal in the current status), plus store errors.
  absl::StatusOr<onestop::v1::Dossier> Act(const ActionCommand& command, const std::string& actor,
                                           ActAuthorizer authorize);
  // Act for a caller that authorized already (a document upload checks at
  // its header) or needs no check (tests, the benchmark's loader).
  absl::StatusOr<onestop::v1::Dossier> Act(const ActionCommand& command,
                                           const std::string& actor);
  // Act without holding the calling thread during the group commit, as
  // SubmitAsync: `authorize` runs on the calling thread before ActAsync
  // returns; `done` gets Act's result on an executor thread of
  // options.handoff (or on the calling thread for an error before the
  // write or a replay).
  void ActAsync(const ActionCommand& command, const std::string& actor, ActAuthorizer authorize,
                WriteDone done);
  // ActAsync when it needs no wait on the calling thread, as
  // TrySubmitWithoutWaiting: MayStartWithoutWaiting, room for another
  // asynchronous write and the dossier in the store's memory
  // (DossierStore::GetFromMemory). Otherwise false, having done nothing
  // (`authorize` not called, `done` untouched).
  bool TryActWithoutWaiting(const ActionCommand& command, const std::string& actor,
                            ActAuthorizer authorize, WriteDone& done);

  // Imports one batch of historical dossiers (AdminService.ImportDossiers,
  // docs/IMPORT.md). Each record is checked by core::PrepareImport and must
  // concern an agency within the grants of `principal` that hold
  // import_dossiers (core::Authorize on core::DossierAgencies: else that
  // record is PERMISSION_DENIED); the valid ones go to the store in one
  // DossierStore::ImportDossiers call. Returns one status per record, in
  // order: OK (imported), ALREADY_EXISTS (identical dossier already stored:
  // skipped), or the record's error. The call fails as a whole only with
  // INVALID_ARGUMENT for an empty batch or one above core::kMaxImportBatch,
  // or the store's transaction errors (UNAVAILABLE, RESOURCE_EXHAUSTED,
  // INTERNAL), in which case nothing of the batch is written. `records` is
  // taken by value: each dossier is moved down to the store, never copied.
  absl::StatusOr<std::vector<absl::Status>> Import(std::vector<onestop::v1::Dossier> records,
                                                   const core::Principal& principal);

  // The dossier with history and timeliness. INVALID_ARGUMENT for an empty
  // or malformed code; NOT_FOUND if unknown.
  absl::StatusOr<onestop::v1::Dossier> Get(const std::string& code);

  // One page of dossiers. overdue_only and due_soon_only select by the due
  // time as read (Decorate), so a paused dossier is not listed as overdue
  // while its clock stands still; such pages may be shorter than page_size.
  // INVALID_ARGUMENT for a negative page size, an unknown status value,
  // overdue_only together with due_soon_only, or a page token from another
  // query.
  // `scope`, when set, limits the page to dossiers whose receiving or
  // holding agency is one of these codes (the caller's visible agencies,
  // used when the request names no agency).
  absl::StatusOr<onestop::v1::ListDossiersResponse> List(
      const onestop::v1::ListDossiersRequest& request,
      const std::optional<std::vector<std::string>>& scope = std::nullopt);

  // The working calendar of the current catalogue for the requested years
  // (to_year 0 = from_year). From memory; never blocks. INVALID_ARGUMENT
  // for a year outside 1–9999, from_year > to_year, or more than
  // kMaxCalendarYears years.
  absl::StatusOr<onestop::v1::GetCalendarResponse> Calendar(
      const onestop::v1::GetCalendarRequest& request) const;
  static constexpr int kMaxCalendarYears = 20;

  std::shared_ptr<const core::Catalogue> catalogue() const;
  // Swaps in a new, already validated catalogue (config reload). Calls in
  // flight finish with the catalogue they started with; dossiers keep what
  // was fixed at reception (due time, resolved route).
  void ReplaceCatalogue(std::shared_ptr<const core::Catalogue> catalogue);
  const Clock& clock() const { return *clock_; }

 private:
  // Fills derived fields for a client: the portal code; while a pause is
  // open, due_time = original + every pause so far (the clock stands still,
  // so the due time moves with it); then timeliness from that due time.
  void Decorate(onestop::v1::Dossier& dossier, absl::Time now,
                const core::Catalogue& catalogue) const;
  // Submit's part before the write: a replayed request_id's dossier
  // (`replayed` set, nothing to write), or the write to make.
  struct PreparedSubmit {
    std::shared_ptr<const core::Catalogue> catalogue;
    absl::Time now;
    std::optional<onestop::v1::Dossier> replayed;
    storage::CreateDossierWrite write;
  };
  absl::StatusOr<PreparedSubmit> PrepareSubmit(const onestop::v1::SubmitDossierRequest& request,
                                               const std::string& fingerprint,
                                               const std::string& actor);
  // Act's part before the write, as PrepareSubmit. `current` is the
  // dossier read (write.before points to it).
  struct PreparedAct {
    std::shared_ptr<const core::Catalogue> catalogue;
    absl::Time now;
    std::optional<onestop::v1::Dossier> replayed;
    std::unique_ptr<onestop::v1::Dossier> current;
    storage::UpdateDossierWrite write;
  };
  // `loaded`: the dossier as already read (GetFromMemory), else read here.
  absl::StatusOr<PreparedAct> PrepareAct(const ActionCommand& command, const std::string& actor,
                                         ActAuthorizer authorize,
                                         std::optional<onestop::v1::Dossier> loaded = {});
  // SubmitAsync's and ActAsync's parts after the reservation.
  void SubmitReserved(const onestop::v1::SubmitDossierRequest& request, std::string fingerprint,
                      const std::string& actor, WriteDone done);
  void ActReserved(const ActionCommand& command, const std::string& actor,
                   ActAuthorizer authorize, std::optional<onestop::v1::Dossier> loaded,
                   WriteDone done);
  // The part after a write: a lost race for the same request_id replays
  // the winner's result; decorates the dossier.
  absl::StatusOr<onestop::v1::Dossier> FinishWrite(absl::StatusOr<onestop::v1::Dossier> written,
                                                   const std::string& request_id,
                                                   const std::string& fingerprint,
                                                   absl::Time now,
                                                   const core::Catalogue& catalogue);
  // The store's answer to an asynchronous write: posts FinishWrite and
  // then `done` to options.handoff; `keep_alive` (the write's `before`, or
  // null) lives until then.
  storage::DossierStore::WriteDone ContinueOnExecutor(
      std::string request_id, std::string fingerprint, absl::Time now,
      std::shared_ptr<const core::Catalogue> catalogue,
      std::unique_ptr<onestop::v1::Dossier> keep_alive, WriteDone done);
  // The recorded response for `request_id`, nullopt if unused,
  // INVALID_ARGUMENT if used with another fingerprint.
  absl::StatusOr<std::optional<onestop::v1::Dossier>> Replay(
      const std::string& request_id, const std::string& fingerprint);

  // Takes one of options_.max_async_writes; false (nothing taken) if none
  // is left or there is no handoff.
  bool ReserveAsyncWrite();
  void ReleaseAsyncWrite() { async_writes_.fetch_sub(1, std::memory_order_relaxed); }
  // For SubmitAsync / ActAsync after PrepareSubmit / PrepareAct: if there
  // is nothing to write (an error, or a replayed request_id), releases the
  // reservation, answers `done` with it and returns true.
  template <typename Prepared>
  bool AnsweredWithoutWrite(absl::StatusOr<Prepared>& prepared, WriteDone& done);

  storage::DossierStore* const store_;
  const Clock* const clock_;
  const DossierManagerOptions options_;
  std::atomic<int> async_writes_{0};
  mutable absl::Mutex mu_;
  std::shared_ptr<const core::Catalogue> catalogue_ ABSL_GUARDED_BY(mu_);
};

}  // namespace onestop::service

#endif  // ONESTOP_SERVER_SERVICE_DOSSIER_MANAGER_H_
