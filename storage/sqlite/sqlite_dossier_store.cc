#include "storage/sqlite/sqlite_dossier_store.h"

#include <pthread.h>
#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <functional>
#include <string>
#include <tuple>
#include <utility>
#include <variant>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/functional/function_ref.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "google/protobuf/timestamp.pb.h"
#include "server/util/status_macros.h"
#include "storage/counter_buckets.h"
#include "storage/event_bytes.h"
#include "storage/import_records.h"
#include "storage/sqlite/lock_file.h"
#include "storage/sqlite/schema.h"
#include "storage/sqlite/sqlite_util.h"

namespace onestop::storage {
namespace {

using ::onestop::storage::sqlite_internal::Connection;
using ::onestop::storage::sqlite_internal::LockFile;
using ::onestop::storage::sqlite_internal::SqliteError;
using ::onestop::storage::sqlite_internal::Statement;
using ::onestop::v1::Dossier;
using ::onestop::v1::DossierEvent;
using ::onestop::v1::HistoryEntry;

static_assert(SqliteDossierStore::kSchemaVersion == sqlite_internal::kLatestSchemaVersion);
static_assert(SqliteDossierStore::kApplicationId == sqlite_internal::kOnestopApplicationId);

// Timestamps are stored as microseconds since the Unix epoch (UTC); finer
// precision is dropped in the columns (the bodies keep it exactly).
int64_t ToMicros(const google::protobuf::Timestamp& t) {
  return t.seconds() * 1000000 + t.nanos() / 1000;
}

std::optional<int64_t> DueTimeMicros(const Dossier& dossier) {
  if (!dossier.has_due_time()) return std::nullopt;
  return ToMicros(dossier.due_time());
}

std::optional<int64_t> SubmittedTimeMicros(const Dossier& dossier) {
  if (!dossier.has_submitted_time()) return std::nullopt;
  return ToMicros(dossier.submitted_time());
}

// "prefix" + the sequence zero-padded to at least four digits.
std::string FormatCode(absl::string_view prefix, int64_t sequence) {
  return absl::StrFormat("%s%04d", prefix, sequence);
}

// The dossier as stored in `dossiers.body`: no history, no derived fields.
Dossier StorableDossier(const Dossier& dossier, std::string code, int64_t etag) {
  Dossier stored = dossier;
  stored.set_code(std::move(code));
  stored.set_etag(etag);
  stored.clear_history();
  stored.clear_timeliness();  // derived at read time, never stored
  return stored;
}

// Runs `sql` (one statement, no rows) through the statement cache.
absl::Status RunCached(Connection& connection, const std::string& sql,
                       absl::string_view operation) {
  ONESTOP_ASSIGN_OR_RETURN(Statement stmt, connection.Prepare(sql));
  return stmt.Run(operation);
}

enum class TransactionKind { kRead, kWrite };

// Runs `body` inside a transaction: BEGIN IMMEDIATE for writes (takes the
// write lock up front, so a busy database fails before any work) or a
// deferred BEGIN for reads. Commits if `body` succeeds; otherwise, or if the
// commit fails, rolls back so nothing is changed.
absl::Status InTransaction(Connection& connection, TransactionKind kind,
                           absl::FunctionRef<absl::Status()> body) {
  // Through the statement cache: every read (GetDossier, a list page) is
  // one of these, and sqlite3_exec would parse BEGIN and COMMIT each time.
  ONESTOP_RETURN_IF_ERROR(RunCached(
      connection, kind == TransactionKind::kWrite ? "BEGIN IMMEDIATE" : "BEGIN",
      "starting a transaction"));
  absl::Status status = body();
  if (status.ok()) status = RunCached(connection, "COMMIT", "committing a transaction");
  if (!status.ok() && sqlite3_get_autocommit(connection.raw()) == 0) {
    // SQLite may already have rolled back (e.g. on SQLITE_FULL); only roll
    // back a transaction that is still open.
    connection.Exec("ROLLBACK", "rolling back a transaction").IgnoreError();
  }
  return status;
}

// `what` (e.g. "dossier ", code) names the row in the error, built only
// on failure: reads parse every history row and event.
absl::Status ParseBody(absl::string_view bytes, google::protobuf::Message& message,
                       const absl::AlphaNum& what, const absl::AlphaNum& which) {
  if (!message.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::InternalError(absl::StrCat("database corrupt: cannot parse ", what, which));
  }
  return absl::OkStatus();
}

// ALREADY_EXISTS if `request_id` is recorded.
absl::Status CheckRequestUnused(Connection& connection, const std::string& request_id) {
  ONESTOP_ASSIGN_OR_RETURN(Statement stmt,
                           connection.Prepare("SELECT 1 FROM requests WHERE request_id = ?"));
  stmt.BindText(1, request_id);
  ONESTOP_ASSIGN_OR_RETURN(const bool found, stmt.Step("checking the request id"));
  if (found) {
    return absl::AlreadyExistsError(
        absl::StrCat("request ", request_id, " was already processed; its result is recorded"));
  }
  return absl::OkStatus();
}

absl::Status RecordRequest(Connection& connection, const IdempotencyKey& key,
                           const Dossier& response, const HistoryEntry& entry) {
  ONESTOP_ASSIGN_OR_RETURN(
      Statement stmt,
      connection.Prepare("INSERT INTO requests (request_id, fingerprint, dossier_code, response, "
                         "created_time_us) VALUES (?, ?, ?, ?, ?)"));
  stmt.BindText(1, key.request_id);
  stmt.BindBlob(2, key.fingerprint);
  stmt.BindText(3, response.code());
  stmt.BindBlob(4, response.SerializeAsString());
  stmt.BindOptionalInt64(
      5, entry.has_time() ? std::optional<int64_t>(ToMicros(entry.time())) : std::nullopt);
  absl::Status status = stmt.Run("recording the request");
  if (!status.ok() && sqlite3_extended_errcode(connection.raw()) == SQLITE_CONSTRAINT_PRIMARYKEY) {
    return absl::AlreadyExistsError(
        absl::StrCat("request ", key.request_id, " was already processed"));
  }
  return status;
}

// Bumps and returns the code counter of `prefix` (1 for a new prefix).
absl::StatusOr<int64_t> NextCodeSequence(Connection& connection, const std::string& prefix) {
  ONESTOP_ASSIGN_OR_RETURN(
      Statement stmt,
      connection.Prepare("INSERT INTO code_sequences (prefix, last) VALUES (?, 1) "
                         "ON CONFLICT (prefix) DO UPDATE SET last = last + 1 RETURNING last"));
  stmt.BindText(1, prefix);
  ONESTOP_ASSIGN_OR_RETURN(const bool row, stmt.Step("issuing a dossier code"));
  if (!row) return absl::InternalError("issuing a dossier code returned no sequence");
  const int64_t sequence = stmt.ColumnInt64(0);
  ONESTOP_RETURN_IF_ERROR(stmt.Run("issuing a dossier code"));
  return sequence;
}

// Most history rows one INSERT statement writes (an import writes a
// dossier's whole history in ⌈n / 8⌉ statements rather than n).
constexpr int kMaxHistoryRowsPerInsert = 8;

// The INSERT of `rows` (1..kMaxHistoryRowsPerInsert) history rows, and
// below of one event. Built once: preparing them on every write's path is
// then a cache lookup by SQL text, without building the text again.
const std::string& InsertHistorySql(int rows) {
  static const auto* const sql = [] {
    auto* texts = new std::array<std::string, kMaxHistoryRowsPerInsert + 1>();
    for (int n = 1; n <= kMaxHistoryRowsPerInsert; ++n) {
      std::string& text = (*texts)[static_cast<size_t>(n)];
      text = "INSERT INTO history (dossier_position, sequence, body) VALUES ";
      for (int i = 0; i < n; ++i) absl::StrAppend(&text, i == 0 ? "" : ", ", "(?, ?, ?)");
    }
    return texts;
  }();
  return (*sql)[static_cast<size_t>(rows)];
}
const std::string& InsertEventSql() {
  static const auto* const sql =
      new std::string("INSERT INTO events (revision, dossier_code, action, time_us, body) "
                      "VALUES (?, ?, ?, ?, ?)");
  return *sql;
}

// One history row: the entry's sequence and its serialization.
struct HistoryRow {
  int64_t sequence;
  absl::string_view body;
};

// Appends `rows` to the history of the dossier at `position`.
absl::Status InsertHistory(Connection& connection, int64_t position,
                           absl::Span<const HistoryRow> rows) {
  while (!rows.empty()) {
    const size_t n = std::min(rows.size(), static_cast<size_t>(kMaxHistoryRowsPerInsert));
    ONESTOP_ASSIGN_OR_RETURN(Statement stmt,
                             connection.Prepare(InsertHistorySql(static_cast<int>(n))));
    for (size_t i = 0; i < n; ++i) {
      const int column = static_cast<int>(3 * i);
      stmt.BindInt64(column + 1, position);
      stmt.BindInt64(column + 2, rows[i].sequence);
      stmt.BindBlob(column + 3, rows[i].body);
    }
    ONESTOP_RETURN_IF_ERROR(stmt.Run("appending history"));
    rows.remove_prefix(n);
  }
  return absl::OkStatus();
}

// The revision the next event gets: max + 1. Writers are serialized by the
// write lock, so revisions are strictly increasing without gaps; a writer
// appending several events in a row counts on from here.
absl::StatusOr<int64_t> NextRevision(Connection& connection) {
  return connection.QueryInt64("SELECT COALESCE(MAX(revision), 0) + 1 FROM events",
                               "numbering the event");
}

// Appends one change-feed event row: `event_bytes` is the serialized
// DossierEvent, `revision`, `action` and `time` its fields.
absl::Status InsertEvent(Connection& connection, int64_t revision, absl::string_view code,
                         onestop::v1::ActionKind action,
                         const google::protobuf::Timestamp* time, absl::string_view event_bytes) {
  ONESTOP_ASSIGN_OR_RETURN(Statement stmt, connection.Prepare(InsertEventSql()));
  stmt.BindInt64(1, revision);
  stmt.BindText(2, code);
  stmt.BindInt64(3, action);
  stmt.BindOptionalInt64(4, time != nullptr ? std::optional<int64_t>(ToMicros(*time))
                                            : std::nullopt);
  stmt.BindBlob(5, event_bytes);
  return stmt.Run("appending the event");
}

// Appends the history row of `entry` and the change-feed event for the
// dossier `code` and `entry`, with the next revision. `body` is the
// dossier's stored body (without history), already serialized for its row:
// the event is assembled from it (storage/event_bytes.h).
absl::Status AppendHistoryAndEvent(Connection& connection, int64_t position,
                                   absl::string_view code, absl::string_view body,
                                   const HistoryEntry& entry) {
  const std::string entry_bytes = entry.SerializeAsString();
  ONESTOP_RETURN_IF_ERROR(InsertHistory(connection, position, {{entry.sequence(), entry_bytes}}));
  ONESTOP_ASSIGN_OR_RETURN(const int64_t revision, NextRevision(connection));
  std::string event;
  PrependRevision(revision, EventBytesWithoutRevision(body, entry, entry_bytes, entry.action()),
                  event);
  return InsertEvent(connection, revision, code, entry.action(),
                     entry.has_time() ? &entry.time() : nullptr, event);
}

// Appends the history of the dossier at `position` to `dossier`, oldest
// first.
absl::Status ReadHistory(Connection& connection, int64_t position, Dossier& dossier) {
  ONESTOP_ASSIGN_OR_RETURN(
      Statement stmt,
      connection.Prepare("SELECT body FROM history WHERE dossier_position = ? ORDER BY sequence"));
  stmt.BindInt64(1, position);
  while (true) {
    ONESTOP_ASSIGN_OR_RETURN(const bool row, stmt.Step("reading history"));
    if (!row) return absl::OkStatus();
    ONESTOP_RETURN_IF_ERROR(ParseBody(stmt.ColumnBlob(0), *dossier.add_history(),
                                      "history of dossier ", dossier.code()));
  }
}

// Reads a dossier row selected as (position, code, etag, body).
absl::Status ReadDossierRow(const Statement& stmt, Dossier& dossier, int64_t& position) {
  position = stmt.ColumnInt64(0);
  const absl::string_view code = stmt.ColumnText(1);
  ONESTOP_RETURN_IF_ERROR(ParseBody(stmt.ColumnBlob(3), dossier, "dossier ", code));
  // The columns are authoritative.
  dossier.set_code(std::string(code));
  dossier.set_etag(stmt.ColumnInt64(2));
  return absl::OkStatus();
}


// One report_counters row: a series' day or month bucket.
struct CounterRowKey {
  std::string series;
  int grain;
  int64_t bucket;
  bool operator<(const CounterRowKey& o) const {
    return std::tie(series, grain, bucket) < std::tie(o.series, o.grain, o.bucket);
  }
};
// Pending additions to counter rows.
using CounterRows = absl::btree_map<CounterRowKey, CounterValues>;

// Adds `sign` × `deltas` to the day and month rows of their series in
// `rows` (deltas hitting the same row merge); sign −1 takes them back out.
void AddCounterDeltas(const std::vector<CounterDelta>& deltas, CounterRows& rows,
                      int64_t sign = 1) {
  // Most rows are already there (an import merges 1,000 dossiers' deltas):
  // look them up with one reused key instead of building a key per delta.
  CounterRowKey probe;
  for (const CounterDelta& delta : deltas) {
    for (const BucketRun& bucket : BucketsOfDay(delta.day)) {
      probe.series.assign(delta.series);
      probe.grain = static_cast<int>(bucket.grain);
      probe.bucket = bucket.first;
      auto row = rows.find(probe);
      if (row == rows.end()) row = rows.emplace(probe, CounterValues{}).first;
      for (int i = 0; i < kCounterSlots; ++i) row->second[i] += sign * delta.values[i];
    }
  }
}

// Adds `from` into `into`.
void MergeCounterRows(const CounterRows& from, CounterRows& into) {
  for (const auto& [key, values] : from) {
    CounterValues& sum = into.try_emplace(key, CounterValues{}).first->second;
    for (int i = 0; i < kCounterSlots; ++i) sum[i] += values[i];
  }
}

// Adds `rows` to the stored counters, one upsert per row, skipping all-zero
// rows.
absl::Status WriteCounterRows(Connection& connection, const CounterRows& rows) {
  if (rows.empty()) return absl::OkStatus();
  ONESTOP_ASSIGN_OR_RETURN(
      Statement stmt,
      connection.Prepare("INSERT INTO report_counters (series, grain, bucket, shard, v0, v1, v2, v3, v4, v5, v6, v7, v8, v9, v10, v11, v12, v13, v14, v15, v16, v17, v18, v19, v20, v21, v22, v23) "
                         "VALUES (?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (series, grain, bucket, shard) "
                         "DO UPDATE SET v0 = v0 + excluded.v0, v1 = v1 + excluded.v1, v2 = v2 + excluded.v2, v3 = v3 + excluded.v3, v4 = v4 + excluded.v4, v5 = v5 + excluded.v5, v6 = v6 + excluded.v6, v7 = v7 + excluded.v7, v8 = v8 + excluded.v8, v9 = v9 + excluded.v9, v10 = v10 + excluded.v10, v11 = v11 + excluded.v11, v12 = v12 + excluded.v12, v13 = v13 + excluded.v13, v14 = v14 + excluded.v14, v15 = v15 + excluded.v15, v16 = v16 + excluded.v16, v17 = v17 + excluded.v17, v18 = v18 + excluded.v18, v19 = v19 + excluded.v19, v20 = v20 + excluded.v20, v21 = v21 + excluded.v21, v22 = v22 + excluded.v22, v23 = v23 + excluded.v23"));
  for (const auto& [key, values] : rows) {
    bool zero = true;
    for (int64_t v : values) zero = zero && v == 0;
    if (zero) continue;
    stmt.Reset();
    stmt.BindText(1, key.series);
    stmt.BindInt64(2, key.grain);
    stmt.BindInt64(3, key.bucket);
    for (int i = 0; i < kCounterSlots; ++i) stmt.BindInt64(4 + i, values[i]);
    ONESTOP_RETURN_IF_ERROR(stmt.Run("updating report counters"));
  }
  return absl::OkStatus();
}

// The byte string just above every string starting with `prefix` (empty if
// none: a prefix of only 0xff bytes).
std::string PrefixEnd(std::string prefix) {
  while (!prefix.empty()) {
    unsigned char last = static_cast<unsigned char>(prefix.back());
    if (last < 0xff) {
      prefix.back() = static_cast<char>(last + 1);
      return prefix;
    }
    prefix.pop_back();
  }
  return prefix;
}

absl::Status ValidateCreate(const CreateDossierWrite& write) {
  if (write.code_prefix.empty()) {
    return absl::InvalidArgumentError("a dossier code prefix is required");
  }
  if (write.entry.sequence() != 0 && write.entry.sequence() != 1) {
    return absl::InvalidArgumentError(absl::StrCat("the first history entry has sequence ",
                                                   write.entry.sequence(), "; it must be 1"));
  }
  return ValidateCounterDeltas(write.counter_deltas);
}

// Open-time failures name the path and SQLite's own message; a file that
// cannot be used as it is (corrupt, not a database, unreadable) is
// FAILED_PRECONDITION, a lock held elsewhere UNAVAILABLE.
absl::Status OpenError(const Connection& connection, const std::string& path,
                       const absl::Status& status) {
  if (status.code() == absl::StatusCode::kFailedPrecondition) return status;
  const int rc = sqlite3_extended_errcode(connection.raw());
  const std::string message = absl::StrCat("cannot use database ", path, ": ", status.message(),
                                           " [SQLite: ", connection.LastErrorMessage(), "]");
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return absl::UnavailableError(message);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return absl::FailedPreconditionError(absl::StrCat(
          "database ", path, " is corrupt or not an SQLite database (SQLite: ",
          connection.LastErrorMessage(), "); restore it from a backup or choose another file"));
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_IOERR:
      return absl::FailedPreconditionError(message);
    default:
      return absl::InternalError(message);
  }
}

absl::Status Configure(Connection& connection, const SqliteOptions& options) {
  sqlite3_busy_timeout(connection.raw(),
                       static_cast<int>(absl::ToInt64Milliseconds(options.busy_timeout)));
  // The first statement reads the header: a non-database file fails here.
  ONESTOP_ASSIGN_OR_RETURN(
      const std::string journal_mode,
      connection.QueryText("PRAGMA journal_mode = WAL", "enabling the WAL journal"));
  const bool in_memory = options.path == ":memory:";
  if (journal_mode != (in_memory ? "memory" : "wal")) {
    return absl::FailedPreconditionError(absl::StrCat("database ", options.path,
                                                      " could not switch to WAL journal mode (got ",
                                                      journal_mode, ")"));
  }
  ONESTOP_RETURN_IF_ERROR(connection.Exec(options.durability == Durability::kFull
                                              ? "PRAGMA synchronous = FULL"
                                              : "PRAGMA synchronous = NORMAL",
                                          "setting synchronous"));
  ONESTOP_RETURN_IF_ERROR(connection.Exec("PRAGMA foreign_keys = ON", "enabling foreign keys"));
  switch (options.integrity_check) {
    case IntegrityCheck::kQuick: {
      ONESTOP_ASSIGN_OR_RETURN(const std::string result,
                               connection.QueryText("PRAGMA quick_check(1)", "checking integrity"));
      if (result != "ok") {
        return absl::FailedPreconditionError(
            absl::StrCat("database ", options.path, " is corrupt: ", result));
      }
      break;
    }
    case IntegrityCheck::kHeaderOnly: {
      ONESTOP_RETURN_IF_ERROR(
          connection.QueryInt64("SELECT count(*) FROM sqlite_master", "reading the schema")
              .status());
      break;
    }
  }
  ONESTOP_RETURN_IF_ERROR(sqlite_internal::MigrateSchema(connection, options.path));
  // Each write of a batch runs in a savepoint, whose sub-journal holds the
  // original of every page the write changes (~14 pages a submit). SQLite
  // keeps it in memory up to 64 KiB and then moves it to a temporary file
  // for the rest of the transaction: one larger write (16 pages or more,
  // e.g. with B-tree page splits) was enough to send every later write of
  // the batch to the file, two pwrite()s per page, ~27 syscalls a submit.
  // In memory it is a memcpy, freed at each savepoint's release or
  // statement's end (the largest: a CompactEvents chunk's DELETE of 10,000
  // events, ~10 MB). Set after the migration, whose index builds may sort
  // more than memory should hold. Only the writer: readers never need a
  // journal.
  ONESTOP_RETURN_IF_ERROR(
      connection.Exec("PRAGMA temp_store = MEMORY", "keeping the savepoint journal in memory"));
  return absl::OkStatus();
}

// Binds a dossier row's filter columns and body, in the order
// `receiving_agency, holder_agency, procedure_code, status, due_time_us,
// submitted_time_us, body`, from parameter `first` on: `body` is the stored
// serialization of `dossier`. Shared by the row's INSERT and UPDATE.
void BindFilterColumnsAndBody(const Dossier& dossier, absl::string_view body, int first,
                              Statement& statement) {
  statement.BindTextOrNull(first, dossier.receiving_agency_code());
  statement.BindTextOrNull(first + 1, dossier.holder_agency_code());
  statement.BindTextOrNull(first + 2, dossier.procedure_code());
  statement.BindInt64(first + 3, dossier.status());
  statement.BindOptionalInt64(first + 4, DueTimeMicros(dossier));
  statement.BindOptionalInt64(first + 5, SubmittedTimeMicros(dossier));
  statement.BindBlob(first + 6, body);
}

// Binds the columns of an `INSERT INTO dossiers (code, etag,
// receiving_agency, holder_agency, procedure_code, status, due_time_us,
// submitted_time_us, body)`.
void BindDossierRow(const Dossier& dossier, absl::string_view body, Statement& insert) {
  insert.BindText(1, dossier.code());
  insert.BindInt64(2, dossier.etag());
  BindFilterColumnsAndBody(dossier, body, 3, insert);
}

// Applies one Create inside the caller's open transaction (and savepoint):
// bumps the prefix's code counter, inserts the dossier, its first history
// entry and its event, and records the request. The counter deltas are the
// caller's (RunBatch adds those of a batch's successful writes together,
// before its COMMIT). `write` was validated by ValidateCreate. On error the
// caller rolls back.
absl::StatusOr<Dossier> ApplyCreate(Connection& connection, const CreateDossierWrite& write) {
  if (write.idempotency.has_value()) {
    ONESTOP_RETURN_IF_ERROR(CheckRequestUnused(connection, write.idempotency->request_id));
  }
  ONESTOP_ASSIGN_OR_RETURN(const int64_t sequence,
                           NextCodeSequence(connection, write.code_prefix));
  Dossier dossier =
      StorableDossier(write.dossier, FormatCode(write.code_prefix, sequence), /*etag=*/1);
  HistoryEntry entry = write.entry;
  entry.set_sequence(1);

  ONESTOP_ASSIGN_OR_RETURN(
      Statement insert,
      connection.Prepare(
          "INSERT INTO dossiers (code, etag, receiving_agency, holder_agency, procedure_code, "
          "status, due_time_us, submitted_time_us, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"));
  const std::string body = dossier.SerializeAsString();
  BindDossierRow(dossier, body, insert);
  ONESTOP_RETURN_IF_ERROR(insert.Run("inserting the dossier"));
  const int64_t position = sqlite3_last_insert_rowid(connection.raw());

  ONESTOP_RETURN_IF_ERROR(
      AppendHistoryAndEvent(connection, position, dossier.code(), body, entry));
  *dossier.add_history() = std::move(entry);
  if (write.idempotency.has_value()) {
    ONESTOP_RETURN_IF_ERROR(
        RecordRequest(connection, *write.idempotency, dossier, dossier.history(0)));
  }
  return dossier;
}

// Applies one Update inside the caller's open transaction (and savepoint):
// the conditional update (NOT_FOUND, ABORTED on a stale etag), the history
// entry, the event and the request record (counter deltas: see
// ApplyCreate). Returns the
// stored dossier with its full history. On error the caller rolls back.
absl::StatusOr<Dossier> ApplyUpdate(Connection& connection, const UpdateDossierWrite& write) {
  const std::string& code = write.dossier.code();
  if (write.idempotency.has_value()) {
    ONESTOP_RETURN_IF_ERROR(CheckRequestUnused(connection, write.idempotency->request_id));
  }
  Dossier dossier = StorableDossier(write.dossier, code, write.expected_etag + 1);
  ONESTOP_ASSIGN_OR_RETURN(
      Statement update,
      connection.Prepare(
          "UPDATE dossiers SET etag = etag + 1, receiving_agency = ?, holder_agency = ?, "
          "procedure_code = ?, status = ?, due_time_us = ?, submitted_time_us = ?, body = ? "
          "WHERE code = ? AND etag = ? RETURNING position"));
  const std::string body = dossier.SerializeAsString();
  BindFilterColumnsAndBody(dossier, body, 1, update);
  update.BindText(8, code);
  update.BindInt64(9, write.expected_etag);
  ONESTOP_ASSIGN_OR_RETURN(const bool updated, update.Step("updating the dossier"));
  if (!updated) {
    ONESTOP_ASSIGN_OR_RETURN(Statement current,
                             connection.Prepare("SELECT etag FROM dossiers WHERE code = ?"));
    current.BindText(1, code);
    ONESTOP_ASSIGN_OR_RETURN(const bool exists, current.Step("reading the dossier version"));
    if (!exists) return absl::NotFoundError(absl::StrCat("dossier ", code, " not found"));
    return absl::AbortedError(absl::StrCat(
        "dossier ", code, " was changed by someone else (version ", current.ColumnInt64(0),
        ", you had ", write.expected_etag, "); reload it and try again"));
  }
  const int64_t position = update.ColumnInt64(0);
  ONESTOP_RETURN_IF_ERROR(update.Run("updating the dossier"));

  ONESTOP_ASSIGN_OR_RETURN(Statement next,
                           connection.Prepare("SELECT COALESCE(MAX(sequence), 0) + 1 FROM "
                                              "history WHERE dossier_position = ?"));
  next.BindInt64(1, position);
  ONESTOP_ASSIGN_OR_RETURN(const bool has_next, next.Step("numbering the history entry"));
  if (!has_next) return absl::InternalError("numbering the history entry returned no row");
  const int64_t next_sequence = next.ColumnInt64(0);
  if (write.entry.sequence() != 0 && write.entry.sequence() != next_sequence) {
    return absl::InvalidArgumentError(absl::StrCat("history entry for dossier ", code,
                                                   " has sequence ", write.entry.sequence(),
                                                   "; the next one is ", next_sequence));
  }
  HistoryEntry entry = write.entry;
  entry.set_sequence(static_cast<int32_t>(next_sequence));

  ONESTOP_RETURN_IF_ERROR(AppendHistoryAndEvent(connection, position, code, body, entry));
  const Dossier* before = write.before;
  if (before != nullptr && before->etag() == write.expected_etag &&
      before->history_size() + 1 == next_sequence) {
    // The caller's copy is the stored history (UpdateDossierWrite::before):
    // reading it back was ~15 % of the writer's time in a lifecycle.
    *dossier.mutable_history() = before->history();
    *dossier.add_history() = entry;
  } else {
    ONESTOP_RETURN_IF_ERROR(ReadHistory(connection, position, dossier));
  }
  if (write.idempotency.has_value()) {
    ONESTOP_RETURN_IF_ERROR(RecordRequest(connection, *write.idempotency, dossier, entry));
  }
  return dossier;
}

// The highest revision in the events table (0 if none).
absl::StatusOr<int64_t> ReadLastRevision(Connection& connection) {
  return connection.QueryInt64("SELECT COALESCE(MAX(revision), 0) FROM events",
                               "reading the last revision");
}

// Sets the connection's synchronous mode outside a transaction.
absl::Status SetSynchronous(Connection& connection, Durability durability) {
  return RunCached(connection,
                   durability == Durability::kFull ? "PRAGMA synchronous = FULL"
                                                   : "PRAGMA synchronous = NORMAL",
                   "setting synchronous");
}

// Runs `body` inside its own savepoint of the open batch transaction and
// returns its status. A body that fails is rolled back to its savepoint,
// leaving the batch's other writes intact. If the batch can no longer be
// committed — SQLite rolled the whole transaction back by itself
// (SQLITE_FULL, SQLITE_IOERR, …) or the savepoint could not be rolled back
// or released — sets `transaction` to the error.
absl::Status RunInSavepoint(Connection& connection, absl::FunctionRef<absl::Status()> body,
                            absl::Status& transaction) {
  if (absl::Status status =
          RunCached(connection, "SAVEPOINT onestop_write", "starting a savepoint");
      !status.ok()) {
    transaction = status;
    return status;
  }
  const absl::Status result = body();
  if (sqlite3_get_autocommit(connection.raw()) != 0) {
    // The transaction is gone, and with it the batch's earlier writes.
    transaction = result.ok() ? absl::InternalError("the batch transaction ended unexpectedly")
                              : result;
    return transaction;
  }
  absl::Status status;
  if (!result.ok()) {
    status = RunCached(connection, "ROLLBACK TO onestop_write", "rolling back a write");
  }
  if (status.ok()) status = RunCached(connection, "RELEASE onestop_write", "releasing a savepoint");
  if (!status.ok()) {
    // The write's changes may still be in the transaction: it must not
    // commit.
    transaction = status;
    return result.ok() ? status : result;
  }
  return result;
}

// Applies one write (`create` or `update`, exactly one non-null) with
// RunInSavepoint and returns its result. The counter deltas of a write that
// succeeds are added to `counters`, for the batch to write before its
// COMMIT.
absl::StatusOr<Dossier> ApplyInSavepoint(Connection& connection, const CreateDossierWrite* create,
                                         const UpdateDossierWrite* update, CounterRows& counters,
                                         absl::Status& transaction) {
  absl::StatusOr<Dossier> result;
  const absl::Status status = RunInSavepoint(
      connection,
      [&] {
        result = create != nullptr ? ApplyCreate(connection, *create)
                                   : ApplyUpdate(connection, *update);
        return result.status();
      },
      transaction);
  if (!status.ok()) return status;
  AddCounterDeltas(create != nullptr ? create->counter_deltas : update->counter_deltas, counters);
  return result;
}

// Reads what is stored under `code` for CompareWithStored.
absl::StatusOr<StoredImportView> ReadStoredForImport(Connection& connection,
                                                     const std::string& code) {
  ONESTOP_ASSIGN_OR_RETURN(
      Statement stmt, connection.Prepare("SELECT position, etag, body FROM dossiers WHERE code = ?"));
  stmt.BindText(1, code);
  ONESTOP_ASSIGN_OR_RETURN(const bool found, stmt.Step("reading the stored dossier"));
  if (!found) return absl::InternalError("an imported code vanished inside its transaction");
  StoredImportView view;
  const int64_t position = stmt.ColumnInt64(0);
  view.etag = stmt.ColumnInt64(1);
  view.body = std::string(stmt.ColumnBlob(2));
  ONESTOP_RETURN_IF_ERROR(stmt.Run("reading the stored dossier"));
  ONESTOP_ASSIGN_OR_RETURN(
      Statement history,
      connection.Prepare("SELECT body FROM history WHERE dossier_position = ? ORDER BY sequence"));
  history.BindInt64(1, position);
  while (true) {
    ONESTOP_ASSIGN_OR_RETURN(const bool row, history.Step("reading history"));
    if (!row) break;
    view.history.emplace_back(history.ColumnBlob(0));
  }
  return view;
}

// One import record made ready on the caller's thread, so that the writer
// thread only binds and steps: checked, and its rows serialized.
struct ReadyImport {
  // ValidateImportWrite's verdict: the writer skips a record that failed.
  absl::Status checked;
  ImportDossierWrite write;
  std::string body;                  // ImportedBody(write.dossier) serialized
  std::vector<std::string> history;  // each history entry serialized
  std::string event;                 // EventBytesWithoutRevision
};

// One ImportDossiers call, queued as one item of the writer.
struct ImportRequest {
  std::vector<ReadyImport> records;
  // The counter deltas of every record that passed its checks, merged: the
  // writer takes out those of a record it does not import (rare), instead
  // of merging every record's on the writer thread.
  CounterRows counters;
};

// Checks `write` and, if it passes, serializes its rows.
ReadyImport MakeReadyImport(ImportDossierWrite write) {
  ReadyImport ready;
  ready.checked = ValidateImportWrite(write);
  ready.write = std::move(write);
  if (!ready.checked.ok()) return ready;
  Dossier& d = ready.write.dossier;
  ready.history.reserve(static_cast<size_t>(d.history_size()));
  for (const HistoryEntry& entry : d.history()) ready.history.push_back(entry.SerializeAsString());
  // The body is ImportedBody(d): serialized with the history moved aside
  // rather than from a copy. The derived fields are never stored.
  d.clear_timeliness();
  d.clear_slip();
  google::protobuf::RepeatedPtrField<HistoryEntry> history;
  history.Swap(d.mutable_history());
  ready.body = d.SerializeAsString();
  history.Swap(d.mutable_history());
  ready.event = EventBytesWithoutRevision(ready.body, d.history(d.history_size() - 1),
                                          ready.history.back(), onestop::v1::ACTION_KIND_IMPORT);
  return ready;
}

// Makes every record ready and merges the counter deltas of those that
// passed their checks.
ImportRequest MakeImportRequest(std::vector<ImportDossierWrite> writes) {
  ImportRequest request;
  request.records.reserve(writes.size());
  for (ImportDossierWrite& write : writes) {
    ReadyImport& ready = request.records.emplace_back(MakeReadyImport(std::move(write)));
    if (ready.checked.ok()) AddCounterDeltas(ready.write.counter_deltas, request.counters);
  }
  return request;
}

// Writes one checked import record inside the open transaction, with event
// revision `revision` (`history_rows` and `event_buffer` are scratch space
// reused from record to record). ALREADY_EXISTS / FAILED_PRECONDITION for a code
// already stored, and then nothing was written; any other error may leave
// part of the record written (the caller rolls the request back).
absl::Status ApplyImport(Connection& connection, const ReadyImport& record, int64_t revision,
                         std::vector<HistoryRow>& history_rows, std::string& event_buffer) {
  const Dossier& d = record.write.dossier;
  static const auto* const insert_sql = new std::string(
      "INSERT INTO dossiers (code, etag, receiving_agency, holder_agency, procedure_code, "
      "status, due_time_us, submitted_time_us, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
      "ON CONFLICT (code) DO NOTHING");
  // No RETURNING: it would give every insert a statement journal (see
  // ApplyImportRequest); the new row's position is the last rowid.
  {
    ONESTOP_ASSIGN_OR_RETURN(Statement insert, connection.Prepare(*insert_sql));
    BindDossierRow(d, record.body, insert);
    ONESTOP_RETURN_IF_ERROR(insert.Run("importing the dossier"));
  }
  if (sqlite3_changes(connection.raw()) == 0) {
    ONESTOP_ASSIGN_OR_RETURN(const StoredImportView stored,
                             ReadStoredForImport(connection, d.code()));
    return CompareWithStored(record.write, record.body, stored);
  }
  const int64_t position = sqlite3_last_insert_rowid(connection.raw());
  history_rows.clear();
  for (int i = 0; i < d.history_size(); ++i) {
    history_rows.push_back({d.history(i).sequence(), record.history[static_cast<size_t>(i)]});
  }
  ONESTOP_RETURN_IF_ERROR(InsertHistory(connection, position, history_rows));
  const HistoryEntry& last = d.history(d.history_size() - 1);
  PrependRevision(revision, record.event, event_buffer);
  return InsertEvent(connection, revision, d.code(), onestop::v1::ACTION_KIND_IMPORT,
                     last.has_time() ? &last.time() : nullptr, event_buffer);
}

// Raises the code sequence of `prefix` to at least `number`.
absl::Status RaiseCodeSequence(Connection& connection, absl::string_view prefix,
                               int64_t number) {
  ONESTOP_ASSIGN_OR_RETURN(
      Statement sequence,
      connection.Prepare("INSERT INTO code_sequences (prefix, last) VALUES (?, ?) "
                         "ON CONFLICT (prefix) DO UPDATE SET last = MAX(last, excluded.last)"));
  sequence.BindText(1, prefix);
  sequence.BindInt64(2, number);
  return sequence.Run("raising the code sequence");
}

// Writes every record of `request` inside the open transaction, which holds
// this request alone (the writer never batches an import request with other
// writes): an error of the database itself is returned for the request, and
// the caller rolls the transaction back. No savepoint: one around a whole
// request made SQLite copy every page the request touched into its
// sub-journal (two pwrite()s per page to a temporary file, ~40 % of the
// writer's time; an INSERT … RETURNING does the same in a statement journal
// of its own, hence none in ApplyImport), and a record refused as present
// or different has written nothing, so records need none of their own. Events are numbered on from
// one MAX(revision), and each prefix's code sequence is raised once. Returns
// one status per record and adds the imported records' counter deltas to
// `counters`.
absl::StatusOr<std::vector<absl::Status>> ApplyImportRequest(Connection& connection,
                                                              ImportRequest& request,
                                                              CounterRows& counters) {
  std::vector<absl::Status> results;
  results.reserve(request.records.size());
  absl::btree_map<absl::string_view, int64_t> sequences;  // prefix → highest imported
  ONESTOP_ASSIGN_OR_RETURN(int64_t revision, NextRevision(connection));
  std::vector<HistoryRow> history_rows;
  std::string event_buffer;
  for (const ReadyImport& record : request.records) {
    if (!record.checked.ok()) {
      results.push_back(record.checked);
      continue;
    }
    absl::Status result = ApplyImport(connection, record, revision, history_rows, event_buffer);
    if (result.ok()) {
      ++revision;
      int64_t& highest = sequences.try_emplace(record.write.code_prefix, 0).first->second;
      highest = std::max(highest, record.write.code_sequence);
    } else if (absl::IsAlreadyExists(result) || absl::IsFailedPrecondition(result)) {
      AddCounterDeltas(record.write.counter_deltas, request.counters, /*sign=*/-1);
    } else {
      return result;
    }
    results.push_back(std::move(result));
  }
  for (const auto& [prefix, highest] : sequences) {
    ONESTOP_RETURN_IF_ERROR(RaiseCodeSequence(connection, prefix, highest));
  }
  MergeCounterRows(request.counters, counters);
  return results;
}

}  // namespace

SqliteDossierStore::SqliteDossierStore(std::unique_ptr<LockFile> lock,
                                       std::unique_ptr<Connection> writer,
                                       std::vector<std::unique_ptr<Connection>> readers,
                                       int max_batch_writes, int64_t last_revision,
                                       Durability durability, int recent_dossiers)
    : lock_(std::move(lock)),
      max_batch_writes_(max_batch_writes),
      durability_(durability),
      last_revision_(last_revision),
      recent_(static_cast<size_t>(recent_dossiers)),
      writer_(std::move(writer)),
      readers_(std::move(readers)) {
  {
    absl::MutexLock pool_lock(&pool_mu_);
    for (const std::unique_ptr<Connection>& reader : readers_) {
      idle_readers_.push_back(reader.get());
    }
  }
  writer_thread_ = std::thread([this] { WriterLoop(); });
}

SqliteDossierStore::~SqliteDossierStore() {
  {
    absl::MutexLock lock(&queue_mu_);
    closing_ = true;
  }
  // The writer answers everything still queued before it returns.
  writer_thread_.join();
  // Members then close the readers before the writer: the last connection
  // to close checkpoints the WAL, which a read-only one cannot do.
}

absl::StatusOr<std::unique_ptr<SqliteDossierStore>> SqliteDossierStore::Open(
    const SqliteOptions& options) {
  if (options.path.empty()) {
    return absl::InvalidArgumentError("a database path is required (or \":memory:\")");
  }
  if (options.read_connections < 1 || options.max_batch_writes < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "read_connections and max_batch_writes must be at least 1, got ", options.read_connections,
        " and ", options.max_batch_writes));
  }
  if (options.recent_dossiers < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("recent_dossiers must be at least 0, got ", options.recent_dossiers));
  }
  const bool in_memory = options.path == ":memory:";
  std::unique_ptr<LockFile> lock;
  if (!in_memory) {
    ONESTOP_ASSIGN_OR_RETURN(lock,
                             LockFile::Acquire(absl::StrCat(options.path, ".lock"), options.path));
  }
  ONESTOP_ASSIGN_OR_RETURN(std::unique_ptr<Connection> writer, Connection::Open(options.path));
  if (absl::Status status = Configure(*writer, options); !status.ok()) {
    return OpenError(*writer, options.path, status);
  }
  // Readers open after the writer has switched the file to WAL and migrated
  // it, and all of them now: one opened later could find the file deleted
  // or replaced (docs/DURABILITY.md §6).
  std::vector<std::unique_ptr<Connection>> readers;
  if (!in_memory) {
    for (int i = 0; i < options.read_connections; ++i) {
      ONESTOP_ASSIGN_OR_RETURN(
          std::unique_ptr<Connection> reader,
          Connection::Open(options.path, sqlite_internal::OpenMode::kReadOnly));
      sqlite3_busy_timeout(reader->raw(),
                           static_cast<int>(absl::ToInt64Milliseconds(options.busy_timeout)));
      if (absl::Status status =
              reader->QueryInt64("SELECT count(*) FROM sqlite_master", "opening a reader").status();
          !status.ok()) {
        return OpenError(*reader, options.path, status);
      }
      readers.push_back(std::move(reader));
    }
  }
  absl::StatusOr<int64_t> last_revision = ReadLastRevision(*writer);
  if (!last_revision.ok()) return OpenError(*writer, options.path, last_revision.status());
  return std::unique_ptr<SqliteDossierStore>(
      new SqliteDossierStore(std::move(lock), std::move(writer), std::move(readers),
                             options.max_batch_writes, *last_revision, options.durability,
                             options.recent_dossiers));
}

// ---------------------------------------------------------------------------
// Writes: the queue and the writer thread.

struct SqliteDossierStore::PendingWrite {
  // Exactly one is set; borrowed from the caller, who blocks until `done`
  // (or, for CreateAsync and UpdateAsync, pointing at `owned_create` or
  // `owned_update`).
  const CreateDossierWrite* create = nullptr;
  const UpdateDossierWrite* update = nullptr;
  ImportRequest* import = nullptr;
  // Another component's write: borrowed (SharedWriter::Write), or owned
  // (WriteLater: `owned` is set; nobody waits, and the writer deletes the
  // item after calling `later_done` instead of notifying `done`).
  const absl::FunctionRef<absl::Status(Connection&)>* shared = nullptr;
  absl::AnyInvocable<absl::Status(Connection&)> later;
  absl::AnyInvocable<void(absl::Status) &&> later_done;
  // CreateAsync / UpdateAsync (`async` set): the write, and who is
  // answered instead of `done`.
  CreateDossierWrite owned_create;
  UpdateDossierWrite owned_update;
  WriteDone async_done;
  bool async = false;
  // The writer deletes the item after answering it (WriteLater, CreateAsync,
  // UpdateAsync).
  bool owned = false;
  // Someone waits for the answer, so its batch commits with the store's
  // durability (everything but WriteLater).
  bool awaited = true;
  // Set by the writer before it notifies `done` (for an import: `result`'s
  // status only, and one status per record in `import_results`).
  absl::StatusOr<Dossier> result = absl::UnknownError("not yet written");
  std::vector<absl::Status> import_results;
  // A committed update kept in `recent_`: `result` was moved here, and the
  // caller gets a copy.
  std::shared_ptr<const Dossier> committed;
  absl::Notification done;
};

absl::StatusOr<Dossier> SqliteDossierStore::Create(const CreateDossierWrite& write) {
  ONESTOP_RETURN_IF_ERROR(ValidateCreate(write));
  PendingWrite pending;
  pending.create = &write;
  return Submit(pending);
}

void SqliteDossierStore::CreateAsync(CreateDossierWrite write, WriteDone done) {
  if (absl::Status valid = ValidateCreate(write); !valid.ok()) {
    std::move(done)(valid);
    return;
  }
  auto pending = std::make_unique<PendingWrite>();
  pending->owned_create = std::move(write);
  pending->create = &pending->owned_create;
  EnqueueAsync(std::move(pending), std::move(done));
}

void SqliteDossierStore::UpdateAsync(UpdateDossierWrite write, WriteDone done) {
  if (absl::Status valid = ValidateCounterDeltas(write.counter_deltas); !valid.ok()) {
    std::move(done)(valid);
    return;
  }
  auto pending = std::make_unique<PendingWrite>();
  pending->owned_update = std::move(write);
  pending->update = &pending->owned_update;
  EnqueueAsync(std::move(pending), std::move(done));
}

void SqliteDossierStore::EnqueueAsync(std::unique_ptr<PendingWrite> pending, WriteDone done) {
  pending->async_done = std::move(done);
  pending->async = true;
  pending->owned = true;
  if (absl::Status queued = Enqueue(pending.get()); !queued.ok()) {
    std::move(pending->async_done)(queued);
    return;
  }
  pending.release();  // the writer's now
}

absl::StatusOr<Dossier> SqliteDossierStore::Update(const UpdateDossierWrite& write) {
  ONESTOP_RETURN_IF_ERROR(ValidateCounterDeltas(write.counter_deltas));
  PendingWrite pending;
  pending.update = &write;
  return Submit(pending);
}

absl::StatusOr<std::vector<absl::Status>> SqliteDossierStore::ImportDossiers(
    std::vector<ImportDossierWrite> writes) {
  if (writes.empty()) return std::vector<absl::Status>();
  // Checks and serialization on this thread: the writer thread is the one
  // every write of the daemon waits for.
  ImportRequest request = MakeImportRequest(std::move(writes));
  PendingWrite pending;
  pending.import = &request;
  absl::StatusOr<Dossier> done = Submit(pending);
  if (!done.ok()) return done.status();
  return std::move(pending.import_results);
}

absl::Status SqliteDossierStore::Write(absl::FunctionRef<absl::Status(Connection&)> apply) {
  PendingWrite pending;
  pending.shared = &apply;
  return Submit(pending).status();
}

void SqliteDossierStore::WriteLater(absl::AnyInvocable<absl::Status(Connection&)> apply,
                                    absl::AnyInvocable<void(absl::Status) &&> done) {
  auto pending = std::make_unique<PendingWrite>();
  pending->later = std::move(apply);
  pending->later_done = std::move(done);
  if (!pending->later_done) pending->later_done = [](absl::Status) {};
  pending->owned = true;
  pending->awaited = false;
  if (absl::Status queued = Enqueue(pending.get()); !queued.ok()) {
    std::move(pending->later_done)(queued);
    return;
  }
  pending.release();  // the writer's now
}

absl::Status SqliteDossierStore::Enqueue(PendingWrite* write) {
  absl::MutexLock lock(&queue_mu_);
  if (closing_) return absl::UnavailableError("the dossier store is closing; retry");
  queue_.push_back(write);
  ++unanswered_;
  if (write->awaited) ++queued_awaited_;
  return absl::OkStatus();
}

absl::StatusOr<Dossier> SqliteDossierStore::Submit(PendingWrite& write) {
  ONESTOP_RETURN_IF_ERROR(Enqueue(&write));
  write.done.WaitForNotification();
  if (write.committed != nullptr) return Dossier(*write.committed);
  return std::move(write.result);
}

void SqliteDossierStore::WriterLoop() {
  // Visible in `top -H`, perf and gdb (at most 15 characters).
  pthread_setname_np(pthread_self(), "onestop-writer");
  std::vector<PendingWrite*> batch;
  batch.reserve(static_cast<size_t>(max_batch_writes_));
  while (true) {
    {
      absl::MutexLock lock(&queue_mu_);
      queue_mu_.Await(absl::Condition(this, &SqliteDossierStore::HasWorkOrClosing));
      if (queued_awaited_ == 0 && !closing_) {
        // Only WriteLater items (audit records): nobody waits for them, so
        // they wait a moment to ride along with the next awaited write
        // instead of running a batch of their own in front of it.
        queue_mu_.AwaitWithTimeout(
            absl::Condition(this, &SqliteDossierStore::HasAwaitedWorkOrClosing),
            kLaterWritesWait);
      }
      if (queue_.empty()) return;  // closing, and every write answered
      // Everything that queued up meanwhile (e.g. during the last fsync),
      // except that an import request is a batch of its own (see
      // ApplyImportRequest): it ends the batch before it, or is taken alone.
      while (!queue_.empty() && static_cast<int>(batch.size()) < max_batch_writes_) {
        const bool import = queue_.front()->import != nullptr;
        if (import && !batch.empty()) break;
        if (queue_.front()->awaited) --queued_awaited_;
        batch.push_back(queue_.front());
        queue_.pop_front();
        if (import) break;
      }
    }
    RunBatch(batch);
    {
      absl::MutexLock lock(&queue_mu_);
      unanswered_ -= static_cast<int64_t>(batch.size());
    }
    // A caller may return (destroying its PendingWrite) as soon as notified.
    for (PendingWrite* write : batch) {
      if (write->async) {
        std::move(write->async_done)(write->committed != nullptr
                                         ? absl::StatusOr<Dossier>(Dossier(*write->committed))
                                         : std::move(write->result));
        delete write;
      } else if (write->owned) {
        std::move(write->later_done)(write->result.status());
        delete write;
      } else {
        write->done.Notify();
      }
    }
    batch.clear();
  }
}

void SqliteDossierStore::RunBatch(const std::vector<PendingWrite*>& batch) {
  absl::Duration batch_time;
  absl::Duration commit_time;
  bool batch_failed = false;
  {
    absl::MutexLock lock(&write_mu_);
    Connection& connection = *writer_;
    const absl::Time start = absl::Now();
    // A batch of WriteLater items only (audit records queued after their
    // calls answered) commits without an fsync of its own: the next
    // durable commit's fsync of the WAL covers its frames, and nobody
    // waits for it. At one call in flight this spares every call a second
    // fsync (the previous call's audit batch ahead of it in the writer).
    const bool later_only = std::all_of(batch.begin(), batch.end(), [](const PendingWrite* w) {
      return !w->awaited;
    });
    absl::Status transaction = SetSynchronous(connection, later_only ? Durability::kNormal
                                                                      : durability_);
    // `transaction` turns bad once the batch can no longer commit; every
    // write of the batch then gets its error (below, after the rollback).
    if (transaction.ok()) {
      transaction = RunCached(connection, "BEGIN IMMEDIATE", "starting a transaction");
    }
    // The counter deltas of the batch's successful writes, merged: a
    // batch of submits at one desk on one day touches each counter row
    // once instead of once per write. Still in the same transaction.
    CounterRows counters;
    for (PendingWrite* write : batch) {
      if (!transaction.ok()) {
        write->result = transaction;
        continue;
      }
      if (write->shared != nullptr || write->later) {
        const absl::Status status = RunInSavepoint(
            connection,
            [&] {
              return write->shared != nullptr ? (*write->shared)(connection)
                                              : write->later(connection);
            },
            transaction);
        write->result = status.ok() ? absl::StatusOr<Dossier>(Dossier())
                                    : absl::StatusOr<Dossier>(status);
        continue;
      }
      if (write->import != nullptr) {
        // Alone in its batch (WriterLoop): its error is the transaction's,
        // and rolling that back must not take other writes with it.
        if (batch.size() != 1) {
          write->result = absl::InternalError("an import request must be a batch of its own");
          transaction = write->result.status();
          continue;
        }
        absl::StatusOr<std::vector<absl::Status>> results =
            ApplyImportRequest(connection, *write->import, counters);
        if (results.ok()) {
          write->import_results = *std::move(results);
          write->result = Dossier();
        } else {
          write->result = results.status();
          transaction = results.status();
        }
        continue;
      }
      write->result =
          ApplyInSavepoint(connection, write->create, write->update, counters, transaction);
    }
    if (transaction.ok()) transaction = WriteCounterRows(connection, counters);
    absl::StatusOr<int64_t> last_revision = int64_t{0};
    if (transaction.ok()) {
      last_revision = ReadLastRevision(connection);
      transaction = last_revision.status();
    }
    if (transaction.ok() && recent_.capacity() > 0) {
      // The versions kept of the dossiers this batch updates go before the
      // COMMIT makes the new ones visible: from then until the Puts below,
      // a Get reads the database, never an outdated kept version. (A write
      // that failed changes nothing: its dossier's kept version stays.)
      for (const PendingWrite* write : batch) {
        if (write->update != nullptr && write->result.ok()) {
          recent_.Erase(write->update->dossier.code());
        }
      }
    }
    if (transaction.ok()) {
      const absl::Time commit_start = absl::Now();
      transaction = RunCached(connection, "COMMIT", "committing a transaction");
      commit_time = absl::Now() - commit_start;
    }
    if (transaction.ok()) {
      // Committed: the dossiers updated are now the latest versions of
      // their codes, kept for the next step's read (before any caller is
      // answered or the new revision published, and in commit order: this
      // is the one writer).
      if (recent_.capacity() > 0) {
        for (PendingWrite* write : batch) {
          if (write->update == nullptr || !write->result.ok()) continue;
          write->committed = std::make_shared<const Dossier>(*std::move(write->result));
          recent_.Put(write->committed);
        }
      }
      last_revision_.store(*last_revision, std::memory_order_release);
    }
    if (!transaction.ok()) {
      batch_failed = true;
      // SQLite may already have rolled back (e.g. on SQLITE_FULL); only roll
      // back a transaction that is still open.
      if (sqlite3_get_autocommit(connection.raw()) == 0) {
        connection.Exec("ROLLBACK", "rolling back a transaction").IgnoreError();
      }
      // Every write gets the batch's error, those that had failed on their
      // own too: their failure was judged against writes that are now
      // rolled back (a retry with the same request id that met its first
      // attempt in this batch would otherwise be told ALREADY_EXISTS — "do
      // not retry" — for a request that was never recorded).
      for (PendingWrite* write : batch) write->result = transaction;
    }
    if (later_only && durability_ != Durability::kNormal) {
      // Back to the store's durability for whatever takes the connection
      // next between batches (CompactEvents, Settings, Backup). If this
      // fails, the next durable batch sets it again before its BEGIN and
      // fails rather than commit without it.
      SetSynchronous(connection, durability_).IgnoreError();
    }
    batch_time = absl::Now() - start;
  }

  const int size = static_cast<int>(batch.size());
  int64_t failed = 0;
  for (const PendingWrite* write : batch) failed += write->result.ok() ? 0 : 1;
  int bucket = 0;
  while (bucket + 1 < CommitStats::kBatchSizeBuckets && (size >> (bucket + 1)) > 0) ++bucket;
  absl::MutexLock lock(&stats_mu_);
  ++stats_.batches;
  stats_.writes += size;
  stats_.failed_writes += failed;
  if (batch_failed) ++stats_.failed_batches;
  stats_.last_batch_size = size;
  stats_.max_batch_size = std::max(stats_.max_batch_size, size);
  ++stats_.batch_size_histogram[bucket];
  stats_.total_commit_time += commit_time;
  stats_.max_commit_time = std::max(stats_.max_commit_time, commit_time);
  stats_.total_batch_time += batch_time;
  stats_.max_batch_time = std::max(stats_.max_batch_time, batch_time);
}

CommitStats SqliteDossierStore::GetCommitStats() const {
  CommitStats stats;
  {
    absl::MutexLock lock(&stats_mu_);
    stats = stats_;
  }
  absl::MutexLock lock(&queue_mu_);
  stats.queued_writes = static_cast<int64_t>(queue_.size());
  stats.unanswered_writes = unanswered_;
  return stats;
}

// ---------------------------------------------------------------------------
// Reads: a pooled read-only connection, or the write connection for
// ":memory:".

class SqliteDossierStore::ReadLease {
 public:
  // Blocks until a reader is free (for ":memory:": until no batch runs).
  explicit ReadLease(SqliteDossierStore& store) ABSL_NO_THREAD_SAFETY_ANALYSIS : store_(store) {
    if (store_.readers_.empty()) {
      store_.write_mu_.Lock();
      connection_ = store_.writer_.get();
      return;
    }
    absl::MutexLock lock(&store_.pool_mu_);
    store_.pool_mu_.Await(absl::Condition(&store_, &SqliteDossierStore::HasIdleReader));
    connection_ = store_.idle_readers_.back();
    store_.idle_readers_.pop_back();
  }
  ~ReadLease() ABSL_NO_THREAD_SAFETY_ANALYSIS {
    if (store_.readers_.empty()) {
      store_.write_mu_.Unlock();
      return;
    }
    absl::MutexLock lock(&store_.pool_mu_);
    store_.idle_readers_.push_back(connection_);
  }
  ReadLease(const ReadLease&) = delete;
  ReadLease& operator=(const ReadLease&) = delete;

  // Valid while the lease lives. Statements prepared on it must be gone
  // (reset) before the lease ends: declare the lease first.
  Connection& connection() const { return *connection_; }

 private:
  SqliteDossierStore& store_;
  Connection* connection_ = nullptr;
};

std::optional<Dossier> SqliteDossierStore::GetFromMemory(const std::string& code) {
  std::shared_ptr<const Dossier> recent = recent_.Find(code, RecentDossiers::MissCount::kSkip);
  if (recent == nullptr) return std::nullopt;
  return Dossier(*recent);
}

absl::StatusOr<Dossier> SqliteDossierStore::Get(const std::string& code) {
  if (std::shared_ptr<const Dossier> recent = recent_.Find(code); recent != nullptr) {
    return Dossier(*recent);
  }
  ReadLease lease(*this);
  Connection& connection = lease.connection();
  Dossier result;
  ONESTOP_RETURN_IF_ERROR(InTransaction(connection, TransactionKind::kRead, [&]() -> absl::Status {
    ONESTOP_ASSIGN_OR_RETURN(
        Statement stmt,
        connection.Prepare("SELECT position, code, etag, body FROM dossiers WHERE code = ?"));
    stmt.BindText(1, code);
    ONESTOP_ASSIGN_OR_RETURN(const bool found, stmt.Step("reading the dossier"));
    if (!found) return absl::NotFoundError(absl::StrCat("dossier ", code, " not found"));
    int64_t position = 0;
    ONESTOP_RETURN_IF_ERROR(ReadDossierRow(stmt, result, position));
    return ReadHistory(connection, position, result);
  }));
  return result;
}

absl::StatusOr<DossierPage> SqliteDossierStore::List(const DossierQuery& query) {
  if (query.page_size < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("page size must be at least 1, got ", query.page_size));
  }
  // The filters other than the agencies, each " AND …", and their values.
  std::string filters;
  std::vector<std::variant<int64_t, std::string>> filter_params;
  if (query.status != onestop::v1::DOSSIER_STATUS_UNSPECIFIED) {
    absl::StrAppend(&filters, " AND status = ?");
    filter_params.emplace_back(static_cast<int64_t>(query.status));
  }
  if (!query.procedure_code.empty()) {
    absl::StrAppend(&filters, " AND procedure_code = ?");
    filter_params.emplace_back(query.procedure_code);
  }
  if (query.open_and_due_before.has_value()) {
    absl::StrAppend(&filters, " AND ", kOpenStatusSql, " AND due_time_us < ?");
    filter_params.emplace_back(absl::ToUnixMicros(*query.open_and_due_before));
  }
  if (query.open_and_due_not_before.has_value()) {
    absl::StrAppend(&filters, " AND ", kOpenStatusSql, " AND due_time_us >= ?");
    filter_params.emplace_back(absl::ToUnixMicros(*query.open_and_due_not_before));
  }
  if (query.before_position > 0) {
    absl::StrAppend(&filters, " AND position < ?");
    filter_params.emplace_back(query.before_position);
  }
  const int64_t limit = static_cast<int64_t>(query.page_size) + 1;
  const auto bind_all = [](Statement& stmt,
                           const std::vector<std::variant<int64_t, std::string>>& values,
                           int first) {
    for (size_t i = 0; i < values.size(); ++i) {
      const int index = first + static_cast<int>(i);
      if (const int64_t* value = std::get_if<int64_t>(&values[i])) {
        stmt.BindInt64(index, *value);
      } else {
        stmt.BindText(index, std::get<std::string>(values[i]));
      }
    }
  };
  ReadLease lease(*this);
  Connection& connection = lease.connection();
  DossierPage page;
  if (query.agency_codes.empty()) {
    ONESTOP_ASSIGN_OR_RETURN(
        Statement stmt,
        connection.Prepare(absl::StrCat("SELECT position, code, etag, body FROM dossiers WHERE 1 = 1",
                                        filters, " ORDER BY position DESC LIMIT ?")));
    bind_all(stmt, filter_params, 1);
    stmt.BindInt64(static_cast<int>(filter_params.size()) + 1, limit);
    while (true) {
      ONESTOP_ASSIGN_OR_RETURN(const bool row, stmt.Step("listing dossiers"));
      if (!row) break;
      if (static_cast<int>(page.dossiers.size()) == query.page_size) {
        page.more = true;
        break;
      }
      int64_t position = 0;
      ONESTOP_RETURN_IF_ERROR(ReadDossierRow(stmt, page.dossiers.emplace_back(), position));
      page.last_position = position;
    }
    return page;
  }
  // "The receiving or the holding agency is one of the codes" as one
  // branch per (column, code), each walking its (agency, position) index
  // newest first and stopping after `limit` entries; then the newest `limit`
  // positions of all branches are read. Filtered by agency alone, the work
  // is bounded by 2 × codes × limit index entries whatever the agencies
  // hold: a desk's list (one code) and a district's (the district and its
  // communes) alike; other filters make a branch walk on to a page of matches.
  // An OR or IN over the codes instead makes SQLite collect every matching
  // row before sorting (seconds for a desk with millions of dossiers,
  // measured at 3 M). One read transaction: every branch sees one snapshot.
  ONESTOP_RETURN_IF_ERROR(InTransaction(connection, TransactionKind::kRead, [&]() -> absl::Status {
    std::vector<int64_t> positions;
    for (const absl::string_view column : {"receiving_agency", "holder_agency"}) {
      ONESTOP_ASSIGN_OR_RETURN(
          Statement branch,
          connection.Prepare(absl::StrCat("SELECT position FROM dossiers WHERE ", column, " = ?",
                                          filters, " ORDER BY position DESC LIMIT ?")));
      for (const std::string& code : query.agency_codes) {
        branch.BindText(1, code);
        bind_all(branch, filter_params, 2);
        branch.BindInt64(static_cast<int>(filter_params.size()) + 2, limit);
        while (true) {
          ONESTOP_ASSIGN_OR_RETURN(const bool row, branch.Step("listing dossiers"));
          if (!row) break;
          positions.push_back(branch.ColumnInt64(0));
        }
        branch.Reset();
      }
    }
    // Newest first, each dossier once (it may match as receiver and holder).
    std::sort(positions.begin(), positions.end(), std::greater<int64_t>());
    positions.erase(std::unique(positions.begin(), positions.end()), positions.end());
    if (positions.size() > static_cast<size_t>(limit)) positions.resize(limit);
    ONESTOP_ASSIGN_OR_RETURN(
        Statement row,
        connection.Prepare("SELECT position, code, etag, body FROM dossiers WHERE position = ?"));
    for (const int64_t position : positions) {
      if (static_cast<int>(page.dossiers.size()) == query.page_size) {
        page.more = true;
        break;
      }
      row.BindInt64(1, position);
      ONESTOP_ASSIGN_OR_RETURN(const bool found, row.Step("listing dossiers"));
      if (!found) return absl::InternalError("a listed dossier vanished within one snapshot");
      int64_t read_position = 0;
      ONESTOP_RETURN_IF_ERROR(ReadDossierRow(row, page.dossiers.emplace_back(), read_position));
      page.last_position = read_position;
      row.Reset();
    }
    return absl::OkStatus();
  }));
  return page;
}

absl::StatusOr<std::optional<RecordedRequest>> SqliteDossierStore::FindRequest(
    const std::string& request_id) {
  ReadLease lease(*this);
  ONESTOP_ASSIGN_OR_RETURN(Statement stmt,
                           lease.connection().Prepare(
                               "SELECT fingerprint, response FROM requests WHERE request_id = ?"));
  stmt.BindText(1, request_id);
  ONESTOP_ASSIGN_OR_RETURN(const bool found, stmt.Step("reading the request record"));
  if (!found) return std::nullopt;
  RecordedRequest recorded;
  recorded.fingerprint = std::string(stmt.ColumnBlob(0));
  ONESTOP_RETURN_IF_ERROR(ParseBody(stmt.ColumnBlob(1), recorded.response,
                                    "the response of request ", request_id));
  return recorded;
}

absl::StatusOr<std::vector<DossierEvent>> SqliteDossierStore::ReadEvents(int64_t after_revision,
                                                                         int limit) {
  if (limit < 1) {
    return absl::InvalidArgumentError(absl::StrCat("event limit must be at least 1, got ", limit));
  }
  ReadLease lease(*this);
  ONESTOP_ASSIGN_OR_RETURN(
      Statement stmt,
      lease.connection().Prepare(
          "SELECT revision, body FROM events WHERE revision > ? ORDER BY revision LIMIT ?"));
  stmt.BindInt64(1, after_revision);
  stmt.BindInt64(2, limit);
  std::vector<DossierEvent> events;
  while (true) {
    ONESTOP_ASSIGN_OR_RETURN(const bool row, stmt.Step("reading events"));
    if (!row) return events;
    DossierEvent& event = events.emplace_back();
    ONESTOP_RETURN_IF_ERROR(
        ParseBody(stmt.ColumnBlob(1), event, "event ", stmt.ColumnInt64(0)));
    event.set_revision(stmt.ColumnInt64(0));
  }
}

absl::StatusOr<int64_t> SqliteDossierStore::LastRevision() {
  // Kept by the writer (the only one: the lock file), read at Open and
  // after every batch: NotifyingDossierStore asks after every write.
  return last_revision_.load(std::memory_order_acquire);
}

absl::StatusOr<int64_t> SqliteDossierStore::FirstRevision() {
  ReadLease lease(*this);
  // The newest event is never compacted, so an empty table means no event
  // was ever written: the first revision will be 1.
  return lease.connection().QueryInt64("SELECT COALESCE(MIN(revision), 1) FROM events",
                                 "reading the first revision");
}

absl::StatusOr<int64_t> SqliteDossierStore::CompactEvents(int64_t before_revision) {
  int64_t deleted = 0;
  while (true) {
    // Between the writer's batches, on the write connection.
    absl::MutexLock lock(&write_mu_);
    Connection& connection = *writer_;
    int64_t chunk = 0;
    ONESTOP_RETURN_IF_ERROR(
        InTransaction(connection, TransactionKind::kWrite, [&]() -> absl::Status {
          // Never the newest event: revisions are MAX + 1, so keeping it
          // keeps every later revision higher than any ever issued.
          ONESTOP_ASSIGN_OR_RETURN(
              Statement stmt,
              connection.Prepare(
                  "DELETE FROM events WHERE revision < ?1 AND revision < (SELECT MAX(revision) "
                  "FROM events) AND revision < (SELECT MIN(revision) FROM events) + ?2"));
          stmt.BindInt64(1, before_revision);
          stmt.BindInt64(2, kCompactionChunk);
          ONESTOP_RETURN_IF_ERROR(stmt.Run("compacting events"));
          chunk = sqlite3_changes(connection.raw());
          return absl::OkStatus();
        }));
    deleted += chunk;
    if (chunk < kCompactionChunk) return deleted;
  }
}

absl::StatusOr<std::vector<CounterSums>> SqliteDossierStore::SumCounters(const CounterQuery& query) {
  ONESTOP_ASSIGN_OR_RETURN(const std::vector<RunParams> ranges, RunParamsOfQuery(query));
  ReadLease lease(*this);
  Connection& connection = lease.connection();
  std::vector<CounterSums> result;
  ONESTOP_RETURN_IF_ERROR(InTransaction(connection, TransactionKind::kRead, [&]() -> absl::Status {
    std::vector<std::string> names(query.series.begin(), query.series.end());
    // Distinct series under each prefix, one index seek per series.
    ONESTOP_ASSIGN_OR_RETURN(
        Statement next_from,
        connection.Prepare("SELECT series FROM report_counters WHERE series >= ? AND series < ? "
                           "ORDER BY series LIMIT 1"));
    ONESTOP_ASSIGN_OR_RETURN(
        Statement next_after,
        connection.Prepare("SELECT series FROM report_counters WHERE series > ? AND series < ? "
                           "ORDER BY series LIMIT 1"));
    for (const std::string& prefix : query.series_prefixes) {
      std::string end = PrefixEnd(prefix);
      if (end.empty()) end = std::string(1024, '\xff');
      std::string last;
      bool first = true;
      while (true) {
        Statement& stmt = first ? next_from : next_after;
        stmt.Reset();
        stmt.BindText(1, first ? prefix : last);
        stmt.BindText(2, end);
        ONESTOP_ASSIGN_OR_RETURN(const bool row, stmt.Step("listing counter series"));
        if (!row) break;
        last = std::string(stmt.ColumnText(0));
        ONESTOP_RETURN_IF_ERROR(stmt.Run("listing counter series"));
        names.push_back(last);
        first = false;
      }
    }
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());

    std::string sql = "SELECT COUNT(*), SUM(v0), SUM(v1), SUM(v2), SUM(v3), SUM(v4), SUM(v5), SUM(v6), SUM(v7), SUM(v8), SUM(v9), SUM(v10), SUM(v11), SUM(v12), SUM(v13), SUM(v14), SUM(v15), SUM(v16), SUM(v17), SUM(v18), SUM(v19), SUM(v20), SUM(v21), SUM(v22), SUM(v23) FROM report_counters WHERE series = ? AND (";
    for (size_t i = 0; i < kMaxRunsPerRange; ++i) {
      absl::StrAppend(&sql, i == 0 ? "" : " OR ", "(grain = ? AND bucket BETWEEN ? AND ?)");
    }
    absl::StrAppend(&sql, ")");
    ONESTOP_ASSIGN_OR_RETURN(Statement sum, connection.Prepare(sql));
    for (const std::string& name : names) {
      CounterSums sums;
      sums.series = name;
      bool any = false;
      for (const RunParams& range : ranges) {
        sum.Reset();
        sum.BindText(1, name);
        for (size_t i = 0; i < range.size(); ++i) {
          sum.BindInt64(2 + static_cast<int>(i), range[i]);
        }
        ONESTOP_ASSIGN_OR_RETURN(const bool row, sum.Step("summing report counters"));
        if (!row) return absl::InternalError("summing report counters returned no row");
        CounterValues& values = sums.sums.emplace_back();
        any = any || sum.ColumnInt64(0) > 0;
        for (int i = 0; i < kCounterSlots; ++i) values[i] = sum.ColumnInt64(1 + i);
        ONESTOP_RETURN_IF_ERROR(sum.Run("summing report counters"));
      }
      if (any) result.push_back(std::move(sums));
    }
    return absl::OkStatus();
  }));
  return result;
}

absl::StatusOr<DossierCounts> SqliteDossierStore::CountDossiers(const CountQuery& query) {
  ONESTOP_RETURN_IF_ERROR(ValidateCountQuery(query));
  // Infinite instants clamp to the extreme microsecond counts.
  const int64_t due_before = absl::ToUnixMicros(query.due_before);
  const int64_t due_soon_before = absl::ToUnixMicros(query.due_soon_before);
  ReadLease lease(*this);
  Connection& connection = lease.connection();
  DossierCounts counts;
  ONESTOP_RETURN_IF_ERROR(InTransaction(connection, TransactionKind::kRead, [&]() -> absl::Status {
    ONESTOP_ASSIGN_OR_RETURN(
        Statement by_status,
        connection.Prepare("SELECT status, COUNT(*) FROM dossiers GROUP BY status"));
    while (true) {
      ONESTOP_ASSIGN_OR_RETURN(const bool row, by_status.Step("counting dossiers by status"));
      if (!row) break;
      counts.by_status[static_cast<onestop::v1::DossierStatus>(by_status.ColumnInt64(0))] =
          by_status.ColumnInt64(1);
    }
    // The open statuses as in List; NULL due times match neither window.
    ONESTOP_ASSIGN_OR_RETURN(
        Statement by_agency,
        connection.Prepare(absl::StrCat(
            "SELECT COALESCE(receiving_agency, ''), SUM(due_time_us < ?1), "
            "SUM(due_time_us >= ?1) FROM dossiers WHERE ", kOpenStatusSql,
            " AND due_time_us < ?2 GROUP BY 1 ORDER BY 1")));
    by_agency.BindInt64(1, due_before);
    by_agency.BindInt64(2, due_soon_before);
    while (true) {
      ONESTOP_ASSIGN_OR_RETURN(const bool row, by_agency.Step("counting open dossiers by agency"));
      if (!row) break;
      AgencyDueCounts& agency = counts.by_agency.emplace_back();
      agency.agency_code = std::string(by_agency.ColumnText(0));
      agency.overdue = by_agency.ColumnInt64(1);
      agency.due_soon = by_agency.ColumnInt64(2);
    }
    return absl::OkStatus();
  }));
  return counts;
}

absl::StatusOr<SqliteSettings> SqliteDossierStore::Settings() {
  absl::MutexLock lock(&write_mu_);
  Connection& connection = *writer_;
  SqliteSettings settings;
  ONESTOP_ASSIGN_OR_RETURN(settings.journal_mode,
                           connection.QueryText("PRAGMA journal_mode", "reading journal_mode"));
  ONESTOP_ASSIGN_OR_RETURN(const int64_t synchronous,
                           connection.QueryInt64("PRAGMA synchronous", "reading synchronous"));
  ONESTOP_ASSIGN_OR_RETURN(const int64_t foreign_keys,
                           connection.QueryInt64("PRAGMA foreign_keys", "reading foreign_keys"));
  ONESTOP_ASSIGN_OR_RETURN(settings.busy_timeout_ms,
                           connection.QueryInt64("PRAGMA busy_timeout", "reading busy_timeout"));
  ONESTOP_ASSIGN_OR_RETURN(const int64_t version,
                           connection.QueryInt64("PRAGMA user_version", "reading user_version"));
  ONESTOP_ASSIGN_OR_RETURN(const int64_t temp_store,
                           connection.QueryInt64("PRAGMA temp_store", "reading temp_store"));
  settings.synchronous = static_cast<int>(synchronous);
  settings.temp_store = static_cast<int>(temp_store);
  settings.memory_statistics = sqlite3_memory_used() != 0;
  settings.foreign_keys = foreign_keys != 0;
  settings.schema_version = static_cast<int>(version);
  return settings;
}

absl::Status SqliteDossierStore::Backup(const std::string& destination) {
  std::string source;
  {
    absl::MutexLock lock(&write_mu_);
    const char* name = sqlite3_db_filename(writer_->raw(), "main");
    source = name == nullptr ? "" : name;
  }
  if (source.empty()) {
    return absl::FailedPreconditionError("an in-memory database cannot be backed up");
  }
  if (destination.empty() || destination == source) {
    return absl::FailedPreconditionError(
        absl::StrCat("backup destination \"", destination,
                     "\" must be a new file, not the database itself"));
  }
  sqlite3* from = nullptr;
  sqlite3* to = nullptr;
  auto close_both = [&] {
    if (from != nullptr) sqlite3_close_v2(from);
    if (to != nullptr) sqlite3_close_v2(to);
  };
  int rc = sqlite3_open_v2(source.c_str(), &from, SQLITE_OPEN_READONLY, nullptr);
  if (rc == SQLITE_OK) {
    sqlite3_busy_timeout(from, 5000);
    std::remove(destination.c_str());
    rc = sqlite3_open_v2(destination.c_str(), &to, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                         nullptr);
  }
  if (rc != SQLITE_OK) {
    const absl::Status status =
        SqliteError(rc, absl::StrCat("opening the backup of ", source, " to ", destination));
    close_both();
    return status;
  }
  sqlite3_backup* backup = sqlite3_backup_init(to, "main", from, "main");
  if (backup == nullptr) {
    const absl::Status status = SqliteError(sqlite3_errcode(to),
                                            absl::StrCat("starting the backup to ", destination));
    close_both();
    return status;
  }
  // One step copies every page inside one read transaction: a snapshot.
  rc = sqlite3_backup_step(backup, -1);
  const int finish_rc = sqlite3_backup_finish(backup);
  if (rc == SQLITE_DONE) rc = finish_rc;
  if (rc == SQLITE_OK) {
    // The copy is a plain rollback-journal database, fully synced.
    char* error = nullptr;
    rc = sqlite3_exec(to, "PRAGMA journal_mode=DELETE;",
                      nullptr, nullptr, &error);
    sqlite3_free(error);
  }
  const absl::Status status =
      rc == SQLITE_OK ? absl::OkStatus()
                      : SqliteError(rc, absl::StrCat("copying the database to ", destination));
  close_both();
  if (!status.ok()) std::remove(destination.c_str());
  return status;
}

}  // namespace onestop::storage
