// SqliteDossierStore: the DossierStore backed by one SQLite 3 database file
// (WAL mode), the default backend of onestopd.
//
// Layout (schema version kSchemaVersion, kept in `PRAGMA user_version`;
// the file is marked with `PRAGMA application_id` = kApplicationId):
//   dossiers(position PK AUTOINCREMENT, code UNIQUE, etag, indexed filter
//            columns, body = serialized Dossier without history)
//   history(dossier_position, sequence, body)     one row per HistoryEntry
//   events(revision PK, dossier_code, action, time_us, body)
//                                                  the change feed; body is a
//                                                  serialized DossierEvent
//   code_sequences(prefix PK, last)                per-prefix code counters
//   requests(request_id PK, fingerprint, dossier_code, response,
//            created_time_us)                      idempotency records
//   report_counters(series, grain, bucket, shard, v0..v23)  (version 2)
//                                                  report counters per day
//                                                  and month
//                                                  (storage/counter_buckets.h)
// Each Create/Update is one `BEGIN IMMEDIATE … COMMIT` transaction covering
// the dossier row, its history row, its event row, the code counter, the
// idempotency record and the write's counter deltas; any failure rolls all
// of them back. Opening a version-1 file migrates it to version 2 (an
// empty report_counters table: counters start at zero, see
// docs/REPORTS.md "Existing databases").
//
// Errors, in addition to those of DossierStore:
//   INVALID_ARGUMENT  an empty code prefix, a history entry whose sequence
//                     is neither 0 (the store assigns the next one) nor the
//                     next one, page_size < 1, ReadEvents limit < 1
//   SQLite result codes map as: BUSY/LOCKED → UNAVAILABLE, FULL →
//   RESOURCE_EXHAUSTED, CORRUPT/NOTADB → INTERNAL ("database corrupt"),
//   anything else → INTERNAL with SQLite's generic text for the code
//   (never SQL text or row values).
//
// Thread safety: all methods are thread-safe. For now the store uses ONE
// connection serialized by a mutex, so calls run one at a time; a reader
// pool and group commit belong to the performance work. Calls block on disk
// I/O (synchronous=FULL fsyncs every commit): keep them off gRPC reactor
// threads.
#ifndef ONESTOP_STORAGE_SQLITE_SQLITE_DOSSIER_STORE_H_
#define ONESTOP_STORAGE_SQLITE_SQLITE_DOSSIER_STORE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "onestop/v1/dossier.pb.h"
#include "storage/dossier_store.h"

namespace onestop::storage {

namespace sqlite_internal {
class Connection;
class LockFile;
}  // namespace sqlite_internal

// How hard a commit works to survive power loss.
enum class Durability {
  // synchronous=FULL: a committed write survives power loss. The default.
  kFull,
  // synchronous=NORMAL: a committed write may be lost on power loss (never
  // corrupted). For benchmarks and throwaway databases.
  kNormal,
};

// What Open verifies about an existing file before using it.
enum class IntegrityCheck {
  // `PRAGMA quick_check`: reads every page once (O(database size)). Default.
  kQuick,
  // Only that the file is an SQLite database of ours (reads the header and
  // schema). For very large databases whose start-up time matters.
  kHeaderOnly,
};

struct SqliteOptions {
  // The database file, created if absent. ":memory:" opens a private
  // in-memory database (gone when the store is destroyed). Required.
  std::string path = "";
  Durability durability = Durability::kFull;
  IntegrityCheck integrity_check = IntegrityCheck::kQuick;
  // How long a statement waits for a lock held by another connection
  // (another process) before failing with UNAVAILABLE.
  absl::Duration busy_timeout = absl::Seconds(5);
};

// The connection settings in force, read back from SQLite (for start-up
// logs, diagnostics and tests).
struct SqliteSettings {
  std::string journal_mode;  // "wal", or "memory" for ":memory:"
  int synchronous = 0;       // 1 = NORMAL, 2 = FULL
  bool foreign_keys = false;
  int64_t busy_timeout_ms = 0;
  int schema_version = 0;  // PRAGMA user_version
};

class SqliteDossierStore final : public DossierStore {
 public:
  // The schema version this build writes and understands.
  static constexpr int kSchemaVersion = 2;
  // `PRAGMA application_id` of onestop databases ("ONES" in ASCII).
  static constexpr int32_t kApplicationId = 0x4F4E4553;

  // Opens (creating if absent) the database at `options.path`, first taking
  // an exclusive advisory lock (flock) on "<path>.lock" (holding this
  // process's pid) so that one process at a time writes the file: revision
  // order = commit order relies on it (docs/FEED.md). The lock is released
  // when the store is destroyed or the process dies; ":memory:" takes none.
  // Then it applies the pragmas (journal_mode=WAL, synchronous per `durability`,
  // foreign_keys=ON, busy_timeout), verifies the file per
  // `integrity_check`, and migrates the schema to kSchemaVersion in one
  // transaction. Errors, each naming the path and SQLite's message:
  //   INVALID_ARGUMENT    empty path
  //   FAILED_PRECONDITION another store (in this or another process) has the
  //                       file open: "database X is in use by another
  //                       onestopd (pid N)"; the lock file cannot be
  //                       created; the file cannot be opened or created; it is not
  //                       an SQLite database, is corrupt, belongs to
  //                       another application, or has a schema version
  //                       newer than kSchemaVersion (upgrade onestopd)
  //   UNAVAILABLE         another process holds the database locked
  //   INTERNAL            any other SQLite failure
  static absl::StatusOr<std::unique_ptr<SqliteDossierStore>> Open(const SqliteOptions& options);

  ~SqliteDossierStore() override;
  SqliteDossierStore(const SqliteDossierStore&) = delete;
  SqliteDossierStore& operator=(const SqliteDossierStore&) = delete;

  absl::StatusOr<onestop::v1::Dossier> Create(const CreateDossierWrite& write) override;
  absl::StatusOr<onestop::v1::Dossier> Update(const UpdateDossierWrite& write) override;
  absl::StatusOr<onestop::v1::Dossier> Get(const std::string& code) override;
  absl::StatusOr<DossierPage> List(const DossierQuery& query) override;
  absl::StatusOr<std::optional<RecordedRequest>> FindRequest(
      const std::string& request_id) override;
  absl::StatusOr<std::vector<onestop::v1::DossierEvent>> ReadEvents(int64_t after_revision,
                                                                    int limit) override;
  absl::StatusOr<int64_t> LastRevision() override;
  absl::StatusOr<int64_t> FirstRevision() override;
  // Deletes in chunks of kCompactionChunk events, one write transaction
  // each, so writers wait at most one chunk.
  absl::StatusOr<int64_t> CompactEvents(int64_t before_revision) override;
  // One read transaction (a consistent snapshot); per series and range one
  // indexed statement over at most three bucket runs.
  absl::StatusOr<std::vector<CounterSums>> SumCounters(const CounterQuery& query) override;

  // Events deleted per transaction by CompactEvents.
  static constexpr int64_t kCompactionChunk = 10000;

  // The connection settings in force. INTERNAL if SQLite fails.
  absl::StatusOr<SqliteSettings> Settings();

  // Writes a consistent online copy of the database to `destination` (a new
  // file; an existing one is replaced) with SQLite's backup API, reading
  // through its own connection in one read transaction: the copy is the
  // state as of one commit, and writers keep going meanwhile (WAL). The
  // copy is synced to disk before returning. FAILED_PRECONDITION for
  // ":memory:" or when `destination` is the database itself; UNAVAILABLE or
  // RESOURCE_EXHAUSTED as for writes; INTERNAL otherwise (message names the
  // destination).
  absl::Status Backup(const std::string& destination);

 private:
  SqliteDossierStore(std::unique_ptr<sqlite_internal::LockFile> lock,
                     std::unique_ptr<sqlite_internal::Connection> connection);

  // Declared first: released after the connection closes. Null for
  // ":memory:".
  const std::unique_ptr<sqlite_internal::LockFile> lock_;
  absl::Mutex mu_;
  const std::unique_ptr<sqlite_internal::Connection> connection_ ABSL_GUARDED_BY(mu_);
};

}  // namespace onestop::storage

#endif  // ONESTOP_STORAGE_SQLITE_SQLITE_DOSSIER_STORE_H_
