// Runs the blocking part of a unary RPC on the executor and finishes the
// callback reactor from there, so no gRPC reaction thread ever blocks on
// SQLite (gRFC L67).
#ifndef ONESTOP_SERVER_SERVICE_UNARY_CALL_H_
#define ONESTOP_SERVER_SERVICE_UNARY_CALL_H_

#include <grpcpp/grpcpp.h>

#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/service/executor.h"
#include "server/service/status_mapping.h"
#include "server/util/error_info.h"

namespace onestop::service {

// Posts `work` (absl::Status()) to `executor`; finishes the reactor with its
// mapped status. A full queue answers UNAVAILABLE at once; a call the
// client already cancelled is not started, so it writes nothing.
template <typename Work>
grpc::ServerUnaryReactor* RunUnary(grpc::CallbackServerContext* context,
                                   Executor* executor, Work work) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const bool queued = executor->TrySubmit(
      [reactor, context, work = std::move(work)]() mutable {
        if (context->IsCancelled()) {
          reactor->Finish(ToGrpcStatus(absl::CancelledError("the client cancelled the call")));
          return;
        }
        reactor->Finish(ToGrpcStatus(work()));
      });
  if (!queued) {
    reactor->Finish(ToGrpcStatus(
        WithReason(absl::UnavailableError("the server is busy; retry shortly"), kReasonServerBusy)));
  }
  return reactor;
}

}  // namespace onestop::service

#endif  // ONESTOP_SERVER_SERVICE_UNARY_CALL_H_
