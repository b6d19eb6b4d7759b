#include "storage/sqlite/sqlite_util.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace onestop::storage::sqlite_internal {

absl::Status SqliteError(int rc, absl::string_view operation) {
  const char* text = sqlite3_errstr(rc);
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return absl::UnavailableError(
          absl::StrCat("database is busy during ", operation, "; retry (", text, ")"));
    case SQLITE_FULL:
      return absl::ResourceExhaustedError(
          absl::StrCat("disk full during ", operation, " (", text, ")"));
    case SQLITE_IOERR:
      // The transaction did not commit (SQLite rolls it back); the disk may
      // recover (a transient NFS or controller error): the client retries
      // with its request_id, as for busy (issue #9: UNAVAILABLE).
      return absl::UnavailableError(absl::StrCat(
          "the database could not be read or written during ", operation,
          " (disk I/O error); nothing was changed: retry shortly, and if it persists the "
          "operator should check the disk (", text, ")"));
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return absl::InternalError(
          absl::StrCat("database corrupt: ", operation, " failed (", text, ")"));
    default:
      return absl::InternalError(absl::StrCat("storage failure during ", operation,
                                              " (SQLite code ", rc, ": ", text, ")"));
  }
}

Statement::Statement(Statement&& other) noexcept
    : stmt_(std::exchange(other.stmt_, nullptr)), bind_rc_(other.bind_rc_) {}

Statement::~Statement() {
  if (stmt_ == nullptr) return;
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

void Statement::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  bind_rc_ = SQLITE_OK;
}

void Statement::NoteBind(int rc) {
  if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
}

void Statement::BindInt64(int index, int64_t value) {
  NoteBind(sqlite3_bind_int64(stmt_, index, value));
}

void Statement::BindOptionalInt64(int index, std::optional<int64_t> value) {
  NoteBind(value.has_value() ? sqlite3_bind_int64(stmt_, index, *value)
                             : sqlite3_bind_null(stmt_, index));
}

void Statement::BindText(int index, absl::string_view value) {
  NoteBind(
      sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
}

void Statement::BindTextOrNull(int index, absl::string_view value) {
  if (value.empty()) {
    NoteBind(sqlite3_bind_null(stmt_, index));
  } else {
    BindText(index, value);
  }
}

void Statement::BindBlob(int index, absl::string_view value) {
  // A zero-length blob must still be a BLOB, not NULL: pass a non-null
  // pointer.
  static constexpr char kEmpty[1] = {0};
  NoteBind(sqlite3_bind_blob64(stmt_, index, value.empty() ? kEmpty : value.data(), value.size(),
                               SQLITE_TRANSIENT));
}

absl::StatusOr<bool> Statement::Step(absl::string_view operation) {
  if (bind_rc_ != SQLITE_OK) return SqliteError(bind_rc_, operation);
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return SqliteError(rc, operation);
}

absl::Status Statement::Run(absl::string_view operation) {
  while (true) {
    absl::StatusOr<bool> row = Step(operation);
    if (!row.ok()) return row.status();
    if (!*row) return absl::OkStatus();
  }
}

int64_t Statement::ColumnInt64(int column) const { return sqlite3_column_int64(stmt_, column); }

bool Statement::ColumnIsNull(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

absl::string_view Statement::ColumnText(int column) const {
  const unsigned char* text = sqlite3_column_text(stmt_, column);
  if (text == nullptr) return {};
  return absl::string_view(reinterpret_cast<const char*>(text),
                           static_cast<size_t>(sqlite3_column_bytes(stmt_, column)));
}

absl::string_view Statement::ColumnBlob(int column) const {
  const void* blob = sqlite3_column_blob(stmt_, column);
  if (blob == nullptr) return {};
  return absl::string_view(static_cast<const char*>(blob),
                           static_cast<size_t>(sqlite3_column_bytes(stmt_, column)));
}

namespace {

// SQLite counts every allocation in process-wide statistics by default, under
// one global mutex (Debian's build also omits the lookaside allocator, so
// every record, cursor and page buffer is a malloc): ~9 % of the writer
// thread's CPU under submits was that mutex's lock and unlock. onestop never
// reads the statistics (sqlite3_memory_used, soft heap limits), so they are
// off. sqlite3_config works only before SQLite initializes, hence at static
// initialization, before main() or any test can open a database.
// Measured in interleaved runs: +18 % submits at 64 in flight, the writer's
// CPU per submit -19 % (docs/PERFORMANCE.md). SqliteSettings::
// memory_statistics reports the outcome.
[[maybe_unused]] const int kMemoryStatisticsConfigured =
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);

}  // namespace

absl::StatusOr<std::unique_ptr<Connection>> Connection::Open(const std::string& path,
                                                             OpenMode mode) {
  sqlite3* db = nullptr;
  // NOMUTEX: the owner serializes all use of the connection.
  const int flags = (mode == OpenMode::kReadOnly ? SQLITE_OPEN_READONLY
                                                 : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
                    SQLITE_OPEN_NOMUTEX;
  const int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close_v2(db);
    return absl::FailedPreconditionError(
        absl::StrCat("cannot open database ", path, ": ", message));
  }
  sqlite3_extended_result_codes(db, 1);
  return std::unique_ptr<Connection>(new Connection(db));
}

Connection::~Connection() {
  for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
  sqlite3_close_v2(db_);
}

absl::StatusOr<Statement> Connection::Prepare(const std::string& sql) {
  auto it = statements_.find(sql);
  if (it != statements_.end()) return Statement(it->second);
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size() + 1),
                                    SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return SqliteError(rc, "preparing a statement");
  }
  statements_.emplace(sql, stmt);
  return Statement(stmt);
}

absl::Status Connection::Exec(const char* sql, absl::string_view operation) {
  const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return SqliteError(rc, operation);
  return absl::OkStatus();
}

absl::StatusOr<int64_t> Connection::QueryInt64(const std::string& sql,
                                               absl::string_view operation) {
  absl::StatusOr<Statement> stmt = Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  absl::StatusOr<bool> row = stmt->Step(operation);
  if (!row.ok()) return row.status();
  if (!*row) return absl::InternalError(absl::StrCat(operation, " returned no row"));
  return stmt->ColumnInt64(0);
}

absl::StatusOr<std::string> Connection::QueryText(const std::string& sql,
                                                  absl::string_view operation) {
  absl::StatusOr<Statement> stmt = Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  absl::StatusOr<bool> row = stmt->Step(operation);
  if (!row.ok()) return row.status();
  if (!*row) return absl::InternalError(absl::StrCat(operation, " returned no row"));
  return std::string(stmt->ColumnText(0));
}

std::string Connection::LastErrorMessage() const { return sqlite3_errmsg(db_); }

}  // namespace onestop::storage::sqlite_internal
