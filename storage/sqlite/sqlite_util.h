// Thin RAII helpers over the SQLite 3 C API, private to storage/sqlite/.
//
// Connection owns one sqlite3* and a cache of prepared statements; Statement
// borrows a cached statement and resets it when it goes out of scope (so no
// statement keeps a read snapshot open after use). Neither is thread-safe:
// the owner serializes all use of one connection (SqliteDossierStore gives
// each connection to one thread at a time).
#ifndef ONESTOP_STORAGE_SQLITE_SQLITE_UTIL_H_
#define ONESTOP_STORAGE_SQLITE_SQLITE_UTIL_H_

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace onestop::storage::sqlite_internal {

// Maps an SQLite result code (primary or extended) to a Status whose message
// names `operation` and SQLite's generic text for the code, never SQL or
// values:
//   SQLITE_BUSY, SQLITE_LOCKED     → UNAVAILABLE
//   SQLITE_FULL                    → RESOURCE_EXHAUSTED
//   SQLITE_CORRUPT, SQLITE_NOTADB  → INTERNAL ("database corrupt")
//   anything else                  → INTERNAL
// `rc` must not be SQLITE_OK/ROW/DONE.
absl::Status SqliteError(int rc, absl::string_view operation);

// A prepared statement borrowed from a Connection's cache. Binding errors
// are remembered and reported by the next Step. Reset (and its bindings
// cleared) on destruction. Move-only.
class Statement {
 public:
  explicit Statement(sqlite3_stmt* stmt) : stmt_(stmt) {}
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&&) = delete;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  // Parameters are 1-based, in the order of the `?`s.
  void BindInt64(int index, int64_t value);
  void BindOptionalInt64(int index, std::optional<int64_t> value);
  void BindText(int index, absl::string_view value);
  // Binds NULL for an empty value.
  void BindTextOrNull(int index, absl::string_view value);
  void BindBlob(int index, absl::string_view value);

  // Steps once. Returns true if a row is available, false when done;
  // an error (see SqliteError) names `operation`.
  absl::StatusOr<bool> Step(absl::string_view operation);
  // Steps to completion, expecting no rows.
  absl::Status Run(absl::string_view operation);
  // Resets the statement for another execution and clears its bindings and
  // any remembered binding error (to run it again in a loop).
  void Reset();

  // Columns are 0-based; valid only while a row is available.
  int64_t ColumnInt64(int column) const;
  bool ColumnIsNull(int column) const;
  // Views into SQLite's buffer, valid until the next Step or destruction.
  absl::string_view ColumnText(int column) const;
  absl::string_view ColumnBlob(int column) const;

 private:
  void NoteBind(int rc);

  sqlite3_stmt* stmt_;
  int bind_rc_ = SQLITE_OK;
};

// How Connection::Open opens the file.
enum class OpenMode {
  // Read-write, creating the file if absent.
  kReadWrite,
  // Read-only; the file must exist. For reader connections of a WAL
  // database whose writer connection is already open.
  kReadOnly,
};

// One open database connection.
class Connection {
 public:
  // Opens `path` per `mode` with extended result codes. FAILED_PRECONDITION
  // naming the path and SQLite's message on failure.
  static absl::StatusOr<std::unique_ptr<Connection>> Open(const std::string& path,
                                                          OpenMode mode = OpenMode::kReadWrite);

  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Returns the cached statement for `sql`, preparing it on first use.
  // `sql` must hold exactly one statement.
  absl::StatusOr<Statement> Prepare(const std::string& sql);

  // Runs one or more statements without results (BEGIN, COMMIT, DDL).
  absl::Status Exec(const char* sql, absl::string_view operation);

  // Runs a single-row query returning column 0 as an integer / text.
  absl::StatusOr<int64_t> QueryInt64(const std::string& sql, absl::string_view operation);
  absl::StatusOr<std::string> QueryText(const std::string& sql, absl::string_view operation);

  // SQLite's message for the last failure on this connection (may name
  // tables or the path: for operator-facing Open errors only).
  std::string LastErrorMessage() const;

  sqlite3* raw() const { return db_; }

 private:
  explicit Connection(sqlite3* db) : db_(db) {}

  sqlite3* db_;
  absl::flat_hash_map<std::string, sqlite3_stmt*> statements_;
};

}  // namespace onestop::storage::sqlite_internal

#endif  // ONESTOP_STORAGE_SQLITE_SQLITE_UTIL_H_
