// DossierStore: the one storage interface every backend implements (SQLite
// now, PostgreSQL later) and every backend proves with the shared
// conformance suite in tests/storage/.
//
// The store speaks the proto messages and knows no domain rules: the
// domain core decides the next state; the store makes it durable,
// atomically and conditionally. Each successful write commits, in ONE
// transaction: the dossier's new state, one appended history entry, one
// change-feed event with the next global revision, (when given) the
// idempotency record, and the write's report counter deltas. A write that
// fails changes nothing.
//
// Error codes, uniform across backends:
//   NOT_FOUND          unknown dossier code
//   ABORTED            expected etag differs from the stored one
//   ALREADY_EXISTS     request_id already recorded (read it with FindRequest)
//   UNAVAILABLE        transient (database busy/locked, connection lost);
//                      retry the call with the same request_id: on
//                      PostgreSQL a COMMIT that lost its connection may
//                      have committed (postgres_dossier_store.h)
//   RESOURCE_EXHAUSTED disk full
//   INVALID_ARGUMENT   a malformed write or query: empty code_prefix, a
//                      history sequence that is neither 0 (store assigns
//                      the next) nor the next one, page_size < 1 (there is
//                      no upper limit: callers cap it), ReadEvents limit < 1
//   INTERNAL           corrupt data or broken invariant
//
// Revisions: the k-th committed write gets revision k, and events become
// visible to ReadEvents in revision order (SQLite: one writer thread;
// PostgreSQL: the revision is taken last from the feed_head row, whose lock
// is held to the commit). Retention (CompactEvents) removes
// the oldest events only.
//
// Derived fields (`timeliness`) are never stored. An event's `time` and
// `action` are its history entry's.
//
// Thread safety: all methods may be called concurrently from any thread.
// Calls block on I/O: never call them from a gRPC reactor thread.
#ifndef ONESTOP_STORAGE_DOSSIER_STORE_H_
#define ONESTOP_STORAGE_DOSSIER_STORE_H_

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "onestop/v1/dossier.pb.h"

namespace onestop::storage {

// Client request identity for idempotent writes.
struct IdempotencyKey {
  std::string request_id;
  // Digest of the request's content; a retry must carry the same one.
  std::string fingerprint;
};

// What FindRequest returns for a recorded request_id.
struct RecordedRequest {
  std::string fingerprint;
  // The dossier exactly as the original call returned it.
  onestop::v1::Dossier response;
};

// Report counters (issue #5, docs/REPORTS.md). The store keeps named series
// of integer counters per calendar day and adds deltas to them in the same
// transaction as the dossier write that causes them, so a report reads
// sums instead of rescanning dossiers. The store gives the series and the
// slots no meaning: the domain core (server/core/report.h) names them.

// Number of counter slots per series and day.
inline constexpr int kCounterSlots = 24;
using CounterValues = std::array<int64_t, kCounterSlots>;

// Adds `values` (signed) to series `series` on `day`.
struct CounterDelta {
  // Opaque series name, 1–512 bytes.
  std::string series = "";
  absl::CivilDay day = absl::CivilDay(1970, 1, 1);
  CounterValues values = {};
};

// An inclusive range of days. first ≤ last, both within years 1900–9999.
struct DayRange {
  absl::CivilDay first = absl::CivilDay(1900, 1, 1);
  absl::CivilDay last = absl::CivilDay(1900, 1, 1);
};

// The earliest day a counter may carry; DayRange{kEarliestCounterDay, d}
// is "everything up to d" (a stock at the end of d).
inline constexpr absl::CivilDay kEarliestCounterDay = absl::CivilDay(1900, 1, 1);
inline constexpr absl::CivilDay kLatestCounterDay = absl::CivilDay(9999, 12, 31);

// Which series to sum, and over which day ranges.
struct CounterQuery {
  // Exact series names.
  std::vector<std::string> series;
  // Plus every series whose name starts with one of these (non-empty)
  // prefixes.
  std::vector<std::string> series_prefixes;
  // At least one range; each is summed separately.
  std::vector<DayRange> ranges;
};

// The sums of one series, one entry per query range (in query order).
struct CounterSums {
  std::string series;
  std::vector<CounterValues> sums;
};

struct CreateDossierWrite {
  // The new dossier. `code` and `etag` are ignored: the store issues the
  // code and sets etag 1. `history` is ignored; use `entry`.
  onestop::v1::Dossier dossier;
  // The first history entry (sequence 1).
  onestop::v1::HistoryEntry entry;
  // The code is `code_prefix` followed by the next sequence number for
  // that prefix, zero-padded to at least 4 digits ("…-200106-0001").
  // Sequences start at 1 and have no gaps among committed writes.
  std::string code_prefix;
  std::optional<IdempotencyKey> idempotency;
  // Added to the report counters in the same transaction (none applied if
  // the write fails). Deltas naming the same series and day add up.
  std::vector<CounterDelta> counter_deltas;
};

struct UpdateDossierWrite {
  // The dossier's next state; `code` names it. `history` is ignored.
  onestop::v1::Dossier dossier;
  // The etag the caller read; the write succeeds only if it is current.
  // The stored etag becomes expected_etag + 1.
  int64_t expected_etag = 0;
  // The history entry to append (its sequence must be the next one).
  onestop::v1::HistoryEntry entry;
  std::optional<IdempotencyKey> idempotency;
  // As for CreateDossierWrite.
  std::vector<CounterDelta> counter_deltas;
  // Optional, not owned, only read during the call (until `done` runs, for
  // UpdateAsync): the dossier as the caller read it, with its full history
  // (etag == expected_etag); its due_time may count an open pause up to
  // the read, as reads show it (DossierManager), which no counter uses.
  // Decorators that derive counter_deltas from (before, after) use it
  // instead of a Get. A store may return its history plus the new entry
  // instead of reading the history back once the conditional write has
  // succeeded: history is append-only and every write bumps the etag, so
  // the etag names the history (SQLite does, if the entry counts agree).
  const onestop::v1::Dossier* before = nullptr;
};

// One dossier of a bulk import (ImportDossiers): a historical dossier
// written as it is, with its original code and full history.
struct ImportDossierWrite {
  // The dossier with its code, etag (= history size) and full history
  // (sequences 1..n). Stored like a dossier the store created: the body
  // without history and without `timeliness`, one row per history entry.
  onestop::v1::Dossier dossier;
  // The code's prefix and number (code == prefix + the digits): the
  // prefix's code sequence is raised to at least `code_sequence` so codes
  // Create issues later never collide with imported ones.
  std::string code_prefix;
  int64_t code_sequence = 0;
  // As for CreateDossierWrite: applied only if this record is imported.
  std::vector<CounterDelta> counter_deltas;
};

// "Open" dossiers (DossierQuery, CountQuery): received, processing,
// supplement requested, financial obligation. The SQL backends' predicate:
inline constexpr char kOpenStatusSql[] = "status IN (2, 4, 5, 6)";
static_assert(onestop::v1::DOSSIER_STATUS_RECEIVED == 2 &&
                  onestop::v1::DOSSIER_STATUS_PROCESSING == 4 &&
                  onestop::v1::DOSSIER_STATUS_SUPPLEMENT_REQUESTED == 5 &&
                  onestop::v1::DOSSIER_STATUS_FINANCIAL_OBLIGATION == 6,
              "kOpenStatusSql names the open statuses by number");

// Filters for List; all optional, combined with AND.
struct DossierQuery {
  // Receiving or holding agency is any of these (exact codes); empty = any
  // agency. Callers expand a subtree to its codes.
  std::vector<std::string> agency_codes;
  onestop::v1::DossierStatus status = onestop::v1::DOSSIER_STATUS_UNSPECIFIED;
  std::string procedure_code;
  // Only open dossiers (status 2, 4, 5, 6) whose due_time is before this.
  std::optional<absl::Time> open_and_due_before;
  // Only open dossiers (status 2, 4, 5, 6) whose due_time is at or after
  // this. Combined with open_and_due_before it selects the half-open window
  // [open_and_due_not_before, open_and_due_before), e.g. "due soon".
  std::optional<absl::Time> open_and_due_not_before;
  // Only rows with a position below this (from a previous page's
  // `last_position`); 0 starts at the newest.
  int64_t before_position = 0;
  // Maximum rows to return, ≥ 1.
  int page_size = 50;
};

struct DossierPage {
  // Newest first, without history.
  std::vector<onestop::v1::Dossier> dossiers;
  // Position of the last row returned (pass as before_position), 0 if none.
  int64_t last_position = 0;
  // True if rows remain beyond this page.
  bool more = false;
};

// What CountDossiers counts (issue #12: the operator's dossier gauges).
// "Open" is as in DossierQuery: status 2, 4, 5 or 6. Two half-open windows
// on the stored due_time: overdue = due before `due_before`; due soon = due
// in [due_before, due_soon_before). Open dossiers without a due_time are in
// neither.
struct CountQuery {
  absl::Time due_before = absl::InfinitePast();
  // ≥ due_before (equal: nothing is due soon).
  absl::Time due_soon_before = absl::InfinitePast();
};

// Open dossiers of one receiving agency in CountQuery's two windows.
struct AgencyDueCounts {
  // The stored receiving agency code; "" for a dossier without one.
  std::string agency_code;
  int64_t overdue = 0;
  int64_t due_soon = 0;

  friend bool operator==(const AgencyDueCounts& a, const AgencyDueCounts& b) {
    return a.agency_code == b.agency_code && a.overdue == b.overdue && a.due_soon == b.due_soon;
  }
};

struct DossierCounts {
  // Every dossier (open or closed) by its stored status; a status without
  // dossiers is absent.
  std::map<onestop::v1::DossierStatus, int64_t> by_status;
  // One entry per receiving agency with at least one overdue or due-soon
  // open dossier, ordered by agency_code.
  std::vector<AgencyDueCounts> by_agency;
};

class DossierStore {
 public:
  virtual ~DossierStore() = default;

  // Creates a dossier and issues its code. Returns the stored dossier
  // (code set, etag 1, with its one history entry).
  virtual absl::StatusOr<onestop::v1::Dossier> Create(const CreateDossierWrite& write) = 0;

  // What CreateAsync answers with: exactly what Create would have returned.
  using WriteDone = absl::AnyInvocable<void(absl::StatusOr<onestop::v1::Dossier>) &&>;

  // Create without blocking the caller: `done` is called exactly once with
  // Create's result, after the write committed (or failed). It may run on
  // the calling thread (before CreateAsync returns) or on a thread of the
  // store's own (the SQLite writer), so it must be quick and must not
  // block: hand the rest of the work to another thread. This default calls
  // Create and then `done` on the calling thread; a decorator that changes
  // Create inherits it, so it keeps its behaviour unless it overrides this
  // too. The SQLite backend overrides it (its writer answers a whole group
  // commit without waking one waiting thread per write).
  virtual void CreateAsync(CreateDossierWrite write, WriteDone done) {
    std::move(done)(Create(write));
  }
  // Update without blocking the caller, as CreateAsync; `write.before`, if
  // set, must stay valid until `done` runs.
  virtual void UpdateAsync(UpdateDossierWrite write, WriteDone done) {
    std::move(done)(Update(write));
  }
  // True if CreateAsync and UpdateAsync never block the caller on I/O
  // (they queue the write and answer later): a handler may then start a
  // write on gRPC's own thread. False for the defaults above, which write
  // on the calling thread.
  virtual bool QueuesAsyncWrites() const { return false; }

  // Replaces a dossier's state if `expected_etag` is current and appends
  // the entry. Returns the stored dossier (etag bumped, full history).
  virtual absl::StatusOr<onestop::v1::Dossier> Update(const UpdateDossierWrite& write) = 0;

  // Returns the dossier with its full history, oldest entry first.
  virtual absl::StatusOr<onestop::v1::Dossier> Get(const std::string& code) = 0;
  // Get's dossier if the store holds it in memory (SQLite: the recently
  // updated dossiers), else nullopt — also for an unknown code. Never blocks
  // on I/O: a handler may call it on gRPC's own thread. Default: nullopt.
  virtual std::optional<onestop::v1::Dossier> GetFromMemory(const std::string& code) {
    return std::nullopt;
  }

  virtual absl::StatusOr<DossierPage> List(const DossierQuery& query) = 0;

  // The result recorded for `request_id`, or nullopt if none.
  virtual absl::StatusOr<std::optional<RecordedRequest>> FindRequest(
      const std::string& request_id) = 0;

  // Up to `limit` events with revision > `after_revision`, in revision
  // order.
  virtual absl::StatusOr<std::vector<onestop::v1::DossierEvent>> ReadEvents(
      int64_t after_revision, int limit) = 0;

  // The highest committed revision (0 if none).
  virtual absl::StatusOr<int64_t> LastRevision() = 0;

  // The oldest retained revision: events below it were compacted away and
  // can no longer be read. LastRevision() + 1 when there are no events.
  virtual absl::StatusOr<int64_t> FirstRevision() = 0;

  // Deletes the events with revision < `before_revision` (retention), but
  // never the newest event, and returns how many it deleted (0 if none;
  // any `before_revision`, even ≤ 0, is valid). Afterwards FirstRevision()
  // is min(before_revision, LastRevision()) if it was lower. Revisions are
  // never reused: keeping the newest event keeps the next revision above
  // every revision ever issued. Dossiers and history are untouched.
  // Writers may proceed between the backend's deletion batches.
  virtual absl::StatusOr<int64_t> CompactEvents(int64_t before_revision) = 0;

  // Sums the report counters of the matching series over each range.
  // Returns one CounterSums per series that has at least one counter row
  // (in any range), ordered by series name; a series without rows is
  // absent (its sums are zero). Sums are exact whatever the ranges: the
  // backend keeps day and month rows, so a range costs at most ~60 edge
  // day rows plus the month rows inside it per series, not O(days).
  // INVALID_ARGUMENT: no range, a range with first > last or outside
  // kEarliestCounterDay..kLatestCounterDay, an empty prefix or series name.
  // The default implementation is UNIMPLEMENTED (backends override it).
  virtual absl::StatusOr<std::vector<CounterSums>> SumCounters(const CounterQuery& query) {
    return absl::UnimplementedError("this store keeps no report counters");
  }

  // Imports historical dossiers (issue #8): one transaction per call on
  // both backends, many records in it; a record found present or different
  // writes nothing. Each imported record writes its dossier row, its
  // history rows, ONE change-feed event with the next revision (action
  // ACTION_KIND_IMPORT, the dossier without history, the last history entry
  // as `entry` and its time as `time`), its code sequence bump and its
  // counter deltas. Returns one status per record, in order:
  //   OK               imported
  //   ALREADY_EXISTS   a dossier with this code is stored and is identical:
  //                    same etag, same stored body and the same history
  //                    entries (byte-equal serializations); nothing written
  //   FAILED_PRECONDITION  a different dossier is stored under this code
  //                    (e.g. changed since an earlier import); nothing written
  //   INVALID_ARGUMENT a malformed record: empty code, code not starting
  //                    with code_prefix, code_sequence < 0, empty history,
  //                    sequences not 1..n, etag ≠ history size, bad counter
  //                    deltas
  // The call itself fails (and nothing of it is written) only when the
  // transaction cannot commit: UNAVAILABLE, RESOURCE_EXHAUSTED, INTERNAL.
  // An empty vector is OK and writes nothing. The default implementation
  // is UNIMPLEMENTED (backends override it). `writes` is taken by value:
  // a batch is up to 1,000 dossiers with their histories, and each layer
  // (decorators, the backend) moves it on instead of copying it.
  virtual absl::StatusOr<std::vector<absl::Status>> ImportDossiers(
      std::vector<ImportDossierWrite> writes) {
    return absl::UnimplementedError("this store cannot import dossiers");
  }

  // Counts dossiers for the operator's gauges (onestop_dossiers,
  // onestop_dossiers_overdue, onestop_dossiers_due_soon), from one
  // consistent snapshot. Reads the stored status, receiving agency and
  // due_time only: an open clock pause is not reflected (the due time as
  // read may be later than the stored one, never earlier). Cost grows with
  // the number of dossiers (an index scan for the statuses, a range of an
  // index over the open ones for the windows): callers cache the result.
  // INVALID_ARGUMENT: due_soon_before < due_before. The default
  // implementation is UNIMPLEMENTED (backends override it).
  virtual absl::StatusOr<DossierCounts> CountDossiers(const CountQuery& query) {
    return absl::UnimplementedError("this store cannot count dossiers");
  }
};

}  // namespace onestop::storage

#endif  // ONESTOP_STORAGE_DOSSIER_STORE_H_
