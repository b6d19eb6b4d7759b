// The time law (DOMAIN.md §5): when a dossier's legal clock starts, when it
// is due, how pauses shift it, and how a dossier stands against it.
// Pure functions over a WorkingCalendar; "now" is always a parameter.
//
// Rules implemented (issue #3 is the specification):
// - Clock start: a reception on a working day at or before the cut-off
//   (15:00) counts from that day; after the cut-off, or on a day off, from
//   the next working day. For working-hour deadlines the clock starts at
//   the reception instant when it falls inside a working session before the
//   cut-off, else at the start of the next working session (next half-day
//   at lunch, next working morning after the cut-off or on a day off).
// - Working days N: due at the close of the N-th working day after the
//   start day (N = 0: "within the day", the start day's close).
// - Calendar days N: due at the close of start day + N; a due day that is a
//   day off moves to the next working day.
// - Working hours N: N×60 working minutes after the clock start.
// - Pauses: the effective due time is the original due time moved forward
//   by exactly the working minutes inside the pause intervals.
// - Timeliness compares local dates, so "on time" means "on the due date".
#ifndef ONESTOP_SERVER_CORE_DEADLINE_H_
#define ONESTOP_SERVER_CORE_DEADLINE_H_

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "onestop/v1/catalogue.pb.h"
#include "onestop/v1/dossier.pb.h"
#include "server/core/calendar.h"

namespace onestop::core {

// Due time of a dossier received at `received` under `deadline`: the close
// of the due day (end of the last session) for day units, or the instant
// the last working minute ends for working hours.
// INVALID_ARGUMENT for a negative amount, an amount above 3650 days or
// 87600 hours (a typo guard), or an unspecified unit.
absl::StatusOr<absl::Time> ComputeDueTime(const onestop::v1::LegalDeadline& deadline,
                                          absl::Time received,
                                          const WorkingCalendar& calendar);

// Whole working minutes inside [start, end) (0 if end ≤ start), counted in
// local civil time at second precision and rounded down.
int64_t WorkingMinutesBetween(absl::Time start, absl::Time end,
                              const WorkingCalendar& calendar);

// The instant `minutes` working minutes after `from` (minutes ≥ 0). An
// instant at a session's end is followed by the next session's start.
// `minutes` ≤ 0 returns `from` unchanged (even outside working time); a
// count that ends exactly at a session's end returns that end (17:00, not
// the next morning). Sub-second parts of `from` are dropped.
absl::Time AddWorkingMinutes(absl::Time from, int64_t minutes,
                             const WorkingCalendar& calendar);

// Original due time shifted by the working time of every closed pause and,
// for an open pause, up to `now`. The pauses must not overlap. A pause
// without start_time is ignored; working seconds are summed over all
// pauses, then rounded down to whole minutes.
absl::Time EffectiveDueTime(absl::Time original_due,
                            const google::protobuf::RepeatedPtrField<onestop::v1::ClockPause>& pauses,
                            absl::Time now, const WorkingCalendar& calendar);

struct TimelinessOptions {
  // Open dossiers due within this many working days of today are DUE_SOON.
  int due_soon_working_days = 1;
  // Whether a withdrawn dossier counts as finished on time (report policy).
  bool withdrawn_counts_on_time = true;
};

// Where `dossier` stands at `now`: UNSPECIFIED without a due time (not
// received; refused); EARLY / ON_TIME / LATE once finished (result ready,
// returned, withdrawn, stopped: compared by the local date it finished);
// WITHIN_DEADLINE / DUE_SOON / OVERDUE while open (today vs the due date).
// The finish instant is finished_time for RESULT_READY, finished_time else
// returned_time for RETURNED, closed_time for STOPPED and WITHDRAWN (which
// is ON_TIME outright under withdrawn_counts_on_time); a missing one gives
// UNSPECIFIED. Open means RECEIVED, PROCESSING, SUPPLEMENT_REQUESTED or
// FINANCIAL_OBLIGATION: OVERDUE after the due date, DUE_SOON when the due
// date is at most AddWorkingDays(today, due_soon_working_days), today being
// working day 0. due_time (effective) decides; rescheduled_due_time never.
onestop::v1::Timeliness ClassifyTimeliness(const onestop::v1::Dossier& dossier,
                                           absl::Time now,
                                           const WorkingCalendar& calendar,
                                           const TimelinessOptions& options = {});

// The first instant of `t`'s local day. An open dossier whose due time is
// before StartOfLocalDay(now) is overdue; this turns "overdue" into a store
// query.
absl::Time StartOfLocalDay(absl::Time t, const WorkingCalendar& calendar);

}  // namespace onestop::core

#endif  // ONESTOP_SERVER_CORE_DEADLINE_H_
