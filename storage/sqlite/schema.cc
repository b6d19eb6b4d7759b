#include "storage/sqlite/schema.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "server/util/status_macros.h"

namespace onestop::storage::sqlite_internal {
namespace {

struct Migration {
  int version;
  const char* sql;
};

// Version 1: dossiers with their filter columns, history, the change feed,
// per-prefix code counters and idempotency records. Times are microseconds
// since the Unix epoch (UTC); bodies are serialized onestop.v1 messages.
constexpr char kSchemaV1[] = R"sql(
CREATE TABLE dossiers (
  position          INTEGER PRIMARY KEY AUTOINCREMENT,
  code              TEXT    NOT NULL UNIQUE,
  etag              INTEGER NOT NULL,
  receiving_agency  TEXT,
  holder_agency     TEXT,
  procedure_code    TEXT,
  status            INTEGER NOT NULL,
  due_time_us       INTEGER,
  submitted_time_us INTEGER,
  body              BLOB    NOT NULL  -- Dossier without history
);
CREATE INDEX dossiers_by_receiving_agency ON dossiers (receiving_agency, position);
CREATE INDEX dossiers_by_holder_agency ON dossiers (holder_agency, position);
CREATE INDEX dossiers_by_status ON dossiers (status, position);
CREATE INDEX dossiers_by_procedure ON dossiers (procedure_code, position);
CREATE INDEX dossiers_by_due_time ON dossiers (due_time_us);

CREATE TABLE history (
  dossier_position INTEGER NOT NULL REFERENCES dossiers (position),
  sequence         INTEGER NOT NULL,
  body             BLOB    NOT NULL,  -- HistoryEntry
  PRIMARY KEY (dossier_position, sequence)
);

CREATE TABLE events (
  revision     INTEGER PRIMARY KEY,  -- max + 1 in the writing transaction
  dossier_code TEXT    NOT NULL,
  action       INTEGER NOT NULL,
  time_us      INTEGER,
  body         BLOB    NOT NULL      -- DossierEvent
);

CREATE TABLE code_sequences (
  prefix TEXT    PRIMARY KEY,
  last   INTEGER NOT NULL
);

CREATE TABLE requests (
  request_id      TEXT    PRIMARY KEY,
  fingerprint     BLOB    NOT NULL,
  dossier_code    TEXT    NOT NULL,
  response        BLOB    NOT NULL,  -- Dossier as returned
  created_time_us INTEGER            -- the history entry's time
);
)sql";

// Version 2 (issue #5): report counters. One row per (series, grain,
// bucket, shard) with kCounterSlots signed sums; grain 0 = day (bucket =
// days since 1970-01-01), 1 = month (year × 12 + month − 1). A write adds
// its deltas to the day and month rows in its own transaction. `shard` is always 0 in SQLite (one writer); a multi-writer
// backend spreads hot rows over shards and sums them at read time.
constexpr char kSchemaV2[] = R"sql(
CREATE TABLE report_counters (
  series TEXT    NOT NULL,
  grain  INTEGER NOT NULL,
  bucket INTEGER NOT NULL,
  shard  INTEGER NOT NULL DEFAULT 0,
  v0     INTEGER NOT NULL DEFAULT 0,
  v1     INTEGER NOT NULL DEFAULT 0,
  v2     INTEGER NOT NULL DEFAULT 0,
  v3     INTEGER NOT NULL DEFAULT 0,
  v4     INTEGER NOT NULL DEFAULT 0,
  v5     INTEGER NOT NULL DEFAULT 0,
  v6     INTEGER NOT NULL DEFAULT 0,
  v7     INTEGER NOT NULL DEFAULT 0,
  v8     INTEGER NOT NULL DEFAULT 0,
  v9     INTEGER NOT NULL DEFAULT 0,
  v10     INTEGER NOT NULL DEFAULT 0,
  v11     INTEGER NOT NULL DEFAULT 0,
  v12     INTEGER NOT NULL DEFAULT 0,
  v13     INTEGER NOT NULL DEFAULT 0,
  v14     INTEGER NOT NULL DEFAULT 0,
  v15     INTEGER NOT NULL DEFAULT 0,
  v16     INTEGER NOT NULL DEFAULT 0,
  v17     INTEGER NOT NULL DEFAULT 0,
  v18     INTEGER NOT NULL DEFAULT 0,
  v19     INTEGER NOT NULL DEFAULT 0,
  v20     INTEGER NOT NULL DEFAULT 0,
  v21     INTEGER NOT NULL DEFAULT 0,
  v22     INTEGER NOT NULL DEFAULT 0,
  v23     INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (series, grain, bucket, shard)
) WITHOUT ROWID;
)sql";

// Version 3 (issue #12): the operator's overdue and due-soon gauges
// (CountDossiers) read the open dossiers' due times and receiving agencies.
// With only dossiers_by_status they cost one table row lookup per open
// dossier; this index answers them from the index alone (four range seeks,
// one per open status). Measured on 400k dossiers with 20k open: 67 ms →
// 12 ms with a warm cache, and no random table reads with a cold one.
constexpr char kSchemaV3[] = R"sql(
CREATE INDEX dossiers_by_status_due ON dossiers (status, due_time_us, receiving_agency);
)sql";

constexpr Migration kMigrations[] = {
    {1, kSchemaV1},
    {2, kSchemaV2},
    {3, kSchemaV3},
};
static_assert(sizeof(kMigrations) / sizeof(kMigrations[0]) == kLatestSchemaVersion,
              "one migration per version, in order");

absl::Status MigrateLocked(Connection& connection, absl::string_view path) {
  ONESTOP_ASSIGN_OR_RETURN(
      const int64_t application_id,
      connection.QueryInt64("PRAGMA application_id", "reading application_id"));
  ONESTOP_ASSIGN_OR_RETURN(const int64_t version,
                           connection.QueryInt64("PRAGMA user_version", "reading schema version"));
  if (application_id != 0 && application_id != kOnestopApplicationId) {
    return absl::FailedPreconditionError(
        absl::StrFormat("database %s belongs to another application (application_id 0x%08x); "
                        "point onestopd at an onestop database",
                        path, application_id));
  }
  if (version > kLatestSchemaVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat("database ", path, " has schema version ", version,
                     ", newer than the version this onestopd supports (", kLatestSchemaVersion,
                     "); upgrade onestopd or restore a backup taken by this version"));
  }
  if (version == 0) {
    ONESTOP_ASSIGN_OR_RETURN(
        const int64_t tables,
        connection.QueryInt64("SELECT count(*) FROM sqlite_master", "reading the schema"));
    if (tables != 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "database ", path, " has tables but no onestop schema; it is not an onestop database"));
    }
  }
  for (const Migration& migration : kMigrations) {
    if (migration.version <= version) continue;
    ONESTOP_RETURN_IF_ERROR(connection.Exec(
        migration.sql, absl::StrCat("migrating the schema to version ", migration.version)));
  }
  if (version < kLatestSchemaVersion) {
    ONESTOP_RETURN_IF_ERROR(
        connection.Exec(absl::StrCat("PRAGMA user_version = ", kLatestSchemaVersion, ";",
                                     "PRAGMA application_id = ", kOnestopApplicationId)
                            .c_str(),
                        "recording the schema version"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status MigrateSchema(Connection& connection, absl::string_view path) {
  ONESTOP_RETURN_IF_ERROR(
      connection.Exec("BEGIN IMMEDIATE", "starting the schema migration transaction"));
  absl::Status status = MigrateLocked(connection, path);
  if (status.ok()) status = connection.Exec("COMMIT", "committing the schema migration");
  if (!status.ok() && sqlite3_get_autocommit(connection.raw()) == 0) {
    connection.Exec("ROLLBACK", "rolling back the schema migration").IgnoreError();
  }
  return status;
}

absl::Status MigrateComponent(Connection& connection, absl::string_view path,
                              absl::string_view component, bool require_onestop_database,
                              absl::Span<const ComponentMigration> migrations) {
  if (require_onestop_database) {
    ONESTOP_ASSIGN_OR_RETURN(
        const int64_t application_id,
        connection.QueryInt64("PRAGMA application_id", "reading application_id"));
    if (application_id != kOnestopApplicationId) {
      return absl::FailedPreconditionError(
          absl::StrCat("database ", path,
                       " is not an initialised onestop database; open the dossier store first"));
    }
  }
  ONESTOP_RETURN_IF_ERROR(connection.Exec(
      "CREATE TABLE IF NOT EXISTS component_versions ("
      "component TEXT PRIMARY KEY, version INTEGER NOT NULL)",
      "creating component_versions"));
  const std::string what = absl::StrCat("the ", component, " schema");
  int64_t version = 0;
  {
    ONESTOP_ASSIGN_OR_RETURN(
        Statement read,
        connection.Prepare("SELECT version FROM component_versions WHERE component = ?"));
    read.BindText(1, component);
    ONESTOP_ASSIGN_OR_RETURN(const bool row, read.Step(absl::StrCat("reading ", what, " version")));
    if (row) version = read.ColumnInt64(0);
  }
  const int latest = migrations.empty() ? 0 : migrations.back().version;
  if (version > latest) {
    return absl::FailedPreconditionError(absl::StrCat(
        "database ", path, " has ", component, " schema version ", version,
        ", newer than this onestopd supports (", latest,
        "); upgrade onestopd or restore a backup taken by this version"));
  }
  for (const ComponentMigration& migration : migrations) {
    if (migration.version <= version) continue;
    ONESTOP_RETURN_IF_ERROR(connection.Exec(
        migration.sql, absl::StrCat("migrating ", what, " to version ", migration.version)));
  }
  ONESTOP_ASSIGN_OR_RETURN(
      Statement write,
      connection.Prepare("INSERT INTO component_versions (component, version) VALUES (?, ?) "
                         "ON CONFLICT (component) DO UPDATE SET version = excluded.version"));
  write.BindText(1, component);
  write.BindInt64(2, latest);
  return write.Run(absl::StrCat("recording ", what, " version"));
}

}  // namespace onestop::storage::sqlite_internal
