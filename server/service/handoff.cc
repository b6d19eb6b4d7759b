#include "server/service/handoff.h"

#include <algorithm>
#include <utility>
#include <vector>

namespace onestop::service {

Handoff::Handoff(Executor* executor, int max_runners)
    : executor_(executor), max_runners_(std::max(1, max_runners)) {}

void Handoff::Post(absl::AnyInvocable<void() &&> closure) {
  // The runner is posted under mu_: a runner may run this closure as soon
  // as mu_ is free, and its call may end the server, so nothing of `this`
  // is touched after the unlock.
  absl::MutexLock lock(&mu_);
  queue_.push_back(std::move(closure));
  if (runners_ < max_runners_) {
    ++runners_;
    executor_->Post([this] { RunQueued(); });
  }
}

void Handoff::RunQueued() {
  std::vector<absl::AnyInvocable<void() &&>> taken;
  taken.reserve(kClosuresPerTake);
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      if (queue_.empty()) {
        --runners_;
        return;
      }
      const size_t n = std::min(queue_.size(), static_cast<size_t>(kClosuresPerTake));
      for (size_t i = 0; i < n; ++i) {
        taken.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    for (auto& closure : taken) std::move(closure)();
    taken.clear();
  }
}

}  // namespace onestop::service
