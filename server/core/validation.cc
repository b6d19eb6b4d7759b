#include "server/core/validation.h"

#include <cstdint>

#include "absl/strings/str_cat.h"
#include "server/util/error_info.h"
#include "server/util/utf8.h"

namespace onestop::core {
namespace {

bool IsControl(uint32_t cp) {
  return cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F);
}

}  // namespace

absl::Status ValidateText(absl::string_view field, absl::string_view value,
                          size_t max_bytes, Requirement requirement) {
  if (value.empty()) {
    if (requirement == Requirement::kRequired) {
      return InvalidFieldError(field, absl::StrCat(field, " is required"));
    }
    return absl::OkStatus();
  }
  if (value.size() > max_bytes) {
    return InvalidFieldError(
        field, absl::StrCat(field, " is too long: ", value.size(),
                     " bytes, at most ", max_bytes, " allowed"));
  }
  // Long free text (addresses, notes) may keep its line structure; names
  // and codes are single-line, so a tab or newline there is a paste error.
  const bool multiline = max_bytes > kMaxNameBytes;
  size_t i = 0;
  uint32_t cp = 0;
  while (i < value.size()) {
    const size_t n = DecodeUtf8(value, i, &cp);
    if (n == 0) {
      return InvalidFieldError(field, absl::StrCat(
          field, " is not valid UTF-8 text (bad byte at offset ", i, ")"));
    }
    if (IsControl(cp) && !(multiline && (cp == '\t' || cp == '\n' || cp == '\r'))) {
      return InvalidFieldError(field, absl::StrCat(
          field, " contains a control character (code ", cp, ") at offset ", i,
          multiline ? "" : "; line breaks and tabs are not allowed here"));
    }
    i += n;
  }
  return absl::OkStatus();
}

}  // namespace onestop::core
