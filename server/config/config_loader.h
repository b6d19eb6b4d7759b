// Loads the daemon's configuration file: protobuf text format of
// onestop.config.v1.Config (proto/onestop/config/v1/config.proto), validated
// completely by core::Catalogue::Build before anything else starts.
//
// Every error a person must fix names the file, the 1-based line and column
// and the field, one problem per line, in the form editors and `grep -n`
// understand:
//
//   deploy/x.textproto:12:3: agencies[3].parent_code: unknown parent agency "X"
//
// The functions are pure apart from LoadConfigFile's one read of the file;
// they keep no state and are safe to call from any thread.
#ifndef ONESTOP_SERVER_CONFIG_CONFIG_LOADER_H_
#define ONESTOP_SERVER_CONFIG_CONFIG_LOADER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/core/catalogue.h"

namespace onestop::config {

// Reads the file at `path` and loads it as LoadConfigText(contents, path)
// does; `path` is used verbatim as the file name in messages.
//
// Errors:
// - NOT_FOUND if the file does not exist (ENOENT, or ENOTDIR on the way);
// - FAILED_PRECONDITION if it exists but cannot be read (permissions, a
//   directory, an I/O error); both messages name the path and the errno text;
// - anything LoadConfigText returns.
absl::StatusOr<std::shared_ptr<const core::Catalogue>> LoadConfigFile(
    const std::string& path);

// Parses `text` as a text-format Config and builds the catalogue from it.
// `file_name` only labels messages (it is never opened).
//
// On success returns the catalogue (immutable, safe to share between
// threads). Otherwise INVALID_ARGUMENT whose message lists every problem,
// one per line ("\n"-separated, no trailing newline):
// - bytes that are not valid UTF-8 anywhere in the text:
//     FILE:LINE:COL: invalid UTF-8 …   (the first bad byte; the parse stops)
// - a syntax error, unknown field or bad value, as protobuf reports it:
//     FILE:LINE:COL: <protobuf's message>   (the parse stops at the first)
// - a string value that decodes (through escapes such as "\377") to invalid
//   UTF-8, and each problem core::Catalogue::Build finds:
//     FILE:LINE:COL: path.to[2].field: message
//   all of them, sorted by position in the file (problems without one
//   first, ties in the validator's order). LINE:COL is where the field is
//   written;
//   for a field absent from the text (e.g. a missing name) it is where the
//   nearest enclosing element is written (e.g. the `agencies {` of that
//   agency), and it is left out ("FILE: path: message") when not even the
//   top-level field appears in the text.
// Lines are 1-based; columns are 1-based bytes as protobuf's tokenizer
// counts them (a tab advances to the next multiple of 8), so a column after
// Vietnamese letters on the same line counts their UTF-8 bytes.
absl::StatusOr<std::shared_ptr<const core::Catalogue>> LoadConfigText(
    absl::string_view text, absl::string_view file_name);

}  // namespace onestop::config

#endif  // ONESTOP_SERVER_CONFIG_CONFIG_LOADER_H_
