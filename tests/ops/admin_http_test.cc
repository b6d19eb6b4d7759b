// The admin HTTP listener on a free loopback port: /metrics renders the
// registry with the exposition content type, /healthz is always ok,
// /readyz follows the readiness check, unknown paths are 404.
#include "server/ops/admin_http.h"

#include <httplib.h>

#include <atomic>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/testing/status_matchers.h"

namespace onestop::ops {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using testing::StatusIs;

class AdminHttpTest : public ::testing::Test {
 protected:
  void Start() {
    AdminHttpOptions options;
    options.listen = "127.0.0.1:0";
    AdminHttpHandlers handlers;
    handlers.registry = &registry_;
    handlers.ready = [this]() -> absl::Status {
      if (ready_.load()) return absl::OkStatus();
      return absl::UnavailableError("database unreachable: disk I/O error");
    };
    auto server = AdminHttpServer::Start(options, std::move(handlers));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
    client_->set_tcp_nodelay(true);
  }

  MetricsRegistry registry_;
  std::atomic<bool> ready_{true};
  std::unique_ptr<AdminHttpServer> server_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(AdminHttpTest, ServesMetricsInTheTextFormat) {
  auto counter = registry_.AddCounter("onestop_test_total", "A test counter.", {"k"});
  ASSERT_TRUE(counter.ok());
  (*counter)->Add({"v"}, 5);
  Start();
  EXPECT_GT(server_->port(), 0);
  EXPECT_EQ(server_->address(), "127.0.0.1:" + std::to_string(server_->port()));

  auto response = client_->Get("/metrics");
  ASSERT_TRUE(response) << httplib::to_string(response.error());
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->get_header_value("Content-Type"),
            "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_THAT(response->body, HasSubstr("# TYPE onestop_test_total counter\n"
                                        "onestop_test_total{k=\"v\"} 5\n"));
}

TEST_F(AdminHttpTest, HealthzIsAlwaysOk) {
  ready_ = false;
  Start();
  auto response = client_->Get("/healthz");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "ok\n");
}

TEST_F(AdminHttpTest, ReadyzFollowsTheReadinessCheck) {
  Start();
  auto ready = client_->Get("/readyz");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200);
  EXPECT_EQ(ready->body, "ready\n");

  ready_ = false;
  auto not_ready = client_->Get("/readyz");
  ASSERT_TRUE(not_ready);
  EXPECT_EQ(not_ready->status, 503);
  EXPECT_EQ(not_ready->body, "not ready: database unreachable: disk I/O error\n");
}

TEST_F(AdminHttpTest, UnknownPathIsNotFound) {
  Start();
  auto response = client_->Get("/debug/secrets");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 404);
}

TEST_F(AdminHttpTest, StopClosesThePortAndIsIdempotent) {
  Start();
  const int port = server_->port();
  server_->Stop();
  server_->Stop();
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(1, 0);
  auto response = client.Get("/healthz");
  EXPECT_FALSE(response) << "still answering after Stop()";
}

TEST(AdminHttpStartTest, RejectsMalformedAddressesAndBusyPorts) {
  MetricsRegistry registry;
  AdminHttpHandlers handlers;
  handlers.registry = &registry;
  AdminHttpOptions options;
  for (const char* bad : {"localhost", ":7601", "127.0.0.1:70000", "::1:7601", "[::1:7601"}) {
    options.listen = bad;
    EXPECT_THAT(AdminHttpServer::Start(options, handlers),
                StatusIs(absl::StatusCode::kInvalidArgument))
        << bad;
  }
  EXPECT_THAT(AdminHttpServer::Start({}, AdminHttpHandlers{}),
              StatusIs(absl::StatusCode::kInvalidArgument));

  options.listen = "127.0.0.1:0";
  auto first = AdminHttpServer::Start(options, handlers);
  ASSERT_TRUE(first.ok()) << first.status();
  options.listen = (*first)->address();
  EXPECT_THAT(AdminHttpServer::Start(options, handlers),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr((*first)->address())));
}

TEST(ParseHostPortTest, AcceptsIpv4HostnamesAndBracketedIpv6) {
  std::string host;
  int port = -1;
  ASSERT_TRUE(ParseHostPort("127.0.0.1:7601", &host, &port).ok());
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(port, 7601);
  ASSERT_TRUE(ParseHostPort("[::1]:0", &host, &port).ok());
  EXPECT_EQ(host, "::1");
  EXPECT_EQ(port, 0);
  ASSERT_TRUE(ParseHostPort("localhost:80", &host, &port).ok());
  EXPECT_THAT(host, StartsWith("localhost"));
}

}  // namespace
}  // namespace onestop::ops
