#include "server/util/clock.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace onestop {

SystemClock* SystemClock::Get() {
  static SystemClock* const clock = new SystemClock();
  return clock;
}

ControlledClock::ControlledClock(absl::Time start, const Clock* real)
    : real_(real), pinned_at_(start), high_water_(start) {}

absl::Time ControlledClock::Now() const {
  absl::MutexLock lock(&mu_);
  return NowLocked();
}

absl::Time ControlledClock::NowLocked() const {
  if (pinned_) return pinned_at_;
  // Real time can step back (NTP); the controlled clock never does.
  high_water_ = std::max(high_water_, real_->Now());
  return high_water_;
}

absl::Status ControlledClock::SetTime(absl::Time t) {
  absl::MutexLock lock(&mu_);
  const absl::Time now = NowLocked();
  if (t < now) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the clock never moves backwards: ", absl::FormatTime(t),
        " is before the current time ", absl::FormatTime(now)));
  }
  pinned_ = true;
  pinned_at_ = t;
  high_water_ = t;
  return absl::OkStatus();
}

absl::Status ControlledClock::Advance(absl::Duration d) {
  if (d < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "cannot advance the clock by a negative duration");
  }
  absl::MutexLock lock(&mu_);
  pinned_at_ = NowLocked() + d;
  high_water_ = pinned_at_;
  pinned_ = true;
  return absl::OkStatus();
}

absl::Status ControlledClock::ResumeRealTime() {
  absl::MutexLock lock(&mu_);
  const absl::Time now = NowLocked();
  const absl::Time real = real_->Now();
  if (real < now) {
    return absl::FailedPreconditionError(absl::StrCat(
        "real time ", absl::FormatTime(real), " is behind the clock (",
        absl::FormatTime(now), "); the clock never moves backwards"));
  }
  pinned_ = false;
  high_water_ = real;
  return absl::OkStatus();
}

bool ControlledClock::pinned() const {
  absl::MutexLock lock(&mu_);
  return pinned_;
}

}  // namespace onestop
