#include "storage/postgres/pg_util.h"

#include <libpq-fe.h>
#include <poll.h>

#include <cstring>
#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/strings/cord.h"
#include "server/util/status_macros.h"

namespace onestop::storage::pg {
namespace {

// The payload carrying a failure's SQLSTATE (for InTransaction's retry).
constexpr char kSqlstatePayload[] = "onestop.storage.pg/sqlstate";

absl::string_view Trimmed(const char* text) {
  if (text == nullptr) return "";
  return absl::StripTrailingAsciiWhitespace(text);
}

uint64_t ReadBigEndian(const char* data, int length) {
  uint64_t value = 0;
  for (int i = 0; i < length; ++i) value = (value << 8) | static_cast<unsigned char>(data[i]);
  return value;
}

}  // namespace

bool IsPostgresUri(absl::string_view db) {
  return absl::StartsWith(db, "postgresql://") || absl::StartsWith(db, "postgres://");
}

std::string RedactUri(absl::string_view uri) {
  // scheme://user:password@host… → scheme://user:***@host…
  const size_t scheme_end = uri.find("://");
  if (scheme_end == absl::string_view::npos) return std::string(uri);
  const size_t authority = scheme_end + 3;
  const size_t at = uri.find('@', authority);
  const size_t slash = uri.find('/', authority);
  if (at == absl::string_view::npos || (slash != absl::string_view::npos && slash < at)) {
    return std::string(uri);
  }
  const size_t colon = uri.find(':', authority);
  if (colon == absl::string_view::npos || colon > at) return std::string(uri);
  return absl::StrCat(uri.substr(0, colon + 1), "***", uri.substr(at));
}

absl::Status PgError(absl::string_view sqlstate, absl::string_view primary_message,
                     absl::string_view operation) {
  absl::Status status;
  const std::string detail = absl::StrCat("PostgreSQL ", sqlstate, ": ", primary_message);
  if (sqlstate == "40001" || sqlstate == "40P01" || sqlstate == "55P03" || sqlstate == "57014") {
    status = absl::UnavailableError(absl::StrCat(
        "database is busy during ", operation, "; nothing was changed: retry (", detail, ")"));
  } else if (absl::StartsWith(sqlstate, "08") || absl::StartsWith(sqlstate, "57P") ||
             sqlstate == "53300") {
    status = absl::UnavailableError(absl::StrCat(
        "the database could not be reached during ", operation,
        "; retry shortly with the same request_id (", detail, ")"));
  } else if (sqlstate == "23505") {
    status = absl::AlreadyExistsError(
        absl::StrCat("duplicate key during ", operation, " (", detail, ")"));
  } else if (sqlstate == "23001") {
    status = absl::FailedPreconditionError(
        absl::StrCat("refused during ", operation, " (", detail, ")"));
  } else if (absl::StartsWith(sqlstate, "23")) {
    // A foreign key, NOT NULL or CHECK of our own schema: our bug, not the
    // caller's state.
    status = absl::InternalError(
        absl::StrCat("broken storage invariant during ", operation, " (", detail, ")"));
  } else if (absl::StartsWith(sqlstate, "22")) {
    status = absl::InvalidArgumentError(
        absl::StrCat("invalid data during ", operation, " (", detail, ")"));
  } else if (absl::StartsWith(sqlstate, "53")) {
    status = absl::ResourceExhaustedError(absl::StrCat(
        "the database server is out of resources (disk full?) during ", operation, " (",
        detail, ")"));
  } else if (sqlstate == "XX001" || sqlstate == "XX002") {
    status = absl::InternalError(
        absl::StrCat("database corrupt: ", operation, " failed (", detail, ")"));
  } else {
    status = absl::InternalError(
        absl::StrCat("storage failure during ", operation, " (", detail, ")"));
  }
  status.SetPayload(kSqlstatePayload, absl::Cord(sqlstate));
  return status;
}

namespace internal {
bool IsRetryable(const absl::Status& status) {
  const auto sqlstate = status.GetPayload(kSqlstatePayload);
  return sqlstate.has_value() && (*sqlstate == "40001" || *sqlstate == "40P01");
}
}  // namespace internal

Param Param::TextArray(const std::vector<std::string>& values) {
  // The array literal {"a","b"}, each element quoted with \ and " escaped.
  std::string literal = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) literal += ',';
    literal += '"';
    for (const char c : values[i]) {
      if (c == '"' || c == '\\') literal += '\\';
      literal += c;
    }
    literal += '"';
  }
  literal += '}';
  return Param(Kind::kText, std::move(literal));
}

Param Param::Int64(int64_t value) {
  std::string bytes(8, '\0');
  uint64_t v = static_cast<uint64_t>(value);
  for (int i = 7; i >= 0; --i) {
    bytes[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  return Param(Kind::kInt64, std::move(bytes));
}

Result::Result(Result&& other) noexcept : result_(std::exchange(other.result_, nullptr)) {}

Result& Result::operator=(Result&& other) noexcept {
  if (this != &other) {
    if (result_ != nullptr) PQclear(result_);
    result_ = std::exchange(other.result_, nullptr);
  }
  return *this;
}

Result::~Result() {
  if (result_ != nullptr) PQclear(result_);
}

int Result::rows() const { return result_ == nullptr ? 0 : PQntuples(result_); }

bool Result::IsNull(int row, int column) const {
  return PQgetisnull(result_, row, column) != 0;
}

int64_t Result::Int64(int row, int column) const {
  if (IsNull(row, column)) return 0;
  const int length = PQgetlength(result_, row, column);
  const char* data = PQgetvalue(result_, row, column);
  const uint64_t raw = ReadBigEndian(data, length);
  switch (length) {
    case 2:
      return static_cast<int16_t>(raw);
    case 4:
      return static_cast<int32_t>(raw);
    default:
      return static_cast<int64_t>(raw);
  }
}

bool Result::Bool(int row, int column) const {
  if (IsNull(row, column)) return false;
  return PQgetvalue(result_, row, column)[0] != 0;
}

absl::string_view Result::Bytes(int row, int column) const {
  if (IsNull(row, column)) return "";
  return absl::string_view(PQgetvalue(result_, row, column),
                           static_cast<size_t>(PQgetlength(result_, row, column)));
}

int64_t Result::affected_rows() const {
  if (result_ == nullptr) return 0;
  const char* tuples = PQcmdTuples(result_);
  if (tuples == nullptr || *tuples == '\0') return 0;
  return std::strtoll(tuples, nullptr, 10);
}

absl::StatusOr<std::unique_ptr<Connection>> Connection::Open(const std::string& uri,
                                                             absl::Duration statement_timeout) {
  // A default connect_timeout first, so that a URI's own value (expanded
  // from dbname afterwards) wins: an unreachable host that drops packets
  // must not block a pool or the feed listener for the TCP timeout.
  // TCP keepalives and a user timeout: a daemon must notice a peer that
  // vanished without a FIN (a cut network), above all the feed listener,
  // which otherwise waits in poll() forever.
  const char* const keywords[] = {"connect_timeout", "keepalives",      "keepalives_idle",
                                  "keepalives_interval", "keepalives_count",
                                  "tcp_user_timeout", "dbname",         nullptr};
  const char* const values[] = {"10", "1", "30", "10", "3", "60000", uri.c_str(), nullptr};
  pg_conn* conn = PQconnectdbParams(keywords, values, /*expand_dbname=*/1);
  if (conn == nullptr) {
    return absl::ResourceExhaustedError("out of memory opening a PostgreSQL connection");
  }
  if (PQstatus(conn) != CONNECTION_OK) {
    const std::string message(Trimmed(PQerrorMessage(conn)));
    // Refused for a reason the operator must fix (credentials, pg_hba.conf,
    // an unknown database or role): FAILED_PRECONDITION. Anything else —
    // refused or reset connections, timeouts, a server starting or
    // stopping — is transient: UNAVAILABLE.
    const bool refused = PQconnectionNeedsPassword(conn) != 0 ||
                         absl::StrContains(message, "authentication failed") ||
                         absl::StrContains(message, "pg_hba.conf") ||
                         absl::StrContains(message, "does not exist") ||
                         absl::StrContains(message, "permission denied") ||
                         absl::StrContains(message, "invalid connection option") ||
                         absl::StrContains(message, "invalid URI") ||
                         absl::StrContains(message, "missing \"=\"");
    PQfinish(conn);
    const std::string text = absl::StrCat("cannot connect to PostgreSQL at ", RedactUri(uri),
                                          ": ", message);
    return refused ? absl::FailedPreconditionError(text) : absl::UnavailableError(text);
  }
  std::unique_ptr<Connection> connection(new Connection(conn));
  const int64_t timeout_ms = absl::ToInt64Milliseconds(statement_timeout);
  const std::string setup = absl::StrCat(
      "SET client_encoding = 'UTF8'; SET TIME ZONE 'UTC'; SET statement_timeout = ", timeout_ms,
      "; SET client_min_messages = 'warning'",
      // A daemon that dies (or is cut off) inside a transaction must not keep
      // its row locks — the feed head, a desk's code counter — for the
      // 2 hours of default TCP keepalive: the server ends such a session
      // after 15 s. Our transactions never wait between statements.
      "; SET idle_in_transaction_session_timeout = '15s'",
      "; SET tcp_keepalives_idle = 30; SET tcp_keepalives_interval = 10",
      "; SET tcp_keepalives_count = 3");
  ONESTOP_RETURN_IF_ERROR(connection->ExecScript(setup.c_str(), "setting up the session"));
  return connection;
}

Connection::~Connection() { PQfinish(conn_); }

absl::Status Connection::ErrorOf(pg_result* result, absl::string_view operation) {
  if (result == nullptr || PQstatus(conn_) == CONNECTION_BAD) {
    const std::string message(Trimmed(PQerrorMessage(conn_)));
    return PgError("08006", message.empty() ? "connection lost" : message, operation);
  }
  const char* sqlstate = PQresultErrorField(result, PG_DIAG_SQLSTATE);
  const char* primary = PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
  return PgError(sqlstate == nullptr ? "XX000" : sqlstate, Trimmed(primary), operation);
}

absl::StatusOr<Result> Connection::Exec(const std::string& sql, absl::Span<const Param> params,
                                        absl::string_view operation) {
  auto cached = prepared_.find(sql);
  if (cached == prepared_.end()) {
    const std::string name = absl::StrCat("s", prepared_.size() + 1);
    pg_result* raw = PQprepare(conn_, name.c_str(), sql.c_str(), 0, nullptr);
    if (raw == nullptr || PQresultStatus(raw) != PGRES_COMMAND_OK) {
      absl::Status status = ErrorOf(raw, operation);
      if (raw != nullptr) PQclear(raw);
      return status;
    }
    PQclear(raw);
    cached = prepared_.emplace(sql, name).first;
  }
  std::vector<const char*> values(params.size());
  std::vector<int> lengths(params.size());
  std::vector<int> formats(params.size());
  for (size_t i = 0; i < params.size(); ++i) {
    const Param& p = params[i];
    if (p.kind_ == Param::Kind::kNull) {
      values[i] = nullptr;
      continue;
    }
    values[i] = p.value_.data();
    lengths[i] = static_cast<int>(p.value_.size());
    formats[i] = p.kind_ == Param::Kind::kText ? 0 : 1;
  }
  pg_result* raw = PQexecPrepared(conn_, cached->second.c_str(), static_cast<int>(params.size()),
                                  values.data(), lengths.data(), formats.data(),
                                  /*resultFormat=*/1);
  const ExecStatusType status = raw == nullptr ? PGRES_FATAL_ERROR : PQresultStatus(raw);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    absl::Status error = ErrorOf(raw, operation);
    if (raw != nullptr) PQclear(raw);
    return error;
  }
  return Result(raw);
}

absl::Status Connection::ExecScript(const char* sql, absl::string_view operation) {
  pg_result* raw = PQexec(conn_, sql);
  const ExecStatusType status = raw == nullptr ? PGRES_FATAL_ERROR : PQresultStatus(raw);
  absl::Status result = absl::OkStatus();
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) result = ErrorOf(raw, operation);
  if (raw != nullptr) PQclear(raw);
  return result;
}

absl::StatusOr<int64_t> Connection::QueryInt64(const std::string& sql,
                                               absl::Span<const Param> params,
                                               absl::string_view operation) {
  ONESTOP_ASSIGN_OR_RETURN(Result result, Exec(sql, params, operation));
  if (result.rows() != 1) {
    return absl::InternalError(absl::StrCat("storage failure during ", operation,
                                            " (expected one row, got ", result.rows(), ")"));
  }
  return result.Int64(0, 0);
}

void Connection::RollbackQuietly() {
  if (PQstatus(conn_) != CONNECTION_OK) return;
  if (PQtransactionStatus(conn_) == PQTRANS_IDLE) return;
  pg_result* raw = PQexec(conn_, "ROLLBACK");
  if (raw != nullptr) PQclear(raw);
}

bool Connection::healthy() const { return PQstatus(conn_) == CONNECTION_OK; }

bool Connection::CheckIdle() {
  // An idle connection is sent nothing unasked (we LISTEN only on the feed
  // listener's own connection). Anything readable is the server ending the
  // session — a FATAL after a restart or pg_terminate_backend, then EOF,
  // which may still be on its way — so the connection is not lent again.
  pollfd readable{PQsocket(conn_), POLLIN, 0};
  if (::poll(&readable, 1, 0) != 0) return false;
  return healthy();
}

bool Connection::in_transaction() const {
  const PGTransactionStatusType status = PQtransactionStatus(conn_);
  return status == PQTRANS_INTRANS || status == PQTRANS_INERROR || status == PQTRANS_ACTIVE;
}

int Connection::socket() const { return PQsocket(conn_); }

absl::StatusOr<std::unique_ptr<ConnectionPool>> ConnectionPool::Open(const Options& options) {
  if (options.size < 1) {
    return absl::InvalidArgumentError("the PostgreSQL connection pool needs at least 1 connection");
  }
  std::unique_ptr<ConnectionPool> pool(new ConnectionPool(options));
  ONESTOP_ASSIGN_OR_RETURN(std::unique_ptr<Connection> first,
                           Connection::Open(options.uri, options.statement_timeout));
  absl::MutexLock lock(&pool->mu_);
  pool->idle_.push_back(std::move(first));
  pool->open_ = 1;
  return pool;
}

ConnectionPool::Lease::~Lease() {
  if (pool_ != nullptr && connection_ != nullptr) pool_->Return(std::move(connection_));
}

absl::StatusOr<ConnectionPool::Lease> ConnectionPool::Acquire() {
  {
    absl::MutexLock lock(&mu_);
    if (!mu_.AwaitWithTimeout(absl::Condition(this, &ConnectionPool::CanTake),
                              options_.acquire_timeout)) {
      return absl::UnavailableError(absl::StrCat(
          "all ", options_.size, " PostgreSQL connections are busy; retry shortly"));
    }
    while (!idle_.empty()) {
      std::unique_ptr<Connection> connection = std::move(idle_.back());
      idle_.pop_back();
      // A connection the server closed while it sat idle (a restart, a
      // failover) is dropped here rather than failing a caller's request.
      if (connection->CheckIdle()) return Lease(this, std::move(connection));
      --open_;
    }
    ++open_;  // reserve the slot, connect outside the lock
  }
  absl::StatusOr<std::unique_ptr<Connection>> connection =
      Connection::Open(options_.uri, options_.statement_timeout);
  if (!connection.ok()) {
    absl::MutexLock lock(&mu_);
    --open_;
    return connection.status();
  }
  return Lease(this, *std::move(connection));
}

void ConnectionPool::Return(std::unique_ptr<Connection> connection) {
  if (connection->healthy() && connection->in_transaction()) connection->RollbackQuietly();
  absl::MutexLock lock(&mu_);
  if (!connection->healthy() || connection->in_transaction()) {
    --open_;  // discarded; a later Acquire opens a fresh one
    return;
  }
  idle_.push_back(std::move(connection));
}

absl::Status MigrateComponent(Connection& connection, absl::string_view component,
                              absl::Span<const PgMigration> migrations) {
  const std::string what = absl::StrCat("migrating the ", component, " schema");
  return InTransaction(connection, what, [&](Connection& c) -> absl::Status {
    // One migrator at a time across daemons (released at COMMIT/ROLLBACK).
    ONESTOP_RETURN_IF_ERROR(
        c.Exec("SELECT pg_advisory_xact_lock(1330529619)", {}, what).status());
    ONESTOP_RETURN_IF_ERROR(c.ExecScript(
        "CREATE TABLE IF NOT EXISTS component_versions ("
        "component TEXT PRIMARY KEY, version BIGINT NOT NULL)",
        what));
    ONESTOP_ASSIGN_OR_RETURN(
        Result read, c.Exec("SELECT version FROM component_versions WHERE component = $1",
                            {Param::Text(component)}, what));
    const int64_t version = read.rows() == 0 ? 0 : read.Int64(0, 0);
    const int latest = migrations.empty() ? 0 : migrations.back().version;
    if (version > latest) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the PostgreSQL database has ", component, " schema version ", version,
          ", newer than this onestopd supports (", latest,
          "); upgrade onestopd (every daemon on this database must run the same version)"));
    }
    for (const PgMigration& migration : migrations) {
      if (migration.version <= version) continue;
      ONESTOP_RETURN_IF_ERROR(c.ExecScript(
          migration.sql, absl::StrCat(what, " to version ", migration.version)));
    }
    if (version == latest) return absl::OkStatus();
    return c.Exec("INSERT INTO component_versions (component, version) VALUES ($1, $2) "
                  "ON CONFLICT (component) DO UPDATE SET version = excluded.version",
                  {Param::Text(component), Param::Int64(latest)}, what)
        .status();
  });
}

absl::StatusOr<std::unique_ptr<ConnectionPool>> OpenMigratedPool(
    const ConnectionPool::Options& options, absl::string_view component,
    absl::Span<const PgMigration> migrations) {
  if (options.uri.empty()) return absl::InvalidArgumentError("a PostgreSQL URI is required");
  ONESTOP_ASSIGN_OR_RETURN(std::unique_ptr<ConnectionPool> pool, ConnectionPool::Open(options));
  ONESTOP_ASSIGN_OR_RETURN(ConnectionPool::Lease lease, pool->Acquire());
  if (absl::Status status = MigrateComponent(*lease, component, migrations); !status.ok()) {
    return absl::Status(status.code(), absl::StrCat("PostgreSQL at ", RedactUri(options.uri),
                                                    ": ", status.message()));
  }
  return pool;
}

int64_t ToMicros(absl::Time time) { return absl::ToUnixMicros(time); }
absl::Time FromMicros(int64_t micros) { return absl::FromUnixMicros(micros); }

}  // namespace onestop::storage::pg
