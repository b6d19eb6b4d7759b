// StorageBackend: opens the three stores of one onestopd — dossiers (with
// the change feed and report counters), tokens + audit, document blobs —
// on the engine that --db names (issue #11):
//
//   /path/to/file.db, sqlite:/path/to/file.db   one SQLite file, one daemon
//                                               (the file is locked)
//   postgresql://user@host:port/dbname           PostgreSQL, any number of
//   postgres://…                                 daemons on one database
//
// It also carries what differs between the engines: the online backup
// (SQLite's backup API; PostgreSQL: refused, use pg_dump), the storage
// metrics (SQLite group-commit statistics), and the change-feed wake-ups
// (SQLite: the daemon's own writes are the only ones; PostgreSQL: a
// LISTEN connection hears every daemon's commits, see StartFeedWakeups).
//
// Thread safety: the stores are thread-safe; the Backend object itself is
// built once in main and then only read.
#ifndef ONESTOP_SERVER_OPS_STORAGE_BACKEND_H_
#define ONESTOP_SERVER_OPS_STORAGE_BACKEND_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/ops/metrics.h"
#include "storage/blobs/blob_store.h"
#include "storage/dossier_store.h"
#include "storage/security/security_store.h"
#include "storage/sqlite/sqlite_dossier_store.h"

namespace onestop::ops {

enum class Engine { kSqlite, kPostgres };

struct BackendOptions {
  // The --db value.
  std::string db;
  // PostgreSQL: connections per daemon for the dossier store (the security
  // and blob stores keep a few of their own).
  int postgres_pool_size = 16;
  // SQLite: what Open verifies about an existing file (--integrity-check).
  storage::IntegrityCheck sqlite_integrity_check = storage::IntegrityCheck::kQuick;
};

struct Backend {
  Engine engine = Engine::kSqlite;
  // For logs: the file path, or the URI without its password.
  std::string description;
  std::unique_ptr<storage::DossierStore> dossiers;
  std::unique_ptr<storage::SecurityStore> security;
  std::unique_ptr<storage::BlobStore> blobs;
  // Writes a consistent online copy to a file; empty when the engine has
  // none (AdminService then refuses BackupDatabase with a hint).
  std::function<absl::Status(const std::string&)> backup;
  // Engine-specific scrape-time metrics (may be empty).
  std::function<void(MetricsWriter&)> collect_metrics;
  // The PostgreSQL URI (empty for SQLite), for StartFeedWakeups.
  std::string postgres_uri;
};

// Opens the stores in order (dossiers first: it creates or checks the
// database; then security and blobs on the same database). Errors name
// the part that failed and the redacted location:
//   INVALID_ARGUMENT    an empty --db or an unknown "scheme:"
//   FAILED_PRECONDITION the file is in use by another onestopd, not an
//                       onestop database, or of a newer schema; PostgreSQL
//                       refuses the credentials or database
//   UNAVAILABLE         PostgreSQL cannot be reached
absl::StatusOr<Backend> OpenBackend(const BackendOptions& options);

// Runs while alive; destroying it stops the wake-ups.
class FeedWakeups {
 public:
  virtual ~FeedWakeups() = default;
};

// Wakes this daemon's change-feed watchers on commits made by any daemon:
// for PostgreSQL a LISTEN connection calls `publish(revision)` for each
// notification (and once with the last revision after every reconnect).
// For SQLite returns null: the one daemon's own writes publish already.
absl::StatusOr<std::unique_ptr<FeedWakeups>> StartFeedWakeups(
    const Backend& backend, std::function<void(int64_t)> publish);

}  // namespace onestop::ops

#endif  // ONESTOP_SERVER_OPS_STORAGE_BACKEND_H_
