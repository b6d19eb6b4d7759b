// The chunked writer and reader both BlobStore backends share: buffering
// into kBlobChunkBytes rows, hashing, Finish's size and hash checks, and
// the reader's DATA_LOSS checks (missing chunk, wrong size, wrong hash).
// A backend implements ChunkStorage (the SQL) and hands itself to them.
#ifndef ONESTOP_STORAGE_BLOBS_CHUNKED_BLOB_H_
#define ONESTOP_STORAGE_BLOBS_CHUNKED_BLOB_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "storage/blobs/blob_store.h"
#include "storage/blobs/sha256.h"

namespace onestop::storage {

// Bytes per chunk row (both backends).
inline constexpr size_t kBlobChunkBytes = 256 * 1024;

namespace blobs_internal {

// 64 hex digits, either case.
bool IsHex64(absl::string_view text);

// A backend's storage of one upload's chunk rows. Each call is one
// complete database operation; thread-safe (several writers and readers
// call it at once).
class ChunkStorage {
 public:
  // Stages chunk `seq` (0, 1, …) of the upload.
  virtual absl::Status AppendChunk(int64_t upload_id, int64_t seq, absl::string_view data) = 0;
  // Deletes everything staged for the upload.
  virtual absl::Status AbortUpload(int64_t upload_id) = 0;
  // Turns the verified upload (`chunks` rows, `size` bytes, lowercase
  // `sha256`) into a stored blob (or drops it if the bytes are stored
  // already) and takes a claim.
  virtual absl::StatusOr<StoredBlob> StoreUpload(int64_t upload_id, const std::string& sha256,
                                                 int64_t size, int64_t chunks) = 0;
  // Chunk `seq` of a stored blob, or nullopt if there is no such row.
  virtual absl::StatusOr<std::optional<std::string>> ReadChunk(int64_t upload_id,
                                                               int64_t seq) = 0;

 protected:
  ~ChunkStorage() = default;
};

// BlobWriter over a ChunkStorage (see blob_store.h for the contract).
class ChunkedBlobWriter final : public BlobWriter {
 public:
  ChunkedBlobWriter(ChunkStorage* storage, int64_t upload_id);
  ~ChunkedBlobWriter() override;

  absl::Status Append(absl::string_view data) override;
  int64_t size_bytes() const override { return size_; }
  absl::StatusOr<StoredBlob> Finish(int64_t expected_size,
                                    absl::string_view expected_sha256) override;
  absl::Status Abort() override;

 private:
  enum class State { kOpen, kFinished, kAborted };

  absl::Status RequireOpen() const;
  // Writes the buffer as the next chunk row; aborts the upload on failure.
  absl::Status Flush();

  ChunkStorage* const storage_;
  const int64_t upload_id_;
  State state_ = State::kOpen;
  std::string buffer_;
  Sha256 hash_;
  int64_t size_ = 0;
  int64_t chunks_ = 0;
};

// BlobReader over a ChunkStorage (see blob_store.h for the contract).
class ChunkedBlobReader final : public BlobReader {
 public:
  ChunkedBlobReader(ChunkStorage* storage, std::string sha256, int64_t upload_id, int64_t size,
                    int64_t chunk_count);

  int64_t size_bytes() const override { return size_; }
  const std::string& sha256() const override { return sha256_; }
  absl::StatusOr<std::optional<std::string>> Next() override;

 private:
  absl::Status Lost(absl::string_view what);

  ChunkStorage* const storage_;
  const std::string sha256_;
  const int64_t upload_id_;
  const int64_t size_;
  const int64_t chunk_count_;
  int64_t next_seq_ = 0;
  int64_t read_ = 0;
  bool done_ = false;
  Sha256 hash_;
};

}  // namespace blobs_internal
}  // namespace onestop::storage

#endif  // ONESTOP_STORAGE_BLOBS_CHUNKED_BLOB_H_
