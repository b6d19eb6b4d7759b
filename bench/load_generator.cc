#include "bench/load_generator.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"

namespace onestop::bench {
namespace {

using SteadyClock = std::chrono::steady_clock;

int64_t NanosSince(SteadyClock::time_point start, SteadyClock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t - start).count();
}

// Shared by every slot of one run. Slots touch only their own Slot entry
// except for the atomics and the finish counter. Owned jointly (shared_ptr)
// by RunLoad and every pending completion: a callback thread may still be
// leaving the mutex after RunLoad has seen the last slot finish.
struct Run {
  const LoadOptions* options = nullptr;
  const Workload* workload = nullptr;
  // Owned by RunLoad; used only to start calls, which no slot does after
  // it has counted itself finished.
  std::vector<onestop::v1::DossierService::Stub*> stubs;
  SteadyClock::time_point start;
  int64_t warmup_end_ns = 0;
  int64_t deadline_ns = 0;
  std::atomic<int64_t> started{0};
  std::atomic<int64_t> last_completion_ns{0};

  struct Slot {
    LatencyHistogram histogram;
    int64_t errors = 0;
    int64_t sequence = 0;
  };
  std::vector<Slot> slots;

  absl::Mutex mu;
  int running_slots ABSL_GUARDED_BY(mu) = 0;
};

// Keeps `channel` alive until the process exits. gRPC 1.51 drives
// client callbacks from a "nexting" thread on a shared completion queue
// that is torn down with the last channel; tearing it down while the
// thread polls crashes intermittently in grpc_completion_queue_next. A
// benchmark opens a few channels per run, so keeping them costs nothing.
void KeepForever(std::shared_ptr<grpc::Channel> channel) {
  static auto* const channels = new std::vector<std::shared_ptr<grpc::Channel>>();
  static absl::Mutex mu(absl::kConstInit);
  absl::MutexLock lock(&mu);
  channels->push_back(std::move(channel));
}

void StartNext(const std::shared_ptr<Run>& run, int slot_index);

void OnDone(const std::shared_ptr<Run>& run, int slot_index, int64_t started_ns, bool ok) {
  const int64_t now_ns = NanosSince(run->start, SteadyClock::now());
  Run::Slot& slot = run->slots[slot_index];
  if (started_ns >= run->warmup_end_ns) {
    if (ok) {
      slot.histogram.Record(now_ns - started_ns);
    } else {
      ++slot.errors;
    }
    int64_t last = run->last_completion_ns.load(std::memory_order_relaxed);
    while (now_ns > last &&
           !run->last_completion_ns.compare_exchange_weak(last, now_ns,
                                                          std::memory_order_relaxed)) {
    }
  }
  StartNext(run, slot_index);
}

void StartNext(const std::shared_ptr<Run>& run, int slot_index) {
  const int64_t now_ns = NanosSince(run->start, SteadyClock::now());
  const int64_t max_operations = run->options->max_operations;
  const bool time_left = now_ns < run->deadline_ns;
  const bool count_left =
      max_operations == 0 || run->started.fetch_add(1, std::memory_order_relaxed) < max_operations;
  if (!time_left || !count_left) {
    absl::MutexLock lock(&run->mu);
    --run->running_slots;
    return;
  }
  Run::Slot& slot = run->slots[slot_index];
  const int64_t sequence = slot.sequence++;
  auto* stub = run->stubs[slot_index % run->stubs.size()];
  (*run->workload)(stub, slot_index, sequence, [run, slot_index, now_ns](bool ok) {
    OnDone(run, slot_index, now_ns, ok);
  });
}

}  // namespace

void LatencyHistogram::Merge(const LatencyHistogram& other) {
  samples_.insert(samples_.end(), other.samples_.begin(), other.samples_.end());
  sorted_ = false;
}

double LatencyHistogram::PercentileMicros(double q) {
  if (samples_.empty()) return 0;
  if (!sorted_) {
    std::sort(samples_.begin(), samples_.end());
    sorted_ = true;
  }
  // Nearest-rank: the smallest sample with at least q of the samples at or
  // below it.
  size_t rank = static_cast<size_t>(std::ceil(q * samples_.size()));
  if (rank > 0) --rank;
  rank = std::min(rank, samples_.size() - 1);
  return samples_[rank] / 1000.0;
}

double LatencyHistogram::MeanMicros() const {
  if (samples_.empty()) return 0;
  long double sum = 0;
  for (int64_t s : samples_) sum += s;
  return static_cast<double>(sum / samples_.size() / 1000.0);
}

absl::StatusOr<LoadResult> RunLoad(const LoadOptions& options, const Workload& workload) {
  const std::vector<std::string> targets =
      absl::StrSplit(options.target, ',', absl::SkipEmpty());
  if (options.channels < 1 || options.in_flight < 1 || targets.empty()) {
    return absl::InvalidArgumentError("RunLoad: need a target, channels ≥ 1 and in_flight ≥ 1");
  }
  auto shared_run = std::make_shared<Run>();
  Run& run = *shared_run;
  run.options = &options;
  run.workload = &workload;
  std::vector<std::unique_ptr<onestop::v1::DossierService::Stub>> stubs;
  const int channels = std::min(options.channels, options.in_flight);
  for (int i = 0; i < channels; ++i) {
    const std::string& target = targets[i % targets.size()];
    // A distinct channel argument stops gRPC from sharing one subchannel
    // (one TCP connection) between the channels.
    grpc::ChannelArguments args;
    args.SetInt("onestop.bench.channel", i);
    auto channel = grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
    if (!channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(10))) {
      return absl::UnavailableError(absl::StrCat("cannot connect to ", target));
    }
    KeepForever(channel);
    stubs.push_back(onestop::v1::DossierService::NewStub(channel));
    run.stubs.push_back(stubs.back().get());
  }
  run.slots.resize(options.in_flight);
  run.start = SteadyClock::now();
  run.warmup_end_ns = absl::ToInt64Nanoseconds(options.warmup);
  run.deadline_ns = run.warmup_end_ns + absl::ToInt64Nanoseconds(options.duration);
  if (options.max_operations > 0) {
    // A counted run records everything: the count, not time, bounds it.
    run.warmup_end_ns = 0;
  }
  {
    absl::MutexLock lock(&run.mu);
    run.running_slots = options.in_flight;
  }
  for (int i = 0; i < options.in_flight; ++i) StartNext(shared_run, i);
  {
    absl::MutexLock lock(&run.mu);
    auto finished = [&run]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(run.mu) {
      return run.running_slots == 0;
    };
    run.mu.Await(absl::Condition(&finished));
  }

  LatencyHistogram all;
  LoadResult result;
  result.in_flight = options.in_flight;
  for (Run::Slot& slot : run.slots) {
    all.Merge(slot.histogram);
    result.errors += slot.errors;
  }
  result.operations = all.count();
  const int64_t measured_ns =
      std::max<int64_t>(1, run.last_completion_ns.load() - run.warmup_end_ns);
  result.seconds = measured_ns / 1e9;
  result.ops_per_second = result.operations / result.seconds;
  result.p50_us = all.PercentileMicros(0.50);
  result.p99_us = all.PercentileMicros(0.99);
  result.mean_us = all.MeanMicros();
  return result;
}

}  // namespace onestop::bench
