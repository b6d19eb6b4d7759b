// Helpers for the commands that move a document's bytes (attach, fetch):
// SHA-256 over OpenSSL's EVP interface, the MIME guess from a file name, a
// plain progress line for a terminal, and an idle watchdog that cancels a
// stream which stops making progress. No RPCs here except the cancellation.
#ifndef ONESTOP_CLIENT_COMMANDS_TRANSFER_H_
#define ONESTOP_CLIENT_COMMANDS_TRANSFER_H_

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <ostream>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"

struct evp_md_ctx_st;  // OpenSSL's EVP_MD_CTX

namespace onestop::client {

// The most data one UploadComponent chunk message carries
// (document_service.proto); also the read size for hashing.
inline constexpr size_t kUploadChunkBytes = 1 << 20;
// Files larger than this get a progress line (when stderr is a terminal).
inline constexpr int64_t kProgressMinBytes = int64_t{4} << 20;

// An incremental SHA-256. Not copyable; not thread-safe.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Update(absl::string_view data);
  // Returns the digest of everything passed to Update as 64 lowercase hex
  // digits; INTERNAL if OpenSSL failed. Call once.
  absl::StatusOr<std::string> Finish();

 private:
  evp_md_ctx_st* ctx_;
  bool ok_;
};

// Returns the MIME type the daemon expects for the extension of
// `file_name`, compared case-insensitively: pdf → application/pdf, jpg and
// jpeg → image/jpeg, png → image/png, tif and tiff → image/tiff. nullopt
// for any other (or no) extension.
std::optional<std::string> GuessMimeType(absl::string_view file_name);

// Returns the last component of `path` ("scan.pdf" for "a/b/scan.pdf"),
// bytes as they are (no encoding is assumed). "" when `path` ends in '/'.
std::string BaseName(absl::string_view path);

// The size and SHA-256 of a file's contents.
struct FileDigest {
  int64_t size_bytes = 0;
  std::string sha256;  // 64 lowercase hex digits
};

// Reads `fd` from its current offset to the end, kUploadChunkBytes at a
// time, and returns the byte count and SHA-256. `path` only names the file
// in errors (INVALID_ARGUMENT on a read error).
absl::StatusOr<FileDigest> DigestFile(int fd, const std::string& path);

// A one-line progress display: "\r<label>  42%  12.5/30.0 MiB", redrawn
// when the whole percentage changes, ended by a newline. Draws nothing
// unless `enabled`.
class ProgressLine {
 public:
  ProgressLine(std::ostream& out, std::string label, int64_t total_bytes,
               bool enabled);
  ~ProgressLine() { Finish(); }
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

  // Records that `done_bytes` of the total have been transferred.
  void Update(int64_t done_bytes);
  // Ends the line (once) if anything was drawn.
  void Finish();

 private:
  std::ostream& out_;
  std::string label_;
  int64_t total_;
  bool enabled_;
  bool drawn_ = false;
  int last_percent_ = -1;
};

// Cancels `rpc` (ClientContext::TryCancel) once no Touch() has happened for
// `idle`: a transfer of any size may take as long as it needs, but a stalled
// one ends. The clock starts at construction. Touch is thread-safe.
class IdleWatchdog {
 public:
  IdleWatchdog(grpc::ClientContext* rpc, absl::Duration idle);
  // Stops the watchdog thread; the call is not cancelled by this.
  ~IdleWatchdog();
  IdleWatchdog(const IdleWatchdog&) = delete;
  IdleWatchdog& operator=(const IdleWatchdog&) = delete;

  void Touch();
  // Whether the watchdog cancelled the call.
  bool fired() const;

 private:
  void Run();

  grpc::ClientContext* const rpc_;
  const absl::Duration idle_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  absl::Time last_touch_;
  bool stop_ = false;
  bool fired_ = false;
  std::thread thread_;
};

}  // namespace onestop::client

#endif  // ONESTOP_CLIENT_COMMANDS_TRANSFER_H_
