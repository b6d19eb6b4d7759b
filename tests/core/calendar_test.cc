// The working calendar as an executable specification: every expected date
// below was worked out by hand from the published calendars (DOMAIN.md §5.4).
#include "server/core/calendar.h"

#include <google/protobuf/text_format.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/civil_time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace onestop::core {
namespace {

using absl::CivilDay;

// Civil-service calendars as announced (subset of years; the gap years
// 2022, 2024, 2025 fall back to weekdays).
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
    # Announced for 2019, so listed here although its day off is in 2018.
    swapped_days { day_off: "2018-12-31" worked_on: "2019-01-05" name: "Tết Dương lịch 2019" }
    swapped_days { day_off: "2019-04-29" worked_on: "2019-05-04" name: "30/4–1/5" }
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

absl::StatusOr<WorkingCalendar> Build(const std::string& text) {
  onestop::config::v1::Calendar config;
  if (!google::protobuf::TextFormat::ParseFromString(text, &config)) {
    return absl::InternalError("test bug: calendar text does not parse");
  }
  return WorkingCalendar::FromConfig(config);
}

class VietnamCalendarTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<WorkingCalendar> cal = Build(kVietnam);
    ASSERT_TRUE(cal.ok()) << cal.status();
    cal_ = *std::move(cal);
  }
  WorkingCalendar cal_ = WorkingCalendar::Default();
};

struct AddCase {
  const char* what;
  CivilDay from;
  int n;
  CivilDay want;
};

TEST_F(VietnamCalendarTest, AddWorkingDays) {
  const AddCase cases[] = {
      {"Friday + 1 = Monday", CivilDay(2020, 3, 13), 1, CivilDay(2020, 3, 16)},
      {"n == 0 on a working day is that day", CivilDay(2020, 3, 13), 0,
       CivilDay(2020, 3, 13)},
      {"n == 0 on Saturday is Monday", CivilDay(2020, 3, 14), 0,
       CivilDay(2020, 3, 16)},
      {"Sunday + 1 = Tuesday", CivilDay(2020, 3, 15), 1, CivilDay(2020, 3, 17)},
      {"Thursday + 5 crosses a weekend", CivilDay(2020, 3, 12), 5,
       CivilDay(2020, 3, 19)},
      {"year end: 1/1/2021 holiday then weekend", CivilDay(2020, 12, 31), 1,
       CivilDay(2021, 1, 4)},
      {"Tết 2020: day before the break + 1", CivilDay(2020, 1, 22), 1,
       CivilDay(2020, 1, 30)},
      {"Tết 2020: Wed 22/1 + 3 = Mon 3/2", CivilDay(2020, 1, 22), 3,
       CivilDay(2020, 2, 3)},
      {"n == 0 inside Tết 2020", CivilDay(2020, 1, 27), 0, CivilDay(2020, 1, 30)},
      {"Tết 2026: 9 days off Sat 14/2 – Sun 22/2", CivilDay(2026, 2, 13), 1,
       CivilDay(2026, 2, 23)},
      {"2023: Giỗ Tổ on Saturday, compensatory 2/5 and 3/5",
       CivilDay(2023, 4, 28), 1, CivilDay(2023, 5, 4)},
      {"2023: New Year on Sunday, compensatory Mon 2/1", CivilDay(2022, 12, 30), 1,
       CivilDay(2023, 1, 3)},
      {"2023: National Day Fri 1/9 + Sat 2/9, compensatory Mon 4/9",
       CivilDay(2023, 8, 31), 1, CivilDay(2023, 9, 5)},
      {"2021: Labour Day on Saturday, compensatory Mon 3/5", CivilDay(2021, 4, 29),
       1, CivilDay(2021, 5, 4)},
      {"2019: Giỗ Tổ on Sunday 14/4, compensatory Mon 15/4",
       CivilDay(2019, 4, 12), 1, CivilDay(2019, 4, 16)},
      {"2019 swap: Mon 31/12/2018 off, then 1/1 holiday", CivilDay(2018, 12, 28),
       1, CivilDay(2019, 1, 2)},
      {"2019 swap: Saturday 5/1 is worked", CivilDay(2019, 1, 4), 1,
       CivilDay(2019, 1, 5)},
      {"2019 swap: Mon 29/4 off, then 30/4 and 1/5", CivilDay(2019, 4, 26), 1,
       CivilDay(2019, 5, 2)},
      {"2019 swap: Saturday 4/5 is worked", CivilDay(2019, 5, 3), 1,
       CivilDay(2019, 5, 4)},
      {"2019 swap: Sat 4/5 + 1 = Mon 6/5", CivilDay(2019, 5, 4), 1,
       CivilDay(2019, 5, 6)},
      {"gap year 2022 falls back to weekdays", CivilDay(2022, 9, 1), 1,
       CivilDay(2022, 9, 2)},
  };
  for (const AddCase& c : cases) {
    SCOPED_TRACE(c.what);
    EXPECT_EQ(cal_.AddWorkingDays(c.from, c.n), c.want);
    if (cal_.IsWorkingDay(c.from)) {
      EXPECT_EQ(cal_.WorkingDaysBetween(c.from, c.want), c.n);
    }
  }
}

struct BetweenCase {
  const char* what;
  CivilDay from;
  CivilDay to;
  int want;
};

TEST_F(VietnamCalendarTest, WorkingDaysBetween) {
  const BetweenCase cases[] = {
      {"same day", CivilDay(2020, 3, 13), CivilDay(2020, 3, 13), 0},
      {"backwards", CivilDay(2020, 3, 16), CivilDay(2020, 3, 13), 0},
      {"Friday to Monday", CivilDay(2020, 3, 13), CivilDay(2020, 3, 16), 1},
      {"Saturday to Sunday", CivilDay(2020, 3, 14), CivilDay(2020, 3, 15), 0},
      {"across Tết 2020", CivilDay(2020, 1, 22), CivilDay(2020, 2, 3), 3},
      // 262 weekdays minus 10 holidays on weekdays.
      {"all of 2020", CivilDay(2019, 12, 31), CivilDay(2020, 12, 31), 252},
      // 260 weekdays minus 11 weekdays off (Labour Code 2019: all 11 days
      // off, four of them compensatory).
      {"all of 2023", CivilDay(2022, 12, 31), CivilDay(2023, 12, 31), 249},
      // 261 weekdays minus 10 holidays on weekdays: 1/1, five of Tết, the
      // compensatory 15/4, 30/4, 1/5, 2/9; plus worked 5/1 and 4/5, minus
      // the swapped-off 29/4 (31/12/2018 lies before the range).
      {"all of 2019", CivilDay(2018, 12, 31), CivilDay(2019, 12, 31), 252},
  };
  for (const BetweenCase& c : cases) {
    SCOPED_TRACE(c.what);
    EXPECT_EQ(cal_.WorkingDaysBetween(c.from, c.to), c.want);
  }
}

struct ClassifyCase {
  CivilDay day;
  DayKind kind;
  const char* name;
};

TEST_F(VietnamCalendarTest, ClassifyNamesEveryKindOfDay) {
  const ClassifyCase cases[] = {
      {CivilDay(2023, 4, 28), DayKind::kWorkingDay, ""},
      {CivilDay(2023, 4, 29), DayKind::kHoliday, "Giỗ Tổ Hùng Vương"},
      {CivilDay(2023, 4, 30), DayKind::kHoliday, "Ngày Chiến thắng"},
      {CivilDay(2023, 5, 1), DayKind::kHoliday, "Quốc tế Lao động"},
      {CivilDay(2023, 5, 2), DayKind::kCompensatoryDay,
       "Nghỉ bù Giỗ Tổ Hùng Vương"},
      {CivilDay(2023, 5, 3), DayKind::kCompensatoryDay, "Nghỉ bù Ngày Chiến thắng"},
      {CivilDay(2023, 5, 4), DayKind::kWorkingDay, ""},
      {CivilDay(2023, 5, 6), DayKind::kRestDay, ""},
      {CivilDay(2023, 1, 2), DayKind::kCompensatoryDay, "Nghỉ bù Tết Dương lịch"},
      {CivilDay(2018, 12, 31), DayKind::kSwappedDayOff, "Tết Dương lịch 2019"},
      {CivilDay(2019, 1, 5), DayKind::kSwappedWorkDay, "Tết Dương lịch 2019"},
      {CivilDay(2019, 4, 29), DayKind::kSwappedDayOff, "30/4–1/5"},
      {CivilDay(2019, 5, 4), DayKind::kSwappedWorkDay, "30/4–1/5"},
      {CivilDay(2026, 2, 14), DayKind::kRestDay, ""},
      {CivilDay(2026, 2, 16), DayKind::kHoliday, "Tết Nguyên đán"},
      // Outside the configured years: by weekday alone.
      {CivilDay(2030, 1, 1), DayKind::kWorkingDay, ""},
      {CivilDay(2030, 9, 1), DayKind::kRestDay, ""},
  };
  for (const ClassifyCase& c : cases) {
    SCOPED_TRACE(absl::FormatCivilTime(c.day));
    const CalendarDay got = cal_.Classify(c.day);
    EXPECT_EQ(got.day, c.day);
    EXPECT_EQ(got.kind, c.kind);
    EXPECT_EQ(got.name, c.name);
    const bool working =
        c.kind == DayKind::kWorkingDay || c.kind == DayKind::kSwappedWorkDay;
    EXPECT_EQ(cal_.IsWorkingDay(c.day), working);
  }
  EXPECT_EQ(cal_.first_year(), 2019);
  EXPECT_EQ(cal_.last_year(), 2026);
}

TEST_F(VietnamCalendarTest, SpecialDaysListsTheBreakInOrder) {
  const std::vector<CalendarDay> got =
      cal_.SpecialDays(CivilDay(2023, 4, 28), CivilDay(2023, 5, 7));
  const std::vector<std::pair<CivilDay, DayKind>> want = {
      {CivilDay(2023, 4, 29), DayKind::kHoliday},
      {CivilDay(2023, 4, 30), DayKind::kHoliday},
      {CivilDay(2023, 5, 1), DayKind::kHoliday},
      {CivilDay(2023, 5, 2), DayKind::kCompensatoryDay},
      {CivilDay(2023, 5, 3), DayKind::kCompensatoryDay},
  };
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(got[i].day, want[i].first) << i;
    EXPECT_EQ(got[i].kind, want[i].second) << i;
  }
  // Both ends are inclusive.
  EXPECT_EQ(cal_.SpecialDays(CivilDay(2023, 5, 3), CivilDay(2023, 5, 3)).size(), 1u);
  EXPECT_TRUE(cal_.SpecialDays(CivilDay(2023, 5, 4), CivilDay(2023, 8, 31)).empty());
}

TEST_F(VietnamCalendarTest, NextWorkingDay) {
  EXPECT_EQ(cal_.NextWorkingDay(CivilDay(2020, 3, 12)), CivilDay(2020, 3, 13));
  EXPECT_EQ(cal_.NextWorkingDay(CivilDay(2020, 3, 13)), CivilDay(2020, 3, 16));
  EXPECT_EQ(cal_.NextWorkingDay(CivilDay(2026, 2, 13)), CivilDay(2026, 2, 23));
  EXPECT_EQ(cal_.NextWorkingDay(CivilDay(2019, 5, 3)), CivilDay(2019, 5, 4));
}

TEST(WorkingCalendarDefaultTest, HasTheStatutoryShape) {
  const WorkingCalendar cal = WorkingCalendar::Default();
  EXPECT_EQ(cal.zone().name(), "Asia/Ho_Chi_Minh");
  ASSERT_EQ(cal.sessions().size(), 2u);
  EXPECT_EQ(cal.sessions()[0].start_minute, 7 * 60);
  EXPECT_EQ(cal.sessions()[0].end_minute, 11 * 60 + 30);
  EXPECT_EQ(cal.sessions()[1].start_minute, 13 * 60 + 30);
  EXPECT_EQ(cal.sessions()[1].end_minute, 17 * 60);
  EXPECT_EQ(cal.close_minute(), 17 * 60);
  EXPECT_EQ(cal.cutoff_minute(), 15 * 60);
  EXPECT_EQ(cal.minutes_per_working_day(), 480);
  // No holidays: New Year's Day 2020 (a Wednesday) is an ordinary day.
  EXPECT_EQ(cal.Classify(CivilDay(2020, 1, 1)).kind, DayKind::kWorkingDay);
  EXPECT_EQ(cal.Classify(CivilDay(2020, 1, 4)).kind, DayKind::kRestDay);
  EXPECT_EQ(cal.AddWorkingDays(CivilDay(2020, 1, 3), 1), CivilDay(2020, 1, 6));
  // UTC+7: 17:00 local is 10:00 UTC.
  EXPECT_EQ(cal.FromLocal(absl::CivilMinute(2020, 2, 3, 17, 0)),
            absl::FromCivil(absl::CivilSecond(2020, 2, 3, 10, 0, 0),
                            absl::UTCTimeZone()));
}

TEST(WorkingCalendarConfigTest, CustomWeekSessionsAndCutoff) {
  absl::StatusOr<WorkingCalendar> cal = Build(R"pb(
    time_zone: "Asia/Bangkok"
    weekly_rest_days: 7
    sessions { start: "07:30" end: "11:30" }
    sessions { start: "13:00" end: "16:30" }
    cutoff: "16:00"
    years {
      year: 2020
      holidays { date: "2020-03-15" name: "Test Sunday" }
    }
  )pb");
  ASSERT_TRUE(cal.ok()) << cal.status();
  EXPECT_EQ(cal->zone().name(), "Asia/Bangkok");
  EXPECT_EQ(cal->minutes_per_working_day(), 450);
  EXPECT_EQ(cal->close_minute(), 16 * 60 + 30);
  EXPECT_EQ(cal->cutoff_minute(), 16 * 60);
  // Saturday works when only Sunday rests.
  EXPECT_EQ(cal->AddWorkingDays(CivilDay(2020, 3, 13), 1), CivilDay(2020, 3, 14));
  // A holiday on the (only) rest day gives Monday off.
  EXPECT_EQ(cal->Classify(CivilDay(2020, 3, 16)).kind, DayKind::kCompensatoryDay);
  EXPECT_EQ(cal->AddWorkingDays(CivilDay(2020, 3, 14), 1), CivilDay(2020, 3, 17));
}

TEST(WorkingCalendarConfigTest, CompensatoryDaySkipsSwappedDays) {
  // Holiday on Saturday 11/5; Friday 10/5 swapped for Sunday 12/5. The
  // compensatory day must be an ordinary weekday: neither the worked Sunday
  // nor an already-free day, so Monday 13/5.
  absl::StatusOr<WorkingCalendar> cal = Build(R"pb(
    years {
      year: 2019
      holidays { date: "2019-05-11" name: "Ngày thử" }
      swapped_days { day_off: "2019-05-10" worked_on: "2019-05-12" }
    }
  )pb");
  ASSERT_TRUE(cal.ok()) << cal.status();
  EXPECT_EQ(cal->Classify(CivilDay(2019, 5, 12)).kind, DayKind::kSwappedWorkDay);
  const CalendarDay monday = cal->Classify(CivilDay(2019, 5, 13));
  EXPECT_EQ(monday.kind, DayKind::kCompensatoryDay);
  EXPECT_EQ(monday.name, "Nghỉ bù Ngày thử");
  EXPECT_EQ(cal->AddWorkingDays(CivilDay(2019, 5, 9), 1), CivilDay(2019, 5, 12));
  EXPECT_EQ(cal->AddWorkingDays(CivilDay(2019, 5, 12), 1), CivilDay(2019, 5, 14));
}

TEST(WorkingCalendarConfigTest, CompensatoryDayCrossesNewYear) {
  // A holiday on Sunday 31/12 (made up) gives the first ordinary working
  // day of the next year, skipping that year's New Year holiday.
  absl::StatusOr<WorkingCalendar> cal = Build(R"pb(
    years {
      year: 2017
      holidays { date: "2017-12-31" name: "Cuối năm" }
    }
    years {
      year: 2018
      holidays { date: "2018-01-01" name: "Tết Dương lịch" }
    }
  )pb");
  ASSERT_TRUE(cal.ok()) << cal.status();
  EXPECT_EQ(cal->Classify(CivilDay(2018, 1, 2)).kind, DayKind::kCompensatoryDay);
  EXPECT_EQ(cal->Classify(CivilDay(2018, 1, 2)).name, "Nghỉ bù Cuối năm");
}

TEST(ParseTest, TimeOfDay) {
  const std::pair<const char*, int> good[] = {
      {"00:00", 0}, {"07:00", 420}, {"11:30", 690}, {"23:59", 1439}};
  for (const auto& [text, want] : good) {
    absl::StatusOr<int> got = ParseTimeOfDay(text);
    ASSERT_TRUE(got.ok()) << text << ": " << got.status();
    EXPECT_EQ(*got, want) << text;
  }
  const char* bad[] = {"", "7:00", "07:0", "24:00", "12:60", "07-00", "07:00 ", "ab:cd"};
  for (const char* text : bad) {
    absl::StatusOr<int> got = ParseTimeOfDay(text);
    EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_THAT(std::string(got.status().message()),
                ::testing::HasSubstr(std::string("\"") + text + "\""));
  }
}

TEST(ParseTest, IsoDay) {
  absl::StatusOr<CivilDay> leap = ParseIsoDay("2020-02-29");
  ASSERT_TRUE(leap.ok()) << leap.status();
  EXPECT_EQ(*leap, CivilDay(2020, 2, 29));
  const char* bad[] = {"2020-02-30", "2019-02-29", "2020-13-01", "2020-00-10",
                       "2020-1-1",   "20200101",   "2020/01/01", "",
                       "2020-01-01x"};
  for (const char* text : bad) {
    EXPECT_EQ(ParseIsoDay(text).status().code(), absl::StatusCode::kInvalidArgument)
        << text;
  }
}

struct BadConfigCase {
  const char* what;
  const char* text;
  const char* message;
};

TEST(WorkingCalendarConfigTest, RejectsBadDataNamingTheEntry) {
  const BadConfigCase cases[] = {
      {"overlapping swap: day off used twice",
       R"pb(years {
              year: 2019
              swapped_days { day_off: "2019-04-29" worked_on: "2019-05-04" }
              swapped_days { day_off: "2019-04-29" worked_on: "2019-05-11" }
            })pb",
       "calendar year 2019: swapped day \"2019-04-29\" off ↔ \"2019-05-11\" "
       "worked overlaps an earlier swap on 2019-04-29"},
      {"overlapping swap: worked day used twice",
       R"pb(years {
              year: 2019
              swapped_days { day_off: "2019-04-29" worked_on: "2019-05-04" name: "A" }
              swapped_days { day_off: "2019-05-02" worked_on: "2019-05-04" name: "B" }
            })pb",
       "calendar year 2019: swapped day \"2019-05-02\" off ↔ \"2019-05-04\" "
       "worked (B) overlaps an earlier swap on 2019-05-04"},
      {"unknown date",
       R"pb(years {
              year: 2020
              holidays { date: "2020-02-30" name: "Ngày lạ" }
            })pb",
       "calendar year 2020: holiday \"2020-02-30\" (Ngày lạ) is not a valid date "
       "(want YYYY-MM-DD)"},
      {"malformed date",
       R"pb(years {
              year: 2020
              holidays { date: "2020-1-1" name: "Tết Dương lịch" }
            })pb",
       "calendar year 2020: holiday \"2020-1-1\" (Tết Dương lịch) is not a valid "
       "date (want YYYY-MM-DD)"},
      {"holiday outside its year",
       R"pb(years {
              year: 2020
              holidays { date: "2021-01-01" name: "Tết Dương lịch" }
            })pb",
       "calendar year 2020: holiday \"2021-01-01\" (Tết Dương lịch) is outside "
       "the year"},
      {"duplicate holiday",
       R"pb(years {
              year: 2020
              holidays { date: "2020-01-23" name: "Tết Nguyên đán" }
              holidays { date: "2020-01-23" name: "Tết Nguyên đán" }
            })pb",
       "calendar year 2020: holiday \"2020-01-23\" (Tết Nguyên đán) is listed "
       "twice"},
      {"duplicate year", R"pb(years { year: 2020 } years { year: 2020 })pb",
       "calendar year 2020 is listed twice"},
      {"swap day off on a Saturday",
       R"pb(years {
              year: 2019
              swapped_days { day_off: "2019-05-04" worked_on: "2019-05-11" }
            })pb",
       "calendar year 2019: swapped day \"2019-05-04\" off ↔ \"2019-05-11\" "
       "worked: day_off 2019-05-04 is not an ordinary working day (it is a rest "
       "day)"},
      {"swap day off on a holiday",
       R"pb(years {
              year: 2019
              holidays { date: "2019-04-30" name: "Ngày Chiến thắng" }
              swapped_days { day_off: "2019-04-30" worked_on: "2019-05-04" }
            })pb",
       "calendar year 2019: swapped day \"2019-04-30\" off ↔ \"2019-05-04\" "
       "worked: day_off 2019-04-30 is not an ordinary working day (it is a "
       "holiday: Ngày Chiến thắng)"},
      {"swap worked on a weekday",
       R"pb(years {
              year: 2019
              swapped_days { day_off: "2019-04-29" worked_on: "2019-05-06" }
            })pb",
       "calendar year 2019: swapped day \"2019-04-29\" off ↔ \"2019-05-06\" "
       "worked: worked_on 2019-05-06 is not a rest day (it is a working day)"},
      {"swap outside its year",
       R"pb(years {
              year: 2019
              swapped_days { day_off: "2020-04-29" worked_on: "2020-05-09" }
            })pb",
       "calendar year 2019: swapped day \"2020-04-29\" off ↔ \"2020-05-09\" "
       "worked is outside the year"},
      {"swap with a malformed date",
       R"pb(years {
              year: 2019
              swapped_days { day_off: "2019-04-31" worked_on: "2019-05-04" }
            })pb",
       "calendar year 2019: swapped day \"2019-04-31\" off ↔ \"2019-05-04\" "
       "worked: day_off is not a valid date (want YYYY-MM-DD)"},
      {"bad session text", R"pb(sessions { start: "7h" end: "11:30" })pb",
       "calendar: session 1 (\"7h\"–\"11:30\"): start \"7h\" is not a time of "
       "day (want HH:MM)"},
      {"empty session", R"pb(sessions { start: "11:30" end: "11:30" })pb",
       "calendar: session 1 (\"11:30\"–\"11:30\") does not end after it starts"},
      {"overlapping sessions",
       R"pb(sessions { start: "07:00" end: "11:30" }
            sessions { start: "11:00" end: "17:00" })pb",
       "calendar: session 2 (\"11:00\"–\"17:00\") overlaps or precedes session 1; "
       "list sessions in time order without overlap"},
      {"bad cutoff", R"pb(cutoff: "3pm")pb",
       "calendar: cutoff \"3pm\" is not a time of day (want HH:MM)"},
      {"unknown zone", R"pb(time_zone: "Asia/Atlantis")pb",
       "calendar: unknown time_zone \"Asia/Atlantis\""},
      {"rest day out of range", R"pb(weekly_rest_days: 0)pb",
       "calendar: weekly_rest_days value 0 is not an ISO weekday (1 = Monday … "
       "7 = Sunday)"},
      {"rest day twice", R"pb(weekly_rest_days: [ 6, 6 ])pb",
       "calendar: weekly_rest_days lists 6 twice"},
      {"no working day", R"pb(weekly_rest_days: [ 1, 2, 3, 4, 5, 6, 7 ])pb",
       "calendar: weekly_rest_days leaves no working day in the week"},
  };
  for (const BadConfigCase& c : cases) {
    SCOPED_TRACE(c.what);
    absl::StatusOr<WorkingCalendar> cal = Build(c.text);
    EXPECT_EQ(cal.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(cal.status().message(), c.message);
  }
}

// WorkingDaysBetween counts whole weeks arithmetically; check it against
// plain day-by-day counting, and AddWorkingDays against it.
TEST_F(VietnamCalendarTest, PropertyWorkingDaysBetweenInvertsAddWorkingDays) {
  std::mt19937 rng(20200122);
  const CivilDay lo(2018, 6, 1);
  std::uniform_int_distribution<int> offset(0, (CivilDay(2027, 6, 30) - lo));
  std::uniform_int_distribution<int> amount(0, 300);
  for (int i = 0; i < 3000; ++i) {
    const CivilDay d = lo + offset(rng);
    const int n = amount(rng);
    const CivilDay working = cal_.AddWorkingDays(d, 0);
    ASSERT_TRUE(cal_.IsWorkingDay(working)) << working;
    const CivilDay end = cal_.AddWorkingDays(working, n);
    ASSERT_EQ(cal_.WorkingDaysBetween(working, end), n)
        << "from " << working << " + " << n << " = " << end;
    int naive = 0;
    for (CivilDay x = d + 1; x <= end; ++x) naive += cal_.IsWorkingDay(x) ? 1 : 0;
    ASSERT_EQ(cal_.WorkingDaysBetween(d, end), naive) << d << " → " << end;
  }
}

}  // namespace
}  // namespace onestop::core
