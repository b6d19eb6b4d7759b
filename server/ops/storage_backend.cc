#include "server/ops/storage_backend.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "server/util/status_macros.h"
#include "storage/blobs/postgres_blob_store.h"
#include "storage/blobs/sqlite_blob_store.h"
#include "storage/postgres/pg_feed_listener.h"
#include "storage/postgres/pg_util.h"
#include "storage/postgres/postgres_dossier_store.h"
#include "storage/security/postgres_security_store.h"
#include "storage/security/sqlite_security_store.h"
#include "storage/sqlite/sqlite_dossier_store.h"

namespace onestop::ops {
namespace {

absl::Status Named(absl::string_view part, const absl::Status& status) {
  return absl::Status(status.code(), absl::StrCat("cannot open ", part, ": ", status.message()));
}

// Group commit (docs/PERFORMANCE.md): how many writes share an fsync.
void CollectCommitStats(const storage::CommitStats& stats, MetricsWriter& out) {
  out.Counter("onestop_storage_commit_batches_total",
              "Group-commit transactions run (committed or failed).", {},
              static_cast<double>(stats.batches));
  out.Counter("onestop_storage_commit_writes_total",
              "Writes carried by group commits; divided by batches: the mean batch size.", {},
              static_cast<double>(stats.writes));
  out.Counter("onestop_storage_commit_failed_batches_total",
              "Group commits whose transaction failed as a whole (an import request "
              "failing with a database error included: it is a batch of its own).",
              {},
              static_cast<double>(stats.failed_batches));
  out.Counter("onestop_storage_commit_seconds_total",
              "Time spent in COMMIT (the fsync), summed over batches.", {},
              absl::ToDoubleSeconds(stats.total_commit_time));
  out.Gauge("onestop_storage_commit_seconds_max", "Longest COMMIT so far.", {},
            absl::ToDoubleSeconds(stats.max_commit_time));
  out.Gauge("onestop_storage_commit_batch_size_max", "Most writes in one group commit so far.",
            {}, stats.max_batch_size);
  out.Gauge("onestop_storage_write_queue", "Writes waiting for the writer thread now.", {},
            static_cast<double>(stats.queued_writes));
  for (int i = 0; i < storage::CommitStats::kBatchSizeBuckets; ++i) {
    const int low = 1 << i;
    const std::string range =
        i + 1 == storage::CommitStats::kBatchSizeBuckets
            ? absl::StrCat(low, "+")
            : (low == (2 << i) - 1 ? absl::StrCat(low) : absl::StrCat(low, "-", (2 << i) - 1));
    out.Counter("onestop_storage_commit_batches_by_size_total",
                "Group commits by number of writes.", {{"writes", range}},
                static_cast<double>(stats.batch_size_histogram[i]));
  }
}

// The recently updated dossiers Get answers from memory
// (storage/recent_dossiers.h).
void CollectRecentDossierStats(const storage::RecentDossierStats& stats, MetricsWriter& out) {
  out.Counter("onestop_storage_recent_dossier_hits_total",
              "Dossier reads answered from the recently updated dossiers kept in memory.", {},
              static_cast<double>(stats.hits));
  out.Counter("onestop_storage_recent_dossier_misses_total",
              "Dossier reads that went to the database.", {}, static_cast<double>(stats.misses));
  out.Gauge("onestop_storage_recent_dossiers", "Recently updated dossiers kept in memory now.", {},
            static_cast<double>(stats.entries));
}

absl::StatusOr<Backend> OpenSqlite(const std::string& path, const BackendOptions& options) {
  Backend backend;
  backend.engine = Engine::kSqlite;
  backend.description = path;
  storage::SqliteOptions store_options;
  store_options.path = path;
  store_options.integrity_check = options.sqlite_integrity_check;
  absl::StatusOr<std::unique_ptr<storage::SqliteDossierStore>> store =
      storage::SqliteDossierStore::Open(store_options);
  if (!store.ok()) return Named("the database", store.status());
  storage::SqliteDossierStore* sqlite = store->get();
  backend.backup = [sqlite](const std::string& destination) {
    return sqlite->Backup(destination);
  };
  backend.collect_metrics = [sqlite](MetricsWriter& out) {
    CollectCommitStats(sqlite->GetCommitStats(), out);
    CollectRecentDossierStats(sqlite->GetRecentDossierStats(), out);
  };
  backend.dossiers = *std::move(store);
  // Tokens, audit and blobs: the same file, connections of their own for
  // reading. Token and audit writes ride the dossier store's group commit
  // (shared_writer.h); `backend.security` is destroyed before
  // `backend.dossiers` (declared after it). ":memory:" is a private
  // database per connection: there the security store writes its own.
  auto security = storage::SqliteSecurityStore::Open(
      {.path = path, .shared_writer = path == ":memory:" ? nullptr : sqlite});
  if (!security.ok()) return Named("the security tables", security.status());
  backend.security = *std::move(security);
  auto blobs = storage::SqliteBlobStore::Open({.path = path});
  if (!blobs.ok()) return Named("the document tables", blobs.status());
  backend.blobs = *std::move(blobs);
  return backend;
}

absl::StatusOr<Backend> OpenPostgres(const std::string& uri, const BackendOptions& options) {
  Backend backend;
  backend.engine = Engine::kPostgres;
  backend.description = storage::pg::RedactUri(uri);
  backend.postgres_uri = uri;
  storage::PostgresOptions store_options;
  store_options.uri = uri;
  store_options.pool_size = options.postgres_pool_size;
  auto store = storage::PostgresDossierStore::Open(store_options);
  if (!store.ok()) return Named("the database", store.status());
  backend.dossiers = *std::move(store);
  auto security = storage::PostgresSecurityStore::Open({.uri = uri});
  if (!security.ok()) return Named("the security tables", security.status());
  backend.security = *std::move(security);
  auto blobs = storage::PostgresBlobStore::Open({.uri = uri});
  if (!blobs.ok()) return Named("the document tables", blobs.status());
  backend.blobs = *std::move(blobs);
  return backend;
}

class PostgresFeedWakeups final : public FeedWakeups {
 public:
  explicit PostgresFeedWakeups(std::unique_ptr<storage::PgFeedListener> listener)
      : listener_(std::move(listener)) {}

 private:
  std::unique_ptr<storage::PgFeedListener> listener_;
};

}  // namespace

absl::StatusOr<Backend> OpenBackend(const BackendOptions& options) {
  const std::string& db = options.db;
  if (db.empty()) {
    return absl::InvalidArgumentError(
        "--db is empty: give a SQLite file path or a postgresql:// URI");
  }
  if (storage::pg::IsPostgresUri(db)) return OpenPostgres(db, options);
  absl::string_view path = db;
  if (absl::ConsumePrefix(&path, "sqlite:")) {
    if (path.empty()) return absl::InvalidArgumentError("--db=sqlite: needs a file path");
    return OpenSqlite(std::string(path), options);
  }
  // "scheme://…" that we do not know is a mistake, not a file name.
  if (const size_t scheme = db.find("://"); scheme != std::string::npos && scheme < 16) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--db: \"", db.substr(0, scheme), "://\" is not a known engine; give a SQLite file "
        "path (or sqlite:PATH) or a postgresql:// URI"));
  }
  return OpenSqlite(db, options);
}

absl::StatusOr<std::unique_ptr<FeedWakeups>> StartFeedWakeups(
    const Backend& backend, std::function<void(int64_t)> publish) {
  if (backend.engine != Engine::kPostgres) return std::unique_ptr<FeedWakeups>();
  auto listener = storage::PgFeedListener::Start({.uri = backend.postgres_uri}, std::move(publish));
  if (!listener.ok()) return Named("the change-feed listener", listener.status());
  return std::unique_ptr<FeedWakeups>(new PostgresFeedWakeups(*std::move(listener)));
}

}  // namespace onestop::ops
