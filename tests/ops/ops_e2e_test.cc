// The operator's view of the real onestopd binary: --version, the admin
// listener on a free port (/metrics with the RPC counters of calls made by
// the real onestopctl, /healthz, /readyz), the slow-RPC log without
// personal data, SIGHUP not killing the daemon, and the loopback guard.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <httplib.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/numbers.h"
#include "tests/testing/test_auth.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"

extern char** environ;

namespace onestop {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;
using ::testing::StartsWith;
using testing::ProcessResult;
using testing::RunProcess;

constexpr char kCommune[] = "000.01.31.H15";
constexpr char kBirthRegistration[] = "1.001193";
constexpr char kPhone[] = "0912345678";
constexpr char kIdNumber[] = "066190000123";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// onestopd with its stdout read until both address lines arrive.
class Daemon {
 public:
  ~Daemon() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (stdout_fd_ >= 0) close(stdout_fd_);
  }

  // Starts `argv`; true once "onestopd listening on" and "onestopd admin
  // listening on" were both printed (within 30 s).
  bool Start(const std::vector<std::string>& argv, const std::string& stderr_path) {
    stderr_path_ = stderr_path;
    int fds[2];
    if (pipe(fds) != 0) return false;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, stderr_path.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    std::vector<char*> args;
    for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    const int rc = posix_spawn(&pid_, argv[0].c_str(), &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    stdout_fd_ = fds[0];
    if (rc != 0) {
      pid_ = -1;
      return false;
    }
    std::string out;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd pfd{stdout_fd_, POLLIN, 0};
      if (poll(&pfd, 1, 1000) <= 0) continue;
      char buffer[512];
      const ssize_t n = read(stdout_fd_, buffer, sizeof buffer);
      if (n <= 0) return false;  // exited
      out.append(buffer, n);
      grpc_ = Field(out, "onestopd listening on ");
      admin_ = Field(out, "onestopd admin listening on ");
      if (!grpc_.empty() && !admin_.empty()) {
        first_line_ = out.substr(0, out.find('\n'));
        return true;
      }
    }
    return false;
  }

  int Signal(int signal_number) { return kill(pid_, signal_number); }

  // Waits for exit; the exit code, or -1 if killed by a signal.
  int Wait() {
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  std::string Stderr() const { return ReadFile(stderr_path_); }
  const std::string& grpc_address() const { return grpc_; }
  const std::string& admin_address() const { return admin_; }
  const std::string& first_line() const { return first_line_; }

 private:
  static std::string Field(const std::string& out, const std::string& marker) {
    const size_t at = out.find(marker);
    if (at == std::string::npos) return "";
    const size_t end = out.find('\n', at);
    if (end == std::string::npos) return "";
    return out.substr(at + marker.size(), end - at - marker.size());
  }

  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::string stderr_path_;
  std::string grpc_;
  std::string admin_;
  std::string first_line_;
};

class OpsE2eTest : public ::testing::Test {
 protected:
  std::vector<std::string> DaemonArgs() {
    return {ONESTOPD_PATH,
            "--config=" + std::string(ONESTOP_SOURCE_DIR) + "/deploy/daklak-2020.textproto",
            "--db=" + dir_.File("onestop.db"),
            "--listen=127.0.0.1:0",
            "--admin-listen=127.0.0.1:0",
            "--slow-rpc-ms=0",
            "--clock=controlled",
            "--clock-start=2020-01-06T08:00:00+07:00",
            "--insecure",
            "--bootstrap-token-file=" + dir_.File("admin.token")};
  }

  void StartDaemon() {
    ASSERT_TRUE(daemon_.Start(DaemonArgs(), dir_.File("stderr.log"))) << daemon_.Stderr();
    std::string port = daemon_.admin_address().substr(daemon_.admin_address().rfind(':') + 1);
    int port_number = 0;
    ASSERT_TRUE(absl::SimpleAtoi(port, &port_number)) << daemon_.admin_address();
    http_ = std::make_unique<httplib::Client>("127.0.0.1", port_number);
    http_->set_tcp_nodelay(true);
    token_ = testing::MustToken(testing::IssueAllRolesToken(
        daemon_.grpc_address(), dir_.File("admin.token"), "clerk.lienson"));
  }

  ProcessResult Ctl(std::vector<std::string> args) {
    std::vector<std::string> argv = {ONESTOPCTL_PATH, "--server=" + daemon_.grpc_address(),
                                     "--token=" + token_};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunProcess(argv);
  }

  std::string Get(const std::string& path, int expected_status = 200) {
    auto response = http_->Get(path.c_str());
    EXPECT_TRUE(response) << path;
    if (!response) return "";
    EXPECT_EQ(response->status, expected_status) << path << ": " << response->body;
    return response->body;
  }

  testing::TempDir dir_;
  Daemon daemon_;
  std::string token_;
  std::unique_ptr<httplib::Client> http_;
};

TEST(OnestopdVersionTest, PrintsVersionAndBuildInfo) {
  const ProcessResult result = RunProcess({ONESTOPD_PATH, "--version"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_THAT(result.out, MatchesRegex("onestopd [0-9]+\\.[0-9]+\\.[0-9]+ \\(revision [^,]+, "
                                       "[A-Za-z]*, [A-Za-z]+ [0-9.]+\\)\n"));
}

TEST_F(OpsE2eTest, AdminListenerServesMetricsHealthAndReadiness) {
  StartDaemon();
  EXPECT_THAT(daemon_.first_line(), StartsWith("onestopd listening on 127.0.0.1:"));

  // One ListAgencies came from issuing the test's token, one is ours.
  const ProcessResult agencies = Ctl({"agencies"});
  ASSERT_EQ(agencies.exit_code, 0) << agencies.err;
  const ProcessResult missing = Ctl({"show", "000.01.31.H15-200106-9999"});
  ASSERT_EQ(missing.exit_code, 5) << missing.err;  // NOT_FOUND

  EXPECT_EQ(Get("/healthz"), "ok\n");
  EXPECT_EQ(Get("/readyz"), "ready\n");
  const std::string metrics = Get("/metrics");
  EXPECT_THAT(metrics, HasSubstr("onestop_build_info{version=\""));
  EXPECT_THAT(metrics, HasSubstr("onestop_feed_followers 0\n"));
  EXPECT_THAT(metrics, HasSubstr("# TYPE onestop_storage_write_seconds histogram\n"));
  EXPECT_THAT(metrics, HasSubstr("grpc_server_handled_total{grpc_service=\"onestop.v1."
                                 "CatalogueService\",grpc_method=\"ListAgencies\","
                                 "grpc_type=\"unary\",grpc_code=\"OK\"} 2\n"))
      << "the metrics interceptor is not installed (ServerDependencies hook missing?)\n"
      << metrics;
  EXPECT_THAT(metrics, HasSubstr("grpc_method=\"GetDossier\",grpc_type=\"unary\","
                                 "grpc_code=\"NOT_FOUND\"} 1\n"));

  EXPECT_EQ(daemon_.Signal(SIGTERM), 0);
  EXPECT_EQ(daemon_.Wait(), 0);
}

TEST_F(OpsE2eTest, SlowRpcLogNamesTheDossierButNeverPersonalNumbers) {
  StartDaemon();
  const ProcessResult submitted =
      Ctl({"submit", "--agency", kCommune, "--procedure", kBirthRegistration, "--name",
           "Nguyễn Thị Hằng", "--phone", kPhone, "--personal-id", kIdNumber, "--request-id",
           "ops-e2e-1"});
  ASSERT_EQ(submitted.exit_code, 0) << submitted.err;
  ASSERT_EQ(Ctl({"hand-over", "000.01.31.H15-200106-0001"}).exit_code, 0);
  const std::string metrics = Get("/metrics");
  EXPECT_THAT(metrics, MatchesRegex("(.|\n)*onestop_storage_write_seconds_count\\{op=\"create\","
                                    "outcome=\"ok\"\\} 1\n(.|\n)*"));
  EXPECT_THAT(metrics, HasSubstr("onestop_storage_write_seconds_count{op=\"update\","
                                 "outcome=\"ok\"} 1\n"));

  EXPECT_EQ(daemon_.Signal(SIGTERM), 0);
  EXPECT_EQ(daemon_.Wait(), 0);
  const std::string logs = daemon_.Stderr();
  EXPECT_THAT(logs, HasSubstr("\"msg\":\"slow rpc\""));
  EXPECT_THAT(logs, HasSubstr("\"rpc\":\"/onestop.v1.DossierService/HandOverDossier\""));
  EXPECT_THAT(logs, HasSubstr("\"dossier\":\"000.01.31.H15-200106-0001\""));
  EXPECT_THAT(logs, HasSubstr("\"request_id\":\"ops-e2e-1\""));
  EXPECT_THAT(logs, Not(HasSubstr(kPhone)));
  EXPECT_THAT(logs, Not(HasSubstr(kIdNumber)));
  EXPECT_THAT(logs, Not(HasSubstr("Nguyễn Thị Hằng")));
}

// The dossier gauges (issue #12) on the real daemon with its controlled
// clock: 2020-01-06 08:00, a Monday; the birth registration is due the day
// it is received, so it is due soon until the clock moves past that day.
TEST_F(OpsE2eTest, MetricsCountDossiersByStatusAndOverdueOrDueSoonByLevel) {
  StartDaemon();
  const ProcessResult submitted =
      Ctl({"submit", "--agency", kCommune, "--procedure", kBirthRegistration, "--name",
           "Nguyễn Thị Hằng", "--request-id", "ops-e2e-gauges"});
  ASSERT_EQ(submitted.exit_code, 0) << submitted.err;

  std::string metrics = Get("/metrics");
  EXPECT_THAT(metrics, HasSubstr("# TYPE onestop_dossiers gauge\n"));
  EXPECT_THAT(metrics, HasSubstr("onestop_dossiers{status=\"received\"} 1\n")) << metrics;
  EXPECT_THAT(metrics, HasSubstr("onestop_dossiers{status=\"processing\"} 0\n"));
  EXPECT_THAT(metrics, HasSubstr("onestop_dossiers{status=\"supplement_requested\"} 0\n"));
  EXPECT_THAT(metrics, HasSubstr("onestop_dossiers_due_soon{level=\"commune\"} 1\n"));
  EXPECT_THAT(metrics, HasSubstr("onestop_dossiers_due_soon{level=\"district\"} 0\n"));
  EXPECT_THAT(metrics, HasSubstr("onestop_dossiers_overdue{level=\"commune\"} 0\n"));
  EXPECT_THAT(metrics, HasSubstr("onestop_dossiers_overdue{level=\"province\"} 0\n"));

  // Two days on (Wednesday) the stored due date has passed: overdue. The
  // new day changes the windows, so the 15 s cache does not hide it.
  const ProcessResult advanced = Ctl({"admin", "clock", "advance", "2d"});
  ASSERT_EQ(advanced.exit_code, 0) << advanced.err;
  metrics = Get("/metrics");
  EXPECT_THAT(metrics, HasSubstr("onestop_dossiers_overdue{level=\"commune\"} 1\n")) << metrics;
  EXPECT_THAT(metrics, HasSubstr("onestop_dossiers_due_soon{level=\"commune\"} 0\n"));
  EXPECT_THAT(metrics, HasSubstr("onestop_dossiers{status=\"received\"} 1\n"));

  EXPECT_EQ(daemon_.Signal(SIGTERM), 0);
  EXPECT_EQ(daemon_.Wait(), 0);
}

TEST_F(OpsE2eTest, SighupDoesNotStopTheDaemon) {
  StartDaemon();
  ASSERT_EQ(daemon_.Signal(SIGHUP), 0);
  // A lower-numbered pending signal is delivered first, so the daemon sees
  // SIGHUP before SIGTERM; had SIGHUP killed it, Wait() would say -1.
  ASSERT_EQ(daemon_.Signal(SIGTERM), 0);
  EXPECT_EQ(daemon_.Wait(), 0);
  EXPECT_THAT(daemon_.Stderr(), HasSubstr("configuration reloaded"));
}

TEST(OnestopdAdminGuardTest, RefusesAPublicAdminAddressWithoutOptIn) {
  testing::TempDir dir;
  const ProcessResult result = RunProcess(
      {ONESTOPD_PATH,
       "--config=" + std::string(ONESTOP_SOURCE_DIR) + "/deploy/daklak-2020.textproto",
       "--db=" + dir.File("onestop.db"), "--listen=127.0.0.1:0", "--insecure",
       "--admin-listen=0.0.0.0:0"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr("--admin-allow-public"));
}

}  // namespace
}  // namespace onestop
