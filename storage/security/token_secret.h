// Random token secrets and their hashes (libcrypto's SHA-256, getrandom).
// Private to storage/security/. Thread-safe (no state).
#ifndef ONESTOP_STORAGE_SECURITY_TOKEN_SECRET_H_
#define ONESTOP_STORAGE_SECURITY_TOKEN_SECRET_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace onestop::storage::security_internal {

// `n` bytes from getrandom(2). INTERNAL if the kernel refuses.
absl::StatusOr<std::string> RandomBytes(size_t n);

// "ost_" + base64url (no padding) of 32 random bytes: 47 characters.
absl::StatusOr<std::string> NewTokenSecret();

// "tk_" + 12 lowercase hex digits (6 random bytes).
absl::StatusOr<std::string> NewTokenId();

// True if `secret` has NewTokenSecret's shape.
bool LooksLikeTokenSecret(absl::string_view secret);

// The 32-byte SHA-256 digest of `data`.
std::string Sha256(absl::string_view data);

}  // namespace onestop::storage::security_internal

#endif  // ONESTOP_STORAGE_SECURITY_TOKEN_SECRET_H_
