#include "storage/security/token_secret.h"

#include <errno.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <sys/random.h>

#include <cstring>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace onestop::storage::security_internal {

namespace {
constexpr char kSecretPrefix[] = "ost_";
constexpr size_t kSecretBytes = 32;
constexpr size_t kSecretLength = 4 + 43;  // prefix + base64url(32 bytes)
}  // namespace

absl::StatusOr<std::string> RandomBytes(size_t n) {
  std::string bytes(n, '\0');
  size_t filled = 0;
  while (filled < n) {
    const ssize_t got = getrandom(bytes.data() + filled, n - filled, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      return absl::InternalError(
          absl::StrCat("cannot read random bytes (getrandom: ", std::strerror(errno), ")"));
    }
    filled += static_cast<size_t>(got);
  }
  return bytes;
}

absl::StatusOr<std::string> NewTokenSecret() {
  absl::StatusOr<std::string> bytes = RandomBytes(kSecretBytes);
  if (!bytes.ok()) return bytes.status();
  return absl::StrCat(kSecretPrefix, absl::WebSafeBase64Escape(*bytes));
}

absl::StatusOr<std::string> NewTokenId() {
  absl::StatusOr<std::string> bytes = RandomBytes(6);
  if (!bytes.ok()) return bytes.status();
  return absl::StrCat("tk_", absl::BytesToHexString(*bytes));
}

bool LooksLikeTokenSecret(absl::string_view secret) {
  if (secret.size() != kSecretLength || !absl::StartsWith(secret, kSecretPrefix)) return false;
  for (char c : secret.substr(4)) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

std::string Sha256(absl::string_view data) {
  // Every authenticated call hashes its token. OpenSSL 3's SHA256() looks
  // the algorithm up (EVP_MD_fetch) on each call; fetch it once instead.
  static const EVP_MD* const kSha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  unsigned int size = 0;
  if (kSha256 == nullptr ||
      EVP_Digest(data.data(), data.size(), digest, &size, kSha256, nullptr) != 1 ||
      size != sizeof(digest)) {
    SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  }
  return std::string(reinterpret_cast<const char*>(digest), sizeof(digest));
}

}  // namespace onestop::storage::security_internal
