// onestop_bench: drives the empty-handler ceiling server and the real
// onestopd binary with the same load generator and prints one JSON object
// per measurement on stdout (bench/report.py turns them into the table).
//
// Phases (--phases, comma-separated; default paired,read,import):
//   paired     what bench/run.sh runs instead of ceiling + submit: both
//              servers at once (onestopd on a fresh database), measured in
//              alternation for --rounds rounds — each round the empty
//              handler then onestopd at every --in_flight, then the
//              lifecycle on both — so that each ratio compares figures
//              taken back to back (this VM's speed swings ±30 % within
//              minutes); every line carries its "round", and
//              bench/report.py reports the median of the rounds' ratios.
//              GetDossier on the empty handler at 1 in flight once at the end
//   ceiling    empty_server: SubmitDossier at each --in_flight, the lifecycle
//              chain at the largest, GetDossier at 1 in flight
//   submit     onestopd on a fresh database: durable SubmitDossier at each
//              --in_flight, then the full lifecycle at the largest
//   read       a database is filled with --dossiers dossiers (--read_fill:
//              onestopd's ImportDossiers, or dossier_loader), then onestopd
//              starts on it: start time, RSS, file size, GetDossier and a
//              50-row ListDossiers page at 1 and 16 in flight
//   pg         not in the default: onestopd on PostgreSQL (issue #11), one
//              and then two daemons (--pg_daemons) on one fresh database each,
//              the load generator's channels spread over the daemons: durable
//              SubmitDossier at each --in_flight, then the lifecycle at the
//              largest. Databases come from tests/testing/pg_test_cluster.h:
//              CREATE DATABASE on --pg_uri, or, without it, on a throwaway
//              server this process starts (fsync=off: smoke runs only).
//              Each line also carries the daemons' and the server's CPU
//              (cores busy over the run, warm-up included) and the mean
//              number of the database's backends per pg_stat_activity wait
//              event (sampled every 20 ms).
//   import     onestopd on a fresh database: AdminService.ImportDossiers
//              streams --import_dossiers historical dossiers (6 history
//              entries each, --import_batch per request, answers read by a
//              second thread so the daemon never waits for the client);
//              prints dossiers per second from the first request to the
//              last answer, and the database size (issue #8: 1M in < 60 s)
//   soak       not in the default: onestopd on a fresh database under a long
//              mixed load (submits, lifecycles, GetDossier, ListDossiers pages,
//              WatchEvents followers), sampled every --soak_sample_seconds;
//              verdicts on RSS, open fds and p99 drift (bench/soak.h). Exit
//              status 3 if a verdict is violated.
// With --target=HOST:PORT the submit phase drives that server instead of
// starting one (used to profile a daemon started by bench/run.sh), with the
// --target_workloads (submits by default, or the lifecycle).
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <random>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/synchronization/mutex.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "bench/bench_rpc.h"
#include "bench/load_generator.h"
#include "bench/soak.h"
#include "onestop/v1/dossier_service.grpc.pb.h"
#include "onestop/v1/security_service.grpc.pb.h"
#include "storage/postgres/pg_util.h"
#include "tests/testing/pg_test_cluster.h"
#include "tests/testing/subprocess.h"

ABSL_FLAG(std::string, onestopd, ONESTOP_BENCH_ONESTOPD, "The onestopd binary.");
ABSL_FLAG(std::string, empty_server, ONESTOP_BENCH_EMPTY_SERVER, "The empty_server binary.");
ABSL_FLAG(std::string, loader, ONESTOP_BENCH_LOADER, "The dossier_loader binary.");
ABSL_FLAG(std::string, config, ONESTOP_BENCH_SOURCE_DIR "/deploy/daklak-2020.textproto",
          "onestopd configuration.");
ABSL_FLAG(std::string, workdir, "/tmp", "Directory for the databases (a fresh subdirectory).");
ABSL_FLAG(std::string, phases, "paired,read,import", "Which phases to run.");
ABSL_FLAG(std::string, target, "",
          "With --phases=submit: drive this server instead of starting one.");
ABSL_FLAG(std::string, target_workloads, "submit",
          "With --target: what to drive, of submit (at each --in_flight) and lifecycle (at "
          "the largest), comma-separated.");
ABSL_FLAG(std::string, admin_token_file, "",
          "With --target: the daemon's admin token file (--bootstrap-token-file); the bench "
          "issues itself a clerk+officer token with it. Daemons the bench starts do this "
          "on their own.");
ABSL_FLAG(double, seconds, 5, "Measured seconds per measurement.");
ABSL_FLAG(double, warmup_seconds, 1, "Unmeasured warm-up before each measurement.");
ABSL_FLAG(std::string, in_flight, "1,16,64", "Calls in flight for the submit measurements.");
ABSL_FLAG(int, channels, 4, "gRPC channels (TCP connections) the load is spread over.");
ABSL_FLAG(int, threads, 32, "Server executor threads (onestopd --threads).");
ABSL_FLAG(int, rounds, 3,
          "paired phase: rounds of back-to-back ceiling and onestopd measurements.");
// A province-level desk and procedure of the sample configuration that are
// valid today: its district and commune agencies ceased on 30/6/2025, and
// the benchmark runs on the real clock like production.
ABSL_FLAG(std::string, agency, "000.00.01.H15", "Receiving agency of the dossiers.");
ABSL_FLAG(std::string, procedure, "2.000488", "Procedure of the dossiers.");
ABSL_FLAG(int64_t, dossiers, 3000000, "Stored dossiers for the read phase.");
ABSL_FLAG(std::string, read_fill, "import",
          "How the read phase fills its database: import (onestopd's ImportDossiers) or "
          "loader (dossier_loader: every lifecycle step as a write; hours at 3 million).");
ABSL_FLAG(int64_t, import_dossiers, 200000, "Dossiers the import phase streams.");
ABSL_FLAG(int, import_batch, 1000, "Dossiers per ImportDossiers request (1-1000).");
// The pg phase (onestopd on PostgreSQL).
ABSL_FLAG(std::string, pg_uri, "",
          "pg phase: a PostgreSQL 15 server where the bench may CREATE DATABASE, as "
          "postgresql://USER@HOST:PORT/ (bench/run.sh: the peer's cluster). Empty: a "
          "throwaway server with fsync=off (figures not durable; for smoke runs).");
ABSL_FLAG(std::string, pg_daemons, "1,2", "pg phase: daemons sharing the database, per run.");
ABSL_FLAG(int, pg_pool_size, 16, "pg phase: onestopd --postgres-pool-size.");
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

// Watches something during a measurement; Finish() returns extra JSON
// fields (",\"key\":value…") for the measurement's line.
class Observer {
 public:
  virtual ~Observer() = default;
  virtual void Start() = 0;
  virtual std::string Finish() = 0;
};

// Fields after the ")" of /proc/PID/stat (state is [0], ppid [1], utime
// [11], stime [12]); empty if the process is gone.
std::vector<std::string> StatFields(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  std::string line;
  std::getline(in, line);
  const size_t paren = line.rfind(')');
  if (paren == std::string::npos) return {};
  return absl::StrSplit(line.substr(paren + 1), ' ', absl::SkipEmpty());
}

// User + system CPU seconds of `pid` so far; 0 if gone.
double CpuSeconds(pid_t pid) {
  const std::vector<std::string> f = StatFields(pid);
  int64_t user = 0, system = 0;
  if (f.size() < 13 || !absl::SimpleAtoi(f[11], &user) || !absl::SimpleAtoi(f[12], &system)) {
    return 0;
  }
  return static_cast<double>(user + system) / sysconf(_SC_CLK_TCK);
}

// The CPU one server process used over a measurement (warm-up included),
// in cores: bench/report.py turns it into CPU per operation, which this
// VM's speed swings move less than throughput.
class CpuObserver : public Observer {
 public:
  explicit CpuObserver(pid_t pid) : pid_(pid) {}
  void Start() override {
    start_ = std::chrono::steady_clock::now();
    cpu_ = CpuSeconds(pid_);
  }
  std::string Finish() override {
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    return absl::StrFormat(",\"server_cpu_cores\":%.3f",
                           seconds > 0 ? (CpuSeconds(pid_) - cpu_) / seconds : 0.0);
  }

 private:
  const pid_t pid_;
  std::chrono::steady_clock::time_point start_;
  double cpu_ = 0;
};

// `round` > 0 marks a measurement of the paired phase.
bool Measure(const std::string& name, const std::string& server, const std::string& target,
             int in_flight, const Workload& workload, Observer* observer = nullptr,
             int round = 0) {
  LoadOptions options;
  options.target = target;
  options.channels = absl::GetFlag(FLAGS_channels);
  options.in_flight = in_flight;
  options.duration = absl::Seconds(absl::GetFlag(FLAGS_seconds));
  options.warmup = absl::Seconds(absl::GetFlag(FLAGS_warmup_seconds));
  if (observer != nullptr) observer->Start();
  auto result = RunLoad(options, workload);
  std::string extra = observer != nullptr ? observer->Finish() : "";
  if (round > 0) absl::StrAppend(&extra, ",\"round\":", round);
  if (!result.ok()) {
    std::fprintf(stderr, "onestop_bench: %s: %s\n", name.c_str(),
                 result.status().ToString().c_str());
    return false;
  }
  Emit(name, server, *result, extra);
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

// Starts the empty-handler server with the flags' binary and threads.
bool StartEmptyServer(testing::DaemonProcess& server) {
  if (server.Start({absl::GetFlag(FLAGS_empty_server),
                    absl::StrCat("--threads=", absl::GetFlag(FLAGS_threads))})) {
    return true;
  }
  std::fprintf(stderr, "onestop_bench: empty_server did not start: %s\n", server.error().c_str());
  return false;
}

bool CeilingPhase(const std::vector<int>& levels) {
  testing::DaemonProcess server;
  if (!StartEmptyServer(server)) return false;
  bool ok = true;
  for (int level : levels) ok = ok && Measure("submit", "empty", server.address(), level, SubmitOnce);
  ok = ok && Measure("lifecycle", "empty", server.address(), levels.back(), Lifecycle);
  ok = ok && Measure("get", "empty", server.address(), 1,
                     GetWorkload(std::make_shared<std::vector<std::string>>(), 1));
  server.Stop();
  return ok;
}

bool PairedPhase(const std::vector<int>& levels, const std::string& dir) {
  testing::DaemonProcess empty;
  if (!StartEmptyServer(empty)) return false;
  testing::DaemonProcess daemon;
  if (StartDaemon(daemon, dir + "/submit.db") < 0) return false;
  const int rounds = std::max(1, absl::GetFlag(FLAGS_rounds));
  CpuObserver empty_cpu(empty.pid());
  CpuObserver daemon_cpu(daemon.pid());
  bool ok = true;
  for (int round = 1; ok && round <= rounds; ++round) {
    for (int level : levels) {
      ok = ok && Measure("submit", "empty", empty.address(), level, SubmitOnce, &empty_cpu, round);
      ok = ok &&
           Measure("submit", "onestopd", daemon.address(), level, SubmitOnce, &daemon_cpu, round);
    }
    ok = ok && Measure("lifecycle", "empty", empty.address(), levels.back(), Lifecycle,
                       &empty_cpu, round);
    ok = ok && Measure("lifecycle", "onestopd", daemon.address(), levels.back(), Lifecycle,
                       &daemon_cpu, round);
  }
  ok = ok && Measure("get", "empty", empty.address(), 1,
                     GetWorkload(std::make_shared<std::vector<std::string>>(), 1));
  daemon.Stop();
  empty.Stop();
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
  const bool own = absl::GetFlag(FLAGS_target).empty();
  const std::vector<std::string> workloads =
      absl::StrSplit(own ? "submit,lifecycle" : absl::GetFlag(FLAGS_target_workloads), ',');
  for (const std::string& w : workloads) {
    if (w != "submit" && w != "lifecycle") {
      std::fprintf(stderr, "onestop_bench: --target_workloads: unknown workload \"%s\"\n",
                   w.c_str());
      return false;
    }
  }
  const auto wanted = [&workloads](absl::string_view w) {
    return std::find(workloads.begin(), workloads.end(), w) != workloads.end();
  };
  bool ok = true;
  if (wanted("submit")) {
    for (int level : levels) ok = ok && Measure("submit", "onestopd", target, level, SubmitOnce);
  }
  if (wanted("lifecycle")) {
    ok = ok && Measure("lifecycle", "onestopd", target, levels.back(), Lifecycle);
  }
  if (own) daemon.Stop();
  return ok;
}

// Sets `d` to historical dossier `i` of the import phase: received at the
// flags' desk during 2024, decided and returned two days later (6 history
// entries), codes <agency>-24MMDD-<5 digits>, 2,000 a day. `d` may hold an
// earlier record: its allocations are reused, so the load generator spends
// its CPU on sending rather than on malloc (it shares the machine).
void FillImportRecord(int64_t i, Dossier& d) {
  static const Dossier* const base = [] {
    auto* d = new Dossier();
    const SubmitDossierRequest submit = SubmitRequest();
    d->set_procedure_code(submit.procedure_code());
    d->set_receiving_agency_code(submit.receiving_agency_code());
    d->set_holder_agency_code(submit.receiving_agency_code());
    d->set_deciding_agency_code(submit.receiving_agency_code());
    *d->mutable_applicant() = submit.applicant();
    *d->mutable_documents() = submit.documents();
    d->set_summary(submit.summary());
    d->set_channel(CHANNEL_ONLINE);
    d->set_status(DOSSIER_STATUS_RETURNED);
    d->set_return_mode(RETURN_MODE_AT_DESK);
    d->mutable_decision()->set_outcome(DECISION_OUTCOME_APPROVED);
    d->mutable_decision()->set_agency_code(submit.receiving_agency_code());
    const ActionKind actions[] = {ACTION_KIND_SUBMIT,          ACTION_KIND_HAND_OVER,
                                  ACTION_KIND_RECORD_DECISION, ACTION_KIND_MARK_RESULT_READY,
                                  ACTION_KIND_RESCHEDULE,      ACTION_KIND_RETURN_RESULT};
    const DossierStatus to[] = {DOSSIER_STATUS_RECEIVED,     DOSSIER_STATUS_PROCESSING,
                                DOSSIER_STATUS_PROCESSING,   DOSSIER_STATUS_RESULT_READY,
                                DOSSIER_STATUS_RESULT_READY, DOSSIER_STATUS_RETURNED};
    for (int k = 0; k < 6; ++k) {
      HistoryEntry* e = d->add_history();
      e->set_sequence(k + 1);
      e->set_actor("canbo.hethongcu");
      e->set_action(actions[k]);
      e->set_from_status(k == 0 ? DOSSIER_STATUS_UNSPECIFIED : to[k - 1]);
      e->set_to_status(to[k]);
      e->set_holder_agency_code(submit.receiving_agency_code());
    }
    d->set_etag(6);
    return d;
  }();
  d.CopyFrom(*base);
  const absl::CivilDay day = absl::CivilDay(2024, 1, 2) + static_cast<int>(i / 2000 % 360);
  d.set_code(absl::StrFormat("%s-%02d%02d%02d-%05d", d.receiving_agency_code(), day.year() % 100,
                             day.month(), day.day(), i % 2000 + 1 + i / 720000 * 2000));
  const absl::Time received =
      absl::FromCivil(absl::CivilSecond(day.year(), day.month(), day.day(), 8, 0, 0),
                      absl::FixedTimeZone(7 * 3600)) +
      absl::Seconds(i % 2000 * 7);
  auto at = [](absl::Time t) {
    google::protobuf::Timestamp ts;
    ts.set_seconds(absl::ToUnixSeconds(t));
    return ts;
  };
  const absl::Time times[] = {received,
                              received + absl::Hours(1),
                              received + absl::Hours(26),
                              received + absl::Hours(27),
                              received + absl::Hours(27),
                              received + absl::Hours(50)};
  for (int k = 0; k < 6; ++k) *d.mutable_history(k)->mutable_time() = at(times[k]);
  *d.mutable_submitted_time() = at(received);
  *d.mutable_received_time() = at(received);
  *d.mutable_original_due_time() = at(received + absl::Hours(24 * 5));
  *d.mutable_due_time() = at(received + absl::Hours(24 * 5));
  *d.mutable_decision()->mutable_decided_time() = at(times[2]);
  *d.mutable_finished_time() = at(times[3]);
  *d.mutable_returned_time() = at(times[5]);
}

// What StreamImport saw: the answers' counts and the first failed record.
struct ImportOutcome {
  int64_t imported = 0;
  int64_t present = 0;
  int64_t failed = 0;
  std::string first_failure;
  grpc::Status status;
  double seconds = 0;
};

// Streams records 0 … total-1 (FillImportRecord) to `address`'s
// ImportDossiers, `batch` per request, reading the answers on a second
// thread so the daemon never waits for this client.
ImportOutcome StreamImport(const std::string& address, const std::string& admin_token,
                           int64_t total, int batch) {
  grpc::ChannelArguments args;
  args.SetMaxSendMessageSize(64 << 20);
  auto channel = grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
  auto stub = AdminService::NewStub(channel);
  grpc::ClientContext context;
  context.AddMetadata("authorization", "Bearer " + admin_token);
  const auto start = std::chrono::steady_clock::now();
  auto stream = stub->ImportDossiers(&context);
  ImportOutcome outcome;
  std::thread reader([&] {
    ImportDossiersResponse response;
    while (stream->Read(&response)) {
      outcome.imported += response.imported();
      outcome.present += response.already_present();
      outcome.failed += response.failed();
      if (outcome.first_failure.empty() && response.failures_size() > 0) {
        outcome.first_failure =
            response.failures(0).code() + ": " + response.failures(0).message();
      }
    }
  });
  ImportDossiersRequest request;
  for (int64_t i = 0; i < total; ++i) {
    FillImportRecord(i, *request.add_dossiers());
    if (request.dossiers_size() == batch || i + 1 == total) {
      if (!stream->Write(request)) break;
      request.mutable_dossiers()->Clear();  // keeps the dossiers for reuse
    }
  }
  stream->WritesDone();
  reader.join();
  outcome.status = stream->Finish();
  outcome.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!outcome.status.ok()) {
    std::fprintf(stderr, "onestop_bench: import: %d %s\n",
                 static_cast<int>(outcome.status.error_code()),
                 outcome.status.error_message().c_str());
  }
  if (!outcome.first_failure.empty()) {
    std::fprintf(stderr, "onestop_bench: import: first failed record %s\n",
                 outcome.first_failure.c_str());
  }
  return outcome;
}

std::string ReadAdminToken(const std::string& db) {
  std::string admin;
  std::ifstream file(db + ".admin.token");
  std::getline(file, admin);
  return admin;
}

bool ImportPhase(const std::string& dir) {
  const std::string db = dir + "/import.db";
  testing::DaemonProcess daemon;
  if (StartDaemon(daemon, db) < 0) return false;
  const int64_t total = absl::GetFlag(FLAGS_import_dossiers);
  const int batch = std::clamp(absl::GetFlag(FLAGS_import_batch), 1, 1000);
  const ImportOutcome outcome = StreamImport(daemon.address(), ReadAdminToken(db), total, batch);
  const int64_t bytes = FileBytes(db) + FileBytes(db + "-wal");
  daemon.Stop();
  if (!outcome.status.ok()) return false;
  std::printf(
      "{\"kind\":\"import\",\"server\":\"onestopd\",\"dossiers\":%lld,\"batch\":%d,"
      "\"imported\":%lld,\"already_present\":%lld,\"failed\":%lld,\"seconds\":%.3f,"
      "\"dossiers_per_second\":%.1f,\"db_mb\":%.1f}\n",
      static_cast<long long>(total), batch, static_cast<long long>(outcome.imported),
      static_cast<long long>(outcome.present), static_cast<long long>(outcome.failed),
      outcome.seconds,
      outcome.seconds > 0 ? static_cast<double>(outcome.imported) / outcome.seconds : 0.0,
      static_cast<double>(bytes) / (1 << 20));
  std::fflush(stdout);
  return outcome.imported == total;
}

// Fills `db` with `n` dossiers for the read phase; writes a sample of their
// codes to `codes_path`. --read_fill=import: through onestopd's
// ImportDossiers (6 history entries each, one feed event each), then a
// clean stop; --read_fill=loader: dossier_loader (6 writes each through
// DossierManager, so also 6 feed events each; hours at 3 million).
bool FillReadDatabase(const std::string& db, const std::string& codes_path, int64_t n) {
  if (absl::GetFlag(FLAGS_read_fill) == "loader") {
    testing::ProcessResult load = testing::RunProcess(
        {absl::GetFlag(FLAGS_loader), "--db=" + db, "--config=" + absl::GetFlag(FLAGS_config),
         absl::StrCat("--dossiers=", n), "--codes_out=" + codes_path});
    if (load.exit_code != 0) {
      std::fprintf(stderr, "onestop_bench: dossier_loader failed: %s\n", load.err.c_str());
      return false;
    }
    std::fputs(load.out.c_str(), stdout);
    return true;
  }
  testing::DaemonProcess daemon;
  if (StartDaemon(daemon, db) < 0) return false;
  const ImportOutcome outcome = StreamImport(daemon.address(), ReadAdminToken(db), n, 1000);
  daemon.Stop();
  if (!outcome.status.ok() || outcome.imported != n) return false;
  std::ofstream codes(codes_path);
  const int64_t stride = std::max<int64_t>(1, n / 100000);
  Dossier record;
  for (int64_t i = 0; i < n; i += stride) {
    FillImportRecord(i, record);
    codes << record.code() << "\n";
  }
  std::printf("{\"kind\":\"read_fill\",\"via\":\"import\",\"dossiers\":%lld,\"seconds\":%.2f}\n",
              static_cast<long long>(n), outcome.seconds);
  std::fflush(stdout);
  return static_cast<bool>(codes);
}

bool ReadPhase(const std::string& dir) {
  const std::string db = dir + "/read.db";
  const std::string codes_path = dir + "/codes.txt";
  const int64_t n = absl::GetFlag(FLAGS_dossiers);
  const auto load_start = std::chrono::steady_clock::now();
  if (!FillReadDatabase(db, codes_path, n)) return false;
  const double load_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count();
  auto codes = std::make_shared<std::vector<std::string>>();
  {
    std::ifstream in(codes_path);
    std::string line;
    while (std::getline(in, line)) codes->push_back(line);
  }

  testing::DaemonProcess daemon;
  // The start a large province would configure: the header check instead of
  // quick_check, which reads every page (docs/OPERATIONS.md).
  const double start_seconds = onestop::bench::StartDaemon(
      daemon, absl::GetFlag(FLAGS_onestopd), absl::GetFlag(FLAGS_config), db,
      absl::GetFlag(FLAGS_threads), "", {"--integrity-check=header"});
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

pid_t ParentPid(pid_t pid) {
  const std::vector<std::string> f = StatFields(pid);
  int parent = 0;
  return f.size() > 1 && absl::SimpleAtoi(f[1], &parent) ? parent : 0;
}

// CPU seconds of `postmaster` and its children (the server's backends and
// background processes; backends that exited in between are missed).
double ServerCpuSeconds(pid_t postmaster) {
  if (postmaster <= 0) return 0;
  double total = CpuSeconds(postmaster);
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", error)) {
    int pid = 0;
    if (!absl::SimpleAtoi(entry.path().filename().string(), &pid)) continue;
    if (ParentPid(pid) == postmaster) total += CpuSeconds(pid);
  }
  return total;
}

// Busy and total CPU ticks of the whole machine (/proc/stat).
std::pair<int64_t, int64_t> MachineTicks() {
  std::ifstream in("/proc/stat");
  std::string line;
  std::getline(in, line);
  const std::vector<std::string> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
  int64_t total = 0, idle = 0;
  for (size_t i = 1; i < f.size() && i <= 8; ++i) {
    int64_t v = 0;
    (void)absl::SimpleAtoi(f[i], &v);
    total += v;
    if (i == 4 || i == 5) idle += v;  // idle, iowait
  }
  return {total - idle, total};
}

// CPU of the daemons and of the PostgreSQL server over a measurement, the
// machine's busy fraction, and pg_stat_activity wait events of the
// database's backends.
class PgObserver : public Observer {
 public:
  PgObserver(std::vector<pid_t> daemons, pid_t postmaster, std::string db_uri)
      : daemons_(std::move(daemons)), postmaster_(postmaster), db_uri_(std::move(db_uri)) {}
  ~PgObserver() override { StopSampler(); }

  void Start() override {
    start_ = std::chrono::steady_clock::now();
    daemon_cpu_ = DaemonCpu();
    server_cpu_ = ServerCpuSeconds(postmaster_);
    machine_ = MachineTicks();
    waits_.clear();
    lock_statements_.clear();
    samples_ = 0;
    stop_ = std::make_unique<absl::Notification>();
    sampler_ = std::thread([this] { Sample(); });
  }

  std::string Finish() override {
    StopSampler();
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const auto machine = MachineTicks();
    const double busy = machine.second > machine_.second
                            ? static_cast<double>(machine.first - machine_.first) /
                                  (machine.second - machine_.second)
                            : 0;
    // {"name": mean backends per sample, …}, largest first.
    auto means = [this](const std::map<std::string, int64_t>& counts) {
      std::vector<std::pair<double, std::string>> sorted;
      for (const auto& [name, count] : counts) {
        sorted.emplace_back(samples_ > 0 ? static_cast<double>(count) / samples_ : 0, name);
      }
      std::sort(sorted.rbegin(), sorted.rend());
      std::string json;
      for (const auto& [mean, name] : sorted) {
        std::string key;
        for (char c : name) {
          if (c == '"' || c == '\\') key += '\\';
          if (static_cast<unsigned char>(c) >= 0x20) key += c;
        }
        absl::StrAppend(&json, json.empty() ? "" : ",", "\"", key, "\":",
                        absl::StrFormat("%.2f", mean));
      }
      return json;
    };
    return absl::StrFormat(
        ",\"backend\":\"postgresql\",\"daemons\":%d,\"onestopd_cpu_cores\":%.2f,"
        "\"postgres_cpu_cores\":%.2f,\"machine_busy\":%.2f,\"pg_wait_samples\":%d,"
        "\"pg_waits\":{%s},\"pg_lock_waits_by_statement\":{%s}",
        static_cast<int>(daemons_.size()), (DaemonCpu() - daemon_cpu_) / seconds,
        (ServerCpuSeconds(postmaster_) - server_cpu_) / seconds, busy, samples_, means(waits_),
        means(lock_statements_));
  }

 private:
  double DaemonCpu() const {
    double total = 0;
    for (pid_t pid : daemons_) total += CpuSeconds(pid);
    return total;
  }

  // Every 20 ms: how many of the database's non-idle backends wait on what
  // ("CPU" = running, no wait event; Client:ClientRead = a transaction
  // waiting for onestopd's next statement).
  void Sample() {
    auto connection = storage::pg::Connection::Open(db_uri_);
    if (!connection.ok()) return;
    while (!stop_->WaitForNotificationWithTimeout(absl::Milliseconds(20))) {
      auto rows = (*connection)->Exec(
          "SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU'), "
          "CASE WHEN wait_event_type = 'Lock' THEN "
          "left(regexp_replace(query, '[[:space:]]+', ' ', 'g'), 48) ELSE '' END, "
          "count(*)::bigint "
          "FROM pg_stat_activity WHERE datname = current_database() "
          "AND pid <> pg_backend_pid() AND state <> 'idle' GROUP BY 1, 2",
          {}, "sampling wait events");
      if (!rows.ok()) return;
      ++samples_;
      for (int i = 0; i < rows->rows(); ++i) {
        waits_[rows->Text(i, 0)] += rows->Int64(i, 2);
        if (!rows->IsNull(i, 1) && !rows->Text(i, 1).empty()) {
          lock_statements_[rows->Text(i, 1)] += rows->Int64(i, 2);
        }
      }
    }
  }

  void StopSampler() {
    if (!sampler_.joinable()) return;
    stop_->Notify();
    sampler_.join();
  }

  const std::vector<pid_t> daemons_;
  const pid_t postmaster_;
  const std::string db_uri_;
  std::chrono::steady_clock::time_point start_;
  double daemon_cpu_ = 0;
  double server_cpu_ = 0;
  std::pair<int64_t, int64_t> machine_;
  // Written by the sampler thread only while it runs; read after join.
  std::map<std::string, int64_t> waits_;
  std::map<std::string, int64_t> lock_statements_;  // Lock waits by the waiter's statement
  int samples_ = 0;
  std::unique_ptr<absl::Notification> stop_;
  std::thread sampler_;
};

bool PgPhase(const std::vector<int>& levels, const std::string& dir) {
  const std::string pg_uri = absl::GetFlag(FLAGS_pg_uri);
  // pg_test_cluster.h takes a given server from this variable.
  if (!pg_uri.empty()) setenv("ONESTOP_TEST_PG_URI", pg_uri.c_str(), 1);
  absl::StatusOr<testing::PgTestCluster*> cluster = testing::PgTestCluster::Shared();
  if (!cluster.ok()) {
    std::fprintf(stderr, "onestop_bench: no PostgreSQL server: %s\n",
                 cluster.status().ToString().c_str());
    return false;
  }
  pid_t postmaster = 0;
  {
    auto admin = storage::pg::Connection::Open((*cluster)->admin_uri());
    if (!admin.ok()) {
      std::fprintf(stderr, "onestop_bench: %s\n", admin.status().ToString().c_str());
      return false;
    }
    auto settings = (*admin)->Exec(
        "SELECT current_setting('server_version'), current_setting('fsync'), "
        "current_setting('synchronous_commit'), pg_backend_pid()::bigint",
        {}, "reading the server's settings");
    if (!settings.ok() || settings->rows() != 1) {
      std::fprintf(stderr, "onestop_bench: cannot read the server's settings\n");
      return false;
    }
    // The server's CPU is read from /proc when it runs on this machine.
    const pid_t backend = static_cast<pid_t>(settings->Int64(0, 3));
    std::ifstream comm(absl::StrCat("/proc/", backend, "/comm"));
    std::string name;
    if (std::getline(comm, name) && name == "postgres") postmaster = ParentPid(backend);
    std::printf(
        "{\"kind\":\"pg_server\",\"version\":\"%s\",\"fsync\":\"%s\","
        "\"synchronous_commit\":\"%s\",\"throwaway\":%s,\"pool_size\":%d}\n",
        settings->Text(0, 0).c_str(), settings->Text(0, 1).c_str(), settings->Text(0, 2).c_str(),
        pg_uri.empty() ? "true" : "false", absl::GetFlag(FLAGS_pg_pool_size));
    std::fflush(stdout);
  }
  bool ok = true;
  for (absl::string_view item : absl::StrSplit(absl::GetFlag(FLAGS_pg_daemons), ',')) {
    int count = 0;
    if (!absl::SimpleAtoi(item, &count) || count < 1) continue;
    absl::StatusOr<std::string> uri = (*cluster)->NewDatabase();
    if (!uri.ok()) {
      std::fprintf(stderr, "onestop_bench: %s\n", uri.status().ToString().c_str());
      return false;
    }
    // Started one after the other: the first creates the schema. They
    // share the bootstrap token file (the second leaves it alone) and the
    // token store, so the bench token works on every daemon.
    const std::string token = absl::StrCat(dir, "/pg", count, ".admin.token");
    std::vector<std::unique_ptr<testing::DaemonProcess>> daemons;
    std::vector<std::string> addresses;
    std::vector<pid_t> pids;
    for (int i = 0; i < count && ok; ++i) {
      daemons.push_back(std::make_unique<testing::DaemonProcess>());
      ok = onestop::bench::StartDaemon(
               *daemons.back(), absl::GetFlag(FLAGS_onestopd), absl::GetFlag(FLAGS_config), *uri,
               absl::GetFlag(FLAGS_threads), token,
               {"--clock=system",
                absl::StrCat("--postgres-pool-size=", absl::GetFlag(FLAGS_pg_pool_size))}) >= 0;
      if (ok) {
        addresses.push_back(daemons.back()->address());
        pids.push_back(daemons.back()->pid());
      }
    }
    const std::string server = absl::StrCat("onestopd_pg", count);
    const std::string targets = absl::StrJoin(addresses, ",");
    PgObserver observer(pids, postmaster, *uri);
    for (int level : levels) {
      ok = ok && Measure("submit", server, targets, level, SubmitOnce, &observer);
    }
    ok = ok && Measure("lifecycle", server, targets, levels.back(), Lifecycle, &observer);
    for (auto& daemon : daemons) daemon->Stop();
    if (!ok) break;
  }
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
  if (!absl::GetFlag(FLAGS_target).empty() && absl::GetFlag(FLAGS_phases) != "submit") {
    std::fprintf(stderr, "onestop_bench: --target drives only the submit phase: add "
                         "--phases=submit\n");
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
    else if (phase == "paired") ok = PairedPhase(levels, dir);
    else if (phase == "soak") {
      const int code = SoakPhase(dir);
      verdict_violated = verdict_violated || code == 3;
      ok = code == 0 || code == 3;
    }
    else if (phase == "submit") ok = SubmitPhase(levels, dir);
    else if (phase == "read") ok = ReadPhase(dir);
    else if (phase == "import") ok = ImportPhase(dir);
    else if (phase == "pg") ok = PgPhase(levels, dir);
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
  // The load generator skips Abseil's lock-order checks too (Debian's
  // build has them on): ~2 % of its CPU, the same for every server it drives.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  return onestop::bench::Main();
}
