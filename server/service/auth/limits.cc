#include "server/service/auth/limits.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/strip.h"
#include "absl/strings/str_cat.h"

namespace onestop::service::auth {

RateLimiter::RateLimiter(const Clock* clock, RateLimiterOptions options)
    : clock_(clock), options_(options) {}

void RateLimiter::RefillLocked(Bucket& bucket, absl::Time now) const {
  if (now <= bucket.updated) return;
  const double earned = absl::FDivDuration(now - bucket.updated, options_.refill_interval);
  bucket.tokens = std::min<double>(options_.burst, bucket.tokens + earned);
  bucket.updated = now;
}

void RateLimiter::PruneLocked(absl::Time now) {
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    RefillLocked(it->second, now);
    if (it->second.tokens >= options_.burst) {
      buckets_.erase(it++);
    } else {
      ++it;
    }
  }
  while (buckets_.size() >= options_.max_keys && !buckets_.empty()) {
    auto oldest = buckets_.begin();
    for (auto it = buckets_.begin(); it != buckets_.end(); ++it) {
      if (it->second.last_used < oldest->second.last_used) oldest = it;
    }
    buckets_.erase(oldest);
  }
}

bool RateLimiter::TryAcquire(const std::string& key) {
  const absl::Time now = clock_->Now();
  absl::MutexLock lock(&mu_);
  auto it = buckets_.find(key);
  if (it == buckets_.end()) {
    if (buckets_.size() >= options_.max_keys) PruneLocked(now);
    it = buckets_.emplace(key, Bucket{static_cast<double>(options_.burst), now, now}).first;
  }
  Bucket& bucket = it->second;
  RefillLocked(bucket, now);
  bucket.last_used = now;
  if (bucket.tokens < 1) return false;
  bucket.tokens -= 1;
  return true;
}

std::string ClientAddressFromPeer(absl::string_view peer) {
  if (absl::ConsumePrefix(&peer, "ipv4:")) {
    const size_t colon = peer.rfind(':');
    return std::string(colon == absl::string_view::npos ? peer : peer.substr(0, colon));
  }
  if (absl::ConsumePrefix(&peer, "ipv6:")) {
    if (absl::StartsWith(peer, "[")) {
      const size_t end = peer.find(']');
      if (end != absl::string_view::npos) return std::string(peer.substr(1, end - 1));
    }
    return std::string(peer);
  }
  return std::string(peer);
}

StreamLease::~StreamLease() { limiter_->Release(principal_id_); }

StreamLimiter::StreamLimiter(StreamLimiterOptions options) : options_(options) {}

absl::StatusOr<std::unique_ptr<StreamLease>> StreamLimiter::Acquire(
    const std::string& principal_id) {
  absl::MutexLock lock(&mu_);
  int& open = open_[principal_id];
  if (open >= options_.max_streams_per_principal) {
    return absl::ResourceExhaustedError(
        absl::StrCat(principal_id, " already has ", open, " streams open (the limit); close one "
                     "first"));
  }
  ++open;
  return std::unique_ptr<StreamLease>(new StreamLease(this, principal_id));
}

int StreamLimiter::open(const std::string& principal_id) const {
  absl::MutexLock lock(&mu_);
  const auto it = open_.find(principal_id);
  return it == open_.end() ? 0 : it->second;
}

void StreamLimiter::Release(const std::string& principal_id) {
  absl::MutexLock lock(&mu_);
  auto it = open_.find(principal_id);
  if (it == open_.end()) return;
  if (--it->second <= 0) open_.erase(it);
}

}  // namespace onestop::service::auth
