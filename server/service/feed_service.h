// FeedServiceImpl: onestop.v1.FeedService, the change feed (docs/FEED.md).
//
// Each WatchEvents call is a ServerWriteReactor driven by one application
// thread of its own (never a gRPC reaction thread, gRFC L67). The thread
// pulls batches from the store (ReadEvents), filters them, writes matching
// events one at a time (one write in flight), and when caught up sleeps in
// FeedNotifier::Await until a writer publishes a newer revision, the
// progress interval passes, the client cancels, or the server shuts down.
// Writers never wait for watchers: a slow consumer only falls behind, and is
// cancelled with OUT_OF_RANGE once more than `max_lag` revisions behind or
// once its position is compacted away; it resumes by revision.
//
// A background compactor thread applies `retain_events` every
// `compaction_interval` (real time).
//
// Ownership: `store`, `notifier` and whatever `catalogue` reads are not
// owned and must outlive the service. Thread safety: all public methods are
// thread-safe.
#ifndef ONESTOP_SERVER_SERVICE_FEED_SERVICE_H_
#define ONESTOP_SERVER_SERVICE_FEED_SERVICE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "onestop/v1/feed_service.grpc.pb.h"
#include "server/core/catalogue.h"
#include "storage/dossier_store.h"
#include "storage/feed_notifier.h"

namespace onestop::service {

struct FeedOptions {
  // Keep at least this many newest events; older ones are compacted away.
  // 0 = keep every event forever.
  int64_t retain_events = 10'000'000;
  // How often the background compactor runs (real time).
  absl::Duration compaction_interval = absl::Minutes(1);
  // An idle stream gets a Progress message this often (real time).
  absl::Duration progress_interval = absl::Seconds(5);
  // A watcher more revisions behind the newest than this is cancelled with
  // OUT_OF_RANGE.
  int64_t max_lag = 1'000'000;
  // Events read from the store per batch.
  int batch_size = 256;
  // Open watches allowed at once; more are RESOURCE_EXHAUSTED.
  int max_watches = 1000;
  // How often an open watch asks WatchAccess::recheck whether its caller
  // may still watch (real time): a revoked or expired token ends the
  // stream within about this long.
  absl::Duration recheck_interval = absl::Seconds(5);
};

// What one watcher may see, decided once when its watch starts.
struct WatchAccess {
  // False for a dossier whose events the watcher may not see (they are
  // skipped like filtered ones; progress still advances). Null: every one.
  std::function<bool(const onestop::v1::Dossier&)> may_see;
  // Mask the applicant's ID and phone numbers in delivered snapshots.
  bool mask_personal_data = false;
  // Held for the life of the watch (e.g. a per-principal stream slot).
  std::shared_ptr<void> hold;
  // Who watches (the principal's id), for the per-follower metrics; empty
  // if the gate does not say.
  std::string principal;
  // Asks again whether the watcher may go on (its token not revoked or
  // expired since the watch started); called every
  // FeedOptions::recheck_interval, between writes (a client that stops
  // reading is not asked until its pending write completes). An error ends
  // the watch with it, except UNAVAILABLE (the store busy), which is asked
  // again at the next interval. Null: never asked. It may borrow the call's
  // context: the watch calls it only from its own thread, before it
  // finishes.
  std::function<absl::Status()> recheck;
};

// One open watch as FeedServiceImpl::Followers() sees it.
struct FollowerSnapshot {
  // Numbers the service's watches 1, 2, … in the order they were opened.
  int64_t watch_id = 0;
  // WatchAccess::principal ("" if the gate gave none).
  std::string principal;
  // The newest revision the watch has dealt with: delivered, or skipped by
  // its filter or scope. start_revision − 1 until it has read anything.
  int64_t position = 0;
};

struct FeedSnapshot {
  // The newest committed revision the service knows of (the notifier's).
  int64_t last_revision = 0;
  // The admitted watches (past the gate and validation), by watch_id.
  std::vector<FollowerSnapshot> followers;
};

// One sample of onestop_feed_follower_lag_revisions.
struct FollowerLag {
  std::string principal;  // "unknown" for an empty principal; "other" for the rest
  std::string watch;      // the watch_id in decimal; "other" for the rest
  int64_t lag = 0;        // last_revision − position, at least 0
};

// The per-follower lag series of `snapshot` with bounded cardinality: the
// `max_series` oldest watches (lowest watch_id) one series each; if more
// are open, one more series {principal="other", watch="other"} carrying
// the largest lag among the rest (so max() over the family is exact).
std::vector<FollowerLag> FollowerLagSeries(const FeedSnapshot& snapshot, int max_series = 100);

// Admits a watch: authenticates and authorizes its caller (UNAUTHENTICATED,
// PERMISSION_DENIED, RESOURCE_EXHAUSTED end the stream at once). Runs on the
// watch's own thread, so it may block.
using WatchGate = std::function<absl::StatusOr<WatchAccess>(
    const grpc::CallbackServerContext& context, const onestop::v1::WatchEventsRequest& request)>;

class FeedServiceImpl final : public onestop::v1::FeedService::CallbackService {
 public:
  // Returns the catalogue in force (for agency subtrees); never null.
  using CatalogueSource = std::function<std::shared_ptr<const core::Catalogue>()>;

  // Starts the compactor thread. `store` should be the decorated store
  // whose writes publish to `notifier`. `gate` admits each watch (required).
  FeedServiceImpl(storage::DossierStore* store, storage::FeedNotifier* notifier,
                  CatalogueSource catalogue, WatchGate gate, const FeedOptions& options);
  // Calls Shutdown() and joins the compactor. Every watch must be done
  // (the gRPC server shut down and waited) before destruction.
  ~FeedServiceImpl() override;

  FeedServiceImpl(const FeedServiceImpl&) = delete;
  FeedServiceImpl& operator=(const FeedServiceImpl&) = delete;

  grpc::ServerWriteReactor<onestop::v1::WatchEventsResponse>* WatchEvents(
      grpc::CallbackServerContext* context,
      const onestop::v1::WatchEventsRequest* request) override;

  // Ends every open watch with UNAVAILABLE "server shutting down" (after
  // its in-flight write, if any, completes or is cancelled), refuses new
  // ones the same way, and stops the compactor. Does not wait. Idempotent.
  void Shutdown();

  // Deletes events older than the newest `retain_events` now; returns how
  // many. 0 without touching the store when retain_events is 0.
  absl::StatusOr<int64_t> CompactNow();

  // Watches whose reactor has not reached OnDone yet.
  int ActiveWatches() const;

  // The open watches' positions and the newest revision, for the
  // per-follower lag metric. Each watch publishes its position atomically
  // as it advances; the snapshot reads them without waiting for any watch.
  // Never blocks on I/O.
  FeedSnapshot Followers() const;

  // Blocks until ActiveWatches() == `count` or `timeout` passes; true if
  // reached. For tests and shutdown diagnostics.
  bool AwaitActiveWatches(int count, absl::Duration timeout) const;

 private:
  class Watch;
  // What a watch publishes for Followers(); shared by the watch and
  // watches_ so that a snapshot never touches a deleted Watch.
  struct WatchState;

  // Called by a Watch from OnDone.
  void WatchDone(int64_t watch_id);
  void CompactorLoop();

  storage::DossierStore* const store_;
  storage::FeedNotifier* const notifier_;
  const CatalogueSource catalogue_;
  const WatchGate gate_;
  const FeedOptions options_;

  mutable absl::Mutex mu_;
  int active_watches_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t next_watch_id_ ABSL_GUARDED_BY(mu_) = 1;
  std::map<int64_t, std::shared_ptr<WatchState>> watches_ ABSL_GUARDED_BY(mu_);
  bool shutting_down_ ABSL_GUARDED_BY(mu_) = false;
  std::atomic<bool> stopping_{false};  // mirrors shutting_down_ for watch predicates
  std::thread compactor_;
};

}  // namespace onestop::service

#endif  // ONESTOP_SERVER_SERVICE_FEED_SERVICE_H_
