// FeedNotifier: tells change-feed watchers that a new revision committed.
//
// Writers (NotifyingDossierStore) Publish each committed revision; a watcher
// thread blocks in Await until the published revision reaches what it
// needs, its own stop predicate turns true (cancelled, shutting down), or a
// deadline passes. Writers never wait for watchers: Publish takes one mutex
// briefly and returns (absl::Mutex re-evaluates the waiters' conditions).
//
// A watcher never relies on a notification alone: it re-reads the store
// after every wake-up, so a lost or coalesced notification only delays,
// never drops, an event.
//
// Thread safety: all methods are thread-safe. Await blocks: call it from an
// application thread, never from a gRPC reaction.
#ifndef ONESTOP_STORAGE_FEED_NOTIFIER_H_
#define ONESTOP_STORAGE_FEED_NOTIFIER_H_

#include <atomic>
#include <cstdint>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace onestop::storage {

class FeedNotifier {
 public:
  // `initial_revision` is the last revision committed before any Publish
  // (the store's LastRevision()).
  explicit FeedNotifier(int64_t initial_revision = 0)
      : revision_(initial_revision), published_(initial_revision) {}

  FeedNotifier(const FeedNotifier&) = delete;
  FeedNotifier& operator=(const FeedNotifier&) = delete;

  // Records that `revision` committed and wakes the waiters it satisfies.
  // The published revision never decreases (a lower or equal one is
  // ignored without taking the lock: the SQLite writer publishes once per
  // write of a batch, all but the first with the batch's revision again).
  void Publish(int64_t revision);

  // Wakes every waiter so it re-evaluates its stop predicate (call after
  // changing what the predicate reads).
  void Poke();

  // The highest published revision.
  int64_t revision() const;

  // Blocks until revision() >= `min_revision`, `stop()` returns true, or
  // `deadline` passes; returns revision() then. `stop` is called with an
  // internal lock held: it must be cheap and must not call this notifier.
  int64_t Await(int64_t min_revision, absl::FunctionRef<bool()> stop, absl::Time deadline);

 private:
  mutable absl::Mutex mu_;
  int64_t revision_ ABSL_GUARDED_BY(mu_);
  // revision_'s value, readable without mu_ (written under it).
  std::atomic<int64_t> published_;
};

}  // namespace onestop::storage

#endif  // ONESTOP_STORAGE_FEED_NOTIFIER_H_
