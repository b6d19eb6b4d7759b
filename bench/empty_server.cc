// empty_server: the throughput ceiling for onestopd on this machine.
//
// It serves the same DossierService with the daemon's own threading setup —
// gRPC's callback API, each handler posting its work to the same Executor
// (server/service/executor.h, same thread count) through the same RunUnary
// (server/service/unary_call.h) and finishing the reactor from the executor
// thread — but the work is empty: no manager, no core, no store. What
// onestopd achieves below this is the cost of the application and storage
// layers; what this achieves is what gRPC, the executor hop and the loopback
// network cost.
//
// It prints the same "onestopd listening on ADDR" line as onestopd so the
// same harness (tests/testing/subprocess.h) can start either.
#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <cstdio>
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/synchronization/mutex.h"
#include "absl/status/status.h"
#include "onestop/v1/dossier_service.grpc.pb.h"
#include "server/service/executor.h"
#include "server/service/unary_call.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:0", "HOST:PORT; port 0 picks a free port.");
ABSL_FLAG(int, threads, 8, "Executor threads (onestopd's --threads).");

namespace onestop::bench {
namespace {

using namespace onestop::v1;  // NOLINT: handler signatures are long enough

// Every handler does the executor hop and answers OK with an empty
// response. Only the RPCs the benchmark drives are overridden; the rest
// answer UNIMPLEMENTED from gRPC's base class.
class EmptyDossierService final : public DossierService::CallbackService {
 public:
  explicit EmptyDossierService(service::Executor* executor) : executor_(executor) {}

  grpc::ServerUnaryReactor* SubmitDossier(grpc::CallbackServerContext* context,
                                          const SubmitDossierRequest*,
                                          SubmitDossierResponse*) override {
    return Empty(context);
  }
  grpc::ServerUnaryReactor* GetDossier(grpc::CallbackServerContext* context,
                                       const GetDossierRequest*, GetDossierResponse*) override {
    return Empty(context);
  }
  grpc::ServerUnaryReactor* ListDossiers(grpc::CallbackServerContext* context,
                                         const ListDossiersRequest*,
                                         ListDossiersResponse*) override {
    return Empty(context);
  }
  grpc::ServerUnaryReactor* HandOverDossier(grpc::CallbackServerContext* context,
                                            const HandOverDossierRequest*,
                                            HandOverDossierResponse*) override {
    return Empty(context);
  }
  grpc::ServerUnaryReactor* RecordDecision(grpc::CallbackServerContext* context,
                                           const RecordDecisionRequest*,
                                           RecordDecisionResponse*) override {
    return Empty(context);
  }
  grpc::ServerUnaryReactor* MarkResultReady(grpc::CallbackServerContext* context,
                                            const MarkResultReadyRequest*,
                                            MarkResultReadyResponse*) override {
    return Empty(context);
  }
  grpc::ServerUnaryReactor* ReturnResult(grpc::CallbackServerContext* context,
                                         const ReturnResultRequest*,
                                         ReturnResultResponse*) override {
    return Empty(context);
  }

 private:
  grpc::ServerUnaryReactor* Empty(grpc::CallbackServerContext* context) {
    return service::RunUnary(context, executor_, [] { return absl::OkStatus(); });
  }

  service::Executor* const executor_;
};

}  // namespace
}  // namespace onestop::bench

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  // As onestopd (server/main.cc): Debian's Abseil checks every Mutex
  // acquisition for lock-order cycles; the daemon skips that, so must its
  // ceiling (~10 % of this server's CPU, docs/PERFORMANCE.md).
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  onestop::service::ExecutorOptions executor_options;
  executor_options.threads = absl::GetFlag(FLAGS_threads);
  auto executor = std::make_unique<onestop::service::Executor>(executor_options);
  onestop::bench::EmptyDossierService service(executor.get());

  // The same builder settings as OnestopServer::Start.
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.SetMaxReceiveMessageSize(4 << 20);
  builder.AddListeningPort(absl::GetFlag(FLAGS_listen), grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    std::fprintf(stderr, "empty_server: cannot listen on %s\n",
                 absl::GetFlag(FLAGS_listen).c_str());
    return 1;
  }
  std::printf("onestopd listening on 127.0.0.1:%d\n", port);
  std::fflush(stdout);

  int signal_number = 0;
  sigwait(&signals, &signal_number);
  server->Shutdown();
  server->Wait();
  executor.reset();
  return 0;
}
