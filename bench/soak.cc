#include "bench/soak.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <memory>
#include <queue>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/bench_rpc.h"
#include "bench/load_generator.h"
#include "onestop/v1/feed_service.grpc.pb.h"
#include "tests/testing/subprocess.h"

namespace onestop::bench {
namespace {

using namespace onestop::v1;  // NOLINT
using SteadyClock = std::chrono::steady_clock;

enum Kind { kSubmit = 0, kLifecycle, kGet, kList, kKinds };
constexpr const char* kKindNames[kKinds] = {"submit", "lifecycle", "get", "list"};

int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             SteadyClock::now().time_since_epoch())
      .count();
}

// Latencies and errors of one operation kind since the last sample.
// Recorded from gRPC callback threads, taken by the sampler.
class IntervalStats {
 public:
  void Record(int64_t nanos, bool ok) {
    absl::MutexLock lock(&mu_);
    if (ok) {
      histogram_.Record(nanos);
    } else {
      ++errors_;
    }
  }
  // The interval's samples and errors; starts the next interval.
  std::pair<LatencyHistogram, int64_t> Take() {
    absl::MutexLock lock(&mu_);
    std::pair<LatencyHistogram, int64_t> taken{std::move(histogram_), errors_};
    histogram_ = LatencyHistogram();
    errors_ = 0;
    return taken;
  }

 private:
  absl::Mutex mu_;
  LatencyHistogram histogram_ ABSL_GUARDED_BY(mu_);
  int64_t errors_ ABSL_GUARDED_BY(mu_) = 0;
};

// Codes acknowledged during the run, for GetDossier: the newest `capacity`.
class KnownCodes {
 public:
  explicit KnownCodes(size_t capacity) : capacity_(capacity) {}
  void Add(const std::string& code) {
    absl::MutexLock lock(&mu_);
    if (codes_.size() < capacity_) {
      codes_.push_back(code);
    } else {
      codes_[next_ % capacity_] = code;
    }
    ++next_;
  }
  // A code chosen by `random`, or "" if none yet.
  std::string Pick(uint64_t random) {
    absl::MutexLock lock(&mu_);
    return codes_.empty() ? std::string() : codes_[random % codes_.size()];
  }

 private:
  const size_t capacity_;
  absl::Mutex mu_;
  std::vector<std::string> codes_ ABSL_GUARDED_BY(mu_);
  uint64_t next_ ABSL_GUARDED_BY(mu_) = 0;
};

// Runs functions at given times on one thread (for --soak_rate): a slot
// that finished early waits here, never on a gRPC callback thread. The
// functions only start asynchronous calls.
class Pacer {
 public:
  Pacer() : thread_([this] { Loop(); }) {}
  ~Pacer() {
    {
      absl::MutexLock lock(&mu_);
      stop_ = true;
      cv_.Signal();
    }
    thread_.join();
  }
  void At(SteadyClock::time_point when, std::function<void()> fn) {
    absl::MutexLock lock(&mu_);
    queue_.push(Entry{when, sequence_++, std::move(fn)});
    cv_.Signal();
  }

 private:
  struct Entry {
    SteadyClock::time_point when;
    uint64_t sequence;
    std::function<void()> fn;
    bool operator>(const Entry& other) const {
      return when != other.when ? when > other.when : sequence > other.sequence;
    }
  };
  void Loop() {
    absl::MutexLock lock(&mu_);
    while (!stop_) {
      if (queue_.empty()) {
        cv_.Wait(&mu_);
        continue;
      }
      const SteadyClock::time_point when = queue_.top().when;
      const SteadyClock::time_point now = SteadyClock::now();
      if (when > now) {
        cv_.WaitWithTimeout(&mu_, absl::FromChrono(when - now));
        continue;
      }
      std::function<void()> fn = std::move(const_cast<Entry&>(queue_.top()).fn);
      queue_.pop();
      mu_.Unlock();
      fn();
      mu_.Lock();
    }
  }

  absl::Mutex mu_;
  absl::CondVar cv_;
  std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> queue_
      ABSL_GUARDED_BY(mu_);
  uint64_t sequence_ ABSL_GUARDED_BY(mu_) = 0;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

// A WatchEvents follower on its own connection and thread: reads the whole
// feed from revision 1, checks revisions are contiguous, resumes from the
// last revision + 1 if the stream fails (counted: a soak expects none).
class Follower {
 public:
  Follower(const std::string& address, std::string bearer)
      : stub_(FeedService::NewStub(MakeChannel(address))), bearer_(std::move(bearer)) {
    thread_ = std::thread([this] { Loop(); });
  }
  ~Follower() { Stop(); }

  void Stop() {
    {
      absl::MutexLock lock(&mu_);
      stop_ = true;
      if (context_ != nullptr) context_->TryCancel();
    }
    if (thread_.joinable()) thread_.join();
  }

  int64_t events() const { return events_.load(); }
  int64_t last_revision() const { return last_revision_.load(); }
  int64_t gaps() const { return gaps_.load(); }
  int64_t out_of_order() const { return out_of_order_.load(); }
  int64_t failures() const { return failures_.load(); }
  std::string first_failure() {
    absl::MutexLock lock(&mu_);
    return first_failure_;
  }

 private:
  static std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address) {
    grpc::ChannelArguments args;
    static std::atomic<int> counter{0};
    args.SetInt("onestop.bench.follower", counter++);  // its own connection
    return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
  }

  void Loop() {
    while (true) {
      grpc::ClientContext context;
      context.AddMetadata("authorization", bearer_);
      {
        absl::MutexLock lock(&mu_);
        if (stop_) return;
        context_ = &context;
      }
      WatchEventsRequest request;
      request.set_start_revision(last_revision_.load() + 1);
      std::unique_ptr<grpc::ClientReader<WatchEventsResponse>> reader =
          stub_->WatchEvents(&context, request);
      WatchEventsResponse response;
      while (reader->Read(&response)) {
        if (!response.has_event()) continue;
        const int64_t revision = response.event().revision();
        const int64_t last = last_revision_.load();
        if (revision <= last) {
          ++out_of_order_;
          continue;
        }
        if (last > 0 && revision != last + 1) ++gaps_;
        last_revision_.store(revision);
        ++events_;
      }
      const grpc::Status status = reader->Finish();
      absl::MutexLock lock(&mu_);
      context_ = nullptr;
      if (stop_) return;
      ++failures_;
      if (first_failure_.empty()) {
        first_failure_ = absl::StrCat(static_cast<int>(status.error_code()), " ",
                                      status.error_message());
      }
      mu_.Unlock();
      absl::SleepFor(absl::Milliseconds(200));
      mu_.Lock();
    }
  }

  std::unique_ptr<FeedService::Stub> stub_;
  const std::string bearer_;
  std::atomic<int64_t> events_{0};
  std::atomic<int64_t> last_revision_{0};
  std::atomic<int64_t> gaps_{0};
  std::atomic<int64_t> out_of_order_{0};
  std::atomic<int64_t> failures_{0};
  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  grpc::ClientContext* context_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::string first_failure_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

// Everything the workload touches, shared by all slots. Per-slot entries
// are touched only by that slot (one operation at a time).
struct Shared {
  Shared(const SoakOptions& options, std::vector<double> weights)
      : options(options), weights(std::move(weights)), codes(1 << 16) {}

  const SoakOptions& options;
  const std::vector<double> weights;
  IntervalStats stats[kKinds];
  KnownCodes codes;
  std::atomic<int64_t> acknowledged_writes{0};
  std::atomic<int64_t> dossiers{0};
  std::unique_ptr<Pacer> pacer;

  struct Slot {
    std::mt19937_64 random;
    std::string page_token;
    int pages = 0;
    SteadyClock::time_point next_start;
  };
  std::vector<Slot> slots;
};

// One operation of `kind`; `done(ok)` once it ends (latency recorded by
// the caller).
void StartOperation(Shared& shared, DossierService::Stub* stub, int slot_index, Kind kind,
                    std::function<void(Kind, bool)> done) {
  Shared::Slot& slot = shared.slots[slot_index];
  const SoakOptions& options = shared.options;
  std::string code;
  if (kind == kGet) {
    code = shared.codes.Pick(slot.random());
    if (code.empty()) kind = kSubmit;  // nothing acknowledged yet
  }
  switch (kind) {
    case kSubmit:
      Invoke<SubmitDossierRequest, SubmitDossierResponse>(
          stub, &AsyncInterface::SubmitDossier,
          SubmitRequest(options.procedure, options.agency),
          [&shared, done](const grpc::Status& status, const SubmitDossierResponse& response) {
            if (status.ok()) {
              shared.codes.Add(response.dossier().code());
              ++shared.acknowledged_writes;
              ++shared.dossiers;
            }
            done(kSubmit, status.ok());
          });
      break;
    case kLifecycle:
      RunLifecycle(stub, SubmitRequest(options.procedure, options.agency),
                   [&shared, done](bool ok, const Dossier& dossier) {
                     if (ok) {
                       shared.codes.Add(dossier.code());
                       shared.acknowledged_writes += 5;
                       ++shared.dossiers;
                     }
                     done(kLifecycle, ok);
                   });
      break;
    case kGet: {
      GetDossierRequest request;
      request.set_code(code);
      Invoke<GetDossierRequest, GetDossierResponse>(
          stub, &AsyncInterface::GetDossier, request,
          [done](const grpc::Status& status, const GetDossierResponse&) {
            done(kGet, status.ok());
          });
      break;
    }
    default: {
      ListDossiersRequest request;
      request.set_page_size(50);
      request.set_page_token(slot.page_token);
      Invoke<ListDossiersRequest, ListDossiersResponse>(
          stub, &AsyncInterface::ListDossiers, request,
          [&slot, &options, done](const grpc::Status& status,
                                  const ListDossiersResponse& response) {
            ++slot.pages;
            if (status.ok() && !response.next_page_token().empty() &&
                slot.pages < options.list_pages) {
              slot.page_token = response.next_page_token();
            } else {
              slot.page_token.clear();
              slot.pages = 0;
            }
            done(kList, status.ok());
          });
      break;
    }
  }
}

Workload MakeWorkload(Shared& shared) {
  return [&shared](DossierService::Stub* stub, int slot_index, int64_t, Done done) {
    Shared::Slot& slot = shared.slots[slot_index];
    std::discrete_distribution<int> choose(shared.weights.begin(), shared.weights.end());
    const Kind kind = static_cast<Kind>(choose(slot.random));
    auto start = [&shared, stub, slot_index, kind, done = std::move(done)] {
      const int64_t started = NowNanos();
      StartOperation(shared, stub, slot_index, kind, [&shared, started, done](Kind k, bool ok) {
        shared.stats[k].Record(NowNanos() - started, ok);
        done(ok);
      });
    };
    if (shared.options.rate <= 0) return start();
    // Paced: this slot starts one operation every in_flight / rate seconds;
    // a slot that fell behind starts at once, without a catch-up burst.
    const auto period = std::chrono::duration_cast<SteadyClock::duration>(
        std::chrono::duration<double>(shared.options.in_flight / shared.options.rate));
    const SteadyClock::time_point now = SteadyClock::now();
    if (slot.next_start < now - period) slot.next_start = now;
    const SteadyClock::time_point at = slot.next_start;
    slot.next_start += period;
    if (at <= now) return start();
    shared.pacer->At(at, std::move(start));
  };
}

absl::StatusOr<std::vector<double>> ParseMix(const std::string& mix) {
  std::vector<double> weights(kKinds, 0);
  for (absl::string_view item : absl::StrSplit(mix, ',', absl::SkipEmpty())) {
    std::pair<std::string, std::string> kv = absl::StrSplit(item, '=');
    double weight = -1;
    int kind = -1;
    for (int k = 0; k < kKinds; ++k) {
      if (kv.first == kKindNames[k]) kind = k;
    }
    if (kind < 0 || !absl::SimpleAtod(kv.second, &weight) || weight < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("--soak_mix: \"", item, "\" is not KIND=WEIGHT with KIND one of submit, "
                       "lifecycle, get, list"));
    }
    weights[kind] = weight;
  }
  double total = 0;
  for (double w : weights) total += w;
  if (total <= 0) return absl::InvalidArgumentError("--soak_mix: all weights are 0");
  return weights;
}

// One sample as printed, kept for the verdicts.
struct Sample {
  double t = 0;
  bool warmup = false;
  int64_t rss_kb = 0;
  int fds = 0;
};

std::string Json(double value) { return absl::StrFormat("%.1f", value); }

// Least-squares slope of y over x (per unit of x); 0 with fewer than 2 points.
double Slope(const std::vector<double>& x, const std::vector<double>& y) {
  const size_t n = x.size();
  if (n < 2) return 0;
  double mx = 0, my = 0;
  for (size_t i = 0; i < n; ++i) mx += x[i], my += y[i];
  mx /= n, my /= n;
  double num = 0, den = 0;
  for (size_t i = 0; i < n; ++i) num += (x[i] - mx) * (y[i] - my), den += (x[i] - mx) * (x[i] - mx);
  return den > 0 ? num / den : 0;
}

}  // namespace

int RunSoak(const SoakOptions& options, const std::string& dir) {
  absl::StatusOr<std::vector<double>> weights = ParseMix(options.mix);
  if (!weights.ok()) {
    std::fprintf(stderr, "onestop_bench: %s\n", std::string(weights.status().message()).c_str());
    return 1;
  }
  if (options.seconds <= 0 || options.sample_seconds <= 0 || options.in_flight < 1 ||
      options.warmup_seconds < 0) {
    std::fprintf(stderr,
                 "onestop_bench: the soak needs a positive length, sample interval and "
                 "in-flight count\n");
    return 1;
  }

  const std::string db = dir + "/soak.db";
  testing::DaemonProcess daemon;
  if (StartDaemon(daemon, options.onestopd, options.config, db, options.threads) < 0) return 1;
  const pid_t pid = daemon.pid();
  std::string feed_bearer;
  if (options.watchers > 0) {
    const std::string secret = IssueToken(daemon.address(), db + ".admin.token", "bench-feed",
                                          {ROLE_SERVICE});
    if (secret.empty()) return 1;
    feed_bearer = "Bearer " + secret;
  }
  std::fprintf(stderr,
               "soak: onestopd pid %d on %s, %.0f s (%.0f s warm-up), a sample every %.0f s, "
               "%d in flight over %d channels, %s, mix %s, %d feed follower(s)\n",
               static_cast<int>(pid), daemon.address().c_str(), options.seconds,
               options.warmup_seconds, options.sample_seconds, options.in_flight,
               options.channels,
               options.rate > 0 ? absl::StrCat(options.rate, " operations/s").c_str()
                                : "closed loop",
               options.mix.c_str(), options.watchers);

  std::vector<std::unique_ptr<Follower>> followers;
  for (int i = 0; i < options.watchers; ++i) {
    followers.push_back(std::make_unique<Follower>(daemon.address(), feed_bearer));
  }

  Shared shared(options, *weights);
  shared.slots.resize(options.in_flight);
  const SteadyClock::time_point start = SteadyClock::now();
  for (int i = 0; i < options.in_flight; ++i) {
    shared.slots[i].random.seed(7919 + i);
    if (options.rate > 0) {
      // Stagger the slots over one period.
      shared.slots[i].next_start =
          start + std::chrono::duration_cast<SteadyClock::duration>(
                      std::chrono::duration<double>(i / options.rate));
    }
  }
  if (options.rate > 0) shared.pacer = std::make_unique<Pacer>();
  const Workload workload = MakeWorkload(shared);

  LoadOptions load;
  load.target = daemon.address();
  load.channels = options.channels;
  load.in_flight = options.in_flight;
  load.duration = absl::Seconds(options.seconds);
  load.warmup = absl::ZeroDuration();
  absl::StatusOr<LoadResult> load_result = absl::UnknownError("not run");
  std::thread load_thread([&] { load_result = RunLoad(load, workload); });

  // The samples: at sample_seconds, 2 × sample_seconds, …, and at the end.
  const int n_samples = std::max(1, static_cast<int>(std::ceil(options.seconds /
                                                               options.sample_seconds - 1e-9)));
  std::vector<double> times;
  for (int i = 1; i <= n_samples; ++i) {
    times.push_back(std::min(i * options.sample_seconds, options.seconds));
  }
  int judged_total = 0;
  for (double t : times) judged_total += t > options.warmup_seconds + 1e-9 ? 1 : 0;
  if (judged_total == 0) judged_total = 1;  // too short: judge the last sample alone
  const int third = std::max(1, judged_total / 3);

  std::vector<Sample> samples;
  LatencyHistogram first_third[kKinds], last_third[kKinds];
  int64_t total_ops[kKinds] = {}, total_errors = 0;
  std::vector<int64_t> last_events(followers.size(), 0);
  int64_t max_lag = 0;
  double previous_t = 0;
  int judged = 0;
  for (size_t i = 0; i < times.size(); ++i) {
    std::this_thread::sleep_until(start + std::chrono::duration_cast<SteadyClock::duration>(
                                              std::chrono::duration<double>(times[i])));
    const double t = std::chrono::duration<double>(SteadyClock::now() - start).count();
    const double interval = std::max(1e-3, t - previous_t);
    previous_t = t;
    Sample sample;
    sample.t = t;
    sample.warmup = times[i] <= options.warmup_seconds + 1e-9 && i + 1 < times.size();
    sample.rss_kb = MemoryKb(pid).first;
    sample.fds = CountFds(pid);
    const int64_t db_bytes = FileBytes(db);
    const int64_t wal_bytes = FileBytes(db + "-wal");
    if (!sample.warmup) ++judged;
    const bool in_first = !sample.warmup && judged <= third;
    const bool in_last = !sample.warmup && judged > judged_total - third;

    std::string ops;
    double all_per_second = 0;
    for (int k = 0; k < kKinds; ++k) {
      auto [histogram, errors] = shared.stats[k].Take();
      total_ops[k] += histogram.count();
      total_errors += errors;
      const double per_second = histogram.count() / interval;
      all_per_second += per_second;
      absl::StrAppend(&ops, k == 0 ? "" : ",", "\"", kKindNames[k], "\":{\"calls\":",
                      histogram.count(), ",\"errors\":", errors,
                      ",\"per_second\":", Json(per_second),
                      ",\"p50_us\":", Json(histogram.PercentileMicros(0.5)),
                      ",\"p99_us\":", Json(histogram.PercentileMicros(0.99)), "}");
      if (in_first) first_third[k].Merge(histogram);
      if (in_last) last_third[k].Merge(histogram);
    }
    std::string feed;
    int64_t lag = 0;
    const int64_t acknowledged = shared.acknowledged_writes.load();
    for (size_t f = 0; f < followers.size(); ++f) {
      const int64_t events = followers[f]->events();
      // Writes acknowledged to the load but not yet read by this follower
      // (0 when the feed is ahead of the acknowledgements).
      const int64_t behind = std::max<int64_t>(0, acknowledged - followers[f]->last_revision());
      lag = std::max(lag, behind);
      absl::StrAppend(&feed, f == 0 ? "" : ",", "{\"events_per_second\":",
                      Json((events - last_events[f]) / interval),
                      ",\"revision\":", followers[f]->last_revision(), ",\"behind\":", behind,
                      ",\"gaps\":", followers[f]->gaps(), ",\"failures\":",
                      followers[f]->failures(), "}");
      last_events[f] = events;
    }
    if (!sample.warmup) max_lag = std::max(max_lag, lag);
    std::printf(
        "{\"kind\":\"soak_sample\",\"t_s\":%.1f,\"warmup\":%s,\"rss_mb\":%.1f,\"fds\":%d,"
        "\"db_bytes\":%lld,\"wal_bytes\":%lld,\"dossiers\":%lld,\"writes\":%lld,"
        "\"per_second\":%.1f,\"ops\":{%s},\"feed\":[%s]}\n",
        t, sample.warmup ? "true" : "false", sample.rss_kb / 1024.0, sample.fds,
        static_cast<long long>(db_bytes), static_cast<long long>(wal_bytes),
        static_cast<long long>(shared.dossiers.load()), static_cast<long long>(acknowledged),
        all_per_second, ops.c_str(), feed.c_str());
    std::fflush(stdout);
    samples.push_back(sample);
  }
  load_thread.join();
  if (!load_result.ok()) {
    std::fprintf(stderr, "onestop_bench: soak load: %s\n",
                 load_result.status().ToString().c_str());
    return 1;
  }
  // Calls that ended after the last sample still count as errors if failed.
  for (int k = 0; k < kKinds; ++k) total_errors += shared.stats[k].Take().second;

  // Feed: every acknowledged write must reach every follower.
  const int64_t acknowledged = shared.acknowledged_writes.load();
  bool caught_up = true;
  const auto feed_deadline = SteadyClock::now() + std::chrono::seconds(15);
  for (auto& follower : followers) {
    while (follower->last_revision() < acknowledged && SteadyClock::now() < feed_deadline) {
      absl::SleepFor(absl::Milliseconds(20));
    }
    caught_up = caught_up && follower->last_revision() >= acknowledged;
  }
  int64_t gaps = 0, out_of_order = 0, failures = 0;
  std::string first_failure;
  std::string revisions;
  for (auto& follower : followers) {
    follower->Stop();
    gaps += follower->gaps();
    out_of_order += follower->out_of_order();
    failures += follower->failures();
    if (first_failure.empty()) first_failure = follower->first_failure();
    absl::StrAppend(&revisions, revisions.empty() ? "" : ",", follower->last_revision());
  }
  const int stop_code = daemon.Stop();
  // After the clean stop the WAL is checkpointed into the main file.
  const int64_t db_bytes = FileBytes(db) + FileBytes(db + "-wal");

  // Verdicts, from the first sample after warm-up to the last.
  const Sample* first = nullptr;
  for (const Sample& s : samples) {
    if (!s.warmup) {
      first = &s;
      break;
    }
  }
  const Sample& last = samples.back();
  const double first_mb = first->rss_kb / 1024.0, last_mb = last.rss_kb / 1024.0;
  const double allowed_mb =
      std::max(options.rss_growth_mb, options.rss_growth_fraction * first_mb);
  const bool rss_ok = last_mb - first_mb <= allowed_mb;
  std::vector<double> xs, ys;
  double rss_max_mb = 0;
  int fd_min = last.fds, fd_max = last.fds;
  for (const Sample& s : samples) {
    if (s.warmup) continue;
    xs.push_back(s.t / 3600.0);
    ys.push_back(s.rss_kb / 1024.0);
    rss_max_mb = std::max(rss_max_mb, s.rss_kb / 1024.0);
    fd_min = std::min(fd_min, s.fds);
    fd_max = std::max(fd_max, s.fds);
  }
  const bool fds_ok = std::abs(last.fds - first->fds) <= options.fd_tolerance;

  bool p99_ok = true;
  std::string p99_json, p99_text;
  for (int k = 0; k < kKinds; ++k) {
    if (first_third[k].count() == 0 || last_third[k].count() == 0) continue;
    const double a = first_third[k].PercentileMicros(0.99);
    const double b = last_third[k].PercentileMicros(0.99);
    const double ratio = a > 0 ? b / a : 0;
    const bool ok = b <= options.p99_ratio * a || b - a <= options.p99_slack_ms * 1000;
    p99_ok = p99_ok && ok;
    absl::StrAppend(&p99_json, p99_json.empty() ? "" : ",", "\"", kKindNames[k],
                    "\":{\"first_third_us\":", Json(a), ",\"last_third_us\":", Json(b),
                    ",\"ratio\":", absl::StrFormat("%.2f", ratio),
                    ",\"ok\":", ok ? "true" : "false", "}");
    absl::StrAppend(&p99_text, absl::StrFormat("\n  p99 %-9s %8.2f ms → %8.2f ms (×%.2f) %s",
                                               kKindNames[k], a / 1000, b / 1000, ratio,
                                               ok ? "stable" : "DRIFTED"));
  }
  const bool errors_ok = total_errors == 0;
  const bool feed_ok =
      followers.empty() || (gaps == 0 && out_of_order == 0 && failures == 0 && caught_up);
  const bool all_ok = rss_ok && fds_ok && p99_ok && errors_ok && feed_ok;

  int64_t operations = 0;
  std::string totals;
  for (int k = 0; k < kKinds; ++k) {
    operations += total_ops[k];
    absl::StrAppend(&totals, k == 0 ? "" : ",", "\"", kKindNames[k], "\":", total_ops[k]);
  }
  std::printf(
      "{\"kind\":\"soak_summary\",\"seconds\":%.1f,\"warmup_seconds\":%.1f,\"samples\":%zu,"
      "\"judged_samples\":%d,\"in_flight\":%d,\"rate\":%.1f,\"mix\":\"%s\","
      "\"operations\":%lld,\"operations_by_kind\":{%s},\"errors\":%lld,\"dossiers\":%lld,"
      "\"writes\":%lld,\"db_bytes_after_stop\":%lld,\"daemon_exit\":%d,"
      "\"rss\":{\"first_mb\":%.1f,\"last_mb\":%.1f,\"max_mb\":%.1f,\"growth_mb\":%.1f,"
      "\"allowed_mb\":%.1f,\"slope_mb_per_hour\":%.1f,\"ok\":%s},"
      "\"fds\":{\"first\":%d,\"last\":%d,\"min\":%d,\"max\":%d,\"ok\":%s},"
      "\"p99\":{%s,\"ok\":%s},"
      "\"feed\":{\"followers\":%zu,\"revisions\":[%s],\"max_behind\":%lld,\"gaps\":%lld,"
      "\"out_of_order\":%lld,\"failures\":%lld,\"caught_up\":%s,\"ok\":%s},"
      "\"ok\":%s}\n",
      options.seconds, options.warmup_seconds, samples.size(), judged_total, options.in_flight,
      options.rate, options.mix.c_str(), static_cast<long long>(operations), totals.c_str(),
      static_cast<long long>(total_errors), static_cast<long long>(shared.dossiers.load()),
      static_cast<long long>(acknowledged), static_cast<long long>(db_bytes), stop_code,
      first_mb, last_mb, rss_max_mb, last_mb - first_mb, allowed_mb, Slope(xs, ys),
      rss_ok ? "true" : "false", first->fds, last.fds, fd_min, fd_max,
      fds_ok ? "true" : "false", p99_json.empty() ? "\"none\":{}" : p99_json.c_str(),
      p99_ok ? "true" : "false", followers.size(), revisions.c_str(),
      static_cast<long long>(max_lag), static_cast<long long>(gaps),
      static_cast<long long>(out_of_order), static_cast<long long>(failures),
      caught_up ? "true" : "false", feed_ok ? "true" : "false", all_ok ? "true" : "false");
  std::fflush(stdout);

  std::fprintf(
      stderr,
      "soak summary (%.0f s, %zu samples, %d judged after %.0f s warm-up; %lld operations, "
      "%lld dossiers, %lld writes):\n"
      "  RSS       %.1f MB → %.1f MB (%+.1f MB; allowed max(%.0f MB, %.0f%% of first) = "
      "%.1f MB; slope %+.1f MB/h) %s\n"
      "  open fds  %d → %d (range %d–%d; allowed ±%d) %s%s\n"
      "  errors    %lld %s\n"
      "  feed      %zu follower(s), gaps %lld, out of order %lld, failures %lld%s, %s %s\n"
      "soak: %s\n",
      options.seconds, samples.size(), judged_total, options.warmup_seconds,
      static_cast<long long>(operations), static_cast<long long>(shared.dossiers.load()),
      static_cast<long long>(acknowledged), first_mb, last_mb, last_mb - first_mb,
      options.rss_growth_mb, options.rss_growth_fraction * 100, allowed_mb, Slope(xs, ys),
      rss_ok ? "flat" : "GREW", first->fds, last.fds, fd_min, fd_max, options.fd_tolerance,
      fds_ok ? "flat" : "CHANGED", p99_text.c_str(), static_cast<long long>(total_errors),
      errors_ok ? "ok" : "FAILED CALLS", followers.size(), static_cast<long long>(gaps),
      static_cast<long long>(out_of_order), static_cast<long long>(failures),
      first_failure.empty() ? "" : (" (first: " + first_failure + ")").c_str(),
      caught_up ? "caught up" : "DID NOT CATCH UP", feed_ok ? "ok" : "FAILED",
      all_ok ? "every verdict holds" : "VERDICT VIOLATED");
  return all_ok ? 0 : 3;
}

}  // namespace onestop::bench
