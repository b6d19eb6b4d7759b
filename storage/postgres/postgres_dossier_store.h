// PostgresDossierStore: the DossierStore on PostgreSQL 15 (issue #11), for a
// province running several onestopd processes on one database.
//
// Schema: component "dossiers" in `component_versions` (version
// kSchemaVersion, applied by pg::MigrateComponent), the same tables as
// SQLite's (dossiers, history keyed by dossier_code, events, code_sequences,
// requests, report_counters with real shards) plus `feed_head`, the one-row
// table holding the last issued revision. The tables and columns are a
// contract with the SQLite→PostgreSQL migration tool. Bodies are serialized
// onestop.v1 messages as in SQLite; times are microseconds since the epoch.
//
// Writes. Every Create/Update is one READ COMMITTED transaction on a pooled
// connection. Row locks are always taken in the same order, so concurrent
// writers (threads or daemons) cannot deadlock:
//   1. Create: the prefix's code_sequences row (INSERT … ON CONFLICT DO
//      UPDATE … RETURNING last: gap-free, since a rolled-back transaction
//      releases its number). Update: the dossier row (UPDATE … WHERE code
//      AND etag; 0 rows → NOT_FOUND or ABORTED: of two updates with one
//      etag, the second re-checks the etag after the first commits).
//   2. The idempotency record (a unique violation → ALREADY_EXISTS). A
//      lock-free look-up before step 1 makes the retry of a committed write
//      ALREADY_EXISTS rather than ABORTED for its stale etag, as in SQLite.
//   3. The counter rows, sorted by (series, grain, bucket), in the
//      connection's shard: shard = (a per-store random offset + the
//      connection's slot) mod counter_shards, so concurrent writers rarely
//      share a row. SumCounters adds the shards up.
//   4. LAST, just before COMMIT: feed_head (UPDATE … SET last_revision =
//      last_revision + 1 RETURNING it), the event with that revision, and
//      pg_notify('onestop_feed', revision).
//
// The feed: serialised appends (docs/FEED.md, the outbox ordering trap).
// Revisions are taken from feed_head's row, whose lock is held until
// COMMIT, so the transaction with revision N commits (and is visible)
// before the one with N+1 can even obtain its number: revision order is
// commit order, and a reader that sees N+1 always sees N. ReadEvents needs
// no watermark. The cost: commits pass one at a time through that row (a
// write's final step — two statements and its COMMIT — is serial, so the
// write rate is bounded by 1 / commit latency); everything before it runs
// in parallel. PostgreSQL serialises the commits of NOTIFYing transactions
// anyway (a database-wide lock from pre-commit to the end of commit keeps
// its notification queue in commit order), so the row adds little. A
// watermark scheme would lift the bound at the price of a delayed, more
// complex feed (docs/SCALING.md).
//
// Reads run on pool connections outside explicit transactions (one
// statement, one snapshot: Get reads the dossier and its history in one
// statement), except CountDossiers and SumCounters, which run in a
// REPEATABLE READ READ ONLY transaction (one snapshot for several
// statements).
//
// Errors, besides those of DossierStore (pg::PgError maps SQLSTATEs):
//   INVALID_ARGUMENT  text that PostgreSQL cannot store — invalid UTF-8 or a
//                     NUL byte — in a code, prefix, agency or procedure code,
//                     request_id or counter series (checked before writing)
//   UNAVAILABLE       the server is unreachable, the pool is exhausted, a
//                     statement timed out, or the connection broke during
//                     COMMIT (outcome unknown: retry with the request_id)
//   RESOURCE_EXHAUSTED the server is out of disk or memory
//
// Thread safety: all methods are thread-safe; each call borrows one pooled
// connection. Calls block on network I/O: keep them off gRPC reactors.
#ifndef ONESTOP_STORAGE_POSTGRES_POSTGRES_DOSSIER_STORE_H_
#define ONESTOP_STORAGE_POSTGRES_POSTGRES_DOSSIER_STORE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "onestop/v1/dossier.pb.h"
#include "storage/dossier_store.h"
#include "storage/postgres/pg_util.h"

namespace onestop::storage {

struct PostgresOptions {
  // A libpq URI ("postgresql://user@host:5432/onestop") or key=value string.
  // Required.
  std::string uri = "";
  // Pooled connections, ≥ 1: the most calls that run at once.
  int pool_size = 16;
  // Longest a statement may run (including lock waits) before it fails
  // with UNAVAILABLE; zero = no limit.
  absl::Duration statement_timeout = absl::Seconds(30);
  // Counter shards per counter row, ≥ 1. Reads sum every shard present, so
  // daemons on one database may use different values and it may change
  // between restarts; more shards spread concurrent writers further.
  int counter_shards = 16;
};

class PostgresDossierStore final : public DossierStore {
 public:
  // The "dossiers" component's schema version this build writes.
  static constexpr int kSchemaVersion = 1;
  // The NOTIFY channel carrying each committed revision (as text).
  static constexpr char kFeedChannel[] = "onestop_feed";
  // Events deleted per statement by CompactEvents.
  static constexpr int64_t kCompactionChunk = 10000;

  // Connects (one connection at once; the rest on demand) and migrates the
  // schema to kSchemaVersion (several daemons starting together migrate
  // once). Errors name the redacted URI:
  //   INVALID_ARGUMENT    empty uri, pool_size or counter_shards below 1
  //   FAILED_PRECONDITION the server refuses (credentials, unknown
  //                       database), or the schema is newer than this build
  //   UNAVAILABLE         the server cannot be reached
  static absl::StatusOr<std::unique_ptr<PostgresDossierStore>> Open(const PostgresOptions& options);

  ~PostgresDossierStore() override = default;
  PostgresDossierStore(const PostgresDossierStore&) = delete;
  PostgresDossierStore& operator=(const PostgresDossierStore&) = delete;

  absl::StatusOr<onestop::v1::Dossier> Create(const CreateDossierWrite& write) override;
  absl::StatusOr<onestop::v1::Dossier> Update(const UpdateDossierWrite& write) override;
  // NOT_FOUND also for a code that cannot be stored (invalid UTF-8, NUL).
  absl::StatusOr<onestop::v1::Dossier> Get(const std::string& code) override;
  absl::StatusOr<DossierPage> List(const DossierQuery& query) override;
  absl::StatusOr<std::optional<RecordedRequest>> FindRequest(
      const std::string& request_id) override;
  absl::StatusOr<std::vector<onestop::v1::DossierEvent>> ReadEvents(int64_t after_revision,
                                                                    int limit) override;
  // feed_head.last_revision.
  absl::StatusOr<int64_t> LastRevision() override;
  absl::StatusOr<int64_t> FirstRevision() override;
  // One autocommit DELETE per kCompactionChunk events: writers never wait
  // for it (it touches neither feed_head nor the newest event).
  absl::StatusOr<int64_t> CompactEvents(int64_t before_revision) override;
  absl::StatusOr<std::vector<CounterSums>> SumCounters(const CounterQuery& query) override;
  // One READ COMMITTED transaction for the whole vector, in the writers'
  // lock order: the code_sequences rows (raised to the records' numbers,
  // sorted by prefix), each record's dossier row (INSERT … ON CONFLICT
  // (code) DO NOTHING: a record whose code exists writes nothing and is
  // compared with the stored one) and its history, the merged counter rows
  // (sorted, this connection's shard), and LAST feed_head, raised once by
  // the number of imported records, their events and one pg_notify. Two
  // imports racing on the same codes in different orders may deadlock;
  // PostgreSQL aborts one and the transaction is retried (pg::InTransaction).
  absl::StatusOr<std::vector<absl::Status>> ImportDossiers(
      std::vector<ImportDossierWrite> writes) override;
  absl::StatusOr<DossierCounts> CountDossiers(const CountQuery& query) override;

 private:
  PostgresDossierStore(std::unique_ptr<pg::ConnectionPool> pool, int counter_shards,
                       int shard_offset);

  // The counter shard of writes on `connection`: (offset + its slot) mod
  // shards, slots numbered in order of first use.
  int ShardOf(const pg::Connection* connection);

  const std::unique_ptr<pg::ConnectionPool> pool_;
  const int counter_shards_;
  const int shard_offset_;
  absl::Mutex slots_mu_;
  absl::flat_hash_map<const pg::Connection*, int> slots_ ABSL_GUARDED_BY(slots_mu_);
};

}  // namespace onestop::storage

#endif  // ONESTOP_STORAGE_POSTGRES_POSTGRES_DOSSIER_STORE_H_
