#include "server/core/validation.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace onestop::core {
namespace {

using ::onestop::testing::IsOk;
using ::onestop::testing::StatusIs;
using ::testing::HasSubstr;

struct Utf8Case {
  const char* name;
  std::string bytes;
  bool valid;
};

class Utf8Test : public ::testing::TestWithParam<Utf8Case> {};

TEST_P(Utf8Test, ClassifiesSequence) {
  EXPECT_EQ(IsValidUtf8(GetParam().bytes), GetParam().valid);
}

INSTANTIATE_TEST_SUITE_P(
    Sequences, Utf8Test,
    ::testing::Values(
        Utf8Case{"Empty", "", true},
        Utf8Case{"Ascii", "UBND xa Buon Triet", true},
        Utf8Case{"Vietnamese", "Nguyễn Thị Hằng", true},
        Utf8Case{"VietnameseDecomposed", "Nguye\xCC\x82\xCC\x83n", true},
        Utf8Case{"MaxTwoByte", "\xDF\xBF", true},
        Utf8Case{"MinThreeByte", "\xE0\xA0\x80", true},
        Utf8Case{"LastBeforeSurrogates", "\xED\x9F\xBF", true},
        Utf8Case{"FirstAfterSurrogates", "\xEE\x80\x80", true},
        Utf8Case{"MaxCodePoint", "\xF4\x8F\xBF\xBF", true},
        Utf8Case{"Emoji", "\xF0\x9F\x98\x80", true},
        Utf8Case{"NulIsWellFormed", std::string("a\0b", 3), true},
        Utf8Case{"OverlongSlashC0", "\xC0\xAF", false},
        Utf8Case{"OverlongNulC1", "\xC1\x80", false},
        Utf8Case{"OverlongThreeByte", "\xE0\x80\xAF", false},
        Utf8Case{"OverlongFourByte", "\xF0\x80\x80\xAF", false},
        Utf8Case{"SurrogateD800", "\xED\xA0\x80", false},
        Utf8Case{"SurrogateDFFF", "\xED\xBF\xBF", false},
        Utf8Case{"Above10FFFF", "\xF4\x90\x80\x80", false},
        Utf8Case{"LeadF5", "\xF5\x80\x80\x80", false},
        Utf8Case{"LeadFF", "\xFF", false},
        Utf8Case{"LoneContinuation", "\x80", false},
        Utf8Case{"TruncatedTwoByte", "Nguy\xE1\xBB", false},
        Utf8Case{"TruncatedFourByte", "\xF0\x9F\x98", false},
        Utf8Case{"BadContinuation", "\xE1\xBB\x41", false},
        Utf8Case{"Latin1Hang", "H\xE8ng", false}),
    [](const ::testing::TestParamInfo<Utf8Case>& info) { return info.param.name; });

struct TextCase {
  const char* name;
  std::string value;
  size_t max_bytes;
  Requirement requirement;
  absl::StatusCode code;
  const char* message;  // substring; "" for OK
};

class ValidateTextTest : public ::testing::TestWithParam<TextCase> {};

TEST_P(ValidateTextTest, ChecksValue) {
  const TextCase& c = GetParam();
  absl::Status status = ValidateText("applicant.full_name", c.value, c.max_bytes, c.requirement);
  if (c.code == absl::StatusCode::kOk) {
    EXPECT_THAT(status, IsOk());
  } else {
    EXPECT_THAT(status, StatusIs(c.code, HasSubstr(c.message)));
    EXPECT_THAT(status, StatusIs(c.code, HasSubstr("applicant.full_name")));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Values, ValidateTextTest,
    ::testing::Values(
        TextCase{"VietnameseName", "Nguyễn Thị Hằng", kMaxNameBytes, Requirement::kRequired,
                 absl::StatusCode::kOk, ""},
        TextCase{"EmptyOptional", "", kMaxNameBytes, Requirement::kOptional,
                 absl::StatusCode::kOk, ""},
        TextCase{"EmptyRequired", "", kMaxNameBytes, Requirement::kRequired,
                 absl::StatusCode::kInvalidArgument, "is required"},
        TextCase{"ExactlyAtLimit", std::string(kMaxNameBytes, 'a'), kMaxNameBytes,
                 Requirement::kRequired, absl::StatusCode::kOk, ""},
        TextCase{"OneOverLimit", std::string(kMaxNameBytes + 1, 'a'), kMaxNameBytes,
                 Requirement::kRequired, absl::StatusCode::kInvalidArgument, "257 bytes"},
        TextCase{"InvalidUtf8", "H\xE8ng", kMaxNameBytes, Requirement::kRequired,
                 absl::StatusCode::kInvalidArgument, "not valid UTF-8"},
        TextCase{"NewlineInName", "Nguyễn\nHằng", kMaxNameBytes, Requirement::kRequired,
                 absl::StatusCode::kInvalidArgument, "control character"},
        TextCase{"TabInName", "Nguyễn\tHằng", kMaxNameBytes, Requirement::kRequired,
                 absl::StatusCode::kInvalidArgument, "control character"},
        TextCase{"NewlineInText", "dòng 1\r\ndòng 2\tcột", kMaxTextBytes,
                 Requirement::kRequired, absl::StatusCode::kOk, ""},
        TextCase{"NulInText", std::string("a\0b", 3), kMaxTextBytes, Requirement::kRequired,
                 absl::StatusCode::kInvalidArgument, "control character"},
        TextCase{"DelInText", "a\x7F" "b", kMaxTextBytes, Requirement::kRequired,
                 absl::StatusCode::kInvalidArgument, "control character"},
        TextCase{"C1ControlInText", "a\xC2\x85" "b", kMaxTextBytes, Requirement::kRequired,
                 absl::StatusCode::kInvalidArgument, "control character"}),
    [](const ::testing::TestParamInfo<TextCase>& info) { return info.param.name; });

}  // namespace
}  // namespace onestop::core
