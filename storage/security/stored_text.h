// Text the security stores keep, made safe for both backends' TEXT columns.
//
// PostgreSQL TEXT holds valid UTF-8 without NUL (libpq even cuts a text
// parameter at its first NUL); SQLite would keep any bytes. So that both
// backends store and return the same thing:
//   - audit records are never refused or cut: every text field is written
//     through EscapeAuditText (a forensic record must say what was asked,
//     even by a hostile request whose dossier code holds a NUL);
//   - token labels and principal ids are refused (INVALID_ARGUMENT) unless
//     IsStorableText: they come from an administrator, who can fix them.
#ifndef ONESTOP_STORAGE_SECURITY_STORED_TEXT_H_
#define ONESTOP_STORAGE_SECURITY_STORED_TEXT_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "server/util/utf8.h"

namespace onestop::storage::security_internal {

// Valid UTF-8 without NUL (server/util/utf8.h, as pg::IsStorableText).
using ::onestop::CheckStorableText;
using ::onestop::IsStorableText;

// A reversible, storable spelling of `text`: each backslash is doubled
// ("\\"), and each NUL byte and each byte that is not part of a valid UTF-8
// sequence is written as "\x" and two lowercase hex digits ("\x00",
// "\xff"); everything else (valid UTF-8, including control characters) is
// kept as is. Text without backslashes, NULs or invalid bytes is
// unchanged.
std::string EscapeAuditText(absl::string_view text);

}  // namespace onestop::storage::security_internal

#endif  // ONESTOP_STORAGE_SECURITY_STORED_TEXT_H_
