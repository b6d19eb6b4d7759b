#include "server/service/feed_service.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "server/core/authorization.h"
#include "server/core/validation.h"
#include "server/service/status_mapping.h"
#include "server/util/error_info.h"
#include "server/util/log.h"

namespace onestop::service {
namespace {

using ::onestop::v1::DossierEvent;
using ::onestop::v1::WatchEventsRequest;
using ::onestop::v1::WatchEventsResponse;

// Trailing metadata key carrying the oldest retained revision with an
// OUT_OF_RANGE watch error.
constexpr char kOldestRevisionKey[] = "onestop-oldest-revision";

// Answers a refused watch at once.
class RefusedWatch final : public grpc::ServerWriteReactor<WatchEventsResponse> {
 public:
  explicit RefusedWatch(const grpc::Status& status) { Finish(status); }
  void OnDone() override { delete this; }
};

grpc::Status ShuttingDown() {
  return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                      "server shutting down; resume the watch from your last revision + 1");
}

}  // namespace

struct FeedServiceImpl::WatchState {
  explicit WatchState(int64_t watch_id) : id(watch_id) {}
  const int64_t id;
  // FollowerSnapshot::position; -1 until the watch is admitted.
  std::atomic<int64_t> position{-1};
  absl::Mutex mu;
  std::string principal ABSL_GUARDED_BY(mu);
};

// One WatchEvents stream and the thread that drives it. Deletes itself in
// OnDone.
class FeedServiceImpl::Watch final : public grpc::ServerWriteReactor<WatchEventsResponse> {
 public:
  Watch(FeedServiceImpl* service, grpc::CallbackServerContext* context,
        const WatchEventsRequest& request, std::shared_ptr<WatchState> state)
      : service_(service), context_(context), request_(request), state_(std::move(state)) {}

  void Start() {
    thread_ = std::thread([this] { Finish(Serve()); });  // touches nothing after Finish
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    write_in_flight_ = false;
    if (!ok) broken_ = true;
  }

  void OnCancel() override {
    cancelled_.store(true);
    service_->notifier_->Poke();
  }

  void OnDone() override {
    if (thread_.get_id() == std::this_thread::get_id()) {
      thread_.detach();  // OnDone ran inline in Finish on the watch thread
    } else {
      thread_.join();  // the thread's last act was Finish: a short wait
    }
    FeedServiceImpl* service = service_;
    const int64_t id = state_->id;
    delete this;
    service->WatchDone(id);
  }

 private:
  bool Stopping() const { return cancelled_.load() || service_->stopping_.load(); }

  grpc::Status StopStatus() const {
    if (cancelled_.load()) {
      return grpc::Status(grpc::StatusCode::CANCELLED, "the client cancelled the watch");
    }
    return ShuttingDown();
  }

  grpc::Status OutOfRange(const std::string& why, int64_t oldest) {
    context_->AddTrailingMetadata(kOldestRevisionKey, absl::StrCat(oldest));
    // The oldest revision also travels in the google.rpc ErrorInfo details
    // (metadata "oldest_revision") for clients that read details.
    return ToGrpcStatus(WithMetadata(
        absl::OutOfRangeError(absl::StrCat(
            why, "; the oldest available revision is ", oldest, ". Watch again from a revision >= ",
            oldest,
            " (events before it are gone: resynchronise changed dossiers from a listing first)")),
        "oldest_revision", absl::StrCat(oldest)));
  }

  // Sends one message and waits until it is written. False if the stream
  // broke (client gone).
  bool Write(const WatchEventsResponse& response) {
    {
      absl::MutexLock lock(&mu_);
      write_in_flight_ = true;
    }
    StartWrite(&response);
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](bool* in_flight) { return !*in_flight; }, &write_in_flight_));
    return !broken_;
  }

  bool SendProgress(int64_t revision) {
    WatchEventsResponse response;
    response.mutable_progress()->set_revision(revision);
    return Write(response);
  }

  grpc::Status Validate(const core::Catalogue& catalogue) {
    if (request_.start_revision() < 0) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          absl::StrCat("start_revision: ", request_.start_revision(),
                                       " is negative; use 0 for the oldest retained event"));
    }
    const onestop::v1::EventFilter& filter = request_.filter();
    for (const int action : filter.actions()) {
      if (!onestop::v1::ActionKind_IsValid(action) ||
          action == onestop::v1::ACTION_KIND_UNSPECIFIED) {
        return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                            absl::StrCat("filter.actions: ", action, " is not an action"));
      }
    }
    if (absl::Status status = core::ValidateText("filter.procedure_code", filter.procedure_code(),
                                                 core::kMaxCodeBytes, core::Requirement::kOptional);
        !status.ok()) {
      return ToGrpcStatus(status);
    }
    if (!filter.agency_code().empty() && catalogue.FindAgency(filter.agency_code()) == nullptr) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND,
                          absl::StrCat("filter.agency_code: agency ", filter.agency_code(),
                                       " is not in the catalogue"));
    }
    return grpc::Status::OK;
  }

  bool Matches(const core::Catalogue& catalogue, const absl::flat_hash_set<int>& actions,
               const DossierEvent& event) const {
    const onestop::v1::EventFilter& filter = request_.filter();
    if (!actions.empty() && !actions.contains(event.action())) return false;
    if (!filter.procedure_code().empty() &&
        event.dossier().procedure_code() != filter.procedure_code()) {
      return false;
    }
    if (!filter.agency_code().empty() &&
        !catalogue.IsInSubtree(event.dossier().receiving_agency_code(), filter.agency_code()) &&
        !catalogue.IsInSubtree(event.dossier().holder_agency_code(), filter.agency_code())) {
      return false;
    }
    return true;
  }

  grpc::Status Serve() {
    absl::StatusOr<WatchAccess> access = service_->gate_(*context_, request_);
    if (!access.ok()) return ToGrpcStatus(access.status());
    const std::shared_ptr<const core::Catalogue> catalogue = service_->catalogue_();
    if (grpc::Status status = Validate(*catalogue); !status.ok()) return status;
    const absl::flat_hash_set<int> actions(request_.filter().actions().begin(),
                                           request_.filter().actions().end());
    storage::DossierStore& store = *service_->store_;
    const FeedOptions& options = service_->options_;

    absl::StatusOr<int64_t> first = store.FirstRevision();
    if (!first.ok()) return ToGrpcStatus(first.status());
    // The next revision to examine.
    int64_t position = request_.start_revision() == 0 ? *first : request_.start_revision();
    if (position < *first) {
      return OutOfRange(absl::StrCat("revision ", position, " was compacted away"), *first);
    }
    {
      absl::MutexLock lock(&state_->mu);
      state_->principal = access->principal;
    }
    state_->position.store(position - 1);  // admitted: visible to Followers()
    bool live = false;  // caught up at least once
    absl::Time last_sent = absl::Now();
    absl::Time last_check = last_sent;
    while (true) {
      if (Stopping()) return StopStatus();
      if (access->recheck && absl::Now() >= last_check + options.recheck_interval) {
        const absl::Status still = access->recheck();
        last_check = absl::Now();
        if (!still.ok() && !absl::IsUnavailable(still)) {
          return ToGrpcStatus(absl::Status(
              still.code(), absl::StrCat("the watch was ended: ", still.message(),
                                         "; watch again with valid credentials from revision ",
                                         position)));
        }
      }
      if (live && service_->notifier_->revision() - (position - 1) > options.max_lag) {
        absl::StatusOr<int64_t> oldest = store.FirstRevision();
        return OutOfRange(absl::StrCat("the watch fell more than ", options.max_lag,
                                       " revisions behind (at revision ", position, ")"),
                          oldest.ok() ? std::max(*oldest, position) : position);
      }
      absl::StatusOr<std::vector<DossierEvent>> events =
          store.ReadEvents(position - 1, options.batch_size);
      if (!events.ok()) return ToGrpcStatus(events.status());
      if (!events->empty() && events->front().revision() > position) {
        absl::StatusOr<int64_t> oldest = store.FirstRevision();
        if (!oldest.ok()) return ToGrpcStatus(oldest.status());
        if (position < *oldest) {
          return OutOfRange(
              absl::StrCat("revision ", position, " was compacted away while the watch lagged"),
              *oldest);
        }
      }
      for (DossierEvent& event : *events) {
        if (Stopping()) return StopStatus();
        const int64_t revision = event.revision();
        position = revision + 1;
        if (Matches(*catalogue, actions, event) &&
            (!access->may_see || access->may_see(event.dossier()))) {
          if (access->mask_personal_data) core::MaskPersonalData(event.mutable_dossier());
          WatchEventsResponse response;
          *response.mutable_event() = std::move(event);
          if (!Write(response)) return StopStatus();
          last_sent = absl::Now();
        }
        state_->position.store(revision);  // delivered or skipped
      }
      if (static_cast<int>(events->size()) == options.batch_size) continue;  // more to replay

      // Caught up with everything committed so far.
      if (!live || absl::Now() >= last_sent + options.progress_interval) {
        live = true;
        if (!SendProgress(position - 1)) return StopStatus();
        last_sent = absl::Now();
      }
      absl::Time wake = last_sent + options.progress_interval;
      if (access->recheck) wake = std::min(wake, last_check + options.recheck_interval);
      service_->notifier_->Await(position, [this] { return Stopping(); }, wake);
    }
  }

  FeedServiceImpl* const service_;
  grpc::CallbackServerContext* const context_;
  const WatchEventsRequest request_;
  const std::shared_ptr<WatchState> state_;
  std::thread thread_;
  std::atomic<bool> cancelled_{false};
  absl::Mutex mu_;
  bool write_in_flight_ ABSL_GUARDED_BY(mu_) = false;
  bool broken_ ABSL_GUARDED_BY(mu_) = false;
};

FeedServiceImpl::FeedServiceImpl(storage::DossierStore* store, storage::FeedNotifier* notifier,
                                 CatalogueSource catalogue, WatchGate gate,
                                 const FeedOptions& options)
    : store_(store),
      notifier_(notifier),
      catalogue_(std::move(catalogue)),
      gate_(std::move(gate)),
      options_(options) {
  compactor_ = std::thread([this] { CompactorLoop(); });
}

FeedServiceImpl::~FeedServiceImpl() {
  Shutdown();
  compactor_.join();
}

grpc::ServerWriteReactor<WatchEventsResponse>* FeedServiceImpl::WatchEvents(
    grpc::CallbackServerContext* context, const WatchEventsRequest* request) {
  std::shared_ptr<WatchState> state;
  {
    absl::MutexLock lock(&mu_);
    if (shutting_down_) return new RefusedWatch(ShuttingDown());
    if (active_watches_ >= options_.max_watches) {
      return new RefusedWatch(grpc::Status(
          grpc::StatusCode::RESOURCE_EXHAUSTED,
          absl::StrCat("this server already serves ", active_watches_,
                       " watches (the limit); retry later or use another server")));
    }
    ++active_watches_;
    state = std::make_shared<WatchState>(next_watch_id_++);
    watches_.emplace(state->id, state);
  }
  Watch* watch = new Watch(this, context, *request, std::move(state));
  watch->Start();
  return watch;
}

void FeedServiceImpl::WatchDone(int64_t watch_id) {
  absl::MutexLock lock(&mu_);
  --active_watches_;
  watches_.erase(watch_id);
}

FeedSnapshot FeedServiceImpl::Followers() const {
  std::vector<std::shared_ptr<WatchState>> states;
  {
    absl::MutexLock lock(&mu_);
    states.reserve(watches_.size());
    for (const auto& [id, state] : watches_) states.push_back(state);
  }
  FeedSnapshot snapshot;
  for (const std::shared_ptr<WatchState>& state : states) {
    const int64_t position = state->position.load();
    if (position < 0) continue;  // not admitted (yet)
    FollowerSnapshot& follower = snapshot.followers.emplace_back();
    follower.watch_id = state->id;
    follower.position = position;
    absl::MutexLock lock(&state->mu);
    follower.principal = state->principal;
  }
  // Read after the positions, so that a lag is never understated by a
  // revision published in between (it may be overstated by one batch).
  snapshot.last_revision = notifier_->revision();
  return snapshot;
}

std::vector<FollowerLag> FollowerLagSeries(const FeedSnapshot& snapshot, int max_series) {
  std::vector<const FollowerSnapshot*> followers;
  followers.reserve(snapshot.followers.size());
  for (const FollowerSnapshot& follower : snapshot.followers) followers.push_back(&follower);
  std::sort(followers.begin(), followers.end(),
            [](const FollowerSnapshot* a, const FollowerSnapshot* b) {
              return a->watch_id < b->watch_id;
            });
  std::vector<FollowerLag> series;
  bool rest = false;
  int64_t rest_lag = 0;
  int emitted = 0;
  for (const FollowerSnapshot* pointer : followers) {
    const FollowerSnapshot& follower = *pointer;
    const int64_t lag = std::max<int64_t>(0, snapshot.last_revision - follower.position);
    if (emitted < max_series) {
      series.push_back({follower.principal.empty() ? "unknown" : follower.principal,
                        absl::StrCat(follower.watch_id), lag});
      ++emitted;
    } else {
      rest = true;
      rest_lag = std::max(rest_lag, lag);
    }
  }
  if (rest) series.push_back({"other", "other", rest_lag});
  return series;
}

void FeedServiceImpl::Shutdown() {
  {
    absl::MutexLock lock(&mu_);
    shutting_down_ = true;
    stopping_.store(true);
  }
  notifier_->Poke();
}

int FeedServiceImpl::ActiveWatches() const {
  absl::MutexLock lock(&mu_);
  return active_watches_;
}

bool FeedServiceImpl::AwaitActiveWatches(int count, absl::Duration timeout) const {
  struct Args {
    const FeedServiceImpl* self;
    int count;
  };
  Args args{this, count};
  absl::MutexLock lock(&mu_);
  return mu_.AwaitWithTimeout(absl::Condition(
                                  +[](Args* a) ABSL_NO_THREAD_SAFETY_ANALYSIS {
                                    return a->self->active_watches_ == a->count;
                                  },
                                  &args),
                              timeout);
}

absl::StatusOr<int64_t> FeedServiceImpl::CompactNow() {
  if (options_.retain_events <= 0) return 0;
  absl::StatusOr<int64_t> last = store_->LastRevision();
  if (!last.ok()) return last.status();
  const int64_t before = *last - options_.retain_events + 1;
  if (before <= 1) return 0;
  return store_->CompactEvents(before);
}

void FeedServiceImpl::CompactorLoop() {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      mu_.AwaitWithTimeout(absl::Condition(&shutting_down_), options_.compaction_interval);
      if (shutting_down_) return;
    }
    absl::StatusOr<int64_t> deleted = CompactNow();
    if (!deleted.ok()) {
      LogWarning("event compaction failed; retrying at the next interval",
                 {{"error", deleted.status().ToString()}});
    } else if (*deleted > 0) {
      LogInfo("compacted change-feed events", {{"deleted", absl::StrCat(*deleted)}});
    }
  }
}

}  // namespace onestop::service
