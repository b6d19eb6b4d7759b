// UTF-8 checks shared by every layer: request validation (server/core),
// the JSON log (server/util/log.cc) and the storage backends (PostgreSQL
// TEXT columns, the audit log). One decoder, so that "valid UTF-8" means
// the same everywhere: Unicode's well-formed sequences (table 3-7), i.e.
// no overlong forms, no UTF-16 surrogates, nothing above U+10FFFF.
//
// Thread safety: stateless functions.
#ifndef ONESTOP_SERVER_UTIL_UTF8_H_
#define ONESTOP_SERVER_UTIL_UTF8_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace onestop {

// Decodes the sequence starting at text[i] (i < text.size()): returns its
// length in bytes (1–4) and stores the code point, or returns 0 for an
// ill-formed or truncated sequence.
size_t DecodeUtf8(absl::string_view text, size_t i, uint32_t* code_point);

// True if all of `text` is well-formed UTF-8.
bool IsValidUtf8(absl::string_view text);

// Valid UTF-8 without a NUL byte: what PostgreSQL TEXT holds (libpq even
// cuts a text parameter at its first NUL).
bool IsStorableText(absl::string_view text);

// INVALID_ARGUMENT "<what> is not valid UTF-8 text or contains a NUL byte"
// unless IsStorableText(text).
absl::Status CheckStorableText(absl::string_view text, absl::string_view what);

}  // namespace onestop

#endif  // ONESTOP_SERVER_UTIL_UTF8_H_
