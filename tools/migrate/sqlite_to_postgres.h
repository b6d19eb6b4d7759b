// The move from SQLite to PostgreSQL (issue #11, "The move"):
// `onestopctl admin migrate --from FILE.db --to postgresql://…` copies one
// SQLite deployment — dossiers, history, the change feed, code sequences,
// idempotency records, report counters, tokens, the audit log and document
// blobs — into a PostgreSQL database, resumably and idempotently, then
// verifies counts and checksums. docs/MIGRATION.md is the operator's guide.
//
// This header is the library's whole interface and deliberately plain
// (options, a progress callback, a report): the CLI (client/) includes it
// and nothing from storage/ (tests/layering_test.sh).
//
// Rules:
//   - The source must not be in use: the migration takes the dossier
//     store's lock file "<FILE.db>.lock", so a running onestopd makes it
//     fail (FAILED_PRECONDITION "… stop onestopd first"), and reads the
//     whole source inside one SQLite read transaction (one snapshot).
//   - The target must hold the onestop PostgreSQL schema; it is created by
//     the PostgreSQL stores' Open() (run once before copying). The target
//     may be empty (a clean move: revisions and audit sequences are kept)
//     or already serve a province (a merger). Before anything is copied,
//     a dossier code that exists with different content (row or history)
//     and a request_id that exists with different content are each
//     FAILED_PRECONDITION naming it. Then, in order: code_sequences become
//     GREATEST(target, source) (first, so a province daemon never issues a
//     copied code); dossiers by code, each chunk with its history in ONE
//     transaction; requests by request_id; the report counters ADDED to
//     the target's in a shard row of the source's own; the feed's events
//     and the audit log staged in chunks without any daemon's lock, then
//     moved into place server-side in one short transaction holding the
//     live appenders' lock (kept into an empty target, else APPENDED after
//     its last revision / sequence, event bodies renumbered; the feed's
//     followers are notified); tokens by id; blobs by sha256.
//   - The province may keep serving its own agencies meanwhile; the
//     migrated agencies must not be served by it until the migration has
//     finished and verified (their events are appended at the end).
//   - Progress is recorded in the target's `migration_progress` table,
//     keyed by a stable source id (see MigrationReport::source_id), in the
//     same transaction as each chunk of rows; `migration_sources` holds the
//     source's fingerprint and counter shard. Counters, and the events' and
//     audit's append, are each ONE transaction together with their marker
//     (exactly once). Re-running after an interruption continues; after
//     success it copies nothing and only verifies.
//   - One migration at a time per target (a PostgreSQL advisory lock).
//
// Errors:
//   NOT_FOUND            the source file does not exist
//   FAILED_PRECONDITION  the source is in use ("stop onestopd first"); the
//                        source is not an onestop database, or its schema is
//                        newer than this build; the target lacks the onestop
//                        schema; a dossier code or a request_id exists in
//                        the target with different content (names it); the source
//                        changed since an earlier, unfinished run; another
//                        migration into the target is running
//   UNAVAILABLE          PostgreSQL cannot be reached (names the redacted
//                        URI); retry
//   INVALID_ARGUMENT     empty paths, a target that is not a postgresql://
//                        URI, batch_rows < 1
//   whatever `after_chunk` returns (tests), and storage errors (INTERNAL …)
// A verification mismatch is not an error: the report says so (ok false).
//
// Thread safety: MigrateSqliteToPostgres blocks for the whole migration
// and calls the callbacks on the calling thread.
#ifndef ONESTOP_TOOLS_MIGRATE_SQLITE_TO_POSTGRES_H_
#define ONESTOP_TOOLS_MIGRATE_SQLITE_TO_POSTGRES_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace onestop::migrate {

// One step's progress: `done` of `total` source rows handled (copied or
// found already there). Reported after every chunk and once at the end of
// each step (`finished`); "verify" reports tables verified of all tables.
struct MigrationProgress {
  std::string step;  // "dossiers", "history", …, "verify"
  int64_t done = 0;
  int64_t total = 0;
  bool finished = false;
};

struct MigrateOptions {
  // The SQLite database file of a stopped onestopd. Required.
  std::string source_path = "";
  // A libpq URI "postgresql://…" of the target database. Required.
  std::string target_uri = "";
  // Rows per target transaction for the chunked steps, ≥ 1.
  int batch_rows = 500;
  // Called on the calling thread as work proceeds; may be empty.
  std::function<void(const MigrationProgress&)> progress = nullptr;
  // Test hook: called after each committed chunk of any step with the step
  // and the number of chunks committed by this run so far; a non-OK status
  // ends the migration with that status at once (as a kill would, but
  // after a commit). May be empty.
  std::function<absl::Status(absl::string_view step, int64_t chunks)> after_chunk = nullptr;
};

// What one step did in this run.
struct StepReport {
  std::string step;
  int64_t source_rows = 0;  // rows in the source snapshot
  int64_t copied = 0;       // rows written by this run
  bool already_done = false;  // finished by an earlier run: nothing read
};

// One table's verification: the source rows against the same rows read
// back from the target by key (with a merged target, only the source's
// keys). Checksums are SHA-256 (hex) over a canonical encoding of the rows
// in key order; events and audit are compared modulo their renumbering,
// code_sequences as target ≥ source, report_counters against the source's
// own shard row, blobs over their metadata and bytes.
struct TableCheck {
  std::string table;
  int64_t source_rows = 0;
  int64_t target_rows = 0;  // of the source's keys found in the target
  std::string source_sha256;
  std::string target_sha256;
  bool ok = false;
};

struct MigrationReport {
  // Identifies the source across runs and file moves: SHA-256 (hex) of the
  // code and first history entry of the oldest dossier (immutable rows);
  // of the oldest audit record or token without dossiers; "empty" for a
  // database without any.
  std::string source_id;
  // How the feed and audit landed: "kept" (empty target: same revisions /
  // sequences) or "appended after N".
  std::string events_placement;
  std::string audit_placement;
  // The report_counters shard that holds this source's counters.
  int64_t counter_shard = 0;
  std::vector<StepReport> steps;
  std::vector<TableCheck> checks;
  // True when every check is ok.
  bool verified = false;
};

// Runs (or resumes, or re-verifies) the migration described above.
absl::StatusOr<MigrationReport> MigrateSqliteToPostgres(const MigrateOptions& options);

}  // namespace onestop::migrate

#endif  // ONESTOP_TOOLS_MIGRATE_SQLITE_TO_POSTGRES_H_
