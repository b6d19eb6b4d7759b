#include "server/core/calendar.h"

#include <algorithm>
#include <cstdint>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "server/util/status_macros.h"

namespace onestop::core {
namespace {

constexpr char kDefaultZone[] = "Asia/Ho_Chi_Minh";
constexpr int kDefaultCutoffMinute = 15 * 60;

std::vector<WorkingSession> DefaultSessions() {
  return {{7 * 60, 11 * 60 + 30}, {13 * 60 + 30, 17 * 60}};
}

// ISO weekday number: 1 = Monday … 7 = Sunday.
int IsoWeekday(absl::CivilDay day) {
  switch (absl::GetWeekday(day)) {
    case absl::Weekday::monday:
      return 1;
    case absl::Weekday::tuesday:
      return 2;
    case absl::Weekday::wednesday:
      return 3;
    case absl::Weekday::thursday:
      return 4;
    case absl::Weekday::friday:
      return 5;
    case absl::Weekday::saturday:
      return 6;
    case absl::Weekday::sunday:
      return 7;
  }
  return 1;  // unreachable: the switch covers every weekday
}

bool AllDigits(absl::string_view s) {
  return !s.empty() &&
         std::all_of(s.begin(), s.end(), [](char c) { return absl::ascii_isdigit(c); });
}

int ToInt(absl::string_view digits) {
  int v = 0;
  for (char c : digits) v = v * 10 + (c - '0');
  return v;
}

std::string DescribeKind(const CalendarDay& d) {
  switch (d.kind) {
    case DayKind::kWorkingDay:
      return "a working day";
    case DayKind::kRestDay:
      return "a rest day";
    case DayKind::kHoliday:
      return absl::StrCat("a holiday: ", d.name);
    case DayKind::kCompensatoryDay:
      return absl::StrCat("a compensatory day: ", d.name);
    case DayKind::kSwappedDayOff:
      return "a swapped day off";
    case DayKind::kSwappedWorkDay:
      return "a swapped working day";
  }
  return "an unknown kind of day";
}

}  // namespace

absl::StatusOr<int> ParseTimeOfDay(const std::string& text) {
  // Strictly "HH:MM": a config typo such as "7:00" or "17h" should fail
  // loudly rather than be guessed at.
  if (text.size() != 5 || text[2] != ':' ||
      !AllDigits(absl::string_view(text).substr(0, 2)) ||
      !AllDigits(absl::string_view(text).substr(3, 2))) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", text, "\" is not a time of day (want HH:MM)"));
  }
  const int h = ToInt(absl::string_view(text).substr(0, 2));
  const int m = ToInt(absl::string_view(text).substr(3, 2));
  if (h > 23 || m > 59) {
    return absl::InvalidArgumentError(absl::StrCat(
        "\"", text, "\" is not a time of day (want HH:MM, 00:00–23:59)"));
  }
  return h * 60 + m;
}

absl::StatusOr<absl::CivilDay> ParseIsoDay(const std::string& text) {
  const absl::string_view s(text);
  if (s.size() != 10 || s[4] != '-' || s[7] != '-' ||
      !AllDigits(s.substr(0, 4)) || !AllDigits(s.substr(5, 2)) ||
      !AllDigits(s.substr(8, 2))) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", text, "\" is not a date (want YYYY-MM-DD)"));
  }
  const int y = ToInt(s.substr(0, 4));
  const int m = ToInt(s.substr(5, 2));
  const int d = ToInt(s.substr(8, 2));
  // CivilDay normalises 2020-02-30 to 2020-03-01; a changed field means the
  // text named no real day.
  const absl::CivilDay day(y, m, d);
  if (day.year() != y || day.month() != m || day.day() != d) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", text, "\" is not a real calendar date"));
  }
  return day;
}

absl::StatusOr<WorkingCalendar> WorkingCalendar::FromConfig(
    const onestop::config::v1::Calendar& config) {
  WorkingCalendar cal;

  const std::string zone_name =
      config.time_zone().empty() ? kDefaultZone : config.time_zone();
  if (!absl::LoadTimeZone(zone_name, &cal.zone_)) {
    return absl::InvalidArgumentError(
        absl::StrCat("calendar: unknown time_zone \"", zone_name, "\""));
  }

  if (config.weekly_rest_days().empty()) {
    cal.rest_weekdays_ = {6, 7};
  } else {
    for (int32_t wd : config.weekly_rest_days()) {
      if (wd < 1 || wd > 7) {
        return absl::InvalidArgumentError(absl::StrCat(
            "calendar: weekly_rest_days value ", wd,
            " is not an ISO weekday (1 = Monday … 7 = Sunday)"));
      }
      if (!cal.rest_weekdays_.insert(wd).second) {
        return absl::InvalidArgumentError(
            absl::StrCat("calendar: weekly_rest_days lists ", wd, " twice"));
      }
    }
    if (cal.rest_weekdays_.size() == 7) {
      // Also keeps AddWorkingDays and NextWorkingDay from looping forever.
      return absl::InvalidArgumentError(
          "calendar: weekly_rest_days leaves no working day in the week");
    }
  }

  if (config.sessions().empty()) {
    cal.sessions_ = DefaultSessions();
  } else {
    for (int i = 0; i < config.sessions_size(); ++i) {
      const auto& s = config.sessions(i);
      const std::string label = absl::StrCat("calendar: session ", i + 1, " (\"",
                                             s.start(), "\"–\"", s.end(), "\")");
      absl::StatusOr<int> start = ParseTimeOfDay(s.start());
      if (!start.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat(label, ": start ", start.status().message()));
      }
      absl::StatusOr<int> end = ParseTimeOfDay(s.end());
      if (!end.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat(label, ": end ", end.status().message()));
      }
      if (*end <= *start) {
        return absl::InvalidArgumentError(
            absl::StrCat(label, " does not end after it starts"));
      }
      if (!cal.sessions_.empty() && *start < cal.sessions_.back().end_minute) {
        return absl::InvalidArgumentError(absl::StrCat(
            label, " overlaps or precedes session ", i,
            "; list sessions in time order without overlap"));
      }
      cal.sessions_.push_back({*start, *end});
    }
  }

  if (config.cutoff().empty()) {
    cal.cutoff_minute_ = kDefaultCutoffMinute;
  } else {
    absl::StatusOr<int> cutoff = ParseTimeOfDay(config.cutoff());
    if (!cutoff.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("calendar: cutoff ", cutoff.status().message()));
    }
    cal.cutoff_minute_ = *cutoff;
  }

  // Pass 1: years and holidays of every year, so that swaps and
  // compensatory days (which may cross New Year) see all of them.
  std::set<int> years;
  for (const auto& y : config.years()) {
    if (!years.insert(y.year()).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("calendar year ", y.year(), " is listed twice"));
    }
    for (const auto& h : y.holidays()) {
      const std::string label =
          absl::StrCat("calendar year ", y.year(), ": holiday \"", h.date(),
                       "\" (", h.name(), ")");
      absl::StatusOr<absl::CivilDay> day = ParseIsoDay(h.date());
      if (!day.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat(label, " is not a valid date (want YYYY-MM-DD)"));
      }
      if (day->year() != y.year()) {
        return absl::InvalidArgumentError(
            absl::StrCat(label, " is outside the year"));
      }
      if (!cal.special_.emplace(*day, CalendarDay{*day, DayKind::kHoliday, h.name()})
               .second) {
        return absl::InvalidArgumentError(absl::StrCat(label, " is listed twice"));
      }
    }
  }
  if (!years.empty()) {
    cal.first_year_ = *years.begin();
    cal.last_year_ = *years.rbegin();
  }

  // Pass 2: swaps. A swap belongs to the year whose announcement made it;
  // its two days may straddle New Year (31/12/2018 off, 5/1/2019 worked), so
  // it is accepted in a year containing either of its days.
  for (const auto& y : config.years()) {
    for (const auto& sw : y.swapped_days()) {
      std::string label = absl::StrCat("calendar year ", y.year(),
                                       ": swapped day \"", sw.day_off(),
                                       "\" off ↔ \"", sw.worked_on(), "\" worked");
      if (!sw.name().empty()) absl::StrAppend(&label, " (", sw.name(), ")");
      absl::StatusOr<absl::CivilDay> off = ParseIsoDay(sw.day_off());
      if (!off.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(
            label, ": day_off is not a valid date (want YYYY-MM-DD)"));
      }
      absl::StatusOr<absl::CivilDay> worked = ParseIsoDay(sw.worked_on());
      if (!worked.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(
            label, ": worked_on is not a valid date (want YYYY-MM-DD)"));
      }
      if (off->year() != y.year() && worked->year() != y.year()) {
        return absl::InvalidArgumentError(
            absl::StrCat(label, " is outside the year"));
      }
      const CalendarDay off_kind = cal.Classify(*off);
      if (off_kind.kind == DayKind::kSwappedDayOff ||
          off_kind.kind == DayKind::kSwappedWorkDay) {
        return absl::InvalidArgumentError(absl::StrCat(
            label, " overlaps an earlier swap on ", absl::FormatCivilTime(*off)));
      }
      if (off_kind.kind != DayKind::kWorkingDay) {
        return absl::InvalidArgumentError(absl::StrCat(
            label, ": day_off ", absl::FormatCivilTime(*off),
            " is not an ordinary working day (it is ", DescribeKind(off_kind), ")"));
      }
      const CalendarDay worked_kind = cal.Classify(*worked);
      if (worked_kind.kind == DayKind::kSwappedDayOff ||
          worked_kind.kind == DayKind::kSwappedWorkDay) {
        return absl::InvalidArgumentError(absl::StrCat(
            label, " overlaps an earlier swap on ", absl::FormatCivilTime(*worked)));
      }
      if (worked_kind.kind != DayKind::kRestDay) {
        return absl::InvalidArgumentError(absl::StrCat(
            label, ": worked_on ", absl::FormatCivilTime(*worked),
            " is not a rest day (it is ", DescribeKind(worked_kind), ")"));
      }
      cal.special_[*off] = CalendarDay{*off, DayKind::kSwappedDayOff, sw.name()};
      cal.special_[*worked] =
          CalendarDay{*worked, DayKind::kSwappedWorkDay, sw.name()};
    }
  }

  // Pass 3: compensatory days (Labour Code 2019 Art. 111(3)), in date order
  // so that consecutive holidays on rest days take consecutive working days
  // (2023: Sat 29/4 → Tue 2/5, Sun 30/4 → Wed 3/5, Mon 1/5 being a holiday).
  // Only an ordinary working weekday can become one: never a holiday, a
  // swapped day off, an earlier compensatory day or a worked rest day.
  std::vector<CalendarDay> on_rest_days;
  for (const auto& [day, cd] : cal.special_) {
    if (cd.kind == DayKind::kHoliday && cal.rest_weekdays_.count(IsoWeekday(day)) > 0) {
      on_rest_days.push_back(cd);
    }
  }
  for (const CalendarDay& h : on_rest_days) {
    absl::CivilDay d = h.day + 1;
    while (cal.Classify(d).kind != DayKind::kWorkingDay) ++d;
    cal.special_[d] = CalendarDay{d, DayKind::kCompensatoryDay,
                                  absl::StrCat("Nghỉ bù ", h.name)};
  }
  return cal;
}

WorkingCalendar WorkingCalendar::Default() {
  absl::StatusOr<WorkingCalendar> cal =
      FromConfig(onestop::config::v1::Calendar());
  if (cal.ok()) return *std::move(cal);
  // Only without tzdata: Vietnam has kept UTC+7 without DST since 1975, so
  // a fixed offset gives the same local times.
  WorkingCalendar fallback;
  fallback.zone_ = absl::FixedTimeZone(7 * 60 * 60);
  fallback.rest_weekdays_ = {6, 7};
  fallback.sessions_ = DefaultSessions();
  fallback.cutoff_minute_ = kDefaultCutoffMinute;
  return fallback;
}

CalendarDay WorkingCalendar::Classify(absl::CivilDay day) const {
  auto it = special_.find(day);
  if (it != special_.end()) return it->second;
  const bool rest = rest_weekdays_.count(IsoWeekday(day)) > 0;
  return CalendarDay{day, rest ? DayKind::kRestDay : DayKind::kWorkingDay, ""};
}

absl::CivilDay WorkingCalendar::AddWorkingDays(absl::CivilDay day, int n) const {
  absl::CivilDay d = IsWorkingDay(day) ? day : NextWorkingDay(day);
  for (int i = 0; i < n; ++i) d = NextWorkingDay(d);
  return d;
}

int WorkingCalendar::WorkingDaysBetween(absl::CivilDay from,
                                        absl::CivilDay to) const {
  if (to <= from) return 0;
  // Count by weekday (whole weeks at once), then correct for the special
  // days in range, so long spans cost O(special days), not O(days).
  const int64_t span = to - from;
  const int working_per_week = 7 - static_cast<int>(rest_weekdays_.size());
  int64_t count = (span / 7) * working_per_week;
  for (absl::CivilDay d = from + 1 + (span / 7) * 7; d <= to; ++d) {
    if (rest_weekdays_.count(IsoWeekday(d)) == 0) ++count;
  }
  for (auto it = special_.upper_bound(from); it != special_.end() && it->first <= to;
       ++it) {
    const bool by_weekday = rest_weekdays_.count(IsoWeekday(it->first)) == 0;
    const bool actual = it->second.is_working();
    if (by_weekday && !actual) --count;
    if (!by_weekday && actual) ++count;
  }
  return static_cast<int>(count);
}

absl::CivilDay WorkingCalendar::NextWorkingDay(absl::CivilDay day) const {
  absl::CivilDay d = day + 1;
  while (!IsWorkingDay(d)) ++d;
  return d;
}

std::vector<CalendarDay> WorkingCalendar::SpecialDays(absl::CivilDay from,
                                                      absl::CivilDay to) const {
  std::vector<CalendarDay> out;
  for (auto it = special_.lower_bound(from); it != special_.end() && it->first <= to;
       ++it) {
    out.push_back(it->second);
  }
  return out;
}

int WorkingCalendar::minutes_per_working_day() const {
  int total = 0;
  for (const WorkingSession& s : sessions_) total += s.end_minute - s.start_minute;
  return total;
}

}  // namespace onestop::core
