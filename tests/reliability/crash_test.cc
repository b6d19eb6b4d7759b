// Crash safety: the real onestopd on a SQLite file, SIGKILLed at a seeded
// random moment while 4 clients submit dossiers and drive them through
// their lifecycle, then restarted on the same file, again and again.
//
// After every kill the database is opened directly (as the next daemon
// would, recovering the WAL) and checked: every acknowledged write is there
// with at least its acknowledged etag and status; no dossier is half-applied
// (history size == etag, last entry's status == status); the change feed
// has exactly one event per history entry with contiguous revisions; codes
// are unique and gap-free per prefix; `PRAGMA integrity_check` says "ok".
// Then the daemon restarts and every call that was in doubt at the kill is
// retried with its request_id: it must succeed, and must not duplicate.
//
//   ONESTOP_CRASH_CYCLES=N   kill cycles (default 20; soak: 500 or more)
//   ONESTOP_CRASH_SEED=S     replay the kill delays and client choices of a
//                            failed run (thread interleaving is not replayed)
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "onestop/v1/dossier_service.grpc.pb.h"
#include "storage/sqlite/sqlite_dossier_store.h"
#include "tests/reliability/store_checker.h"
#include "tests/testing/test_auth.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"

namespace onestop {
namespace {

using namespace onestop::v1;  // NOLINT

constexpr char kCommune[] = "000.01.31.H15";   // UBND thị trấn Liên Sơn (sample)
constexpr char kProcedure[] = "1.001193";      // Đăng ký khai sinh, 3 working days
constexpr int kClients = 4;

uint64_t EnvOr(const char* name, uint64_t fallback) {
  const char* text = std::getenv(name);
  uint64_t value = 0;
  if (text != nullptr && absl::SimpleAtoi(text, &value)) return value;
  return fallback;
}

// One write a client sends. The request is rebuilt from these fields, so a
// retry carries exactly the same content (and request fingerprint).
struct Op {
  // The etag the dossier will have after the op: 1 submit, 2 hand_over,
  // 3 record_decision, 4 mark_result_ready, 5 return_result.
  int64_t target_etag = 1;
  std::string code;  // empty for a submit
  std::string request_id;
  int client = 0;
};

// An acknowledged write: what the server answered OK.
struct Ack {
  std::string code;
  int64_t etag = 0;
  DossierStatus status = DOSSIER_STATUS_UNSPECIFIED;
  std::string request_id;
};

DossierStatus StatusAfter(int64_t etag) {
  switch (etag) {
    case 1: return DOSSIER_STATUS_RECEIVED;
    case 2:
    case 3: return DOSSIER_STATUS_PROCESSING;
    case 4: return DOSSIER_STATUS_RESULT_READY;
    default: return DOSSIER_STATUS_RETURNED;
  }
}

// "Bearer <token>" of the test's clients, set at the first daemon start.
std::string& BearerHeader() {
  static std::string header;
  return header;
}

template <typename Request, typename Response, typename Method>
grpc::Status Invoke(DossierService::Stub& stub, Method method, const Request& request,
                    bool wait_for_ready, Dossier* out) {
  grpc::ClientContext context;
  context.AddMetadata("authorization", BearerHeader());
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(15));
  context.set_wait_for_ready(wait_for_ready);
  Response response;
  grpc::Status status = (stub.*method)(&context, request, &response);
  if (status.ok()) *out = response.dossier();
  return status;
}

grpc::Status Send(DossierService::Stub& stub, const Op& op, bool wait_for_ready, Dossier* out) {
  using S = DossierService::Stub;
  switch (op.target_etag) {
    case 1: {
      SubmitDossierRequest r;
      r.set_request_id(op.request_id);
      r.set_procedure_code(kProcedure);
      r.set_receiving_agency_code(kCommune);
      r.mutable_applicant()->set_full_name("Nguyễn Thị Hằng " + op.request_id);
      r.mutable_applicant()->set_phone("0912345678");
      r.mutable_applicant()->set_address("Buôn Jun, thị trấn Liên Sơn, huyện Lắk");
      r.set_channel(CHANNEL_DIRECT);
      auto* document = r.add_documents();
      document->set_name("Tờ khai đăng ký khai sinh");
      document->set_copies(1);
      r.set_summary("Đăng ký khai sinh cho con");
      r.set_receive_now(true);
      return Invoke<SubmitDossierRequest, SubmitDossierResponse>(stub, &S::SubmitDossier, r,
                                                                 wait_for_ready, out);
    }
    case 2: {
      HandOverDossierRequest r;
      r.set_code(op.code);
      r.set_etag(1);
      r.set_request_id(op.request_id);
      return Invoke<HandOverDossierRequest, HandOverDossierResponse>(stub, &S::HandOverDossier, r,
                                                                     wait_for_ready, out);
    }
    case 3: {
      RecordDecisionRequest r;
      r.set_code(op.code);
      r.set_etag(2);
      r.set_request_id(op.request_id);
      r.set_outcome(DECISION_OUTCOME_APPROVED);
      return Invoke<RecordDecisionRequest, RecordDecisionResponse>(stub, &S::RecordDecision, r,
                                                                   wait_for_ready, out);
    }
    case 4: {
      MarkResultReadyRequest r;
      r.set_code(op.code);
      r.set_etag(3);
      r.set_request_id(op.request_id);
      return Invoke<MarkResultReadyRequest, MarkResultReadyResponse>(stub, &S::MarkResultReady, r,
                                                                     wait_for_ready, out);
    }
    default: {
      ReturnResultRequest r;
      r.set_code(op.code);
      r.set_etag(4);
      r.set_request_id(op.request_id);
      r.set_mode(RETURN_MODE_AT_DESK);
      return Invoke<ReturnResultRequest, ReturnResultResponse>(stub, &S::ReturnResult, r,
                                                               wait_for_ready, out);
    }
  }
}

// True for the outcomes of a call cut off by the daemon's death: the write
// may or may not have committed.
bool InDoubt(grpc::StatusCode code) {
  return code == grpc::StatusCode::UNAVAILABLE || code == grpc::StatusCode::DEADLINE_EXCEEDED ||
         code == grpc::StatusCode::CANCELLED || code == grpc::StatusCode::UNKNOWN ||
         code == grpc::StatusCode::INTERNAL;
}

// One client's view: the dossiers it drives and what it was told.
struct Client {
  struct Live {
    std::string code;
    int64_t etag = 0;
  };
  std::vector<Live> live;
  std::vector<Op> in_doubt;
  std::vector<Ack> acks;
  std::vector<std::string> unexpected;  // errors that are not "in doubt"
  std::set<std::string> submit_ids;     // every submit request_id sent
  int64_t next_id = 0;
};

class CrashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    seed_ = EnvOr("ONESTOP_CRASH_SEED", std::random_device{}());
    cycles_ = static_cast<int>(EnvOr("ONESTOP_CRASH_CYCLES", 20));
    std::cout << "crash test: seed " << seed_ << ", " << cycles_
              << " cycles (replay with ONESTOP_CRASH_SEED=" << seed_ << ")" << std::endl;
    RecordProperty("seed", std::to_string(seed_));
    db_ = dir_.File("onestop.db");
  }

  std::vector<std::string> DaemonArgs() const {
    return {ONESTOPD_PATH,
            "--config=" + std::string(ONESTOP_SOURCE_DIR) + "/deploy/daklak-2020.textproto",
            "--db=" + db_, "--listen=127.0.0.1:0", "--clock=controlled",
            "--clock-start=2020-01-06T08:00:00+07:00", "--log_level=warning", "--insecure",
            "--bootstrap-token-file=" + db_ + ".admin.token"};
  }

  // Starts the daemon; the first start issues the clients' token (kept in
  // the database, so it outlives every kill).
  void StartDaemon(testing::DaemonProcess& daemon) {
    ASSERT_TRUE(daemon.Start(DaemonArgs())) << daemon.error();
    if (BearerHeader().empty()) {
      BearerHeader() = "Bearer " + testing::MustToken(testing::IssueAllRolesToken(
                                       daemon.address(), db_ + ".admin.token", "clerk.lienson"));
    }
  }

  // Drives `client` until `stop` or its first in-doubt call.
  void RunClient(int index, uint64_t seed, DossierService::Stub* stub, std::atomic<bool>* stop) {
    Client& client = clients_[index];
    std::mt19937_64 rng(seed);
    while (!stop->load()) {
      Op op;
      op.client = index;
      size_t pick = 0;
      if (client.live.size() < 3 || rng() % 4 == 0) {
        op.target_etag = 1;
      } else {
        pick = rng() % client.live.size();
        op.code = client.live[pick].code;
        op.target_etag = client.live[pick].etag + 1;
      }
      op.request_id = absl::StrCat("s", seed_, "-c", index, "-", client.next_id++);
      if (op.target_etag == 1) client.submit_ids.insert(op.request_id);
      Dossier dossier;
      const grpc::Status status = Send(*stub, op, /*wait_for_ready=*/false, &dossier);
      if (status.ok()) {
        Record(client, op, dossier);
        if (op.target_etag != 1) client.live.erase(client.live.begin() + pick);
        if (dossier.etag() < 5) client.live.push_back({dossier.code(), dossier.etag()});
        continue;
      }
      if (InDoubt(status.error_code()) || stop->load()) {
        if (op.target_etag != 1) client.live.erase(client.live.begin() + pick);
        client.in_doubt.push_back(op);
        return;  // the daemon is (probably) gone: stop until the restart
      }
      client.unexpected.push_back(absl::StrCat(op.request_id, " (etag ", op.target_etag, " of ",
                                               op.code, "): ", status.error_code(), " ",
                                               status.error_message()));
      return;
    }
  }

  void Record(Client& client, const Op& op, const Dossier& dossier) {
    if (dossier.etag() != op.target_etag || dossier.status() != StatusAfter(op.target_etag)) {
      client.unexpected.push_back(absl::StrCat(op.request_id, " answered etag ", dossier.etag(),
                                               " status ", dossier.status()));
    }
    client.acks.push_back({dossier.code(), dossier.etag(), dossier.status(), op.request_id});
  }

  // Retries every in-doubt call on the freshly started daemon.
  void RetryInDoubt(DossierService::Stub& stub) {
    for (Client& client : clients_) {
      std::vector<Op> ops;
      ops.swap(client.in_doubt);
      for (const Op& op : ops) {
        Dossier dossier;
        const grpc::Status status = Send(stub, op, /*wait_for_ready=*/true, &dossier);
        ASSERT_TRUE(status.ok()) << "retry of in-doubt " << op.request_id << " failed: "
                                 << status.error_code() << " " << status.error_message();
        Record(client, op, dossier);
        if (dossier.etag() < 5) client.live.push_back({dossier.code(), dossier.etag()});
      }
    }
  }

  // Opens the file as the next daemon would and checks everything.
  void CheckDatabase(const std::string& when, bool all_resolved) {
    SCOPED_TRACE(when);
    {
      storage::SqliteOptions options;
      options.path = db_;
      auto store = storage::SqliteDossierStore::Open(options);
      ASSERT_TRUE(store.ok()) << store.status();
      auto snapshot = testing::ReadSnapshot(**store);
      ASSERT_TRUE(snapshot.ok()) << snapshot.status();
      const std::vector<std::string> problems = testing::CheckInvariants(*snapshot);
      EXPECT_TRUE(problems.empty()) << absl::StrJoin(problems, "\n");

      size_t submits_sent = 0;
      size_t in_doubt_committed = 0;
      size_t in_doubt_total = 0;
      for (const Client& client : clients_) {
        submits_sent += client.submit_ids.size();
        for (const Ack& ack : client.acks) {
          auto it = snapshot->dossiers.find(ack.code);
          ASSERT_NE(it, snapshot->dossiers.end()) << "acknowledged dossier lost: " << ack.code;
          const Dossier& stored = it->second;
          ASSERT_GE(stored.etag(), ack.etag) << "acknowledged write lost: " << ack.request_id;
          EXPECT_EQ(stored.history(ack.etag - 1).to_status(), ack.status) << ack.request_id;
          auto recorded = (*store)->FindRequest(ack.request_id);
          ASSERT_TRUE(recorded.ok()) << recorded.status();
          ASSERT_TRUE(recorded->has_value()) << "idempotency record lost: " << ack.request_id;
          EXPECT_EQ((*recorded)->response.code(), ack.code) << ack.request_id;
          EXPECT_EQ((*recorded)->response.etag(), ack.etag) << ack.request_id;
        }
        for (const Op& op : client.in_doubt) {
          ++in_doubt_total;
          auto recorded = (*store)->FindRequest(op.request_id);
          ASSERT_TRUE(recorded.ok()) << recorded.status();
          if (recorded->has_value()) ++in_doubt_committed;
        }
      }
      // Each submit request_id creates at most one dossier; once every
      // in-doubt submit has been retried, exactly one.
      if (all_resolved) {
        EXPECT_EQ(snapshot->dossiers.size(), submits_sent);
      } else {
        EXPECT_LE(snapshot->dossiers.size(), submits_sent);
      }
      in_doubt_total_ += in_doubt_total;
      in_doubt_committed_ += in_doubt_committed;
      events_ = snapshot->events.size();
      dossiers_ = snapshot->dossiers.size();
    }
    auto integrity = testing::SqliteIntegrityCheck(db_);
    ASSERT_TRUE(integrity.ok()) << integrity.status();
    EXPECT_EQ(*integrity, "ok");
  }

  void ExpectNoUnexpected() {
    for (const Client& client : clients_) {
      EXPECT_TRUE(client.unexpected.empty()) << absl::StrJoin(client.unexpected, "\n");
    }
  }

  uint64_t seed_ = 0;
  int cycles_ = 0;
  testing::TempDir dir_;
  std::string db_;
  Client clients_[kClients];
  size_t in_doubt_total_ = 0;
  size_t in_doubt_committed_ = 0;
  size_t events_ = 0;
  size_t dossiers_ = 0;
};

TEST_F(CrashTest, AcknowledgedWritesSurviveSigkillAndRetriesDoNotDuplicate) {
  SCOPED_TRACE(absl::StrCat("ONESTOP_CRASH_SEED=", seed_));
  std::mt19937_64 rng(seed_);
  for (int cycle = 0; cycle < cycles_; ++cycle) {
    SCOPED_TRACE(absl::StrCat("cycle ", cycle));
    testing::DaemonProcess daemon;
    StartDaemon(daemon);
    if (HasFatalFailure()) return;
    auto channel = grpc::CreateChannel(daemon.address(), grpc::InsecureChannelCredentials());
    std::unique_ptr<DossierService::Stub> stub = DossierService::NewStub(channel);
    RetryInDoubt(*stub);
    if (HasFatalFailure()) return;

    // A separate channel per client: the kill cuts all of them.
    std::atomic<bool> stop{false};
    std::vector<std::unique_ptr<DossierService::Stub>> stubs;
    std::vector<std::thread> threads;
    for (int i = 0; i < kClients; ++i) {
      grpc::ChannelArguments args;
      args.SetInt("onestop.client", i);  // distinct args → distinct connections
      stubs.push_back(DossierService::NewStub(grpc::CreateCustomChannel(
          daemon.address(), grpc::InsecureChannelCredentials(), args)));
    }
    for (int i = 0; i < kClients; ++i) {
      threads.emplace_back([this, i, seed = rng(), stub = stubs[i].get(), &stop] {
        RunClient(i, seed, stub, &stop);
      });
    }
    // The crash: SIGKILL at a seeded random moment under load.
    const int delay_ms = 20 + static_cast<int>(rng() % 400);
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    daemon.Kill();
    stop = true;
    for (std::thread& thread : threads) thread.join();
    ExpectNoUnexpected();
    CheckDatabase(absl::StrCat("after SIGKILL at ", delay_ms, " ms"), /*all_resolved=*/false);
    if (HasFatalFailure()) return;
  }

  // Resolve the last in-doubt calls, stop cleanly, check once more.
  testing::DaemonProcess daemon;
  StartDaemon(daemon);
  if (HasFatalFailure()) return;
  auto channel = grpc::CreateChannel(daemon.address(), grpc::InsecureChannelCredentials());
  std::unique_ptr<DossierService::Stub> stub = DossierService::NewStub(channel);
  RetryInDoubt(*stub);
  if (HasFatalFailure()) return;
  EXPECT_EQ(daemon.Stop(), 0) << daemon.error();
  ExpectNoUnexpected();
  CheckDatabase("after the final clean stop", /*all_resolved=*/true);

  size_t acks = 0;
  for (const Client& client : clients_) acks += client.acks.size();
  std::cout << "crash test: " << cycles_ << " kills, " << acks << " acknowledged writes, "
            << dossiers_ << " dossiers, " << events_ << " events; " << in_doubt_total_
            << " calls in doubt at a kill, " << in_doubt_committed_
            << " of them had committed" << std::endl;
  // The test is only meaningful if the kills hit a loaded daemon.
  EXPECT_GT(acks, static_cast<size_t>(cycles_));
  EXPECT_GT(in_doubt_total_, 0u);
}

}  // namespace
}  // namespace onestop
