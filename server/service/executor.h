// A fixed pool of application threads for blocking work (SQLite calls).
//
// gRPC callback reactions must not block (gRFC L67): handlers post the
// blocking part here and finish their reactor from the pool thread. The
// queue is bounded so an overloaded daemon sheds load (the caller answers
// UNAVAILABLE) instead of growing without limit.
#ifndef ONESTOP_SERVER_SERVICE_EXECUTOR_H_
#define ONESTOP_SERVER_SERVICE_EXECUTOR_H_

#include <deque>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"

namespace onestop::service {

struct ExecutorOptions {
  // Blocking work: reads, and the writes that still wait for their group
  // commit (documents, tokens; dossier writes over PostgreSQL, or beyond
  // DossierManagerOptions::max_async_writes). See docs/PERFORMANCE.md.
  int threads = 32;
  // Tasks waiting beyond this are refused by TrySubmit.
  size_t max_queued = 4096;
};

// Thread-safe. The destructor runs every accepted task, then joins.
class Executor {
 public:
  explicit Executor(const ExecutorOptions& options);
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // Queues `task`; false (task dropped, not run) if the queue is full or
  // the executor is shutting down.
  bool TrySubmit(absl::AnyInvocable<void() &&> task);
  // Queues `task` whatever the queue's length, at its front: for work that
  // must run, and soon, because a call is already accepted and its write
  // committed (the answers of a group commit, server/service/handoff.h);
  // new calls wait behind it. Must not be called once the destructor has
  // begun, except from a task of this executor.
  void Post(absl::AnyInvocable<void() &&> task);

 private:
  void WorkerLoop();

  const size_t max_queued_;
  absl::Mutex mu_;
  std::deque<absl::AnyInvocable<void() &&>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> workers_;
};

}  // namespace onestop::service

#endif  // ONESTOP_SERVER_SERVICE_EXECUTOR_H_
