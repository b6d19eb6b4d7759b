#include "storage/blobs/chunked_blob.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "server/util/log.h"
#include "server/util/status_macros.h"

namespace onestop::storage::blobs_internal {

bool IsHex64(absl::string_view text) {
  return text.size() == 64 && std::all_of(text.begin(), text.end(), [](char c) {
           return absl::ascii_isxdigit(static_cast<unsigned char>(c));
         });
}

// ---- Writer ----------------------------------------------------------------

ChunkedBlobWriter::ChunkedBlobWriter(ChunkStorage* storage, int64_t upload_id)
    : storage_(storage), upload_id_(upload_id) {
  buffer_.reserve(kBlobChunkBytes);
}

ChunkedBlobWriter::~ChunkedBlobWriter() {
  if (state_ == State::kOpen) {
    if (absl::Status status = Abort(); !status.ok()) {
      LogWarning("could not delete an abandoned upload's staged chunks; they are deleted "
                 "when a blob store next opens on the database",
                 {{"upload_id", absl::StrCat(upload_id_)}, {"error", status.ToString()}});
    }
  }
}

absl::Status ChunkedBlobWriter::Append(absl::string_view data) {
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

absl::StatusOr<StoredBlob> ChunkedBlobWriter::Finish(int64_t expected_size,
                                                     absl::string_view expected_sha256) {
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
  absl::StatusOr<StoredBlob> stored = storage_->StoreUpload(upload_id_, actual, size_, chunks_);
  if (!stored.ok()) {
    Abort().IgnoreError();
    return stored.status();
  }
  state_ = State::kFinished;
  return stored;
}

absl::Status ChunkedBlobWriter::Abort() {
  if (state_ != State::kOpen) return absl::OkStatus();
  state_ = State::kAborted;
  buffer_.clear();
  buffer_.shrink_to_fit();
  return storage_->AbortUpload(upload_id_);
}

absl::Status ChunkedBlobWriter::RequireOpen() const {
  if (state_ == State::kOpen) return absl::OkStatus();
  return absl::FailedPreconditionError(state_ == State::kFinished
                                           ? "this upload is already finished"
                                           : "this upload was aborted");
}

absl::Status ChunkedBlobWriter::Flush() {
  absl::Status status = storage_->AppendChunk(upload_id_, chunks_, buffer_);
  if (!status.ok()) {
    Abort().IgnoreError();
    return status;
  }
  ++chunks_;
  buffer_.clear();
  return absl::OkStatus();
}

// ---- Reader ----------------------------------------------------------------

ChunkedBlobReader::ChunkedBlobReader(ChunkStorage* storage, std::string sha256,
                                     int64_t upload_id, int64_t size, int64_t chunk_count)
    : storage_(storage),
      sha256_(std::move(sha256)),
      upload_id_(upload_id),
      size_(size),
      chunk_count_(chunk_count) {}

absl::StatusOr<std::optional<std::string>> ChunkedBlobReader::Next() {
  if (done_) return std::optional<std::string>();
  if (next_seq_ < chunk_count_) {
    absl::StatusOr<std::optional<std::string>> chunk = storage_->ReadChunk(upload_id_, next_seq_);
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

absl::Status ChunkedBlobReader::Lost(absl::string_view what) {
  done_ = true;
  return absl::DataLossError(absl::StrCat("stored document ", sha256_, " is damaged: ", what,
                                          "; restore the database from a backup"));
}

}  // namespace onestop::storage::blobs_internal
