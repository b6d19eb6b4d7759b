// OnestopServer: the gRPC server with every onestop service, the health
// service and reflection, assembled the same way for onestopd and for the
// in-process service tests.
#ifndef ONESTOP_SERVER_SERVICE_ONESTOP_SERVER_H_
#define ONESTOP_SERVER_SERVICE_ONESTOP_SERVER_H_

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/core/catalogue.h"
#include "server/service/admin_service.h"
#include "server/core/authorization.h"
#include "server/service/aggregating_dossier_store.h"
#include "server/service/auth/access_guard.h"
#include "server/service/auth/authenticator.h"
#include "server/service/auth/limits.h"
#include "server/service/auth/security_service.h"
#include "server/service/auth/transport.h"
#include "server/service/catalogue_service.h"
#include "server/service/dossier_manager.h"
#include "server/service/document_service.h"
#include "server/service/dossier_service.h"
#include "server/service/executor.h"
#include "server/service/feed_service.h"
#include "server/service/handoff.h"
#include "server/service/report_service.h"
#include "server/util/clock.h"
#include "storage/blobs/blob_store.h"
#include "storage/dossier_store.h"
#include "storage/feed_notifier.h"
#include "storage/notifying_dossier_store.h"
#include "storage/security/security_store.h"

namespace onestop::service {

struct ServerOptions {
  // HOST:PORT; port 0 picks a free port (see OnestopServer::port()).
  std::string listen = "127.0.0.1:7600";
  ExecutorOptions executor;
  DossierManagerOptions manager;
  // The change feed: retention, progress interval, lag limit.
  FeedOptions feed;
  // Completion reports: the default withdrawn policy.
  ReportOptions report;
  // Largest request accepted, in bytes.
  int max_receive_message_bytes = 4 << 20;
  // TLS (the default: certificate and key files required) or, on loopback
  // only, plain text. `listen_address` is taken from `listen`.
  auth::TransportOptions transport;
  // Client certificates standing for principals (mutual TLS).
  auth::AuthenticatorOptions authentication;
  // Which roles see applicants' ID and phone numbers unmasked.
  core::PrivacyPolicy privacy;
  // The citizens' lookup: a token bucket per client address.
  auth::RateLimiterOptions lookup_rate;
  // Concurrent WatchEvents streams per principal.
  auth::StreamLimiterOptions streams;
  // Token lifetimes.
  auth::SecurityServiceOptions tokens;
  // Digitised components: size limit, MIME allow list, the DATA_LOSS hook
  // (its privacy policy is `privacy` above).
  DocumentServiceOptions documents;
};

// Dependencies the server uses but does not own; all must outlive it.
struct ServerDependencies {
  storage::DossierStore* store = nullptr;
  // Tokens and the audit log (required).
  storage::SecurityStore* security_store = nullptr;
  // Document blobs; null: DocumentService is not served (tests that do not
  // need it).
  storage::BlobStore* blob_store = nullptr;
  std::shared_ptr<const core::Catalogue> catalogue;
  const Clock* clock = nullptr;
  // The same object as `clock` under --clock=controlled, else null. When
  // set, every response carries the `onestop-clock: controlled` header.
  ControlledClock* controlled_clock = nullptr;
  // Extra server interceptors (e.g. ops::GrpcMetrics from onestopd), called
  // once by Start; they run after the built-in ones, in order. Null: none.
  // Whatever the factories refer to must outlive the server.
  std::function<std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>()>
      interceptor_factories;
  // Config reload and online backup for AdminService (empty: refused).
  AdminHooks admin_hooks;
};

class OnestopServer {
 public:
  // Builds and starts the server. UNAVAILABLE if the address cannot be
  // bound (e.g. in use), INVALID_ARGUMENT for a malformed address or a
  // transport refused by auth::CheckTransport (plain text off loopback),
  // FAILED_PRECONDITION for an unreadable TLS file; the
  // store's errors if its last revision cannot be read. Composes
  // deps.store with AggregatingDossierStore (report counters in each
  // write's transaction) under NotifyingDossierStore (every write wakes
  // watchers): manager → notifying → aggregating → deps.store.
  static absl::StatusOr<std::unique_ptr<OnestopServer>> Start(
      const ServerOptions& options, ServerDependencies dependencies);

  ~OnestopServer();

  // The bound port.
  int port() const { return port_; }
  // "HOST:PORT" with the bound port.
  const std::string& address() const { return address_; }

  // Marks health NOT_SERVING, ends open watches with UNAVAILABLE ("server
  // shutting down"), stops accepting calls, lets in-flight calls finish for
  // up to `grace` (then cancels them), and drains the executor.
  // Idempotent.
  void Shutdown(absl::Duration grace);

  // The change-feed service (for tests: ActiveWatches, CompactNow).
  FeedServiceImpl& feed_service() { return *feed_service_; }
  AdminServiceImpl& admin_service() { return *admin_service_; }
  // Wakes change-feed watchers; onestopd also publishes to it the commits
  // other daemons make on a shared PostgreSQL database.
  storage::FeedNotifier& feed_notifier() { return *notifier_; }
  // The gRPC server (for tests: health service). Null before Start
  // succeeded.
  grpc::Server* grpc_server() { return server_.get(); }

 private:
  OnestopServer() = default;

  // Declared before their users: destroyed after them.
  std::unique_ptr<storage::FeedNotifier> notifier_;
  // deps.store decorated to keep the report counters.
  std::unique_ptr<AggregatingDossierStore> aggregating_store_;
  // aggregating_store_ decorated to publish each write's revision to notifier_.
  std::unique_ptr<storage::NotifyingDossierStore> store_;
  std::unique_ptr<DossierManager> manager_;
  std::unique_ptr<auth::Authenticator> authenticator_;
  std::unique_ptr<auth::AccessGuard> guard_;
  std::unique_ptr<auth::RateLimiter> lookup_limiter_;
  std::unique_ptr<auth::StreamLimiter> stream_limiter_;
  // Declared before executor_: destroyed after it has run every task (the
  // handoff's runners among them).
  std::unique_ptr<Handoff> handoff_;
  std::unique_ptr<Executor> executor_;
  std::unique_ptr<DossierServiceImpl> dossier_service_;
  std::unique_ptr<CatalogueServiceImpl> catalogue_service_;
  std::unique_ptr<AdminServiceImpl> admin_service_;
  std::unique_ptr<FeedServiceImpl> feed_service_;
  std::unique_ptr<CompletionReporter> reporter_;
  std::unique_ptr<ReportServiceImpl> report_service_;
  std::unique_ptr<auth::SecurityServiceImpl> security_service_;
  std::unique_ptr<auth::CitizenServiceImpl> citizen_service_;
  std::unique_ptr<DocumentServiceImpl> document_service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::string address_;
  bool shut_down_ = false;
};

}  // namespace onestop::service

#endif  // ONESTOP_SERVER_SERVICE_ONESTOP_SERVER_H_
