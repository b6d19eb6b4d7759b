#include "server/util/log.h"

#include <atomic>
#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/util/utf8.h"

namespace onestop {
namespace {

absl::Mutex g_log_mu;
LogOptions* g_options ABSL_GUARDED_BY(g_log_mu) = nullptr;
// g_options->min_level, readable without the mutex: most calls (one debug
// line per RPC) are filtered out, and need not serialize on g_log_mu.
std::atomic<int> g_min_level{static_cast<int>(LogLevel::kInfo)};  // LogOptions' default

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarning: return "warning";
    case LogLevel::kError: return "error";
  }
  return "info";
}

}  // namespace

void ConfigureLogging(LogOptions options) {
  absl::MutexLock lock(&g_log_mu);
  delete g_options;
  g_options = new LogOptions(std::move(options));
  g_min_level.store(static_cast<int>(g_options->min_level), std::memory_order_relaxed);
}

bool LogEnabled(LogLevel level) {
  return static_cast<int>(level) >= g_min_level.load(std::memory_order_relaxed);
}

std::string JsonQuote(absl::string_view text) {
  std::string out = "\"";
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = text[i];
    uint32_t code_point = 0;
    const size_t n = DecodeUtf8(text, i, &code_point);
    if (n == 0) {
      out += "\\ufffd";
      ++i;
      continue;
    }
    if (n > 1) {
      out.append(text.data() + i, n);
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7F) {
      out += absl::StrFormat("\\u%04x", c);
    } else {
      out.push_back(static_cast<char>(c));
    }
    i += n;
  }
  out += "\"";
  return out;
}

void Log(LogLevel level, absl::string_view message,
         std::initializer_list<LogField> fields) {
  if (!LogEnabled(level)) return;
  absl::MutexLock lock(&g_log_mu);
  const LogOptions defaults;
  const LogOptions& options = g_options ? *g_options : defaults;
  if (level < options.min_level) return;
  const absl::Time now = options.clock ? options.clock->Now() : absl::Now();
  std::string line = absl::StrCat(
      "{\"time\":", JsonQuote(absl::FormatTime(absl::RFC3339_full, now, absl::UTCTimeZone())),
      ",\"level\":\"", LevelName(level), "\",\"msg\":", JsonQuote(message));
  for (const auto& [key, value] : options.constant_fields) {
    absl::StrAppend(&line, ",", JsonQuote(key), ":", JsonQuote(value));
  }
  for (const auto& [key, value] : fields) {
    absl::StrAppend(&line, ",", JsonQuote(key), ":", JsonQuote(value));
  }
  line += "}\n";
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace onestop
