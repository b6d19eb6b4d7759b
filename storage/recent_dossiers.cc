#include "storage/recent_dossiers.h"

#include <utility>

namespace onestop::storage {

void RecentDossiers::Put(std::shared_ptr<const onestop::v1::Dossier> dossier) {
  if (capacity_ == 0 || dossier == nullptr) return;
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(dossier->code());
  if (it != entries_.end()) {
    if (dossier->etag() <= it->second.dossier->etag()) return;
    it->second.dossier = std::move(dossier);
    order_.splice(order_.begin(), order_, it->second.position);
    return;
  }
  order_.push_front(dossier->code());
  entries_.emplace(order_.front(), Entry{std::move(dossier), order_.begin()});
  if (entries_.size() > capacity_) {
    entries_.erase(order_.back());
    order_.pop_back();
  }
}

std::shared_ptr<const onestop::v1::Dossier> RecentDossiers::Find(const std::string& code,
                                                                 MissCount miss) {
  std::shared_ptr<const onestop::v1::Dossier> found;
  {
    absl::ReaderMutexLock lock(&mu_);
    auto it = entries_.find(code);
    if (it != entries_.end()) found = it->second.dossier;
  }
  if (found != nullptr) {
    hits_.fetch_add(1, std::memory_order_relaxed);
  } else if (miss == MissCount::kCount) {
    misses_.fetch_add(1, std::memory_order_relaxed);
  }
  return found;
}

void RecentDossiers::Erase(const std::string& code) {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(code);
  if (it == entries_.end()) return;
  order_.erase(it->second.position);
  entries_.erase(it);
}

RecentDossierStats RecentDossiers::stats() const {
  RecentDossierStats stats;
  stats.hits = hits_.load(std::memory_order_relaxed);
  stats.misses = misses_.load(std::memory_order_relaxed);
  absl::ReaderMutexLock lock(&mu_);
  stats.entries = static_cast<int64_t>(entries_.size());
  return stats;
}

}  // namespace onestop::storage
