// The one seam through which the daemon reads "now".
//
// Nothing else in onestopd reads the wall clock: reception times, due
// times, pauses, timeliness, reports and feed event times all come from the
// Clock handed to them. The domain core takes `now` as a parameter.
#ifndef ONESTOP_SERVER_UTIL_CLOCK_H_
#define ONESTOP_SERVER_UTIL_CLOCK_H_

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace onestop {

// Thread-safe source of the current instant.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
};

// Real time.
class SystemClock final : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
  // A process-wide instance; never destroyed.
  static SystemClock* Get();
};

// A clock tests, demos and training sessions can steer (--clock=controlled).
//
// It starts pinned (standing still) at the start instant. SetTime pins it
// to a later instant; Advance moves it forward; ResumeRealTime makes it
// follow `real` again. It never moves backwards: every operation that would
// is refused and changes nothing. Thread-safe.
class ControlledClock final : public Clock {
 public:
  // `real` is not owned and must outlive this clock.
  ControlledClock(absl::Time start, const Clock* real);

  absl::Time Now() const override;

  // Pins the clock at `t`. FAILED_PRECONDITION if `t` is before Now().
  absl::Status SetTime(absl::Time t);
  // Pins the clock at Now() + `d`. INVALID_ARGUMENT if `d` is negative.
  absl::Status Advance(absl::Duration d);
  // Follows real time again. FAILED_PRECONDITION if real time is behind
  // Now() (that would move the clock backwards).
  absl::Status ResumeRealTime();
  // True while pinned.
  bool pinned() const;

 private:
  absl::Time NowLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Clock* const real_;
  mutable absl::Mutex mu_;
  bool pinned_ ABSL_GUARDED_BY(mu_) = true;
  absl::Time pinned_at_ ABSL_GUARDED_BY(mu_);
  // Largest instant handed out, so following real time never goes back.
  mutable absl::Time high_water_ ABSL_GUARDED_BY(mu_);
};

}  // namespace onestop

#endif  // ONESTOP_SERVER_UTIL_CLOCK_H_
