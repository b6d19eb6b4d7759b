// How a backend lays report counters out in time: every day's delta is
// also added to its month's row, and a DayRange is cut into at most three
// runs (leading days, whole months, trailing days), so a range sum reads at
// most ~60 day rows plus the month rows that exist in the range. (A year
// grain was measured and dropped: it cost a third more writes and saved
// nothing, since a run costs the rows that exist, not the buckets it spans.) Shared by the
// backends (SQLite and PostgreSQL), with the query checks both make; pure, no I/O.
//
// Thread safety: stateless functions.
#ifndef ONESTOP_STORAGE_COUNTER_BUCKETS_H_
#define ONESTOP_STORAGE_COUNTER_BUCKETS_H_

#include <array>
#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "storage/dossier_store.h"

namespace onestop::storage {

enum class CounterGrain : int {
  kDay = 0,    // bucket = days since 1970-01-01
  kMonth = 1,  // bucket = year × 12 + (month − 1)
};

// A run of consecutive buckets of one grain, inclusive.
struct BucketRun {
  CounterGrain grain = CounterGrain::kDay;
  int64_t first = 0;
  int64_t last = 0;
};

// The day's bucket at each grain: {day, month}.
std::array<BucketRun, 2> BucketsOfDay(absl::CivilDay day);

// Cuts `range` into runs whose buckets cover exactly its days: whole
// months where aligned, single days at the edges (at most 3 runs). `range` must be valid (see
// ValidateDayRange).
std::vector<BucketRun> DecomposeDayRange(const DayRange& range);

// INVALID_ARGUMENT if first > last or either lies outside
// kEarliestCounterDay..kLatestCounterDay.
absl::Status ValidateDayRange(const DayRange& range);

// INVALID_ARGUMENT for a query without ranges, with an invalid range, an
// empty series name or an empty prefix; for a delta with an empty or
// over-long (> 512 bytes) series or a day outside the counter range.
absl::Status ValidateCounterQuery(const CounterQuery& query);
absl::Status ValidateCounterDeltas(const std::vector<CounterDelta>& deltas);

// Most runs DecomposeDayRange returns: leading days, whole months, trailing
// days.
inline constexpr size_t kMaxRunsPerRange = 3;

// One day range as the parameters of the backends' range-sum statement
// ("… AND ((grain = ? AND bucket BETWEEN ? AND ?) OR …)", kMaxRunsPerRange
// times): grain, first and last bucket of each run, padded with empty runs
// (grain −1, buckets 1..0) that match no row.
using RunParams = std::array<int64_t, 3 * kMaxRunsPerRange>;

// ValidateCounterQuery, then each of the query's ranges as RunParams, in
// order.
absl::StatusOr<std::vector<RunParams>> RunParamsOfQuery(const CounterQuery& query);

// INVALID_ARGUMENT if the query's due_soon_before lies before its
// due_before (DossierStore::CountDossiers).
absl::Status ValidateCountQuery(const CountQuery& query);

}  // namespace onestop::storage

#endif  // ONESTOP_STORAGE_COUNTER_BUCKETS_H_
