// The metrics interceptor on a real in-process gRPC server (the admin
// service over a real database, with a real caller's token): counters by
// method and code, the latency histogram, and the per-RPC and slow-RPC log
// lines.
#include "server/ops/grpc_metrics_interceptor.h"

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <variant>
#include <vector>

#include <google/protobuf/text_format.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "onestop/v1/dossier_service.grpc.pb.h"
#include "server/service/admin_service.h"
#include "server/service/auth/access_guard.h"
#include "server/service/auth/authenticator.h"
#include "server/service/executor.h"
#include "server/util/clock.h"
#include "server/util/log.h"
#include "storage/sqlite/sqlite_dossier_store.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_auth.h"
#include "tests/testing/test_config.h"

namespace onestop::ops {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kAdmin[] = "onestop.v1.AdminService";

class InterceptorTest : public ::testing::Test {
 protected:
  void Start(GrpcMetricsOptions options) {
    auto metrics = GrpcMetrics::Create(&registry_, std::move(options));
    ASSERT_TRUE(metrics.ok()) << metrics.status();
    metrics_ = std::move(*metrics);
    auto store = storage::SqliteDossierStore::Open(
        {.path = dir_.File("onestop.db"), .durability = storage::Durability::kNormal});
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    auth_ = testing::MustOpenTestAuth(dir_.File("onestop.db"));
    onestop::v1::Principal admin;
    admin.set_id("admin");
    onestop::v1::Grant* grant = admin.add_grants();
    grant->set_role(onestop::v1::ROLE_ADMIN);
    grant->set_agency_code("000.00.00.H15");
    const std::string token = testing::MustToken(auth_->TokenFor(admin));
    authenticator_ = std::make_unique<service::auth::Authenticator>(
        auth_->store(), SystemClock::Get(), service::auth::AuthenticatorOptions());
    onestop::config::v1::Config config;
    ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(testing::kTestConfig, &config));
    auto built = core::Catalogue::Build(config);
    ASSERT_TRUE(std::holds_alternative<std::shared_ptr<const core::Catalogue>>(built));
    guard_ = std::make_unique<service::auth::AccessGuard>(
        authenticator_.get(), auth_->store(),
        [catalogue = std::get<std::shared_ptr<const core::Catalogue>>(built)] { return catalogue; },
        SystemClock::Get());
    service_ = std::make_unique<service::AdminServiceImpl>(SystemClock::Get(), nullptr, nullptr,
                                                           &executor_, guard_.get());
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(service_.get());
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
    creators.push_back(metrics_->NewInterceptorFactory());
    builder.experimental().SetInterceptorCreators(std::move(creators));
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = v1::AdminService::NewStub(
        testing::AuthorizedChannel("127.0.0.1:" + std::to_string(port), token));
  }

  grpc::Status GetClock() {
    grpc::ClientContext context;
    v1::GetClockResponse response;
    return stub_->GetClock(&context, v1::GetClockRequest(), &response);
  }
  grpc::Status SetClock() {
    grpc::ClientContext context;
    v1::SetClockResponse response;
    return stub_->SetClock(&context, v1::SetClockRequest(), &response);
  }

  void TearDown() override {
    if (server_) server_->Shutdown();
    ConfigureLogging(LogOptions());
  }

  testing::TempDir dir_;
  std::unique_ptr<storage::SqliteDossierStore> store_;
  std::unique_ptr<testing::TestAuth> auth_;
  std::unique_ptr<service::auth::Authenticator> authenticator_;
  std::unique_ptr<service::auth::AccessGuard> guard_;
  service::Executor executor_{service::ExecutorOptions{.threads = 2}};
  MetricsRegistry registry_;
  std::unique_ptr<GrpcMetrics> metrics_;
  std::unique_ptr<service::AdminServiceImpl> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::AdminService::Stub> stub_;
};

TEST_F(InterceptorTest, CountsRpcsByMethodAndCodeAndTimesThem) {
  Start(GrpcMetricsOptions());
  ASSERT_TRUE(GetClock().ok());
  ASSERT_TRUE(GetClock().ok());
  ASSERT_EQ(SetClock().error_code(), grpc::StatusCode::FAILED_PRECONDITION);

  const std::string text = registry_.RenderPrometheusText();
  EXPECT_THAT(text, HasSubstr("grpc_server_handled_total{grpc_service=\"onestop.v1.AdminService\","
                              "grpc_method=\"GetClock\",grpc_type=\"unary\",grpc_code=\"OK\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("grpc_server_handled_total{grpc_service=\"onestop.v1.AdminService\","
                              "grpc_method=\"SetClock\",grpc_type=\"unary\","
                              "grpc_code=\"FAILED_PRECONDITION\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("grpc_server_started_total{grpc_service=\"onestop.v1.AdminService\","
                              "grpc_method=\"GetClock\",grpc_type=\"unary\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("grpc_server_handling_seconds_count{grpc_service=\"onestop.v1."
                              "AdminService\",grpc_method=\"GetClock\",grpc_type=\"unary\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("grpc_server_handling_seconds_bucket{grpc_service=\"onestop.v1."
                              "AdminService\",grpc_method=\"SetClock\",grpc_type=\"unary\","
                              "le=\"+Inf\"} 1\n"));
}

TEST_F(InterceptorTest, SlowRpcsLogAWarningWithRpcPeerCodeAndDuration) {
  GrpcMetricsOptions options;
  // Every RPC is "slow", and the threshold is above zero: the decision must
  // use the RPC's measured duration (the peer once went missing when it did
  // not).
  options.slow_rpc_threshold = absl::Nanoseconds(1);
  Start(options);
  ::testing::internal::CaptureStderr();
  ASSERT_EQ(SetClock().error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  const std::string logs = ::testing::internal::GetCapturedStderr();
  EXPECT_THAT(logs, AllOf(HasSubstr("\"level\":\"warning\""), HasSubstr("\"slow rpc\""),
                          HasSubstr("\"rpc\":\"/onestop.v1.AdminService/SetClock\""),
                          HasSubstr("\"peer\":\"ipv4:127.0.0.1:"),
                          HasSubstr("\"code\":\"FAILED_PRECONDITION\""),
                          HasSubstr("\"duration_ms\":")));
}

TEST_F(InterceptorTest, FastRpcsLogOnlyAtDebugLevel) {
  GrpcMetricsOptions options;
  options.slow_rpc_threshold = absl::InfiniteDuration();
  Start(options);

  ::testing::internal::CaptureStderr();
  ASSERT_TRUE(GetClock().ok());
  EXPECT_THAT(::testing::internal::GetCapturedStderr(), Not(HasSubstr("GetClock")));

  LogOptions debug;
  debug.min_level = LogLevel::kDebug;
  ConfigureLogging(debug);
  ::testing::internal::CaptureStderr();
  ASSERT_TRUE(GetClock().ok());
  EXPECT_THAT(::testing::internal::GetCapturedStderr(),
              AllOf(HasSubstr("\"level\":\"debug\""), HasSubstr("\"msg\":\"rpc\""),
                    HasSubstr("\"rpc\":\"/onestop.v1.AdminService/GetClock\""),
                    HasSubstr("\"peer\":\"ipv4:127.0.0.1:"),
                    HasSubstr("\"code\":\"OK\""), Not(HasSubstr("slow rpc"))));
}

TEST(ExtractRequestIdentifiersTest, ReadsRequestIdAndCodeOnly) {
  v1::AcceptDossierRequest accept;
  accept.set_code("000.01.31.H15-200106-0001");
  accept.set_request_id("req-42");
  accept.set_note("gọi 0912345678");
  const RequestIdentifiers ids = ExtractRequestIdentifiers(accept);
  EXPECT_EQ(ids.request_id, "req-42");
  EXPECT_EQ(ids.dossier_code, "000.01.31.H15-200106-0001");

  v1::SubmitDossierRequest submit;
  submit.set_request_id("req-43");
  submit.mutable_applicant()->set_phone("0912345678");
  const RequestIdentifiers submit_ids = ExtractRequestIdentifiers(submit);
  EXPECT_EQ(submit_ids.request_id, "req-43");
  EXPECT_EQ(submit_ids.dossier_code, "");

  const RequestIdentifiers none = ExtractRequestIdentifiers(v1::GetClockRequest());
  EXPECT_EQ(none.request_id, "");
  EXPECT_EQ(none.dossier_code, "");
}

TEST(GrpcCodeNameTest, NamesEveryCode) {
  EXPECT_EQ(GrpcCodeName(grpc::StatusCode::OK), "OK");
  EXPECT_EQ(GrpcCodeName(grpc::StatusCode::UNAUTHENTICATED), "UNAUTHENTICATED");
  for (int code = 0; code <= 16; ++code) {
    EXPECT_NE(GrpcCodeName(static_cast<grpc::StatusCode>(code)), "") << code;
  }
  EXPECT_EQ(GrpcCodeName(grpc::StatusCode::DATA_LOSS), "DATA_LOSS");
  EXPECT_EQ(GrpcCodeName(static_cast<grpc::StatusCode>(99)), "UNKNOWN");
}

TEST(GrpcMetricsTest, RecordsByMethodAndCodeWithOutOfRangeCodesAsUnknown) {
  MetricsRegistry registry;
  auto metrics = GrpcMetrics::Create(&registry, GrpcMetricsOptions());
  ASSERT_TRUE(metrics.ok());
  using Type = grpc::experimental::ServerRpcInfo::Type;
  const GrpcMetrics::MethodSeries& get = (*metrics)->SeriesOf("/onestop.v1.S/Get", Type::UNARY);
  EXPECT_EQ(&(*metrics)->SeriesOf("/onestop.v1.S/Get", Type::UNARY), &get);  // made once
  RpcRecord record;
  record.method = "/onestop.v1.S/Get";
  record.duration = absl::Milliseconds(2);
  for (const grpc::StatusCode code :
       {grpc::StatusCode::OK, grpc::StatusCode::OK, grpc::StatusCode::NOT_FOUND,
        static_cast<grpc::StatusCode>(99), grpc::StatusCode::UNKNOWN}) {
    (*metrics)->RecordStart(get);
    record.code = code;
    (*metrics)->RecordEnd(get, record);
  }
  // The string-keyed entry points land in the same series.
  (*metrics)->RecordStart("/onestop.v1.S/Get", Type::UNARY);
  record.code = grpc::StatusCode::NOT_FOUND;
  (*metrics)->RecordEnd(record);
  // A streaming method counts but is not timed.
  (*metrics)->RecordStart("/onestop.v1.S/Watch", Type::SERVER_STREAMING);
  record.method = "/onestop.v1.S/Watch";
  record.type = Type::SERVER_STREAMING;
  record.code = grpc::StatusCode::CANCELLED;
  (*metrics)->RecordEnd(record);

  const std::string text = registry.RenderPrometheusText();
  const std::string get_labels =
      "{grpc_service=\"onestop.v1.S\",grpc_method=\"Get\",grpc_type=\"unary\"";
  EXPECT_THAT(text, HasSubstr("grpc_server_started_total" + get_labels + "} 6\n"));
  EXPECT_THAT(text, HasSubstr("grpc_server_handled_total" + get_labels + ",grpc_code=\"OK\"} 2\n"));
  EXPECT_THAT(text,
              HasSubstr("grpc_server_handled_total" + get_labels + ",grpc_code=\"NOT_FOUND\"} 2\n"));
  EXPECT_THAT(text,
              HasSubstr("grpc_server_handled_total" + get_labels + ",grpc_code=\"UNKNOWN\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("grpc_server_handling_seconds_count" + get_labels + "} 6\n"));
  EXPECT_THAT(text, HasSubstr("grpc_server_handled_total{grpc_service=\"onestop.v1.S\","
                              "grpc_method=\"Watch\",grpc_type=\"server_stream\","
                              "grpc_code=\"CANCELLED\"} 1\n"));
  EXPECT_THAT(text, Not(HasSubstr("grpc_server_handling_seconds_count{grpc_service=\"onestop.v1."
                                  "S\",grpc_method=\"Watch\"")));
}

TEST(GrpcMetricsTest, RegisteringTwiceIsAlreadyExists) {
  MetricsRegistry registry;
  ASSERT_TRUE(GrpcMetrics::Create(&registry, GrpcMetricsOptions()).ok());
  EXPECT_EQ(GrpcMetrics::Create(&registry, GrpcMetricsOptions()).status().code(),
            absl::StatusCode::kAlreadyExists);
}

}  // namespace
}  // namespace onestop::ops
