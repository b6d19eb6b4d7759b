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
//   index dossiers_by_status_due(status, due_time_us, receiving_agency)
//                                                  (version 3) for
//                                                  CountDossiers
// Every Create/Update commits, in one transaction, the dossier row, its
// history row, its event row, the code counter, the idempotency record and
// the write's counter deltas; a write that fails changes none of them.
// Opening a version-1 file migrates it to version 2 (an empty
// report_counters table: counters start at zero, see docs/REPORTS.md
// "Existing databases"); opening a version-2 file adds the version-3 index
// (one pass over the dossiers at that start).
//
// Group commit (issue #8, docs/PERFORMANCE.md). One writer thread owns the
// write connection. Create/Update validate their argument, enqueue the
// write and block until it is answered. The writer takes everything queued
// (at most SqliteOptions::max_batch_writes; an ImportDossiers request is
// always a batch of its own, see ImportDossiers), runs `BEGIN IMMEDIATE`,
// applies each write inside its own `SAVEPOINT` — a write that fails (stale etag,
// duplicate request id, constraint, …) is rolled back to its savepoint and
// answered with its own error, the others are unaffected — then `COMMIT`s
// once (one fsync for the whole batch) and only then answers every write
// of the batch. If BEGIN or COMMIT fails, or SQLite rolls the transaction
// back by itself mid-batch (a full disk, an I/O error), every write of the
// batch gets that error — a write that had failed on its own too, since its
// failure may have come from a write now rolled back (its own request id
// recorded by its first attempt in the same batch, an etag a sibling
// bumped): nothing is acknowledged that was not committed, and nothing is
// refused for a reason that was not committed either. Writes are applied in queue order,
// so revisions, code sequences and commit order agree as before. The
// counter deltas of the batch's successful writes are merged and written
// once per counter row just before the COMMIT, in the same transaction.
// Other components of the same file (tokens, the audit log) write through
// SharedWriter::Write: their writes join the batches as items of their own
// (a savepoint each). The one other writer of the file is the blob store
// (storage/blobs), on its own connection: a batch's `BEGIN IMMEDIATE` waits
// for its short transactions (up to SqliteOptions::busy_timeout).
//
// Reads (Get, List, FindRequest, ReadEvents, LastRevision, FirstRevision,
// SumCounters, CountDossiers) go to a pool of read-only connections (WAL readers never
// wait for the writer); each read starts a fresh snapshot, so it sees every
// write acknowledged before it started and never a write whose COMMIT has
// not returned. ":memory:" cannot be shared between connections: there the
// reads use the write connection between batches.
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
// Thread safety: all methods are thread-safe. Calls block on disk I/O
// (synchronous=FULL fsyncs every commit; a write waits for the commit of
// its batch): keep them off gRPC reactor threads.
#ifndef ONESTOP_STORAGE_SQLITE_SQLITE_DOSSIER_STORE_H_
#define ONESTOP_STORAGE_SQLITE_SQLITE_DOSSIER_STORE_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "onestop/v1/dossier.pb.h"
#include "storage/dossier_store.h"
#include "storage/recent_dossiers.h"
#include "storage/sqlite/shared_writer.h"

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
  // Read-only connections in the reader pool, ≥ 1 (ignored for ":memory:").
  // A read waits for a free one; reads are short, so a few serve many
  // executor threads.
  int read_connections = 4;
  // Most writes the writer commits in one transaction, ≥ 1. Larger batches
  // amortize the fsync further but hold the write lock longer.
  int max_batch_writes = 256;
  // Dossiers kept in memory as last updated (storage/recent_dossiers.h): a
  // Get of one of them reads no database. 0 keeps none. ~2 KB each for a
  // dossier with a handful of history entries (~8.5 MB of RSS at 4,096,
  // measured after a lifecycle run).
  int recent_dossiers = 4096;
};

// Group-commit statistics since Open (for metrics and tests), read with
// SqliteDossierStore::GetCommitStats(). A batch is one transaction of the
// writer thread; CompactEvents runs outside batches and is not counted.
struct CommitStats {
  // Buckets of batch_size_histogram: bucket i counts batches of
  // [2^i, 2^(i+1)) writes (1, 2–3, 4–7, …, 256–511); the last is open.
  static constexpr int kBatchSizeBuckets = 10;

  // Batches run (committed or failed).
  int64_t batches = 0;
  // Writes answered by the writer, whatever the outcome.
  int64_t writes = 0;
  // Writes answered with an error (their own, or their batch's).
  int64_t failed_writes = 0;
  // Batches whose transaction failed as a whole (BEGIN, COMMIT, or a
  // rollback by SQLite): every write in it got that error. An ImportDossiers request that fails with a database
  // error counts too: it is a batch of its own.
  int64_t failed_batches = 0;
  // Writes in the most recent batch, and in the largest so far.
  int last_batch_size = 0;
  int max_batch_size = 0;
  std::array<int64_t, kBatchSizeBuckets> batch_size_histogram = {};
  // Time spent in `COMMIT` (the fsync, with synchronous=FULL): sum and max.
  absl::Duration total_commit_time = absl::ZeroDuration();
  absl::Duration max_commit_time = absl::ZeroDuration();
  // Time from `BEGIN` to the end of `COMMIT` (applying the writes plus the
  // commit): sum and max. A write's store latency is at most the time it
  // waited in the queue plus its batch's time.
  absl::Duration total_batch_time = absl::ZeroDuration();
  absl::Duration max_batch_time = absl::ZeroDuration();
  // At the time of the call: writes queued and not yet taken by the
  // writer, and writes submitted and not yet answered (queued or in the
  // running batch).
  int64_t queued_writes = 0;
  int64_t unanswered_writes = 0;
};

// The connection settings in force, read back from SQLite (for start-up
// logs, diagnostics and tests).
struct SqliteSettings {
  std::string journal_mode;  // "wal", or "memory" for ":memory:"
  int synchronous = 0;       // 1 = NORMAL, 2 = FULL
  bool foreign_keys = false;
  int64_t busy_timeout_ms = 0;
  int schema_version = 0;  // PRAGMA user_version
  int temp_store = 0;      // 2 = MEMORY (the savepoint journals; see Configure)
  // SQLite's process-wide allocation statistics (off in onestop: one global
  // mutex per allocation; storage/sqlite/sqlite_util.cc). Read from
  // sqlite3_memory_used(): 0 with this store's connections open means off.
  bool memory_statistics = false;
};

class SqliteDossierStore final : public DossierStore, public sqlite_internal::SharedWriter {
 public:
  // The schema version this build writes and understands.
  static constexpr int kSchemaVersion = 3;
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
  // transaction; then it opens the reader connections and starts the writer
  // thread. Errors, each naming the path and SQLite's message:
  //   INVALID_ARGUMENT    empty path, read_connections or max_batch_writes
  //                       below 1
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

  // Stops taking writes (a Create/Update that starts now fails with
  // UNAVAILABLE), lets the writer commit and answer every write already
  // queued, joins it, then closes the connections (the writer's last: a
  // clean close checkpoints the WAL into the database file). Calls already
  // blocked in Create/Update return normally; no new call may start once
  // the destructor has returned.
  ~SqliteDossierStore() override;
  SqliteDossierStore(const SqliteDossierStore&) = delete;
  SqliteDossierStore& operator=(const SqliteDossierStore&) = delete;

  // Create and Update validate `write` on the calling thread, then queue it
  // for the writer and block until the batch holding it has committed (or
  // failed). `write` (and `write.before`) are only read until they return.
  // Besides the DossierStore errors: UNAVAILABLE if the store is closing.
  absl::StatusOr<onestop::v1::Dossier> Create(const CreateDossierWrite& write) override;
  absl::StatusOr<onestop::v1::Dossier> Update(const UpdateDossierWrite& write) override;
  // Queue the write like Create and Update but return at once; the writer
  // thread calls `done` right after the batch holding it committed (or
  // failed), one write after the other, so `done` must only hand its
  // result on. A write refused before it is queued (invalid, store
  // closing) is answered on the calling thread.
  void CreateAsync(CreateDossierWrite write, WriteDone done) override;
  void UpdateAsync(UpdateDossierWrite write, WriteDone done) override;
  // Checks and serializes the records and merges their counter deltas on
  // the calling thread, then queues the whole vector as ONE item for the
  // writer, which commits it in a transaction of its own (never batched
  // with other writes, so it needs no savepoint: see ApplyImportRequest in
  // the .cc). A record found present or different has written nothing.
  // Blocks until that transaction committed. Besides the DossierStore
  // errors: UNAVAILABLE if the store is closing; an error of the database
  // in one record fails the whole call (its transaction is rolled back;
  // the writes queued before and after it commit in their own batches).
  absl::StatusOr<std::vector<absl::Status>> ImportDossiers(
      std::vector<ImportDossierWrite> writes) override;
  absl::StatusOr<onestop::v1::Dossier> Get(const std::string& code) override;
  // CreateAsync and UpdateAsync only queue the write for the writer.
  bool QueuesAsyncWrites() const override { return true; }
  // From the recently updated dossiers (a miss is not counted in
  // GetRecentDossierStats: the Get that follows counts it).
  std::optional<onestop::v1::Dossier> GetFromMemory(const std::string& code) override;
  absl::StatusOr<DossierPage> List(const DossierQuery& query) override;
  absl::StatusOr<std::optional<RecordedRequest>> FindRequest(
      const std::string& request_id) override;
  absl::StatusOr<std::vector<onestop::v1::DossierEvent>> ReadEvents(int64_t after_revision,
                                                                    int limit) override;
  absl::StatusOr<int64_t> LastRevision() override;
  absl::StatusOr<int64_t> FirstRevision() override;
  // Deletes in chunks of kCompactionChunk events, one write transaction
  // each on the write connection between the writer's batches, so writes
  // wait at most one chunk.
  absl::StatusOr<int64_t> CompactEvents(int64_t before_revision) override;
  // One read transaction (a consistent snapshot); per series and range one
  // indexed statement over at most three bucket runs.
  absl::StatusOr<std::vector<CounterSums>> SumCounters(const CounterQuery& query) override;
  // One read transaction with two GROUP BY statements: statuses over the
  // covering index dossiers_by_status (a scan of it: O(dossiers), a few
  // bytes each), the windows over dossiers_by_status_due (range seeks per
  // open status, index only: O(open dossiers due before due_soon_before)).
  absl::StatusOr<DossierCounts> CountDossiers(const CountQuery& query) override;

  // SharedWriter: another component's write (tokens, audit) as one item of
  // the next batch. Counted in CommitStats like a dossier write.
  absl::Status Write(
      absl::FunctionRef<absl::Status(sqlite_internal::Connection&)> apply) override;
  void WriteLater(absl::AnyInvocable<absl::Status(sqlite_internal::Connection&)> apply,
                  absl::AnyInvocable<void(absl::Status) &&> done) override;

  // How long queued WriteLater items alone wait for an awaited write to
  // share its batch before the writer commits them by themselves.
  static constexpr absl::Duration kLaterWritesWait = absl::Milliseconds(5);

  // Events deleted per transaction by CompactEvents.
  static constexpr int64_t kCompactionChunk = 10000;

  // The write connection's settings in force. INTERNAL if SQLite fails.
  absl::StatusOr<SqliteSettings> Settings();

  // A snapshot of the group-commit statistics. Never blocks on I/O.
  CommitStats GetCommitStats() const;
  // How often Get found the dossier among the recently updated ones.
  RecentDossierStats GetRecentDossierStats() const { return recent_.stats(); }

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
  // One queued Create or Update; lives on the calling thread's stack until
  // `done` is notified. Defined in the .cc file.
  struct PendingWrite;
  // A connection lent to one read (defined in the .cc file).
  class ReadLease;

  SqliteDossierStore(std::unique_ptr<sqlite_internal::LockFile> lock,
                     std::unique_ptr<sqlite_internal::Connection> writer,
                     std::vector<std::unique_ptr<sqlite_internal::Connection>> readers,
                     int max_batch_writes, int64_t last_revision, Durability durability,
                     int recent_dossiers);

  // Queues `write`, blocks until the writer has answered it, and returns
  // its result.
  absl::StatusOr<onestop::v1::Dossier> Submit(PendingWrite& write);
  // Queues `write` (owned by the writer from then on if it is a WriteLater
  // item); UNAVAILABLE (nothing queued) if the store is closing.
  absl::Status Enqueue(PendingWrite* write);
  // Hands `pending` to the writer, which answers `done` and deletes it;
  // answers `done` at once if it cannot be queued.
  void EnqueueAsync(std::unique_ptr<PendingWrite> pending, WriteDone done);
  // The writer thread's body: runs batches until closing and drained.
  void WriterLoop();
  // Applies `batch` in one transaction and stores each write's result
  // (does not notify).
  void RunBatch(const std::vector<PendingWrite*>& batch);
  bool HasWorkOrClosing() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(queue_mu_) {
    return !queue_.empty() || closing_;
  }
  bool HasAwaitedWorkOrClosing() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(queue_mu_) {
    return queued_awaited_ > 0 || closing_;
  }
  bool HasIdleReader() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(pool_mu_) {
    return !idle_readers_.empty();
  }

  // Declared first: released after every connection has closed. Null for
  // ":memory:".
  const std::unique_ptr<sqlite_internal::LockFile> lock_;
  const int max_batch_writes_;
  // The durability of every batch with a write someone waits for (a batch
  // of WriteLater items only commits with NORMAL: see RunBatch).
  const Durability durability_;
  // The highest committed revision: read at Open, then set by the writer
  // after each COMMIT (LastRevision answers from it).
  std::atomic<int64_t> last_revision_;
  // The dossiers the writer updated most recently (Put only by the writer,
  // after each COMMIT); Get looks here first.
  RecentDossiers recent_;

  // The write connection: the writer thread holds write_mu_ for each whole
  // batch (BEGIN … COMMIT); CompactEvents, Settings and Backup take it
  // between batches, and for ":memory:" so do the reads.
  mutable absl::Mutex write_mu_;
  const std::unique_ptr<sqlite_internal::Connection> writer_ ABSL_GUARDED_BY(write_mu_);

  // The reader pool (empty for ":memory:"). `readers_` owns them and is
  // fixed after construction; `idle_readers_` are those not lent out.
  const std::vector<std::unique_ptr<sqlite_internal::Connection>> readers_;
  absl::Mutex pool_mu_;
  std::vector<sqlite_internal::Connection*> idle_readers_ ABSL_GUARDED_BY(pool_mu_);

  // Writes waiting for the writer, oldest first.
  mutable absl::Mutex queue_mu_;
  std::deque<PendingWrite*> queue_ ABSL_GUARDED_BY(queue_mu_);
  bool closing_ ABSL_GUARDED_BY(queue_mu_) = false;
  // Queued plus in the running batch.
  int64_t unanswered_ ABSL_GUARDED_BY(queue_mu_) = 0;
  // Queued writes whose caller waits (all but WriteLater items).
  int64_t queued_awaited_ ABSL_GUARDED_BY(queue_mu_) = 0;

  mutable absl::Mutex stats_mu_;
  CommitStats stats_ ABSL_GUARDED_BY(stats_mu_);

  // Started last in the constructor, joined first in the destructor.
  std::thread writer_thread_;
};

}  // namespace onestop::storage

#endif  // ONESTOP_STORAGE_SQLITE_SQLITE_DOSSIER_STORE_H_
