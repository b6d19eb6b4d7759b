#include "tests/testing/pg_test_cluster.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "storage/postgres/pg_util.h"
#include "tests/testing/subprocess.h"

namespace onestop::testing {
namespace {

constexpr char kBinDir[] = "/usr/lib/postgresql/15/bin";

// A free loopback TCP port (bound then released; PostgreSQL binds it next).
absl::StatusOr<int> FreeLoopbackPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return absl::InternalError("socket() failed");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    ::close(fd);
    return absl::InternalError("cannot find a free loopback port");
  }
  ::close(fd);
  return ntohs(address.sin_port);
}

// Runs `argv` as the postgres user when we are root (initdb refuses root).
ProcessResult RunAsPostgres(std::vector<std::string> argv) {
  if (::geteuid() == 0) argv.insert(argv.begin(), {"/usr/sbin/runuser", "-u", "postgres", "--"});
  return RunProcess(argv);
}

// The cluster to stop at exit. A plain pointer: the handler must not go
// through Shared(), whose function-local statics may already be destroyed.
PgTestCluster* cluster_to_stop = nullptr;

}  // namespace

void PgTestCluster::StopAtExit(PgTestCluster* cluster) {
  cluster_to_stop = cluster;
  std::atexit([] {
    if (cluster_to_stop != nullptr) cluster_to_stop->Stop();
  });
}

absl::StatusOr<PgTestCluster*> PgTestCluster::Shared() {
  static PgTestCluster* const cluster = new PgTestCluster();
  static const absl::Status started = cluster->Start();
  if (!started.ok()) return started;
  return cluster;
}

absl::Status PgTestCluster::Start() {
  if (const char* uri = std::getenv("ONESTOP_TEST_PG_URI"); uri != nullptr && *uri != '\0') {
    base_uri_ = uri;
    if (!absl::EndsWith(base_uri_, "/")) base_uri_ += "/";
    admin_uri_ = base_uri_ + "postgres";
    StopAtExit(this);  // drops the databases it created
    return absl::OkStatus();
  }
  if (!std::filesystem::exists(absl::StrCat(kBinDir, "/initdb"))) {
    return absl::FailedPreconditionError(absl::StrCat(
        "PostgreSQL 15 is not installed (", kBinDir,
        "/initdb missing): run ./deploy/test.sh, which installs it, or set ONESTOP_TEST_PG_URI"));
  }
  std::string pattern = "/tmp/onestop-pg-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) return absl::InternalError("mkdtemp failed");
  dir_ = pattern;
  // From here on the directory (and a server, once started) is removed at
  // exit, also when starting fails half-way.
  StopAtExit(this);
  absl::Status started = StartServer();
  if (!started.ok()) Stop();
  return started;
}

absl::Status PgTestCluster::StartServer() {
  if (::geteuid() == 0) {
    const passwd* postgres = ::getpwnam("postgres");
    if (postgres == nullptr || ::chown(dir_.c_str(), postgres->pw_uid, postgres->pw_gid) != 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot give ", dir_, " to the postgres user (is PostgreSQL installed?)"));
    }
  }
  const ProcessResult init = RunAsPostgres({absl::StrCat(kBinDir, "/initdb"), "-D", dir_ + "/data",
                                            "--auth=trust", "-U", "postgres", "-E", "UTF8",
                                            "--locale=C.UTF-8", "--no-sync"});
  if (init.exit_code != 0) {
    return absl::FailedPreconditionError(absl::StrCat("initdb failed: ", init.err, init.out));
  }
  absl::StatusOr<int> port = FreeLoopbackPort();
  if (!port.ok()) return port.status();
  port_ = *port;
  const std::string options =
      absl::StrCat("-p ", port_, " -k ", dir_,
                   " -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300"
                   " -c shared_buffers=64MB");
  const ProcessResult start =
      RunAsPostgres({absl::StrCat(kBinDir, "/pg_ctl"), "-D", dir_ + "/data", "-l",
                     dir_ + "/log", "-w", "-o", options, "start"});
  if (start.exit_code != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("pg_ctl start failed: ", start.err, start.out));
  }
  base_uri_ = absl::StrCat("postgresql://postgres@127.0.0.1:", port_, "/");
  admin_uri_ = base_uri_ + "postgres";
  return absl::OkStatus();
}

void PgTestCluster::Stop() {
  if (dir_.empty()) {
    DropDatabases();
    return;
  }
  RunAsPostgres({absl::StrCat(kBinDir, "/pg_ctl"), "-D", dir_ + "/data", "-m", "immediate",
                 "-w", "stop"});
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
  dir_.clear();
}

absl::StatusOr<std::string> PgTestCluster::NewDatabase() {
  std::string name;
  {
    absl::MutexLock lock(&mu_);
    // The pid alone could repeat on a long-lived shared server.
    name = absl::StrCat("onestop_test_", ::getpid(), "_", absl::ToUnixMicros(absl::Now()), "_",
                        ++next_database_);
    if (dir_.empty()) created_.push_back(name);
  }
  absl::StatusOr<std::unique_ptr<storage::pg::Connection>> admin =
      storage::pg::Connection::Open(admin_uri_);
  if (!admin.ok()) return admin.status();
  const std::string sql = absl::StrCat("CREATE DATABASE ", name);
  absl::Status created = (*admin)->ExecScript(sql.c_str(), "creating a test database");
  if (!created.ok()) return created;
  return base_uri_ + name;
}

void PgTestCluster::DropDatabases() {
  std::vector<std::string> names;
  {
    absl::MutexLock lock(&mu_);
    names.swap(created_);
  }
  if (names.empty()) return;
  absl::StatusOr<std::unique_ptr<storage::pg::Connection>> admin =
      storage::pg::Connection::Open(admin_uri_);
  if (!admin.ok()) return;
  for (const std::string& name : names) {
    const std::string sql = absl::StrCat("DROP DATABASE IF EXISTS ", name, " WITH (FORCE)");
    (*admin)->ExecScript(sql.c_str(), "dropping a test database").IgnoreError();
  }
}

absl::StatusOr<std::string> NewPgDatabase() {
  absl::StatusOr<PgTestCluster*> cluster = PgTestCluster::Shared();
  if (!cluster.ok()) return cluster.status();
  return (*cluster)->NewDatabase();
}

}  // namespace onestop::testing
