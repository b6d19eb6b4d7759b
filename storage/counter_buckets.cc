#include "storage/counter_buckets.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace onestop::storage {
namespace {

int64_t DayBucket(absl::CivilDay day) { return day - absl::CivilDay(1970, 1, 1); }
int64_t MonthBucket(absl::CivilDay day) { return day.year() * 12 + (day.month() - 1); }

absl::CivilDay MonthEnd(absl::CivilDay day) {
  return absl::CivilDay(absl::CivilMonth(day) + 1) - 1;
}

std::string Format(absl::CivilDay day) {
  return absl::StrFormat("%04d-%02d-%02d", day.year(), day.month(), day.day());
}

}  // namespace

std::array<BucketRun, 2> BucketsOfDay(absl::CivilDay day) {
  return {BucketRun{CounterGrain::kDay, DayBucket(day), DayBucket(day)},
          BucketRun{CounterGrain::kMonth, MonthBucket(day), MonthBucket(day)}};
}

std::vector<BucketRun> DecomposeDayRange(const DayRange& range) {
  std::vector<BucketRun> runs;
  absl::CivilDay cur = range.first;
  const absl::CivilDay last = range.last;
  auto add = [&runs](CounterGrain grain, int64_t first, int64_t last_bucket) {
    if (!runs.empty() && runs.back().grain == grain && runs.back().last + 1 == first) {
      runs.back().last = last_bucket;
    } else {
      runs.push_back(BucketRun{grain, first, last_bucket});
    }
  };
  while (cur <= last) {
    if (cur.day() == 1 && MonthEnd(cur) <= last) {
      add(CounterGrain::kMonth, MonthBucket(cur), MonthBucket(cur));
      cur = MonthEnd(cur) + 1;
    } else {
      add(CounterGrain::kDay, DayBucket(cur), DayBucket(cur));
      cur += 1;
    }
  }
  return runs;
}

absl::Status ValidateDayRange(const DayRange& range) {
  if (range.first > range.last) {
    return absl::InvalidArgumentError(absl::StrCat("day range ", Format(range.first), "..",
                                                   Format(range.last), " is reversed"));
  }
  if (range.first < kEarliestCounterDay || range.last > kLatestCounterDay) {
    return absl::InvalidArgumentError(absl::StrCat("day range ", Format(range.first), "..",
                                                   Format(range.last),
                                                   " lies outside 1900-01-01..9999-12-31"));
  }
  return absl::OkStatus();
}

absl::Status ValidateCounterQuery(const CounterQuery& query) {
  if (query.ranges.empty()) {
    return absl::InvalidArgumentError("a counter query needs at least one day range");
  }
  for (const DayRange& range : query.ranges) {
    if (absl::Status status = ValidateDayRange(range); !status.ok()) return status;
  }
  for (const std::string& series : query.series) {
    if (series.empty()) return absl::InvalidArgumentError("empty counter series name");
  }
  for (const std::string& prefix : query.series_prefixes) {
    if (prefix.empty()) return absl::InvalidArgumentError("empty counter series prefix");
  }
  return absl::OkStatus();
}

absl::Status ValidateCounterDeltas(const std::vector<CounterDelta>& deltas) {
  for (const CounterDelta& delta : deltas) {
    if (delta.series.empty() || delta.series.size() > 512) {
      return absl::InvalidArgumentError(absl::StrCat(
          "counter series names must have 1–512 bytes, got ", delta.series.size()));
    }
    if (delta.day < kEarliestCounterDay || delta.day > kLatestCounterDay) {
      return absl::InvalidArgumentError(absl::StrCat("counter day ", Format(delta.day),
                                                     " lies outside 1900-01-01..9999-12-31"));
    }
  }
  return absl::OkStatus();
}

}  // namespace onestop::storage
