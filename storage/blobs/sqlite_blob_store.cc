#include "storage/blobs/sqlite_blob_store.h"

#include <sqlite3.h>

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "server/util/status_macros.h"
#include "storage/sqlite/schema.h"
#include "storage/sqlite/sqlite_util.h"

namespace onestop::storage {
namespace {

using sqlite_internal::Connection;
using sqlite_internal::Statement;
using blobs_internal::ChunkedBlobReader;
using blobs_internal::ChunkedBlobWriter;
using blobs_internal::IsHex64;

constexpr char kComponent[] = "blobs";

// Version 1. Times are microseconds since the Unix epoch (UTC).
constexpr char kBlobSchemaV1[] = R"sql(
CREATE TABLE blob_uploads (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  started_us INTEGER NOT NULL
);
CREATE TABLE blob_chunks (
  upload_id INTEGER NOT NULL,
  seq       INTEGER NOT NULL,
  data      BLOB    NOT NULL,
  PRIMARY KEY (upload_id, seq)
);
CREATE TABLE blobs (
  sha256      TEXT    PRIMARY KEY,  -- 64 lowercase hex digits
  upload_id   INTEGER NOT NULL UNIQUE,
  size_bytes  INTEGER NOT NULL,
  chunk_count INTEGER NOT NULL,
  referenced  INTEGER NOT NULL DEFAULT 0,
  created_us  INTEGER NOT NULL
);
CREATE TABLE blob_claims (
  id     INTEGER PRIMARY KEY AUTOINCREMENT,
  sha256 TEXT    NOT NULL
);
CREATE INDEX blob_claims_by_sha256 ON blob_claims (sha256);
)sql";

constexpr sqlite_internal::ComponentMigration kMigrations[] = {{1, kBlobSchemaV1}};
static_assert(sizeof(kMigrations) / sizeof(kMigrations[0]) == kBlobSchemaVersion,
              "one migration per version, in order");

// Runs `body` inside BEGIN IMMEDIATE … COMMIT, rolling back on failure.
template <typename Body>
absl::Status InTransaction(Connection& connection, absl::string_view what, Body body) {
  ONESTOP_RETURN_IF_ERROR(connection.Exec("BEGIN IMMEDIATE", what));
  absl::Status status = body();
  if (status.ok()) status = connection.Exec("COMMIT", what);
  if (!status.ok() && sqlite3_get_autocommit(connection.raw()) == 0) {
    connection.Exec("ROLLBACK", what).IgnoreError();
  }
  return status;
}

absl::Status DeleteUploadChunks(Connection& connection, int64_t upload_id) {
  ONESTOP_ASSIGN_OR_RETURN(Statement del,
                           connection.Prepare("DELETE FROM blob_chunks WHERE upload_id = ?"));
  del.BindInt64(1, upload_id);
  return del.Run("deleting staged chunks");
}

absl::Status MigrateAndRecoverLocked(Connection& connection,
                                     const SqliteBlobStoreOptions& options) {
  ONESTOP_RETURN_IF_ERROR(sqlite_internal::MigrateComponent(
      connection, options.path, kComponent,
      options.check == BlobDatabaseCheck::kRequireOnestopDatabase, kMigrations));
  // A crash leaves staged uploads (garbage) and maybe claims whose
  // reference was recorded just before it (so: referenced).
  ONESTOP_RETURN_IF_ERROR(connection.Exec(
      "DELETE FROM blob_chunks WHERE upload_id IN (SELECT id FROM blob_uploads);"
      "DELETE FROM blob_uploads;"
      "UPDATE blobs SET referenced = 1 WHERE sha256 IN (SELECT sha256 FROM blob_claims);"
      "DELETE FROM blob_claims;",
      "clearing interrupted uploads"));
  return absl::OkStatus();
}

}  // namespace

// ---- Store -----------------------------------------------------------------

SqliteBlobStore::SqliteBlobStore(std::unique_ptr<Connection> connection,
                                 BlobDurability durability)
    : durability_(durability), connection_(std::move(connection)) {}

SqliteBlobStore::~SqliteBlobStore() = default;

absl::StatusOr<std::unique_ptr<SqliteBlobStore>> SqliteBlobStore::Open(
    const SqliteBlobStoreOptions& options) {
  if (options.path.empty() || options.path == ":memory:") {
    return absl::InvalidArgumentError(
        "the blob store needs the daemon's database file (not empty, not \":memory:\")");
  }
  ONESTOP_ASSIGN_OR_RETURN(std::unique_ptr<Connection> connection,
                           Connection::Open(options.path));
  sqlite3_busy_timeout(connection->raw(),
                       static_cast<int>(absl::ToInt64Milliseconds(options.busy_timeout)));
  absl::StatusOr<std::string> journal =
      connection->QueryText("PRAGMA journal_mode = WAL", "enabling the WAL journal");
  if (!journal.ok()) {
    if (journal.status().code() == absl::StatusCode::kInternal) {
      return absl::FailedPreconditionError(absl::StrCat(
          "database ", options.path, " cannot be used: ", journal.status().message()));
    }
    return journal.status();
  }
  const bool full = options.durability == BlobDurability::kFull;
  ONESTOP_RETURN_IF_ERROR(connection->Exec(
      full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL", "setting synchronous"));
  Connection& c = *connection;
  ONESTOP_RETURN_IF_ERROR(InTransaction(c, "migrating the blobs schema",
                                        [&] { return MigrateAndRecoverLocked(c, options); }));
  std::unique_ptr<SqliteBlobStore> store(
      new SqliteBlobStore(std::move(connection), options.durability));
  absl::MutexLock lock(&store->mu_);
  store->synchronous_full_ = full;
  return store;
}

absl::Status SqliteBlobStore::SynchronousLocked(bool full) {
  full = full && durability_ == BlobDurability::kFull;
  if (full == synchronous_full_) return absl::OkStatus();
  ONESTOP_RETURN_IF_ERROR(connection_->Exec(
      full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL", "setting synchronous"));
  synchronous_full_ = full;
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<BlobWriter>> SqliteBlobStore::Begin() {
  absl::MutexLock lock(&mu_);
  ONESTOP_RETURN_IF_ERROR(SynchronousLocked(false));
  ONESTOP_ASSIGN_OR_RETURN(
      Statement insert, connection_->Prepare("INSERT INTO blob_uploads (started_us) VALUES (?)"));
  insert.BindInt64(1, absl::ToUnixMicros(absl::Now()));
  ONESTOP_RETURN_IF_ERROR(insert.Run("starting an upload"));
  const int64_t id = sqlite3_last_insert_rowid(connection_->raw());
  return std::unique_ptr<BlobWriter>(new ChunkedBlobWriter(this, id));
}

absl::Status SqliteBlobStore::AppendChunkLocked(int64_t upload_id, int64_t seq,
                                                absl::string_view data) {
  ONESTOP_RETURN_IF_ERROR(SynchronousLocked(false));
  ONESTOP_ASSIGN_OR_RETURN(
      Statement insert,
      connection_->Prepare("INSERT INTO blob_chunks (upload_id, seq, data) VALUES (?, ?, ?)"));
  insert.BindInt64(1, upload_id);
  insert.BindInt64(2, seq);
  insert.BindBlob(3, data);
  return insert.Run("staging a chunk");
}

absl::Status SqliteBlobStore::AbortLocked(int64_t upload_id) {
  ONESTOP_RETURN_IF_ERROR(SynchronousLocked(false));
  Connection& c = *connection_;
  return InTransaction(c, "discarding an upload", [&]() -> absl::Status {
    ONESTOP_RETURN_IF_ERROR(DeleteUploadChunks(c, upload_id));
    ONESTOP_ASSIGN_OR_RETURN(Statement del,
                             c.Prepare("DELETE FROM blob_uploads WHERE id = ?"));
    del.BindInt64(1, upload_id);
    return del.Run("discarding an upload");
  });
}

absl::StatusOr<StoredBlob> SqliteBlobStore::StoreLocked(int64_t upload_id,
                                                        const std::string& sha256, int64_t size,
                                                        int64_t chunks) {
  ONESTOP_RETURN_IF_ERROR(SynchronousLocked(true));
  StoredBlob stored;
  stored.sha256 = sha256;
  stored.size_bytes = size;
  Connection& c = *connection_;
  ONESTOP_RETURN_IF_ERROR(InTransaction(c, "storing a document", [&]() -> absl::Status {
    bool exists = false;
    {
      ONESTOP_ASSIGN_OR_RETURN(Statement find,
                               c.Prepare("SELECT size_bytes FROM blobs WHERE sha256 = ?"));
      find.BindText(1, sha256);
      ONESTOP_ASSIGN_OR_RETURN(exists, find.Step("looking up a document"));
    }
    if (exists) {
      // The same bytes are already stored: keep one copy.
      ONESTOP_RETURN_IF_ERROR(DeleteUploadChunks(c, upload_id));
      stored.origin = BlobOrigin::kExisting;
    } else {
      ONESTOP_ASSIGN_OR_RETURN(
          Statement insert,
          c.Prepare("INSERT INTO blobs (sha256, upload_id, size_bytes, chunk_count, referenced, "
                    "created_us) VALUES (?, ?, ?, ?, 0, ?)"));
      insert.BindText(1, sha256);
      insert.BindInt64(2, upload_id);
      insert.BindInt64(3, size);
      insert.BindInt64(4, chunks);
      insert.BindInt64(5, absl::ToUnixMicros(absl::Now()));
      ONESTOP_RETURN_IF_ERROR(insert.Run("storing a document"));
      stored.origin = BlobOrigin::kNew;
    }
    {
      ONESTOP_ASSIGN_OR_RETURN(Statement del, c.Prepare("DELETE FROM blob_uploads WHERE id = ?"));
      del.BindInt64(1, upload_id);
      ONESTOP_RETURN_IF_ERROR(del.Run("closing an upload"));
    }
    ONESTOP_ASSIGN_OR_RETURN(Statement claim,
                             c.Prepare("INSERT INTO blob_claims (sha256) VALUES (?)"));
    claim.BindText(1, sha256);
    ONESTOP_RETURN_IF_ERROR(claim.Run("claiming a document"));
    stored.claim = sqlite3_last_insert_rowid(c.raw());
    return absl::OkStatus();
  }));
  return stored;
}

// ChunkStorage: the shared writer and reader call these (one lock each).
absl::Status SqliteBlobStore::AppendChunk(int64_t upload_id, int64_t seq,
                                          absl::string_view data) {
  absl::MutexLock lock(&mu_);
  return AppendChunkLocked(upload_id, seq, data);
}

absl::Status SqliteBlobStore::AbortUpload(int64_t upload_id) {
  absl::MutexLock lock(&mu_);
  return AbortLocked(upload_id);
}

absl::StatusOr<StoredBlob> SqliteBlobStore::StoreUpload(int64_t upload_id,
                                                        const std::string& sha256, int64_t size,
                                                        int64_t chunks) {
  absl::MutexLock lock(&mu_);
  return StoreLocked(upload_id, sha256, size, chunks);
}

absl::StatusOr<std::optional<std::string>> SqliteBlobStore::ReadChunk(int64_t upload_id,
                                                                     int64_t seq) {
  absl::MutexLock lock(&mu_);
  return ReadChunkLocked(upload_id, seq);
}

absl::StatusOr<std::unique_ptr<BlobReader>> SqliteBlobStore::Open(absl::string_view sha256) {
  if (!IsHex64(sha256)) {
    return absl::InvalidArgumentError("a document's SHA-256 must be 64 hex digits");
  }
  const std::string key = absl::AsciiStrToLower(sha256);
  absl::MutexLock lock(&mu_);
  ONESTOP_ASSIGN_OR_RETURN(
      Statement find,
      connection_->Prepare(
          "SELECT upload_id, size_bytes, chunk_count FROM blobs WHERE sha256 = ?"));
  find.BindText(1, key);
  ONESTOP_ASSIGN_OR_RETURN(const bool row, find.Step("opening a document"));
  if (!row) {
    return absl::NotFoundError(absl::StrCat("no stored document has SHA-256 ", key));
  }
  return std::unique_ptr<BlobReader>(new ChunkedBlobReader(
      this, key, find.ColumnInt64(0), find.ColumnInt64(1), find.ColumnInt64(2)));
}

absl::StatusOr<std::optional<std::string>> SqliteBlobStore::ReadChunkLocked(int64_t upload_id,
                                                                           int64_t seq) {
  ONESTOP_ASSIGN_OR_RETURN(
      Statement read,
      connection_->Prepare("SELECT data FROM blob_chunks WHERE upload_id = ? AND seq = ?"));
  read.BindInt64(1, upload_id);
  read.BindInt64(2, seq);
  ONESTOP_ASSIGN_OR_RETURN(const bool row, read.Step("reading a document"));
  if (!row) return std::optional<std::string>();
  return std::optional<std::string>(std::string(read.ColumnBlob(0)));
}

absl::Status SqliteBlobStore::Release(int64_t claim, ClaimOutcome outcome) {
  absl::MutexLock lock(&mu_);
  ONESTOP_RETURN_IF_ERROR(SynchronousLocked(true));
  Connection& c = *connection_;
  return InTransaction(c, "releasing a document claim", [&]() -> absl::Status {
    std::string sha256;
    {
      ONESTOP_ASSIGN_OR_RETURN(Statement find,
                               c.Prepare("SELECT sha256 FROM blob_claims WHERE id = ?"));
      find.BindInt64(1, claim);
      ONESTOP_ASSIGN_OR_RETURN(const bool row, find.Step("reading a claim"));
      if (!row) return absl::OkStatus();  // already released
      sha256 = std::string(find.ColumnText(0));
    }
    {
      ONESTOP_ASSIGN_OR_RETURN(Statement del, c.Prepare("DELETE FROM blob_claims WHERE id = ?"));
      del.BindInt64(1, claim);
      ONESTOP_RETURN_IF_ERROR(del.Run("releasing a claim"));
    }
    if (outcome == ClaimOutcome::kReferenced) {
      ONESTOP_ASSIGN_OR_RETURN(
          Statement mark, c.Prepare("UPDATE blobs SET referenced = 1 WHERE sha256 = ?"));
      mark.BindText(1, sha256);
      return mark.Run("marking a document referenced");
    }
    // Unused: delete the blob only if nothing else may point at it.
    int64_t upload_id = 0;
    {
      ONESTOP_ASSIGN_OR_RETURN(
          Statement find,
          c.Prepare("SELECT upload_id FROM blobs WHERE sha256 = ? AND referenced = 0 AND "
                    "NOT EXISTS (SELECT 1 FROM blob_claims WHERE blob_claims.sha256 = "
                    "blobs.sha256)"));
      find.BindText(1, sha256);
      ONESTOP_ASSIGN_OR_RETURN(const bool row, find.Step("checking a document's claims"));
      if (!row) return absl::OkStatus();
      upload_id = find.ColumnInt64(0);
    }
    ONESTOP_RETURN_IF_ERROR(DeleteUploadChunks(c, upload_id));
    ONESTOP_ASSIGN_OR_RETURN(Statement del, c.Prepare("DELETE FROM blobs WHERE sha256 = ?"));
    del.BindText(1, sha256);
    return del.Run("deleting an unused document");
  });
}

absl::StatusOr<BlobStats> SqliteBlobStore::Stats() {
  absl::MutexLock lock(&mu_);
  BlobStats stats;
  ONESTOP_ASSIGN_OR_RETURN(stats.blobs,
                           connection_->QueryInt64("SELECT COUNT(*) FROM blobs", "counting blobs"));
  ONESTOP_ASSIGN_OR_RETURN(
      stats.stored_bytes,
      connection_->QueryInt64("SELECT COALESCE(SUM(size_bytes), 0) FROM blobs", "summing blobs"));
  ONESTOP_ASSIGN_OR_RETURN(
      stats.chunks, connection_->QueryInt64("SELECT COUNT(*) FROM blob_chunks", "counting chunks"));
  ONESTOP_ASSIGN_OR_RETURN(
      stats.staged_uploads,
      connection_->QueryInt64("SELECT COUNT(*) FROM blob_uploads", "counting uploads"));
  ONESTOP_ASSIGN_OR_RETURN(
      stats.claims,
      connection_->QueryInt64("SELECT COUNT(*) FROM blob_claims", "counting claims"));
  return stats;
}

}  // namespace onestop::storage
