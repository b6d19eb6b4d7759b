#include "server/util/clock.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace onestop {
namespace {

using ::testing::HasSubstr;

// A stand-in for real time that the test moves by hand.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(absl::Time t) : now_(t) {}
  absl::Time Now() const override { return now_; }
  void Set(absl::Time t) { now_ = t; }

 private:
  absl::Time now_;
};

const absl::Time kStart = absl::FromUnixSeconds(1578272400);  // 2020-01-06T08:00+07

TEST(ControlledClockTest, StartsPinnedAtTheStartInstant) {
  ManualClock real(kStart + absl::Hours(1000));
  ControlledClock clock(kStart, &real);
  EXPECT_EQ(clock.Now(), kStart);
  EXPECT_TRUE(clock.pinned());
  real.Set(kStart + absl::Hours(2000));
  EXPECT_EQ(clock.Now(), kStart);
}

TEST(ControlledClockTest, SetAndAdvanceMoveForward) {
  ManualClock real(kStart);
  ControlledClock clock(kStart, &real);
  ASSERT_TRUE(clock.SetTime(kStart + absl::Hours(3)).ok());
  EXPECT_EQ(clock.Now(), kStart + absl::Hours(3));
  ASSERT_TRUE(clock.Advance(absl::Minutes(30)).ok());
  EXPECT_EQ(clock.Now(), kStart + absl::Hours(3) + absl::Minutes(30));
  ASSERT_TRUE(clock.Advance(absl::ZeroDuration()).ok());
  EXPECT_EQ(clock.Now(), kStart + absl::Hours(3) + absl::Minutes(30));
}

TEST(ControlledClockTest, NeverMovesBackwards) {
  ManualClock real(kStart);
  ControlledClock clock(kStart + absl::Hours(5), &real);
  const absl::Status set = clock.SetTime(kStart);
  EXPECT_EQ(set.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(set.message()), HasSubstr("never moves backwards"));
  EXPECT_EQ(clock.Advance(-absl::Seconds(1)).code(), absl::StatusCode::kInvalidArgument);
  // Real time is behind the clock: resuming it would go back.
  EXPECT_EQ(clock.ResumeRealTime().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(clock.Now(), kStart + absl::Hours(5));
}

TEST(ControlledClockTest, ResumedClockFollowsRealTimeButNotItsStepsBack) {
  ManualClock real(kStart + absl::Hours(10));
  ControlledClock clock(kStart, &real);
  ASSERT_TRUE(clock.ResumeRealTime().ok());
  EXPECT_FALSE(clock.pinned());
  EXPECT_EQ(clock.Now(), kStart + absl::Hours(10));
  real.Set(kStart + absl::Hours(11));
  EXPECT_EQ(clock.Now(), kStart + absl::Hours(11));
  real.Set(kStart + absl::Hours(9));  // an NTP step back
  EXPECT_EQ(clock.Now(), kStart + absl::Hours(11));
}

}  // namespace
}  // namespace onestop
