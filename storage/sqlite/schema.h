// The SQLite schema of SqliteDossierStore and its versioned migrations,
// private to storage/sqlite/.
//
// The version lives in `PRAGMA user_version` (transactional, in the file
// header); `PRAGMA application_id` marks the file as onestop's. Migrations
// are append-only: never edit a released one, add the next version.
#ifndef ONESTOP_STORAGE_SQLITE_SCHEMA_H_
#define ONESTOP_STORAGE_SQLITE_SCHEMA_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "storage/sqlite/sqlite_util.h"

namespace onestop::storage::sqlite_internal {

// The newest schema version this build knows.
inline constexpr int kLatestSchemaVersion = 3;
// `PRAGMA application_id` of onestop databases ("ONES").
inline constexpr int32_t kOnestopApplicationId = 0x4F4E4553;

// Brings the schema of `connection` to kLatestSchemaVersion in ONE
// transaction (all pending migrations or none). `path` is only for
// messages. Errors:
//   FAILED_PRECONDITION  the database belongs to another application (a
//                        foreign application_id, or tables but no onestop
//                        schema), or its version is newer than
//                        kLatestSchemaVersion
//   UNAVAILABLE          another connection holds the write lock
//   INTERNAL             a migration failed (see SqliteError)
absl::Status MigrateSchema(Connection& connection, absl::string_view path);

// One schema version of a component that keeps its own tables in the
// daemon's file (tokens and audit, document blobs).
struct ComponentMigration {
  int version;
  const char* sql;
};

// Brings `component`'s tables to the last of `migrations` (one per
// version, in order), its version recorded in `component_versions` — never
// in PRAGMA user_version, which is the dossier store's. Call inside the
// caller's transaction. With `require_onestop_database`, a file the dossier
// store has not stamped is refused. FAILED_PRECONDITION for that, or for a
// recorded version newer than this build knows; SqliteError otherwise.
absl::Status MigrateComponent(Connection& connection, absl::string_view path,
                              absl::string_view component, bool require_onestop_database,
                              absl::Span<const ComponentMigration> migrations);

}  // namespace onestop::storage::sqlite_internal

#endif  // ONESTOP_STORAGE_SQLITE_SCHEMA_H_
