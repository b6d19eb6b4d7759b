#include "server/core/deadline.h"

#include <algorithm>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "server/util/proto_time.h"

namespace onestop::core {
namespace {

using onestop::v1::DossierStatus;
using onestop::v1::Timeliness;

// Upper bounds on a legal deadline: generous (ten years), but they keep a
// typo such as 2000000000 from looping through millions of days.
constexpr int32_t kMaxDeadlineDays = 3650;
constexpr int32_t kMaxDeadlineHours = 3650 * 24;

// Local civil time at second precision: the working-time arithmetic counts
// civil seconds inside sessions, which is also right in zones with DST.
absl::CivilSecond ToLocalSecond(absl::Time t, const WorkingCalendar& cal) {
  return absl::ToCivilSecond(t, cal.zone());
}

absl::Time FromLocalSecond(absl::CivilSecond s, const WorkingCalendar& cal) {
  return absl::FromCivil(s, cal.zone());
}

absl::CivilSecond At(absl::CivilDay day, int minute_of_day) {
  return absl::CivilSecond(day) + int64_t{minute_of_day} * 60;
}

// Seconds after local midnight.
int64_t SecondOfDay(absl::CivilSecond s) {
  return s - absl::CivilSecond(absl::CivilDay(s));
}

// The first working day whose clock runs for a reception at `received`:
// that day if it is a working day and the reception is at or before the
// cut-off, else the next working day.
absl::CivilDay StartDay(absl::CivilSecond received, const WorkingCalendar& cal) {
  const absl::CivilDay day(received);
  if (cal.IsWorkingDay(day) &&
      SecondOfDay(received) <= int64_t{cal.cutoff_minute()} * 60) {
    return day;
  }
  return cal.NextWorkingDay(day);
}

// The instant a working-hours clock starts (see deadline.h).
absl::CivilSecond HourClockStart(absl::CivilSecond received,
                                 const WorkingCalendar& cal) {
  const absl::CivilDay day(received);
  if (cal.IsWorkingDay(day) &&
      SecondOfDay(received) <= int64_t{cal.cutoff_minute()} * 60) {
    for (const WorkingSession& s : cal.sessions()) {
      if (received < At(day, s.start_minute)) return At(day, s.start_minute);
      if (received < At(day, s.end_minute)) return received;
    }
  }
  return At(cal.NextWorkingDay(day), cal.sessions().front().start_minute);
}

// Working seconds of `day` inside [from, to).
int64_t WorkingSecondsOfDay(absl::CivilDay day, absl::CivilSecond from,
                            absl::CivilSecond to, const WorkingCalendar& cal) {
  if (!cal.IsWorkingDay(day)) return 0;
  int64_t total = 0;
  for (const WorkingSession& s : cal.sessions()) {
    const absl::CivilSecond lo = std::max(from, At(day, s.start_minute));
    const absl::CivilSecond hi = std::min(to, At(day, s.end_minute));
    if (hi > lo) total += hi - lo;
  }
  return total;
}

int64_t WorkingSecondsBetween(absl::Time start, absl::Time end,
                              const WorkingCalendar& cal) {
  if (end <= start) return 0;
  const absl::CivilSecond a = ToLocalSecond(start, cal);
  const absl::CivilSecond b = ToLocalSecond(end, cal);
  const absl::CivilDay first(a);
  const absl::CivilDay last(b);
  if (first == last) return WorkingSecondsOfDay(first, a, b, cal);
  // Partial first and last days; every day in between is whole.
  int64_t total = WorkingSecondsOfDay(first, a, absl::CivilSecond(first + 1), cal) +
                  WorkingSecondsOfDay(last, absl::CivilSecond(last), b, cal);
  const int64_t whole_days = cal.WorkingDaysBetween(first, last - 1);
  total += whole_days * cal.minutes_per_working_day() * 60;
  return total;
}

bool IsOpen(DossierStatus s) {
  return s == onestop::v1::DOSSIER_STATUS_RECEIVED ||
         s == onestop::v1::DOSSIER_STATUS_PROCESSING ||
         s == onestop::v1::DOSSIER_STATUS_SUPPLEMENT_REQUESTED ||
         s == onestop::v1::DOSSIER_STATUS_FINANCIAL_OBLIGATION;
}

Timeliness ByFinishDate(absl::CivilDay finished, absl::CivilDay due) {
  if (finished < due) return onestop::v1::TIMELINESS_EARLY;
  if (finished == due) return onestop::v1::TIMELINESS_ON_TIME;
  return onestop::v1::TIMELINESS_LATE;
}

}  // namespace

absl::StatusOr<absl::Time> ComputeDueTime(
    const onestop::v1::LegalDeadline& deadline, absl::Time received,
    const WorkingCalendar& calendar) {
  const int32_t n = deadline.amount();
  if (n < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("legal deadline amount ", n, " is negative"));
  }
  const absl::CivilSecond local = ToLocalSecond(received, calendar);
  switch (deadline.unit()) {
    case onestop::v1::DEADLINE_UNIT_WORKING_DAYS: {
      if (n > kMaxDeadlineDays) {
        return absl::InvalidArgumentError(absl::StrCat(
            "legal deadline of ", n, " working days exceeds the maximum of ",
            kMaxDeadlineDays));
      }
      const absl::CivilDay due =
          calendar.AddWorkingDays(StartDay(local, calendar), n);
      return FromLocalSecond(At(due, calendar.close_minute()), calendar);
    }
    case onestop::v1::DEADLINE_UNIT_CALENDAR_DAYS: {
      if (n > kMaxDeadlineDays) {
        return absl::InvalidArgumentError(absl::StrCat(
            "legal deadline of ", n, " calendar days exceeds the maximum of ",
            kMaxDeadlineDays));
      }
      // Civil Code 2015 Art. 148: a due day that is a day off moves to the
      // next working day.
      const absl::CivilDay due =
          calendar.AddWorkingDays(StartDay(local, calendar) + n, 0);
      return FromLocalSecond(At(due, calendar.close_minute()), calendar);
    }
    case onestop::v1::DEADLINE_UNIT_WORKING_HOURS: {
      if (n > kMaxDeadlineHours) {
        return absl::InvalidArgumentError(absl::StrCat(
            "legal deadline of ", n, " working hours exceeds the maximum of ",
            kMaxDeadlineHours));
      }
      const absl::Time start =
          FromLocalSecond(HourClockStart(local, calendar), calendar);
      return AddWorkingMinutes(start, int64_t{n} * 60, calendar);
    }
    default:
      return absl::InvalidArgumentError(absl::StrCat(
          "legal deadline unit ",
          onestop::v1::DeadlineUnit_Name(deadline.unit()).empty()
              ? absl::StrCat(static_cast<int>(deadline.unit()))
              : onestop::v1::DeadlineUnit_Name(deadline.unit()),
          " is not a known unit (want WORKING_DAYS, CALENDAR_DAYS or "
          "WORKING_HOURS)"));
  }
}

int64_t WorkingMinutesBetween(absl::Time start, absl::Time end,
                              const WorkingCalendar& calendar) {
  return WorkingSecondsBetween(start, end, calendar) / 60;
}

absl::Time AddWorkingMinutes(absl::Time from, int64_t minutes,
                             const WorkingCalendar& calendar) {
  if (minutes <= 0) return from;
  int64_t remaining = minutes * 60;
  const int64_t per_day = int64_t{calendar.minutes_per_working_day()} * 60;
  absl::CivilSecond cursor = ToLocalSecond(from, calendar);
  absl::CivilDay day(cursor);
  while (true) {
    if (calendar.IsWorkingDay(day)) {
      // A whole day ahead that does not finish the count is skipped at once;
      // `>` keeps a count ending exactly at close on that day.
      if (cursor <= absl::CivilSecond(day) && remaining > per_day) {
        remaining -= per_day;
      } else {
        for (const WorkingSession& s : calendar.sessions()) {
          const absl::CivilSecond end = At(day, s.end_minute);
          if (cursor >= end) continue;
          const absl::CivilSecond begin = std::max(cursor, At(day, s.start_minute));
          const int64_t available = end - begin;
          if (remaining <= available) {
            return FromLocalSecond(begin + remaining, calendar);
          }
          remaining -= available;
        }
      }
    }
    day = calendar.NextWorkingDay(day);
    cursor = absl::CivilSecond(day);
  }
}

absl::Time EffectiveDueTime(
    absl::Time original_due,
    const google::protobuf::RepeatedPtrField<onestop::v1::ClockPause>& pauses,
    absl::Time now, const WorkingCalendar& calendar) {
  int64_t paused_seconds = 0;
  for (const onestop::v1::ClockPause& p : pauses) {
    if (!p.has_start_time()) continue;
    const absl::Time end = p.has_end_time() ? FromProtoTime(p.end_time()) : now;
    paused_seconds += WorkingSecondsBetween(FromProtoTime(p.start_time()), end, calendar);
  }
  // Summed in seconds before rounding down to whole minutes, so that many
  // short pauses are not each rounded away.
  return AddWorkingMinutes(original_due, paused_seconds / 60, calendar);
}

Timeliness ClassifyTimeliness(const onestop::v1::Dossier& dossier,
                              absl::Time now, const WorkingCalendar& calendar,
                              const TimelinessOptions& options) {
  if (!dossier.has_due_time()) return onestop::v1::TIMELINESS_UNSPECIFIED;
  const absl::CivilDay due = calendar.ToLocalDay(FromProtoTime(dossier.due_time()));
  switch (dossier.status()) {
    case onestop::v1::DOSSIER_STATUS_RESULT_READY:
      if (!dossier.has_finished_time()) return onestop::v1::TIMELINESS_UNSPECIFIED;
      return ByFinishDate(calendar.ToLocalDay(FromProtoTime(dossier.finished_time())), due);
    case onestop::v1::DOSSIER_STATUS_RETURNED:
      // The result was ready at finished_time; handing it over later does
      // not make the agency late. Without it, the hand-over is the finish.
      if (dossier.has_finished_time()) {
        return ByFinishDate(calendar.ToLocalDay(FromProtoTime(dossier.finished_time())),
                            due);
      }
      if (dossier.has_returned_time()) {
        return ByFinishDate(calendar.ToLocalDay(FromProtoTime(dossier.returned_time())),
                            due);
      }
      return onestop::v1::TIMELINESS_UNSPECIFIED;
    case onestop::v1::DOSSIER_STATUS_WITHDRAWN:
      if (options.withdrawn_counts_on_time) return onestop::v1::TIMELINESS_ON_TIME;
      [[fallthrough]];
    case onestop::v1::DOSSIER_STATUS_STOPPED:
      if (!dossier.has_closed_time()) return onestop::v1::TIMELINESS_UNSPECIFIED;
      return ByFinishDate(calendar.ToLocalDay(FromProtoTime(dossier.closed_time())), due);
    default:
      break;
  }
  if (!IsOpen(dossier.status())) return onestop::v1::TIMELINESS_UNSPECIFIED;
  const absl::CivilDay today = calendar.ToLocalDay(now);
  if (today > due) return onestop::v1::TIMELINESS_OVERDUE;
  if (due <= calendar.AddWorkingDays(today, std::max(0, options.due_soon_working_days))) {
    return onestop::v1::TIMELINESS_DUE_SOON;
  }
  return onestop::v1::TIMELINESS_WITHIN_DEADLINE;
}

absl::Time StartOfLocalDay(absl::Time t, const WorkingCalendar& calendar) {
  return absl::FromCivil(calendar.ToLocalDay(t), calendar.zone());
}

}  // namespace onestop::core
