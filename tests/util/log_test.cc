#include "server/util/log.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace onestop {
namespace {

TEST(JsonQuoteTest, EscapesAndKeepsVietnamese) {
  EXPECT_EQ(JsonQuote("Nguyễn Thị Hằng"), "\"Nguyễn Thị Hằng\"");
  EXPECT_EQ(JsonQuote("a\"b\\c\nd\x01"), "\"a\\\"b\\\\c\\nd\\u0001\"");
  // Invalid UTF-8 never reaches the log as raw bytes.
  EXPECT_EQ(JsonQuote("x\xff" "y"), "\"x\\ufffdy\"");
  EXPECT_EQ(JsonQuote("\xe1\xba"), "\"\\ufffd\\ufffd\"");
}

TEST(LogTest, LinesBelowTheConfiguredLevelAreNeitherEnabledNorWritten) {
  LogOptions warnings;
  warnings.min_level = LogLevel::kWarning;
  ConfigureLogging(warnings);
  EXPECT_FALSE(LogEnabled(LogLevel::kDebug));
  EXPECT_FALSE(LogEnabled(LogLevel::kInfo));
  EXPECT_TRUE(LogEnabled(LogLevel::kWarning));
  EXPECT_TRUE(LogEnabled(LogLevel::kError));
  ::testing::internal::CaptureStderr();
  LogInfo("hidden line");
  LogWarning("shown line", {{"agency", "Sở Tư pháp"}});
  const std::string logs = ::testing::internal::GetCapturedStderr();
  EXPECT_THAT(logs, ::testing::Not(::testing::HasSubstr("hidden line")));
  EXPECT_THAT(logs, ::testing::HasSubstr("\"msg\":\"shown line\",\"agency\":\"Sở Tư pháp\""));

  ConfigureLogging({});  // back to the default, info
  EXPECT_TRUE(LogEnabled(LogLevel::kInfo));
  EXPECT_FALSE(LogEnabled(LogLevel::kDebug));
}

}  // namespace
}  // namespace onestop
