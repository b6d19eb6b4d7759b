#include "storage/security/stored_text.h"

#include <cstdint>

#include "absl/strings/str_cat.h"

namespace onestop::storage::security_internal {
namespace {

// The length (1–4) of the valid UTF-8 sequence starting at text[i], or 0
// if the byte there does not start one. NUL counts as valid (length 1).
size_t Utf8SequenceLength(absl::string_view text, size_t i) {
  const unsigned char lead = static_cast<unsigned char>(text[i]);
  if (lead < 0x80) return 1;
  size_t continuation;
  uint32_t code_point;
  if ((lead & 0xE0) == 0xC0) {
    continuation = 1;
    code_point = lead & 0x1F;
  } else if ((lead & 0xF0) == 0xE0) {
    continuation = 2;
    code_point = lead & 0x0F;
  } else if ((lead & 0xF8) == 0xF0) {
    continuation = 3;
    code_point = lead & 0x07;
  } else {
    return 0;
  }
  if (text.size() - i <= continuation) return 0;
  for (size_t k = 1; k <= continuation; ++k) {
    const unsigned char byte = static_cast<unsigned char>(text[i + k]);
    if ((byte & 0xC0) != 0x80) return 0;
    code_point = (code_point << 6) | (byte & 0x3F);
  }
  // Overlong forms, beyond Unicode, and UTF-16 surrogates are invalid.
  static constexpr uint32_t kMinimum[] = {0, 0x80, 0x800, 0x10000};
  if (code_point < kMinimum[continuation] || code_point > 0x10FFFF ||
      (code_point >= 0xD800 && code_point <= 0xDFFF)) {
    return 0;
  }
  return continuation + 1;
}

}  // namespace

bool IsStorableText(absl::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] == '\0') return false;
    const size_t length = Utf8SequenceLength(text, i);
    if (length == 0) return false;
    i += length;
  }
  return true;
}

absl::Status CheckStorableText(absl::string_view text, absl::string_view what) {
  if (IsStorableText(text)) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(what, " is not valid UTF-8 text or contains a NUL byte"));
}

std::string EscapeAuditText(absl::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    const size_t length = c == '\0' ? 0 : Utf8SequenceLength(text, i);
    if (c == '\\') {
      out += "\\\\";
    } else if (length == 0) {
      const unsigned char byte = static_cast<unsigned char>(c);
      out += "\\x";
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 0xf]);
    } else {
      out.append(text.data() + i, length);
      i += length;
      continue;
    }
    ++i;
  }
  return out;
}

}  // namespace onestop::storage::security_internal
