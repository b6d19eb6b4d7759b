// Abuse limits: a per-client-address token bucket (the citizens' lookup)
// and a per-principal cap on concurrent streams (WatchEvents).
#ifndef ONESTOP_SERVER_SERVICE_AUTH_LIMITS_H_
#define ONESTOP_SERVER_SERVICE_AUTH_LIMITS_H_

#include <cstddef>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/util/clock.h"

namespace onestop::service::auth {

struct RateLimiterOptions {
  // Calls allowed at once from a fresh address.
  int burst = 10;
  // One more call is allowed per interval (default: 10 a minute).
  absl::Duration refill_interval = absl::Seconds(6);
  // Addresses tracked at most; beyond, full buckets are dropped first, then
  // the least recently used.
  size_t max_keys = 10000;
};

// A token bucket per key (a client address). Thread-safe.
class RateLimiter {
 public:
  // `clock` is not owned and must outlive the limiter.
  RateLimiter(const Clock* clock, RateLimiterOptions options);

  // Takes one token from `key`'s bucket: true if there was one.
  bool TryAcquire(const std::string& key);

 private:
  struct Bucket {
    double tokens = 0;
    absl::Time updated;    // tokens were computed at this instant
    absl::Time last_used;  // for eviction
  };
  void RefillLocked(Bucket& bucket, absl::Time now) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void PruneLocked(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Clock* const clock_;
  const RateLimiterOptions options_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Bucket> buckets_ ABSL_GUARDED_BY(mu_);
};

// The address part of a gRPC peer string: "ipv4:10.0.0.5:51234" →
// "10.0.0.5", "ipv6:[::1]:51234" → "::1"; anything else unchanged. Behind
// a proxy every client shares the proxy's address (docs/SECURITY.md).
std::string ClientAddressFromPeer(absl::string_view peer);

struct StreamLimiterOptions {
  int max_streams_per_principal = 8;
};

class StreamLimiter;

// One open stream; releases its slot when destroyed. Must not outlive the
// limiter that issued it.
class StreamLease {
 public:
  ~StreamLease();
  StreamLease(const StreamLease&) = delete;
  StreamLease& operator=(const StreamLease&) = delete;

 private:
  friend class StreamLimiter;
  StreamLease(StreamLimiter* limiter, std::string principal_id)
      : limiter_(limiter), principal_id_(std::move(principal_id)) {}
  StreamLimiter* const limiter_;
  const std::string principal_id_;
};

// Counts open streams per principal. Thread-safe.
class StreamLimiter {
 public:
  explicit StreamLimiter(StreamLimiterOptions options);

  // A slot for one more stream of `principal_id`, or RESOURCE_EXHAUSTED
  // ("clerk.x already has 8 streams open (the limit); close one first").
  absl::StatusOr<std::unique_ptr<StreamLease>> Acquire(const std::string& principal_id);

  int open(const std::string& principal_id) const;

 private:
  friend class StreamLease;
  void Release(const std::string& principal_id);

  const StreamLimiterOptions options_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, int> open_ ABSL_GUARDED_BY(mu_);
};

}  // namespace onestop::service::auth

#endif  // ONESTOP_SERVER_SERVICE_AUTH_LIMITS_H_
