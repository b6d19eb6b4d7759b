// The counter layout both backends share (storage/counter_buckets.h): how a
// day range is cut into bucket runs, and those runs as the range-sum
// statement's padded parameters.
#include "storage/counter_buckets.h"

#include <vector>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace onestop::storage {
namespace {

using ::onestop::testing::IsOk;
using ::onestop::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

int64_t Day(int y, int m, int d) { return absl::CivilDay(y, m, d) - absl::CivilDay(1970, 1, 1); }
int64_t Month(int y, int m) { return y * 12 + (m - 1); }

TEST(CounterBucketsTest, RangeAcrossMonthsIsLeadingDaysWholeMonthsTrailingDays) {
  const std::vector<BucketRun> runs =
      DecomposeDayRange({absl::CivilDay(2025, 1, 30), absl::CivilDay(2025, 4, 2)});
  ASSERT_EQ(runs.size(), 3u);
  EXPECT_EQ(runs[0].grain, CounterGrain::kDay);
  EXPECT_EQ(runs[0].first, Day(2025, 1, 30));
  EXPECT_EQ(runs[0].last, Day(2025, 1, 31));
  EXPECT_EQ(runs[1].grain, CounterGrain::kMonth);
  EXPECT_EQ(runs[1].first, Month(2025, 2));
  EXPECT_EQ(runs[1].last, Month(2025, 3));
  EXPECT_EQ(runs[2].grain, CounterGrain::kDay);
  EXPECT_EQ(runs[2].first, Day(2025, 4, 1));
  EXPECT_EQ(runs[2].last, Day(2025, 4, 2));
}

TEST(CounterBucketsTest, RunParamsPadEachRangeWithRunsThatMatchNothing) {
  CounterQuery query;
  query.series = {"t|received"};
  query.ranges = {{absl::CivilDay(2025, 1, 30), absl::CivilDay(2025, 4, 2)},
                  {absl::CivilDay(2025, 2, 1), absl::CivilDay(2025, 2, 28)},
                  {absl::CivilDay(2025, 2, 3), absl::CivilDay(2025, 2, 3)}};
  absl::StatusOr<std::vector<RunParams>> params = RunParamsOfQuery(query);
  ASSERT_THAT(params, IsOk());
  ASSERT_EQ(params->size(), 3u);
  EXPECT_THAT((*params)[0],
              ElementsAre(0, Day(2025, 1, 30), Day(2025, 1, 31), 1, Month(2025, 2), Month(2025, 3),
                          0, Day(2025, 4, 1), Day(2025, 4, 2)));
  EXPECT_THAT((*params)[1], ElementsAre(1, Month(2025, 2), Month(2025, 2), -1, 1, 0, -1, 1, 0));
  EXPECT_THAT((*params)[2],
              ElementsAre(0, Day(2025, 2, 3), Day(2025, 2, 3), -1, 1, 0, -1, 1, 0));
}

TEST(CounterBucketsTest, RunParamsCheckTheQueryFirst) {
  CounterQuery no_ranges;
  no_ranges.series = {"t|received"};
  EXPECT_THAT(RunParamsOfQuery(no_ranges),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("at least one day range")));
  CounterQuery reversed;
  reversed.ranges = {{absl::CivilDay(2025, 2, 1), absl::CivilDay(2025, 1, 1)}};
  EXPECT_THAT(RunParamsOfQuery(reversed),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("reversed")));
}

TEST(CounterBucketsTest, CountQueryWindowsMustNotCross) {
  const absl::Time t = absl::FromUnixSeconds(1736125200);
  EXPECT_THAT(ValidateCountQuery({.due_before = t, .due_soon_before = t}), IsOk());
  EXPECT_THAT(ValidateCountQuery({.due_before = t, .due_soon_before = t + absl::Hours(1)}),
              IsOk());
  EXPECT_THAT(ValidateCountQuery({.due_before = t, .due_soon_before = t - absl::Seconds(1)}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("due_soon_before")));
  EXPECT_THAT(ValidateCountQuery({}), IsOk());  // both infinitely past
}

}  // namespace
}  // namespace onestop::storage
