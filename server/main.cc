// onestopd: the composition root. Parses flags into options, loads and
// validates the configuration, opens the store, picks the clock, starts the
// gRPC server and the admin HTTP listener (/metrics, /healthz, /readyz),
// and shuts everything down cleanly on SIGTERM/SIGINT.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/synchronization/mutex.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "server/config/config_loader.h"
#include "server/core/deadline.h"
#include "server/ops/admin_http.h"
#include "server/ops/build_info.h"
#include "server/ops/grpc_metrics_interceptor.h"
#include "server/ops/metrics.h"
#include "server/ops/metrics_dossier_store.h"
#include "server/service/auth/principals.h"
#include "server/service/auth/security_service.h"
#include "server/service/auth/transport.h"
#include "server/service/onestop_server.h"
#include "server/util/clock.h"
#include "server/util/log.h"
#include "server/ops/storage_backend.h"
#include "storage/feed_notifier.h"

ABSL_FLAG(std::string, config, "/etc/onestop/onestopd.textproto",
          "Configuration file (text-format onestop.config.v1.Config): agencies, "
          "procedures, calendar.");
ABSL_FLAG(std::string, db, "/var/lib/onestop/onestop.db",
          "Where the dossiers live: a SQLite file path (or sqlite:PATH; created on first "
          "start; one daemon per file), or a postgresql://USER@HOST:PORT/DBNAME URI "
          "(PostgreSQL 15; several daemons may share one database; see docs/SCALING.md).");
ABSL_FLAG(std::string, integrity_check, "quick",
          "SQLite: what is verified at start. 'quick' (PRAGMA quick_check: reads every page, "
          "seconds per GB) or 'header' (only that the file is an onestop database: starts in "
          "well under a second at millions of dossiers; run `sqlite3 FILE 'PRAGMA "
          "quick_check'` from a timer instead). Ignored for PostgreSQL.");
ABSL_FLAG(int, postgres_pool_size, 16,
          "With a postgresql:// --db: connections this daemon keeps for dossier reads and "
          "writes (1-256). The daemon opens 10 more (tokens and audit, documents, the feed "
          "listener): size PostgreSQL's max_connections for all daemons (docs/SCALING.md).");
ABSL_FLAG(std::string, listen, "127.0.0.1:7600",
          "HOST:PORT to serve gRPC on. Port 0 picks a free port; the bound "
          "address is printed on stdout.");
ABSL_FLAG(std::string, clock, "system",
          "'system' (real time) or 'controlled' (for tests, demos and training: "
          "an admin RPC can pin or advance it; loopback addresses only).");
ABSL_FLAG(std::string, clock_start, "",
          "With --clock=controlled: the instant the clock starts at, RFC 3339 "
          "(e.g. 2020-01-06T08:00:00+07:00). Default: the real time.");
ABSL_FLAG(int, threads, 32,
          "Application threads for database work (reads, and writes that wait for their "
          "commit: on PostgreSQL, and on SQLite beyond 1,024 dossier writes already waiting "
          "asynchronously).");
ABSL_FLAG(bool, withdrawn_counts_on_time, false,
          "Reports and timeliness: count a withdrawn dossier as resolved on time "
          "(one provincial practice) instead of leaving it out of the resolved columns.");
ABSL_FLAG(int, due_soon_working_days, 1,
          "Open dossiers due today or within this many working days are "
          "flagged DUE_SOON (list --due-soon). 0 flags only those due today.");
ABSL_FLAG(std::string, log_level, "info", "debug, info, warning or error.");
ABSL_FLAG(int, shutdown_grace_seconds, 10,
          "On SIGTERM/SIGINT, how long in-flight calls may take to finish.");
ABSL_FLAG(std::string, admin_listen, "auto",
          "HOST:PORT of the admin HTTP listener (/metrics, /healthz, /readyz), "
          "or 'off'. 'auto': 127.0.0.1:7601 when --listen uses the standard "
          "port 7600, else 127.0.0.1:0 (so tests and second daemons never "
          "collide). Port 0 picks a free port; the bound address is printed "
          "on stdout. A non-loopback address needs --admin-allow-public.");
ABSL_FLAG(bool, admin_allow_public, false,
          "Allow --admin-listen on a non-loopback address (the admin listener "
          "has no authentication: use a private network or a firewall).");
ABSL_FLAG(std::string, tls_cert, "",
          "PEM server certificate chain for the gRPC port (with --tls-key). "
          "Required unless --insecure.");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls-cert (mode 0600).");
ABSL_FLAG(std::string, tls_client_ca, "",
          "PEM CA bundle that client certificates must chain to (mutual TLS).");
ABSL_FLAG(std::string, tls_client_certs, "none",
          "Client certificates: 'none', 'optional' (verified if sent) or "
          "'require' (no connection without one). Needs --tls-client-ca.");
ABSL_FLAG(bool, insecure, false,
          "Serve plain-text gRPC (no TLS). Refused unless --listen is a loopback "
          "address: for development, tests and a local quickstart.");
ABSL_FLAG(std::string, cert_principals, "",
          "File mapping verified client-certificate common names to principals, "
          "one per line: CN PRINCIPAL ROLE:AGENCY[,ROLE:AGENCY...] "
          "[writes=PERMISSION,...] ('#' starts a comment).");
ABSL_FLAG(std::string, bootstrap_token_file, "",
          "If set and the file does not exist: create an admin token for every "
          "root agency (principal 'bootstrap-admin', valid 30 days) and write it "
          "there, mode 0600. An existing file is left alone.");
ABSL_FLAG(std::string, unmasked_roles, "clerk,officer",
          "Roles that see applicants' personal ID and phone numbers unmasked in "
          "gets, lists and the feed; the others see ********1234. Comma-separated.");
ABSL_FLAG(int, max_streams_per_principal, 8,
          "Concurrent WatchEvents streams one principal may hold open.");
ABSL_FLAG(int, max_message_bytes, 4 << 20, "Largest gRPC request accepted, in bytes.");
ABSL_FLAG(int, max_document_mb, 100,
          "Largest digitised component (document) accepted by UploadComponent, in MiB.");
ABSL_FLAG(std::string, document_mime_types, "application/pdf,image/jpeg,image/png,image/tiff",
          "MIME types UploadComponent accepts, comma-separated (lower case).");
ABSL_FLAG(int, slow_rpc_ms, 500,
          "Unary RPCs taking at least this many milliseconds log a warning "
          "\"slow rpc\". 0 logs every RPC as slow; negative disables.");

namespace {

// Accepts --clock-start as well as --clock_start: Abseil flag names use
// underscores, operators type dashes.
void NormalizeFlagNames(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    char* arg = argv[i];
    if (arg[0] != '-' || arg[1] != '-') continue;
    for (char* p = arg + 2; *p != '\0' && *p != '='; ++p) {
      if (*p == '-') *p = '_';
    }
  }
}

int Fail(const std::string& message) {
  std::cerr << "onestopd: " << message << std::endl;
  return 1;
}

// The catalogue in force for the metrics: the one loaded at start, then
// each one a reload swaps in (the reload hook records it; a hook that
// succeeds is always swapped in by AdminServiceImpl::ReloadConfig).
class CatalogueInForce {
 public:
  explicit CatalogueInForce(std::shared_ptr<const onestop::core::Catalogue> catalogue)
      : catalogue_(std::move(catalogue)) {}
  std::shared_ptr<const onestop::core::Catalogue> Get() const {
    absl::MutexLock lock(&mu_);
    return catalogue_;
  }
  void Set(std::shared_ptr<const onestop::core::Catalogue> catalogue) {
    absl::MutexLock lock(&mu_);
    catalogue_ = std::move(catalogue);
  }

 private:
  mutable absl::Mutex mu_;
  std::shared_ptr<const onestop::core::Catalogue> catalogue_ ABSL_GUARDED_BY(mu_);
};

// onestop_dossiers{status}, onestop_dossiers_overdue{level} and
// onestop_dossiers_due_soon{level} from DossierStore::CountDossiers. The
// windows are those of the list filters (DossierManager::List): overdue =
// open and due before the start of today (local), due soon = due today or
// within --due-soon-working-days working days. They use the stored due
// time: a dossier whose clock is paused right now may count as overdue
// although its due time as read is later (the list API narrows that at
// read time; these gauges are the operator's view). The store's answer is
// cached for kTtl (real time) so that frequent scrapes do not rescan; a new
// day (or a moved controlled clock) changes the windows and recounts at
// once. Agencies map to levels through the catalogue in force at scrape
// time; an agency it does not know counts under level="unknown".
class DossierGauges {
 public:
  static constexpr absl::Duration kTtl = absl::Seconds(15);

  DossierGauges(onestop::storage::DossierStore* store, const onestop::Clock* clock,
                std::shared_ptr<const CatalogueInForce> catalogue, int due_soon_working_days)
      : store_(store),
        clock_(clock),
        catalogue_(std::move(catalogue)),
        due_soon_working_days_(due_soon_working_days) {}

  void Collect(onestop::ops::MetricsWriter& out) {
    const std::shared_ptr<const onestop::core::Catalogue> catalogue = catalogue_->Get();
    const onestop::core::WorkingCalendar& calendar = catalogue->calendar();
    const absl::Time now = clock_->Now();
    onestop::storage::CountQuery query;
    query.due_before = onestop::core::StartOfLocalDay(now, calendar);
    const absl::CivilDay last =
        calendar.AddWorkingDays(calendar.ToLocalDay(now), std::max(0, due_soon_working_days_));
    query.due_soon_before = std::max(query.due_before, absl::FromCivil(last + 1, calendar.zone()));

    onestop::storage::DossierCounts counts;
    {
      absl::MutexLock lock(&mu_);
      const absl::Time real_now = absl::Now();
      if (!cached_.has_value() || real_now - cached_at_ >= kTtl ||
          cached_query_.due_before != query.due_before ||
          cached_query_.due_soon_before != query.due_soon_before) {
        absl::StatusOr<onestop::storage::DossierCounts> fresh = store_->CountDossiers(query);
        if (!fresh.ok()) {
          onestop::LogWarning("cannot count dossiers for the metrics",
                              {{"error", fresh.status().ToString()}});
          return;  // the families are absent from this scrape
        }
        cached_ = *std::move(fresh);
        cached_at_ = real_now;
        cached_query_ = query;
      }
      counts = *cached_;
    }

    // Every status, 0 included, so that dashboards and alerts see the series.
    int64_t unknown_status = 0;
    for (const auto& [status, count] : counts.by_status) {
      if (status == onestop::v1::DOSSIER_STATUS_UNSPECIFIED ||
          !onestop::v1::DossierStatus_IsValid(status)) {
        unknown_status += count;
      }
    }
    for (int value = onestop::v1::DossierStatus_MIN; value <= onestop::v1::DossierStatus_MAX;
         ++value) {
      const auto status = static_cast<onestop::v1::DossierStatus>(value);
      if (status == onestop::v1::DOSSIER_STATUS_UNSPECIFIED ||
          !onestop::v1::DossierStatus_IsValid(value)) {
        continue;
      }
      const auto found = counts.by_status.find(status);
      out.Gauge("onestop_dossiers",
                "Dossiers by portal status (every stored dossier, open or closed).",
                {{"status", StatusLabel(status)}},
                found == counts.by_status.end() ? 0 : static_cast<double>(found->second));
    }
    if (unknown_status > 0) {
      out.Gauge("onestop_dossiers", "", {{"status", "unknown"}},
                static_cast<double>(unknown_status));
    }

    std::map<std::string, std::pair<int64_t, int64_t>> by_level;  // overdue, due soon
    for (const onestop::config::v1::Level& level : catalogue->levels()) by_level[level.code()];
    for (const onestop::storage::AgencyDueCounts& agency : counts.by_agency) {
      const onestop::v1::Agency* known = catalogue->FindAgency(agency.agency_code);
      auto& sums = by_level[known != nullptr ? known->level() : "unknown"];
      sums.first += agency.overdue;
      sums.second += agency.due_soon;
    }
    for (const auto& [level, sums] : by_level) {
      out.Gauge("onestop_dossiers_overdue",
                "Open dossiers (received, processing, supplement requested, financial "
                "obligation) whose stored due date has passed, by level of the receiving agency.",
                {{"level", level}}, static_cast<double>(sums.first));
    }
    for (const auto& [level, sums] : by_level) {
      out.Gauge("onestop_dossiers_due_soon",
                "Open dossiers due today or within the due-soon window "
                "(--due-soon-working-days), by level of the receiving agency.",
                {{"level", level}}, static_cast<double>(sums.second));
    }
  }

 private:
  // DOSSIER_STATUS_SUPPLEMENT_REQUESTED → "supplement_requested".
  static std::string StatusLabel(onestop::v1::DossierStatus status) {
    std::string name = onestop::v1::DossierStatus_Name(status);
    constexpr absl::string_view kPrefix = "DOSSIER_STATUS_";
    if (absl::StartsWith(name, kPrefix)) name.erase(0, kPrefix.size());
    return absl::AsciiStrToLower(name);
  }

  onestop::storage::DossierStore* const store_;
  const onestop::Clock* const clock_;
  const std::shared_ptr<const CatalogueInForce> catalogue_;
  const int due_soon_working_days_;
  absl::Mutex mu_;
  std::optional<onestop::storage::DossierCounts> cached_ ABSL_GUARDED_BY(mu_);
  absl::Time cached_at_ ABSL_GUARDED_BY(mu_);
  onestop::storage::CountQuery cached_query_ ABSL_GUARDED_BY(mu_);
};

// Scrape-time gauges whose truth lives in the store and the change feed.
void RegisterCollectors(onestop::ops::MetricsRegistry& registry,
                        const onestop::ops::Backend& backend,
                        onestop::service::OnestopServer* server,
                        std::shared_ptr<DossierGauges> dossier_gauges) {
  if (backend.collect_metrics) registry.RegisterCollector(backend.collect_metrics);
  onestop::storage::DossierStore* store = backend.dossiers.get();
  registry.RegisterCollector([store, server](onestop::ops::MetricsWriter& out) {
    if (auto last = store->LastRevision(); last.ok()) {
      out.Gauge("onestop_feed_last_revision",
                "Revision of the newest change-feed event.", {}, static_cast<double>(*last));
    }
    if (auto first = store->FirstRevision(); first.ok()) {
      out.Gauge("onestop_feed_first_retained_revision",
                "Oldest change-feed revision still retained (older ones are compacted).",
                {}, static_cast<double>(*first));
    }
    out.Gauge("onestop_feed_followers", "Open WatchEvents streams (change-feed followers).",
              {}, server->feed_service().ActiveWatches());
    // Per follower: the newest revision minus the watch's position. At most
    // 100 series (the oldest watches); the rest fold into principal="other".
    for (const onestop::service::FollowerLag& lag :
         onestop::service::FollowerLagSeries(server->feed_service().Followers(), 100)) {
      out.Gauge("onestop_feed_follower_lag_revisions",
                "Revisions an open WatchEvents stream is behind the newest one (the series "
                "watch=\"other\" carries the largest lag of the streams beyond the first 100).",
                {{"principal", lag.principal}, {"watch", lag.watch}},
                static_cast<double>(lag.lag));
    }
  });
  registry.RegisterCollector(
      [dossier_gauges](onestop::ops::MetricsWriter& out) { dossier_gauges->Collect(out); });
}

// Creates the first admin token and writes it to `path` (0600, created
// exclusively). An existing file is left alone: its token was made by an
// earlier start, and a second one would only widen access.
absl::Status WriteBootstrapToken(const std::string& path, onestop::storage::SecurityStore* store,
                                 const onestop::Clock* clock,
                                 const onestop::core::Catalogue& catalogue) {
  if (access(path.c_str(), F_OK) == 0) return absl::OkStatus();
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create ", path, ": ", std::strerror(errno)));
  }
  auto created = onestop::service::auth::CreateBootstrapAdminToken(
      store, clock, catalogue, "bootstrap-admin", absl::Hours(24 * 30));
  if (!created.ok()) {
    close(fd);
    unlink(path.c_str());
    return created.status();
  }
  const std::string line = created->secret + "\n";
  const bool written = write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) &&
                       fsync(fd) == 0;
  close(fd);
  if (!written) {
    unlink(path.c_str());
    return absl::FailedPreconditionError(absl::StrCat("cannot write ", path));
  }
  onestop::LogInfo("bootstrap admin token written",
                   {{"path", path}, {"token_id", created->info.id()}});
  return absl::OkStatus();
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "onestopd: the one-stop dossier daemon.\n"
      "Example (local, plain text, first admin token written to a file):\n"
      "  onestopd --config=deploy/daklak-2020.textproto --db=/tmp/onestop.db "
      "--listen=127.0.0.1:7600 --insecure --bootstrap-token-file=/tmp/onestop-admin.token\n"
      "In production: --tls-cert=FILE --tls-key=FILE (docs/SECURITY.md).");
  absl::FlagsUsageConfig usage_config;
  usage_config.version_string = [] {
    return onestop::ops::VersionLine("onestopd") + "\n";
  };
  absl::SetFlagsUsageConfig(usage_config);
  NormalizeFlagNames(argc, argv);
  absl::ParseCommandLine(argc, argv);  // --version prints and exits here
  // Debian's Abseil checks every Mutex acquisition for lock-order cycles
  // (GraphCycles showed in the submit profile, docs/PERFORMANCE.md); the
  // tests keep the check, the daemon skips its cost.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);

  // Block the shutdown and reload signals in every thread; main waits for
  // them below. (SIGHUP's default action would kill the daemon.)
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  onestop::LogOptions log_options;
  const std::string level = absl::GetFlag(FLAGS_log_level);
  if (level == "debug") log_options.min_level = onestop::LogLevel::kDebug;
  else if (level == "info") log_options.min_level = onestop::LogLevel::kInfo;
  else if (level == "warning") log_options.min_level = onestop::LogLevel::kWarning;
  else if (level == "error") log_options.min_level = onestop::LogLevel::kError;
  else return Fail(absl::StrCat("--log-level: unknown level \"", level, "\""));

  // The clock.
  const std::string listen = absl::GetFlag(FLAGS_listen);
  std::unique_ptr<onestop::ControlledClock> controlled;
  const onestop::Clock* clock = onestop::SystemClock::Get();
  const std::string clock_mode = absl::GetFlag(FLAGS_clock);
  if (clock_mode == "controlled") {
    if (!onestop::service::auth::IsLoopbackAddress(listen)) {
      return Fail(absl::StrCat("--clock=controlled is refused on ", listen,
                               ": a controlled clock is for tests and training and "
                               "may only listen on a loopback address"));
    }
    absl::Time start = absl::Now();
    const std::string start_text = absl::GetFlag(FLAGS_clock_start);
    std::string error;
    if (!start_text.empty() &&
        !absl::ParseTime(absl::RFC3339_full, start_text, &start, &error)) {
      return Fail(absl::StrCat("--clock-start: \"", start_text,
                               "\" is not an RFC 3339 time (e.g. "
                               "2020-01-06T08:00:00+07:00): ", error));
    }
    controlled = std::make_unique<onestop::ControlledClock>(start, onestop::SystemClock::Get());
    clock = controlled.get();
    log_options.constant_fields.push_back({"clock", "controlled"});
  } else if (clock_mode != "system") {
    return Fail(absl::StrCat("--clock: expected 'system' or 'controlled', got \"",
                             clock_mode, "\""));
  }
  log_options.clock = clock;
  onestop::ConfigureLogging(log_options);
  if (controlled) {
    onestop::LogWarning(
        "THE CLOCK IS CONTROLLED: times are simulated; never use this daemon "
        "for real dossiers",
        {{"now", absl::FormatTime(absl::RFC3339_full, clock->Now(), absl::UTCTimeZone())}});
  }

  std::string admin_listen = absl::GetFlag(FLAGS_admin_listen);
  if (admin_listen == "off") {
    admin_listen.clear();
  } else if (admin_listen == "auto") {
    admin_listen = absl::EndsWith(listen, ":7600") ? "127.0.0.1:7601" : "127.0.0.1:0";
  }
  if (!admin_listen.empty() && !absl::GetFlag(FLAGS_admin_allow_public) &&
      !onestop::service::auth::IsLoopbackAddress(admin_listen)) {
    return Fail(absl::StrCat("--admin-listen=", admin_listen,
                             " is not a loopback address; the admin listener has no "
                             "authentication. Add --admin-allow-public to serve it there."));
  }
  // Transport and identity.
  namespace auth = onestop::service::auth;
  auth::TransportOptions transport;
  transport.listen_address = listen;
  transport.transport =
      absl::GetFlag(FLAGS_insecure) ? auth::Transport::kInsecure : auth::Transport::kTls;
  transport.tls.cert_file = absl::GetFlag(FLAGS_tls_cert);
  transport.tls.key_file = absl::GetFlag(FLAGS_tls_key);
  transport.tls.client_ca_file = absl::GetFlag(FLAGS_tls_client_ca);
  const std::string client_certs = absl::GetFlag(FLAGS_tls_client_certs);
  if (client_certs == "none") {
    transport.tls.client_certificates = auth::ClientCertificates::kNotRequested;
  } else if (client_certs == "optional") {
    transport.tls.client_certificates = auth::ClientCertificates::kRequestAndVerify;
  } else if (client_certs == "require") {
    transport.tls.client_certificates = auth::ClientCertificates::kRequireAndVerify;
  } else {
    return Fail(absl::StrCat("--tls-client-certs: \"", client_certs,
                             "\" is not none, optional or require"));
  }
  if (absl::Status checked = auth::CheckTransport(transport); !checked.ok()) {
    return Fail(std::string(checked.message()));
  }
  onestop::core::PrivacyPolicy privacy;
  privacy.roles_seeing_personal_data.clear();
  for (absl::string_view name :
       absl::StrSplit(absl::GetFlag(FLAGS_unmasked_roles), ',', absl::SkipWhitespace())) {
    const std::optional<onestop::core::Role> role = onestop::core::ParseRole(name);
    if (!role.has_value()) {
      return Fail(absl::StrCat("--unmasked-roles: \"", name,
                               "\" is not clerk, officer, supervisor, service or admin"));
    }
    privacy.roles_seeing_personal_data.push_back(*role);
  }
  const int max_streams = absl::GetFlag(FLAGS_max_streams_per_principal);
  const int max_message_bytes = absl::GetFlag(FLAGS_max_message_bytes);
  if (max_streams < 1 || max_message_bytes < 1024) {
    return Fail("--max-streams-per-principal must be at least 1 and --max-message-bytes at "
                "least 1024");
  }
  const int slow_rpc_ms = absl::GetFlag(FLAGS_slow_rpc_ms);
  const onestop::ops::BuildInfo& build = onestop::ops::GetBuildInfo();
  onestop::LogInfo("starting", {{"version", build.version},
                                {"revision", build.revision},
                                {"build_type", build.build_type},
                                {"compiler", build.compiler}});

  // Configuration and store: refuse to start on any problem.
  auto catalogue = onestop::config::LoadConfigFile(absl::GetFlag(FLAGS_config));
  if (!catalogue.ok()) {
    return Fail(absl::StrCat("cannot load the configuration:\n",
                             catalogue.status().message()));
  }
  auth::AuthenticatorOptions authentication;
  if (const std::string path = absl::GetFlag(FLAGS_cert_principals); !path.empty()) {
    auto text = auth::ReadPemFile(path, "--cert-principals");
    if (!text.ok()) return Fail(std::string(text.status().message()));
    auto mapped = auth::ParseCertificatePrincipals(*text, **catalogue);
    if (!mapped.ok()) {
      return Fail(absl::StrCat("--cert-principals ", path, ": ", mapped.status().message()));
    }
    authentication.certificate_principals = *std::move(mapped);
  }
  onestop::ops::BackendOptions backend_options;
  backend_options.db = absl::GetFlag(FLAGS_db);
  backend_options.postgres_pool_size = absl::GetFlag(FLAGS_postgres_pool_size);
  if (const std::string check = absl::GetFlag(FLAGS_integrity_check); check == "header") {
    backend_options.sqlite_integrity_check = onestop::storage::IntegrityCheck::kHeaderOnly;
  } else if (check != "quick") {
    return Fail(absl::StrCat("--integrity-check: \"", check, "\" is not quick or header"));
  }
  if (backend_options.postgres_pool_size < 1 || backend_options.postgres_pool_size > 256) {
    return Fail("--postgres-pool-size must be between 1 and 256");
  }
  auto backend = onestop::ops::OpenBackend(backend_options);
  if (!backend.ok()) return Fail(std::string(backend.status().message()));
  if (const std::string path = absl::GetFlag(FLAGS_bootstrap_token_file); !path.empty()) {
    if (absl::Status written =
            WriteBootstrapToken(path, backend->security.get(), clock, **catalogue);
        !written.ok()) {
      return Fail(absl::StrCat("--bootstrap-token-file: ", written.message()));
    }
  }

  // Metrics: build info, storage write latency, per-RPC counters.
  onestop::ops::MetricsRegistry metrics;
  if (auto info = metrics.AddGauge(
          "onestop_build_info", "Always 1; the labels say which build is running.",
          {"version", "revision", "build_type", "compiler"});
      info.ok()) {
    (*info)->Set({build.version, build.revision, build.build_type, build.compiler}, 1);
  }
  if (auto started = metrics.AddGauge("process_start_time_seconds",
                                      "Start time of the process since the Unix epoch, in "
                                      "seconds.",
                                      {});
      started.ok()) {
    (*started)->Set({}, absl::ToDoubleSeconds(absl::Now() - absl::UnixEpoch()));
  }
  auto metrics_store = onestop::ops::MetricsDossierStore::Wrap(backend->dossiers.get(), &metrics);
  if (!metrics_store.ok()) return Fail(std::string(metrics_store.status().message()));
  onestop::ops::GrpcMetricsOptions grpc_metrics_options;
  grpc_metrics_options.slow_rpc_threshold =
      slow_rpc_ms < 0 ? absl::InfiniteDuration() : absl::Milliseconds(slow_rpc_ms);
  auto grpc_metrics = onestop::ops::GrpcMetrics::Create(&metrics, grpc_metrics_options);
  if (!grpc_metrics.ok()) return Fail(std::string(grpc_metrics.status().message()));

  onestop::service::ServerOptions options;
  options.listen = listen;
  options.transport = transport;
  options.authentication = std::move(authentication);
  options.privacy = privacy;
  options.streams.max_streams_per_principal = max_streams;
  options.max_receive_message_bytes = max_message_bytes;
  const int max_document_mb = absl::GetFlag(FLAGS_max_document_mb);
  if (max_document_mb < 1 || max_document_mb > 4096) {
    return Fail("--max-document-mb must be between 1 and 4096");
  }
  options.documents.policy.max_size_bytes = int64_t{max_document_mb} << 20;
  options.documents.policy.allowed_mime_types.clear();
  for (absl::string_view type :
       absl::StrSplit(absl::GetFlag(FLAGS_document_mime_types), ',', absl::SkipWhitespace())) {
    options.documents.policy.allowed_mime_types.emplace_back(absl::StripAsciiWhitespace(type));
  }
  if (auto data_loss = metrics.AddCounter(
          "onestop_document_data_loss_total",
          "Downloads refused with DATA_LOSS: a stored component failed its hash check or is "
          "missing. Anything above 0 needs a restore from backup.",
          {});
      data_loss.ok()) {
    onestop::ops::CounterFamily* counter = *data_loss;
    options.documents.on_data_loss = [counter] { counter->Add({}); };
  }
  options.executor.threads = absl::GetFlag(FLAGS_threads);
  const int due_soon_working_days = absl::GetFlag(FLAGS_due_soon_working_days);
  if (due_soon_working_days < 0 || due_soon_working_days > 30) {
    return Fail("--due-soon-working-days must be between 0 and 30");
  }
  options.manager.timeliness.due_soon_working_days = due_soon_working_days;
  const bool withdrawn_on_time = absl::GetFlag(FLAGS_withdrawn_counts_on_time);
  options.manager.timeliness.withdrawn_counts_on_time = withdrawn_on_time;
  options.report.default_withdrawn_policy = withdrawn_on_time
                                                ? onestop::v1::WITHDRAWN_POLICY_ON_TIME
                                                : onestop::v1::WITHDRAWN_POLICY_NOT_RESOLVED;
  onestop::service::ServerDependencies deps;
  deps.store = metrics_store->get();
  deps.security_store = backend->security.get();
  deps.blob_store = backend->blobs.get();
  const std::string config_path = absl::GetFlag(FLAGS_config);
  auto catalogue_in_force = std::make_shared<CatalogueInForce>(*catalogue);
  deps.admin_hooks.reload_config = [config_path, catalogue_in_force] {
    auto loaded = onestop::config::LoadConfigFile(config_path);
    if (loaded.ok()) catalogue_in_force->Set(*loaded);  // swapped in by the caller
    return loaded;
  };
  deps.admin_hooks.backup_database = backend->backup;
  deps.catalogue = *catalogue;
  deps.clock = clock;
  deps.controlled_clock = controlled.get();
  onestop::ops::GrpcMetrics* rpc_metrics = grpc_metrics->get();
  deps.interceptor_factories = [rpc_metrics] {
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> factories;
    factories.push_back(rpc_metrics->NewInterceptorFactory());
    return factories;
  };
  auto server = onestop::service::OnestopServer::Start(options, deps);
  if (!server.ok()) return Fail(std::string(server.status().message()));
  // PostgreSQL: other daemons' commits wake this daemon's feed watchers.
  onestop::storage::FeedNotifier* notifier = &(*server)->feed_notifier();
  auto wakeups = onestop::ops::StartFeedWakeups(
      *backend, [notifier](int64_t revision) { notifier->Publish(revision); });
  if (!wakeups.ok()) {
    (*server)->Shutdown(absl::ZeroDuration());
    return Fail(std::string(wakeups.status().message()));
  }

  // The admin listener. Readiness: the configuration is loaded (it is, or
  // we would have exited), the database answers, and we are not stopping.
  std::atomic<bool> stopping{false};
  std::unique_ptr<onestop::ops::AdminHttpServer> admin;
  if (!admin_listen.empty()) {
    RegisterCollectors(metrics, *backend, server->get(),
                       std::make_shared<DossierGauges>(backend->dossiers.get(), clock,
                                                       catalogue_in_force,
                                                       due_soon_working_days));
    onestop::ops::AdminHttpOptions admin_options;
    admin_options.listen = admin_listen;
    onestop::ops::AdminHttpHandlers handlers;
    handlers.registry = &metrics;
    onestop::storage::DossierStore* raw_store = backend->dossiers.get();
    handlers.ready = [raw_store, &stopping]() -> absl::Status {
      if (stopping.load()) return absl::UnavailableError("shutting down");
      if (auto revision = raw_store->LastRevision(); !revision.ok()) {
        return absl::UnavailableError(
            absl::StrCat("database unreachable: ", revision.status().message()));
      }
      return absl::OkStatus();
    };
    auto started = onestop::ops::AdminHttpServer::Start(admin_options, std::move(handlers));
    if (!started.ok()) {
      (*server)->Shutdown(absl::ZeroDuration());
      return Fail(absl::StrCat("--admin-listen: ", started.status().message()));
    }
    admin = std::move(*started);
  }

  // Tests and scripts read the bound addresses from these lines; the gRPC
  // line comes first and keeps its format.
  std::printf("onestopd listening on %s\n", (*server)->address().c_str());
  if (admin) std::printf("onestopd admin listening on %s\n", admin->address().c_str());
  std::fflush(stdout);
  onestop::LogInfo("serving", {{"address", (*server)->address()},
                               {"admin_address", admin ? admin->address() : "off"},
                               {"db", backend->description},
                               {"config", absl::GetFlag(FLAGS_config)},
                               {"version", build.version}});

  int signal_number = 0;
  for (;;) {
    sigwait(&signals, &signal_number);
    if (signal_number != SIGHUP) break;
    // Reload: validated completely, swapped atomically, or left alone (the
    // admin service logs the outcome either way).
    (*server)->admin_service().ReloadConfig().IgnoreError();
  }
  onestop::LogInfo("shutting down", {{"signal", absl::StrCat(signal_number)}});
  stopping.store(true);
  (*server)->Shutdown(absl::Seconds(absl::GetFlag(FLAGS_shutdown_grace_seconds)));
  if (admin) admin->Stop();  // before the server and store its collectors read
  admin.reset();
  wakeups->reset();
  server->reset();
  metrics_store->reset();
  backend->security.reset();
  backend->blobs.reset();
  backend->dossiers.reset();  // closes the database cleanly
  onestop::LogInfo("stopped");
  return 0;
}
