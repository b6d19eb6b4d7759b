#include "storage/security/stored_text.h"

#include <cstdint>

#include "absl/strings/str_cat.h"
#include "server/util/utf8.h"

namespace onestop::storage::security_internal {

std::string EscapeAuditText(absl::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    uint32_t code_point = 0;
    const size_t length = c == '\0' ? 0 : DecodeUtf8(text, i, &code_point);
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
