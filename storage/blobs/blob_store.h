// BlobStore: content-addressed storage for the bytes of digitised dossier
// components (issue #13). A blob is named by the SHA-256 of its bytes and
// stored once, however many dossiers reference it; its bytes are verified
// when written and re-verified on every read. The store knows nothing
// about dossiers: the service records which component names which hash.
//
// Writing (one upload):
//   auto writer = store->Begin();          // stages a new upload
//   writer->Append(chunk) …                // any sizes; hashed as they come
//   auto stored = writer->Finish(size, sha256_hex);  // verify, then store
//   … record the reference (the dossier write) …
//   store->Release(stored->claim, ok ? ClaimOutcome::kReferenced
//                                    : ClaimOutcome::kUnused);
// Finish refuses a size or hash that differs from the bytes appended
// (INVALID_ARGUMENT) and then keeps nothing. Abort, or destroying an
// unfinished writer, deletes what was staged. Staged uploads left by a
// crash are deleted when a store opens.
//
// Claims close the gap between storing a blob and recording its first
// reference elsewhere: a blob that is stored for the first time, whose
// every claim is released as kUnused and that was never referenced is
// deleted again, so a refused dossier write leaves nothing behind; a blob
// that was ever referenced is never deleted (there is no garbage collector
// yet). Claims left by a crash count as referenced (the reference may have
// been recorded just before the crash).
//
// Reading: Open(sha256) returns a reader that yields the bytes chunk by
// chunk, re-computes the hash, and ends with DATA_LOSS instead of the end
// of data if a chunk is missing, the size differs or the hash does not
// match. Readers must treat what they got as unusable unless the last Next
// returned the end (nullopt).
//
// Thread safety: a BlobStore is thread-safe; a writer or reader is used by
// one thread at a time (several may be open at once). Writers and readers
// must not outlive their store. All methods block (SQLite): call them on
// application threads, never on a gRPC reaction.
#ifndef ONESTOP_STORAGE_BLOBS_BLOB_STORE_H_
#define ONESTOP_STORAGE_BLOBS_BLOB_STORE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace onestop::storage {

// Whether Finish stored new bytes or found the same bytes already stored.
enum class BlobOrigin { kNew, kExisting };

// The result of a successful Finish.
struct StoredBlob {
  std::string sha256;  // 64 lowercase hex digits
  int64_t size_bytes = 0;
  BlobOrigin origin = BlobOrigin::kNew;
  // Held until Release; see "Claims" above.
  int64_t claim = 0;
};

// How a claim ends: the blob is now referenced by a dossier, or the upload
// that claimed it was refused after all.
enum class ClaimOutcome { kReferenced, kUnused };

// Counts for tests and operators.
struct BlobStats {
  int64_t blobs = 0;           // stored blobs
  int64_t stored_bytes = 0;    // their total size
  int64_t chunks = 0;          // chunk rows, stored and staged
  int64_t staged_uploads = 0;  // uploads begun, neither finished nor aborted
  int64_t claims = 0;          // claims not yet released
};

// One upload in progress. Not thread-safe.
class BlobWriter {
 public:
  // Aborts if neither Finish nor Abort ran (blocking; errors are logged).
  virtual ~BlobWriter() = default;

  // Appends `data` (any size, may be empty). The bytes are staged in the
  // database as they come, so memory stays bounded by one storage chunk.
  // FAILED_PRECONDITION after Finish or Abort; storage errors
  // (UNAVAILABLE busy, RESOURCE_EXHAUSTED disk full, INTERNAL) abort the
  // upload.
  virtual absl::Status Append(absl::string_view data) = 0;

  // Bytes appended so far.
  virtual int64_t size_bytes() const = 0;

  // Verifies that exactly `expected_size` bytes whose SHA-256 is
  // `expected_sha256` (64 hex digits, either case) were appended, then
  // stores the blob durably (or, if the same bytes are already stored,
  // drops the staged copy) and takes a claim on it. INVALID_ARGUMENT for a
  // malformed hash, or a size or hash that differs (the message names
  // both); the upload is then aborted. FAILED_PRECONDITION after Finish or
  // Abort; storage errors as for Append (the upload is aborted).
  virtual absl::StatusOr<StoredBlob> Finish(int64_t expected_size,
                                            absl::string_view expected_sha256) = 0;

  // Deletes everything staged. Idempotent; OK after Finish (nothing to do).
  virtual absl::Status Abort() = 0;
};

// Reads one blob, verifying it. Not thread-safe.
class BlobReader {
 public:
  virtual ~BlobReader() = default;

  // As recorded when the blob was stored.
  virtual int64_t size_bytes() const = 0;
  virtual const std::string& sha256() const = 0;

  // The next chunk (non-empty), or nullopt at the end once the size and
  // the re-computed SHA-256 match. DATA_LOSS for a missing chunk, a size
  // that differs or a hash mismatch (the message names the blob and what
  // differs); storage errors as in BlobWriter.
  virtual absl::StatusOr<std::optional<std::string>> Next() = 0;
};

class BlobStore {
 public:
  virtual ~BlobStore() = default;

  // Starts an upload. Storage errors only.
  virtual absl::StatusOr<std::unique_ptr<BlobWriter>> Begin() = 0;

  // Opens the blob named `sha256` (64 hex digits, either case).
  // INVALID_ARGUMENT for a malformed hash; NOT_FOUND if no such blob is
  // stored (a caller holding a reference to it should report DATA_LOSS).
  virtual absl::StatusOr<std::unique_ptr<BlobReader>> Open(absl::string_view sha256) = 0;

  // Ends `claim` (from StoredBlob). With kUnused, deletes the blob if it
  // was never referenced and no other claim holds it. OK for an unknown
  // or already released claim (idempotent).
  virtual absl::Status Release(int64_t claim, ClaimOutcome outcome) = 0;

  virtual absl::StatusOr<BlobStats> Stats() = 0;
};

}  // namespace onestop::storage

#endif  // ONESTOP_STORAGE_BLOBS_BLOB_STORE_H_
