// The time law (DOMAIN.md §5, deadline.h) as an executable specification.
// All times are local (Asia/Ho_Chi_Minh); expected instants were worked out
// by hand from the published calendars.
#include "server/core/deadline.h"

#include <google/protobuf/text_format.h>

#include <cstdint>
#include <optional>
#include <random>
#include <string>

#include "absl/status/status.h"
#include "absl/time/civil_time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace onestop::core {
namespace {

using absl::CivilMinute;
using onestop::v1::DossierStatus;
using onestop::v1::Timeliness;

constexpr char kVietnam[] = R"pb(
  years {
    year: 2019
    holidays { date: "2019-01-01" name: "Tết Dương lịch" }
    holidays { date: "2019-02-04" name: "Tết Nguyên đán" }
    holidays { date: "2019-02-05" name: "Tết Nguyên đán" }
    holidays { date: "2019-02-06" name: "Tết Nguyên đán" }
    holidays { date: "2019-02-07" name: "Tết Nguyên đán" }
    holidays { date: "2019-02-08" name: "Tết Nguyên đán" }
    holidays { date: "2019-04-14" name: "Giỗ Tổ Hùng Vương" }
    holidays { date: "2019-04-30" name: "Ngày Chiến thắng" }
    holidays { date: "2019-05-01" name: "Quốc tế Lao động" }
    holidays { date: "2019-09-02" name: "Quốc khánh" }
    swapped_days { day_off: "2018-12-31" worked_on: "2019-01-05" }
    swapped_days { day_off: "2019-04-29" worked_on: "2019-05-04" }
  }
  years {
    year: 2020
    holidays { date: "2020-01-01" name: "Tết Dương lịch" }
    holidays { date: "2020-01-23" name: "Tết Nguyên đán" }
    holidays { date: "2020-01-24" name: "Tết Nguyên đán" }
    holidays { date: "2020-01-27" name: "Tết Nguyên đán" }
    holidays { date: "2020-01-28" name: "Tết Nguyên đán" }
    holidays { date: "2020-01-29" name: "Tết Nguyên đán" }
    holidays { date: "2020-04-02" name: "Giỗ Tổ Hùng Vương" }
    holidays { date: "2020-04-30" name: "Ngày Chiến thắng" }
    holidays { date: "2020-05-01" name: "Quốc tế Lao động" }
    holidays { date: "2020-09-02" name: "Quốc khánh" }
  }
  years {
    year: 2021
    holidays { date: "2021-01-01" name: "Tết Dương lịch" }
    holidays { date: "2021-02-10" name: "Tết Nguyên đán" }
    holidays { date: "2021-02-11" name: "Tết Nguyên đán" }
    holidays { date: "2021-02-12" name: "Tết Nguyên đán" }
    holidays { date: "2021-02-15" name: "Tết Nguyên đán" }
    holidays { date: "2021-02-16" name: "Tết Nguyên đán" }
    holidays { date: "2021-04-21" name: "Giỗ Tổ Hùng Vương" }
    holidays { date: "2021-04-30" name: "Ngày Chiến thắng" }
    holidays { date: "2021-05-01" name: "Quốc tế Lao động" }
    holidays { date: "2021-09-02" name: "Quốc khánh" }
    holidays { date: "2021-09-03" name: "Quốc khánh" }
  }
  years {
    year: 2023
    holidays { date: "2023-01-01" name: "Tết Dương lịch" }
    holidays { date: "2023-01-20" name: "Tết Nguyên đán" }
    holidays { date: "2023-01-23" name: "Tết Nguyên đán" }
    holidays { date: "2023-01-24" name: "Tết Nguyên đán" }
    holidays { date: "2023-01-25" name: "Tết Nguyên đán" }
    holidays { date: "2023-01-26" name: "Tết Nguyên đán" }
    holidays { date: "2023-04-29" name: "Giỗ Tổ Hùng Vương" }
    holidays { date: "2023-04-30" name: "Ngày Chiến thắng" }
    holidays { date: "2023-05-01" name: "Quốc tế Lao động" }
    holidays { date: "2023-09-01" name: "Quốc khánh" }
    holidays { date: "2023-09-02" name: "Quốc khánh" }
  }
  years {
    year: 2026
    holidays { date: "2026-01-01" name: "Tết Dương lịch" }
    holidays { date: "2026-02-16" name: "Tết Nguyên đán" }
    holidays { date: "2026-02-17" name: "Tết Nguyên đán" }
    holidays { date: "2026-02-18" name: "Tết Nguyên đán" }
    holidays { date: "2026-02-19" name: "Tết Nguyên đán" }
    holidays { date: "2026-02-20" name: "Tết Nguyên đán" }
    holidays { date: "2026-04-30" name: "Ngày Chiến thắng" }
    holidays { date: "2026-05-01" name: "Quốc tế Lao động" }
  }
)pb";

onestop::v1::LegalDeadline Deadline(int32_t amount, onestop::v1::DeadlineUnit unit) {
  onestop::v1::LegalDeadline d;
  d.set_amount(amount);
  d.set_unit(unit);
  return d;
}

google::protobuf::Timestamp Proto(absl::Time t) {
  google::protobuf::Timestamp ts;
  ts.set_seconds(absl::ToUnixSeconds(t));
  ts.set_nanos(static_cast<int32_t>(
      absl::ToInt64Nanoseconds(t - absl::FromUnixSeconds(ts.seconds()))));
  return ts;
}

constexpr auto kWorkingDays = onestop::v1::DEADLINE_UNIT_WORKING_DAYS;
constexpr auto kCalendarDays = onestop::v1::DEADLINE_UNIT_CALENDAR_DAYS;
constexpr auto kWorkingHours = onestop::v1::DEADLINE_UNIT_WORKING_HOURS;

class DeadlineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    onestop::config::v1::Calendar config;
    ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(kVietnam, &config));
    absl::StatusOr<WorkingCalendar> cal = WorkingCalendar::FromConfig(config);
    ASSERT_TRUE(cal.ok()) << cal.status();
    cal_ = *std::move(cal);
  }
  absl::Time At(CivilMinute m) const { return cal_.FromLocal(m); }
  CivilMinute Local(absl::Time t) const { return cal_.ToLocal(t); }

  WorkingCalendar cal_ = WorkingCalendar::Default();
};

struct DueCase {
  const char* what;
  CivilMinute received;
  int32_t amount;
  onestop::v1::DeadlineUnit unit;
  CivilMinute want;
};

TEST_F(DeadlineTest, ComputeDueTime) {
  const DueCase cases[] = {
      // Working days: close (17:00) of the N-th working day after the start.
      {"Tết 2020: Wed 22/1 + 3 working days (30/1, 31/1, 3/2)",
       CivilMinute(2020, 1, 22, 10, 0), 3, kWorkingDays, CivilMinute(2020, 2, 3, 17, 0)},
      {"Friday + 1 working day", CivilMinute(2020, 3, 13, 9, 0), 1, kWorkingDays,
       CivilMinute(2020, 3, 16, 17, 0)},
      {"cut-off: Fri 17/1/2020 15:30, clock starts Mon 20/1",
       CivilMinute(2020, 1, 17, 15, 30), 1, kWorkingDays,
       CivilMinute(2020, 1, 21, 17, 0)},
      {"cut-off: Fri 17/1/2020 15:30 + 3 runs into Tết",
       CivilMinute(2020, 1, 17, 15, 30), 3, kWorkingDays,
       CivilMinute(2020, 1, 30, 17, 0)},
      {"cut-off: 15:00 itself still counts the day", CivilMinute(2020, 1, 17, 15, 0),
       1, kWorkingDays, CivilMinute(2020, 1, 20, 17, 0)},
      {"same-day procedure received 10:00", CivilMinute(2020, 3, 10, 10, 0), 0,
       kWorkingDays, CivilMinute(2020, 3, 10, 17, 0)},
      {"same-day procedure received 16:55", CivilMinute(2020, 3, 10, 16, 55), 0,
       kWorkingDays, CivilMinute(2020, 3, 11, 17, 0)},
      {"same-day procedure received on Saturday", CivilMinute(2020, 3, 14, 9, 0), 0,
       kWorkingDays, CivilMinute(2020, 3, 16, 17, 0)},
      {"received on a swapped working Saturday (4/5/2019)",
       CivilMinute(2019, 5, 4, 9, 0), 1, kWorkingDays, CivilMinute(2019, 5, 6, 17, 0)},
      {"year end 2020 → 2021", CivilMinute(2020, 12, 31, 8, 0), 1, kWorkingDays,
       CivilMinute(2021, 1, 4, 17, 0)},
      {"Tết 2026: Fri 13/2 + 1", CivilMinute(2026, 2, 13, 8, 0), 1, kWorkingDays,
       CivilMinute(2026, 2, 23, 17, 0)},
      {"2023: Fri 28/4 + 1 skips two compensatory days",
       CivilMinute(2023, 4, 28, 8, 0), 1, kWorkingDays, CivilMinute(2023, 5, 4, 17, 0)},
      // Working hours.
      {"4 working hours received 16:55: next working day 11:00",
       CivilMinute(2020, 3, 10, 16, 55), 4, kWorkingHours,
       CivilMinute(2020, 3, 11, 11, 0)},
      {"2 working hours received at lunch: from 13:30",
       CivilMinute(2020, 3, 10, 12, 0), 2, kWorkingHours,
       CivilMinute(2020, 3, 10, 15, 30)},
      {"0 working hours received at lunch: 13:30", CivilMinute(2020, 3, 10, 12, 0), 0,
       kWorkingHours, CivilMinute(2020, 3, 10, 13, 30)},
      {"4 working hours at lunch run into the next morning",
       CivilMinute(2020, 3, 10, 12, 0), 4, kWorkingHours,
       CivilMinute(2020, 3, 11, 7, 30)},
      {"4 working hours over lunch", CivilMinute(2020, 3, 10, 9, 0), 4, kWorkingHours,
       CivilMinute(2020, 3, 10, 15, 0)},
      {"before opening: from 07:00", CivilMinute(2020, 3, 10, 6, 0), 4, kWorkingHours,
       CivilMinute(2020, 3, 10, 11, 0)},
      {"ending exactly at a session end stays there",
       CivilMinute(2020, 3, 10, 7, 0), 8, kWorkingHours,
       CivilMinute(2020, 3, 10, 17, 0)},
      {"8 working hours from 10:00", CivilMinute(2020, 3, 10, 10, 0), 8, kWorkingHours,
       CivilMinute(2020, 3, 11, 10, 0)},
      {"in session but after cut-off", CivilMinute(2020, 3, 10, 15, 1), 1,
       kWorkingHours, CivilMinute(2020, 3, 11, 8, 0)},
      {"at the cut-off, in session", CivilMinute(2020, 3, 10, 15, 0), 1, kWorkingHours,
       CivilMinute(2020, 3, 10, 16, 0)},
      {"working hours across Tết 2020", CivilMinute(2020, 1, 22, 16, 0), 4,
       kWorkingHours, CivilMinute(2020, 1, 30, 11, 0)},
      // Calendar days: never end on a day off.
      {"calendar days ending on Sunday move to Monday",
       CivilMinute(2020, 3, 10, 10, 0), 5, kCalendarDays,
       CivilMinute(2020, 3, 16, 17, 0)},
      {"calendar days ending on Friday", CivilMinute(2020, 3, 10, 10, 0), 3,
       kCalendarDays, CivilMinute(2020, 3, 13, 17, 0)},
      {"calendar days ending on 30/4/2020 move past 1/5 and the weekend",
       CivilMinute(2020, 4, 27, 10, 0), 3, kCalendarDays,
       CivilMinute(2020, 5, 4, 17, 0)},
      {"calendar days count weekends inside the span",
       CivilMinute(2020, 3, 10, 10, 0), 7, kCalendarDays,
       CivilMinute(2020, 3, 17, 17, 0)},
      {"calendar days after the cut-off on Friday start Monday",
       CivilMinute(2020, 3, 13, 16, 0), 2, kCalendarDays,
       CivilMinute(2020, 3, 18, 17, 0)},
  };
  for (const DueCase& c : cases) {
    SCOPED_TRACE(c.what);
    absl::StatusOr<absl::Time> due =
        ComputeDueTime(Deadline(c.amount, c.unit), At(c.received), cal_);
    ASSERT_TRUE(due.ok()) << due.status();
    EXPECT_EQ(Local(*due), c.want);
  }
}

TEST_F(DeadlineTest, DueTimeIsInTheCalendarZone) {
  absl::StatusOr<absl::Time> due = ComputeDueTime(
      Deadline(3, kWorkingDays), At(CivilMinute(2020, 1, 22, 10, 0)), cal_);
  ASSERT_TRUE(due.ok()) << due.status();
  // Mon 3/2/2020 17:00 in UTC+7 is 10:00 UTC.
  EXPECT_EQ(*due, absl::FromCivil(absl::CivilSecond(2020, 2, 3, 10, 0, 0),
                                  absl::UTCTimeZone()));
}

TEST_F(DeadlineTest, ComputeDueTimeRejectsBadDeadlines) {
  const struct {
    onestop::v1::LegalDeadline deadline;
    const char* message;
  } cases[] = {
      {Deadline(-1, kWorkingDays), "legal deadline amount -1 is negative"},
      {Deadline(5, onestop::v1::DEADLINE_UNIT_UNSPECIFIED),
       "legal deadline unit DEADLINE_UNIT_UNSPECIFIED is not a known unit (want "
       "WORKING_DAYS, CALENDAR_DAYS or WORKING_HOURS)"},
      {Deadline(2000000000, kWorkingDays),
       "legal deadline of 2000000000 working days exceeds the maximum of 3650"},
      {Deadline(3651, kCalendarDays),
       "legal deadline of 3651 calendar days exceeds the maximum of 3650"},
      {Deadline(87601, kWorkingHours),
       "legal deadline of 87601 working hours exceeds the maximum of 87600"},
  };
  for (const auto& c : cases) {
    absl::StatusOr<absl::Time> due =
        ComputeDueTime(c.deadline, At(CivilMinute(2020, 3, 10, 10, 0)), cal_);
    EXPECT_EQ(due.status().code(), absl::StatusCode::kInvalidArgument) << c.message;
    EXPECT_EQ(due.status().message(), c.message);
  }
}

struct BetweenCase {
  const char* what;
  CivilMinute start;
  CivilMinute end;
  int64_t want;
};

TEST_F(DeadlineTest, WorkingMinutesBetween) {
  const BetweenCase cases[] = {
      {"inside one session", CivilMinute(2020, 3, 10, 10, 0),
       CivilMinute(2020, 3, 10, 11, 0), 60},
      {"over lunch", CivilMinute(2020, 3, 10, 11, 0), CivilMinute(2020, 3, 10, 14, 0),
       60},
      {"empty", CivilMinute(2020, 3, 10, 10, 0), CivilMinute(2020, 3, 10, 10, 0), 0},
      {"backwards", CivilMinute(2020, 3, 10, 11, 0), CivilMinute(2020, 3, 10, 10, 0),
       0},
      {"overnight", CivilMinute(2020, 3, 10, 16, 0), CivilMinute(2020, 3, 11, 8, 0),
       120},
      {"over a weekend", CivilMinute(2020, 3, 13, 16, 0),
       CivilMinute(2020, 3, 16, 8, 0), 120},
      {"a whole ordinary week", CivilMinute(2020, 3, 9, 0, 0),
       CivilMinute(2020, 3, 16, 0, 0), 5 * 480},
      {"a pause spanning Tết 2020 counts working minutes only",
       CivilMinute(2020, 1, 22, 16, 0), CivilMinute(2020, 1, 30, 8, 0), 120},
      {"only lunch and evening", CivilMinute(2020, 3, 10, 11, 30),
       CivilMinute(2020, 3, 10, 13, 30), 0},
      {"a worked Saturday counts", CivilMinute(2019, 5, 4, 0, 0),
       CivilMinute(2019, 5, 5, 0, 0), 480},
  };
  for (const BetweenCase& c : cases) {
    SCOPED_TRACE(c.what);
    EXPECT_EQ(WorkingMinutesBetween(At(c.start), At(c.end), cal_), c.want);
  }
}

struct AddMinutesCase {
  const char* what;
  CivilMinute from;
  int64_t minutes;
  CivilMinute want;
};

TEST_F(DeadlineTest, AddWorkingMinutes) {
  const AddMinutesCase cases[] = {
      {"zero minutes outside working time change nothing",
       CivilMinute(2020, 3, 13, 17, 0), 0, CivilMinute(2020, 3, 13, 17, 0)},
      {"to the end of the morning, not the afternoon start",
       CivilMinute(2020, 3, 10, 7, 0), 270, CivilMinute(2020, 3, 10, 11, 30)},
      {"from a session's end the next session follows",
       CivilMinute(2020, 3, 10, 11, 30), 30, CivilMinute(2020, 3, 10, 14, 0)},
      {"a full day from Friday's close is Monday's close",
       CivilMinute(2020, 3, 13, 17, 0), 480, CivilMinute(2020, 3, 16, 17, 0)},
      {"from Saturday", CivilMinute(2020, 3, 14, 10, 0), 60,
       CivilMinute(2020, 3, 16, 8, 0)},
      {"many days at once", CivilMinute(2020, 3, 16, 7, 0), 10 * 480 + 1,
       CivilMinute(2020, 3, 30, 7, 1)},
      {"across Tết 2020", CivilMinute(2020, 1, 22, 17, 0), 60,
       CivilMinute(2020, 1, 30, 8, 0)},
  };
  for (const AddMinutesCase& c : cases) {
    SCOPED_TRACE(c.what);
    EXPECT_EQ(Local(AddWorkingMinutes(At(c.from), c.minutes, cal_)), c.want);
  }
}

onestop::v1::ClockPause Pause(absl::Time start, std::optional<absl::Time> end) {
  onestop::v1::ClockPause p;
  *p.mutable_start_time() = Proto(start);
  if (end.has_value()) *p.mutable_end_time() = Proto(*end);
  p.set_reason(onestop::v1::ACTION_KIND_REQUEST_SUPPLEMENT);
  return p;
}

TEST_F(DeadlineTest, EffectiveDueTime) {
  const absl::Time original = At(CivilMinute(2020, 2, 3, 17, 0));
  const absl::Time now = At(CivilMinute(2020, 3, 10, 11, 0));
  struct Case {
    const char* what;
    std::vector<onestop::v1::ClockPause> pauses;
    CivilMinute want;
  };
  onestop::v1::ClockPause no_start;
  *no_start.mutable_end_time() = Proto(At(CivilMinute(2020, 1, 30, 9, 0)));
  const Case cases[] = {
      {"no pause", {}, CivilMinute(2020, 2, 3, 17, 0)},
      {"a pause spanning Tết: only its 120 working minutes count",
       {Pause(At(CivilMinute(2020, 1, 22, 16, 0)), At(CivilMinute(2020, 1, 30, 8, 0)))},
       CivilMinute(2020, 2, 4, 9, 0)},
      {"a zero-length pause",
       {Pause(At(CivilMinute(2020, 1, 30, 9, 0)), At(CivilMinute(2020, 1, 30, 9, 0)))},
       CivilMinute(2020, 2, 3, 17, 0)},
      {"two pauses add up",
       {Pause(At(CivilMinute(2020, 1, 30, 9, 0)), At(CivilMinute(2020, 1, 30, 9, 30))),
        Pause(At(CivilMinute(2020, 1, 31, 16, 30)), At(CivilMinute(2020, 1, 31, 18, 0)))},
       CivilMinute(2020, 2, 4, 8, 0)},
      {"an open pause runs to now, over a weekend",
       {Pause(At(CivilMinute(2020, 3, 6, 10, 30)), std::nullopt)},
       // Fri 6/3 10:30–17:00 = 270, Mon 9/3 = 480, Tue 10/3 07:00–11:00 =
       // 240: 990 minutes, two working days and 30 minutes.
       CivilMinute(2020, 2, 6, 7, 30)},
      {"a pause without a start is ignored", {no_start}, CivilMinute(2020, 2, 3, 17, 0)},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    google::protobuf::RepeatedPtrField<onestop::v1::ClockPause> pauses;
    for (const auto& p : c.pauses) *pauses.Add() = p;
    EXPECT_EQ(Local(EffectiveDueTime(original, pauses, now, cal_)), c.want);
  }
}

struct TimelinessCase {
  const char* what;
  DossierStatus status;
  std::optional<CivilMinute> finished;
  std::optional<CivilMinute> returned;
  std::optional<CivilMinute> closed;
  CivilMinute now;
  TimelinessOptions options;
  Timeliness want;
};

TEST_F(DeadlineTest, ClassifyTimeliness) {
  using onestop::v1::DOSSIER_STATUS_FINANCIAL_OBLIGATION;
  using onestop::v1::DOSSIER_STATUS_NEW;
  using onestop::v1::DOSSIER_STATUS_PROCESSING;
  using onestop::v1::DOSSIER_STATUS_RECEIVED;
  using onestop::v1::DOSSIER_STATUS_REFUSED;
  using onestop::v1::DOSSIER_STATUS_RESULT_READY;
  using onestop::v1::DOSSIER_STATUS_RETURNED;
  using onestop::v1::DOSSIER_STATUS_STOPPED;
  using onestop::v1::DOSSIER_STATUS_SUPPLEMENT_REQUESTED;
  using onestop::v1::DOSSIER_STATUS_WITHDRAWN;
  const std::nullopt_t none = std::nullopt;
  const TimelinessOptions defaults;
  const TimelinessOptions withdrawn_by_date{.due_soon_working_days = 1,
                                            .withdrawn_counts_on_time = false};
  const TimelinessOptions no_warning{.due_soon_working_days = 0,
                                     .withdrawn_counts_on_time = true};
  const CivilMinute later(2020, 4, 1, 9, 0);
  // Every dossier is due Tue 10/3/2020 17:00.
  const TimelinessCase cases[] = {
      {"finished the day before", DOSSIER_STATUS_RESULT_READY,
       CivilMinute(2020, 3, 9, 10, 0), none, none, later, defaults,
       onestop::v1::TIMELINESS_EARLY},
      {"finished on the due date", DOSSIER_STATUS_RESULT_READY,
       CivilMinute(2020, 3, 10, 16, 0), none, none, later, defaults,
       onestop::v1::TIMELINESS_ON_TIME},
      {"finished 23:00 on the due date", DOSSIER_STATUS_RESULT_READY,
       CivilMinute(2020, 3, 10, 23, 0), none, none, later, defaults,
       onestop::v1::TIMELINESS_ON_TIME},
      {"finished the day after", DOSSIER_STATUS_RESULT_READY,
       CivilMinute(2020, 3, 11, 7, 30), none, none, later, defaults,
       onestop::v1::TIMELINESS_LATE},
      {"returned late, result ready early: finished_time decides",
       DOSSIER_STATUS_RETURNED, CivilMinute(2020, 3, 9, 10, 0),
       CivilMinute(2020, 3, 12, 9, 0), none, later, defaults,
       onestop::v1::TIMELINESS_EARLY},
      {"returned without finished_time: returned_time decides",
       DOSSIER_STATUS_RETURNED, none, CivilMinute(2020, 3, 11, 9, 0), none, later,
       defaults, onestop::v1::TIMELINESS_LATE},
      {"stopped after the due date", DOSSIER_STATUS_STOPPED, none, none,
       CivilMinute(2020, 3, 11, 9, 0), later, defaults, onestop::v1::TIMELINESS_LATE},
      {"withdrawn late, counted on time by policy", DOSSIER_STATUS_WITHDRAWN, none,
       none, CivilMinute(2020, 3, 11, 9, 0), later, defaults,
       onestop::v1::TIMELINESS_ON_TIME},
      {"withdrawn late, classified by date", DOSSIER_STATUS_WITHDRAWN, none, none,
       CivilMinute(2020, 3, 11, 9, 0), later, withdrawn_by_date,
       onestop::v1::TIMELINESS_LATE},
      {"withdrawn early, classified by date", DOSSIER_STATUS_WITHDRAWN, none, none,
       CivilMinute(2020, 3, 9, 9, 0), later, withdrawn_by_date,
       onestop::v1::TIMELINESS_EARLY},
      {"refused", DOSSIER_STATUS_REFUSED, none, none, CivilMinute(2020, 3, 9, 9, 0),
       later, defaults, onestop::v1::TIMELINESS_UNSPECIFIED},
      {"open, the day after the due date", DOSSIER_STATUS_PROCESSING, none, none, none,
       CivilMinute(2020, 3, 11, 0, 30), defaults, onestop::v1::TIMELINESS_OVERDUE},
      {"open, due today (late evening)", DOSSIER_STATUS_PROCESSING, none, none, none,
       CivilMinute(2020, 3, 10, 22, 0), defaults, onestop::v1::TIMELINESS_DUE_SOON},
      {"open, due the next working day", DOSSIER_STATUS_RECEIVED, none, none, none,
       CivilMinute(2020, 3, 9, 10, 0), defaults, onestop::v1::TIMELINESS_DUE_SOON},
      {"open, due the next working day, no warning window", DOSSIER_STATUS_RECEIVED,
       none, none, none, CivilMinute(2020, 3, 9, 10, 0), no_warning,
       onestop::v1::TIMELINESS_WITHIN_DEADLINE},
      {"open, due today, no warning window", DOSSIER_STATUS_RECEIVED, none, none, none,
       CivilMinute(2020, 3, 10, 8, 0), no_warning, onestop::v1::TIMELINESS_DUE_SOON},
      {"open, two working days ahead", DOSSIER_STATUS_SUPPLEMENT_REQUESTED, none, none,
       none, CivilMinute(2020, 3, 6, 10, 0), defaults,
       onestop::v1::TIMELINESS_WITHIN_DEADLINE},
      {"open, on Saturday Tuesday is one working day ahead",
       DOSSIER_STATUS_FINANCIAL_OBLIGATION, none, none, none,
       CivilMinute(2020, 3, 7, 10, 0), defaults, onestop::v1::TIMELINESS_DUE_SOON},
  };
  for (const TimelinessCase& c : cases) {
    SCOPED_TRACE(c.what);
    onestop::v1::Dossier d;
    d.set_status(c.status);
    *d.mutable_received_time() = Proto(At(CivilMinute(2020, 3, 2, 9, 0)));
    *d.mutable_due_time() = Proto(At(CivilMinute(2020, 3, 10, 17, 0)));
    // The apology appointment never decides timeliness.
    *d.mutable_rescheduled_due_time() = Proto(At(CivilMinute(2020, 3, 31, 17, 0)));
    if (c.finished) *d.mutable_finished_time() = Proto(At(*c.finished));
    if (c.returned) *d.mutable_returned_time() = Proto(At(*c.returned));
    if (c.closed) *d.mutable_closed_time() = Proto(At(*c.closed));
    EXPECT_EQ(ClassifyTimeliness(d, At(c.now), cal_, c.options), c.want);
  }
}

TEST_F(DeadlineTest, NoDueTimeIsUnspecified) {
  for (DossierStatus s :
       {onestop::v1::DOSSIER_STATUS_NEW, onestop::v1::DOSSIER_STATUS_RECEIVED,
        onestop::v1::DOSSIER_STATUS_RESULT_READY}) {
    onestop::v1::Dossier d;
    d.set_status(s);
    *d.mutable_finished_time() = Proto(At(CivilMinute(2020, 3, 9, 10, 0)));
    EXPECT_EQ(ClassifyTimeliness(d, At(CivilMinute(2020, 3, 9, 10, 0)), cal_),
              onestop::v1::TIMELINESS_UNSPECIFIED)
        << onestop::v1::DossierStatus_Name(s);
  }
}

TEST_F(DeadlineTest, StartOfLocalDayIsLocalMidnight) {
  const absl::Time t = At(CivilMinute(2020, 3, 10, 16, 0));
  EXPECT_EQ(StartOfLocalDay(t, cal_), At(CivilMinute(2020, 3, 10, 0, 0)));
  // Local midnight is 17:00 UTC the day before.
  EXPECT_EQ(StartOfLocalDay(t, cal_),
            absl::FromCivil(absl::CivilSecond(2020, 3, 9, 17, 0, 0),
                            absl::UTCTimeZone()));
  // 06:30 local is still 23:30 UTC the day before, yet the local day counts.
  EXPECT_EQ(StartOfLocalDay(At(CivilMinute(2020, 3, 10, 6, 30)), cal_),
            At(CivilMinute(2020, 3, 10, 0, 0)));
}

// Properties over 2018-06 … 2027-06, seeded so failures reproduce.
class DeadlinePropertyTest : public DeadlineTest {
 protected:
  absl::Time RandomInstant() {
    const int64_t lo = absl::ToUnixSeconds(At(CivilMinute(2018, 6, 1, 0, 0)));
    const int64_t hi = absl::ToUnixSeconds(At(CivilMinute(2027, 6, 30, 0, 0)));
    return absl::FromUnixSeconds(std::uniform_int_distribution<int64_t>(lo, hi)(rng_));
  }
  int Uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }

  std::mt19937 rng_{20260214};
};

TEST_F(DeadlinePropertyTest, DueTimeNeverLandsOnADayOff) {
  const onestop::v1::DeadlineUnit units[] = {kWorkingDays, kCalendarDays,
                                             kWorkingHours};
  for (int i = 0; i < 3000; ++i) {
    const absl::Time received = RandomInstant();
    const onestop::v1::DeadlineUnit unit = units[Uniform(0, 2)];
    const int amount = unit == kWorkingHours ? Uniform(0, 120) : Uniform(0, 60);
    absl::StatusOr<absl::Time> due =
        ComputeDueTime(Deadline(amount, unit), received, cal_);
    ASSERT_TRUE(due.ok()) << due.status();
    const CivilMinute local = Local(*due);
    ASSERT_TRUE(cal_.IsWorkingDay(absl::CivilDay(local)))
        << "received " << Local(received) << " + " << amount << " "
        << onestop::v1::DeadlineUnit_Name(unit) << " → " << local;
    ASSERT_GE(*due, received - absl::Seconds(59));
    if (unit != kWorkingHours) {
      ASSERT_EQ(local.hour() * 60 + local.minute(), cal_.close_minute()) << local;
    }
  }
}

TEST_F(DeadlinePropertyTest, ZeroLengthPauseChangesNothing) {
  for (int i = 0; i < 3000; ++i) {
    const absl::Time due = RandomInstant();
    const absl::Time at = RandomInstant();
    google::protobuf::RepeatedPtrField<onestop::v1::ClockPause> pauses;
    *pauses.Add() = Pause(at, at);
    ASSERT_EQ(EffectiveDueTime(due, pauses, RandomInstant(), cal_), due)
        << Local(due) << " paused at " << Local(at);
  }
}

TEST_F(DeadlinePropertyTest, AddWorkingMinutesRoundTrips) {
  for (int i = 0; i < 3000; ++i) {
    // Minute-aligned, because WorkingMinutesBetween rounds down.
    const absl::Time from = At(Local(RandomInstant()));
    const int64_t minutes = Uniform(0, 20 * 480);
    const absl::Time to = AddWorkingMinutes(from, minutes, cal_);
    ASSERT_EQ(WorkingMinutesBetween(from, to, cal_), minutes)
        << Local(from) << " + " << minutes << " → " << Local(to);
    // The other way: for an end strictly after a session start, adding the
    // minutes worked since `from` lands on that end again.
    const absl::Time end = At(Local(RandomInstant()));
    const int64_t worked = WorkingMinutesBetween(from, end, cal_);
    const CivilMinute local_end = Local(end);
    const int minute_of_day = local_end.hour() * 60 + local_end.minute();
    bool inside = false;
    for (const WorkingSession& s : cal_.sessions()) {
      inside |= s.start_minute < minute_of_day && minute_of_day <= s.end_minute;
    }
    if (worked > 0 && inside && cal_.IsWorkingDay(absl::CivilDay(local_end))) {
      ASSERT_EQ(AddWorkingMinutes(from, worked, cal_), end)
          << Local(from) << " → " << local_end << " (" << worked << " min)";
    }
  }
}

}  // namespace
}  // namespace onestop::core
