#include "storage/blobs/sqlite_blob_store.h"

#include <sqlite3.h>

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "server/util/log.h"
#include "server/util/status_macros.h"
#include "storage/blobs/sha256.h"
#include "storage/sqlite/schema.h"
#include "storage/sqlite/sqlite_util.h"

namespace onestop::storage {
namespace {

using sqlite_internal::Connection;
using sqlite_internal::Statement;

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

bool IsHex64(absl::string_view text) {
  return text.size() == 64 && std::all_of(text.begin(), text.end(), [](char c) {
           return absl::ascii_isxdigit(static_cast<unsigned char>(c));
         });
}

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

// ---- Writer ----------------------------------------------------------------

class SqliteBlobStore::Writer final : public BlobWriter {
 public:
  Writer(SqliteBlobStore* store, int64_t upload_id) : store_(store), upload_id_(upload_id) {
    buffer_.reserve(kBlobChunkBytes);
  }

  ~Writer() override {
    if (state_ == State::kOpen) {
      if (absl::Status status = Abort(); !status.ok()) {
        LogWarning("could not delete an abandoned upload's staged chunks; they are deleted "
                   "at the next start",
                   {{"upload_id", absl::StrCat(upload_id_)}, {"error", status.ToString()}});
      }
    }
  }

  absl::Status Append(absl::string_view data) override {
    ONESTOP_RETURN_IF_ERROR(RequireOpen());
    hash_.Update(data);
    size_ += static_cast<int64_t>(data.size());
    while (!data.empty()) {
      const size_t take = std::min(data.size(), kBlobChunkBytes - buffer_.size());
      buffer_.append(data.data(), take);
      data.remove_prefix(take);
      if (buffer_.size() == kBlobChunkBytes) ONESTOP_RETURN_IF_ERROR(Flush());
    }
    return absl::OkStatus();
  }

  int64_t size_bytes() const override { return size_; }

  absl::StatusOr<StoredBlob> Finish(int64_t expected_size,
                                    absl::string_view expected_sha256) override {
    ONESTOP_RETURN_IF_ERROR(RequireOpen());
    if (!IsHex64(expected_sha256)) {
      Abort().IgnoreError();
      return absl::InvalidArgumentError(
          "the expected SHA-256 must be 64 hex digits; the upload was discarded");
    }
    if (!buffer_.empty()) {
      if (absl::Status status = Flush(); !status.ok()) return status;  // Flush aborted
    }
    const std::string actual = hash_.FinishHex();
    const std::string expected = absl::AsciiStrToLower(expected_sha256);
    if (size_ != expected_size) {
      Abort().IgnoreError();
      return absl::InvalidArgumentError(absl::StrCat(
          "received ", size_, " bytes but the header declared ", expected_size,
          "; the upload was discarded (send the whole file again)"));
    }
    if (actual != expected) {
      Abort().IgnoreError();
      return absl::InvalidArgumentError(absl::StrCat(
          "the received bytes have SHA-256 ", actual, " but the header declared ", expected,
          "; the file was damaged on the way or the header is wrong; the upload was discarded"));
    }
    absl::StatusOr<StoredBlob> stored;
    {
      absl::MutexLock lock(&store_->mu_);
      stored = store_->StoreLocked(upload_id_, actual, size_, chunks_);
    }
    if (!stored.ok()) {
      Abort().IgnoreError();
      return stored.status();
    }
    state_ = State::kFinished;
    return stored;
  }

  absl::Status Abort() override {
    if (state_ != State::kOpen) return absl::OkStatus();
    state_ = State::kAborted;
    buffer_.clear();
    buffer_.shrink_to_fit();
    absl::MutexLock lock(&store_->mu_);
    return store_->AbortLocked(upload_id_);
  }

 private:
  enum class State { kOpen, kFinished, kAborted };

  absl::Status RequireOpen() const {
    if (state_ == State::kOpen) return absl::OkStatus();
    return absl::FailedPreconditionError(state_ == State::kFinished
                                             ? "this upload is already finished"
                                             : "this upload was aborted");
  }

  // Writes the buffer as the next chunk row; aborts the upload on failure.
  absl::Status Flush() {
    absl::Status status;
    {
      absl::MutexLock lock(&store_->mu_);
      status = store_->AppendChunkLocked(upload_id_, chunks_, buffer_);
    }
    if (!status.ok()) {
      Abort().IgnoreError();
      return status;
    }
    ++chunks_;
    buffer_.clear();
    return absl::OkStatus();
  }

  SqliteBlobStore* const store_;
  const int64_t upload_id_;
  State state_ = State::kOpen;
  std::string buffer_;
  Sha256 hash_;
  int64_t size_ = 0;
  int64_t chunks_ = 0;
};

// ---- Reader ----------------------------------------------------------------

class SqliteBlobStore::Reader final : public BlobReader {
 public:
  Reader(SqliteBlobStore* store, std::string sha256, int64_t upload_id, int64_t size,
         int64_t chunk_count)
      : store_(store),
        sha256_(std::move(sha256)),
        upload_id_(upload_id),
        size_(size),
        chunk_count_(chunk_count) {}

  int64_t size_bytes() const override { return size_; }
  const std::string& sha256() const override { return sha256_; }

  absl::StatusOr<std::optional<std::string>> Next() override {
    if (done_) return std::optional<std::string>();
    if (next_seq_ < chunk_count_) {
      absl::StatusOr<std::optional<std::string>> chunk;
      {
        absl::MutexLock lock(&store_->mu_);
        chunk = store_->ReadChunkLocked(upload_id_, next_seq_);
      }
      if (!chunk.ok()) return chunk.status();
      if (!chunk->has_value() || (*chunk)->empty()) {
        return Lost(absl::StrCat("chunk ", next_seq_ + 1, " of ", chunk_count_, " is missing"));
      }
      ++next_seq_;
      read_ += static_cast<int64_t>((*chunk)->size());
      if (read_ > size_) {
        return Lost(absl::StrCat("it holds more than its recorded ", size_, " bytes"));
      }
      hash_.Update(**chunk);
      return chunk;
    }
    done_ = true;
    if (read_ != size_) {
      return Lost(absl::StrCat("it holds ", read_, " bytes, not the recorded ", size_));
    }
    const std::string actual = hash_.FinishHex();
    if (actual != sha256_) {
      return Lost(absl::StrCat("its bytes now hash to ", actual));
    }
    return std::optional<std::string>();
  }

 private:
  absl::Status Lost(absl::string_view what) {
    done_ = true;
    return absl::DataLossError(absl::StrCat("stored document ", sha256_,
                                            " is damaged: ", what,
                                            "; restore the database from a backup"));
  }

  SqliteBlobStore* const store_;
  const std::string sha256_;
  const int64_t upload_id_;
  const int64_t size_;
  const int64_t chunk_count_;
  int64_t next_seq_ = 0;
  int64_t read_ = 0;
  bool done_ = false;
  Sha256 hash_;
};

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
  return std::unique_ptr<BlobWriter>(new Writer(this, id));
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
  return std::unique_ptr<BlobReader>(
      new Reader(this, key, find.ColumnInt64(0), find.ColumnInt64(1), find.ColumnInt64(2)));
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
