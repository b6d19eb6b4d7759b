// Incremental SHA-256 (libcrypto's EVP interface) with a hex digest.
// Not thread-safe; cheap to create.
#ifndef ONESTOP_STORAGE_BLOBS_SHA256_H_
#define ONESTOP_STORAGE_BLOBS_SHA256_H_

#include <memory>
#include <string>

#include "absl/strings/string_view.h"

namespace onestop::storage {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Update(absl::string_view data);
  // The digest of everything passed to Update, as 64 lowercase hex digits.
  // The object must not be used afterwards.
  std::string FinishHex();

  // One-shot convenience.
  static std::string HexOf(absl::string_view data);

 private:
  struct Context;
  std::unique_ptr<Context> context_;
};

}  // namespace onestop::storage

#endif  // ONESTOP_STORAGE_BLOBS_SHA256_H_
