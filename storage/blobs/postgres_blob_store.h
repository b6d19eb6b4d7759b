// The PostgreSQL BlobStore (issue #11): document blobs in the province's
// PostgreSQL database, shared by every onestopd on it; the same contract as
// SqliteBlobStore (blob_store.h), the same tables and the same 256 KiB
// chunk rows (kBlobChunkBytes) and the same writer and reader
// (chunked_blob.h).
//
// Schema (component "blobs" in component_versions, version 1; the SQLite →
// PostgreSQL migration tool writes these tables):
//   blob_uploads(id IDENTITY, started_us, owner)  uploads being staged, and
//                                                 the store instance that
//                                                 staged each
//   blob_chunks(upload_id, seq, data BYTEA)       the bytes (STORAGE
//                                                 EXTERNAL: scans and photos
//                                                 are compressed already,
//                                                 so TOAST does not try)
//   blobs(sha256 PK, upload_id UNIQUE, size_bytes, chunk_count,
//         referenced, created_us)                 one row per stored blob
//   blob_claims(id IDENTITY, sha256, owner)       claims (blob_store.h)
// `blob_claims.owner` (TEXT NOT NULL DEFAULT '') is the one column beyond
// the SQLite tables' — a row copied without it has owner '' and counts as
// a crash's leftover (so: a reference), which is what a copied claim is.
//
// Several daemons on one database:
// - Ownership. Every store instance draws a random owner id (16 hex
//   digits = a 64-bit advisory-lock key) and holds pg_advisory_lock on it
//   (session level) on a dedicated connection for its lifetime; the
//   uploads it stages and the claims it takes carry that id. An owner
//   whose lock nobody holds is dead: its connection closed, i.e. its
//   process crashed or the store was destroyed. Open deletes the staged
//   uploads of dead owners (pg_try_advisory_lock on the owner's key
//   succeeds → dead; released again at once) and turns their claims into
//   references, as SQLite does with everything at open — and never touches
//   a live daemon's uploads or claims. Owner '' (copied rows) is dead.
//   If an instance loses its lock connection while alive (a network blip,
//   the server restarted, the session was terminated), it takes the lock
//   again before the next Begin (and Finish): the lock connection is
//   checked with pg::Connection::CheckIdle (no round trip) and, if broken,
//   reopened and the same owner id locked again; if another session holds
//   that id's lock (our old session, still alive on the server until it
//   notices the broken network), a new owner id is drawn for new uploads
//   and claims. Uploads staged while the lock was not held — and those
//   staged under the old id once its session dies — may be deleted by
//   another daemon's Open meanwhile; their Finish then fails with
//   UNAVAILABLE ("the upload was discarded", nothing stored) because Finish
//   requires its upload row, and the client sends again. A dead session
//   the client has not yet noticed (no FIN or RST arrived) is found only
//   when the kernel's TCP keepalive or the next use fails.
// - Concurrent Finish of the same bytes: `INSERT INTO blobs … ON CONFLICT
//   (sha256) DO NOTHING` on the primary key; the loser drops its staged
//   chunks in the same transaction and reports kExisting: one blob.
// - Release(kUnused) against a concurrent Finish of the same bytes: Finish
//   (existing path) share-locks the blob row before inserting its claim;
//   Release locks it FOR UPDATE and only then, in a new statement (fresh
//   READ COMMITTED snapshot), looks for other claims. So either Release
//   sees the new claim and keeps the blob, or Finish finds the row gone and
//   stores its own copy (retrying the insert).
//
// Durability: staged chunks commit with synchronous_commit = off (a crash
// may lose them; they are garbage then anyway); the transaction that stores
// a blob commits synchronously, and its WAL flush covers every earlier
// staged chunk, so an acknowledged blob survives a server crash — the
// SQLite store's regime.
//
// Memory: a writer buffers at most one chunk (plus libpq's copy while it
// is sent), a reader holds one chunk row; nothing depends on the blob's
// size.
//
// Thread safety: thread-safe; each call borrows a pooled connection for its
// duration (writers and readers hold none between calls). Writers and
// readers must not outlive their store.
#ifndef ONESTOP_STORAGE_BLOBS_POSTGRES_BLOB_STORE_H_
#define ONESTOP_STORAGE_BLOBS_POSTGRES_BLOB_STORE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "storage/blobs/blob_store.h"
#include "storage/blobs/chunked_blob.h"

namespace onestop::storage {

namespace pg {
class Connection;
class ConnectionPool;
}  // namespace pg

struct PostgresBlobStoreOptions {
  std::string uri;  // postgresql://… (the daemon's --db)
  int pool_size = 4;
  // Per statement; 0 = none. A statement cancelled by it is UNAVAILABLE.
  absl::Duration statement_timeout = absl::Seconds(60);
  absl::Duration acquire_timeout = absl::Seconds(10);
};

class PostgresBlobStore final : public BlobStore, private blobs_internal::ChunkStorage {
 public:
  // Connects, brings the "blobs" tables to the latest version, takes this
  // instance's owner lock and clears what dead owners left (see above).
  // INVALID_ARGUMENT for an empty URI or pool size < 1;
  // FAILED_PRECONDITION (server refuses the credentials or database; a
  // newer blobs schema) or UNAVAILABLE (server unreachable), each naming
  // the URI with its password redacted.
  static absl::StatusOr<std::unique_ptr<PostgresBlobStore>> Open(
      const PostgresBlobStoreOptions& options);

  // Closes the owner connection (releasing the lock). Unfinished writers
  // must be gone by then.
  ~PostgresBlobStore() override;

  absl::StatusOr<std::unique_ptr<BlobWriter>> Begin() override;
  absl::StatusOr<std::unique_ptr<BlobReader>> Open(absl::string_view sha256) override;
  absl::Status Release(int64_t claim, ClaimOutcome outcome) override;
  absl::StatusOr<BlobStats> Stats() override;

  // This instance's current owner id (16 lowercase hex digits); it
  // changes only if the lock had to be taken again under a new id.
  std::string owner() const;

  // Test only: closes the owner connection as a crash would, so another
  // instance's Open treats this one as dead until this one's next Begin
  // takes the lock again. The store stays usable.
  void DropOwnerLockForTesting();

 private:
  PostgresBlobStore(std::unique_ptr<pg::ConnectionPool> pool, std::string uri,
                    std::unique_ptr<pg::Connection> owner_connection, std::string owner);

  // The owner id, after taking its lock again on a new connection if the
  // lock connection broke (see "Ownership" above).
  absl::StatusOr<std::string> LiveOwner();

  // ChunkStorage (for the shared ChunkedBlobWriter and ChunkedBlobReader).
  absl::Status AppendChunk(int64_t upload_id, int64_t seq, absl::string_view data) override;
  absl::Status AbortUpload(int64_t upload_id) override;
  absl::StatusOr<StoredBlob> StoreUpload(int64_t upload_id, const std::string& sha256,
                                         int64_t size, int64_t chunks) override;
  absl::StatusOr<std::optional<std::string>> ReadChunk(int64_t upload_id, int64_t seq) override;

  const std::unique_ptr<pg::ConnectionPool> pool_;
  const std::string uri_;
  mutable absl::Mutex owner_mu_;
  std::string owner_ ABSL_GUARDED_BY(owner_mu_);
  std::unique_ptr<pg::Connection> owner_connection_ ABSL_GUARDED_BY(owner_mu_);
};

}  // namespace onestop::storage

#endif  // ONESTOP_STORAGE_BLOBS_POSTGRES_BLOB_STORE_H_
