// LoadGenerator: a closed-loop gRPC load generator on the callback API.
//
// It opens `channels` channels (each its own TCP connection, so the server
// sees several connections as from several desks) and keeps `in_flight`
// operations outstanding across them: when one finishes, its slot starts
// the next at once, from the completion callback (never blocking a gRPC
// thread). An operation is whatever the workload says — one RPC, or a chain
// of RPCs such as a dossier's whole lifecycle — and its latency is measured
// from start to the workload's `done` call.
//
// Closed-loop on purpose: the targets are "throughput at K calls in flight"
// and the latency those calls see; an open-loop (fixed rate) generator
// would need a rate to be chosen per machine.
//
// Thread safety: Run() is called from one thread at a time; workloads are
// invoked concurrently from gRPC callback threads and must be thread-safe.
#ifndef ONESTOP_BENCH_LOAD_GENERATOR_H_
#define ONESTOP_BENCH_LOAD_GENERATOR_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "onestop/v1/dossier_service.grpc.pb.h"

namespace onestop::bench {

// Exact latency percentiles over recorded samples (nanoseconds). Samples
// are kept, not bucketed: a 10 s run at 100k ops/s is 8 MB, and exact
// p99s avoid arguing about bucket widths.
class LatencyHistogram {
 public:
  void Record(int64_t nanos) { samples_.push_back(nanos); }
  void Merge(const LatencyHistogram& other);
  int64_t count() const { return static_cast<int64_t>(samples_.size()); }
  // The q-quantile (0 ≤ q ≤ 1) in microseconds; 0 if empty. Sorts lazily.
  double PercentileMicros(double q);
  double MeanMicros() const;

 private:
  std::vector<int64_t> samples_;
  bool sorted_ = false;
};

// Called by a workload when its operation has finished; `ok` false counts
// an error (the operation's latency is not recorded).
using Done = std::function<void(bool ok)>;

// Starts one operation on `stub` and calls `done` exactly once when it
// ends. `slot` (0 ≤ slot < in_flight) and `sequence` (per slot, 0, 1, …)
// let workloads choose keys without shared state.
using Workload = std::function<void(onestop::v1::DossierService::Stub* stub, int slot,
                                    int64_t sequence, Done done)>;

struct LoadOptions {
  // HOST:PORT, or several comma-separated (several daemons sharing one
  // database): channel i connects to the (i mod n)-th, and slot j runs on
  // channel j mod channels, so the load is spread evenly when channels is a
  // multiple of n (with fewer channels than targets, the last go unused).
  std::string target;
  int channels = 4;
  int in_flight = 16;
  // The run ends after `duration` or after `max_operations` started
  // operations (0 = no limit), whichever comes first; calls in flight
  // then finish and are counted.
  absl::Duration duration = absl::Seconds(5);
  int64_t max_operations = 0;
  // Operations finished during the warm-up are not recorded (connections,
  // caches and thread pools settle first).
  absl::Duration warmup = absl::Milliseconds(500);
};

struct LoadResult {
  int in_flight = 0;
  int64_t operations = 0;  // recorded (after warm-up), successful
  int64_t errors = 0;      // recorded, failed
  double seconds = 0;      // measured interval (after warm-up)
  double ops_per_second = 0;
  double p50_us = 0;
  double p99_us = 0;
  double mean_us = 0;
};

// Runs `workload` as described above. INVALID_ARGUMENT for bad options;
// UNAVAILABLE if a channel cannot connect within 10 s.
absl::StatusOr<LoadResult> RunLoad(const LoadOptions& options, const Workload& workload);

}  // namespace onestop::bench

#endif  // ONESTOP_BENCH_LOAD_GENERATOR_H_
