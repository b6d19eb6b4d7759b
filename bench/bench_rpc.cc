#include "bench/bench_rpc.h"

#include <dirent.h>
#include <sys/stat.h>

#include <atomic>
#include <cstdio>
#include <fstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace onestop::bench {

using namespace onestop::v1;  // NOLINT

std::string& BearerHeader() {
  static std::string header;
  return header;
}

void NoteError(const grpc::Status& status) {
  static std::atomic<bool> noted{false};
  if (!noted.exchange(true)) {
    std::fprintf(stderr, "onestop_bench: first failed call: %d %s\n",
                 static_cast<int>(status.error_code()), status.error_message().c_str());
  }
}

SubmitDossierRequest SubmitRequest(const std::string& procedure, const std::string& agency) {
  SubmitDossierRequest request;
  request.set_procedure_code(procedure);
  request.set_receiving_agency_code(agency);
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

namespace {

using LifecycleDone = std::function<void(bool ok, const Dossier&)>;

void LifecycleStep(DossierService::Stub* stub, int step, const Dossier& dossier,
                   SubmitDossierRequest submit, LifecycleDone done) {
  auto next = [stub, step, done](const grpc::Status& status, const Dossier& result) {
    if (!status.ok()) return done(false, result);
    if (step == 4) return done(true, result);
    LifecycleStep(stub, step + 1, result, SubmitDossierRequest(), done);
  };
  switch (step) {
    case 0:
      Invoke<SubmitDossierRequest, SubmitDossierResponse>(
          stub, &AsyncInterface::SubmitDossier, std::move(submit),
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

}  // namespace

void RunLifecycle(DossierService::Stub* stub, SubmitDossierRequest submit, LifecycleDone done) {
  LifecycleStep(stub, 0, Dossier(), std::move(submit), std::move(done));
}

std::string IssueToken(const std::string& address, const std::string& admin_token_file,
                       const std::string& principal_id, const std::vector<Role>& roles) {
  std::ifstream file(admin_token_file);
  std::string admin;
  if (!std::getline(file, admin)) {
    std::fprintf(stderr, "onestop_bench: no admin token in %s\n", admin_token_file.c_str());
    return "";
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
      return "";
    }
  }
  CreateTokenRequest request;
  request.mutable_principal()->set_id(principal_id);
  request.set_label("benchmark");
  for (const Agency& agency : agencies.agencies()) {
    if (!agency.parent_code().empty()) continue;
    for (const Role role : roles) {
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
    return "";
  }
  return response.secret();
}

bool IssueBenchToken(const std::string& address, const std::string& admin_token_file) {
  const std::string secret =
      IssueToken(address, admin_token_file, "bench", {ROLE_CLERK, ROLE_OFFICER});
  if (secret.empty()) return false;
  BearerHeader() = "Bearer " + secret;
  return true;
}

double StartDaemon(testing::DaemonProcess& daemon, const std::string& onestopd,
                   const std::string& config, const std::string& db, int threads,
                   const std::string& token_file, const std::vector<std::string>& extra_args) {
  const std::string token = token_file.empty() ? db + ".admin.token" : token_file;
  std::vector<std::string> argv = {onestopd, "--config=" + config, "--db=" + db,
                                   "--listen=127.0.0.1:0", "--insecure",
                                   "--bootstrap-token-file=" + token,
                                   absl::StrCat("--threads=", threads)};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  const auto start = std::chrono::steady_clock::now();
  if (!daemon.Start(argv)) {
    std::fprintf(stderr, "onestop_bench: onestopd did not start: %s\n", daemon.error().c_str());
    return -1;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!IssueBenchToken(daemon.address(), token)) return -1;
  return seconds;
}

std::pair<int64_t, int64_t> MemoryKb(pid_t pid) {
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  int64_t rss = 0, hwm = 0;
  while (std::getline(status, line)) {
    std::vector<std::string> parts =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    if (parts.size() < 2) continue;
    if (parts[0] == "VmRSS:") (void)absl::SimpleAtoi(parts[1], &rss);
    if (parts[0] == "VmHWM:") (void)absl::SimpleAtoi(parts[1], &hwm);
  }
  return {rss, hwm};
}

int CountFds(pid_t pid) {
  DIR* dir = opendir(absl::StrCat("/proc/", pid, "/fd").c_str());
  if (dir == nullptr) return -1;
  int count = 0;
  while (const dirent* entry = readdir(dir)) {
    if (entry->d_name[0] != '.') ++count;
  }
  closedir(dir);
  return count;
}

int64_t FileBytes(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 ? static_cast<int64_t>(st.st_size) : 0;
}

}  // namespace onestop::bench
