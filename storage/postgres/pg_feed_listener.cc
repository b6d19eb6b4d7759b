#include "storage/postgres/pg_feed_listener.h"

#include <libpq-fe.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "server/util/status_macros.h"

namespace onestop::storage {

absl::StatusOr<std::unique_ptr<PgFeedListener>> PgFeedListener::Start(
    const PgFeedListenerOptions& options, Callback callback) {
  if (options.uri.empty() || !callback) {
    return absl::InvalidArgumentError("the feed listener needs a PostgreSQL URI and a callback");
  }
  const int wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd < 0) {
    return absl::InternalError(absl::StrCat("eventfd failed: ", std::strerror(errno)));
  }
  std::unique_ptr<PgFeedListener> listener(
      new PgFeedListener(options, std::move(callback), wake_fd));
  absl::StatusOr<std::unique_ptr<pg::Connection>> connection = listener->Connect();
  if (!connection.ok()) {
    if (connection.status().code() == absl::StatusCode::kInternal) {
      // e.g. feed_head missing: not a dossier store database (yet).
      return absl::FailedPreconditionError(
          absl::StrCat("PostgreSQL at ", pg::RedactUri(options.uri),
                       " has no dossier store schema; open the store first (",
                       connection.status().message(), ")"));
    }
    return connection.status();
  }
  PgFeedListener* raw = listener.get();
  listener->thread_ =
      std::thread([raw, first = *std::move(connection)]() mutable { raw->Run(std::move(first)); });
  return listener;
}

PgFeedListener::PgFeedListener(PgFeedListenerOptions options, Callback callback, int wake_fd)
    : options_(std::move(options)), callback_(std::move(callback)), wake_fd_(wake_fd) {}

PgFeedListener::~PgFeedListener() {
  Stop();
  close(wake_fd_);
}

void PgFeedListener::Stop() {
  stopping_.store(true);
  const uint64_t one = 1;
  // Cannot fail short of a counter overflow; the flag is set regardless.
  [[maybe_unused]] const ssize_t written = write(wake_fd_, &one, sizeof(one));
  if (thread_.joinable()) thread_.join();
}

absl::StatusOr<std::unique_ptr<pg::Connection>> PgFeedListener::Connect() {
  ONESTOP_ASSIGN_OR_RETURN(std::unique_ptr<pg::Connection> connection,
                           pg::Connection::Open(options_.uri));
  ONESTOP_RETURN_IF_ERROR(
      connection->ExecScript("SET application_name = 'onestop-feed-listener'; LISTEN onestop_feed",
                             "listening for feed notifications"));
  // After LISTEN: every commit from now on is notified, every earlier one
  // is counted in feed_head.
  ONESTOP_ASSIGN_OR_RETURN(
      const int64_t head, connection->QueryInt64("SELECT last_revision FROM feed_head WHERE id = 1",
                                                 {}, "reading the feed head"));
  connections_.fetch_add(1);
  callback_(head);
  return connection;
}

bool PgFeedListener::WaitReadable(int socket, absl::Duration timeout) {
  pollfd fds[2] = {{wake_fd_, POLLIN, 0}, {socket, POLLIN, 0}};
  const int count = socket >= 0 ? 2 : 1;
  const int timeout_ms = timeout == absl::InfiniteDuration()
                             ? -1
                             : static_cast<int>(absl::ToInt64Milliseconds(timeout));
  while (!stopping_.load()) {
    const int ready = poll(fds, count, timeout_ms);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return false;  // timeout (or a poll failure: reconnect)
    if (fds[0].revents != 0) return false;
    return true;
  }
  return false;
}

void PgFeedListener::Run(std::unique_ptr<pg::Connection> connection) {
  absl::Duration backoff = options_.min_backoff;
  while (!stopping_.load()) {
    if (connection == nullptr) {
      WaitReadable(-1, backoff);
      if (stopping_.load()) return;
      absl::StatusOr<std::unique_ptr<pg::Connection>> reconnected = Connect();
      if (!reconnected.ok()) {
        backoff = std::min(backoff * 2, options_.max_backoff);
        continue;
      }
      connection = *std::move(reconnected);
      backoff = options_.min_backoff;
    }
    // Deliver what libpq has already read (e.g. during Connect's queries).
    pg_conn* raw = connection->raw();
    while (PGnotify* notify = PQnotifies(raw)) {
      int64_t revision = 0;
      const bool parsed = absl::SimpleAtoi(notify->extra, &revision);
      PQfreemem(notify);
      if (parsed) callback_(revision);
    }
    if (!WaitReadable(connection->socket(), absl::InfiniteDuration())) {
      if (stopping_.load()) return;
      connection.reset();  // poll failed: start over
      continue;
    }
    if (PQconsumeInput(raw) == 0 || !connection->healthy()) {
      connection.reset();  // the server went away: reconnect after a backoff
    }
  }
}

}  // namespace onestop::storage
