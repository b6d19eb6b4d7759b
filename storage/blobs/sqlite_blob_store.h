// The SQLite BlobStore: its own connection to the daemon's database file
// (like the security store), its own tables and its own migrations, so the
// blobs share the dossiers' file, durability regime and backups.
//
// Tables (schema version in `component_versions`, component "blobs";
// PRAGMA user_version belongs to the dossier store):
//   blob_uploads(id AUTOINCREMENT, started_us)  uploads being staged
//   blob_chunks(upload_id, seq, data)           the bytes, kBlobChunkBytes
//                                               a row, for staged and
//                                               stored blobs alike
//   blobs(sha256 PK, upload_id UNIQUE, size_bytes, chunk_count,
//         referenced, created_us)               one row per stored blob
//   blob_claims(id, sha256)                     claims (blob_store.h)
// Finishing an upload turns its staged chunks into the blob's chunks by
// inserting the `blobs` row, without copying a byte; dedup deletes them.
// Upload ids are never reused (AUTOINCREMENT), so chunks of an aborted
// upload can never mix into another.
//
// Size limits and why:
// - chunk rows of 256 KiB (kBlobChunkBytes): a writer buffers at most one
//   row and a reader holds one row, so memory stays flat whatever the file
//   size (a 50 MB file is 191 rows); each row is a short write transaction,
//   so an upload never holds the database's write lock for long and
//   dossier writes interleave with it; and SQLite reads a row's overflow
//   pages sequentially.
// - the store itself puts no limit on a blob's size (at most 2^31 chunks);
//   the upload service enforces the operator's limit (default 100 MiB,
//   core::ComponentPolicy) before accepting bytes.
//
// Durability: staged chunks are written with synchronous=NORMAL (a crash
// may lose them; they are garbage then anyway). The transaction that
// stores a blob runs with synchronous=FULL (kFull): its WAL fsync also
// makes every earlier staged frame durable, so an acknowledged blob
// survives power loss. kNormal keeps NORMAL throughout (tests).
//
// Open order: the dossier store first (it creates the database and stamps
// it as onestop's), then this store; uploads staged before (a crash) are
// deleted and leftover claims are turned into references. Open it from
// ONE process per database file (the daemon's single-writer lock).
//
// Thread safety: thread-safe (one mutex around the connection); writers
// and readers take it per call.
#ifndef ONESTOP_STORAGE_BLOBS_SQLITE_BLOB_STORE_H_
#define ONESTOP_STORAGE_BLOBS_SQLITE_BLOB_STORE_H_

#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "storage/blobs/blob_store.h"
#include "storage/blobs/chunked_blob.h"  // kBlobChunkBytes

namespace onestop::storage {

namespace sqlite_internal {
class Connection;
}

// The latest schema version of the "blobs" component.
inline constexpr int kBlobSchemaVersion = 1;

enum class BlobDatabaseCheck {
  // Refuse a database the dossier store has not initialised.
  kRequireOnestopDatabase,
  // Accept any database (tests).
  kStandalone,
};

enum class BlobDurability {
  kFull,    // storing a blob commits with synchronous=FULL
  kNormal,  // synchronous=NORMAL throughout: faster; tests
};

struct SqliteBlobStoreOptions {
  std::string path;  // the daemon's --db
  absl::Duration busy_timeout = absl::Seconds(5);
  BlobDatabaseCheck check = BlobDatabaseCheck::kRequireOnestopDatabase;
  BlobDurability durability = BlobDurability::kFull;
};

class SqliteBlobStore final : public BlobStore, private blobs_internal::ChunkStorage {
 public:
  // Opens the database, brings this component's tables to the latest
  // version and clears what a crash left (see above), in one transaction.
  // INVALID_ARGUMENT for an empty path or ":memory:" (a blob store must
  // share the daemon's file); FAILED_PRECONDITION if the file cannot be
  // opened, is not an onestop database (see BlobDatabaseCheck), or records
  // a newer blobs schema than this build knows; UNAVAILABLE if the
  // database stays busy.
  static absl::StatusOr<std::unique_ptr<SqliteBlobStore>> Open(
      const SqliteBlobStoreOptions& options);

  ~SqliteBlobStore() override;

  absl::StatusOr<std::unique_ptr<BlobWriter>> Begin() override;
  absl::StatusOr<std::unique_ptr<BlobReader>> Open(absl::string_view sha256) override;
  absl::Status Release(int64_t claim, ClaimOutcome outcome) override;
  absl::StatusOr<BlobStats> Stats() override;

 private:
  SqliteBlobStore(std::unique_ptr<sqlite_internal::Connection> connection,
                  BlobDurability durability);

  // ChunkStorage (for the shared ChunkedBlobWriter and ChunkedBlobReader):
  // each takes mu_ and calls the *Locked function.
  absl::Status AppendChunk(int64_t upload_id, int64_t seq, absl::string_view data) override;
  absl::Status AbortUpload(int64_t upload_id) override;
  absl::StatusOr<StoredBlob> StoreUpload(int64_t upload_id, const std::string& sha256,
                                         int64_t size, int64_t chunks) override;
  absl::StatusOr<std::optional<std::string>> ReadChunk(int64_t upload_id, int64_t seq) override;

  // Sets PRAGMA synchronous to FULL (`full`, with kFull durability) or
  // NORMAL, if not already.
  absl::Status SynchronousLocked(bool full) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status AppendChunkLocked(int64_t upload_id, int64_t seq, absl::string_view data)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status AbortLocked(int64_t upload_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<StoredBlob> StoreLocked(int64_t upload_id, const std::string& sha256,
                                         int64_t size, int64_t chunks)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<std::optional<std::string>> ReadChunkLocked(int64_t upload_id, int64_t seq)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const BlobDurability durability_;
  absl::Mutex mu_;
  std::unique_ptr<sqlite_internal::Connection> connection_ ABSL_GUARDED_BY(mu_);
  bool synchronous_full_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace onestop::storage

#endif  // ONESTOP_STORAGE_BLOBS_SQLITE_BLOB_STORE_H_
