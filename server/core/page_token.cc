#include "server/core/page_token.h"

#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace onestop::core {
namespace {

constexpr absl::string_view kVersion = "v1";

uint64_t Checksum(int64_t position, uint64_t query_hash) {
  return StableHash64(absl::StrCat(kVersion, ":", position, ":", query_hash,
                                   ":onestop-page-token"));
}

absl::Status BadToken() {
  return absl::InvalidArgumentError(
      "page_token is not valid for this query: start again from the first "
      "page with the same filters");
}

}  // namespace

uint64_t StableHash64(absl::string_view data) {
  uint64_t hash = 14695981039346656037ull;
  for (unsigned char c : data) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return hash;
}

std::string EncodePageToken(int64_t position, absl::string_view query_fingerprint) {
  const uint64_t query_hash = StableHash64(query_fingerprint);
  return absl::WebSafeBase64Escape(absl::StrCat(
      kVersion, ".", position, ".", query_hash, ".", Checksum(position, query_hash)));
}

absl::StatusOr<int64_t> DecodePageToken(absl::string_view token,
                                        absl::string_view query_fingerprint) {
  if (token.size() > 256) return BadToken();
  std::string raw;
  if (!absl::WebSafeBase64Unescape(token, &raw)) return BadToken();
  const std::vector<absl::string_view> parts = absl::StrSplit(raw, '.');
  int64_t position;
  uint64_t query_hash, checksum;
  if (parts.size() != 4 || parts[0] != kVersion ||
      !absl::SimpleAtoi(parts[1], &position) ||
      !absl::SimpleAtoi(parts[2], &query_hash) ||
      !absl::SimpleAtoi(parts[3], &checksum) || position <= 0 ||
      checksum != Checksum(position, query_hash) ||
      query_hash != StableHash64(query_fingerprint)) {
    return BadToken();
  }
  return position;
}

}  // namespace onestop::core
