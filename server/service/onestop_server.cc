#include "server/service/onestop_server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/support/server_interceptor.h>

#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace onestop::service {
namespace {

// Adds `onestop-clock: controlled` to every response's initial metadata so
// a controlled daemon can never be mistaken for production.
class ControlledClockInterceptor final : public grpc::experimental::Interceptor {
 public:
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      methods->GetSendInitialMetadata()->insert({"onestop-clock", "controlled"});
    }
    methods->Proceed();
  }
};

class ControlledClockInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo*) override {
    return new ControlledClockInterceptor();
  }
};

// Splits "HOST:PORT" / "[v6]:PORT"; false if malformed.
bool SplitHostPort(const std::string& address, std::string* host, int* port) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  std::string h = address.substr(0, colon);
  if (absl::StartsWith(h, "[") && absl::EndsWith(h, "]")) h = h.substr(1, h.size() - 2);
  if (!absl::SimpleAtoi(address.substr(colon + 1), port) || *port < 0 || *port > 65535) {
    return false;
  }
  *host = h;
  return !h.empty();
}

}  // namespace

bool IsLoopbackAddress(const std::string& host_port) {
  std::string host;
  int port;
  if (!SplitHostPort(host_port, &host, &port)) return false;
  return host == "localhost" || host == "::1" || absl::StartsWith(host, "127.");
}

absl::StatusOr<std::unique_ptr<OnestopServer>> OnestopServer::Start(
    const ServerOptions& options, ServerDependencies deps) {
  std::string host;
  int requested_port;
  if (!SplitHostPort(options.listen, &host, &requested_port)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--listen: \"", options.listen, "\" is not HOST:PORT (e.g. 127.0.0.1:7600)"));
  }
  std::unique_ptr<OnestopServer> server(new OnestopServer());
  absl::StatusOr<int64_t> last_revision = deps.store->LastRevision();
  if (!last_revision.ok()) return last_revision.status();
  server->notifier_ = std::make_unique<storage::FeedNotifier>(*last_revision);
  // The catalogue in force is the manager's (it may be replaced at run
  // time); the manager is created below, before any write can happen.
  OnestopServer* self = server.get();
  auto current_catalogue = [self] { return self->manager_->catalogue(); };
  server->aggregating_store_ =
      std::make_unique<AggregatingDossierStore>(deps.store, current_catalogue);
  server->store_ = std::make_unique<storage::NotifyingDossierStore>(
      server->aggregating_store_.get(), server->notifier_.get());
  server->executor_ = std::make_unique<Executor>(options.executor);
  server->manager_ = std::make_unique<DossierManager>(server->store_.get(), deps.catalogue,
                                                      deps.clock, options.manager);
  server->dossier_service_ =
      std::make_unique<DossierServiceImpl>(server->manager_.get(), server->executor_.get());
  server->catalogue_service_ = std::make_unique<CatalogueServiceImpl>(server->manager_.get());
  server->admin_service_ = std::make_unique<AdminServiceImpl>(
      deps.clock, deps.controlled_clock, server->manager_.get(), server->executor_.get(),
      deps.admin_hooks);
  DossierManager* manager = server->manager_.get();
  server->feed_service_ = std::make_unique<FeedServiceImpl>(
      server->store_.get(), server->notifier_.get(), [manager] { return manager->catalogue(); },
      options.feed);

  server->reporter_ = std::make_unique<CompletionReporter>(server->store_.get(),
                                                           current_catalogue, options.report);
  server->report_service_ =
      std::make_unique<ReportServiceImpl>(server->reporter_.get(), server->executor_.get());

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  // A second daemon on the same port must fail loudly, not share it.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.SetMaxReceiveMessageSize(options.max_receive_message_bytes);
  builder.AddListeningPort(options.listen, grpc::InsecureServerCredentials(), &server->port_);
  builder.RegisterService(server->dossier_service_.get());
  builder.RegisterService(server->catalogue_service_.get());
  builder.RegisterService(server->admin_service_.get());
  builder.RegisterService(server->feed_service_.get());
  builder.RegisterService(server->report_service_.get());
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
  if (deps.controlled_clock != nullptr) {
    creators.push_back(std::make_unique<ControlledClockInterceptorFactory>());
  }
  if (deps.interceptor_factories) {
    for (auto& factory : deps.interceptor_factories()) creators.push_back(std::move(factory));
  }
  if (!creators.empty()) builder.experimental().SetInterceptorCreators(std::move(creators));
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || server->port_ == 0) {
    return absl::UnavailableError(absl::StrCat(
        "cannot listen on ", options.listen,
        " (address in use, or not an address of this machine)"));
  }
  server->address_ = absl::StrCat(
      host.find(':') != std::string::npos ? absl::StrCat("[", host, "]") : host, ":",
      server->port_);
  server->server_->GetHealthCheckService()->SetServingStatus(true);
  return server;
}

void OnestopServer::Shutdown(absl::Duration grace) {
  if (shut_down_) return;
  shut_down_ = true;
  if (server_ == nullptr) {  // Start failed before the server existed
    if (feed_service_ != nullptr) feed_service_->Shutdown();
    executor_.reset();
    return;
  }
  server_->GetHealthCheckService()->SetServingStatus(false);
  // Open watches never end on their own: end them now, or Shutdown would
  // wait the whole grace period for them.
  feed_service_->Shutdown();
  server_->Shutdown(absl::ToChronoTime(absl::Now() + grace));
  server_->Wait();
  executor_.reset();  // runs whatever was accepted, then joins
}

OnestopServer::~OnestopServer() { Shutdown(absl::ZeroDuration()); }

}  // namespace onestop::service
