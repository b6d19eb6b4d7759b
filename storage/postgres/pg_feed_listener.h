// PgFeedListener: tells this daemon that a write committed through ANY
// daemon on the same PostgreSQL database, so its change-feed followers
// wake up (issue #11: live followers on one daemon see writes made through
// another, without polling the database).
//
// PostgresDossierStore queues `pg_notify('onestop_feed', revision)` in every
// write's transaction; PostgreSQL delivers it at COMMIT to every session
// that LISTENs. The listener owns one dedicated connection (not from the
// store's pool) that runs `LISTEN onestop_feed`, and one thread that
// blocks in poll() on that connection's socket (and on an eventfd that Stop
// signals) and calls the callback with each notified revision. The daemon
// passes storage::FeedNotifier::Publish; followers re-read the store after
// every wake-up, so coalesced or duplicate notifications are harmless.
//
// Notifications sent while the connection is down are lost, so after every
// (re)connect the listener LISTENs first and then reads
// feed_head.last_revision and calls the callback with it: nothing committed
// before the LISTEN is missed. A broken connection is reopened with
// exponential backoff (min_backoff doubling up to max_backoff). The
// database is never queried between notifications.
//
// Thread safety: Stop and the destructor may be called from any thread
// (not from the callback). The callback runs on the listener's thread, one
// call at a time; it must be quick and must not call Stop.
#ifndef ONESTOP_STORAGE_POSTGRES_PG_FEED_LISTENER_H_
#define ONESTOP_STORAGE_POSTGRES_PG_FEED_LISTENER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "storage/postgres/pg_util.h"

namespace onestop::storage {

struct PgFeedListenerOptions {
  // The database the stores write (as PostgresOptions::uri). Required.
  std::string uri = "";
  absl::Duration min_backoff = absl::Milliseconds(100);
  absl::Duration max_backoff = absl::Seconds(5);
};

class PgFeedListener {
 public:
  // Called with a committed revision (possibly one already reported).
  using Callback = std::function<void(int64_t revision)>;

  // Connects, LISTENs, reports feed_head through `callback` (on the calling
  // thread) and starts the listening thread. The store must have been
  // opened on the database first (it creates feed_head). Errors:
  //   INVALID_ARGUMENT    empty uri or null callback
  //   FAILED_PRECONDITION the server refuses the connection, or the
  //                       database has no dossier store schema
  //   UNAVAILABLE         the server cannot be reached
  static absl::StatusOr<std::unique_ptr<PgFeedListener>> Start(const PgFeedListenerOptions& options,
                                                               Callback callback);

  // Stops and joins the thread (Stop), then closes the connection.
  ~PgFeedListener();
  PgFeedListener(const PgFeedListener&) = delete;
  PgFeedListener& operator=(const PgFeedListener&) = delete;

  // Wakes the thread and waits for it to exit; no callback runs after Stop
  // returns. Idempotent.
  void Stop();

  // How many times a connection was established (1 after Start; more after
  // reconnects). For tests and metrics.
  int64_t connections() const { return connections_.load(); }

 private:
  PgFeedListener(PgFeedListenerOptions options, Callback callback, int wake_fd);

  // Opens a connection, LISTENs, and reports feed_head.
  absl::StatusOr<std::unique_ptr<pg::Connection>> Connect();
  // The thread: waits for notifications, reconnecting when needed.
  void Run(std::unique_ptr<pg::Connection> connection);
  // Blocks until the connection's socket is readable, Stop is called
  // (false), or `timeout` passes (infinite: no timeout). `socket` < 0 waits
  // for Stop or the timeout only.
  bool WaitReadable(int socket, absl::Duration timeout);

  const PgFeedListenerOptions options_;
  const Callback callback_;
  // An eventfd: Stop writes to it to wake poll().
  const int wake_fd_;
  std::atomic<bool> stopping_{false};
  std::atomic<int64_t> connections_{0};
  std::thread thread_;
};

}  // namespace onestop::storage

#endif  // ONESTOP_STORAGE_POSTGRES_PG_FEED_LISTENER_H_
