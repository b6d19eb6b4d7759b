// Per-RPC metrics and logs for the gRPC server, as a server interceptor:
//
//   grpc_server_started_total{grpc_service,grpc_method,grpc_type}
//   grpc_server_handled_total{grpc_service,grpc_method,grpc_type,grpc_code}
//   grpc_server_handling_seconds{grpc_service,grpc_method,grpc_type}  (histogram)
//
// (the names and labels of go-grpc-prometheus, so existing dashboards work;
// grpc_code is the code's name, e.g. "OK", "NOT_FOUND"). Each finished RPC
// logs one debug line "rpc" and, when a unary RPC took at least
// `slow_rpc_threshold`, one warning line "slow rpc", with the fields
// rpc, peer, code, duration_ms and, for onestop's own methods, the request's
// top-level `request_id` and dossier `code` fields when set. No other request
// field is ever read: applicant data (names, ID numbers, phones) never
// reaches a log.
//
// Streaming RPCs (the change feed) count in started/handled but not in the
// latency histogram or the slow-RPC log: their duration is the watch's life.
//
// Ownership: GrpcMetrics does not own the registry, which must outlive it;
// the interceptor factories it makes hold a pointer to it, so it must
// outlive the gRPC server they are installed in.
// Thread safety: all methods may be called concurrently.
#ifndef ONESTOP_SERVER_OPS_GRPC_METRICS_INTERCEPTOR_H_
#define ONESTOP_SERVER_OPS_GRPC_METRICS_INTERCEPTOR_H_

#include <grpcpp/support/server_interceptor.h>
#include <grpcpp/support/status.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/ops/metrics.h"
#include "server/util/log.h"

namespace google::protobuf {
class Message;
}

namespace onestop::ops {

struct GrpcMetricsOptions {
  // Unary RPCs at least this slow log a warning. Zero logs every unary RPC
  // as slow; absl::InfiniteDuration() disables the warning.
  absl::Duration slow_rpc_threshold = absl::Milliseconds(500);
  // Latency histogram bounds in seconds.
  std::vector<double> latency_buckets = DefaultLatencyBuckets();
  // Only methods whose full name starts with this prefix have their request
  // message inspected for request_id / code (their messages are protobuf
  // messages; others, e.g. the health service, are raw bytes).
  std::string inspected_method_prefix = "/onestop.";
};

// What one finished RPC looked like.
struct RpcRecord {
  // Full method name, "/package.Service/Method".
  std::string method;
  grpc::experimental::ServerRpcInfo::Type type =
      grpc::experimental::ServerRpcInfo::Type::UNARY;
  std::string peer;
  grpc::StatusCode code = grpc::StatusCode::OK;
  absl::Duration duration;
  std::string request_id;  // empty if none
  std::string dossier_code;  // empty if none
};

// The identifiers of a request worth logging.
struct RequestIdentifiers {
  std::string request_id;
  std::string dossier_code;
};

// Reads the top-level singular string fields named "request_id" and "code"
// of `request` by reflection; empty strings for absent fields. Reads no
// other field.
RequestIdentifiers ExtractRequestIdentifiers(const google::protobuf::Message& request);

// The name of a gRPC status code ("OK", "NOT_FOUND", …; "UNKNOWN" for an
// out-of-range value).
absl::string_view GrpcCodeName(grpc::StatusCode code);

class GrpcMetrics {
 public:
  // Registers the three families in `registry` (not owned, non-null).
  // ALREADY_EXISTS if they are already registered; INVALID_ARGUMENT for
  // bad bucket bounds.
  static absl::StatusOr<std::unique_ptr<GrpcMetrics>> Create(MetricsRegistry* registry,
                                                             GrpcMetricsOptions options);
  ~GrpcMetrics();

  // A new factory for grpc::ServerBuilder::experimental()
  // .SetInterceptorCreators(); it refers to this object.
  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
  NewInterceptorFactory();

  // The series of one method (its label values and the families' children
  // for them), made on the method's first RPC and kept for the life of
  // this object: the interceptor looks it up once per RPC and then counts
  // and times without building label strings or taking a family's lock.
  struct MethodSeries;
  const MethodSeries& SeriesOf(absl::string_view method,
                               grpc::experimental::ServerRpcInfo::Type type);

  // Counts a started RPC.
  void RecordStart(absl::string_view method, grpc::experimental::ServerRpcInfo::Type type);
  void RecordStart(const MethodSeries& series);
  // Counts, times and logs a finished RPC.
  void RecordEnd(const RpcRecord& record);
  void RecordEnd(const MethodSeries& series, const RpcRecord& record);
  // Whether RecordEnd would log an RPC of this type and duration (a warning
  // when slow, else a debug line): the interceptor skips the peer string
  // when it would not.
  bool WouldLog(absl::Duration duration, grpc::experimental::ServerRpcInfo::Type type) const;

  const GrpcMetricsOptions& options() const { return options_; }

 private:
  LogLevel LevelOf(absl::Duration duration, grpc::experimental::ServerRpcInfo::Type type) const;

  GrpcMetrics(GrpcMetricsOptions options, CounterFamily* started, CounterFamily* handled,
              HistogramFamily* latency);

  const GrpcMetricsOptions options_;
  CounterFamily* const started_;
  CounterFamily* const handled_;
  HistogramFamily* const latency_;
  absl::Mutex series_mu_;
  // By full method name; a method has one type.
  absl::flat_hash_map<std::string, std::unique_ptr<MethodSeries>> series_
      ABSL_GUARDED_BY(series_mu_);
};

}  // namespace onestop::ops

#endif  // ONESTOP_SERVER_OPS_GRPC_METRICS_INTERCEPTOR_H_
