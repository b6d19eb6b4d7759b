// The working calendar: which civil days are working days, and the working
// sessions within them (DOMAIN.md §5). Pure values; no I/O, no clock.
#ifndef ONESTOP_SERVER_CORE_CALENDAR_H_
#define ONESTOP_SERVER_CORE_CALENDAR_H_

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "onestop/config/v1/config.pb.h"

namespace onestop::core {

// Why a day is or is not a working day.
enum class DayKind {
  kWorkingDay,       // an ordinary working weekday
  kRestDay,          // weekly rest day (Saturday, Sunday by default)
  kHoliday,          // public holiday as announced
  kCompensatoryDay,  // nghỉ bù: a holiday fell on a rest day
  kSwappedDayOff,    // hoán đổi: weekday given off
  kSwappedWorkDay,   // hoán đổi: rest day worked instead
};

struct CalendarDay {
  absl::CivilDay day;
  DayKind kind;
  std::string name;  // holiday name, empty for ordinary days
  bool is_working() const {
    return kind == DayKind::kWorkingDay || kind == DayKind::kSwappedWorkDay;
  }
};

// A working session in minutes after local midnight, [start, end).
struct WorkingSession {
  int start_minute;
  int end_minute;
};

// Immutable after construction; safe to share between threads.
class WorkingCalendar {
 public:
  // Builds a calendar from configuration; empty fields take the defaults of
  // Default(). Holidays falling on a rest day get a compensatory day
  // ("Nghỉ bù <name>") on the next ordinary working weekday that is not
  // already a holiday, compensatory or swapped day, taken in date order
  // (computed, never typed in). So list only the announced holidays, not the
  // weekend days inside a Tết break. A swap may straddle New Year: it is
  // accepted in a year containing its day off or its worked day.
  // INVALID_ARGUMENT, naming the year and entry, for a malformed date, a
  // holiday outside its year, a duplicate holiday or year, a swap whose day
  // off is not an ordinary working day or whose worked day is not a rest
  // day, overlapping swaps, rest days outside 1..7, repeated or covering the
  // whole week, sessions that are malformed, empty, out of order or
  // overlapping, a bad cut-off, or an unknown time zone.
  static absl::StatusOr<WorkingCalendar> FromConfig(
      const onestop::config::v1::Calendar& config);

  // Monday–Friday working, Saturday and Sunday rest, no holidays, default
  // sessions (07:00–11:30, 13:30–17:00), cut-off 15:00, Asia/Ho_Chi_Minh
  // (a fixed UTC+7 zone if tzdata is missing, which gives the same times).
  // For tests and for deployments with no calendar configured.
  static WorkingCalendar Default();

  // The kind of `day`. Days outside the configured years are classified by
  // weekday alone, except a swapped or compensatory day that a configured
  // year places just across New Year (e.g. 31/12/2018 off, swapped in 2019).
  CalendarDay Classify(absl::CivilDay day) const;
  bool IsWorkingDay(absl::CivilDay day) const {
    return Classify(day).is_working();
  }

  // The `n`-th working day after `day` (n ≥ 0; a negative n acts as 0).
  // n == 0 returns `day` itself if it is a working day, else the next
  // working day. O(n + days off skipped).
  absl::CivilDay AddWorkingDays(absl::CivilDay day, int n) const;

  // Number of working days d with from < d ≤ to (0 if to ≤ from).
  // Inverse of AddWorkingDays: WorkingDaysBetween(d, AddWorkingDays(d, n))
  // == n for a working day d and n ≥ 0.
  int WorkingDaysBetween(absl::CivilDay from, absl::CivilDay to) const;

  // The next working day strictly after `day`.
  absl::CivilDay NextWorkingDay(absl::CivilDay day) const;

  // Every day of [from, to] that is not an ordinary working weekday or an
  // ordinary rest day (holidays, compensatory and swapped days), in order.
  std::vector<CalendarDay> SpecialDays(absl::CivilDay from,
                                       absl::CivilDay to) const;

  // The one place an instant becomes local civil time.
  absl::CivilMinute ToLocal(absl::Time t) const {
    return absl::ToCivilMinute(t, zone_);
  }
  absl::CivilDay ToLocalDay(absl::Time t) const {
    return absl::ToCivilDay(t, zone_);
  }
  absl::Time FromLocal(absl::CivilMinute m) const {
    return absl::FromCivil(m, zone_);
  }

  const std::vector<WorkingSession>& sessions() const { return sessions_; }
  // Minutes after midnight; receptions after it start the next working day.
  int cutoff_minute() const { return cutoff_minute_; }
  // End of the last session of a working day, in minutes after midnight.
  int close_minute() const { return sessions_.back().end_minute; }
  // Working minutes in one working day (480 by default).
  int minutes_per_working_day() const;
  const absl::TimeZone& zone() const { return zone_; }
  int first_year() const { return first_year_; }
  int last_year() const { return last_year_; }

 private:
  WorkingCalendar() = default;

  absl::TimeZone zone_;
  std::set<int> rest_weekdays_;  // ISO 1..7
  std::vector<WorkingSession> sessions_;
  int cutoff_minute_ = 15 * 60;
  std::map<absl::CivilDay, CalendarDay> special_;
  int first_year_ = 0;
  int last_year_ = -1;
};

// Parses "HH:MM" (exactly two digits each, 00:00–23:59) into minutes after
// midnight; INVALID_ARGUMENT otherwise.
absl::StatusOr<int> ParseTimeOfDay(const std::string& text);
// Parses "YYYY-MM-DD" strictly (real calendar date); INVALID_ARGUMENT
// otherwise.
absl::StatusOr<absl::CivilDay> ParseIsoDay(const std::string& text);

}  // namespace onestop::core

#endif  // ONESTOP_SERVER_CORE_CALENDAR_H_
