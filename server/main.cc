// onestopd: the composition root. Parses flags into options, loads and
// validates the configuration, opens the store, picks the clock, starts the
// gRPC server, and shuts everything down cleanly on SIGTERM/SIGINT.
#include <signal.h>

#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "server/config/config_loader.h"
#include "server/service/onestop_server.h"
#include "server/util/clock.h"
#include "server/util/log.h"
#include "storage/sqlite/sqlite_dossier_store.h"

ABSL_FLAG(std::string, config, "/etc/onestop/onestopd.textproto",
          "Configuration file (text-format onestop.config.v1.Config): agencies, "
          "procedures, calendar.");
ABSL_FLAG(std::string, db, "/var/lib/onestop/onestop.db",
          "SQLite database file; created on first start.");
ABSL_FLAG(std::string, listen, "127.0.0.1:7600",
          "HOST:PORT to serve gRPC on. Port 0 picks a free port; the bound "
          "address is printed on stdout.");
ABSL_FLAG(std::string, clock, "system",
          "'system' (real time) or 'controlled' (for tests, demos and training: "
          "an admin RPC can pin or advance it; loopback addresses only).");
ABSL_FLAG(std::string, clock_start, "",
          "With --clock=controlled: the instant the clock starts at, RFC 3339 "
          "(e.g. 2020-01-06T08:00:00+07:00). Default: the real time.");
ABSL_FLAG(int, threads, 8, "Application threads for database work.");
ABSL_FLAG(std::string, log_level, "info", "debug, info, warning or error.");
ABSL_FLAG(int, shutdown_grace_seconds, 10,
          "On SIGTERM/SIGINT, how long in-flight calls may take to finish.");

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

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "onestopd: the one-stop dossier daemon.\n"
      "Example: onestopd --config=deploy/daklak-2020.textproto "
      "--db=/tmp/onestop.db --listen=127.0.0.1:7600");
  NormalizeFlagNames(argc, argv);
  absl::ParseCommandLine(argc, argv);

  // Block the shutdown signals in every thread; main waits for them below.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
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
    if (!onestop::service::IsLoopbackAddress(listen)) {
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

  // Configuration and store: refuse to start on any problem.
  auto catalogue = onestop::config::LoadConfigFile(absl::GetFlag(FLAGS_config));
  if (!catalogue.ok()) {
    return Fail(absl::StrCat("cannot load the configuration:\n",
                             catalogue.status().message()));
  }
  onestop::storage::SqliteOptions store_options;
  store_options.path = absl::GetFlag(FLAGS_db);
  auto store = onestop::storage::SqliteDossierStore::Open(store_options);
  if (!store.ok()) {
    return Fail(absl::StrCat("cannot open the database: ", store.status().message()));
  }

  onestop::service::ServerOptions options;
  options.listen = listen;
  options.executor.threads = absl::GetFlag(FLAGS_threads);
  onestop::service::ServerDependencies deps;
  deps.store = store->get();
  deps.catalogue = *catalogue;
  deps.clock = clock;
  deps.controlled_clock = controlled.get();
  auto server = onestop::service::OnestopServer::Start(options, deps);
  if (!server.ok()) return Fail(std::string(server.status().message()));

  // Tests and scripts read the bound address from this line.
  std::printf("onestopd listening on %s\n", (*server)->address().c_str());
  std::fflush(stdout);
  onestop::LogInfo("serving", {{"address", (*server)->address()},
                               {"db", store_options.path},
                               {"config", absl::GetFlag(FLAGS_config)}});

  int signal_number = 0;
  sigwait(&signals, &signal_number);
  onestop::LogInfo("shutting down", {{"signal", absl::StrCat(signal_number)}});
  (*server)->Shutdown(absl::Seconds(absl::GetFlag(FLAGS_shutdown_grace_seconds)));
  server->reset();
  store->reset();  // closes the database cleanly
  onestop::LogInfo("stopped");
  return 0;
}
