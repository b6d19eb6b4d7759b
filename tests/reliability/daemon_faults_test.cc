// Faults below the store, with the real onestopd binary: the database file
// deleted under a running daemon, a real full disk (a tiny tmpfs), and a
// second daemon pointed at the same database file.
#include <grpcpp/grpcpp.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "onestop/v1/dossier_service.grpc.pb.h"
#include "storage/sqlite/sqlite_dossier_store.h"
#include "tests/reliability/store_checker.h"
#include "tests/testing/test_auth.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"

namespace onestop {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using namespace onestop::v1;  // NOLINT

constexpr char kCommune[] = "000.01.31.H15";
constexpr char kProcedure[] = "1.001193";

class DaemonFaultsTest : public ::testing::Test {
 protected:
  std::vector<std::string> DaemonArgs(const std::string& db) const {
    return {ONESTOPD_PATH,
            "--config=" + std::string(ONESTOP_SOURCE_DIR) + "/deploy/daklak-2020.textproto",
            "--db=" + db, "--listen=127.0.0.1:0", "--clock=controlled",
            "--clock-start=2020-01-06T08:00:00+07:00", "--insecure",
            "--bootstrap-token-file=" + db + ".admin.token"};
  }

  // A stub with a fresh all-roles token, issued with the admin token the
  // daemon on `db` wrote at its first start.
  static std::unique_ptr<DossierService::Stub> Connect(const testing::DaemonProcess& daemon,
                                                       const std::string& db) {
    return DossierService::NewStub(testing::AuthorizedChannel(
        daemon.address(),
        testing::MustToken(testing::IssueAllRolesToken(daemon.address(), db + ".admin.token"))));
  }

  static grpc::Status Submit(DossierService::Stub& stub, const std::string& request_id,
                             const std::string& summary = "Đăng ký khai sinh cho con",
                             Dossier* out = nullptr, int extra_documents = 0) {
    SubmitDossierRequest request;
    request.set_request_id(request_id);
    request.set_procedure_code(kProcedure);
    request.set_receiving_agency_code(kCommune);
    request.mutable_applicant()->set_full_name("Nguyễn Thị Hằng");
    request.set_channel(CHANNEL_DIRECT);
    request.add_documents()->set_name("Tờ khai đăng ký khai sinh");
    for (int i = 0; i < extra_documents; ++i) {
      request.add_documents()->set_name(absl::StrCat(i, std::string(250, 'd')));
    }
    request.set_summary(summary);
    request.set_receive_now(true);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    SubmitDossierResponse response;
    grpc::Status status = stub.SubmitDossier(&context, request, &response);
    if (out) *out = response.dossier();
    return status;
  }

  static grpc::Status Get(DossierService::Stub& stub, const std::string& code) {
    grpc::ClientContext context;
    GetDossierRequest request;
    request.set_code(code);
    GetDossierResponse response;
    return stub.GetDossier(&context, request, &response);
  }

  static void ExpectConsistent(const std::string& db) {
    {
      storage::SqliteOptions options;
      options.path = db;
      auto store = storage::SqliteDossierStore::Open(options);
      ASSERT_TRUE(store.ok()) << store.status();
      auto snapshot = testing::ReadSnapshot(**store);
      ASSERT_TRUE(snapshot.ok()) << snapshot.status();
      const auto problems = testing::CheckInvariants(*snapshot);
      EXPECT_TRUE(problems.empty()) << absl::StrJoin(problems, "\n");
    }
    auto integrity = testing::SqliteIntegrityCheck(db);
    ASSERT_TRUE(integrity.ok()) << integrity.status();
    EXPECT_EQ(*integrity, "ok");
  }

  testing::TempDir dir_;
};

// SQLite keeps the open inode: a daemon whose file was unlinked keeps
// answering and its writes are durable — in a file no one can open again.
// The next start creates a fresh, empty database. This test pins that
// behaviour down (docs/DURABILITY.md, "Deleting the file").
TEST_F(DaemonFaultsTest, DatabaseFileDeletedUnderARunningDaemon) {
  const std::string db = dir_.File("onestop.db");
  testing::DaemonProcess daemon;
  ASSERT_TRUE(daemon.Start(DaemonArgs(db))) << daemon.error();
  auto stub = Connect(daemon, db);
  Dossier before;
  ASSERT_TRUE(Submit(*stub, "r-1", "trước", &before).ok());

  ASSERT_EQ(unlink(db.c_str()), 0) << std::strerror(errno);
  // Its admin token goes with it: the next start writes a new one.
  ASSERT_EQ(unlink((db + ".admin.token").c_str()), 0) << std::strerror(errno);
  Dossier after;
  const grpc::Status status = Submit(*stub, "r-2", "sau", &after);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(after.code(), "000.01.31.H15-200106-0002");
  EXPECT_TRUE(Get(*stub, before.code()).ok());
  EXPECT_TRUE(Get(*stub, after.code()).ok());
  stub.reset();  // close the channel: shutdown waits for open connections
  EXPECT_EQ(daemon.Stop(), 0) << daemon.error();

  // Restart: a new, empty database; both dossiers are gone with the inode.
  testing::DaemonProcess restarted;
  ASSERT_TRUE(restarted.Start(DaemonArgs(db))) << restarted.error();
  auto stub2 = Connect(restarted, db);
  EXPECT_EQ(Get(*stub2, before.code()).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Get(*stub2, after.code()).error_code(), grpc::StatusCode::NOT_FOUND);
  Dossier fresh;
  ASSERT_TRUE(Submit(*stub2, "r-3", "mới", &fresh).ok());
  EXPECT_EQ(fresh.code(), "000.01.31.H15-200106-0001");
  stub2.reset();
  EXPECT_EQ(restarted.Stop(), 0);
  ExpectConsistent(db);
}

// A real full disk: the database on a 1 MiB tmpfs (needs CAP_SYS_ADMIN; the
// CI container runs as root). Writes fail with RESOURCE_EXHAUSTED, reads
// keep working, nothing acknowledged is lost, and once space is freed
// (remount bigger) writes succeed again.
TEST_F(DaemonFaultsTest, DiskFullIsResourceExhaustedAndRecovers) {
  const std::string mount_point = dir_.File("tiny");
  ASSERT_EQ(mkdir(mount_point.c_str(), 0700), 0);
  ASSERT_EQ(mount("tmpfs", mount_point.c_str(), "tmpfs", 0, "size=1m"), 0)
      << "mounting a tmpfs failed (" << std::strerror(errno)
      << "): this test needs CAP_SYS_ADMIN; run the suite as root";
  struct Unmount {
    std::string path;
    ~Unmount() { umount2(path.c_str(), MNT_DETACH); }
  } unmount{mount_point};

  const std::string db = mount_point + "/onestop.db";
  testing::DaemonProcess daemon;
  ASSERT_TRUE(daemon.Start(DaemonArgs(db))) << daemon.error();
  auto stub = Connect(daemon, db);
  // ~16 KB per request (a 4000-byte summary, 50 long document names), kept
  // three times (dossier, event, idempotency record): the disk fills within
  // a few dozen writes.
  const std::string summary(4000, 's');
  constexpr int kDocuments = 50;
  std::vector<std::string> acknowledged;
  grpc::Status failure;
  for (int i = 0; i < 500; ++i) {
    Dossier d;
    grpc::Status status = Submit(*stub, absl::StrCat("r-", i), summary, &d, kDocuments);
    if (!status.ok()) {
      failure = status;
      break;
    }
    acknowledged.push_back(d.code());
  }
  ASSERT_FALSE(failure.ok()) << "the 1 MiB disk never filled";
  EXPECT_EQ(failure.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << failure.error_message();
  EXPECT_THAT(failure.error_message(), HasSubstr("disk full"));
  ASSERT_FALSE(acknowledged.empty());
  // Still full: still refused, still readable.
  EXPECT_EQ(Submit(*stub, "r-full", summary, nullptr, kDocuments).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
  for (const std::string& code : acknowledged) EXPECT_TRUE(Get(*stub, code).ok()) << code;

  // Free space: writes go through again, on the same daemon.
  ASSERT_EQ(mount("tmpfs", mount_point.c_str(), "tmpfs", MS_REMOUNT, "size=16m"), 0)
      << std::strerror(errno);
  Dossier next;
  const grpc::Status recovered = Submit(*stub, "r-full", summary, &next, kDocuments);
  ASSERT_TRUE(recovered.ok()) << recovered.error_message();
  EXPECT_EQ(next.code(), absl::StrCat("000.01.31.H15-200106-",
                                      absl::StrFormat("%04d", acknowledged.size() + 1)));
  stub.reset();
  EXPECT_EQ(daemon.Stop(), 0) << daemon.error();
  ExpectConsistent(db);
}

// One writer per database file: a second onestopd on the same file exits
// non-zero at start-up, saying why; the first keeps serving.
TEST_F(DaemonFaultsTest, SecondDaemonOnTheSameFileRefusesToStart) {
  const std::string db = dir_.File("onestop.db");
  testing::DaemonProcess first;
  ASSERT_TRUE(first.Start(DaemonArgs(db))) << first.error();
  auto stub = Connect(first, db);
  ASSERT_TRUE(Submit(*stub, "r-1").ok());

  // `timeout` turns "started and kept running" into exit code 124.
  std::vector<std::string> argv = {"/usr/bin/timeout", "20"};
  for (const std::string& arg : DaemonArgs(db)) argv.push_back(arg);
  const testing::ProcessResult second = testing::RunProcess(argv);
  EXPECT_NE(second.exit_code, 0);
  EXPECT_NE(second.exit_code, 124) << "the second daemon started";
  EXPECT_THAT(second.err, HasSubstr("in use by another onestopd (pid " +
                                    std::to_string(first.pid()) + ")"));
  EXPECT_THAT(second.out, Not(HasSubstr("listening")));

  Dossier d;
  ASSERT_TRUE(Submit(*stub, "r-2", "vẫn phục vụ", &d).ok());
  EXPECT_EQ(d.code(), "000.01.31.H15-200106-0002");
  stub.reset();
  EXPECT_EQ(first.Stop(), 0) << first.error();
  ExpectConsistent(db);
}

}  // namespace
}  // namespace onestop
