#include "server/util/log.h"

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

}  // namespace
}  // namespace onestop
