#include "storage/counter_buckets.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"

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

absl::StatusOr<std::vector<RunParams>> RunParamsOfQuery(const CounterQuery& query) {
  if (absl::Status status = ValidateCounterQuery(query); !status.ok()) return status;
  std::vector<RunParams> result;
  result.reserve(query.ranges.size());
  for (const DayRange& range : query.ranges) {
    const std::vector<BucketRun> runs = DecomposeDayRange(range);
    if (runs.size() > kMaxRunsPerRange) {
      return absl::InternalError("a day range decomposed into too many bucket runs");
    }
    RunParams& params = result.emplace_back();
    for (size_t i = 0; i < kMaxRunsPerRange; ++i) {
      const bool empty = i >= runs.size();
      params[3 * i] = empty ? -1 : static_cast<int64_t>(runs[i].grain);
      params[3 * i + 1] = empty ? 1 : runs[i].first;
      params[3 * i + 2] = empty ? 0 : runs[i].last;
    }
  }
  return result;
}

absl::Status ValidateCountQuery(const CountQuery& query) {
  if (query.due_soon_before < query.due_before) {
    return absl::InvalidArgumentError(
        absl::StrCat("count query: due_soon_before (", absl::FormatTime(query.due_soon_before),
                     ") is before due_before (", absl::FormatTime(query.due_before), ")"));
  }
  return absl::OkStatus();
}

}  // namespace onestop::storage
