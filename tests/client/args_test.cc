#include "client/commands/args.h"

#include "absl/time/civil_time.h"
#include "client/output/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace onestop::client {
namespace {

TEST(ParseDocumentTest, NameAndCopies) {
  auto doc = ParseDocument("Tờ khai:2");
  ASSERT_TRUE(doc.ok()) << doc.status();
  EXPECT_EQ(doc->name(), "Tờ khai");
  EXPECT_EQ(doc->copies(), 2);
}

TEST(ParseDocumentTest, BareNameIsOneCopy) {
  auto doc = ParseDocument("Bản sao CCCD");
  ASSERT_TRUE(doc.ok());
  EXPECT_EQ(doc->name(), "Bản sao CCCD");
  EXPECT_EQ(doc->copies(), 1);
}

TEST(ParseDocumentTest, LastColonSeparatesCopies) {
  auto doc = ParseDocument("Giấy tờ: bản chính:3");
  ASSERT_TRUE(doc.ok());
  EXPECT_EQ(doc->name(), "Giấy tờ: bản chính");
  EXPECT_EQ(doc->copies(), 3);
}

TEST(ParseDocumentTest, RejectsBadInput) {
  for (const char* text : {":1", "Tờ khai:0", "Tờ khai:x", "Tờ khai:-1", ""}) {
    EXPECT_EQ(ParseDocument(text).status().code(),
              absl::StatusCode::kInvalidArgument)
        << text;
  }
}

TEST(ParseStatusTest, CodesAndNames) {
  struct Case {
    const char* text;
    v1::DossierStatus want;
  } cases[] = {
      {"2", v1::DOSSIER_STATUS_RECEIVED},
      {"10", v1::DOSSIER_STATUS_RETURNED},
      {"received", v1::DOSSIER_STATUS_RECEIVED},
      {"PROCESSING", v1::DOSSIER_STATUS_PROCESSING},
      {"supplement-requested", v1::DOSSIER_STATUS_SUPPLEMENT_REQUESTED},
      {"result_ready", v1::DOSSIER_STATUS_RESULT_READY},
      {"DOSSIER_STATUS_NEW", v1::DOSSIER_STATUS_NEW},
  };
  for (const Case& c : cases) {
    auto status = ParseStatus(c.text);
    ASSERT_TRUE(status.ok()) << c.text;
    EXPECT_EQ(*status, c.want) << c.text;
  }
  for (const char* text : {"0", "11", "unspecified", "overdue", ""}) {
    EXPECT_FALSE(ParseStatus(text).ok()) << text;
  }
}

TEST(ParseDurationArgTest, AbslSyntaxPlusDays) {
  struct Case {
    const char* text;
    absl::Duration want;
  } cases[] = {
      {"2h", absl::Hours(2)},
      {"90m", absl::Minutes(90)},
      {"1h30m", absl::Minutes(90)},
      {"3d", absl::Hours(72)},
      {"1d12h", absl::Hours(36)},
      {"0.5d", absl::Hours(12)},
      {"0", absl::ZeroDuration()},
      {"45s", absl::Seconds(45)},
  };
  for (const Case& c : cases) {
    auto d = ParseDurationArg(c.text);
    ASSERT_TRUE(d.ok()) << c.text << ": " << d.status();
    EXPECT_EQ(*d, c.want) << c.text;
  }
  for (const char* text : {"", "-1h", "3", "d", "3w", "h2"}) {
    EXPECT_FALSE(ParseDurationArg(text).ok()) << text;
  }
}

TEST(ParseTimeArgTest, Rfc3339AndDeskLocal) {
  const absl::TimeZone tz = DeskTimeZone();
  const absl::Time want = absl::FromCivil(absl::CivilMinute(2020, 1, 6, 8, 0), tz);
  for (const char* text :
       {"2020-01-06T08:00:00+07:00", "2020-01-06T01:00:00Z",
        "2020-01-06T08:00", "2020-01-06 08:00"}) {
    auto t = ParseTimeArg(text, tz);
    ASSERT_TRUE(t.ok()) << text;
    EXPECT_EQ(*t, want) << text;
  }
  for (const char* text : {"2020-01-06", "yesterday", "06/01/2020 08:00"}) {
    EXPECT_FALSE(ParseTimeArg(text, tz).ok()) << text;
  }
}

TEST(ParseDateArgTest, IsoDay) {
  auto date = ParseDateArg("2025-07-01");
  ASSERT_TRUE(date.ok());
  EXPECT_EQ(date->year(), 2025);
  EXPECT_EQ(date->month(), 7);
  EXPECT_EQ(date->day(), 1);
  EXPECT_FALSE(ParseDateArg("2025-7-1").ok());
  EXPECT_FALSE(ParseDateArg("2025-02-30").ok());
}

}  // namespace
}  // namespace onestop::client
