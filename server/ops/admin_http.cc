#include "server/ops/admin_http.h"

#include <httplib.h>
#include <sys/socket.h>

#include <thread>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace onestop::ops {

struct AdminHttpServer::Impl {
  httplib::Server server;
  AdminHttpHandlers handlers;
  std::thread thread;
};

absl::Status ParseHostPort(const std::string& host_port, std::string* host, int* port) {
  const size_t colon = host_port.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", host_port, "\" is not HOST:PORT (e.g. 127.0.0.1:7601)"));
  }
  std::string h = host_port.substr(0, colon);
  if (h.front() == '[') {
    if (h.size() < 3 || h.back() != ']') {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", host_port, "\": an IPv6 host is written [ADDR]:PORT"));
    }
    h = h.substr(1, h.size() - 2);
  } else if (h.find(':') != std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", host_port, "\": write an IPv6 host as [ADDR]:PORT"));
  }
  int p = 0;
  if (!absl::SimpleAtoi(host_port.substr(colon + 1), &p) || p < 0 || p > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", host_port, "\": the port must be a number from 0 to 65535"));
  }
  *host = std::move(h);
  *port = p;
  return absl::OkStatus();
}

AdminHttpServer::AdminHttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

AdminHttpServer::~AdminHttpServer() { Stop(); }

absl::StatusOr<std::unique_ptr<AdminHttpServer>> AdminHttpServer::Start(
    const AdminHttpOptions& options, AdminHttpHandlers handlers) {
  if (handlers.registry == nullptr) {
    return absl::InvalidArgumentError("admin HTTP server: no metrics registry");
  }
  std::string host;
  int port = 0;
  if (absl::Status s = ParseHostPort(options.listen, &host, &port); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("admin address ", s.message()));
  }
  auto impl = std::make_unique<Impl>();
  impl->handlers = std::move(handlers);
  httplib::Server& server = impl->server;
  // Without it every response waits ~40 ms for a delayed ACK.
  server.set_tcp_nodelay(true);
  const size_t threads = options.threads > 0 ? options.threads : 1;
  server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  // httplib's default sets SO_REUSEPORT, which would let a second daemon
  // bind the same port and silently share the scrapes. SO_REUSEADDR alone
  // still allows a quick restart over TIME_WAIT connections.
  server.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, reinterpret_cast<const void*>(&yes),
               sizeof(yes));
  });
  server.set_read_timeout(5, 0);
  server.set_write_timeout(5, 0);

  Impl* raw = impl.get();
  server.Get("/metrics", [raw](const httplib::Request&, httplib::Response& response) {
    response.set_content(raw->handlers.registry->RenderPrometheusText(),
                         "text/plain; version=0.0.4; charset=utf-8");
  });
  server.Get("/healthz", [](const httplib::Request&, httplib::Response& response) {
    response.set_content("ok\n", "text/plain; charset=utf-8");
  });
  server.Get("/readyz", [raw](const httplib::Request&, httplib::Response& response) {
    const absl::Status ready =
        raw->handlers.ready ? raw->handlers.ready() : absl::OkStatus();
    if (ready.ok()) {
      response.set_content("ready\n", "text/plain; charset=utf-8");
    } else {
      response.status = 503;
      response.set_content(absl::StrCat("not ready: ", ready.message(), "\n"),
                           "text/plain; charset=utf-8");
    }
  });

  if (port == 0) {
    port = server.bind_to_any_port(host);
    if (port < 0) port = 0;
  } else if (!server.bind_to_port(host, port)) {
    port = 0;
  }
  if (port == 0) {
    return absl::UnavailableError(absl::StrCat(
        "cannot bind the admin address ", options.listen,
        " (in use, or not an address of this machine)"));
  }
  impl->thread = std::thread([raw] { raw->server.listen_after_bind(); });
  // httplib's stop() is a no-op until the accept loop runs: wait for it so
  // an early Stop() cannot leave the thread serving forever. It starts at
  // once; this is a bounded start-up wait, not a poll for an outside event.
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (!raw->server.is_running() && absl::Now() < give_up) {
    absl::SleepFor(absl::Microseconds(200));
  }
  if (!raw->server.is_running()) {
    raw->server.stop();
    raw->thread.join();
    return absl::InternalError("the admin HTTP server did not start");
  }

  std::unique_ptr<AdminHttpServer> result(new AdminHttpServer(std::move(impl)));
  result->port_ = port;
  result->address_ = host.find(':') != std::string::npos
                         ? absl::StrCat("[", host, "]:", port)
                         : absl::StrCat(host, ":", port);
  return result;
}

void AdminHttpServer::Stop() {
  if (impl_ == nullptr || !impl_->thread.joinable()) return;
  impl_->server.stop();
  impl_->thread.join();
}

}  // namespace onestop::ops
