// AdminHttpServer: the operator's HTTP listener beside the gRPC port.
//
//   GET /metrics  200, the registry in the Prometheus text format
//                 (Content-Type: text/plain; version=0.0.4; charset=utf-8)
//   GET /healthz  200 "ok" while the process serves HTTP at all (liveness)
//   GET /readyz   200 "ready" if the readiness check passes, else 503
//                 "not ready: REASON" (database reachable, config loaded)
//   anything else 404
//
// It serves plain HTTP with no authentication: keep it on a loopback
// address (the default) or a private network. Refusing a public address is
// the caller's policy (onestopd's --admin-listen).
//
// Built on Debian's cpp-httplib, with its own small thread pool.
// Ownership: does not own the registry, which must outlive the server.
// Thread safety: Stop() and the accessors may be called from any thread;
// the readiness check runs on the server's threads, possibly concurrently.
#ifndef ONESTOP_SERVER_OPS_ADMIN_HTTP_H_
#define ONESTOP_SERVER_OPS_ADMIN_HTTP_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/ops/metrics.h"

namespace onestop::ops {

struct AdminHttpOptions {
  // HOST:PORT ("[::1]:PORT" for IPv6). Port 0 picks a free port.
  std::string listen = "127.0.0.1:7601";
  // Threads answering requests.
  int threads = 2;
};

struct AdminHttpHandlers {
  // Rendered on /metrics; not owned, non-null.
  const MetricsRegistry* registry = nullptr;
  // /readyz: OK means ready; otherwise the status message is the reason.
  // Null means always ready.
  std::function<absl::Status()> ready;
};

class AdminHttpServer {
 public:
  // Binds and starts serving on a thread of its own. INVALID_ARGUMENT for a
  // malformed address or a null registry; UNAVAILABLE if the address cannot
  // be bound (in use, not local).
  static absl::StatusOr<std::unique_ptr<AdminHttpServer>> Start(
      const AdminHttpOptions& options, AdminHttpHandlers handlers);

  // Stops (see Stop()).
  ~AdminHttpServer();
  AdminHttpServer(const AdminHttpServer&) = delete;
  AdminHttpServer& operator=(const AdminHttpServer&) = delete;

  // "HOST:PORT" with the bound port.
  const std::string& address() const { return address_; }
  int port() const { return port_; }

  // Stops accepting, waits for the serving thread. Idempotent.
  void Stop();

 private:
  struct Impl;
  explicit AdminHttpServer(std::unique_ptr<Impl> impl);

  std::unique_ptr<Impl> impl_;
  std::string address_;
  int port_ = 0;
};

// Splits "HOST:PORT" or "[V6]:PORT" into host (brackets removed) and port.
// INVALID_ARGUMENT if malformed or the port is outside 0–65535.
absl::Status ParseHostPort(const std::string& host_port, std::string* host, int* port);

}  // namespace onestop::ops

#endif  // ONESTOP_SERVER_OPS_ADMIN_HTTP_H_
