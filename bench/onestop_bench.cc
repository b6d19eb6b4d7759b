// onestop_bench: drives the empty-handler ceiling server and the real
// onestopd binary with the same load generator and prints one JSON object
// per measurement on stdout (bench/report.py turns them into the table).
//
// Phases (--phases, comma-separated; all by default):
//   ceiling    empty_server: SubmitDossier at each --in_flight, the lifecycle
//              chain at the largest, GetDossier at 1 in flight
//   submit     onestopd on a fresh database: durable SubmitDossier at each
//              --in_flight, then the full lifecycle at the largest
//   read       dossier_loader fills a database with --dossiers dossiers, then
//              onestopd starts on it: start time, RSS, file size, GetDossier
//              and a 50-row ListDossiers page at 1 and 16 in flight
//   soak       not in the default: onestopd on a fresh database under a long
//              mixed load (submits, lifecycles, GetDossier, ListDossiers pages,
//              WatchEvents followers), sampled every --soak_sample_seconds;
//              verdicts on RSS, open fds and p99 drift (bench/soak.h). Exit
//              status 3 if a verdict is violated.
// With --target=HOST:PORT the submit phase drives that server instead of
// starting one (used to profile a daemon started by bench/run.sh).
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "bench/bench_rpc.h"
#include "bench/load_generator.h"
#include "bench/soak.h"
#include "onestop/v1/dossier_service.grpc.pb.h"
#include "onestop/v1/security_service.grpc.pb.h"
#include "tests/testing/subprocess.h"

ABSL_FLAG(std::string, onestopd, ONESTOP_BENCH_ONESTOPD, "The onestopd binary.");
ABSL_FLAG(std::string, empty_server, ONESTOP_BENCH_EMPTY_SERVER, "The empty_server binary.");
ABSL_FLAG(std::string, loader, ONESTOP_BENCH_LOADER, "The dossier_loader binary.");
ABSL_FLAG(std::string, config, ONESTOP_BENCH_SOURCE_DIR "/deploy/daklak-2020.textproto",
          "onestopd configuration.");
ABSL_FLAG(std::string, workdir, "/tmp", "Directory for the databases (a fresh subdirectory).");
ABSL_FLAG(std::string, phases, "ceiling,submit,read", "Which phases to run.");
ABSL_FLAG(std::string, target, "", "Drive this server in the submit phase instead of starting one.");
ABSL_FLAG(std::string, admin_token_file, "",
          "With --target: the daemon's admin token file (--bootstrap-token-file); the bench "
          "issues itself a clerk+officer token with it. Daemons the bench starts do this "
          "on their own.");
ABSL_FLAG(double, seconds, 5, "Measured seconds per measurement.");
ABSL_FLAG(double, warmup_seconds, 1, "Unmeasured warm-up before each measurement.");
ABSL_FLAG(std::string, in_flight, "1,16,64", "Calls in flight for the submit measurements.");
ABSL_FLAG(int, channels, 4, "gRPC channels (TCP connections) the load is spread over.");
ABSL_FLAG(int, threads, 32, "Server executor threads (onestopd --threads).");
// A province-level desk and procedure of the sample configuration that are
// valid today: its district and commune agencies ceased on 30/6/2025, and
// the benchmark runs on the real clock like production.
ABSL_FLAG(std::string, agency, "000.00.01.H15", "Receiving agency of the dossiers.");
ABSL_FLAG(std::string, procedure, "2.000488", "Procedure of the dossiers.");
ABSL_FLAG(int64_t, dossiers, 3000000, "Stored dossiers for the read phase.");
ABSL_FLAG(bool, keep, false, "Keep the work directory (databases) afterwards.");
// The soak phase (bench/soak.h, docs/RELIABILITY.md).
ABSL_FLAG(double, soak_minutes, 30, "Soak length in minutes, warm-up included.");
ABSL_FLAG(double, soak_seconds, 0, "Soak length in seconds; overrides --soak_minutes if > 0.");
ABSL_FLAG(double, soak_warmup_seconds, 60,
          "Samples in the first seconds of the soak are printed but not judged.");
ABSL_FLAG(double, soak_sample_seconds, 30, "Seconds between soak samples.");
ABSL_FLAG(int, soak_in_flight, 16, "Operations in flight during the soak.");
ABSL_FLAG(double, soak_rate, 200,
          "Operations started per second during the soak (paced, well below what the "
          "2-core machine saturates at); 0 = closed loop, as fast as the daemon answers.");
ABSL_FLAG(std::string, soak_mix, "submit=2,lifecycle=1,get=4,list=2",
          "Soak operation mix: KIND=WEIGHT over submit, lifecycle, get, list.");
ABSL_FLAG(int, soak_list_pages, 5, "ListDossiers pages followed before starting over.");
ABSL_FLAG(int, soak_watchers, 2, "WatchEvents followers during the soak.");
ABSL_FLAG(double, soak_rss_growth_mb, 20, "RSS verdict: growth allowed in MB ...");
ABSL_FLAG(double, soak_rss_growth_fraction, 0.10,
          "... or as a fraction of the first judged sample, whichever is larger.");
ABSL_FLAG(int, soak_fd_tolerance, 2, "fd verdict: allowed change in open descriptors.");
ABSL_FLAG(double, soak_p99_ratio, 2.0,
          "p99 verdict: last third's p99 at most this times the first third's ...");
ABSL_FLAG(double, soak_p99_slack_ms, 1.0, "... or at most this many ms above it.");

namespace onestop::bench {
namespace {

using namespace onestop::v1;  // NOLINT

// The dossiers every phase submits (the flags' desk and procedure).
SubmitDossierRequest SubmitRequest() {
  return onestop::bench::SubmitRequest(absl::GetFlag(FLAGS_procedure),
                                       absl::GetFlag(FLAGS_agency));
}

void SubmitOnce(DossierService::Stub* stub, int, int64_t, Done done) {
  Invoke<SubmitDossierRequest, SubmitDossierResponse>(
      stub, &AsyncInterface::SubmitDossier, SubmitRequest(),
      [done](const grpc::Status& status, const SubmitDossierResponse&) { done(status.ok()); });
}

// The full desk lifecycle of one dossier (bench_rpc.h). One operation =
// one dossier.
void Lifecycle(DossierService::Stub* stub, int, int64_t, Done done) {
  RunLifecycle(stub, SubmitRequest(),
               [done = std::move(done)](bool ok, const Dossier&) { done(ok); });
}

// GetDossier of a random sampled code. Each slot has its own generator
// (a slot runs one operation at a time), so no locking.
Workload GetWorkload(std::shared_ptr<const std::vector<std::string>> codes, int slots) {
  auto generators = std::make_shared<std::vector<std::mt19937_64>>();
  for (int i = 0; i < slots; ++i) generators->emplace_back(1000 + i);
  return [codes, generators](DossierService::Stub* stub, int slot, int64_t, Done done) {
    GetDossierRequest request;
    if (!codes->empty()) {
      request.set_code((*codes)[(*generators)[slot]() % codes->size()]);
    }
    Invoke<GetDossierRequest, GetDossierResponse>(
        stub, &AsyncInterface::GetDossier, request,
        [done](const grpc::Status& status, const GetDossierResponse&) { done(status.ok()); });
  };
}

// The first 50-row page, newest first; with `agency` filtered by it.
Workload ListWorkload(std::string agency) {
  return [agency](DossierService::Stub* stub, int, int64_t, Done done) {
    ListDossiersRequest request;
    request.set_page_size(50);
    request.set_agency_code(agency);
    Invoke<ListDossiersRequest, ListDossiersResponse>(
        stub, &AsyncInterface::ListDossiers, request,
        [done](const grpc::Status& status, const ListDossiersResponse& response) {
          done(status.ok() && response.dossiers_size() == 50);
        });
  };
}

// One JSON line: the measurement's name and server, then the result.
void Emit(const std::string& name, const std::string& server, const LoadResult& r,
          const std::string& extra = "") {
  std::printf(
      "{\"kind\":\"load\",\"name\":\"%s\",\"server\":\"%s\",\"in_flight\":%d,"
      "\"operations\":%lld,\"errors\":%lld,\"seconds\":%.3f,\"ops_per_second\":%.1f,"
      "\"p50_us\":%.1f,\"p99_us\":%.1f,\"mean_us\":%.1f%s}\n",
      name.c_str(), server.c_str(), r.in_flight, static_cast<long long>(r.operations),
      static_cast<long long>(r.errors), r.seconds, r.ops_per_second, r.p50_us, r.p99_us,
      r.mean_us, extra.c_str());
  std::fflush(stdout);
}

bool Measure(const std::string& name, const std::string& server, const std::string& target,
             int in_flight, const Workload& workload) {
  LoadOptions options;
  options.target = target;
  options.channels = absl::GetFlag(FLAGS_channels);
  options.in_flight = in_flight;
  options.duration = absl::Seconds(absl::GetFlag(FLAGS_seconds));
  options.warmup = absl::Seconds(absl::GetFlag(FLAGS_warmup_seconds));
  auto result = RunLoad(options, workload);
  if (!result.ok()) {
    std::fprintf(stderr, "onestop_bench: %s: %s\n", name.c_str(),
                 result.status().ToString().c_str());
    return false;
  }
  Emit(name, server, *result);
  return true;
}

std::vector<int> InFlightLevels() {
  std::vector<int> levels;
  for (absl::string_view item : absl::StrSplit(absl::GetFlag(FLAGS_in_flight), ',')) {
    int level = 0;
    if (absl::SimpleAtoi(item, &level) && level > 0) levels.push_back(level);
  }
  return levels;
}

// Starts onestopd on `db` with the flags' binary, configuration and
// threads (bench_rpc.h).
double StartDaemon(testing::DaemonProcess& daemon, const std::string& db) {
  return onestop::bench::StartDaemon(daemon, absl::GetFlag(FLAGS_onestopd),
                                     absl::GetFlag(FLAGS_config), db,
                                     absl::GetFlag(FLAGS_threads));
}

bool CeilingPhase(const std::vector<int>& levels) {
  testing::DaemonProcess server;
  if (!server.Start({absl::GetFlag(FLAGS_empty_server),
                     absl::StrCat("--threads=", absl::GetFlag(FLAGS_threads))})) {
    std::fprintf(stderr, "onestop_bench: empty_server did not start: %s\n",
                 server.error().c_str());
    return false;
  }
  bool ok = true;
  for (int level : levels) ok = ok && Measure("submit", "empty", server.address(), level, SubmitOnce);
  ok = ok && Measure("lifecycle", "empty", server.address(), levels.back(), Lifecycle);
  ok = ok && Measure("get", "empty", server.address(), 1,
                     GetWorkload(std::make_shared<std::vector<std::string>>(), 1));
  server.Stop();
  return ok;
}

bool SubmitPhase(const std::vector<int>& levels, const std::string& dir) {
  testing::DaemonProcess daemon;
  std::string target = absl::GetFlag(FLAGS_target);
  if (!target.empty() && !absl::GetFlag(FLAGS_admin_token_file).empty() &&
      !IssueBenchToken(target, absl::GetFlag(FLAGS_admin_token_file))) {
    return false;
  }
  if (target.empty()) {
    if (StartDaemon(daemon, dir + "/submit.db") < 0) return false;
    target = daemon.address();
  }
  bool ok = true;
  for (int level : levels) ok = ok && Measure("submit", "onestopd", target, level, SubmitOnce);
  if (absl::GetFlag(FLAGS_target).empty()) {
    ok = ok && Measure("lifecycle", "onestopd", target, levels.back(), Lifecycle);
    daemon.Stop();
  }
  return ok;
}

bool ReadPhase(const std::string& dir) {
  const std::string db = dir + "/read.db";
  const std::string codes_path = dir + "/codes.txt";
  const int64_t n = absl::GetFlag(FLAGS_dossiers);
  const auto load_start = std::chrono::steady_clock::now();
  testing::ProcessResult load = testing::RunProcess(
      {absl::GetFlag(FLAGS_loader), "--db=" + db, "--config=" + absl::GetFlag(FLAGS_config),
       absl::StrCat("--dossiers=", n), "--codes_out=" + codes_path});
  if (load.exit_code != 0) {
    std::fprintf(stderr, "onestop_bench: dossier_loader failed: %s\n", load.err.c_str());
    return false;
  }
  std::fputs(load.out.c_str(), stdout);
  const double load_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count();
  auto codes = std::make_shared<std::vector<std::string>>();
  {
    std::ifstream in(codes_path);
    std::string line;
    while (std::getline(in, line)) codes->push_back(line);
  }

  testing::DaemonProcess daemon;
  const double start_seconds = StartDaemon(daemon, db);
  if (start_seconds < 0) return false;
  const auto [rss_start_kb, hwm_start_kb] = MemoryKb(daemon.pid());
  bool ok = true;
  for (int level : {1, 16}) {
    ok = ok && Measure("get", "onestopd", daemon.address(), level, GetWorkload(codes, level));
  }
  for (int level : {1, 16}) {
    ok = ok && Measure("list", "onestopd", daemon.address(), level, ListWorkload(""));
  }
  ok = ok && Measure("list_agency", "onestopd", daemon.address(), 1,
                     ListWorkload(absl::GetFlag(FLAGS_agency)));
  const auto [rss_kb, hwm_kb] = MemoryKb(daemon.pid());
  daemon.Stop();
  // After a clean stop the WAL is checkpointed into the main file.
  const int64_t db_bytes = FileBytes(db) + FileBytes(db + "-wal");
  std::printf(
      "{\"kind\":\"footprint\",\"dossiers\":%lld,\"history_per_dossier\":6,"
      "\"load_seconds\":%.2f,\"start_seconds\":%.3f,\"rss_start_mb\":%.1f,"
      "\"rss_mb\":%.1f,\"rss_peak_mb\":%.1f,\"db_bytes\":%lld,\"db_bytes_per_dossier\":%.1f}\n",
      static_cast<long long>(n), load_seconds, start_seconds, rss_start_kb / 1024.0,
      rss_kb / 1024.0, std::max(hwm_kb, hwm_start_kb) / 1024.0, static_cast<long long>(db_bytes),
      n > 0 ? static_cast<double>(db_bytes) / n : 0.0);
  std::fflush(stdout);
  return ok;
}

int SoakPhase(const std::string& dir) {
  SoakOptions options;
  options.onestopd = absl::GetFlag(FLAGS_onestopd);
  options.config = absl::GetFlag(FLAGS_config);
  options.agency = absl::GetFlag(FLAGS_agency);
  options.procedure = absl::GetFlag(FLAGS_procedure);
  options.threads = absl::GetFlag(FLAGS_threads);
  options.channels = absl::GetFlag(FLAGS_channels);
  options.in_flight = absl::GetFlag(FLAGS_soak_in_flight);
  options.seconds = absl::GetFlag(FLAGS_soak_seconds) > 0 ? absl::GetFlag(FLAGS_soak_seconds)
                                                          : absl::GetFlag(FLAGS_soak_minutes) * 60;
  options.warmup_seconds = absl::GetFlag(FLAGS_soak_warmup_seconds);
  options.sample_seconds = absl::GetFlag(FLAGS_soak_sample_seconds);
  options.rate = absl::GetFlag(FLAGS_soak_rate);
  options.mix = absl::GetFlag(FLAGS_soak_mix);
  options.list_pages = absl::GetFlag(FLAGS_soak_list_pages);
  options.watchers = absl::GetFlag(FLAGS_soak_watchers);
  options.rss_growth_mb = absl::GetFlag(FLAGS_soak_rss_growth_mb);
  options.rss_growth_fraction = absl::GetFlag(FLAGS_soak_rss_growth_fraction);
  options.fd_tolerance = absl::GetFlag(FLAGS_soak_fd_tolerance);
  options.p99_ratio = absl::GetFlag(FLAGS_soak_p99_ratio);
  options.p99_slack_ms = absl::GetFlag(FLAGS_soak_p99_slack_ms);
  return RunSoak(options, dir);
}

int Main() {
  const std::vector<int> levels = InFlightLevels();
  if (levels.empty()) {
    std::fprintf(stderr, "onestop_bench: --in_flight needs positive numbers\n");
    return 2;
  }
  std::string dir = absl::GetFlag(FLAGS_workdir) + "/onestop_bench_XXXXXX";
  if (mkdtemp(dir.data()) == nullptr) {
    std::fprintf(stderr, "onestop_bench: cannot create a directory under %s\n",
                 absl::GetFlag(FLAGS_workdir).c_str());
    return 1;
  }
  bool ok = true;
  bool verdict_violated = false;
  for (absl::string_view phase : absl::StrSplit(absl::GetFlag(FLAGS_phases), ',')) {
    if (!ok) break;
    if (phase == "ceiling") ok = CeilingPhase(levels);
    else if (phase == "soak") {
      const int code = SoakPhase(dir);
      verdict_violated = verdict_violated || code == 3;
      ok = code == 0 || code == 3;
    }
    else if (phase == "submit") ok = SubmitPhase(levels, dir);
    else if (phase == "read") ok = ReadPhase(dir);
    else {
      std::fprintf(stderr, "onestop_bench: unknown phase \"%s\"\n", std::string(phase).c_str());
      ok = false;
    }
  }
  if (!absl::GetFlag(FLAGS_keep)) {
    // Not RunProcess({"rm", …}): it spawns without a PATH search, so that
    // never removed anything.
    std::error_code error;
    std::filesystem::remove_all(dir, error);
    if (error) {
      std::fprintf(stderr, "onestop_bench: cannot remove %s: %s\n", dir.c_str(),
                   error.message().c_str());
    }
  } else {
    std::fprintf(stderr, "onestop_bench: kept %s\n", dir.c_str());
  }
  return !ok ? 1 : verdict_violated ? 3 : 0;
}

}  // namespace
}  // namespace onestop::bench

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return onestop::bench::Main();
}
