// Input checks shared by the domain core: text fields must be valid UTF-8,
// within a size limit, and free of control characters.
#ifndef ONESTOP_SERVER_CORE_VALIDATION_H_
#define ONESTOP_SERVER_CORE_VALIDATION_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "server/util/utf8.h"

namespace onestop::core {

// Limits, in bytes of UTF-8.
inline constexpr size_t kMaxCodeBytes = 64;
inline constexpr size_t kMaxNameBytes = 256;
inline constexpr size_t kMaxTextBytes = 4096;
inline constexpr size_t kMaxListItems = 100;

enum class Requirement { kOptional, kRequired };

// True if `text` is well-formed UTF-8 (no overlongs, surrogates or code
// points above U+10FFFF): server/util/utf8.h, shared with storage and logs.
using ::onestop::IsValidUtf8;

// OK, or INVALID_ARGUMENT whose message names `field` in words a clerk
// understands: empty when required, longer than `max_bytes`, not valid
// UTF-8, or containing control characters (C0, DEL, C1; tab, CR and LF
// allowed only when `max_bytes` > kMaxNameBytes, i.e. in free text).
absl::Status ValidateText(absl::string_view field, absl::string_view value,
                          size_t max_bytes, Requirement requirement);

}  // namespace onestop::core

#endif  // ONESTOP_SERVER_CORE_VALIDATION_H_
