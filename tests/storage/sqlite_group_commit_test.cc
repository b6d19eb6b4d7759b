// SqliteDossierStore's group commit and reader pool (issue #8): many
// concurrent writers get gap-free codes and contiguous revisions and read
// their own writes; a write that fails inside a batch fails alone; a failed
// COMMIT fails its whole batch; closing the store answers every queued
// write; reads never wait for the writer.
//
// Deterministic batches: another connection takes the database's write lock
// (BEGIN IMMEDIATE), a first "plug" write is taken by the writer thread,
// which then waits in its own BEGIN IMMEDIATE (busy_timeout), and every
// write submitted meanwhile queues up behind it. Once CommitStats shows them
// all queued, releasing the lock lets the plug's batch commit and the
// queued writes form the next batch, together.
#include <algorithm>
#include <atomic>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/sqlite/sqlite_dossier_store.h"
#include "storage/sqlite/sqlite_util.h"
#include "tests/storage/sqlite_test_util.h"
#include "tests/testing/status_matchers.h"

namespace onestop::storage {
namespace {

using ::onestop::testing::IsOk;
using ::onestop::testing::IsOkAndHolds;
using ::onestop::testing::StatusIs;
using ::onestop::v1::Dossier;
using ::onestop::v1::DossierEvent;
using ::testing::HasSubstr;
using ::testing::SizeIs;
using testing::MakeTempDir;
using testing::RawDb;

constexpr char kPrefix[] = "H12.23-250106-";
constexpr char kPlugPrefix[] = "PLUG-";

std::string Code(int sequence) { return absl::StrFormat("%s%04d", kPrefix, sequence); }

CreateDossierWrite NewDossier(const std::string& prefix = kPrefix,
                              const std::string& request_id = "") {
  CreateDossierWrite write;
  write.dossier.set_receiving_agency_code("H12.23");
  write.dossier.set_holder_agency_code("H12.23");
  write.dossier.set_status(onestop::v1::DOSSIER_STATUS_RECEIVED);
  write.entry.set_action(onestop::v1::ACTION_KIND_SUBMIT);
  write.entry.set_to_status(onestop::v1::DOSSIER_STATUS_RECEIVED);
  write.entry.mutable_time()->set_seconds(1736125200);
  write.code_prefix = prefix;
  if (!request_id.empty()) write.idempotency = IdempotencyKey{request_id, "fp"};
  CounterDelta delta;
  delta.series = "t|received";
  delta.day = absl::CivilDay(2025, 1, 6);
  delta.values[0] = 1;
  write.counter_deltas.push_back(delta);
  return write;
}

UpdateDossierWrite HandOver(const std::string& code, int64_t expected_etag) {
  UpdateDossierWrite write;
  write.dossier.set_code(code);
  write.dossier.set_receiving_agency_code("H12.23");
  write.dossier.set_holder_agency_code("H12");
  write.dossier.set_status(onestop::v1::DOSSIER_STATUS_PROCESSING);
  write.expected_etag = expected_etag;
  write.entry.set_action(onestop::v1::ACTION_KIND_HAND_OVER);
  write.entry.set_to_status(onestop::v1::DOSSIER_STATUS_PROCESSING);
  return write;
}

// Polls `condition` until it holds or 60 s pass (the batches here wait on
// real locks and fsyncs, not on a clock).
bool WaitUntil(const std::function<bool()>& condition) {
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (!condition()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(1));
  }
  return true;
}

class GroupCommitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::string> dir = MakeTempDir();
    ASSERT_THAT(dir, IsOk());
    dir_ = *dir;
    path_ = dir_ + "/onestop.db";
  }
  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  // A store on path_ whose writer waits up to a minute for a lock held
  // elsewhere.
  std::unique_ptr<SqliteDossierStore> OpenStore() {
    absl::StatusOr<std::unique_ptr<SqliteDossierStore>> store =
        SqliteDossierStore::Open({.path = path_, .busy_timeout = absl::Seconds(60)});
    EXPECT_THAT(store, IsOk());
    return store.ok() ? *std::move(store) : nullptr;
  }

  // Takes the write lock through `other` and parks the writer thread on a
  // plug write (a Create under kPlugPrefix) that `plug_` answers later.
  void HoldTheWriter(SqliteDossierStore& store, RawDb& other) {
    ASSERT_THAT(other.Exec("BEGIN IMMEDIATE"), IsOk());
    plug_ = std::thread([&store] { EXPECT_THAT(store.Create(NewDossier(kPlugPrefix)), IsOk()); });
    ASSERT_TRUE(WaitUntil([&store] {
      const CommitStats stats = store.GetCommitStats();
      return stats.unanswered_writes == 1 && stats.queued_writes == 0;
    }));
  }

  // Waits until `n` writes are queued behind the plug, then releases the
  // lock: the plug commits, then the `n` writes commit as one batch.
  void ReleaseWhenQueued(SqliteDossierStore& store, RawDb& other, int n) {
    ASSERT_TRUE(WaitUntil([&store, n] { return store.GetCommitStats().queued_writes == n; }));
    ASSERT_THAT(other.Exec("COMMIT"), IsOk());
    plug_.join();
  }

  std::string dir_;
  std::string path_;
  std::thread plug_;
};

// 16 threads × 200 submits, each followed by a hand-over, while a feed
// follower tails the event log: codes are unique and gap-free, revisions
// contiguous, every acknowledged write is readable at once, and writes did
// share commits.
class ConcurrentWritersTest : public GroupCommitTest,
                              public ::testing::WithParamInterface<bool /*in_memory*/> {};

TEST_P(ConcurrentWritersTest, GapFreeCodesContiguousRevisionsAndReadYourWrites) {
  constexpr int kThreads = 16;
  constexpr int kPerThread = 200;
  constexpr int kWrites = kThreads * kPerThread * 2;
  const bool in_memory = GetParam();
  absl::StatusOr<std::unique_ptr<SqliteDossierStore>> opened =
      SqliteDossierStore::Open({.path = in_memory ? ":memory:" : path_});
  ASSERT_THAT(opened, IsOk());
  SqliteDossierStore& store = **opened;

  std::atomic<bool> writers_done{false};
  int64_t followed = 0;
  std::thread follower([&] {
    // Only committed events are ever visible, in revision order and without
    // gaps, and each names a dossier that is already readable.
    while (true) {
      const bool done = writers_done.load();
      absl::StatusOr<std::vector<DossierEvent>> events = store.ReadEvents(followed, 500);
      ASSERT_THAT(events, IsOk());
      for (const DossierEvent& event : *events) {
        ASSERT_EQ(event.revision(), followed + 1);
        followed = event.revision();
        if (followed % 97 == 0) {
          absl::StatusOr<Dossier> got = store.Get(event.dossier().code());
          ASSERT_THAT(got, IsOk());
          EXPECT_GE(got->etag(), event.dossier().etag());
        }
      }
      if (done && events->empty()) return;
    }
  });

  std::vector<std::vector<std::string>> codes(kThreads);
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&store, &codes, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string request_id = absl::StrCat("t", t, "-", i);
        absl::StatusOr<Dossier> created = store.Create(NewDossier(kPrefix, request_id));
        ASSERT_THAT(created, IsOk());
        codes[t].push_back(created->code());
        // Acknowledged, hence visible to every read that starts now.
        EXPECT_THAT(store.Get(created->code()), IsOk());
        EXPECT_THAT(store.FindRequest(request_id), IsOkAndHolds(::testing::Optional(::testing::_)));
        absl::StatusOr<Dossier> updated = store.Update(HandOver(created->code(), 1));
        ASSERT_THAT(updated, IsOk());
        EXPECT_EQ(updated->etag(), 2);
        EXPECT_THAT(updated->history(), SizeIs(2));
        absl::StatusOr<Dossier> got = store.Get(created->code());
        ASSERT_THAT(got, IsOk());
        EXPECT_EQ(got->etag(), 2);
      }
    });
  }
  for (std::thread& writer : writers) writer.join();
  writers_done = true;
  follower.join();

  std::vector<std::string> all;
  for (const std::vector<std::string>& thread_codes : codes) {
    all.insert(all.end(), thread_codes.begin(), thread_codes.end());
  }
  std::sort(all.begin(), all.end());
  ASSERT_THAT(all, SizeIs(kThreads * kPerThread));
  for (int i = 0; i < kThreads * kPerThread; ++i) ASSERT_EQ(all[i], Code(i + 1));
  EXPECT_THAT(store.LastRevision(), IsOkAndHolds(kWrites));
  EXPECT_EQ(followed, kWrites);

  CounterQuery query;
  query.series = {"t|received"};
  query.ranges = {{absl::CivilDay(2025, 1, 1), absl::CivilDay(2025, 1, 31)}};
  absl::StatusOr<std::vector<CounterSums>> sums = store.SumCounters(query);
  ASSERT_THAT(sums, IsOk());
  ASSERT_THAT(*sums, SizeIs(1));
  EXPECT_EQ((*sums)[0].sums[0][0], kThreads * kPerThread);

  const CommitStats stats = store.GetCommitStats();
  EXPECT_EQ(stats.writes, kWrites);
  EXPECT_EQ(stats.failed_writes, 0);
  EXPECT_EQ(stats.failed_batches, 0);
  EXPECT_GT(stats.max_batch_size, 1);
  EXPECT_LT(stats.batches, kWrites);
  int64_t histogram_total = 0;
  for (int64_t n : stats.batch_size_histogram) histogram_total += n;
  EXPECT_EQ(histogram_total, stats.batches);
  EXPECT_EQ(stats.queued_writes, 0);
  EXPECT_EQ(stats.unanswered_writes, 0);
  RecordProperty("batches", static_cast<int>(stats.batches));
  RecordProperty("max_batch_size", stats.max_batch_size);
}

INSTANTIATE_TEST_SUITE_P(Sqlite, ConcurrentWritersTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Memory" : "File";
                         });

TEST_F(GroupCommitTest, AFailingWriteIsRolledBackAloneAndTheRestOfItsBatchCommits) {
  std::unique_ptr<SqliteDossierStore> store = OpenStore();
  ASSERT_NE(store, nullptr);
  absl::StatusOr<Dossier> target = store->Create(NewDossier());  // 0001, revision 1
  ASSERT_THAT(target, IsOk());
  absl::StatusOr<Dossier> second = store->Create(NewDossier());  // 0002, revision 2
  ASSERT_THAT(second, IsOk());
  RawDb other(path_);
  // A Create of procedure "fail" fails after its code was allocated and its
  // row inserted: the savepoint must undo both.
  ASSERT_THAT(other.Exec("CREATE TRIGGER fail_marked AFTER INSERT ON dossiers "
                         "WHEN NEW.procedure_code = 'fail' "
                         "BEGIN SELECT RAISE(ABORT, 'injected'); END"),
              IsOk());
  HoldTheWriter(*store, other);  // the plug: revision 3

  struct Outcome {
    std::string name;
    absl::StatusOr<Dossier> result = absl::UnknownError("not run");
  };
  std::vector<Outcome> outcomes(10);
  std::vector<std::function<absl::StatusOr<Dossier>()>> writes = {
      [&] { return store->Update(HandOver(target->code(), 1)); },  // one of these two
      [&] { return store->Update(HandOver(target->code(), 1)); },  //   is stale
      [&] { return store->Create(NewDossier(kPrefix, "dup")); },   // one of these two
      [&] { return store->Create(NewDossier(kPrefix, "dup")); },   //   is a duplicate
      [&] {
        CreateDossierWrite write = NewDossier();
        write.dossier.set_procedure_code("fail");
        return store->Create(write);
      },
      [&] {
        UpdateDossierWrite write = HandOver(second->code(), 1);
        write.entry.set_sequence(9);  // not the next one
        return store->Update(write);
      },
      [&] { return store->Update(HandOver(absl::StrCat(kPrefix, "9999"), 1)); },
      [&] { return store->Create(NewDossier()); },
      [&] { return store->Create(NewDossier()); },
      [&] { return store->Create(NewDossier()); },
  };
  std::vector<std::thread> threads;
  for (size_t i = 0; i < writes.size(); ++i) {
    threads.emplace_back([&, i] { outcomes[i].result = writes[i](); });
  }
  ReleaseWhenQueued(*store, other, static_cast<int>(writes.size()));
  for (std::thread& thread : threads) thread.join();

  // The queued writes shared one transaction.
  const CommitStats stats = store->GetCommitStats();
  EXPECT_EQ(stats.batches, 4);
  EXPECT_EQ(stats.last_batch_size, 10);
  EXPECT_EQ(stats.max_batch_size, 10);
  EXPECT_EQ(stats.batch_size_histogram[3], 1);  // 8–15 writes
  EXPECT_EQ(stats.failed_batches, 0);
  EXPECT_EQ(stats.failed_writes, 5);

  // Each failing write got its own error.
  const absl::Status& u0 = outcomes[0].result.status();
  const absl::Status& u1 = outcomes[1].result.status();
  EXPECT_TRUE(u0.ok() != u1.ok()) << u0 << " / " << u1;
  EXPECT_THAT(u0.ok() ? u1 : u0, StatusIs(absl::StatusCode::kAborted));
  const absl::Status& d0 = outcomes[2].result.status();
  const absl::Status& d1 = outcomes[3].result.status();
  EXPECT_TRUE(d0.ok() != d1.ok()) << d0 << " / " << d1;
  EXPECT_THAT(d0.ok() ? d1 : d0, StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_THAT(outcomes[4].result,
              StatusIs(absl::StatusCode::kInternal, ::testing::Not(HasSubstr("injected"))));
  EXPECT_THAT(outcomes[5].result, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(outcomes[6].result, StatusIs(absl::StatusCode::kNotFound));
  for (int i = 7; i < 10; ++i) EXPECT_THAT(outcomes[i].result, IsOk());

  // The others committed, with gap-free codes and contiguous revisions: the
  // failed Create's code allocation was rolled back with it.
  std::vector<std::string> codes;
  for (int i : {2, 3, 7, 8, 9}) {
    if (outcomes[i].result.ok()) codes.push_back(outcomes[i].result->code());
  }
  std::sort(codes.begin(), codes.end());
  EXPECT_THAT(codes, ::testing::ElementsAre(Code(3), Code(4), Code(5), Code(6)));
  EXPECT_THAT(store->Get(target->code()), IsOkAndHolds(::testing::Property(&Dossier::etag, 2)));
  EXPECT_THAT(store->Get(second->code()), IsOkAndHolds(::testing::Property(&Dossier::etag, 1)));
  EXPECT_THAT(store->LastRevision(), IsOkAndHolds(3 + 5));
  absl::StatusOr<std::vector<DossierEvent>> events = store->ReadEvents(0, 100);
  ASSERT_THAT(events, IsOk());
  ASSERT_THAT(*events, SizeIs(8));
  for (int i = 0; i < 8; ++i) EXPECT_EQ((*events)[i].revision(), i + 1);
  EXPECT_EQ(other.Query("SELECT last FROM code_sequences WHERE prefix = 'H12.23-250106-'"), "6");
  EXPECT_EQ(other.Query("SELECT count(*) FROM requests"), "1");
}

// A historical dossier under kPrefix with one history entry (what
// ImportDossiers needs: code = prefix + number, history 1..n, etag n).
ImportDossierWrite OldDossier(int sequence, const std::string& procedure_code = "") {
  ImportDossierWrite write;
  write.dossier.set_code(Code(sequence));
  write.dossier.set_receiving_agency_code("H12.23");
  write.dossier.set_holder_agency_code("H12.23");
  write.dossier.set_procedure_code(procedure_code);
  write.dossier.set_status(onestop::v1::DOSSIER_STATUS_RETURNED);
  write.dossier.set_etag(1);
  onestop::v1::HistoryEntry* entry = write.dossier.add_history();
  entry->set_sequence(1);
  entry->set_action(onestop::v1::ACTION_KIND_SUBMIT);
  entry->set_to_status(onestop::v1::DOSSIER_STATUS_RETURNED);
  entry->mutable_time()->set_seconds(1577836800);
  write.code_prefix = kPrefix;
  write.code_sequence = sequence;
  return write;
}

// An import request commits in a transaction of its own (it has no
// savepoint to fail alone in): queued between creates it splits their
// batch, and one whose record hits a database error fails as a whole —
// none of its records stored, no revision used — while the writes queued
// before and after it commit.
TEST_F(GroupCommitTest, AnImportRequestCommitsAloneAndAFailingOneWritesNothing) {
  std::unique_ptr<SqliteDossierStore> store = OpenStore();
  ASSERT_NE(store, nullptr);
  RawDb other(path_);
  ASSERT_THAT(other.Exec("CREATE TRIGGER fail_marked AFTER INSERT ON dossiers "
                         "WHEN NEW.procedure_code = 'fail' "
                         "BEGIN SELECT RAISE(ABORT, 'injected'); END"),
              IsOk());
  HoldTheWriter(*store, other);  // the plug: revision 1

  // Queued one after the other, in this order: create, create, import
  // (2 records), create, failing import (2 records), create.
  std::vector<std::thread> threads;
  absl::StatusOr<Dossier> creates[4];
  absl::StatusOr<std::vector<absl::Status>> good_import = absl::UnknownError("not run");
  absl::StatusOr<std::vector<absl::Status>> bad_import = absl::UnknownError("not run");
  int queued = 0;
  auto queue = [&](std::function<void()> write) {
    threads.emplace_back(std::move(write));
    ++queued;
    ASSERT_TRUE(WaitUntil([&] { return store->GetCommitStats().queued_writes == queued; }));
  };
  queue([&] { creates[0] = store->Create(NewDossier()); });
  queue([&] { creates[1] = store->Create(NewDossier()); });
  queue([&] { good_import = store->ImportDossiers({OldDossier(501), OldDossier(502)}); });
  queue([&] { creates[2] = store->Create(NewDossier()); });
  queue([&] {
    bad_import = store->ImportDossiers({OldDossier(601), OldDossier(602, "fail")});
  });
  queue([&] { creates[3] = store->Create(NewDossier()); });
  ReleaseWhenQueued(*store, other, queued);
  for (std::thread& thread : threads) thread.join();

  for (const absl::StatusOr<Dossier>& created : creates) EXPECT_THAT(created, IsOk());
  ASSERT_THAT(good_import, IsOk());
  EXPECT_THAT(*good_import, ::testing::ElementsAre(IsOk(), IsOk()));
  EXPECT_THAT(bad_import, StatusIs(absl::StatusCode::kInternal));

  // plug; [create, create]; [import]; [create]; [failing import]; [create]
  const CommitStats stats = store->GetCommitStats();
  EXPECT_EQ(stats.batches, 6);
  EXPECT_EQ(stats.max_batch_size, 2);
  EXPECT_EQ(stats.failed_batches, 1);
  EXPECT_EQ(stats.failed_writes, 1);

  EXPECT_THAT(store->Get(Code(501)), IsOk());
  EXPECT_THAT(store->Get(Code(502)), IsOk());
  EXPECT_THAT(store->Get(Code(601)), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store->Get(Code(602)), StatusIs(absl::StatusCode::kNotFound));
  // 1 plug + 4 creates + 2 imported records, contiguous.
  absl::StatusOr<std::vector<DossierEvent>> events = store->ReadEvents(0, 100);
  ASSERT_THAT(events, IsOk());
  ASSERT_THAT(*events, SizeIs(7));
  for (int i = 0; i < 7; ++i) EXPECT_EQ((*events)[i].revision(), i + 1);
  // The good import raised the sequence past 502, so the creates after it
  // got 503 and 504; the failed one raised nothing.
  EXPECT_EQ(creates[2]->code(), Code(503));
  EXPECT_EQ(creates[3]->code(), Code(504));
  EXPECT_EQ(other.Query("SELECT last FROM code_sequences WHERE prefix = 'H12.23-250106-'"),
            "504");
}

// SharedWriter::Write (the security store's token and audit writes): other
// components' writes join a batch as items of their own; one that fails is
// rolled back alone, the dossier writes and the other shared write of the
// same batch commit.
TEST_F(GroupCommitTest, SharedWritesJoinTheBatchAndFailAlone) {
  std::unique_ptr<SqliteDossierStore> store = OpenStore();
  ASSERT_NE(store, nullptr);
  RawDb other(path_);
  ASSERT_THAT(other.Exec("CREATE TABLE side (v TEXT NOT NULL)"), IsOk());
  HoldTheWriter(*store, other);

  using sqlite_internal::Connection;
  auto insert = [](const std::string& value) {
    return [value](Connection& connection) -> absl::Status {
      if (absl::Status s = connection.Exec(
              absl::StrCat("INSERT INTO side (v) VALUES ('", value, "')").c_str(), "test");
          !s.ok()) {
        return s;
      }
      if (value == "fails") return absl::FailedPreconditionError("refused after its insert");
      return absl::OkStatus();
    };
  };
  absl::Status kept = absl::UnknownError("not run");
  absl::Status refused = absl::UnknownError("not run");
  absl::StatusOr<Dossier> created = absl::UnknownError("not run");
  std::vector<std::thread> threads;
  threads.emplace_back([&] { kept = store->Write(insert("kept")); });
  threads.emplace_back([&] { refused = store->Write(insert("fails")); });
  threads.emplace_back([&] { created = store->Create(NewDossier()); });
  ReleaseWhenQueued(*store, other, 3);
  for (std::thread& thread : threads) thread.join();

  EXPECT_THAT(kept, IsOk());
  EXPECT_THAT(refused, StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("refused")));
  EXPECT_THAT(created, IsOk());
  EXPECT_EQ(other.Query("SELECT group_concat(v) FROM side"), "kept");
  const CommitStats stats = store->GetCommitStats();
  EXPECT_EQ(stats.last_batch_size, 3);
  EXPECT_EQ(stats.failed_writes, 1);
  EXPECT_EQ(stats.failed_batches, 0);
}

// WriteLater items (queued audit records) are committed and answered
// through `done`; a batch of them alone commits with synchronous=NORMAL,
// and the connection is back to FULL as soon as that batch ends (what
// CompactEvents, Settings and Backup find between batches) and for the
// next durable write.
TEST_F(GroupCommitTest, LaterWritesCommitAndLeaveTheConnectionDurable) {
  std::unique_ptr<SqliteDossierStore> store = OpenStore();
  ASSERT_NE(store, nullptr);
  RawDb other(path_);
  ASSERT_THAT(other.Exec("CREATE TABLE side (v TEXT NOT NULL)"), IsOk());
  absl::Notification done;
  absl::Status outcome = absl::UnknownError("not run");
  store->WriteLater(
      [](sqlite_internal::Connection& connection) {
        return connection.Exec("INSERT INTO side (v) VALUES ('later')", "test");
      },
      [&](absl::Status status) {
        outcome = status;
        done.Notify();
      });
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(60)));
  EXPECT_THAT(outcome, IsOk());
  EXPECT_EQ(other.Query("SELECT v FROM side"), "later");
  absl::StatusOr<SqliteSettings> between = store->Settings();
  ASSERT_THAT(between, IsOk());
  EXPECT_EQ(between->synchronous, 2);  // FULL again before any other write
  ASSERT_THAT(store->Create(NewDossier()), IsOk());
  absl::StatusOr<SqliteSettings> settings = store->Settings();
  ASSERT_THAT(settings, IsOk());
  EXPECT_EQ(settings->synchronous, 2);  // FULL
}

// Plants a deferred foreign-key violation that SQLite checks only at
// COMMIT: a batch holding a create with procedure "poison" cannot commit.
// (A real fsync failure would need a VFS shim; this is the same code path:
// COMMIT returns an error.)
absl::Status PlantPoison(RawDb& other) {
  return other.Exec(
      "CREATE TABLE poison_parent (id INTEGER PRIMARY KEY);"
      "CREATE TABLE poison (parent INTEGER REFERENCES poison_parent (id) "
      "  DEFERRABLE INITIALLY DEFERRED);"
      "CREATE TRIGGER poison_commit AFTER INSERT ON dossiers "
      "WHEN NEW.procedure_code = 'poison' "
      "BEGIN INSERT INTO poison VALUES (42); END");
}

CreateDossierWrite PoisonDossier() {
  CreateDossierWrite write = NewDossier();
  write.dossier.set_procedure_code("poison");
  return write;
}

// A COMMIT that fails (PlantPoison) fails every write of the batch — one
// that had failed on its own too (a stale etag here): its failure was
// judged against writes that were rolled back. Nothing of the batch is
// visible, and the next write continues the code sequence without a gap.
TEST_F(GroupCommitTest, AFailedCommitFailsEveryWriteOfItsBatch) {
  std::unique_ptr<SqliteDossierStore> store = OpenStore();
  ASSERT_NE(store, nullptr);
  absl::StatusOr<Dossier> target = store->Create(NewDossier());  // 0001, revision 1
  ASSERT_THAT(target, IsOk());
  RawDb other(path_);
  ASSERT_THAT(PlantPoison(other), IsOk());
  HoldTheWriter(*store, other);  // the plug: revision 2, commits fine

  std::vector<absl::StatusOr<Dossier>> results(5, absl::UnknownError("not run"));
  // Waits for an asynchronous write's answer: writes 0 and 2 are answered
  // by the writer (CreateAsync, UpdateAsync), the others block.
  auto awaited = [](auto start) {
    absl::Notification done;
    absl::StatusOr<Dossier> result = absl::UnknownError("not answered");
    start([&](absl::StatusOr<Dossier> r) {
      result = std::move(r);
      done.Notify();
    });
    done.WaitForNotification();
    return result;
  };
  std::vector<std::function<absl::StatusOr<Dossier>()>> writes = {
      [&] {
        return awaited([&](DossierStore::WriteDone done) {
          store->CreateAsync(NewDossier(kPrefix, "r-a"), std::move(done));
        });
      },
      [&] { return store->Create(PoisonDossier()); },
      [&] {
        return awaited([&](DossierStore::WriteDone done) {
          store->UpdateAsync(HandOver(target->code(), 1), std::move(done));
        });
      },
      [&] { return store->Update(HandOver(target->code(), 7)); },  // stale on its own
      [&] { return store->Create(NewDossier()); },
  };
  std::vector<std::thread> threads;
  for (size_t i = 0; i < writes.size(); ++i) {
    threads.emplace_back([&, i] { results[i] = writes[i](); });
  }
  ReleaseWhenQueued(*store, other, static_cast<int>(writes.size()));
  for (std::thread& thread : threads) thread.join();

  for (int i = 0; i < static_cast<int>(results.size()); ++i) {
    EXPECT_THAT(results[i], StatusIs(absl::StatusCode::kInternal, HasSubstr("committing")))
        << "write " << i;
  }
  const CommitStats stats = store->GetCommitStats();
  EXPECT_EQ(stats.batches, 3);
  EXPECT_EQ(stats.last_batch_size, 5);
  EXPECT_EQ(stats.failed_batches, 1);
  EXPECT_EQ(stats.failed_writes, 5);

  // Nothing of the failed batch is visible.
  EXPECT_THAT(store->LastRevision(), IsOkAndHolds(2));
  EXPECT_THAT(store->Get(target->code()), IsOkAndHolds(::testing::Property(&Dossier::etag, 1)));
  EXPECT_THAT(store->Get(Code(2)), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store->FindRequest("r-a"), IsOkAndHolds(::testing::Eq(std::nullopt)));
  EXPECT_EQ(other.Query("SELECT count(*) FROM poison"), "0");

  // The next batch commits normally and continues the sequence.
  ASSERT_THAT(other.Exec("DROP TRIGGER poison_commit"), IsOk());
  absl::StatusOr<Dossier> next = store->Create(NewDossier(kPrefix, "r-a"));
  ASSERT_THAT(next, IsOk());
  EXPECT_EQ(next->code(), Code(2));
  EXPECT_THAT(store->Update(HandOver(target->code(), 1)), IsOk());
  EXPECT_THAT(store->LastRevision(), IsOkAndHolds(4));
}

// A client that timed out retries with the same request id while its
// first attempt still waits for the writer; both land in one batch, which
// then fails. The retry must not be told ALREADY_EXISTS ("already
// processed, do not retry") for a request that was never recorded: both
// get the batch's error, and the next retry is recorded as new.
TEST_F(GroupCommitTest, ARetryMetInAFailedBatchIsNotToldItsRequestWasProcessed) {
  std::unique_ptr<SqliteDossierStore> store = OpenStore();
  ASSERT_NE(store, nullptr);
  RawDb other(path_);
  ASSERT_THAT(PlantPoison(other), IsOk());
  HoldTheWriter(*store, other);

  absl::StatusOr<Dossier> first = absl::UnknownError("not run");
  absl::StatusOr<Dossier> retry = absl::UnknownError("not run");
  absl::StatusOr<Dossier> poison = absl::UnknownError("not run");
  std::thread first_thread([&] { first = store->Create(NewDossier(kPrefix, "r-retried")); });
  ASSERT_TRUE(WaitUntil([&store] { return store->GetCommitStats().queued_writes == 1; }));
  std::thread retry_thread([&] { retry = store->Create(NewDossier(kPrefix, "r-retried")); });
  std::thread poison_thread([&] { poison = store->Create(PoisonDossier()); });
  ReleaseWhenQueued(*store, other, 3);
  for (std::thread* t : {&first_thread, &retry_thread, &poison_thread}) t->join();

  for (const absl::StatusOr<Dossier>* result : {&first, &retry, &poison}) {
    EXPECT_THAT(*result, StatusIs(absl::StatusCode::kInternal, HasSubstr("committing")));
  }
  EXPECT_THAT(store->FindRequest("r-retried"), IsOkAndHolds(::testing::Eq(std::nullopt)));

  ASSERT_THAT(other.Exec("DROP TRIGGER poison_commit"), IsOk());
  absl::StatusOr<Dossier> recorded = store->Create(NewDossier(kPrefix, "r-retried"));
  ASSERT_THAT(recorded, IsOk());
  EXPECT_THAT(store->FindRequest("r-retried"), IsOkAndHolds(::testing::Ne(std::nullopt)));
}

TEST_F(GroupCommitTest, ClosingTheStoreCommitsAndAnswersEveryQueuedWrite) {
  constexpr int kQueued = 8;
  std::unique_ptr<SqliteDossierStore> store = OpenStore();
  ASSERT_NE(store, nullptr);
  SqliteDossierStore* raw = store.get();
  {
    RawDb other(path_);
    HoldTheWriter(*raw, other);
    std::vector<absl::StatusOr<Dossier>> results(kQueued, absl::UnknownError("not run"));
    std::vector<std::thread> threads;
    for (int i = 0; i < kQueued; ++i) {
      threads.emplace_back([raw, &results, i] { results[i] = raw->Create(NewDossier()); });
    }
    ASSERT_TRUE(WaitUntil([raw] { return raw->GetCommitStats().queued_writes == kQueued; }));
    // The destructor stops intake, then waits for the writer to drain the
    // queue, which it can only do once the lock below is released.
    std::thread closer([&store] { store.reset(); });
    ASSERT_THAT(other.Exec("COMMIT"), IsOk());
    plug_.join();
    for (std::thread& thread : threads) thread.join();
    closer.join();
    for (const absl::StatusOr<Dossier>& result : results) EXPECT_THAT(result, IsOk());
  }
  std::unique_ptr<SqliteDossierStore> reopened = OpenStore();
  ASSERT_NE(reopened, nullptr);
  EXPECT_THAT(reopened->LastRevision(), IsOkAndHolds(kQueued + 1));
  EXPECT_THAT(reopened->Get(Code(kQueued)), IsOk());
}

// The reader pool: while the writer is stuck waiting for the write lock,
// reads still answer at once, from the last committed state.
TEST_F(GroupCommitTest, ReadsDoNotWaitForABlockedWriter) {
  std::unique_ptr<SqliteDossierStore> store = OpenStore();
  ASSERT_NE(store, nullptr);
  absl::StatusOr<Dossier> created = store->Create(NewDossier(kPrefix, "r-1"));
  ASSERT_THAT(created, IsOk());
  RawDb other(path_);
  HoldTheWriter(*store, other);

  EXPECT_THAT(store->Get(created->code()), IsOk());
  EXPECT_THAT(store->List({}), IsOkAndHolds(::testing::Field(&DossierPage::dossiers, SizeIs(1))));
  EXPECT_THAT(store->FindRequest("r-1"), IsOkAndHolds(::testing::Optional(::testing::_)));
  EXPECT_THAT(store->ReadEvents(0, 10), IsOkAndHolds(SizeIs(1)));
  EXPECT_THAT(store->LastRevision(), IsOkAndHolds(1));  // the plug is not committed
  EXPECT_THAT(store->FirstRevision(), IsOkAndHolds(1));
  CounterQuery query;
  query.series = {"t|received"};
  query.ranges = {{kEarliestCounterDay, kLatestCounterDay}};
  EXPECT_THAT(store->SumCounters(query), IsOkAndHolds(SizeIs(1)));
  EXPECT_EQ(store->GetCommitStats().unanswered_writes, 1);

  ASSERT_THAT(other.Exec("COMMIT"), IsOk());
  plug_.join();
  EXPECT_THAT(store->LastRevision(), IsOkAndHolds(2));
}

TEST_F(GroupCommitTest, PoolAndBatchSizesMustBePositive) {
  EXPECT_THAT(SqliteDossierStore::Open({.path = path_, .read_connections = 0}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(SqliteDossierStore::Open({.path = path_, .max_batch_writes = 0}),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(GroupCommitTest, BatchesNeverExceedTheConfiguredSize) {
  absl::StatusOr<std::unique_ptr<SqliteDossierStore>> opened = SqliteDossierStore::Open(
      {.path = path_, .busy_timeout = absl::Seconds(60), .max_batch_writes = 3});
  ASSERT_THAT(opened, IsOk());
  SqliteDossierStore& store = **opened;
  RawDb other(path_);
  HoldTheWriter(store, other);
  std::vector<std::thread> threads;
  for (int i = 0; i < 7; ++i) {
    threads.emplace_back([&store] { EXPECT_THAT(store.Create(NewDossier()), IsOk()); });
  }
  ReleaseWhenQueued(store, other, 7);
  for (std::thread& thread : threads) thread.join();
  const CommitStats stats = store.GetCommitStats();
  EXPECT_EQ(stats.max_batch_size, 3);
  EXPECT_EQ(stats.batches, 1 + 3);  // the plug, then 3 + 3 + 1
  EXPECT_EQ(stats.writes, 8);
  EXPECT_THAT(store.Get(Code(7)), IsOk());
}

}  // namespace
}  // namespace onestop::storage
