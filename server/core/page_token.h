// Opaque page tokens for list RPCs.
//
// A token carries the position to continue from and a fingerprint of the
// query that produced it, plus a checksum. A token from another query, or
// one that was altered, is INVALID_ARGUMENT — never a crash or another
// query's rows. Tokens stay valid across restarts and across daemons (the
// hash is FNV-1a, fixed, not a per-process seed). The checksum detects
// accidents, not attackers: authorization is enforced on every row anyway.
#ifndef ONESTOP_SERVER_CORE_PAGE_TOKEN_H_
#define ONESTOP_SERVER_CORE_PAGE_TOKEN_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace onestop::core {

// Stable 64-bit FNV-1a hash of `data`.
uint64_t StableHash64(absl::string_view data);

// Encodes a continuation `position` for the query whose canonical form is
// `query_fingerprint` (any bytes identifying the filters).
std::string EncodePageToken(int64_t position, absl::string_view query_fingerprint);

// Decodes `token`. INVALID_ARGUMENT if it is malformed, altered, or was
// issued for a different query.
absl::StatusOr<int64_t> DecodePageToken(absl::string_view token,
                                        absl::string_view query_fingerprint);

}  // namespace onestop::core

#endif  // ONESTOP_SERVER_CORE_PAGE_TOKEN_H_
