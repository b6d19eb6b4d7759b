#include "tools/migrate/sqlite_to_postgres.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "onestop/v1/dossier.pb.h"
#include "server/util/status_macros.h"
#include "storage/blobs/postgres_blob_store.h"
#include "storage/blobs/sha256.h"
#include "storage/dossier_store.h"
#include "storage/postgres/pg_util.h"
#include "storage/postgres/postgres_dossier_store.h"
#include "storage/security/postgres_security_store.h"
#include "storage/sqlite/lock_file.h"
#include "storage/sqlite/schema.h"
#include "storage/sqlite/sqlite_util.h"

namespace onestop::migrate {
namespace {

namespace pg = ::onestop::storage::pg;
namespace sq = ::onestop::storage::sqlite_internal;
using ::onestop::storage::Sha256;

// The advisory-lock key that keeps two migrations out of one target
// ("ONESMIGR" in ASCII, masked to 63 bits).
constexpr int64_t kMigrationLockKey = 0x4f4e45534d494752 & 0x7fffffffffffffff;
// report_counters shards at and above this belong to migrated sources (the
// daemons use 0 … counter_shards − 1).
constexpr int64_t kFirstMigrationShard = 1000000;

// Migrate's own tables in the target. `migration_sources`: one row per
// source ever migrated into it — the fingerprint of the snapshot first
// copied (row counts and last keys: a changed source is refused), the
// report_counters shard holding its counters, and whether it verified.
// `migration_progress`: one row per (source, step), updated in the same
// transaction as each chunk. The staging tables hold the events and audit
// records of a source between their chunked copy and the one short
// transaction that appends them (CopyRenumbered); they are emptied after.
// They are created after the stores' schemas (LIKE events / audit).
constexpr char kMigrationSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS migration_sources (
  source_id     TEXT    PRIMARY KEY,
  source_state  TEXT    NOT NULL,
  counter_shard BIGINT  NOT NULL UNIQUE,
  started_us    BIGINT  NOT NULL,
  verified      BOOLEAN NOT NULL DEFAULT FALSE,
  verified_us   BIGINT
);
CREATE TABLE IF NOT EXISTS migration_progress (
  source_id      TEXT    NOT NULL,
  step           TEXT    NOT NULL,
  resume_key     TEXT    NOT NULL DEFAULT '',
  rows_done      BIGINT  NOT NULL DEFAULT 0,
  done           BOOLEAN NOT NULL DEFAULT FALSE,
  appended_after BIGINT,
  updated_us     BIGINT  NOT NULL,
  PRIMARY KEY (source_id, step)
);
CREATE TABLE IF NOT EXISTS migration_staged_events (
  source_id TEXT   NOT NULL,
  rank      BIGINT NOT NULL,
  LIKE events,
  PRIMARY KEY (source_id, rank)
);
CREATE TABLE IF NOT EXISTS migration_staged_audit (
  source_id TEXT   NOT NULL,
  rank      BIGINT NOT NULL,
  LIKE audit,
  PRIMARY KEY (source_id, rank)
);
)sql";

// ---- Rows ------------------------------------------------------------------

// One column value, as read from either engine.
struct Field {
  enum Kind : char { kNull = 'N', kInt = 'I', kBytes = 'B' } kind = kNull;
  int64_t i = 0;
  std::string s;
  bool operator==(const Field& o) const { return kind == o.kind && i == o.i && s == o.s; }
};
using Row = std::vector<Field>;

Field IntField(int64_t v) { return Field{Field::kInt, v, {}}; }
Field BytesField(absl::string_view v) { return Field{Field::kBytes, 0, std::string(v)}; }

// `types`: one letter per column: 'i' integer, 't' text, 'b' bytes.
Row ReadSqlite(const sq::Statement& stmt, absl::string_view types, int first_column = 0) {
  Row row;
  row.reserve(types.size());
  for (size_t c = 0; c < types.size(); ++c) {
    const int column = first_column + static_cast<int>(c);
    if (stmt.ColumnIsNull(column)) {
      row.push_back(Field{});
    } else if (types[c] == 'i') {
      row.push_back(IntField(stmt.ColumnInt64(column)));
    } else {
      row.push_back(BytesField(stmt.ColumnBlob(column)));
    }
  }
  return row;
}

Row ReadPg(const pg::Result& result, int r, absl::string_view types, int first_column = 0) {
  Row row;
  row.reserve(types.size());
  for (size_t c = 0; c < types.size(); ++c) {
    const int column = first_column + static_cast<int>(c);
    if (result.IsNull(r, column)) {
      row.push_back(Field{});
    } else if (types[c] == 'i') {
      row.push_back(IntField(result.Int64(r, column)));
    } else {
      row.push_back(BytesField(result.Bytes(r, column)));
    }
  }
  return row;
}

std::vector<pg::Param> ToParams(const Row& row, absl::string_view types) {
  std::vector<pg::Param> params;
  params.reserve(row.size());
  for (size_t c = 0; c < row.size(); ++c) {
    const Field& f = row[c];
    if (f.kind == Field::kNull) {
      params.push_back(pg::Param::Null());
    } else if (types[c] == 'i') {
      params.push_back(pg::Param::Int64(f.i));
    } else if (types[c] == 't') {
      params.push_back(pg::Param::Text(f.s));
    } else {
      params.push_back(pg::Param::Bytes(f.s));
    }
  }
  return params;
}

// Feeds a canonical, unambiguous encoding of `row` into `hash`.
void HashRow(Sha256& hash, const Row& row) {
  for (const Field& f : row) {
    char tag = static_cast<char>(f.kind);
    hash.Update(absl::string_view(&tag, 1));
    if (f.kind == Field::kInt) {
      hash.Update(absl::StrCat(f.i, ";"));
    } else if (f.kind == Field::kBytes) {
      hash.Update(absl::StrCat(f.s.size(), ":"));
      hash.Update(f.s);
    }
  }
  hash.Update("\n");
}

// How a renumbered step (events, audit) landed: numbers kept (an empty
// target) or appended after the target's last number.
std::string Placement(const std::optional<int64_t>& appended_after) {
  if (!appended_after.has_value()) return "kept";
  return absl::StrCat("appended after ", *appended_after);
}

// ---- The source ------------------------------------------------------------

class Source {
 public:
  static absl::StatusOr<std::unique_ptr<Source>> Open(const std::string& path) {
    struct stat st;
    if (stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
      return absl::NotFoundError(
          absl::StrCat("source database ", path, " does not exist (or is not a file)"));
    }
    absl::StatusOr<std::unique_ptr<sq::LockFile>> lock =
        sq::LockFile::Acquire(absl::StrCat(path, ".lock"), path);
    if (!lock.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat(lock.status().message(), "; stop onestopd first (the source must not "
                                                "change while it is copied)"));
    }
    ONESTOP_ASSIGN_OR_RETURN(std::unique_ptr<sq::Connection> db,
                             sq::Connection::Open(path, sq::OpenMode::kReadWrite));
    auto source = std::unique_ptr<Source>(new Source(path, *std::move(lock), std::move(db)));
    ONESTOP_RETURN_IF_ERROR(source->Check());
    return source;
  }

  ~Source() {
    if (in_transaction_) db_->Exec("ROLLBACK", "ending the source snapshot").IgnoreError();
  }

  sq::Connection& db() { return *db_; }
  bool has_counters() const { return has_counters_; }
  bool has_security() const { return has_security_; }
  bool has_blobs() const { return has_blobs_; }

  absl::StatusOr<int64_t> Count(const std::string& sql) {
    return db_->QueryInt64(sql, "counting source rows");
  }

 private:
  Source(std::string path, std::unique_ptr<sq::LockFile> lock, std::unique_ptr<sq::Connection> db)
      : path_(std::move(path)), lock_(std::move(lock)), db_(std::move(db)) {}

  absl::Status NotOnestop(absl::string_view why) {
    return absl::FailedPreconditionError(
        absl::StrCat("source ", path_, " is not an onestop database (", why, ")"));
  }

  absl::Status Check() {
    absl::StatusOr<int64_t> application_id =
        db_->QueryInt64("PRAGMA application_id", "reading application_id");
    if (!application_id.ok()) return NotOnestop(application_id.status().message());
    if (*application_id != sq::kOnestopApplicationId) {
      return NotOnestop(absl::StrCat("application_id ", *application_id));
    }
    ONESTOP_ASSIGN_OR_RETURN(const int64_t version,
                             db_->QueryInt64("PRAGMA user_version", "reading schema version"));
    if (version < 1) return NotOnestop("no schema");
    if (version > sq::kLatestSchemaVersion) {
      return absl::FailedPreconditionError(absl::StrCat(
          "source ", path_, " has schema version ", version, ", newer than this onestopctl (",
          sq::kLatestSchemaVersion, "); use the onestopctl of the same release as onestopd"));
    }
    // One read transaction for everything: a consistent snapshot (the lock
    // keeps writers out anyway).
    ONESTOP_RETURN_IF_ERROR(db_->Exec("BEGIN", "starting the source snapshot"));
    in_transaction_ = true;
    ONESTOP_ASSIGN_OR_RETURN(has_counters_, HasTable("report_counters"));
    ONESTOP_ASSIGN_OR_RETURN(const bool tokens, HasTable("tokens"));
    ONESTOP_ASSIGN_OR_RETURN(const bool audit, HasTable("audit"));
    has_security_ = tokens && audit;
    ONESTOP_ASSIGN_OR_RETURN(const bool blobs, HasTable("blobs"));
    ONESTOP_ASSIGN_OR_RETURN(const bool chunks, HasTable("blob_chunks"));
    ONESTOP_ASSIGN_OR_RETURN(const bool claims, HasTable("blob_claims"));
    has_blobs_ = blobs && chunks && claims;
    return absl::OkStatus();
  }

  absl::StatusOr<bool> HasTable(absl::string_view name) {
    ONESTOP_ASSIGN_OR_RETURN(
        sq::Statement stmt,
        db_->Prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"));
    stmt.BindText(1, name);
    return stmt.Step("reading the source schema");
  }

  const std::string path_;
  std::unique_ptr<sq::LockFile> lock_;
  std::unique_ptr<sq::Connection> db_;
  bool in_transaction_ = false;
  bool has_counters_ = false;
  bool has_security_ = false;
  bool has_blobs_ = false;
};

// ---- Keyed tables ----------------------------------------------------------

// A table copied in chunks by key, and verified by the same key.
struct KeyedTable {
  const char* step;
  // Source: COUNT(*) and the rows after a key, in key order. The SELECT
  // returns the `key_types` columns first (the resume key), then the
  // `types` columns (the row as written to the target); its parameters are
  // the key's columns, then the LIMIT.
  const char* source_count;
  const char* source_select;
  const char* key_types;  // 'i' / 't' per key column
  const char* types;
  // Target: INSERT … ON CONFLICT DO NOTHING (or DO UPDATE) of `types`.
  const char* target_insert;
  // Target: the rows whose lookup key is in $1 (text[]): the lookup key
  // column(s) first (`lookup_types`), then the `types` columns.
  const char* target_fetch;
  const char* lookup_types;
  // The lookup key of a source row (of `types` columns) / a target row.
  std::string (*lookup_of)(const Row& row);
  // What the target row's column 0 text array is built from.
  std::string (*array_key_of)(const Row& row);
  // For an existing target row: OK if it is compatible with the source
  // row, else the conflict. Null: existing rows are simply kept.
  absl::Status (*check_existing)(const Row& source, const Row& target);
  // For verification: the target row as compared (e.g. code_sequences:
  // target ≥ source reads as equal). Null: as read.
  Row (*normalize)(const Row& source, Row target);
};

std::string FirstText(const Row& row) { return row[0].s; }
std::string CodeAndSequence(const Row& row) { return absl::StrCat(row[0].s, "\x1f", row[1].i); }

absl::Status DossierConflict(const Row& source, const Row& target) {
  if (source == target) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      "dossier ", source[0].s,
      " already exists in the target with different content; nothing more was copied (two "
      "deployments issued the same code: resolve it by hand, then run migrate again)"));
}

absl::Status RequestConflict(const Row& source, const Row& target) {
  if (source == target) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      "request_id ", source[0].s,
      " already exists in the target with different content (another deployment used the same "
      "idempotency key); nothing more was copied: resolve it by hand, then run migrate again"));
}

absl::Status HistoryConflict(const Row& source, const Row& target) {
  if (source == target) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat("history entry ", source[1].i, " of dossier ", source[0].s,
                   " already exists in the target with different content"));
}

Row AtLeast(const Row& source, Row target) {
  // code_sequences: the target may be ahead (its own daemons allocated
  // more); that is as good as equal.
  if (target.size() == 2 && source.size() == 2 && target[1].kind == Field::kInt &&
      source[1].kind == Field::kInt && target[1].i >= source[1].i) {
    target[1] = source[1];
  }
  return target;
}

const KeyedTable kDossiers = {
    "dossiers",
    "SELECT count(*) FROM dossiers",
    "SELECT position, code, etag, receiving_agency, holder_agency, procedure_code, status, "
    "due_time_us, submitted_time_us, body FROM dossiers WHERE position > ? ORDER BY position "
    "LIMIT ?",
    "i",
    "titttiiib",
    "INSERT INTO dossiers (code, etag, receiving_agency, holder_agency, procedure_code, status, "
    "due_time_us, submitted_time_us, body) VALUES ($1::text, $2::bigint, $3::text, $4::text, "
    "$5::text, $6::bigint, $7::bigint, $8::bigint, $9::bytea) ON CONFLICT (code) DO NOTHING",
    "SELECT code, code, etag, receiving_agency, holder_agency, procedure_code, status, "
    "due_time_us, submitted_time_us, body FROM dossiers WHERE code = ANY($1::text[])",
    "t",
    FirstText,
    FirstText,
    DossierConflict,
    nullptr,
};

const KeyedTable kHistory = {
    "history",
    "SELECT count(*) FROM history",
    "SELECT h.dossier_position, h.sequence, d.code, h.sequence, h.body FROM history h JOIN "
    "dossiers d ON d.position = h.dossier_position WHERE (h.dossier_position, h.sequence) > "
    "(?, ?) ORDER BY h.dossier_position, h.sequence LIMIT ?",
    "ii",
    "tib",
    "INSERT INTO history (dossier_code, sequence, body) VALUES ($1::text, $2::bigint, "
    "$3::bytea) ON CONFLICT (dossier_code, sequence) DO NOTHING",
    "SELECT dossier_code, sequence, dossier_code, sequence, body FROM history WHERE "
    "dossier_code = ANY($1::text[])",
    "ti",
    CodeAndSequence,
    FirstText,
    HistoryConflict,
    nullptr,
};

const KeyedTable kRequests = {
    "requests",
    "SELECT count(*) FROM requests",
    "SELECT request_id, request_id, fingerprint, dossier_code, response, created_time_us FROM "
    "requests WHERE request_id > ? ORDER BY request_id LIMIT ?",
    "t",
    "tbtbi",
    "INSERT INTO requests (request_id, fingerprint, dossier_code, response, created_time_us) "
    "VALUES ($1::text, $2::bytea, $3::text, $4::bytea, $5::bigint) ON CONFLICT (request_id) DO "
    "NOTHING",
    "SELECT request_id, request_id, fingerprint, dossier_code, response, created_time_us FROM "
    "requests WHERE request_id = ANY($1::text[])",
    "t",
    FirstText,
    FirstText,
    RequestConflict,
    nullptr,
};

const KeyedTable kCodeSequences = {
    "code_sequences",
    "SELECT count(*) FROM code_sequences",
    "SELECT prefix, prefix, last FROM code_sequences WHERE prefix > ? ORDER BY prefix LIMIT ?",
    "t",
    "ti",
    "INSERT INTO code_sequences (prefix, last) VALUES ($1::text, $2::bigint) ON CONFLICT "
    "(prefix) DO UPDATE SET last = GREATEST(code_sequences.last, excluded.last)",
    "SELECT prefix, prefix, last FROM code_sequences WHERE prefix = ANY($1::text[])",
    "t",
    FirstText,
    FirstText,
    nullptr,
    AtLeast,
};

const KeyedTable kTokens = {
    "tokens",
    "SELECT count(*) FROM tokens",
    "SELECT id, id, principal_id, principal, label, hash, created_us, expires_us, revoked_us "
    "FROM tokens WHERE id > ? ORDER BY id LIMIT ?",
    "t",
    "ttbtbiii",
    "INSERT INTO tokens (id, principal_id, principal, label, hash, created_us, expires_us, "
    "revoked_us) VALUES ($1::text, $2::text, $3::bytea, $4::text, $5::bytea, $6::bigint, "
    "$7::bigint, $8::bigint) ON CONFLICT (id) DO NOTHING",
    "SELECT id, id, principal_id, principal, label, hash, created_us, expires_us, revoked_us "
    "FROM tokens WHERE id = ANY($1::text[])",
    "t",
    FirstText,
    FirstText,
    nullptr,
    nullptr,
};

// ---- The migration ---------------------------------------------------------

// ---- Renumbered tables: events and audit ---------------------------------

// A table whose rows are numbered by the target's live appenders (the feed's
// revisions, the audit log's sequences): kept into an empty target, else
// appended after the target's last number. Copied in two phases
// (CopyRenumbered): staged in chunks without any lock the daemons take, then
// moved into place server-side in one short transaction holding the
// appenders' lock.
struct RenumberedTable {
  const char* step;
  const char* source_count;
  // The number first, then the other columns (`types`, the number's
  // included), after a number, in order; parameters: the number, the LIMIT.
  const char* source_select;
  const char* types;
  // The target table, its staging table, and the columns (number first) as
  // named in both.
  const char* target;
  const char* staging;
  const char* columns;
  // A column (index in `types`) holding a serialized DossierEvent whose
  // field 1 (revision) must equal the row's number; -1 none.
  int body_column;
  // Runs first in the appending transaction: takes the live appenders' lock
  // (released at COMMIT) and returns the target's last number.
  absl::StatusOr<int64_t> (*lock_and_read_last)(pg::Connection& c);
  // Whether the target holds none of these rows yet (numbers are kept then).
  const char* target_empty;
  // The change feed: feed_head is advanced and followers are notified.
  bool feed;
};

absl::StatusOr<int64_t> LockFeedHead(pg::Connection& c) {
  // The lock every daemon's write takes last (postgres_dossier_store.h):
  // holding it keeps revisions in commit order.
  ONESTOP_RETURN_IF_ERROR(
      c.Exec("INSERT INTO feed_head (id, last_revision) VALUES (1, 0) ON CONFLICT (id) DO "
             "NOTHING",
             {}, "reading feed_head")
          .status());
  return c.QueryInt64("SELECT last_revision FROM feed_head WHERE id = 1 FOR UPDATE", {},
                      "locking feed_head");
}

absl::StatusOr<int64_t> LockAudit(pg::Connection& c) {
  // The daemons' appenders take this lock, then MAX + 1
  // (postgres_security_store.h): holding it keeps sequences unique.
  ONESTOP_RETURN_IF_ERROR(c.Exec("SELECT pg_advisory_xact_lock($1::bigint)",
                                 {pg::Param::Int64(storage::kAuditLockKey)},
                                 "locking the audit log")
                              .status());
  return c.QueryInt64("SELECT COALESCE(MAX(sequence), 0)::bigint FROM audit", {},
                      "reading the target's last audit sequence");
}

const RenumberedTable kEvents = {
    "events",
    "SELECT count(*) FROM events",
    "SELECT revision, revision, dossier_code, action, time_us, body FROM events WHERE revision "
    "> ? ORDER BY revision LIMIT ?",
    "itiib",
    "events",
    "migration_staged_events",
    "revision, dossier_code, action, time_us, body",
    4,
    LockFeedHead,
    "SELECT count(*) FROM (SELECT 1 FROM events LIMIT 1) AS e",
    true,
};

const RenumberedTable kAudit = {
    "audit",
    "SELECT count(*) FROM audit",
    "SELECT sequence, sequence, time_us, principal_id, rpc, dossier_code, agency_code, "
    "result_code, message FROM audit WHERE sequence > ? ORDER BY sequence LIMIT ?",
    "iittttit",
    "audit",
    "migration_staged_audit",
    "sequence, time_us, principal_id, rpc, dossier_code, agency_code, result_code, message",
    -1,
    LockAudit,
    "SELECT count(*) FROM (SELECT 1 FROM audit LIMIT 1) AS a",
    false,
};

// ---- The migration ---------------------------------------------------------

// One row of migration_progress.
struct StepState {
  std::string resume_key;  // the last copied source key ('\x1f'-joined parts)
  int64_t rows_done = 0;
  bool done = false;
  // Events and audit, once done: nullopt = numbers kept, else the target's
  // last number they were appended after.
  std::optional<int64_t> appended_after;
};

class Migration {
 public:
  Migration(const MigrateOptions& options, Source& source, pg::Connection& target)
      : options_(options), source_(source), target_(target) {}

  absl::StatusOr<MigrationReport> Run();

 private:
  void Progress(const std::string& step, int64_t done, int64_t total, bool finished) {
    if (options_.progress) options_.progress(MigrationProgress{step, done, total, finished});
  }
  absl::Status AfterChunk(const std::string& step) {
    ++chunks_;
    if (options_.after_chunk) return options_.after_chunk(step, chunks_);
    return absl::OkStatus();
  }

  absl::StatusOr<std::string> ComputeSourceId();
  absl::StatusOr<std::string> ComputeSourceState();
  absl::StatusOr<StepState> LoadStep(const std::string& step);
  absl::Status SaveStep(pg::Connection& c, const std::string& step, const StepState& state);
  absl::Status Plan();

  // Checks every source row of `table` after `after_key` against the
  // target (its check_existing), before anything is copied.
  absl::Status CheckConflicts(const KeyedTable& table, const std::string& after_key);
  // The dossiers' conflicts, their history's included.
  absl::Status CheckDossierConflicts(const std::string& after_key);
  // Inserts `rows` of `table` on `c` (existing keys kept after
  // check_existing) and returns how many were new.
  absl::StatusOr<int64_t> InsertRows(pg::Connection& c, const KeyedTable& table,
                                     const std::vector<Row>& rows);
  absl::Status CopyKeyed(const KeyedTable& table, StepReport& report);
  // Dossiers in chunks, each chunk's history in the same transaction.
  absl::Status CopyDossiers(StepReport& dossiers, StepReport& history);
  absl::Status CopyCounters(StepReport& report);
  absl::Status CopyRenumbered(const RenumberedTable& table, StepReport& report);
  absl::Status CopyBlobs(StepReport& report);

  absl::StatusOr<TableCheck> VerifyKeyed(const KeyedTable& table);
  absl::StatusOr<TableCheck> VerifyCounters();
  absl::StatusOr<TableCheck> VerifyRenumbered(const RenumberedTable& table);
  absl::StatusOr<TableCheck> VerifyBlobs();

  // Reads up to batch_rows source rows of `table` after `last_key`.
  absl::StatusOr<std::vector<std::pair<std::string, Row>>> ReadChunk(const KeyedTable& table,
                                                                     const std::string& last_key);
  absl::StatusOr<absl::flat_hash_map<std::string, Row>> FetchTarget(
      const KeyedTable& table, const std::vector<Row>& source_rows);

  const MigrateOptions& options_;
  Source& source_;
  pg::Connection& target_;
  std::string source_id_;
  int64_t counter_shard_ = 0;
  int64_t chunks_ = 0;
  MigrationReport report_;
};

absl::StatusOr<std::string> Migration::ComputeSourceId() {
  sq::Connection& db = source_.db();
  Sha256 hash;
  hash.Update("onestop-source-v1\n");
  {
    ONESTOP_ASSIGN_OR_RETURN(
        sq::Statement stmt,
        db.Prepare("SELECT d.code, h.body FROM dossiers d LEFT JOIN history h ON "
                   "h.dossier_position = d.position AND h.sequence = (SELECT MIN(sequence) FROM "
                   "history WHERE dossier_position = d.position) ORDER BY d.position LIMIT 1"));
    ONESTOP_ASSIGN_OR_RETURN(const bool row, stmt.Step("reading the oldest dossier"));
    if (row) {
      HashRow(hash, ReadSqlite(stmt, "tb"));
      return hash.FinishHex();
    }
  }
  if (source_.has_security()) {
    {
      ONESTOP_ASSIGN_OR_RETURN(
          sq::Statement stmt,
          db.Prepare("SELECT sequence, time_us, principal_id, rpc FROM audit ORDER BY sequence "
                     "LIMIT 1"));
      ONESTOP_ASSIGN_OR_RETURN(const bool row, stmt.Step("reading the oldest audit record"));
      if (row) {
        hash.Update("audit\n");
        HashRow(hash, ReadSqlite(stmt, "iitt"));
        return hash.FinishHex();
      }
    }
    ONESTOP_ASSIGN_OR_RETURN(sq::Statement stmt,
                             db.Prepare("SELECT id FROM tokens ORDER BY id LIMIT 1"));
    ONESTOP_ASSIGN_OR_RETURN(const bool row, stmt.Step("reading the first token"));
    if (row) {
      hash.Update("token\n");
      HashRow(hash, ReadSqlite(stmt, "t"));
      return hash.FinishHex();
    }
  }
  return std::string("empty");
}

// Row counts and last keys of the snapshot: an unfinished migration refuses
// to continue from a source that changed since it began.
absl::StatusOr<std::string> Migration::ComputeSourceState() {
  std::vector<std::string> parts;
  auto add = [&](const char* sql) -> absl::Status {
    ONESTOP_ASSIGN_OR_RETURN(const int64_t n, source_.Count(sql));
    parts.push_back(absl::StrCat(n));
    return absl::OkStatus();
  };
  ONESTOP_RETURN_IF_ERROR(add("SELECT count(*) FROM dossiers"));
  ONESTOP_RETURN_IF_ERROR(add("SELECT COALESCE(SUM(etag), 0) FROM dossiers"));
  ONESTOP_RETURN_IF_ERROR(add("SELECT count(*) FROM history"));
  ONESTOP_RETURN_IF_ERROR(add("SELECT COALESCE(MAX(revision), 0) FROM events"));
  ONESTOP_RETURN_IF_ERROR(add("SELECT count(*) FROM requests"));
  if (source_.has_security()) {
    ONESTOP_RETURN_IF_ERROR(add("SELECT COALESCE(MAX(sequence), 0) FROM audit"));
    ONESTOP_RETURN_IF_ERROR(add("SELECT count(*) FROM tokens"));
  }
  if (source_.has_blobs()) ONESTOP_RETURN_IF_ERROR(add("SELECT count(*) FROM blobs"));
  return absl::StrJoin(parts, ",");
}

absl::StatusOr<StepState> Migration::LoadStep(const std::string& step) {
  ONESTOP_ASSIGN_OR_RETURN(
      pg::Result result,
      target_.Exec("SELECT resume_key, rows_done, done, appended_after FROM migration_progress "
                   "WHERE source_id = $1::text AND step = $2::text",
                   {pg::Param::Text(source_id_), pg::Param::Text(step)},
                   "reading the migration progress"));
  StepState state;
  if (result.rows() == 1) {
    state.resume_key = result.Text(0, 0);
    state.rows_done = result.Int64(0, 1);
    state.done = result.Bool(0, 2);
    if (!result.IsNull(0, 3)) state.appended_after = result.Int64(0, 3);
  }
  return state;
}

absl::Status Migration::SaveStep(pg::Connection& c, const std::string& step,
                                 const StepState& state) {
  return c
      .Exec("INSERT INTO migration_progress (source_id, step, resume_key, rows_done, done, "
            "appended_after, updated_us) VALUES ($1::text, $2::text, $3::text, $4::bigint, "
            "$5::boolean, $6::bigint, $7::bigint) ON CONFLICT (source_id, step) DO UPDATE SET "
            "resume_key = excluded.resume_key, rows_done = excluded.rows_done, done = "
            "excluded.done, appended_after = excluded.appended_after, updated_us = "
            "excluded.updated_us",
            {pg::Param::Text(source_id_), pg::Param::Text(step),
             pg::Param::Text(state.resume_key), pg::Param::Int64(state.rows_done),
             pg::Param::Bool(state.done),
             state.appended_after.has_value() ? pg::Param::Int64(*state.appended_after)
                                              : pg::Param::Null(),
             pg::Param::Int64(absl::ToUnixMicros(absl::Now()))},
            "recording the migration progress")
      .status();
}

// Records (or checks) the source's state and this source's counter shard
// in migration_sources.
absl::Status Migration::Plan() {
  ONESTOP_ASSIGN_OR_RETURN(const std::string state, ComputeSourceState());
  ONESTOP_ASSIGN_OR_RETURN(
      pg::Result known,
      target_.Exec("SELECT source_state, counter_shard, verified FROM migration_sources WHERE "
                   "source_id = $1::text",
                   {pg::Param::Text(source_id_)}, "reading the migration progress"));
  if (known.rows() == 1) {
    if (known.Text(0, 0) != state) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the source changed since ",
          known.Bool(0, 2) ? "it was migrated" : "the migration into this target began",
          " (rows were written to it in between); the target holds the earlier copy. Restore "
          "the source as it was, or migrate into a fresh database"));
    }
    counter_shard_ = known.Int64(0, 1);
    return absl::OkStatus();
  }
  // A new source: the shard after the highest one any source holds (the
  // UNIQUE constraint backs it; one migration runs at a time anyway).
  ONESTOP_ASSIGN_OR_RETURN(
      counter_shard_,
      target_.QueryInt64("SELECT COALESCE(MAX(counter_shard) + 1, $1::bigint)::bigint FROM "
                         "migration_sources",
                         {pg::Param::Int64(kFirstMigrationShard)},
                         "allocating a counter shard"));
  return target_
      .Exec("INSERT INTO migration_sources (source_id, source_state, counter_shard, started_us) "
            "VALUES ($1::text, $2::text, $3::bigint, $4::bigint)",
            {pg::Param::Text(source_id_), pg::Param::Text(state), pg::Param::Int64(counter_shard_),
             pg::Param::Int64(absl::ToUnixMicros(absl::Now()))},
            "recording the migration")
      .status();
}

absl::StatusOr<std::vector<std::pair<std::string, Row>>> Migration::ReadChunk(
    const KeyedTable& table, const std::string& last_key) {
  ONESTOP_ASSIGN_OR_RETURN(sq::Statement stmt, source_.db().Prepare(table.source_select));
  const absl::string_view key_types = table.key_types;
  std::vector<std::string> parts = absl::StrSplit(last_key, '\x1f');
  for (size_t k = 0; k < key_types.size(); ++k) {
    const std::string part = k < parts.size() ? parts[k] : "";
    if (key_types[k] == 'i') {
      int64_t v = 0;
      if (!part.empty() && !absl::SimpleAtoi(part, &v)) {
        return absl::InternalError("migration_progress: malformed key");
      }
      stmt.BindInt64(static_cast<int>(k) + 1, part.empty() ? INT64_MIN : v);
    } else {
      stmt.BindText(static_cast<int>(k) + 1, part);
    }
  }
  stmt.BindInt64(static_cast<int>(key_types.size()) + 1, options_.batch_rows);
  std::vector<std::pair<std::string, Row>> rows;
  while (true) {
    ONESTOP_ASSIGN_OR_RETURN(const bool row,
                             stmt.Step(absl::StrCat("reading the source's ", table.step)));
    if (!row) break;
    const Row key = ReadSqlite(stmt, key_types);
    std::vector<std::string> key_parts;
    for (const Field& f : key) key_parts.push_back(f.kind == Field::kInt ? absl::StrCat(f.i) : f.s);
    rows.emplace_back(absl::StrJoin(key_parts, "\x1f"),
                      ReadSqlite(stmt, table.types, static_cast<int>(key_types.size())));
  }
  return rows;
}

absl::StatusOr<absl::flat_hash_map<std::string, Row>> Migration::FetchTarget(
    const KeyedTable& table, const std::vector<Row>& source_rows) {
  std::vector<std::string> keys;
  keys.reserve(source_rows.size());
  for (const Row& row : source_rows) {
    keys.push_back(table.array_key_of(row));
    ONESTOP_RETURN_IF_ERROR(
        pg::CheckStorableText(keys.back(), absl::StrCat("a source ", table.step, " key")));
  }
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  absl::flat_hash_map<std::string, Row> found;
  if (keys.empty()) return found;
  ONESTOP_ASSIGN_OR_RETURN(pg::Result result,
                           target_.Exec(table.target_fetch, {pg::Param::TextArray(keys)},
                                        absl::StrCat("reading the target's ", table.step)));
  const absl::string_view lookup_types = table.lookup_types;
  for (int r = 0; r < result.rows(); ++r) {
    Row row = ReadPg(result, r, table.types, static_cast<int>(lookup_types.size()));
    std::string key = table.lookup_of(row);
    found.emplace(std::move(key), std::move(row));
  }
  return found;
}

absl::Status Migration::CheckConflicts(const KeyedTable& table, const std::string& after_key) {
  std::string key = after_key;
  while (true) {
    ONESTOP_ASSIGN_OR_RETURN(auto chunk, ReadChunk(table, key));
    if (chunk.empty()) return absl::OkStatus();
    std::vector<Row> rows;
    for (auto& [k, row] : chunk) rows.push_back(row);
    ONESTOP_ASSIGN_OR_RETURN(auto found, FetchTarget(table, rows));
    for (const Row& row : rows) {
      auto it = found.find(table.lookup_of(row));
      if (it != found.end()) ONESTOP_RETURN_IF_ERROR(table.check_existing(row, it->second));
    }
    key = chunk.back().first;
    if (static_cast<int>(chunk.size()) < options_.batch_rows) return absl::OkStatus();
  }
}

absl::Status Migration::CheckDossierConflicts(const std::string& after_key) {
  std::string key = after_key;
  while (true) {
    ONESTOP_ASSIGN_OR_RETURN(auto chunk, ReadChunk(kDossiers, key));
    if (chunk.empty()) return absl::OkStatus();
    std::vector<Row> rows;
    for (auto& [k, row] : chunk) rows.push_back(row);
    ONESTOP_ASSIGN_OR_RETURN(auto found, FetchTarget(kDossiers, rows));
    std::vector<Row> history;  // of the codes the target has already
    for (const Row& row : rows) {
      auto it = found.find(FirstText(row));
      if (it == found.end()) continue;
      ONESTOP_RETURN_IF_ERROR(DossierConflict(row, it->second));
      ONESTOP_ASSIGN_OR_RETURN(
          sq::Statement stmt,
          source_.db().Prepare("SELECT d.code, h.sequence, h.body FROM history h JOIN dossiers d "
                               "ON d.position = h.dossier_position WHERE d.code = ? ORDER BY "
                               "h.sequence"));
      stmt.BindText(1, FirstText(row));
      while (true) {
        ONESTOP_ASSIGN_OR_RETURN(const bool more, stmt.Step("reading the source's history"));
        if (!more) break;
        history.push_back(ReadSqlite(stmt, kHistory.types));
      }
    }
    // Same dossier row, different history: a conflict as well.
    ONESTOP_ASSIGN_OR_RETURN(auto found_history, FetchTarget(kHistory, history));
    for (const Row& row : history) {
      auto it = found_history.find(CodeAndSequence(row));
      if (it != found_history.end()) ONESTOP_RETURN_IF_ERROR(HistoryConflict(row, it->second));
    }
    key = chunk.back().first;
    if (static_cast<int>(chunk.size()) < options_.batch_rows) return absl::OkStatus();
  }
}

absl::StatusOr<int64_t> Migration::InsertRows(pg::Connection& c, const KeyedTable& table,
                                              const std::vector<Row>& rows) {
  int64_t copied = 0;
  std::vector<Row> existing;
  for (const Row& row : rows) {
    ONESTOP_ASSIGN_OR_RETURN(pg::Result result,
                             c.Exec(table.target_insert, ToParams(row, table.types),
                                    absl::StrCat("copying ", table.step)));
    if (result.affected_rows() > 0) {
      ++copied;
    } else if (table.check_existing != nullptr) {
      existing.push_back(row);
    }
  }
  if (!existing.empty()) {
    // Rows that appeared since the up-front check (or an earlier run's).
    ONESTOP_ASSIGN_OR_RETURN(auto found, FetchTarget(table, existing));
    for (const Row& row : existing) {
      auto it = found.find(table.lookup_of(row));
      if (it != found.end()) ONESTOP_RETURN_IF_ERROR(table.check_existing(row, it->second));
    }
  }
  return copied;
}

absl::Status Migration::CopyKeyed(const KeyedTable& table, StepReport& report) {
  ONESTOP_ASSIGN_OR_RETURN(report.source_rows, source_.Count(table.source_count));
  ONESTOP_ASSIGN_OR_RETURN(StepState state, LoadStep(table.step));
  if (state.done) {
    report.already_done = true;
    Progress(table.step, report.source_rows, report.source_rows, true);
    return absl::OkStatus();
  }
  Progress(table.step, state.rows_done, report.source_rows, false);
  while (true) {
    ONESTOP_ASSIGN_OR_RETURN(auto chunk, ReadChunk(table, state.resume_key));
    const bool last = static_cast<int>(chunk.size()) < options_.batch_rows;
    std::vector<Row> rows;
    for (const auto& [key, row] : chunk) rows.push_back(row);
    StepState next = state;
    next.rows_done = state.rows_done + static_cast<int64_t>(chunk.size());
    if (!chunk.empty()) next.resume_key = chunk.back().first;
    next.done = last;
    int64_t copied = 0;
    ONESTOP_RETURN_IF_ERROR(pg::InTransaction(
        target_, absl::StrCat("copying ", table.step), [&](pg::Connection& c) -> absl::Status {
          ONESTOP_ASSIGN_OR_RETURN(copied, InsertRows(c, table, rows));
          return SaveStep(c, table.step, next);
        }));
    report.copied += copied;
    state = next;
    Progress(table.step, state.rows_done, report.source_rows, last);
    ONESTOP_RETURN_IF_ERROR(AfterChunk(table.step));
    if (last) return absl::OkStatus();
  }
}

absl::Status Migration::CopyDossiers(StepReport& dossiers, StepReport& history) {
  ONESTOP_ASSIGN_OR_RETURN(dossiers.source_rows, source_.Count(kDossiers.source_count));
  ONESTOP_ASSIGN_OR_RETURN(history.source_rows, source_.Count(kHistory.source_count));
  ONESTOP_ASSIGN_OR_RETURN(StepState state, LoadStep("dossiers"));
  if (state.done) {
    dossiers.already_done = history.already_done = true;
    Progress("dossiers", dossiers.source_rows, dossiers.source_rows, true);
    return absl::OkStatus();
  }
  Progress("dossiers", state.rows_done, dossiers.source_rows, false);
  while (true) {
    ONESTOP_ASSIGN_OR_RETURN(auto chunk, ReadChunk(kDossiers, state.resume_key));
    const bool last = static_cast<int>(chunk.size()) < options_.batch_rows;
    std::vector<Row> rows;
    for (const auto& [key, row] : chunk) rows.push_back(row);
    // The chunk's history: positions in (resume key, the chunk's last].
    std::vector<Row> entries;
    if (!chunk.empty()) {
      int64_t after = INT64_MIN, through = 0;
      if (!state.resume_key.empty() && !absl::SimpleAtoi(state.resume_key, &after)) {
        return absl::InternalError("migration_progress: malformed dossiers key");
      }
      if (!absl::SimpleAtoi(chunk.back().first, &through)) {
        return absl::InternalError("a dossier position is not a number");
      }
      ONESTOP_ASSIGN_OR_RETURN(
          sq::Statement stmt,
          source_.db().Prepare("SELECT d.code, h.sequence, h.body FROM history h JOIN dossiers d "
                               "ON d.position = h.dossier_position WHERE h.dossier_position > ? "
                               "AND h.dossier_position <= ? ORDER BY h.dossier_position, "
                               "h.sequence"));
      stmt.BindInt64(1, after);
      stmt.BindInt64(2, through);
      while (true) {
        ONESTOP_ASSIGN_OR_RETURN(const bool more, stmt.Step("reading the source's history"));
        if (!more) break;
        entries.push_back(ReadSqlite(stmt, kHistory.types));
      }
    }
    StepState next = state;
    next.rows_done = state.rows_done + static_cast<int64_t>(chunk.size());
    if (!chunk.empty()) next.resume_key = chunk.back().first;
    next.done = last;
    int64_t copied_dossiers = 0, copied_history = 0;
    // One transaction: a dossier is never visible in the target without its
    // history.
    ONESTOP_RETURN_IF_ERROR(pg::InTransaction(
        target_, "copying dossiers", [&](pg::Connection& c) -> absl::Status {
          ONESTOP_ASSIGN_OR_RETURN(copied_dossiers, InsertRows(c, kDossiers, rows));
          ONESTOP_ASSIGN_OR_RETURN(copied_history, InsertRows(c, kHistory, entries));
          return SaveStep(c, "dossiers", next);
        }));
    dossiers.copied += copied_dossiers;
    history.copied += copied_history;
    state = next;
    Progress("dossiers", state.rows_done, dossiers.source_rows, last);
    ONESTOP_RETURN_IF_ERROR(AfterChunk("dossiers"));
    if (last) return absl::OkStatus();
  }
}

absl::StatusOr<TableCheck> Migration::VerifyKeyed(const KeyedTable& table) {
  TableCheck check;
  check.table = table.step;
  Sha256 source_hash, target_hash;
  std::string key;
  while (true) {
    ONESTOP_ASSIGN_OR_RETURN(auto chunk, ReadChunk(table, key));
    std::vector<Row> rows;
    for (auto& [k, row] : chunk) rows.push_back(row);
    ONESTOP_ASSIGN_OR_RETURN(auto found, FetchTarget(table, rows));
    for (const Row& row : rows) {
      ++check.source_rows;
      HashRow(source_hash, row);
      auto it = found.find(table.lookup_of(row));
      if (it == found.end()) continue;
      ++check.target_rows;
      HashRow(target_hash,
              table.normalize != nullptr ? table.normalize(row, it->second) : it->second);
    }
    if (static_cast<int>(chunk.size()) < options_.batch_rows) break;
    key = chunk.back().first;
  }
  check.source_sha256 = source_hash.FinishHex();
  check.target_sha256 = target_hash.FinishHex();
  check.ok = check.source_rows == check.target_rows && check.source_sha256 == check.target_sha256;
  return check;
}

// ---- Counters: added into this source's shard, exactly once ---------------

using ::onestop::storage::kCounterSlots;

// "v0, v1, …" for every counter slot.
std::string CounterColumns() {
  std::vector<std::string> columns;
  for (int i = 0; i < kCounterSlots; ++i) columns.push_back(absl::StrCat("v", i));
  return absl::StrJoin(columns, ", ");
}

std::string CounterSourceSelect() {
  std::vector<std::string> sums;
  for (int i = 0; i < kCounterSlots; ++i) sums.push_back(absl::StrCat("SUM(v", i, ")"));
  return absl::StrCat("SELECT series, grain, bucket, ", absl::StrJoin(sums, ", "),
                      " FROM report_counters GROUP BY series, grain, bucket ORDER BY series, "
                      "grain, bucket");
}

std::string CounterTypes() { return std::string("tii") + std::string(kCounterSlots, 'i'); }

absl::Status Migration::CopyCounters(StepReport& report) {
  if (!source_.has_counters()) return absl::OkStatus();
  ONESTOP_ASSIGN_OR_RETURN(
      report.source_rows,
      source_.Count("SELECT count(*) FROM (SELECT 1 FROM report_counters GROUP BY series, grain, "
                    "bucket)"));
  ONESTOP_ASSIGN_OR_RETURN(StepState state, LoadStep("report_counters"));
  if (state.done) {
    report.already_done = true;
    Progress("report_counters", report.source_rows, report.source_rows, true);
    return absl::OkStatus();
  }
  std::vector<std::string> params, updates;
  for (int i = 0; i < kCounterSlots; ++i) {
    params.push_back(absl::StrCat("$", i + 5, "::bigint"));
    updates.push_back(absl::StrCat("v", i, " = report_counters.v", i, " + excluded.v", i));
  }
  const std::string insert = absl::StrCat(
      "INSERT INTO report_counters (series, grain, bucket, shard, ", CounterColumns(),
      ") VALUES ($1::text, $2::bigint, $3::bigint, $4::bigint, ", absl::StrJoin(params, ", "),
      ") ON CONFLICT (series, grain, bucket, shard) DO UPDATE SET ",
      absl::StrJoin(updates, ", "));
  const std::string types = CounterTypes();
  int64_t copied = 0;
  ONESTOP_RETURN_IF_ERROR(pg::InTransaction(
      target_, "copying report counters", [&](pg::Connection& c) -> absl::Status {
        copied = 0;
        ONESTOP_ASSIGN_OR_RETURN(sq::Statement stmt,
                                 source_.db().Prepare(CounterSourceSelect()));
        while (true) {
          ONESTOP_ASSIGN_OR_RETURN(const bool row, stmt.Step("reading the source's counters"));
          if (!row) break;
          Row r = ReadSqlite(stmt, types);
          r.insert(r.begin() + 3, IntField(counter_shard_));
          std::string t = types;
          t.insert(3, "i");
          ONESTOP_RETURN_IF_ERROR(
              c.Exec(insert, ToParams(r, t), "adding report counters").status());
          ++copied;
          if (copied % options_.batch_rows == 0) {
            Progress("report_counters", copied, report.source_rows, false);
          }
        }
        StepState done;
        done.rows_done = copied;
        done.done = true;
        return SaveStep(c, "report_counters", done);
      }));
  report.copied = copied;
  Progress("report_counters", copied, report.source_rows, true);
  return AfterChunk("report_counters");
}

absl::StatusOr<TableCheck> Migration::VerifyCounters() {
  TableCheck check;
  check.table = "report_counters";
  const std::string types = CounterTypes();
  Sha256 source_hash, target_hash;
  if (source_.has_counters()) {
    // The source's own shard holds exactly its counters: compare the two
    // sorted streams (byte order on both sides).
    ONESTOP_ASSIGN_OR_RETURN(sq::Statement stmt, source_.db().Prepare(CounterSourceSelect()));
    while (true) {
      ONESTOP_ASSIGN_OR_RETURN(const bool row, stmt.Step("reading the source's counters"));
      if (!row) break;
      ++check.source_rows;
      HashRow(source_hash, ReadSqlite(stmt, types));
    }
    std::string last_series;
    int64_t last_grain = -1, last_bucket = INT64_MIN;
    const std::string fetch = absl::StrCat(
        "SELECT series, grain, bucket, ", CounterColumns(),
        " FROM report_counters WHERE shard = $1::bigint AND (series COLLATE \"C\", grain, bucket) "
        "> ($2::text COLLATE \"C\", $3::bigint, $4::bigint) ORDER BY series COLLATE \"C\", grain, "
        "bucket LIMIT $5::bigint");
    while (true) {
      ONESTOP_ASSIGN_OR_RETURN(
          pg::Result result,
          target_.Exec(fetch,
                       {pg::Param::Int64(counter_shard_), pg::Param::Text(last_series),
                        pg::Param::Int64(last_grain), pg::Param::Int64(last_bucket),
                        pg::Param::Int64(options_.batch_rows)},
                       "reading the target's counters"));
      for (int r = 0; r < result.rows(); ++r) {
        Row row = ReadPg(result, r, types);
        ++check.target_rows;
        HashRow(target_hash, row);
        last_series = row[0].s;
        last_grain = row[1].i;
        last_bucket = row[2].i;
      }
      if (result.rows() < options_.batch_rows) break;
    }
  }
  check.source_sha256 = source_hash.FinishHex();
  check.target_sha256 = target_hash.FinishHex();
  check.ok = check.source_rows == check.target_rows && check.source_sha256 == check.target_sha256;
  return check;
}

// ---- Events and audit: staged, then appended in one short transaction ----

// The event's body with its revision set to `revision` (INTERNAL if the
// body does not parse).
absl::StatusOr<std::string> WithRevision(absl::string_view body, int64_t revision) {
  v1::DossierEvent event;
  if (!event.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
    return absl::InternalError("a source event does not parse as DossierEvent");
  }
  if (revision == 0) {
    event.clear_revision();
  } else {
    event.set_revision(revision);
  }
  return event.SerializeAsString();
}

// SQL for the protobuf varint encoding of `n` (a bigint ≥ 1) as bytea:
// 7 bits a byte, least significant first, the high bit set on all but the
// last.
std::string VarintSql(const std::string& n) {
  auto byte = [&](int i, bool more) {
    return absl::StrCat("set_byte('\\x00'::bytea, 0, (((", n, " >> ", 7 * i, ") & 127)",
                        more ? " | 128" : "", ")::integer)");
  };
  std::string sql = "(CASE";
  for (int length = 1; length <= 9; ++length) {
    std::vector<std::string> bytes;
    for (int i = 0; i < length; ++i) bytes.push_back(byte(i, i + 1 < length));
    const std::string value = absl::StrJoin(bytes, " || ");
    if (length < 9) {
      absl::StrAppend(&sql, " WHEN ", n, " < ", int64_t{1} << (7 * length), " THEN ", value);
    } else {
      absl::StrAppend(&sql, " ELSE ", value);
    }
  }
  return absl::StrCat(sql, " END)");
}

// Events and audit records: staged in chunks, then appended in one short
// transaction.
//
// Phase 1 (one transaction per chunk, no lock any daemon takes): the source
// rows after the resume key go into the table's staging table with their
// rank (1, 2, … in source order) and their source number; an event's body
// is stored with its revision cleared.
//
// Phase 2 (one transaction): the live appenders' lock (feed_head's row, or
// the audit advisory lock) and the target's last number; numbers are kept
// if the target holds none of these rows, else each row becomes last +
// rank. One INSERT … SELECT moves the staged rows server-side; an event's
// body gets its revision back as field 1 — prepended, which is exactly
// where protobuf serializes it (fields in number order), so the body is
// byte for byte what DossierEvent::set_revision would serialize. For the
// feed, feed_head advances and `pg_notify(kFeedChannel, last)` wakes the
// followers. The step's marker commits with it. The staging rows are
// deleted after COMMIT (again on any later run).
absl::Status Migration::CopyRenumbered(const RenumberedTable& table, StepReport& report) {
  const std::string step = table.step;
  ONESTOP_ASSIGN_OR_RETURN(report.source_rows, source_.Count(table.source_count));
  ONESTOP_ASSIGN_OR_RETURN(StepState state, LoadStep(step));
  const std::string cleanup =
      absl::StrCat("DELETE FROM ", table.staging, " WHERE source_id = $1::text");
  auto placement = [&](const StepState& s) {
    const std::string text = Placement(s.appended_after);
    if (table.feed) {
      report_.events_placement = text;
    } else {
      report_.audit_placement = text;
    }
  };
  if (state.done) {
    report.already_done = true;
    placement(state);
    ONESTOP_RETURN_IF_ERROR(target_
                                .Exec(cleanup, {pg::Param::Text(source_id_)},
                                      absl::StrCat("clearing the staged ", step))
                                .status());
    Progress(step, report.source_rows, report.source_rows, true);
    return absl::OkStatus();
  }

  // Phase 1: staging.
  const absl::string_view types = table.types;
  std::vector<std::string> values = {"$1::text", "$2::bigint"};
  for (size_t c = 0; c < types.size(); ++c) {
    values.push_back(absl::StrCat("$", c + 3,
                                  types[c] == 'i'   ? "::bigint"
                                  : types[c] == 't' ? "::text"
                                                    : "::bytea"));
  }
  const std::string stage = absl::StrCat("INSERT INTO ", table.staging, " (source_id, rank, ",
                                         table.columns, ") VALUES (",
                                         absl::StrJoin(values, ", "), ")");
  Progress(step, state.rows_done, report.source_rows, false);
  while (true) {
    ONESTOP_ASSIGN_OR_RETURN(sq::Statement stmt, source_.db().Prepare(table.source_select));
    int64_t after = INT64_MIN;
    if (!state.resume_key.empty() && !absl::SimpleAtoi(state.resume_key, &after)) {
      return absl::InternalError(absl::StrCat("migration_progress: malformed ", step, " key"));
    }
    stmt.BindInt64(1, after);
    stmt.BindInt64(2, options_.batch_rows);
    std::vector<Row> rows;
    while (true) {
      ONESTOP_ASSIGN_OR_RETURN(const bool row,
                               stmt.Step(absl::StrCat("reading the source's ", step)));
      if (!row) break;
      Row r = ReadSqlite(stmt, types, 1);
      if (table.body_column >= 0) {
        ONESTOP_ASSIGN_OR_RETURN(r[table.body_column].s, WithRevision(r[table.body_column].s, 0));
      }
      rows.push_back(std::move(r));
    }
    if (rows.empty()) break;
    StepState next = state;
    next.rows_done = state.rows_done + static_cast<int64_t>(rows.size());
    next.resume_key = absl::StrCat(rows.back()[0].i);
    ONESTOP_RETURN_IF_ERROR(pg::InTransaction(
        target_, absl::StrCat("staging ", step), [&](pg::Connection& c) -> absl::Status {
          int64_t rank = state.rows_done;
          for (const Row& r : rows) {
            std::vector<pg::Param> params = {pg::Param::Text(source_id_),
                                             pg::Param::Int64(++rank)};
            for (pg::Param& p : ToParams(r, types)) params.push_back(std::move(p));
            ONESTOP_RETURN_IF_ERROR(
                c.Exec(stage, params, absl::StrCat("staging ", step)).status());
          }
          return SaveStep(c, step, next);
        }));
    state = next;
    Progress(step, state.rows_done, report.source_rows, false);
    ONESTOP_RETURN_IF_ERROR(AfterChunk(step));
    if (static_cast<int>(rows.size()) < options_.batch_rows) break;
  }

  // Phase 2: the short, locked append.
  const std::vector<std::string> columns = absl::StrSplit(table.columns, ", ");
  std::vector<std::string> selected = {"s.n"};
  for (size_t c = 1; c < columns.size(); ++c) {
    if (static_cast<int>(c) == table.body_column) {
      selected.push_back(absl::StrCat("('\\x08'::bytea || ", VarintSql("s.n"), " || s.",
                                      columns[c], ")"));
    } else {
      selected.push_back(absl::StrCat("s.", columns[c]));
    }
  }
  const std::string append = absl::StrCat(
      "INSERT INTO ", table.target, " (", table.columns, ") SELECT ",
      absl::StrJoin(selected, ", "), " FROM (SELECT CASE WHEN $2::boolean THEN ", columns[0],
      " ELSE $3::bigint + rank END AS n, * FROM ", table.staging,
      " WHERE source_id = $1::text) AS s ORDER BY s.n");
  int64_t copied = 0;
  StepState done;
  ONESTOP_RETURN_IF_ERROR(pg::InTransaction(
      target_, absl::StrCat("appending ", step), [&](pg::Connection& c) -> absl::Status {
        ONESTOP_ASSIGN_OR_RETURN(const int64_t last, table.lock_and_read_last(c));
        ONESTOP_ASSIGN_OR_RETURN(const int64_t existing,
                                 c.QueryInt64(table.target_empty, {},
                                              absl::StrCat("reading the target's ", step)));
        const bool keep = last == 0 && existing == 0;
        ONESTOP_ASSIGN_OR_RETURN(
            pg::Result inserted,
            c.Exec(append,
                   {pg::Param::Text(source_id_), pg::Param::Bool(keep), pg::Param::Int64(last)},
                   absl::StrCat("appending ", step)));
        copied = inserted.affected_rows();
        if (copied != state.rows_done) {
          return absl::InternalError(absl::StrCat("staged ", step, ": ", copied, " rows, not ",
                                                  state.rows_done));
        }
        int64_t new_last = last + copied;
        if (keep) {
          new_last = 0;
          if (!state.resume_key.empty() && !absl::SimpleAtoi(state.resume_key, &new_last)) {
            return absl::InternalError(absl::StrCat("migration_progress: malformed ", step));
          }
        }
        if (table.feed && copied > 0) {
          ONESTOP_RETURN_IF_ERROR(
              c.Exec("UPDATE feed_head SET last_revision = $1::bigint WHERE id = 1",
                     {pg::Param::Int64(new_last)}, "advancing feed_head")
                  .status());
          ONESTOP_RETURN_IF_ERROR(
              c.Exec("SELECT pg_notify($1::text, $2::bigint::text) IS NULL",
                     {pg::Param::Text(storage::PostgresDossierStore::kFeedChannel),
                      pg::Param::Int64(new_last)},
                     "notifying feed followers")
                  .status());
        }
        done = state;
        done.done = true;
        if (!keep) done.appended_after = last;
        return SaveStep(c, step, done);
      }));
  report.copied = copied;
  placement(done);
  ONESTOP_RETURN_IF_ERROR(target_
                              .Exec(cleanup, {pg::Param::Text(source_id_)},
                                    absl::StrCat("clearing the staged ", step))
                              .status());
  Progress(step, copied, report.source_rows, true);
  return AfterChunk(step);
}

// Events and audit records compared modulo renumbering: the source's i-th
// row (in order) against the target's row at its mapped number; an event's
// body with its revision cleared on both sides.
absl::StatusOr<TableCheck> Migration::VerifyRenumbered(const RenumberedTable& table) {
  TableCheck check;
  check.table = table.step;
  ONESTOP_ASSIGN_OR_RETURN(StepState state, LoadStep(table.step));
  const bool keep = !state.appended_after.has_value();
  const int64_t base = state.appended_after.value_or(0);
  const absl::string_view types = table.types;
  const std::vector<std::string> columns = absl::StrSplit(table.columns, ", ");
  const std::string fetch = absl::StrCat("SELECT ", table.columns, " FROM ", table.target,
                                         " WHERE ", columns[0], " BETWEEN $1::bigint AND $2::bigint");
  auto strip = [&](Row& row) {
    if (table.body_column < 0) return;
    Field& body = row[table.body_column];
    absl::StatusOr<std::string> stripped = WithRevision(body.s, 0);
    body.s = stripped.ok() ? *std::move(stripped) : "(unparsable)";
  };
  Sha256 source_hash, target_hash;
  int64_t rank = 0;
  int64_t after = INT64_MIN;  // the last source number read
  while (true) {
    ONESTOP_ASSIGN_OR_RETURN(sq::Statement stmt, source_.db().Prepare(table.source_select));
    stmt.BindInt64(1, after);
    stmt.BindInt64(2, options_.batch_rows);
    std::vector<std::pair<int64_t, Row>> chunk;  // target number, row
    while (true) {
      ONESTOP_ASSIGN_OR_RETURN(const bool row, stmt.Step("reading the source"));
      if (!row) break;
      ++rank;
      const int64_t number = keep ? stmt.ColumnInt64(0) : base + rank;
      after = stmt.ColumnInt64(0);
      Row r = ReadSqlite(stmt, types, 1);
      strip(r);
      chunk.emplace_back(number, std::move(r));
    }
    if (chunk.empty()) break;
    ONESTOP_ASSIGN_OR_RETURN(
        pg::Result result,
        target_.Exec(fetch,
                     {pg::Param::Int64(chunk.front().first), pg::Param::Int64(chunk.back().first)},
                     absl::StrCat("reading the target's ", table.step)));
    absl::flat_hash_map<int64_t, Row> found;
    for (int r = 0; r < result.rows(); ++r) {
      Row row = ReadPg(result, r, types);
      strip(row);
      // The number itself is the mapping, not content: compare the source's.
      found.emplace(result.Int64(r, 0), std::move(row));
    }
    for (auto& [number, row] : chunk) {
      ++check.source_rows;
      auto it = found.find(number);
      if (it != found.end()) {
        ++check.target_rows;
        it->second[0] = row[0];
        HashRow(target_hash, it->second);
      }
      HashRow(source_hash, row);
    }
    if (static_cast<int>(chunk.size()) < options_.batch_rows) break;
  }
  check.source_sha256 = source_hash.FinishHex();
  check.target_sha256 = target_hash.FinishHex();
  check.ok = check.source_rows == check.target_rows && check.source_sha256 == check.target_sha256;
  return check;
}

// ---- Blobs: by sha256, one transaction per blob, chunks streamed ----------

// Source blobs, with leftover claims counted as references (as the SQLite
// store does at open).
constexpr char kBlobSelect[] =
    "SELECT b.sha256, b.size_bytes, b.chunk_count, CASE WHEN b.referenced != 0 OR EXISTS "
    "(SELECT 1 FROM blob_claims c WHERE c.sha256 = b.sha256) THEN 1 ELSE 0 END, b.created_us, "
    "b.upload_id FROM blobs b WHERE b.sha256 > ? ORDER BY b.sha256 LIMIT ?";

absl::Status Migration::CopyBlobs(StepReport& report) {
  if (!source_.has_blobs()) return absl::OkStatus();
  ONESTOP_ASSIGN_OR_RETURN(report.source_rows, source_.Count("SELECT count(*) FROM blobs"));
  ONESTOP_ASSIGN_OR_RETURN(StepState state, LoadStep("blobs"));
  if (state.done) {
    report.already_done = true;
    Progress("blobs", report.source_rows, report.source_rows, true);
    return absl::OkStatus();
  }
  Progress("blobs", state.rows_done, report.source_rows, false);
  while (true) {
    Row blob;
    {
      ONESTOP_ASSIGN_OR_RETURN(sq::Statement stmt, source_.db().Prepare(kBlobSelect));
      stmt.BindText(1, state.resume_key);
      stmt.BindInt64(2, 1);
      ONESTOP_ASSIGN_OR_RETURN(const bool row, stmt.Step("reading the source's blobs"));
      if (!row) {
        state.done = true;
        ONESTOP_RETURN_IF_ERROR(SaveStep(target_, "blobs", state));
        Progress("blobs", state.rows_done, report.source_rows, true);
        return absl::OkStatus();
      }
      blob = ReadSqlite(stmt, "tiiiii");
    }
    const std::string& sha = blob[0].s;
    bool copied = false;
    ONESTOP_RETURN_IF_ERROR(pg::InTransaction(
        target_, "copying a blob", [&](pg::Connection& c) -> absl::Status {
          copied = false;
          ONESTOP_ASSIGN_OR_RETURN(
              pg::Result existing,
              c.Exec("SELECT referenced FROM blobs WHERE sha256 = $1::text FOR UPDATE",
                     {pg::Param::Text(sha)}, "looking up a blob"));
          if (existing.rows() > 0) {
            // The same bytes are stored already: keep them, but never leave
            // a blob the source's dossiers reference unreferenced.
            if (blob[3].i != 0 && existing.Int64(0, 0) == 0) {
              ONESTOP_RETURN_IF_ERROR(
                  c.Exec("UPDATE blobs SET referenced = 1 WHERE sha256 = $1::text",
                         {pg::Param::Text(sha)}, "marking a blob referenced")
                      .status());
            }
          } else {
            // An upload id from the target's sequence, its upload row
            // deleted again in this transaction (as Finish does): nothing
            // is left staged.
            ONESTOP_ASSIGN_OR_RETURN(
                const int64_t upload_id,
                c.QueryInt64("INSERT INTO blob_uploads (started_us) VALUES ($1::bigint) "
                             "RETURNING id",
                             {pg::Param::Int64(blob[4].i)}, "allocating a blob upload"));
            ONESTOP_ASSIGN_OR_RETURN(
                sq::Statement chunks,
                source_.db().Prepare(
                    "SELECT seq, data FROM blob_chunks WHERE upload_id = ? ORDER BY seq"));
            chunks.BindInt64(1, blob[5].i);
            while (true) {
              ONESTOP_ASSIGN_OR_RETURN(const bool row, chunks.Step("reading blob chunks"));
              if (!row) break;
              ONESTOP_RETURN_IF_ERROR(
                  c.Exec("INSERT INTO blob_chunks (upload_id, seq, data) VALUES ($1::bigint, "
                         "$2::bigint, $3::bytea)",
                         {pg::Param::Int64(upload_id), pg::Param::Int64(chunks.ColumnInt64(0)),
                          pg::Param::Bytes(chunks.ColumnBlob(1))},
                         "copying blob chunks")
                      .status());
            }
            ONESTOP_RETURN_IF_ERROR(
                c.Exec("INSERT INTO blobs (sha256, upload_id, size_bytes, chunk_count, "
                       "referenced, created_us) VALUES ($1::text, $2::bigint, $3::bigint, "
                       "$4::bigint, $5::bigint, $6::bigint)",
                       {pg::Param::Text(sha), pg::Param::Int64(upload_id),
                        pg::Param::Int64(blob[1].i), pg::Param::Int64(blob[2].i),
                        pg::Param::Int64(blob[3].i), pg::Param::Int64(blob[4].i)},
                       "storing a blob")
                    .status());
            ONESTOP_RETURN_IF_ERROR(c.Exec("DELETE FROM blob_uploads WHERE id = $1::bigint",
                                           {pg::Param::Int64(upload_id)},
                                           "finishing a blob upload")
                                        .status());
            copied = true;
          }
          StepState next = state;
          next.resume_key = sha;
          next.rows_done = state.rows_done + 1;
          return SaveStep(c, "blobs", next);
        }));
    if (copied) ++report.copied;
    state.resume_key = sha;
    ++state.rows_done;
    Progress("blobs", state.rows_done, report.source_rows, false);
    ONESTOP_RETURN_IF_ERROR(AfterChunk("blobs"));
  }
}

// Blobs compare on (sha256, size, chunk_count, referenced ≥ source, and the
// SHA-256 of the bytes re-read from the target's chunks).
absl::StatusOr<TableCheck> Migration::VerifyBlobs() {
  TableCheck check;
  check.table = "blobs";
  Sha256 source_hash, target_hash;
  if (source_.has_blobs()) {
    std::string last;
    while (true) {
      Row blob;
      {
        ONESTOP_ASSIGN_OR_RETURN(sq::Statement stmt, source_.db().Prepare(kBlobSelect));
        stmt.BindText(1, last);
        stmt.BindInt64(2, 1);
        ONESTOP_ASSIGN_OR_RETURN(const bool row, stmt.Step("reading the source's blobs"));
        if (!row) break;
        blob = ReadSqlite(stmt, "tiiiii");
      }
      last = blob[0].s;
      Sha256 bytes;
      {
        ONESTOP_ASSIGN_OR_RETURN(
            sq::Statement chunks,
            source_.db().Prepare(
                "SELECT seq, data FROM blob_chunks WHERE upload_id = ? ORDER BY seq"));
        chunks.BindInt64(1, blob[5].i);
        while (true) {
          ONESTOP_ASSIGN_OR_RETURN(const bool row, chunks.Step("reading blob chunks"));
          if (!row) break;
          bytes.Update(chunks.ColumnBlob(1));
        }
      }
      ++check.source_rows;
      Row source_row = {blob[0], blob[1], blob[2], blob[3], BytesField(bytes.FinishHex())};
      HashRow(source_hash, source_row);

      ONESTOP_ASSIGN_OR_RETURN(
          pg::Result found,
          target_.Exec("SELECT size_bytes, chunk_count, referenced, upload_id FROM blobs WHERE "
                       "sha256 = $1::text",
                       {pg::Param::Text(last)}, "reading the target's blobs"));
      if (found.rows() == 0) continue;
      ++check.target_rows;
      const int64_t upload_id = found.Int64(0, 3);
      Sha256 target_bytes;
      int64_t seq = -1;
      while (true) {  // one chunk row at a time: bounded memory
        ONESTOP_ASSIGN_OR_RETURN(
            pg::Result chunk,
            target_.Exec("SELECT seq, data FROM blob_chunks WHERE upload_id = $1::bigint AND "
                         "seq > $2::bigint ORDER BY seq LIMIT 1",
                         {pg::Param::Int64(upload_id), pg::Param::Int64(seq)},
                         "reading the target's blob chunks"));
        if (chunk.rows() == 0) break;
        seq = chunk.Int64(0, 0);
        target_bytes.Update(chunk.Bytes(0, 1));
      }
      const int64_t referenced = found.Int64(0, 2) >= blob[3].i ? blob[3].i : found.Int64(0, 2);
      Row target_row = {blob[0], IntField(found.Int64(0, 0)), IntField(found.Int64(0, 1)),
                        IntField(referenced), BytesField(target_bytes.FinishHex())};
      HashRow(target_hash, target_row);
    }
  }
  check.source_sha256 = source_hash.FinishHex();
  check.target_sha256 = target_hash.FinishHex();
  check.ok = check.source_rows == check.target_rows && check.source_sha256 == check.target_sha256;
  return check;
}

absl::StatusOr<MigrationReport> Migration::Run() {
  ONESTOP_ASSIGN_OR_RETURN(source_id_, ComputeSourceId());
  report_.source_id = source_id_;
  ONESTOP_RETURN_IF_ERROR(Plan());
  report_.counter_shard = counter_shard_;

  // Conflicts first, so that a conflicting code or request_id copies
  // nothing at all.
  {
    ONESTOP_ASSIGN_OR_RETURN(StepState dossiers, LoadStep("dossiers"));
    if (!dossiers.done) ONESTOP_RETURN_IF_ERROR(CheckDossierConflicts(dossiers.resume_key));
    ONESTOP_ASSIGN_OR_RETURN(StepState requests, LoadStep(kRequests.step));
    if (!requests.done) ONESTOP_RETURN_IF_ERROR(CheckConflicts(kRequests, requests.resume_key));
  }
  auto run = [&](const std::string& step, auto copy) -> absl::Status {
    StepReport step_report;
    step_report.step = step;
    ONESTOP_RETURN_IF_ERROR(copy(step_report));
    report_.steps.push_back(step_report);
    return absl::OkStatus();
  };
  // The code sequences before any dossier: a province daemon creating on a
  // shared prefix meanwhile never issues a code the copy brings.
  ONESTOP_RETURN_IF_ERROR(
      run("code_sequences", [&](StepReport& r) { return CopyKeyed(kCodeSequences, r); }));
  {
    StepReport dossiers, history;
    dossiers.step = "dossiers";
    history.step = "history";
    ONESTOP_RETURN_IF_ERROR(CopyDossiers(dossiers, history));
    report_.steps.push_back(dossiers);
    report_.steps.push_back(history);
  }
  ONESTOP_RETURN_IF_ERROR(run("requests", [&](StepReport& r) { return CopyKeyed(kRequests, r); }));
  ONESTOP_RETURN_IF_ERROR(run("report_counters", [&](StepReport& r) { return CopyCounters(r); }));
  ONESTOP_RETURN_IF_ERROR(run("events", [&](StepReport& r) { return CopyRenumbered(kEvents, r); }));
  if (source_.has_security()) {
    ONESTOP_RETURN_IF_ERROR(run("audit", [&](StepReport& r) { return CopyRenumbered(kAudit, r); }));
    ONESTOP_RETURN_IF_ERROR(run("tokens", [&](StepReport& r) { return CopyKeyed(kTokens, r); }));
  }
  ONESTOP_RETURN_IF_ERROR(run("blobs", [&](StepReport& r) { return CopyBlobs(r); }));

  // Verification.
  std::vector<std::function<absl::StatusOr<TableCheck>()>> checks = {
      [&] { return VerifyKeyed(kDossiers); },
      [&] { return VerifyKeyed(kHistory); },
      [&] { return VerifyKeyed(kRequests); },
      [&] { return VerifyKeyed(kCodeSequences); },
      [&] { return VerifyCounters(); },
      [&] { return VerifyRenumbered(kEvents); },
  };
  if (source_.has_security()) {
    checks.push_back([&] { return VerifyRenumbered(kAudit); });
    checks.push_back([&] { return VerifyKeyed(kTokens); });
  }
  checks.push_back([&] { return VerifyBlobs(); });
  report_.verified = true;
  for (size_t i = 0; i < checks.size(); ++i) {
    Progress("verify", static_cast<int64_t>(i), static_cast<int64_t>(checks.size()), false);
    ONESTOP_ASSIGN_OR_RETURN(TableCheck check, checks[i]());
    report_.verified = report_.verified && check.ok;
    report_.checks.push_back(std::move(check));
  }
  Progress("verify", static_cast<int64_t>(checks.size()), static_cast<int64_t>(checks.size()),
           true);
  ONESTOP_RETURN_IF_ERROR(
      target_
          .Exec("UPDATE migration_sources SET verified = $2::boolean, verified_us = $3::bigint "
                "WHERE source_id = $1::text",
                {pg::Param::Text(source_id_), pg::Param::Bool(report_.verified),
                 pg::Param::Int64(absl::ToUnixMicros(absl::Now()))},
                "recording the verification")
          .status());
  return report_;
}

// Creates (or upgrades) the onestop schema in the target through the
// PostgreSQL stores themselves, then the progress table.
absl::Status PrepareTarget(const std::string& uri, pg::Connection& target) {
  {
    storage::PostgresOptions options;
    options.uri = uri;
    options.pool_size = 1;
    ONESTOP_RETURN_IF_ERROR(storage::PostgresDossierStore::Open(options).status());
  }
  {
    storage::PostgresSecurityStoreOptions options;
    options.uri = uri;
    options.pool_size = 1;
    ONESTOP_RETURN_IF_ERROR(storage::PostgresSecurityStore::Open(options).status());
  }
  {
    storage::PostgresBlobStoreOptions options;
    options.uri = uri;
    options.pool_size = 1;
    ONESTOP_RETURN_IF_ERROR(storage::PostgresBlobStore::Open(options).status());
  }
  return target.ExecScript(kMigrationSchema, "creating the migration tables");
}

}  // namespace

absl::StatusOr<MigrationReport> MigrateSqliteToPostgres(const MigrateOptions& options) {
  if (options.source_path.empty()) {
    return absl::InvalidArgumentError("--from: the source SQLite database is required");
  }
  if (!pg::IsPostgresUri(options.target_uri)) {
    return absl::InvalidArgumentError(
        "--to: the target must be a PostgreSQL URI (postgresql://user@host:5432/database)");
  }
  if (options.batch_rows < 1) {
    return absl::InvalidArgumentError("batch_rows must be at least 1");
  }
  // The source first: a locked or foreign source fails before anything
  // touches the target.
  ONESTOP_ASSIGN_OR_RETURN(std::unique_ptr<Source> source, Source::Open(options.source_path));

  absl::StatusOr<std::unique_ptr<pg::Connection>> target =
      pg::Connection::Open(options.target_uri);
  if (!target.ok()) {
    return absl::Status(target.status().code(),
                        absl::StrCat("target PostgreSQL: ", target.status().message()));
  }
  pg::Connection& connection = **target;
  ONESTOP_ASSIGN_OR_RETURN(
      pg::Result locked,
      connection.Exec("SELECT pg_try_advisory_lock($1::bigint)",
                      {pg::Param::Int64(kMigrationLockKey)}, "locking the target"));
  if (!locked.Bool(0, 0)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "another migration into ", pg::RedactUri(options.target_uri),
        " is running; wait for it to finish"));
  }
  ONESTOP_RETURN_IF_ERROR(PrepareTarget(options.target_uri, connection));
  Migration migration(options, *source, connection);
  return migration.Run();
}

}  // namespace onestop::migrate
