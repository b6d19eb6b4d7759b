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
// With --target=HOST:PORT the submit phase drives that server instead of
// starting one (used to profile a daemon started by bench/run.sh).
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <cstdio>
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
#include "bench/load_generator.h"
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

namespace onestop::bench {
namespace {

using namespace onestop::v1;  // NOLINT
using AsyncInterface = DossierService::StubInterface::async_interface;
template <typename Request, typename Response>
using AsyncMethod = void (AsyncInterface::*)(grpc::ClientContext*, const Request*, Response*,
                                             std::function<void(grpc::Status)>);

// "Bearer <token>" sent with every call (the empty server ignores it).
std::string& BearerHeader() {
  static std::string header;
  return header;
}

// Prints the first failure's status to stderr: a benchmark full of errors
// must say why, once.
void NoteError(const grpc::Status& status) {
  static std::atomic<bool> noted{false};
  if (!noted.exchange(true)) {
    std::fprintf(stderr, "onestop_bench: first failed call: %d %s\n",
                 static_cast<int>(status.error_code()), status.error_message().c_str());
  }
}

// One asynchronous unary call; `then` runs on a gRPC callback thread and
// may start the next call.
template <typename Request, typename Response>
void Invoke(DossierService::Stub* stub, AsyncMethod<Request, Response> method, Request request,
            std::function<void(const grpc::Status&, const Response&)> then) {
  struct Call {
    grpc::ClientContext context;
    Request request;
    Response response;
  };
  auto* call = new Call;
  call->request = std::move(request);
  call->context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  if (!BearerHeader().empty()) call->context.AddMetadata("authorization", BearerHeader());
  (stub->async()->*method)(&call->context, &call->request, &call->response,
                           [call, then = std::move(then)](grpc::Status status) {
                             if (!status.ok()) NoteError(status);
                             then(status, call->response);
                             delete call;
                           });
}

SubmitDossierRequest SubmitRequest() {
  SubmitDossierRequest request;
  request.set_procedure_code(absl::GetFlag(FLAGS_procedure));
  request.set_receiving_agency_code(absl::GetFlag(FLAGS_agency));
  request.set_channel(CHANNEL_DIRECT);
  request.set_summary("Cấp phiếu lý lịch tư pháp");
  request.set_receive_now(true);
  Applicant* applicant = request.mutable_applicant();
  applicant->set_full_name("Nguyễn Thị Hằng");
  applicant->set_phone("0912345678");
  applicant->set_personal_id("066190001234");
  applicant->set_address("Thôn 1, xã Đắk Liêng, huyện Lắk, tỉnh Đắk Lắk");
  SubmittedDocument* document = request.add_documents();
  document->set_name("Tờ khai đăng ký khai sinh");
  document->set_copies(1);
  return request;
}

void SubmitOnce(DossierService::Stub* stub, int, int64_t, Done done) {
  Invoke<SubmitDossierRequest, SubmitDossierResponse>(
      stub, &AsyncInterface::SubmitDossier, SubmitRequest(),
      [done](const grpc::Status& status, const SubmitDossierResponse&) { done(status.ok()); });
}

// The full desk lifecycle of one dossier, one RPC after the other (each
// needs the previous etag): submit with receive_now → hand over → decide →
// ready → return. One operation = one dossier.
void LifecycleStep(DossierService::Stub* stub, int step, const Dossier& dossier, Done done) {
  auto next = [stub, step, done](const grpc::Status& status, const Dossier& result) {
    if (!status.ok()) return done(false);
    if (step == 4) return done(true);
    LifecycleStep(stub, step + 1, result, done);
  };
  switch (step) {
    case 0:
      Invoke<SubmitDossierRequest, SubmitDossierResponse>(
          stub, &AsyncInterface::SubmitDossier, SubmitRequest(),
          [next](const grpc::Status& s, const SubmitDossierResponse& r) { next(s, r.dossier()); });
      break;
    case 1: {
      HandOverDossierRequest request;
      request.set_code(dossier.code());
      request.set_etag(dossier.etag());
      Invoke<HandOverDossierRequest, HandOverDossierResponse>(
          stub, &AsyncInterface::HandOverDossier, request,
          [next](const grpc::Status& s, const HandOverDossierResponse& r) {
            next(s, r.dossier());
          });
      break;
    }
    case 2: {
      RecordDecisionRequest request;
      request.set_code(dossier.code());
      request.set_etag(dossier.etag());
      request.set_outcome(DECISION_OUTCOME_APPROVED);
      Invoke<RecordDecisionRequest, RecordDecisionResponse>(
          stub, &AsyncInterface::RecordDecision, request,
          [next](const grpc::Status& s, const RecordDecisionResponse& r) {
            next(s, r.dossier());
          });
      break;
    }
    case 3: {
      MarkResultReadyRequest request;
      request.set_code(dossier.code());
      request.set_etag(dossier.etag());
      Invoke<MarkResultReadyRequest, MarkResultReadyResponse>(
          stub, &AsyncInterface::MarkResultReady, request,
          [next](const grpc::Status& s, const MarkResultReadyResponse& r) {
            next(s, r.dossier());
          });
      break;
    }
    default: {
      ReturnResultRequest request;
      request.set_code(dossier.code());
      request.set_etag(dossier.etag());
      request.set_mode(RETURN_MODE_AT_DESK);
      Invoke<ReturnResultRequest, ReturnResultResponse>(
          stub, &AsyncInterface::ReturnResult, request,
          [next](const grpc::Status& s, const ReturnResultResponse& r) { next(s, r.dossier()); });
      break;
    }
  }
}

void Lifecycle(DossierService::Stub* stub, int, int64_t, Done done) {
  LifecycleStep(stub, 0, Dossier(), std::move(done));
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

// VmRSS and VmHWM (peak) of `pid` in KiB, from /proc.
std::pair<int64_t, int64_t> MemoryKb(pid_t pid) {
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  int64_t rss = 0, hwm = 0;
  while (std::getline(status, line)) {
    std::vector<std::string> parts = absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    if (parts.size() < 2) continue;
    if (parts[0] == "VmRSS:") (void)absl::SimpleAtoi(parts[1], &rss);
    if (parts[0] == "VmHWM:") (void)absl::SimpleAtoi(parts[1], &hwm);
  }
  return {rss, hwm};
}

int64_t FileBytes(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 ? static_cast<int64_t>(st.st_size) : 0;
}

// With the bootstrap admin token in `admin_token_file`, creates a token
// holding clerk and officer at every root agency and makes it the one every
// call sends. False (and why on stderr) on failure.
bool IssueBenchToken(const std::string& address, const std::string& admin_token_file) {
  std::ifstream file(admin_token_file);
  std::string admin;
  if (!std::getline(file, admin)) {
    std::fprintf(stderr, "onestop_bench: no admin token in %s\n", admin_token_file.c_str());
    return false;
  }
  auto channel = grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  auto deadline = [] { return std::chrono::system_clock::now() + std::chrono::seconds(10); };
  ListAgenciesResponse agencies;
  {
    grpc::ClientContext context;
    context.set_deadline(deadline());
    context.AddMetadata("authorization", "Bearer " + admin);
    const grpc::Status status = CatalogueService::NewStub(channel)->ListAgencies(
        &context, ListAgenciesRequest(), &agencies);
    if (!status.ok()) {
      std::fprintf(stderr, "onestop_bench: ListAgencies: %s\n", status.error_message().c_str());
      return false;
    }
  }
  CreateTokenRequest request;
  request.mutable_principal()->set_id("bench");
  request.set_label("benchmark");
  for (const Agency& agency : agencies.agencies()) {
    if (!agency.parent_code().empty()) continue;
    for (const Role role : {ROLE_CLERK, ROLE_OFFICER}) {
      Grant* grant = request.mutable_principal()->add_grants();
      grant->set_role(role);
      grant->set_agency_code(agency.code());
    }
  }
  CreateTokenResponse response;
  grpc::ClientContext context;
  context.set_deadline(deadline());
  context.AddMetadata("authorization", "Bearer " + admin);
  const grpc::Status status =
      SecurityService::NewStub(channel)->CreateToken(&context, request, &response);
  if (!status.ok()) {
    std::fprintf(stderr, "onestop_bench: CreateToken: %s\n", status.error_message().c_str());
    return false;
  }
  BearerHeader() = "Bearer " + response.secret();
  return true;
}

// Starts onestopd on `db`; returns the seconds from spawn to its
// "listening" line, or a negative number on failure.
double StartDaemon(testing::DaemonProcess& daemon, const std::string& db) {
  const auto start = std::chrono::steady_clock::now();
  if (!daemon.Start({absl::GetFlag(FLAGS_onestopd), "--config=" + absl::GetFlag(FLAGS_config),
                     "--db=" + db, "--listen=127.0.0.1:0", "--insecure",
                     "--bootstrap-token-file=" + db + ".admin.token",
                     absl::StrCat("--threads=", absl::GetFlag(FLAGS_threads))})) {
    std::fprintf(stderr, "onestop_bench: onestopd did not start: %s\n", daemon.error().c_str());
    return -1;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!IssueBenchToken(daemon.address(), db + ".admin.token")) return -1;
  return seconds;
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
  for (absl::string_view phase : absl::StrSplit(absl::GetFlag(FLAGS_phases), ',')) {
    if (!ok) break;
    if (phase == "ceiling") ok = CeilingPhase(levels);
    else if (phase == "submit") ok = SubmitPhase(levels, dir);
    else if (phase == "read") ok = ReadPhase(dir);
    else {
      std::fprintf(stderr, "onestop_bench: unknown phase \"%s\"\n", std::string(phase).c_str());
      ok = false;
    }
  }
  if (!absl::GetFlag(FLAGS_keep)) {
    testing::RunProcess({"rm", "-rf", dir});
  } else {
    std::fprintf(stderr, "onestop_bench: kept %s\n", dir.c_str());
  }
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace onestop::bench

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return onestop::bench::Main();
}
