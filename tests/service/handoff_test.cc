// Handoff and Executor::Post: every posted closure runs, on executor
// threads, never more than max_runners at once; Post is not refused by a
// full queue.
#include "server/service/handoff.h"

#include <algorithm>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "server/service/executor.h"

namespace onestop::service {
namespace {

TEST(HandoffTest, RunsEveryClosureOnAnExecutorThread) {
  Executor executor(ExecutorOptions{.threads = 4});
  Handoff handoff(&executor);
  constexpr int kClosures = 500;
  absl::Mutex mu;
  int ran = 0;
  int on_poster = 0;
  const std::thread::id poster = std::this_thread::get_id();
  for (int i = 0; i < kClosures; ++i) {
    handoff.Post([&] {
      absl::MutexLock lock(&mu);
      ++ran;
      if (std::this_thread::get_id() == poster) ++on_poster;
    });
  }
  absl::MutexLock lock(&mu);
  ASSERT_TRUE(mu.AwaitWithTimeout(absl::Condition(
                                      +[](int* n) { return *n == kClosures; }, &ran),
                                  absl::Seconds(30)));
  EXPECT_EQ(on_poster, 0);
}

TEST(HandoffTest, NeverRunsMoreThanMaxRunnersAtOnce) {
  Executor executor(ExecutorOptions{.threads = 8});
  Handoff handoff(&executor, /*max_runners=*/2);
  constexpr int kClosures = 20;
  absl::Mutex mu;
  int running = 0, most_running = 0, finished = 0;
  absl::Notification gate;
  for (int i = 0; i < kClosures; ++i) {
    handoff.Post([&] {
      {
        absl::MutexLock lock(&mu);
        ++running;
        most_running = std::max(most_running, running);
      }
      gate.WaitForNotification();
      absl::MutexLock lock(&mu);
      --running;
      ++finished;
    });
  }
  {
    absl::MutexLock lock(&mu);
    ASSERT_TRUE(mu.AwaitWithTimeout(
        absl::Condition(+[](int* n) { return *n == 2; }, &running), absl::Seconds(30)));
    // Six idle executor threads could start a third closure: none may. (A
    // bounded wait for something that must not happen.)
    EXPECT_FALSE(mu.AwaitWithTimeout(
        absl::Condition(+[](int* n) { return *n > 2; }, &running), absl::Milliseconds(200)));
  }
  gate.Notify();
  absl::MutexLock lock(&mu);
  ASSERT_TRUE(mu.AwaitWithTimeout(
      absl::Condition(+[](int* n) { return *n == kClosures; }, &finished), absl::Seconds(30)));
  EXPECT_EQ(most_running, 2);
}

TEST(ExecutorTest, PostIsNotRefusedWhenTheQueueIsFull) {
  Executor executor(ExecutorOptions{.threads = 1, .max_queued = 1});
  absl::Notification gate, blocked;
  ASSERT_TRUE(executor.TrySubmit([&] {
    blocked.Notify();
    gate.WaitForNotification();
  }));
  blocked.WaitForNotification();
  ASSERT_TRUE(executor.TrySubmit([] {}));   // fills the queue
  EXPECT_FALSE(executor.TrySubmit([] {}));  // refused: a call would answer UNAVAILABLE
  absl::Notification posted_ran;
  executor.Post([&] { posted_ran.Notify(); });
  gate.Notify();
  EXPECT_TRUE(posted_ran.WaitForNotificationWithTimeout(absl::Seconds(30)));
}

}  // namespace
}  // namespace onestop::service
