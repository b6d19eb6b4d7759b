#include "client/commands/transfer.h"

#include <cerrno>
#include <cstring>
#include <utility>

#include <openssl/evp.h>
#include <unistd.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace onestop::client {

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()), ok_(ctx_ != nullptr) {
  if (ok_) ok_ = EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr) == 1;
}

Sha256::~Sha256() { EVP_MD_CTX_free(ctx_); }

void Sha256::Update(absl::string_view data) {
  if (ok_ && !data.empty()) {
    ok_ = EVP_DigestUpdate(ctx_, data.data(), data.size()) == 1;
  }
}

absl::StatusOr<std::string> Sha256::Finish() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (!ok_ || EVP_DigestFinal_ex(ctx_, digest, &length) != 1 || length != 32) {
    ok_ = false;
    return absl::InternalError("SHA-256 failed inside OpenSSL");
  }
  ok_ = false;  // finished: no more updates
  std::string hex;
  hex.reserve(64);
  for (unsigned int i = 0; i < length; ++i) {
    absl::StrAppendFormat(&hex, "%02x", digest[i]);
  }
  return hex;
}

std::optional<std::string> GuessMimeType(absl::string_view file_name) {
  const size_t dot = file_name.rfind('.');
  if (dot == absl::string_view::npos) return std::nullopt;
  const absl::string_view ext_view = file_name.substr(dot + 1);
  if (ext_view.find('/') != absl::string_view::npos) return std::nullopt;
  const std::string ext = absl::AsciiStrToLower(ext_view);
  if (ext == "pdf") return "application/pdf";
  if (ext == "jpg" || ext == "jpeg") return "image/jpeg";
  if (ext == "png") return "image/png";
  if (ext == "tif" || ext == "tiff") return "image/tiff";
  return std::nullopt;
}

std::string BaseName(absl::string_view path) {
  const size_t slash = path.rfind('/');
  return std::string(slash == absl::string_view::npos ? path
                                                      : path.substr(slash + 1));
}

absl::StatusOr<FileDigest> DigestFile(int fd, const std::string& path) {
  std::string buffer(kUploadChunkBytes, '\0');
  Sha256 sha;
  FileDigest digest;
  for (;;) {
    const ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::InvalidArgumentError(
          absl::StrCat("\"", path, "\": read error (", std::strerror(errno), ")"));
    }
    if (n == 0) break;
    sha.Update(absl::string_view(buffer.data(), static_cast<size_t>(n)));
    digest.size_bytes += n;
  }
  absl::StatusOr<std::string> hex = sha.Finish();
  if (!hex.ok()) return hex.status();
  digest.sha256 = *std::move(hex);
  return digest;
}

ProgressLine::ProgressLine(std::ostream& out, std::string label,
                           int64_t total_bytes, bool enabled)
    : out_(out),
      label_(std::move(label)),
      total_(total_bytes),
      enabled_(enabled && total_bytes > 0) {}

void ProgressLine::Update(int64_t done_bytes) {
  if (!enabled_) return;
  const int percent = static_cast<int>(done_bytes * 100 / total_);
  if (percent == last_percent_) return;
  last_percent_ = percent;
  drawn_ = true;
  constexpr double kMiB = 1024.0 * 1024.0;
  out_ << absl::StrFormat("\r%s  %3d%%  %.1f/%.1f MiB", label_, percent,
                          static_cast<double>(done_bytes) / kMiB,
                          static_cast<double>(total_) / kMiB)
       << std::flush;
}

void ProgressLine::Finish() {
  if (drawn_) out_ << '\n' << std::flush;
  drawn_ = false;
  enabled_ = false;
}

IdleWatchdog::IdleWatchdog(grpc::ClientContext* rpc, absl::Duration idle)
    : rpc_(rpc), idle_(idle), last_touch_(absl::Now()) {
  thread_ = std::thread([this] { Run(); });
}

IdleWatchdog::~IdleWatchdog() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void IdleWatchdog::Touch() {
  std::lock_guard<std::mutex> lock(mu_);
  last_touch_ = absl::Now();
}

bool IdleWatchdog::fired() const {
  std::lock_guard<std::mutex> lock(mu_);
  return fired_;
}

void IdleWatchdog::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    const absl::Time due = last_touch_ + idle_;
    if (absl::Now() >= due) {
      fired_ = true;
      rpc_->TryCancel();
      return;
    }
    cv_.wait_until(lock, absl::ToChronoTime(due));
  }
}

}  // namespace onestop::client
