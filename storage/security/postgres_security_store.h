// The PostgreSQL SecurityStore (issue #11): tokens and the append-only
// audit log in the province's PostgreSQL database, shared by every onestopd
// on it.
//
// Schema (component "security" in component_versions, version 1; the
// SQLite → PostgreSQL migration tool writes exactly these tables):
//   tokens(id PK, principal_id, principal BYTEA (onestop.v1.Principal),
//          label, hash BYTEA UNIQUE (SHA-256 of the secret), created_us,
//          expires_us, revoked_us NULL)
//   audit(sequence PK, time_us, principal_id, rpc, dossier_code,
//         agency_code, result_code, message), index (principal_id,
//         sequence), and triggers refusing UPDATE, DELETE and TRUNCATE
//         ("the audit log is append-only", SQLSTATE 23001)
//   onestop_audit_append(…): the function AppendAudit calls (below).
// Times are microseconds since the Unix epoch (UTC), as in SQLite.
// Text: TEXT holds valid UTF-8 without NUL and libpq cuts a text parameter
// at its first NUL, so audit fields are stored escaped and token labels and
// principal ids that are not storable are refused — exactly as the SQLite
// store does (storage/security/stored_text.h, security_store.h).
//
// Several daemons on one database:
// - Tokens: every call reads or writes the database (no cache), so a token
//   created through one daemon authenticates on every other at once and a
//   revocation through one is refused by all from the next call. Revoking
//   is one `UPDATE … SET revoked_us = COALESCE(revoked_us, now)`, so two
//   concurrent revocations keep the first time.
// - Audit sequences stay unique and gap-free (previous maximum + 1) with
//   concurrent appenders: each batch of appends (see AppendAudit) is ONE
//   statement calling `onestop_audit_append(…)` once per record, a
//   PL/pgSQL function that takes a transaction-level advisory lock
//   (pg_advisory_xact_lock, key kAuditLockKey; a second call in the same
//   transaction already holds it), then inserts MAX(sequence) + 1 — a fresh
//   READ COMMITTED snapshot taken after the lock, so it sees the previous
//   holder's row (a lock is released only after its commit is visible) and
//   the earlier calls of its own statement. A failed batch releases the
//   lock without a row, so the next takes the same number: no gap. Cost:
//   appends are serialised across all daemons, but the serialised part is
//   one index probe (MAX on the primary key) and one insert per record and
//   the commit, all inside the server, no client round trip while the lock
//   is held; and the commit does not wait for its WAL flush
//   (synchronous_commit = off for that transaction only), so the lock is
//   held for tens of microseconds per record (a full batch of 256: a few
//   milliseconds), never for an fsync. The durability is the
//   SQLite store's (SecurityDurability): an audit record is durable after
//   the WAL writer's next flush (wal_writer_delay, 200 ms by default) or
//   the next synchronous commit of anything on the server; a crash of the
//   PostgreSQL server can lose the newest records — a suffix, never a
//   record in the middle (WAL is replayed in order) — and a crash of a
//   daemon the records still in its queue (see AppendAudit). The dossier's own
//   history names the principal of every write regardless. Tokens commit
//   synchronously (the server's setting). An alternative, an `audit_head`
//   row updated in the same transaction, serialises the same way but adds
//   a table the migration tool would have to keep in step.
//   The sessions must run at READ COMMITTED (PostgreSQL's default; do not
//   set default_transaction_isolation to serializable for onestop's
//   role): under a transaction-wide snapshot MAX would be stale and an
//   append would fail with ALREADY_EXISTS instead of waiting.
// - Migrations are serialised across daemons by pg::MigrateComponent.
//
// Thread safety: thread-safe; each call borrows one connection from the
// store's pool for its duration, and the audit thread one per batch.
#ifndef ONESTOP_STORAGE_SECURITY_POSTGRES_SECURITY_STORE_H_
#define ONESTOP_STORAGE_SECURITY_POSTGRES_SECURITY_STORE_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "storage/security/security_store.h"

namespace onestop::storage {

namespace pg {
class ConnectionPool;
}

struct PostgresSecurityStoreOptions {
  std::string uri;  // postgresql://… (the daemon's --db)
  int pool_size = 4;
  // Per statement; 0 = none. A statement cancelled by it is UNAVAILABLE.
  absl::Duration statement_timeout = absl::Seconds(30);
  // How long a call waits for a free pooled connection (then UNAVAILABLE).
  absl::Duration acquire_timeout = absl::Seconds(10);
  // How long ListAudit waits for the records this store queued before it
  // (then UNAVAILABLE): see PostgresSecurityStore::ListAudit.
  absl::Duration audit_barrier_timeout = absl::Seconds(30);
};

// The advisory-lock key serialising audit appends (bigint key space;
// "OSAUDIT" in ASCII). Distinct from pg::MigrateComponent's key.
inline constexpr int64_t kAuditLockKey = 0x4f5341554449;

class PostgresSecurityStore final : public SecurityStore {
 public:
  // Connects (one connection at once, the rest of the pool on demand) and
  // brings the "security" tables to the latest version. INVALID_ARGUMENT
  // for an empty URI or pool size < 1; FAILED_PRECONDITION (server refuses
  // the credentials or database; a newer security schema) or UNAVAILABLE
  // (server unreachable), each naming the URI with its password redacted.
  static absl::StatusOr<std::unique_ptr<PostgresSecurityStore>> Open(
      const PostgresSecurityStoreOptions& options);

  ~PostgresSecurityStore() override;

  absl::StatusOr<CreatedToken> CreateToken(const NewToken& token) override;
  absl::StatusOr<SharedPrincipal> Authenticate(absl::string_view secret,
                                               absl::Time now) override;
  absl::StatusOr<std::vector<onestop::v1::TokenInfo>> ListTokens(
      const TokenQuery& query) override;
  absl::StatusOr<onestop::v1::TokenInfo> RevokeToken(const std::string& id,
                                                     absl::Time now) override;
  // Both append through the store's audit thread, which takes every record
  // queued so far (up to kMaxAuditBatch) and appends them in ONE statement —
  // one transaction, one advisory-lock hold, the records in call order — so
  // under load the appends of many calls share a round trip and a commit.
  // AppendAudit waits for its record's batch; AppendAuditLater returns at
  // once and `done` runs on the audit thread. A batch that fails fails each
  // of its records (nothing of it is stored) and every record queued by then.
  // Up to kMaxAuditQueue records wait; a call that finds the queue full waits
  // for room, and one made while the store closes gets UNAVAILABLE. A
  // daemon that dies loses its queued records (answered calls'; as on
  // SQLite, docs/SECURITY.md). ListAudit first waits (up to the options'
  // audit_barrier_timeout, then UNAVAILABLE) for the records this daemon
  // queued before it — another daemon's are listed once its thread has
  // appended them. Close (or the destructor) appends what is still queued.
  absl::StatusOr<int64_t> AppendAudit(const onestop::v1::AuditRecord& record) override;
  void AppendAuditLater(onestop::v1::AuditRecord record,
                        absl::AnyInvocable<void(absl::Status) &&> done) override;
  absl::StatusOr<AuditPage> ListAudit(const AuditQuery& query) override;

  // Most records one audit statement appends.
  static constexpr int kMaxAuditBatch = 256;
  // Most records queued: a call that finds the queue full waits for room.
  static constexpr size_t kMaxAuditQueue = 8192;

  // Stops taking audit records (appends from then on get UNAVAILABLE),
  // appends those still queued and returns when they are answered. The
  // other calls keep working. Idempotent; the destructor calls it.
  void Close();

 private:
  struct QueuedAudit {
    onestop::v1::AuditRecord record;
    // Gets the record's sequence, or the batch's error.
    absl::AnyInvocable<void(absl::StatusOr<int64_t>) &&> done;
  };

  PostgresSecurityStore(std::unique_ptr<pg::ConnectionPool> pool,
                        absl::Duration audit_barrier_timeout);

  // What ListAudit waits for: every record queued before it answered.
  struct AuditBarrier {
    PostgresSecurityStore* store;
    int64_t queued;
    static bool Reached(AuditBarrier* barrier) ABSL_NO_THREAD_SAFETY_ANALYSIS {
      return barrier->store->audit_answered_ >= barrier->queued;  // under audit_mu_
    }
  };

  void EnqueueAudit(QueuedAudit queued);
  bool HasAuditWorkOrClosing() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(audit_mu_) {
    return !audit_queue_.empty() || audit_closing_;
  }
  bool HasAuditRoomOrClosing() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(audit_mu_) {
    return audit_queue_.size() < kMaxAuditQueue || audit_closing_;
  }
  // The audit thread: appends batches until closing and drained.
  void AuditLoop();
  // Appends `batch` in one statement; the sequences in batch order.
  absl::StatusOr<std::vector<int64_t>> AppendBatch(const std::vector<QueuedAudit>& batch);

  std::unique_ptr<pg::ConnectionPool> pool_;
  const absl::Duration audit_barrier_timeout_;

  absl::Mutex audit_mu_;
  std::deque<QueuedAudit> audit_queue_ ABSL_GUARDED_BY(audit_mu_);
  // Records ever queued, and ever answered (appended or failed): ListAudit
  // waits until the second reaches the first's value at its start.
  int64_t audit_queued_ ABSL_GUARDED_BY(audit_mu_) = 0;
  int64_t audit_answered_ ABSL_GUARDED_BY(audit_mu_) = 0;
  bool audit_closing_ ABSL_GUARDED_BY(audit_mu_) = false;
  // Started last in the constructor, joined by Close.
  std::thread audit_thread_;
  absl::Mutex close_mu_;  // makes Close idempotent and safe from several threads
};

}  // namespace onestop::storage

#endif  // ONESTOP_STORAGE_SECURITY_POSTGRES_SECURITY_STORE_H_
