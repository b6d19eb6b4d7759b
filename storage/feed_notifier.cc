#include "storage/feed_notifier.h"

#include <algorithm>

namespace onestop::storage {

void FeedNotifier::Publish(int64_t revision) {
  // Already published (or a higher one): its publisher woke the waiters.
  if (revision <= published_.load(std::memory_order_acquire)) return;
  absl::MutexLock lock(&mu_);
  revision_ = std::max(revision_, revision);
  published_.store(revision_, std::memory_order_release);
}

void FeedNotifier::Poke() {
  // Unlocking makes absl::Mutex re-evaluate every waiter's condition.
  absl::MutexLock lock(&mu_);
}

int64_t FeedNotifier::revision() const {
  absl::MutexLock lock(&mu_);
  return revision_;
}

int64_t FeedNotifier::Await(int64_t min_revision, absl::FunctionRef<bool()> stop,
                            absl::Time deadline) {
  struct Args {
    const FeedNotifier* self;
    int64_t min_revision;
    absl::FunctionRef<bool()>* stop;
  };
  Args args{this, min_revision, &stop};
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithDeadline(absl::Condition(
                            +[](Args* a) ABSL_NO_THREAD_SAFETY_ANALYSIS {
                              return a->self->revision_ >= a->min_revision || (*a->stop)();
                            },
                            &args),
                        deadline);
  return revision_;
}

}  // namespace onestop::storage
