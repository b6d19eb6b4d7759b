#include "server/service/onestop_server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/support/server_interceptor.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
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

// Admits a WatchEvents call: authenticated, allowed to watch (on the
// filter's agency if it names one), within the per-principal stream limit;
// sees the dossiers of its visible agencies, masked unless its roles may
// see personal numbers. The scope is fixed when the watch starts; the
// caller's credentials are asked again every FeedOptions::recheck_interval
// (a token is immutable but for its revocation and expiry, so asking
// again is authenticating again; a refusal is audited like any other).
WatchGate WatchGateFor(const auth::AccessGuard* guard, auth::StreamLimiter* streams,
                       auth::CatalogueSource catalogue_source, core::PrivacyPolicy privacy) {
  return [=](const grpc::CallbackServerContext& context,
             const onestop::v1::WatchEventsRequest& request) -> absl::StatusOr<WatchAccess> {
    const auth::CallInfo call{.rpc = "WatchEvents", .agency_code = request.filter().agency_code()};
    absl::StatusOr<auth::PrincipalPtr> authenticated = guard->Authenticate(context, call);
    if (!authenticated.ok()) return authenticated.status();
    const core::Principal* const principal = authenticated->get();
    if (absl::Status allowed = guard->AuthorizeNamedAgency(
            *principal, core::Permission::kWatchEvents, request.filter().agency_code(), call);
        !allowed.ok()) {
      return allowed;
    }
    absl::StatusOr<std::unique_ptr<auth::StreamLease>> lease = streams->Acquire(principal->id);
    if (!lease.ok()) return lease.status();
    WatchAccess access;
    access.principal = principal->id;
    access.recheck = [guard, &context, call]() -> absl::Status {
      return guard->Authenticate(context, call).status();
    };
    access.hold = std::shared_ptr<auth::StreamLease>(std::move(*lease));
    const std::shared_ptr<const core::Catalogue> catalogue = catalogue_source();
    access.mask_personal_data = !core::MaySeePersonalData(*principal, privacy, *catalogue);
    std::vector<std::string> visible =
        core::VisibleAgencies(*principal, core::Permission::kWatchEvents, *catalogue);
    if (visible.size() < catalogue->agencies().size()) {
      auto codes = std::make_shared<const absl::flat_hash_set<std::string>>(visible.begin(),
                                                                            visible.end());
      access.may_see = [codes](const onestop::v1::Dossier& dossier) {
        return codes->contains(dossier.receiving_agency_code()) ||
               codes->contains(dossier.holder_agency_code());
      };
    }
    return access;
  };
}

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

absl::StatusOr<std::unique_ptr<OnestopServer>> OnestopServer::Start(
    const ServerOptions& options, ServerDependencies deps) {
  std::string host;
  int requested_port;
  if (!SplitHostPort(options.listen, &host, &requested_port)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--listen: \"", options.listen, "\" is not HOST:PORT (e.g. 127.0.0.1:7600)"));
  }
  if (deps.store == nullptr || deps.security_store == nullptr) {
    return absl::InvalidArgumentError("the server needs a dossier store and a security store");
  }
  auth::TransportOptions transport = options.transport;
  transport.listen_address = options.listen;
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      auth::ServerCredentialsFor(transport);
  if (!credentials.ok()) return credentials.status();
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
  server->handoff_ = std::make_unique<Handoff>(server->executor_.get());
  DossierManagerOptions manager_options = options.manager;
  manager_options.handoff = server->handoff_.get();
  server->manager_ = std::make_unique<DossierManager>(server->store_.get(), deps.catalogue,
                                                      deps.clock, manager_options);
  // Who calls: every handler asks the guard before it works.
  server->authenticator_ = std::make_unique<auth::Authenticator>(
      deps.security_store, deps.clock, options.authentication);
  server->guard_ = std::make_unique<auth::AccessGuard>(
      server->authenticator_.get(), deps.security_store, current_catalogue, deps.clock);
  server->lookup_limiter_ = std::make_unique<auth::RateLimiter>(deps.clock, options.lookup_rate);
  server->stream_limiter_ = std::make_unique<auth::StreamLimiter>(options.streams);
  const auth::AccessGuard* guard = server->guard_.get();
  Executor* executor = server->executor_.get();
  DossierManager* manager = server->manager_.get();

  server->dossier_service_ =
      std::make_unique<DossierServiceImpl>(manager, executor, guard, options.privacy);
  server->catalogue_service_ = std::make_unique<CatalogueServiceImpl>(manager, executor, guard);
  server->admin_service_ = std::make_unique<AdminServiceImpl>(
      deps.clock, deps.controlled_clock, manager, executor, guard, deps.admin_hooks);
  server->feed_service_ = std::make_unique<FeedServiceImpl>(
      server->store_.get(), server->notifier_.get(), current_catalogue,
      WatchGateFor(guard, server->stream_limiter_.get(), current_catalogue, options.privacy),
      options.feed);

  server->reporter_ = std::make_unique<CompletionReporter>(server->store_.get(),
                                                           current_catalogue, options.report);
  server->report_service_ = std::make_unique<ReportServiceImpl>(server->reporter_.get(), executor,
                                                                guard, current_catalogue);
  auth::SecurityServiceOptions tokens = options.tokens;
  for (const auth::CertificatePrincipal& mapped :
       options.authentication.certificate_principals) {
    tokens.certificate_principals.push_back(mapped.principal);
  }
  server->security_service_ = std::make_unique<auth::SecurityServiceImpl>(
      guard, deps.security_store, current_catalogue, deps.clock, executor, std::move(tokens));
  if (deps.blob_store != nullptr) {
    DocumentServiceOptions documents = options.documents;
    documents.privacy = options.privacy;
    server->document_service_ = std::make_unique<DocumentServiceImpl>(
        manager, deps.blob_store, guard, executor, std::move(documents));
  }
  server->citizen_service_ = std::make_unique<auth::CitizenServiceImpl>(
      [manager](const std::string& code) { return manager->Get(code); },
      server->lookup_limiter_.get(), executor);

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  // A second daemon on the same port must fail loudly, not share it.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.SetMaxReceiveMessageSize(options.max_receive_message_bytes);
  builder.AddListeningPort(options.listen, *credentials, &server->port_);
  builder.RegisterService(server->dossier_service_.get());
  builder.RegisterService(server->catalogue_service_.get());
  builder.RegisterService(server->admin_service_.get());
  builder.RegisterService(server->feed_service_.get());
  builder.RegisterService(server->report_service_.get());
  builder.RegisterService(server->security_service_.get());
  builder.RegisterService(server->citizen_service_.get());
  if (server->document_service_) builder.RegisterService(server->document_service_.get());
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
