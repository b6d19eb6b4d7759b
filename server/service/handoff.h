// Handoff: runs closures posted by a thread that must not be held up — the
// SQLite writer answering every write of a group commit — on the executor,
// several closures per executor task.
//
// Why: a write used to block an executor thread until its commit, and the
// writer then woke each of those threads (one futex wake and one context
// switch per write; a third of the writer's time at 64 writes per batch).
// Now the writer posts each write's continuation here; the first post
// starts a runner task on the executor, which takes the closures queued so
// far (at most kClosuresPerTake at a time) until none is left. At most
// `max_runners` run at once, so a batch of 64 answers costs a couple of
// wake-ups, not 64 (docs/PERFORMANCE.md).
//
// Thread-safe. Post never blocks on the closures. Its runner tasks run on
// the executor and use the Handoff, so the Handoff must outlive them and
// every Post: destroy it only after the executor has run every task and
// joined (the server does).
#ifndef ONESTOP_SERVER_SERVICE_HANDOFF_H_
#define ONESTOP_SERVER_SERVICE_HANDOFF_H_

#include <deque>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"
#include "server/service/executor.h"

namespace onestop::service {

class Handoff {
 public:
  // `executor` is not owned. max_runners ≥ 1: runner tasks at most at once
  // (2 by default: one per core of the machine this was tuned on).
  explicit Handoff(Executor* executor, int max_runners = 2);
  Handoff(const Handoff&) = delete;
  Handoff& operator=(const Handoff&) = delete;

  // Queues `closure` to run on an executor thread, and starts a runner if
  // fewer than max_runners are running. Every posted closure runs.
  void Post(absl::AnyInvocable<void() &&> closure);

  // A runner takes at most this many closures at a time, so that a second
  // runner shares a long queue.
  static constexpr int kClosuresPerTake = 16;

 private:
  void RunQueued();

  Executor* const executor_;
  const int max_runners_;
  absl::Mutex mu_;
  std::deque<absl::AnyInvocable<void() &&>> queue_ ABSL_GUARDED_BY(mu_);
  int runners_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace onestop::service

#endif  // ONESTOP_SERVER_SERVICE_HANDOFF_H_
