// Several daemons, one database (issue #11), with real components only: a
// throwaway PostgreSQL 15, two onestopd processes on it, and nginx from
// Debian as the gRPC load balancer in front of them
// (deploy/nginx-grpc-local-cluster.conf). Eight clients submit and act
// through nginx while three change-feed consumers follow (one on each
// daemon, one through nginx); daemon A is killed mid-load and the clients retry
// with their request_ids; A is restarted on its port later and rejoins.
// Afterwards: no duplicate or missing code, every
// acknowledged write is there, each consumer saw every revision exactly
// once and in order, and the report counters equal a recomputation from
// the dossiers.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <google/protobuf/util/message_differencer.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "onestop/v1/dossier_service.grpc.pb.h"
#include "onestop/v1/feed_service.grpc.pb.h"
#include "onestop/v1/report_service.grpc.pb.h"
#include "server/config/config_loader.h"
#include "server/core/report.h"
#include "server/util/proto_time.h"
#include "tests/testing/pg_test_cluster.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_auth.h"

namespace onestop {
namespace {

constexpr char kCommune[] = "000.01.31.H15";      // UBND thị trấn Liên Sơn (sample)
constexpr char kBirthRegistration[] = "1.001193";  // commune level, in the sample
constexpr char kNow[] = "2020-01-06T08:00:00+07:00";
constexpr int kClients = 8;
constexpr int kDossiersPerClient = 12;

std::string SamplePath() {
  return std::string(ONESTOP_SOURCE_DIR) + "/deploy/daklak-2020.textproto";
}

int FreeLoopbackPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

bool PortAccepts(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  ::close(fd);
  return ok;
}

bool Transient(const grpc::Status& status) {
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::UNKNOWN:
    case grpc::StatusCode::INTERNAL:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::CANCELLED:
      return true;
    default:
      return false;
  }
}

// Calls `rpc` until it succeeds or fails for a reason other than the
// cluster losing a daemon. The request carries its request_id, so a retry
// of a write that did commit returns the original answer.
// Retried failures by code, to check afterwards that only the kill caused
// them (a genuine INTERNAL must not hide behind the retries).
struct RetriedCodes {
  absl::Mutex mu;
  std::map<int, int> counts ABSL_GUARDED_BY(mu);
  void Note(const grpc::Status& status) {
    absl::MutexLock lock(&mu);
    ++counts[status.error_code()];
  }
};
RetriedCodes& Retried() {
  static RetriedCodes* const retried = new RetriedCodes();
  return *retried;
}

template <typename Call>
grpc::Status WithRetries(Call call) {
  grpc::Status status;
  for (int attempt = 0; attempt < 100; ++attempt) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    status = call(context);
    if (status.ok() || !Transient(status)) return status;
    Retried().Note(status);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return status;
}

// One change-feed consumer: follows from revision 1, reconnecting (to
// `address`) after any error with start_revision = last seen + 1, and
// records every revision it receives.
class Consumer {
 public:
  Consumer(std::string address, std::string token)
      : address_(std::move(address)), token_(std::move(token)) {
    thread_ = std::thread([this] { Run(); });
  }
  ~Consumer() { Stop(); }

  // Waits until the consumer has seen `revision` (or 60 s), then stops it.
  void StopAfter(int64_t revision) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
      {
        absl::MutexLock lock(&mu_);
        if (!revisions_.empty() && revisions_.back() >= revision) break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    Stop();
  }

  std::vector<int64_t> revisions() {
    absl::MutexLock lock(&mu_);
    return revisions_;
  }
  int reconnects() const { return reconnects_.load(); }

 private:
  void Stop() {
    stop_.store(true);
    {
      absl::MutexLock lock(&mu_);
      if (context_ != nullptr) context_->TryCancel();
    }
    if (thread_.joinable()) thread_.join();
  }

  void Run() {
    auto stub = v1::FeedService::NewStub(testing::AuthorizedChannel(address_, token_));
    while (!stop_.load()) {
      grpc::ClientContext context;
      v1::WatchEventsRequest request;
      {
        absl::MutexLock lock(&mu_);
        request.set_start_revision(revisions_.empty() ? 1 : revisions_.back() + 1);
        context_ = &context;
      }
      std::unique_ptr<grpc::ClientReader<v1::WatchEventsResponse>> reader =
          stub->WatchEvents(&context, request);
      v1::WatchEventsResponse response;
      while (reader->Read(&response)) {
        if (!response.has_event()) continue;
        absl::MutexLock lock(&mu_);
        revisions_.push_back(response.event().revision());
      }
      reader->Finish().IgnoreError();
      {
        absl::MutexLock lock(&mu_);
        context_ = nullptr;
      }
      if (stop_.load()) break;
      ++reconnects_;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }

  const std::string address_;
  const std::string token_;
  std::atomic<bool> stop_{false};
  std::atomic<int> reconnects_{0};
  absl::Mutex mu_;
  std::vector<int64_t> revisions_ ABSL_GUARDED_BY(mu_);
  grpc::ClientContext* context_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::thread thread_;
};

class ClusterE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::string> uri = testing::NewPgDatabase();
    ASSERT_TRUE(uri.ok()) << uri.status();
    uri_ = *uri;
  }

  std::vector<std::string> DaemonArgs(const std::string& listen) {
    std::vector<std::string> args = {ONESTOPD_PATH, "--config=" + SamplePath(),
                                     "--db=" + uri_, "--listen=" + listen,
                                     "--admin-listen=off", "--postgres-pool-size=8",
                                     // Both daemons at the same frozen instant in the
                                     // sample's 2020 hierarchy (the commune was merged
                                     // away on 1/7/2025).
                                     "--clock=controlled", "--clock-start=" + std::string(kNow)};
    for (const std::string& flag : testing::InsecureDaemonFlags(dir_.File("admin.token"))) {
      args.push_back(flag);
    }
    return args;
  }

  void StartNginx(const std::string& daemon_a, const std::string& daemon_b) {
    const std::string prefix = dir_.File("nginx");
    std::filesystem::create_directories(prefix);
    std::ifstream in(std::string(ONESTOP_SOURCE_DIR) + "/deploy/nginx-grpc-local-cluster.conf");
    std::stringstream text;
    text << in.rdbuf();
    nginx_port_ = FreeLoopbackPort();
    const std::string config = absl::StrReplaceAll(
        text.str(), {{"@PREFIX@", prefix},
                     {"@LISTEN@", absl::StrCat("127.0.0.1:", nginx_port_)},
                     {"@DAEMON_A@", daemon_a},
                     {"@DAEMON_B@", daemon_b}});
    std::ofstream(prefix + "/nginx.conf") << config;
    ASSERT_TRUE(nginx_.Spawn({"/usr/sbin/nginx", "-p", prefix, "-c", prefix + "/nginx.conf"}))
        << nginx_.error();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!PortAccepts(nginx_port_) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_TRUE(PortAccepts(nginx_port_)) << "nginx did not start";
  }

  std::string nginx_address() const { return absl::StrCat("127.0.0.1:", nginx_port_); }

  testing::TempDir dir_;
  std::string uri_;
  testing::DaemonProcess daemon_a_;
  testing::DaemonProcess daemon_b_;
  testing::DaemonProcess nginx_;
  int nginx_port_ = 0;
};

v1::SubmitDossierRequest Submission(const std::string& request_id, int client, int n) {
  v1::SubmitDossierRequest request;
  request.set_request_id(request_id);
  request.set_procedure_code(kBirthRegistration);
  request.set_receiving_agency_code(kCommune);
  request.set_channel(v1::CHANNEL_DIRECT);
  request.set_receive_now(true);
  request.set_summary("Đăng ký khai sinh");
  v1::Applicant* applicant = request.mutable_applicant();
  applicant->set_full_name(absl::StrCat("Nguyễn Thị Hằng ", client, "-", n));
  applicant->set_phone("0912345678");
  applicant->set_address("Buôn Lê, thị trấn Liên Sơn");
  v1::SubmittedDocument* document = request.add_documents();
  document->set_name("Tờ khai");
  document->set_copies(1);
  return request;
}

TEST_F(ClusterE2eTest, TwoDaemonsBehindNginxSurviveAKillWithoutLosingOrDuplicating) {
  ASSERT_TRUE(daemon_a_.Start(DaemonArgs("127.0.0.1:0"))) << daemon_a_.error();
  ASSERT_TRUE(daemon_b_.Start(DaemonArgs("127.0.0.1:0"))) << daemon_b_.error();
  const std::string token = testing::MustToken(testing::IssueAllRolesToken(
      daemon_a_.address(), dir_.File("admin.token"), "cluster-tester"));
  StartNginx(daemon_a_.address(), daemon_b_.address());

  // A token issued through A authenticates on B (shared security store), and
  // concurrent actions on one dossier through A and B: exactly one wins.
  auto stub_a = v1::DossierService::NewStub(testing::AuthorizedChannel(daemon_a_.address(), token));
  auto stub_b = v1::DossierService::NewStub(testing::AuthorizedChannel(daemon_b_.address(), token));
  v1::SubmitDossierResponse first;
  {
    grpc::ClientContext context;
    const grpc::Status status =
        stub_b->SubmitDossier(&context, Submission("race-submit", 99, 0), &first);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  {
    std::atomic<int> won{0}, aborted{0};
    auto hand_over = [&](v1::DossierService::Stub* stub, const std::string& request_id) {
      v1::HandOverDossierRequest request;
      request.set_code(first.dossier().code());
      request.set_etag(first.dossier().etag());
      request.set_request_id(request_id);
      v1::HandOverDossierResponse response;
      grpc::ClientContext context;
      const grpc::Status status = stub->HandOverDossier(&context, request, &response);
      if (status.ok()) ++won;
      if (status.error_code() == grpc::StatusCode::ABORTED) ++aborted;
    };
    std::thread a([&] { hand_over(stub_a.get(), "race-a"); });
    std::thread b([&] { hand_over(stub_b.get(), "race-b"); });
    a.join();
    b.join();
    EXPECT_EQ(won.load(), 1);
    EXPECT_EQ(aborted.load(), 1);
  }

  // Three consumers: one on each daemon (the one on A reconnects until A is
  // back), one through the load balancer.
  Consumer on_a(daemon_a_.address(), token);
  Consumer on_b(daemon_b_.address(), token);
  Consumer through_nginx(nginx_address(), token);

  // Eight clients through nginx: submit, hand over, decide; every call
  // retried with its request_id until the cluster answers.
  absl::Mutex mu;
  std::map<std::string, v1::Dossier> acknowledged;  // request_id prefix → last answer
  std::atomic<int> calls_done{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> clients;
  for (int client = 0; client < kClients; ++client) {
    clients.emplace_back([&, client] {
      auto stub = v1::DossierService::NewStub(testing::AuthorizedChannel(nginx_address(), token));
      for (int n = 0; n < kDossiersPerClient; ++n) {
        const std::string id = absl::StrCat("c", client, "-", n);
        v1::SubmitDossierResponse submitted;
        grpc::Status status = WithRetries([&](grpc::ClientContext& context) {
          return stub->SubmitDossier(&context, Submission(id + "-submit", client, n), &submitted);
        });
        if (!status.ok()) {
          ADD_FAILURE() << id << " submit: " << status.error_message();
          ++failures;
          continue;
        }
        ++calls_done;
        v1::Dossier dossier = submitted.dossier();
        v1::HandOverDossierResponse handed;
        status = WithRetries([&](grpc::ClientContext& context) {
          v1::HandOverDossierRequest request;
          request.set_code(dossier.code());
          request.set_etag(dossier.etag());
          request.set_request_id(id + "-handover");
          return stub->HandOverDossier(&context, request, &handed);
        });
        if (!status.ok()) {
          ADD_FAILURE() << id << " hand over: " << status.error_message();
          ++failures;
          continue;
        }
        ++calls_done;
        dossier = handed.dossier();
        if (n % 2 == 0) {
          v1::RecordDecisionResponse decided;
          status = WithRetries([&](grpc::ClientContext& context) {
            v1::RecordDecisionRequest request;
            request.set_code(dossier.code());
            request.set_etag(dossier.etag());
            request.set_outcome(v1::DECISION_OUTCOME_APPROVED);
            request.set_request_id(id + "-decide");
            return stub->RecordDecision(&context, request, &decided);
          });
          if (!status.ok()) {
            ADD_FAILURE() << id << " decide: " << status.error_message();
            ++failures;
            continue;
          }
          ++calls_done;
          dossier = decided.dossier();
        }
        absl::MutexLock lock(&mu);
        acknowledged[id] = dossier;
      }
    });
  }
  // Kill A once a third of the calls are done.
  const int total_calls = kClients * kDossiersPerClient * 5 / 2;
  const auto kill_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (calls_done.load() < total_calls / 3 && std::chrono::steady_clock::now() < kill_deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const std::string address_a = daemon_a_.address();
  daemon_a_.Kill();
  const int done_at_kill = calls_done.load();
  // Restart A on its port once two thirds are done: it rejoins behind nginx.
  while (calls_done.load() < total_calls * 2 / 3 && failures.load() == 0 &&
         std::chrono::steady_clock::now() < kill_deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const bool restarted = daemon_a_.Start(DaemonArgs(address_a));
  const int done_at_restart = calls_done.load();
  for (std::thread& client : clients) client.join();
  ASSERT_TRUE(restarted) << daemon_a_.error();
  EXPECT_EQ(daemon_a_.address(), address_a);
  EXPECT_EQ(failures.load(), 0);
  {
    // What the kill looks like to a client behind nginx: UNAVAILABLE (a
    // refused connection, nginx's 502), never a server-side INTERNAL.
    absl::MutexLock lock(&Retried().mu);
    for (const auto& [code, count] : Retried().counts) {
      EXPECT_EQ(code, grpc::StatusCode::UNAVAILABLE) << count << " calls failed with code " << code;
    }
  }
  EXPECT_LT(done_at_kill, total_calls) << "the kill came after the load ended";
  ASSERT_EQ(acknowledged.size(), static_cast<size_t>(kClients * kDossiersPerClient));

  // Every acknowledged write is there, as acknowledged; codes are unique
  // and gap-free.
  std::set<std::string> codes;
  std::vector<v1::Dossier> all;
  for (const auto& [id, answer] : acknowledged) {
    codes.insert(answer.code());
    v1::GetDossierRequest request;
    request.set_code(answer.code());
    v1::GetDossierResponse stored;
    grpc::ClientContext context;
    const grpc::Status status = stub_b->GetDossier(&context, request, &stored);
    ASSERT_TRUE(status.ok()) << answer.code() << ": " << status.error_message();
    EXPECT_EQ(stored.dossier().etag(), answer.etag()) << answer.code();
    EXPECT_EQ(stored.dossier().status(), answer.status()) << answer.code();
    EXPECT_EQ(stored.dossier().history_size(), answer.etag()) << answer.code();
    all.push_back(stored.dossier());
  }
  EXPECT_EQ(codes.size(), acknowledged.size()) << "a code was issued twice";
  {
    // One prefix per day: the numbers are 1..N with the race dossier.
    std::set<int> numbers;
    for (const std::string& code : codes) numbers.insert(std::stoi(code.substr(code.rfind('-') + 1)));
    numbers.insert(std::stoi(first.dossier().code().substr(first.dossier().code().rfind('-') + 1)));
    EXPECT_EQ(static_cast<int>(numbers.size()), kClients * kDossiersPerClient + 1);
    EXPECT_EQ(*numbers.begin(), 1);
    EXPECT_EQ(*numbers.rbegin(), kClients * kDossiersPerClient + 1) << "a gap in the codes";
  }

  // Every consumer saw every revision exactly once, in order: 1 submit + 1
  // hand-over for the race dossier, then each client's writes.
  const int64_t last_revision =
      2 + kClients * kDossiersPerClient * 2 + kClients * ((kDossiersPerClient + 1) / 2);
  on_a.StopAfter(last_revision);
  on_b.StopAfter(last_revision);
  through_nginx.StopAfter(last_revision);
  EXPECT_GE(on_a.reconnects(), 1) << "the consumer on A never lost its daemon";
  for (Consumer* consumer : {&on_a, &on_b, &through_nginx}) {
    const std::vector<int64_t> seen = consumer->revisions();
    ASSERT_EQ(static_cast<int64_t>(seen.size()), last_revision);
    for (int64_t i = 0; i < last_revision; ++i) {
      ASSERT_EQ(seen[i], i + 1) << "revision out of order or missing at position " << i;
    }
  }

  // The report counters (kept by both daemons, in sharded rows) equal a
  // recomputation from the dossiers themselves.
  {
    v1::GetDossierRequest request;
    request.set_code(first.dossier().code());
    v1::GetDossierResponse stored;
    grpc::ClientContext context;
    ASSERT_TRUE(stub_b->GetDossier(&context, request, &stored).ok());
    all.push_back(stored.dossier());
  }
  auto catalogue = config::LoadConfigFile(SamplePath());
  ASSERT_TRUE(catalogue.ok()) << catalogue.status();
  const absl::CivilDay today(2020, 1, 6);  // kNow
  v1::GetCompletionReportRequest report_request;
  report_request.set_agency_code(kCommune);
  *report_request.mutable_from() = core::ToDateProto(today - 31);
  *report_request.mutable_to() = core::ToDateProto(today);
  report_request.set_group_by(v1::REPORT_GROUP_BY_AGENCY);
  auto reports = v1::ReportService::NewStub(testing::AuthorizedChannel(nginx_address(), token));
  v1::GetCompletionReportResponse fast;
  {
    grpc::ClientContext context;
    const grpc::Status status = reports->GetCompletionReport(&context, report_request, &fast);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  absl::StatusOr<core::ReportQuery> query =
      core::ParseReportRequest(report_request, **catalogue, v1::WITHDRAWN_POLICY_NOT_RESOLVED);
  ASSERT_TRUE(query.ok()) << query.status();
  const v1::GetCompletionReportResponse slow = core::RecomputeReport(all, *query, **catalogue);
  std::string diff;
  google::protobuf::util::MessageDifferencer differencer;
  differencer.ReportDifferencesToString(&diff);
  EXPECT_TRUE(differencer.Compare(slow, fast)) << diff;
  EXPECT_EQ(fast.total().columns().received_total(), kClients * kDossiersPerClient + 1)
      << fast.DebugString();
  RecordProperty("calls_done_at_kill", done_at_kill);
  RecordProperty("calls_done_at_restart", done_at_restart);
  RecordProperty("nginx_consumer_reconnects", through_nginx.reconnects());
}

}  // namespace
}  // namespace onestop
