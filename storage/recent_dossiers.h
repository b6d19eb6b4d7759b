// The dossiers a store updated most recently, as committed, so that reading
// a dossier that is being worked on needs no database read: every step of
// a desk's workflow (accept, hand over, decide, …) reads the dossier it is
// about to change, usually just after the previous step wrote it. Under a
// steady write load a SQLite read connection also finds its page cache
// reset by every commit, so such a read was ~25 % of the executors' time in
// the benchmark's lifecycle (docs/PERFORMANCE.md). New dossiers are not
// kept: most are next read once, by their first step, and keeping every
// submission cost the submit path a copy and an eviction per write.
//
// Only the store's one writer calls Put and Erase: it erases the codes a
// batch updates before its COMMIT and puts their new versions after it
// succeeds, in commit order. An entry is thus always the latest committed
// version of its code, and a reader that misses goes to the database, so a
// read never returns a version older than one committed before it started. Bounded: the entry
// written least recently is dropped. Meant for a backend whose process is
// the only writer of its database (SQLite's lock file guarantees it);
// several PostgreSQL daemons cannot use it.
//
// Thread safety: all methods may be called concurrently.
#ifndef ONESTOP_STORAGE_RECENT_DOSSIERS_H_
#define ONESTOP_STORAGE_RECENT_DOSSIERS_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "onestop/v1/dossier.pb.h"

namespace onestop::storage {

struct RecentDossierStats {
  int64_t hits = 0;    // Find calls that found the code
  int64_t misses = 0;  // … that did not
  int64_t entries = 0;
};

class RecentDossiers {
 public:
  // Keeps at most `capacity` dossiers; 0 keeps none (Find always misses).
  explicit RecentDossiers(size_t capacity) : capacity_(capacity) {}
  RecentDossiers(const RecentDossiers&) = delete;
  RecentDossiers& operator=(const RecentDossiers&) = delete;

  // Records `dossier` (with its full history, as the store's Get returns
  // it) as the latest committed version of its code. A version whose etag
  // is not above the kept one's is ignored.
  void Put(std::shared_ptr<const onestop::v1::Dossier> dossier);
  // The kept version of `code`, or null. kSkip leaves a miss uncounted:
  // for a look that a counted one follows (SqliteDossierStore::
  // GetFromMemory, then Get), so each read counts once.
  enum class MissCount { kCount, kSkip };
  std::shared_ptr<const onestop::v1::Dossier> Find(const std::string& code,
                                                   MissCount miss = MissCount::kCount);
  // Drops `code`: the writer drops the kept version of a dossier before it
  // commits a newer one, so that no reader finds the old version once the
  // new one is visible in the database.
  void Erase(const std::string& code);

  size_t capacity() const { return capacity_; }
  RecentDossierStats stats() const;

 private:
  struct Entry {
    std::shared_ptr<const onestop::v1::Dossier> dossier;
    std::list<std::string>::iterator position;  // in order_
  };

  const size_t capacity_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Entry> entries_ ABSL_GUARDED_BY(mu_);
  std::list<std::string> order_ ABSL_GUARDED_BY(mu_);  // most recently updated first
  std::atomic<int64_t> hits_{0};
  std::atomic<int64_t> misses_{0};
};

}  // namespace onestop::storage

#endif  // ONESTOP_STORAGE_RECENT_DOSSIERS_H_
