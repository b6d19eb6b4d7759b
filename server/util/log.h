// Minimal structured logging: one JSON object per line on stderr
// ({"time":…,"level":…,"msg":…, fields…}). Abseil 20220623 has no absl/log;
// this stands in for it. Never pass personal ID numbers or phone numbers.
// Thread-safe.
#ifndef ONESTOP_SERVER_UTIL_LOG_H_
#define ONESTOP_SERVER_UTIL_LOG_H_

#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "server/util/clock.h"

namespace onestop {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

using LogField = std::pair<absl::string_view, std::string>;

struct LogOptions {
  LogLevel min_level = LogLevel::kInfo;
  // Source of log timestamps; not owned, must outlive logging. Null means
  // the system clock.
  const Clock* clock = nullptr;
  // Added to every line (e.g. {"clock","controlled"}).
  std::vector<std::pair<std::string, std::string>> constant_fields;
};

// Configures logging; call once from main before any other thread logs.
void ConfigureLogging(LogOptions options);

// Whether a line at `level` would be written; lets callers skip building
// fields for a filtered line. Lock-free.
bool LogEnabled(LogLevel level);

void Log(LogLevel level, absl::string_view message,
         std::initializer_list<LogField> fields = {});
inline void LogInfo(absl::string_view m, std::initializer_list<LogField> f = {}) {
  Log(LogLevel::kInfo, m, f);
}
inline void LogWarning(absl::string_view m, std::initializer_list<LogField> f = {}) {
  Log(LogLevel::kWarning, m, f);
}
inline void LogError(absl::string_view m, std::initializer_list<LogField> f = {}) {
  Log(LogLevel::kError, m, f);
}

// `text` as a JSON string literal (quotes included), escaping as RFC 8259
// requires; invalid UTF-8 bytes become U+FFFD.
std::string JsonQuote(absl::string_view text);

}  // namespace onestop

#endif  // ONESTOP_SERVER_UTIL_LOG_H_
