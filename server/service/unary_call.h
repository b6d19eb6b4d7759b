// Runs the blocking part of a unary RPC on the executor and finishes the
// callback reactor from there (or from the continuation of an asynchronous
// write, RunUnaryAsync), so no gRPC reaction thread ever blocks on SQLite
// (gRFC L67).
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

// Finishes a unary call with the mapped status. Copyable; call it once.
class UnaryFinish {
 public:
  explicit UnaryFinish(grpc::ServerUnaryReactor* reactor) : reactor_(reactor) {}
  void operator()(const absl::Status& status) const { reactor_->Finish(ToGrpcStatus(status)); }

 private:
  grpc::ServerUnaryReactor* reactor_;
};

// Posts `work` (void(UnaryFinish)) to `executor`; `work` finishes the call
// on `reactor`, there or later from another thread (an asynchronous
// write's continuation). A full queue answers UNAVAILABLE at once; a call
// the client already cancelled is not started, so it writes nothing.
// `reactor` is the call's default reactor, which a handler takes once
// (context->DefaultReactor()): a handler that tried to start the call on
// gRPC's thread first passes the one it took.
template <typename Work>
grpc::ServerUnaryReactor* RunUnaryAsyncOn(grpc::ServerUnaryReactor* reactor,
                                          grpc::CallbackServerContext* context,
                                          Executor* executor, Work work) {
  const bool queued = executor->TrySubmit(
      [reactor, context, work = std::move(work)]() mutable {
        if (context->IsCancelled()) {
          reactor->Finish(ToGrpcStatus(absl::CancelledError("the client cancelled the call")));
          return;
        }
        work(UnaryFinish(reactor));
      });
  if (!queued) {
    reactor->Finish(ToGrpcStatus(
        WithReason(absl::UnavailableError("the server is busy; retry shortly"), kReasonServerBusy)));
  }
  return reactor;
}

// RunUnaryAsyncOn the call's default reactor.
template <typename Work>
grpc::ServerUnaryReactor* RunUnaryAsync(grpc::CallbackServerContext* context,
                                        Executor* executor, Work work) {
  return RunUnaryAsyncOn(context->DefaultReactor(), context, executor, std::move(work));
}

// RunUnaryAsync for `work` (absl::Status()) that is done when it returns:
// the call finishes with its mapped status.
template <typename Work>
grpc::ServerUnaryReactor* RunUnary(grpc::CallbackServerContext* context,
                                   Executor* executor, Work work) {
  return RunUnaryAsync(context, executor,
                       [work = std::move(work)](UnaryFinish finish) mutable { finish(work()); });
}

}  // namespace onestop::service

#endif  // ONESTOP_SERVER_SERVICE_UNARY_CALL_H_
