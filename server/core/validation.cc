#include "server/core/validation.h"

#include <cstdint>

#include "absl/strings/str_cat.h"
#include "server/util/error_info.h"

namespace onestop::core {
namespace {

// Decodes one UTF-8 sequence starting at text[i]. Returns its length in
// bytes and stores the code point, or returns 0 for an ill-formed sequence
// (the ranges follow the Unicode standard's table 3-7 of well-formed byte
// sequences, which excludes overlongs and surrogates by construction).
size_t DecodeOne(absl::string_view text, size_t i, uint32_t* code_point) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char b0 = byte(i);
  if (b0 < 0x80) {
    *code_point = b0;
    return 1;
  }
  size_t length;
  unsigned char lo = 0x80;
  unsigned char hi = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    length = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    length = 3;
    if (b0 == 0xE0) lo = 0xA0;  // overlong below U+0800
    if (b0 == 0xED) hi = 0x9F;  // surrogates U+D800..U+DFFF
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    length = 4;
    if (b0 == 0xF0) lo = 0x90;  // overlong below U+10000
    if (b0 == 0xF4) hi = 0x8F;  // above U+10FFFF
  } else {
    return 0;  // continuation byte, C0/C1 overlong lead, or F5..FF
  }
  if (i + length > text.size()) return 0;  // truncated
  uint32_t cp = b0 & (length == 2 ? 0x1F : length == 3 ? 0x0F : 0x07);
  for (size_t k = 1; k < length; ++k) {
    const unsigned char b = byte(i + k);
    const unsigned char min = k == 1 ? lo : 0x80;
    const unsigned char max = k == 1 ? hi : 0xBF;
    if (b < min || b > max) return 0;
    cp = (cp << 6) | (b & 0x3F);
  }
  *code_point = cp;
  return length;
}

bool IsControl(uint32_t cp) {
  return cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F);
}

}  // namespace

bool IsValidUtf8(absl::string_view text) {
  size_t i = 0;
  uint32_t cp = 0;
  while (i < text.size()) {
    const size_t n = DecodeOne(text, i, &cp);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

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
    const size_t n = DecodeOne(value, i, &cp);
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
