// Handoff and Executor::Post: every posted closure runs, on executor
// threads, never more than max_runners at once; Post is not refused by a
// full queue and goes ahead of the queued calls.
#include "server/service/handoff.h"

#include <algorithm>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "server/service/executor.h"

namespace onestop::service {
namespace {

TEST(HandoffTest, RunsEveryClosureOnAnExecutorThread) {
  std::unique_ptr<Handoff> handoff;  // destroyed after the executor joined
  Executor executor(ExecutorOptions{.threads = 4});
  handoff = std::make_unique<Handoff>(&executor);
  constexpr int kClosures = 500;
  absl::Mutex mu;
  int ran = 0;
  int on_poster = 0;
  const std::thread::id poster = std::this_thread::get_id();
  for (int i = 0; i < kClosures; ++i) {
    handoff->Post([&] {
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
  std::unique_ptr<Handoff> handoff;  // destroyed after the executor joined
  Executor executor(ExecutorOptions{.threads = 8});
  handoff = std::make_unique<Handoff>(&executor, /*max_runners=*/2);
  constexpr int kClosures = 20;
  absl::Mutex mu;
  int running = 0, most_running = 0, finished = 0;
  absl::Notification gate;
  for (int i = 0; i < kClosures; ++i) {
    handoff->Post([&] {
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

TEST(ExecutorTest, PostIsNotRefusedWhenTheQueueIsFullAndRunsFirst) {
  Executor executor(ExecutorOptions{.threads = 1, .max_queued = 1});
  absl::Notification gate, blocked;
  ASSERT_TRUE(executor.TrySubmit([&] {
    blocked.Notify();
    gate.WaitForNotification();
  }));
  blocked.WaitForNotification();
  absl::Mutex mu;
  std::vector<std::string> order;
  absl::Notification both_ran;
  ASSERT_TRUE(executor.TrySubmit([&] {  // fills the queue
    absl::MutexLock lock(&mu);
    order.push_back("submitted");
    both_ran.Notify();
  }));
  EXPECT_FALSE(executor.TrySubmit([] {}));  // refused: a call would answer UNAVAILABLE
  executor.Post([&] {
    absl::MutexLock lock(&mu);
    order.push_back("posted");
  });
  gate.Notify();
  ASSERT_TRUE(both_ran.WaitForNotificationWithTimeout(absl::Seconds(30)));
  absl::MutexLock lock(&mu);
  EXPECT_EQ(order, (std::vector<std::string>{"posted", "submitted"}));
}

}  // namespace
}  // namespace onestop::service
