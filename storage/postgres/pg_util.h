// Thin RAII helpers over libpq, private to the PostgreSQL backends
// (storage/postgres/, storage/security, storage/blobs).
//
// Why libpq and not libpqxx: libpq is the protocol's reference client,
// shipped with PostgreSQL itself (Debian libpq-dev, same version as the
// server); we need only parameterised statements, prepared-statement
// caching, binary results and LISTEN/NOTIFY, which libpq gives directly.
// libpqxx would add exceptions (our code uses absl::Status throughout) and
// a second dependency to track for a wrapper of ~300 lines. See
// docs/SCALING.md.
//
// Conventions:
//   - Every statement is prepared once per connection (cached by its SQL
//     text) and run with parameters; nothing is ever spliced into SQL.
//   - Parameters: Text (UTF-8, text format), Int64 (binary int8), Bytes
//     (binary bytea), Null. The server infers each parameter's type from
//     the SQL, so an Int64 must meet a bigint there (`$1::bigint`, a
//     BIGINT column): binary int8 sent where int4 is inferred is refused. Results come back in binary format: Int64()
//     reads int2/int4/int8 columns (cast counts and sums to bigint in SQL:
//     `count(*)` is int8 already, `sum(bigint)` is numeric, so write
//     `sum(x)::bigint`), Bool() a boolean, Text()/Bytes() text or bytea.
//   - Errors map by SQLSTATE (PgError below) with a message naming the
//     operation and PostgreSQL's primary message, never SQL text.
//
// Thread safety: a Connection is used by one thread at a time (the pool
// lends each to one caller); ConnectionPool is thread-safe.
#ifndef ONESTOP_STORAGE_POSTGRES_PG_UTIL_H_
#define ONESTOP_STORAGE_POSTGRES_PG_UTIL_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "server/util/utf8.h"

struct pg_conn;
struct pg_result;

namespace onestop::storage::pg {

// True for "postgresql://…" and "postgres://…" (libpq connection URIs):
// the daemon's --db picks the PostgreSQL backend with them.
bool IsPostgresUri(absl::string_view db);

// The URI with any password replaced by "***", for logs and messages.
std::string RedactUri(absl::string_view uri);

// Maps a failed result's SQLSTATE to a Status naming `operation`:
//   40001 serialization failure, 40P01 deadlock, 55P03 lock not available,
//   57014 query cancelled (statement_timeout), 08xxx connection failures,
//   57P0x shutdown / cannot connect now, 53300 too many connections
//                                         → UNAVAILABLE (retry)
//   23505 unique violation               → ALREADY_EXISTS
//   23001 restrict violation (our append-only triggers)
//                                         → FAILED_PRECONDITION
//   23xxx other integrity violations (a foreign key, NOT NULL or CHECK of
//         our own schema failed: a broken invariant)
//                                         → INTERNAL
//   22xxx data exceptions (e.g. 22021 invalid UTF-8)
//                                         → INVALID_ARGUMENT
//   53100 disk full, 53200 out of memory, 53xxx
//                                         → RESOURCE_EXHAUSTED
//   XX001/XX002 data corrupted           → INTERNAL ("database corrupt")
//   anything else                         → INTERNAL
absl::Status PgError(absl::string_view sqlstate, absl::string_view primary_message,
                     absl::string_view operation);

// PostgreSQL TEXT holds valid UTF-8 without NUL, and libpq cuts a text
// parameter at its first NUL: text that fails IsStorableText must not be
// sent (server/util/utf8.h).
using ::onestop::CheckStorableText;
using ::onestop::IsStorableText;

// One statement parameter.
class Param {
 public:
  static Param Text(absl::string_view text) { return Param(Kind::kText, std::string(text)); }
  static Param Int64(int64_t value);
  static Param Bytes(absl::string_view bytes) { return Param(Kind::kBytes, std::string(bytes)); }
  static Param Null() { return Param(Kind::kNull, ""); }
  static Param Bool(bool value) { return Param(Kind::kBool, value ? "\x01" : std::string(1, '\0')); }
  // A text[] (for `= ANY($n::text[])`): one prepared statement for any
  // number of values. The values must be storable text (IsStorableText).
  static Param TextArray(const std::vector<std::string>& values);

 private:
  friend class Connection;
  enum class Kind { kText, kInt64, kBytes, kBool, kNull };
  Param(Kind kind, std::string value) : kind_(kind), value_(std::move(value)) {}
  Kind kind_;
  std::string value_;  // text, 8 big-endian bytes, raw bytes, 1 byte
};

// A query's result rows (binary format). Move-only.
class Result {
 public:
  explicit Result(pg_result* result) : result_(result) {}
  Result(Result&& other) noexcept;
  Result& operator=(Result&& other) noexcept;
  ~Result();
  Result(const Result&) = delete;
  Result& operator=(const Result&) = delete;

  int rows() const;
  bool IsNull(int row, int column) const;
  // The column's value; NULL reads as 0 / false / "".
  int64_t Int64(int row, int column) const;
  bool Bool(int row, int column) const;
  // A view into the result, valid while it lives (text or bytea columns).
  absl::string_view Bytes(int row, int column) const;
  std::string Text(int row, int column) const { return std::string(Bytes(row, column)); }
  // The number of rows a command changed (UPDATE/DELETE/INSERT).
  int64_t affected_rows() const;

 private:
  pg_result* result_;
};

// One open connection with its prepared-statement cache. Not thread-safe.
class Connection {
 public:
  // Connects to `uri` (a libpq URI or key=value string) and sets the
  // session: UTF-8 client encoding, UTC time zone, and the given
  // statement_timeout (0 = none). FAILED_PRECONDITION naming the redacted
  // URI and libpq's message when the server refuses (bad credentials,
  // unknown database); UNAVAILABLE when it cannot be reached.
  static absl::StatusOr<std::unique_ptr<Connection>> Open(
      const std::string& uri, absl::Duration statement_timeout = absl::ZeroDuration());
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs one statement (prepared on first use) with `params` and returns its
  // rows (empty for commands).
  absl::StatusOr<Result> Exec(const std::string& sql, absl::Span<const Param> params,
                              absl::string_view operation);
  absl::StatusOr<Result> Exec(const std::string& sql, std::initializer_list<Param> params,
                              absl::string_view operation) {
    return Exec(sql, absl::Span<const Param>(params.begin(), params.size()), operation);
  }
  // Runs one or more statements without parameters or results (BEGIN,
  // COMMIT, DDL scripts), with the simple query protocol.
  absl::Status ExecScript(const char* sql, absl::string_view operation);

  // Single-row, single-column helpers (0 rows is INTERNAL).
  absl::StatusOr<int64_t> QueryInt64(const std::string& sql, absl::Span<const Param> params,
                                     absl::string_view operation);

  // ROLLBACK if a transaction is open or failed; errors ignored (used on
  // every failure path; a broken connection is discarded by the pool).
  void RollbackQuietly();

  // False once the connection is broken (the pool discards it).
  bool healthy() const;
  // True while a transaction block is open (or failed and not rolled back).
  bool in_transaction() const;

  // False if the server sent anything while the connection sat idle (the
  // FATAL of a restart or a terminated session) or the connection is
  // broken: the pool checks an idle connection with it before lending it.
  bool CheckIdle();

  // For LISTEN/NOTIFY (PgFeedListener): the socket and the raw handle.
  int socket() const;
  pg_conn* raw() { return conn_; }

 private:
  explicit Connection(pg_conn* conn) : conn_(conn) {}
  // The failed result's (or, without one, the connection's) error.
  absl::Status ErrorOf(pg_result* result, absl::string_view operation);

  pg_conn* conn_;
  absl::flat_hash_map<std::string, std::string> prepared_;  // sql → name
};

// A fixed-size pool of connections to one database, opened lazily and
// replaced when broken. Thread-safe.
class ConnectionPool {
 public:
  struct Options {
    std::string uri;
    int size = 8;  // ≥ 1
    absl::Duration statement_timeout = absl::ZeroDuration();
    // How long Acquire waits for a free connection before UNAVAILABLE.
    absl::Duration acquire_timeout = absl::Seconds(10);
  };

  // Opens one connection at once to verify the URI (its errors as
  // Connection::Open); the others open on demand.
  static absl::StatusOr<std::unique_ptr<ConnectionPool>> Open(const Options& options);
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  // A connection lent to one caller; returned to the pool (or discarded if
  // broken, or left inside a transaction) on destruction.
  class Lease {
   public:
    Lease(ConnectionPool* pool, std::unique_ptr<Connection> connection)
        : pool_(pool), connection_(std::move(connection)) {}
    Lease(Lease&&) = default;
    ~Lease();
    Connection& operator*() { return *connection_; }
    Connection* operator->() { return connection_.get(); }

   private:
    ConnectionPool* pool_;
    std::unique_ptr<Connection> connection_;
  };

  // Waits for a free connection (opening a new one if the pool is below
  // size). UNAVAILABLE after acquire_timeout or if the server is
  // unreachable.
  absl::StatusOr<Lease> Acquire();

  const std::string& uri() const { return options_.uri; }
  int size() const { return options_.size; }

 private:
  explicit ConnectionPool(Options options) : options_(std::move(options)) {}
  void Return(std::unique_ptr<Connection> connection);
  bool CanTake() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return !idle_.empty() || open_ < options_.size;
  }

  const Options options_;
  absl::Mutex mu_;
  std::vector<std::unique_ptr<Connection>> idle_ ABSL_GUARDED_BY(mu_);
  int open_ ABSL_GUARDED_BY(mu_) = 0;  // idle + lent
};

// One schema version of a component: the SQL that brings it there.
struct PgMigration {
  int version;
  const char* sql;
};

// Opens a pool on `options` and migrates `component` with its first
// connection: the start of every PostgreSQL store. Errors name the
// redacted URI.
absl::StatusOr<std::unique_ptr<ConnectionPool>> OpenMigratedPool(
    const ConnectionPool::Options& options, absl::string_view component,
    absl::Span<const PgMigration> migrations);

// Runs `body(connection)` inside BEGIN … COMMIT on `connection`, rolling
// back on any failure. If the transaction fails with a transient error
// (serialization failure, deadlock: UNAVAILABLE from PgError with SQLSTATE
// 40001/40P01) it is retried up to `attempts` times in all. A failed
// COMMIT whose outcome is unknown (the connection broke) is UNAVAILABLE:
// the caller retries with its request_id.
template <typename Body>
absl::Status InTransaction(Connection& connection, absl::string_view what, Body body,
                           int attempts = 3);

// Creates the `component_versions` table if needed and applies the
// component's migrations above its recorded version, each in the caller's
// transaction. Serialised across daemons with a transaction-level advisory
// lock, so several daemons starting together migrate once.
absl::Status MigrateComponent(Connection& connection, absl::string_view component,
                              absl::Span<const PgMigration> migrations);

// Microseconds since the Unix epoch, as stored in *_us columns.
int64_t ToMicros(absl::Time time);
absl::Time FromMicros(int64_t micros);

// ---------------------------------------------------------------------------

namespace internal {
bool IsRetryable(const absl::Status& status);
}  // namespace internal

template <typename Body>
absl::Status InTransaction(Connection& connection, absl::string_view what, Body body,
                           int attempts) {
  absl::Status status;
  for (int attempt = 0; attempt < attempts; ++attempt) {
    status = connection.ExecScript("BEGIN", what);
    if (status.ok()) status = body(connection);
    if (status.ok()) status = connection.ExecScript("COMMIT", what);
    if (status.ok()) return status;
    connection.RollbackQuietly();
    if (!connection.healthy() || !internal::IsRetryable(status)) return status;
  }
  return status;
}

}  // namespace onestop::storage::pg

#endif  // ONESTOP_STORAGE_POSTGRES_PG_UTIL_H_
