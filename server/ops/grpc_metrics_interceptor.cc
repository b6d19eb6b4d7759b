#include "server/ops/grpc_metrics_interceptor.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <grpcpp/server_context.h>
#include <grpcpp/support/interceptor.h>

#include <array>
#include <atomic>
#include <chrono>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/match.h"
#include "server/util/log.h"

namespace onestop::ops {
namespace {

using grpc::experimental::InterceptionHookPoints;
using grpc::experimental::ServerRpcInfo;

absl::string_view TypeName(ServerRpcInfo::Type type) {
  switch (type) {
    case ServerRpcInfo::Type::UNARY: return "unary";
    case ServerRpcInfo::Type::CLIENT_STREAMING: return "client_stream";
    case ServerRpcInfo::Type::SERVER_STREAMING: return "server_stream";
    case ServerRpcInfo::Type::BIDI_STREAMING: return "bidi_stream";
  }
  return "unary";
}

// "/pkg.Service/Method" → {"pkg.Service", "Method"}.
std::pair<std::string, std::string> SplitMethod(absl::string_view full) {
  if (absl::StartsWith(full, "/")) full.remove_prefix(1);
  const size_t slash = full.rfind('/');
  if (slash == absl::string_view::npos) return {"unknown", std::string(full)};
  return {std::string(full.substr(0, slash)), std::string(full.substr(slash + 1))};
}

std::string StringField(const google::protobuf::Message& message, const char* name) {
  const google::protobuf::FieldDescriptor* field =
      message.GetDescriptor()->FindFieldByName(name);
  if (field == nullptr || field->is_repeated() ||
      field->cpp_type() != google::protobuf::FieldDescriptor::CPPTYPE_STRING) {
    return "";
  }
  return message.GetReflection()->GetString(message, field);
}

class MetricsInterceptor final : public grpc::experimental::Interceptor {
 public:
  MetricsInterceptor(GrpcMetrics* metrics, ServerRpcInfo* info)
      : metrics_(metrics),
        info_(info),
        series_(metrics->SeriesOf(info->method(), info->type())),
        start_(std::chrono::steady_clock::now()),
        inspect_(absl::StartsWith(info->method(), metrics->options().inspected_method_prefix)) {
    metrics_->RecordStart(series_);
  }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (inspect_ && !saw_request_ &&
        methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_MESSAGE)) {
      saw_request_ = true;
      // For onestop's generated services the received message is the
      // method's request type, a protobuf message (single inheritance from
      // Message, so the void* converts back).
      if (void* message = methods->GetRecvMessage(); message != nullptr) {
        ids_ = ExtractRequestIdentifiers(*static_cast<google::protobuf::Message*>(message));
      }
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      RpcRecord record;
      record.method = info_->method();
      record.type = info_->type();
      record.duration = absl::FromChrono(std::chrono::steady_clock::now() - start_);
      // The peer only goes to the log line, and peer() builds a string.
      if (info_->server_context() != nullptr && metrics_->WouldLog(record.duration, record.type)) {
        record.peer = info_->server_context()->peer();
      }
      record.code = methods->GetSendStatus().error_code();
      record.request_id = std::move(ids_.request_id);
      record.dossier_code = std::move(ids_.dossier_code);
      metrics_->RecordEnd(series_, record);
    }
    methods->Proceed();
  }

 private:
  GrpcMetrics* const metrics_;
  ServerRpcInfo* const info_;
  const GrpcMetrics::MethodSeries& series_;
  const std::chrono::steady_clock::time_point start_;
  const bool inspect_;
  // Hook points of one RPC run one at a time: no lock needed.
  bool saw_request_ = false;
  RequestIdentifiers ids_;
};

class MetricsInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit MetricsInterceptorFactory(GrpcMetrics* metrics) : metrics_(metrics) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(ServerRpcInfo* info) override {
    return new MetricsInterceptor(metrics_, info);
  }

 private:
  GrpcMetrics* const metrics_;
};

}  // namespace

RequestIdentifiers ExtractRequestIdentifiers(const google::protobuf::Message& request) {
  return {StringField(request, "request_id"), StringField(request, "code")};
}

absl::string_view GrpcCodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK: return "OK";
    case grpc::StatusCode::CANCELLED: return "CANCELLED";
    case grpc::StatusCode::UNKNOWN: return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED: return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND: return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS: return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED: return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION: return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED: return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE: return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED: return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL: return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE: return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS: return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED: return "UNAUTHENTICATED";
    default: return "UNKNOWN";
  }
}

absl::StatusOr<std::unique_ptr<GrpcMetrics>> GrpcMetrics::Create(MetricsRegistry* registry,
                                                                 GrpcMetricsOptions options) {
  auto started = registry->AddCounter("grpc_server_started_total",
                                      "RPCs started on the server.",
                                      {"grpc_service", "grpc_method", "grpc_type"});
  if (!started.ok()) return started.status();
  auto handled = registry->AddCounter(
      "grpc_server_handled_total", "RPCs completed on the server, by status code.",
      {"grpc_service", "grpc_method", "grpc_type", "grpc_code"});
  if (!handled.ok()) return handled.status();
  auto latency = registry->AddHistogram(
      "grpc_server_handling_seconds",
      "Time from the start of a unary RPC to its status being sent, in seconds.",
      {"grpc_service", "grpc_method", "grpc_type"}, options.latency_buckets);
  if (!latency.ok()) return latency.status();
  return std::unique_ptr<GrpcMetrics>(
      new GrpcMetrics(std::move(options), *started, *handled, *latency));
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
GrpcMetrics::NewInterceptorFactory() {
  return std::make_unique<MetricsInterceptorFactory>(this);
}

// The codes grpc_code names: OK (0) … UNAUTHENTICATED (16).
constexpr int kGrpcCodes = 17;

struct GrpcMetrics::MethodSeries {
  std::string service;
  std::string name;
  std::string type;
  CounterChild* started = nullptr;
  HistogramChild* latency = nullptr;  // unary RPCs only
  // By code, made on the code's first use (most methods see few codes).
  mutable std::array<std::atomic<CounterChild*>, kGrpcCodes> handled{};
};

const GrpcMetrics::MethodSeries& GrpcMetrics::SeriesOf(absl::string_view method,
                                                       ServerRpcInfo::Type type) {
  {
    absl::ReaderMutexLock lock(&series_mu_);
    if (auto it = series_.find(method); it != series_.end()) return *it->second;
  }
  auto series = std::make_unique<MethodSeries>();
  std::tie(series->service, series->name) = SplitMethod(method);
  series->type = std::string(TypeName(type));
  series->started = started_->Child({series->service, series->name, series->type});
  if (type == ServerRpcInfo::Type::UNARY) {
    series->latency = latency_->Child({series->service, series->name, series->type});
  }
  absl::MutexLock lock(&series_mu_);
  // Another thread may have made it meanwhile: the first one stays.
  return *series_.try_emplace(std::string(method), std::move(series)).first->second;
}

GrpcMetrics::GrpcMetrics(GrpcMetricsOptions options, CounterFamily* started,
                         CounterFamily* handled, HistogramFamily* latency)
    : options_(std::move(options)), started_(started), handled_(handled), latency_(latency) {}

GrpcMetrics::~GrpcMetrics() = default;

void GrpcMetrics::RecordStart(absl::string_view method, ServerRpcInfo::Type type) {
  RecordStart(SeriesOf(method, type));
}

void GrpcMetrics::RecordStart(const MethodSeries& series) { series.started->Add(); }

// A slow unary RPC is a warning, any other a debug line.
LogLevel GrpcMetrics::LevelOf(absl::Duration duration, ServerRpcInfo::Type type) const {
  const bool slow = type == ServerRpcInfo::Type::UNARY && duration >= options_.slow_rpc_threshold;
  return slow ? LogLevel::kWarning : LogLevel::kDebug;
}

bool GrpcMetrics::WouldLog(absl::Duration duration, ServerRpcInfo::Type type) const {
  return LogEnabled(LevelOf(duration, type));
}

void GrpcMetrics::RecordEnd(const RpcRecord& record) {
  RecordEnd(SeriesOf(record.method, record.type), record);
}

void GrpcMetrics::RecordEnd(const MethodSeries& series, const RpcRecord& record) {
  const absl::string_view code = GrpcCodeName(record.code);
  const int code_number = static_cast<int>(record.code);
  // An out-of-range code is counted as UNKNOWN, the name it gets.
  const int slot = code_number >= 0 && code_number < kGrpcCodes
                       ? code_number
                       : static_cast<int>(grpc::StatusCode::UNKNOWN);
  CounterChild* handled = series.handled[slot].load(std::memory_order_acquire);
  if (handled == nullptr) {
    // Two threads may both resolve it: the family returns the same child.
    handled = handled_->Child({series.service, series.name, series.type, std::string(code)});
    series.handled[slot].store(handled, std::memory_order_release);
  }
  handled->Add();
  if (series.latency != nullptr) series.latency->Observe(absl::ToDoubleSeconds(record.duration));

  const LogLevel level = LevelOf(record.duration, record.type);
  if (!LogEnabled(level)) return;
  const char* message = level == LogLevel::kWarning ? "slow rpc" : "rpc";
  const std::string duration_ms =
      absl::StrFormat("%.3f", absl::ToDoubleMilliseconds(record.duration));
  // Log takes a fixed field list: spell out the combinations so an absent
  // identifier is absent from the line rather than empty.
  const bool has_id = !record.request_id.empty();
  const bool has_code = !record.dossier_code.empty();
  if (has_id && has_code) {
    Log(level, message,
        {{"rpc", record.method}, {"peer", record.peer}, {"code", std::string(code)},
         {"duration_ms", duration_ms}, {"request_id", record.request_id},
         {"dossier", record.dossier_code}});
  } else if (has_id) {
    Log(level, message,
        {{"rpc", record.method}, {"peer", record.peer}, {"code", std::string(code)},
         {"duration_ms", duration_ms}, {"request_id", record.request_id}});
  } else if (has_code) {
    Log(level, message,
        {{"rpc", record.method}, {"peer", record.peer}, {"code", std::string(code)},
         {"duration_ms", duration_ms}, {"dossier", record.dossier_code}});
  } else {
    Log(level, message,
        {{"rpc", record.method}, {"peer", record.peer}, {"code", std::string(code)},
         {"duration_ms", duration_ms}});
  }
}

}  // namespace onestop::ops
