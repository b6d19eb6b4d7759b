// SqliteDossierStore: the conformance suite on an in-memory and an on-disk
// database, plus what only SQLite has: files, pragmas, schema versions,
// corruption and locks.
#include "storage/sqlite/sqlite_dossier_store.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/feed_notifier.h"
#include "storage/forwarding_dossier_store.h"
#include "storage/notifying_dossier_store.h"
#include "tests/storage/dossier_store_conformance.h"
#include "tests/storage/sqlite_test_util.h"
#include "tests/testing/proto_matchers.h"
#include "tests/testing/status_matchers.h"

namespace onestop::storage {
namespace {

using ::onestop::testing::EqualsProto;
using ::onestop::testing::IsOk;
using ::onestop::testing::IsOkAndHolds;
using ::onestop::testing::StatusIs;
using ::onestop::v1::Dossier;
using ::testing::AllOf;
using testing::DossierStoreConformanceTest;
using testing::MakeTempDir;
using testing::RawDb;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::SizeIs;
using testing::StoreFactory;
using testing::StoreFactoryName;

// An on-disk store that owns its temporary directory and removes it when
// destroyed. It runs with synchronous=NORMAL: the suite exercises the same
// WAL file and code paths, without 10,000 fsyncs (seconds to tens of seconds
// on a busy disk) in CodeSequenceGrowsPastFourDigits; FULL is checked by
// SqliteDossierStoreTest.FullDurabilityPragmas and the reopen test.
// OpenWithoutRecent keeps no recently updated dossiers, so that every Get
// of the suite reads the database.
class TempFileStore final : public ForwardingDossierStore {
 public:
  static absl::StatusOr<std::unique_ptr<DossierStore>> Open() {
    return OpenKeeping(SqliteOptions().recent_dossiers);
  }
  static absl::StatusOr<std::unique_ptr<DossierStore>> OpenWithoutRecent() {
    return OpenKeeping(0);
  }

  ~TempFileStore() override {
    store_.reset();  // close the database before removing its files
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  // Forwarded, so that the suite's asynchronous tests reach the SQLite
  // writer's own (ForwardingDossierStore falls back to the blocking call).
  void CreateAsync(CreateDossierWrite write, WriteDone done) override {
    base().CreateAsync(std::move(write), std::move(done));
  }
  void UpdateAsync(UpdateDossierWrite write, WriteDone done) override {
    base().UpdateAsync(std::move(write), std::move(done));
  }

 private:
  static absl::StatusOr<std::unique_ptr<DossierStore>> OpenKeeping(int recent_dossiers) {
    absl::StatusOr<std::string> dir = MakeTempDir();
    if (!dir.ok()) return dir.status();
    absl::StatusOr<std::unique_ptr<SqliteDossierStore>> store =
        SqliteDossierStore::Open({.path = *dir + "/onestop.db",
                                  .durability = Durability::kNormal,
                                  .recent_dossiers = recent_dossiers});
    if (!store.ok()) {
      std::filesystem::remove_all(*dir);
      return store.status();
    }
    return std::unique_ptr<DossierStore>(new TempFileStore(*std::move(dir), *std::move(store)));
  }

  TempFileStore(std::string dir, std::unique_ptr<SqliteDossierStore> store)
      : ForwardingDossierStore(store.get()), dir_(std::move(dir)), store_(std::move(store)) {}

  std::string dir_;
  std::unique_ptr<SqliteDossierStore> store_;
};

absl::StatusOr<std::unique_ptr<DossierStore>> OpenMemoryStore() {
  absl::StatusOr<std::unique_ptr<SqliteDossierStore>> store =
      SqliteDossierStore::Open({.path = ":memory:"});
  if (!store.ok()) return store.status();
  return std::unique_ptr<DossierStore>(std::move(*store));
}

INSTANTIATE_TEST_SUITE_P(Sqlite, DossierStoreConformanceTest,
                         ::testing::Values(StoreFactory{"Memory", OpenMemoryStore, ""},
                                           StoreFactory{"File", TempFileStore::Open, ""},
                                           StoreFactory{"FileWithoutRecent",
                                                        TempFileStore::OpenWithoutRecent, ""}),
                         StoreFactoryName());

// ---------------------------------------------------------------------------
// SQLite-specific behaviour, on a file in a fresh temp directory.

class SqliteDossierStoreTest : public ::testing::Test {
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

  absl::StatusOr<std::unique_ptr<SqliteDossierStore>> Open() {
    return SqliteDossierStore::Open({.path = path_});
  }

  void WriteFile(const std::string& bytes) {
    std::ofstream out(path_, std::ios::binary | std::ios::trunc);
    out << bytes;
    ASSERT_TRUE(out.good());
  }

  std::string dir_;
  std::string path_;
};

CreateDossierWrite SimpleCreate(const std::string& request_id = "") {
  CreateDossierWrite write;
  write.dossier.set_receiving_agency_code("H12.23");
  write.dossier.set_holder_agency_code("H12.23");
  write.dossier.set_status(onestop::v1::DOSSIER_STATUS_RECEIVED);
  write.dossier.mutable_applicant()->set_full_name("Nguyễn Thị Hằng");
  write.entry.set_action(onestop::v1::ACTION_KIND_SUBMIT);
  write.entry.set_to_status(onestop::v1::DOSSIER_STATUS_RECEIVED);
  write.entry.mutable_time()->set_seconds(1736125200);
  write.code_prefix = "H12.23-250106-";
  if (!request_id.empty()) write.idempotency = IdempotencyKey{request_id, "fp"};
  return write;
}

TEST_F(SqliteDossierStoreTest, ReopenKeepsDossiersEventsCountersAndRequests) {
  Dossier updated;
  {
    absl::StatusOr<std::unique_ptr<SqliteDossierStore>> store = Open();
    ASSERT_THAT(store, IsOk());
    absl::StatusOr<Dossier> created = (*store)->Create(SimpleCreate("req-1"));
    ASSERT_THAT(created, IsOk());
    UpdateDossierWrite update;
    update.dossier = *created;
    update.dossier.set_status(onestop::v1::DOSSIER_STATUS_PROCESSING);
    update.expected_etag = 1;
    update.entry.set_action(onestop::v1::ACTION_KIND_HAND_OVER);
    absl::StatusOr<Dossier> result = (*store)->Update(update);
    ASSERT_THAT(result, IsOk());
    updated = *result;
  }
  absl::StatusOr<std::unique_ptr<SqliteDossierStore>> store = Open();
  ASSERT_THAT(store, IsOk());
  absl::StatusOr<Dossier> got = (*store)->Get("H12.23-250106-0001");
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(got->SerializeAsString(), updated.SerializeAsString());
  EXPECT_EQ(got->applicant().full_name(), "Nguyễn Thị Hằng");
  EXPECT_THAT(got->history(), SizeIs(2));
  EXPECT_THAT((*store)->LastRevision(), IsOkAndHolds(2));
  EXPECT_THAT((*store)->ReadEvents(0, 10), IsOkAndHolds(SizeIs(2)));
  EXPECT_THAT((*store)->FindRequest("req-1"), IsOkAndHolds(::testing::Optional(::testing::_)));
  EXPECT_THAT((*store)->Create(SimpleCreate("req-1")), StatusIs(absl::StatusCode::kAlreadyExists));
  absl::StatusOr<Dossier> next = (*store)->Create(SimpleCreate());
  ASSERT_THAT(next, IsOk());
  EXPECT_EQ(next->code(), "H12.23-250106-0002");
}

TEST_F(SqliteDossierStoreTest, SecondOpenOfTheSameFileIsRefusedNamingTheOwnerPid) {
  absl::StatusOr<std::unique_ptr<SqliteDossierStore>> first = Open();
  ASSERT_THAT(first, IsOk());
  EXPECT_THAT(Open(), StatusIs(absl::StatusCode::kFailedPrecondition,
                               AllOf(HasSubstr(path_), HasSubstr("in use by another onestopd"),
                                     HasSubstr(absl::StrCat("(pid ", getpid(), ")")))));
  // The refused open changed nothing: the first store still works.
  EXPECT_THAT((*first)->Create(SimpleCreate()), IsOk());
  first->reset();  // releases the lock
  absl::StatusOr<std::unique_ptr<SqliteDossierStore>> again = Open();
  ASSERT_THAT(again, IsOk());
  EXPECT_THAT((*again)->LastRevision(), IsOkAndHolds(1));
}

TEST_F(SqliteDossierStoreTest, MemoryDatabasesTakeNoLock) {
  absl::StatusOr<std::unique_ptr<SqliteDossierStore>> a =
      SqliteDossierStore::Open({.path = ":memory:"});
  absl::StatusOr<std::unique_ptr<SqliteDossierStore>> b =
      SqliteDossierStore::Open({.path = ":memory:"});
  EXPECT_THAT(a, IsOk());
  EXPECT_THAT(b, IsOk());
  EXPECT_FALSE(std::filesystem::exists(":memory:.lock"));
}

TEST_F(SqliteDossierStoreTest, CompactionSurvivesReopenAndRevisionsContinue) {
  {
    absl::StatusOr<std::unique_ptr<SqliteDossierStore>> store = Open();
    ASSERT_THAT(store, IsOk());
    for (int i = 0; i < 4; ++i) ASSERT_THAT((*store)->Create(SimpleCreate()), IsOk());
    ASSERT_THAT((*store)->CompactEvents(100), IsOkAndHolds(3));
  }
  absl::StatusOr<std::unique_ptr<SqliteDossierStore>> store = Open();
  ASSERT_THAT(store, IsOk());
  EXPECT_THAT((*store)->FirstRevision(), IsOkAndHolds(4));
  ASSERT_THAT((*store)->Create(SimpleCreate()), IsOk());
  EXPECT_THAT((*store)->LastRevision(), IsOkAndHolds(5));
}

TEST_F(SqliteDossierStoreTest, CompactionDeletesMoreThanOneChunk) {
  absl::StatusOr<std::unique_ptr<SqliteDossierStore>> store =
      SqliteDossierStore::Open({.path = ":memory:"});
  ASSERT_THAT(store, IsOk());
  const int64_t n = SqliteDossierStore::kCompactionChunk * 2 + 3;
  for (int64_t i = 0; i < n; ++i) ASSERT_THAT((*store)->Create(SimpleCreate()), IsOk());
  EXPECT_THAT((*store)->CompactEvents(n), IsOkAndHolds(n - 1));
  EXPECT_THAT((*store)->FirstRevision(), IsOkAndHolds(n));
}

TEST_F(SqliteDossierStoreTest, NewDatabaseCarriesSchemaVersionAndApplicationId) {
  {
    absl::StatusOr<std::unique_ptr<SqliteDossierStore>> store = Open();
    ASSERT_THAT(store, IsOk());
    absl::StatusOr<SqliteSettings> settings = (*store)->Settings();
    ASSERT_THAT(settings, IsOk());
    EXPECT_EQ(settings->schema_version, SqliteDossierStore::kSchemaVersion);
  }
  RawDb raw(path_);
  EXPECT_EQ(raw.Query("PRAGMA user_version"), absl::StrCat(SqliteDossierStore::kSchemaVersion));
  EXPECT_EQ(raw.Query("PRAGMA application_id"), absl::StrCat(SqliteDossierStore::kApplicationId));
  EXPECT_EQ(raw.Query("SELECT group_concat(name, ',') FROM (SELECT name FROM sqlite_master "
                      "WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name)"),
            "code_sequences,dossiers,events,history,report_counters,requests");
  EXPECT_EQ(raw.Query("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name LIKE "
                      "'dossiers_by_%'"),
            "6");
}

// The next step of a handover as the manager writes it.
UpdateDossierWrite HandOver(const Dossier& current) {
  UpdateDossierWrite update;
  update.dossier = current;
  update.dossier.set_status(onestop::v1::DOSSIER_STATUS_PROCESSING);
  update.dossier.set_holder_agency_code("H12.23.01");
  update.expected_etag = current.etag();
  update.entry.set_action(onestop::v1::ACTION_KIND_HAND_OVER);
  update.entry.set_to_status(onestop::v1::DOSSIER_STATUS_PROCESSING);
  return update;
}

TEST_F(SqliteDossierStoreTest, RecentlyUpdatedDossiersAnswerGetsAsTheDatabaseWould) {
  std::vector<Dossier> answered;
  {
    absl::StatusOr<std::unique_ptr<SqliteDossierStore>> store =
        SqliteDossierStore::Open({.path = path_, .recent_dossiers = 2});
    ASSERT_THAT(store, IsOk());
    std::vector<Dossier> updated;
    for (int i = 0; i < 4; ++i) {
      absl::StatusOr<Dossier> created = (*store)->Create(SimpleCreate());
      ASSERT_THAT(created, IsOk());
      if (i == 3) {
        updated.push_back(*created);  // created only: not kept
        break;
      }
      absl::StatusOr<Dossier> handed_over = (*store)->Update(HandOver(*created));
      ASSERT_THAT(handed_over, IsOk());
      EXPECT_EQ(handed_over->etag(), 2);
      updated.push_back(*handed_over);
    }
    // A stale write commits nothing and keeps nothing.
    UpdateDossierWrite stale = HandOver(updated[2]);
    stale.expected_etag = 1;
    EXPECT_THAT((*store)->Update(stale), StatusIs(absl::StatusCode::kAborted));

    // GetFromMemory answers exactly the kept ones, and its misses are not
    // counted (the Get that follows one counts it).
    const RecentDossierStats unlooked = (*store)->GetRecentDossierStats();
    EXPECT_EQ((*store)->GetFromMemory(updated[0].code()), std::nullopt);  // dropped
    EXPECT_EQ((*store)->GetFromMemory(updated[3].code()), std::nullopt);  // created only
    EXPECT_EQ((*store)->GetFromMemory("000.00.00.H15-000000-0000"), std::nullopt);
    for (int i : {1, 2}) {
      std::optional<Dossier> kept = (*store)->GetFromMemory(updated[i].code());
      ASSERT_TRUE(kept.has_value()) << i;
      EXPECT_THAT(*kept, EqualsProto(updated[i]));
    }
    EXPECT_EQ((*store)->GetRecentDossierStats().misses, unlooked.misses);
    EXPECT_EQ((*store)->GetRecentDossierStats().hits, unlooked.hits + 2);
    EXPECT_TRUE((*store)->QueuesAsyncWrites());

    const RecentDossierStats before = (*store)->GetRecentDossierStats();
    EXPECT_EQ(before.entries, 2);  // the second and third; the first was dropped
    for (const Dossier& d : updated) {
      absl::StatusOr<Dossier> got = (*store)->Get(d.code());
      ASSERT_THAT(got, IsOk());
      EXPECT_THAT(*got, EqualsProto(d));
      answered.push_back(*got);
    }
    const RecentDossierStats after = (*store)->GetRecentDossierStats();
    EXPECT_EQ(after.hits - before.hits, 2);      // the second and third
    EXPECT_EQ(after.misses - before.misses, 2);  // the first (dropped), the fourth (new)
    // A reader's copy is its own: changing it changes no later answer.
    answered[1].set_summary("đã sửa");
    EXPECT_THAT((*store)->Get(updated[1].code()), IsOkAndHolds(EqualsProto(updated[1])));
    answered[1] = updated[1];
  }
  // The same reads from the database alone, after a reopen.
  absl::StatusOr<std::unique_ptr<SqliteDossierStore>> store =
      SqliteDossierStore::Open({.path = path_, .recent_dossiers = 0});
  ASSERT_THAT(store, IsOk());
  for (const Dossier& d : answered) {
    EXPECT_THAT((*store)->Get(d.code()), IsOkAndHolds(EqualsProto(d)));
  }
  EXPECT_EQ((*store)->GetRecentDossierStats().hits, 0);
  EXPECT_THAT(SqliteDossierStore::Open({.path = ":memory:", .recent_dossiers = -1}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("recent_dossiers")));
}

// What an asynchronous write's answer saw when it ran.
struct AsyncAnswer {
  absl::StatusOr<Dossier> result = absl::UnknownError("not answered");
  std::thread::id thread;
  int64_t published = -1;           // the feed notifier's revision
  absl::StatusOr<Dossier> stored = absl::UnknownError("not read");  // Get, from the answer
};

TEST_F(SqliteDossierStoreTest, AsyncWritesAreAnsweredByTheWriterOnceCommittedAndPublished) {
  absl::StatusOr<std::unique_ptr<SqliteDossierStore>> sqlite = Open();
  ASSERT_THAT(sqlite, IsOk());
  FeedNotifier notifier(0);
  NotifyingDossierStore store(sqlite->get(), &notifier);
  auto write_async = [&](auto start) {
    AsyncAnswer answer;
    absl::Notification done;
    start([&](absl::StatusOr<Dossier> result) {
      answer.thread = std::this_thread::get_id();
      answer.published = notifier.revision();
      if (result.ok()) answer.stored = (*sqlite)->Get(result->code());
      answer.result = std::move(result);
      done.Notify();
    });
    done.WaitForNotification();
    return answer;
  };

  const AsyncAnswer created = write_async(
      [&](DossierStore::WriteDone done) { store.CreateAsync(SimpleCreate(), std::move(done)); });
  ASSERT_THAT(created.result, IsOk());
  EXPECT_NE(created.thread, std::this_thread::get_id());  // the writer answered
  EXPECT_EQ(created.published, 1);  // published before the answer
  EXPECT_THAT(created.stored, IsOkAndHolds(EqualsProto(*created.result)));  // committed

  const RecentDossierStats before = (*sqlite)->GetRecentDossierStats();
  const AsyncAnswer updated = write_async([&](DossierStore::WriteDone done) {
    store.UpdateAsync(HandOver(*created.result), std::move(done));
  });
  ASSERT_THAT(updated.result, IsOk());
  EXPECT_EQ(updated.result->etag(), 2);
  EXPECT_EQ(updated.published, 2);
  // Kept among the recently updated before the answer: its Get hit.
  EXPECT_THAT(updated.stored, IsOkAndHolds(EqualsProto(*updated.result)));
  EXPECT_EQ((*sqlite)->GetRecentDossierStats().hits - before.hits, 1);

  const AsyncAnswer stale = write_async([&](DossierStore::WriteDone done) {
    store.UpdateAsync(HandOver(*created.result), std::move(done));
  });
  EXPECT_THAT(stale.result, StatusIs(absl::StatusCode::kAborted));
  EXPECT_EQ(notifier.revision(), 2);  // a failed write publishes nothing

  // An invalid write is answered at once, on the calling thread.
  CreateDossierWrite no_prefix = SimpleCreate();
  no_prefix.code_prefix.clear();
  const AsyncAnswer invalid = write_async(
      [&](DossierStore::WriteDone done) { store.CreateAsync(no_prefix, std::move(done)); });
  EXPECT_THAT(invalid.result, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(invalid.thread, std::this_thread::get_id());
  UpdateDossierWrite unnamed_counter = HandOver(*updated.result);
  unnamed_counter.counter_deltas.push_back(CounterDelta{});  // no series name
  const AsyncAnswer invalid_update = write_async([&](DossierStore::WriteDone done) {
    store.UpdateAsync(unnamed_counter, std::move(done));
  });
  EXPECT_THAT(invalid_update.result, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(invalid_update.thread, std::this_thread::get_id());
  EXPECT_EQ(notifier.revision(), 2);
}

TEST_F(SqliteDossierStoreTest, ClosingAnswersEveryQueuedAsyncWriteAndKeepsIt) {
  constexpr int kWrites = 30;
  absl::Mutex mu;
  std::vector<std::string> codes;
  {
    absl::StatusOr<std::unique_ptr<SqliteDossierStore>> store = Open();
    ASSERT_THAT(store, IsOk());
    for (int i = 0; i < kWrites; ++i) {
      (*store)->CreateAsync(SimpleCreate(), [&](absl::StatusOr<Dossier> result) {
        absl::MutexLock lock(&mu);
        codes.push_back(result.ok() ? result->code() : result.status().ToString());
      });
    }
    // Closed at once: the destructor lets the writer answer everything
    // queued before it joins.
  }
  ASSERT_EQ(codes.size(), static_cast<size_t>(kWrites));
  absl::StatusOr<std::unique_ptr<SqliteDossierStore>> reopened = Open();
  ASSERT_THAT(reopened, IsOk());
  for (const std::string& code : codes) {
    EXPECT_THAT((*reopened)->Get(code), IsOk()) << code;
  }
}

// A body SQLite stores but protobuf cannot parse is INTERNAL, naming the
// row it came from (the name is built only on this path).
TEST_F(SqliteDossierStoreTest, UnparseableBodiesAreInternalAndNameTheRow) {
  std::string code;
  {
    absl::StatusOr<std::unique_ptr<SqliteDossierStore>> store = Open();
    ASSERT_THAT(store, IsOk());
    absl::StatusOr<Dossier> created = (*store)->Create(SimpleCreate());
    ASSERT_THAT(created, IsOk());
    code = created->code();
  }
  {
    RawDb raw(path_);
    ASSERT_THAT(raw.Exec("UPDATE history SET body = x'ff'"), IsOk());
  }
  {
    absl::StatusOr<std::unique_ptr<SqliteDossierStore>> store = Open();
    ASSERT_THAT(store, IsOk());
    EXPECT_THAT((*store)->Get(code),
                StatusIs(absl::StatusCode::kInternal,
                         HasSubstr(absl::StrCat("cannot parse history of dossier ", code))));
  }
  {
    RawDb raw(path_);
    ASSERT_THAT(raw.Exec("UPDATE dossiers SET body = x'ff'"), IsOk());
  }
  absl::StatusOr<std::unique_ptr<SqliteDossierStore>> store = Open();
  ASSERT_THAT(store, IsOk());
  EXPECT_THAT((*store)->Get(code), StatusIs(absl::StatusCode::kInternal,
                                            HasSubstr(absl::StrCat("cannot parse dossier ", code))));
}

TEST_F(SqliteDossierStoreTest, ReopeningDoesNotReapplyMigrations) {
  ASSERT_THAT(Open(), IsOk());
  ASSERT_THAT(Open(), IsOk());  // CREATE TABLE again would fail
  RawDb raw(path_);
  EXPECT_EQ(raw.Query("PRAGMA user_version"), absl::StrCat(SqliteDossierStore::kSchemaVersion));
}

TEST_F(SqliteDossierStoreTest, VersionOneDatabaseMigratesToReportCountersKeepingDossiers) {
  {
    absl::StatusOr<std::unique_ptr<SqliteDossierStore>> store = Open();
    ASSERT_THAT(store, IsOk());
    CreateDossierWrite write;
    write.dossier.set_receiving_agency_code("H12.23");
    write.dossier.set_status(onestop::v1::DOSSIER_STATUS_RECEIVED);
    write.code_prefix = "H12.23-200106-";
    ASSERT_THAT((*store)->Create(write), IsOk());
  }
  {
    // Turn the file back into a version-1 database.
    RawDb raw(path_);
    ASSERT_THAT(raw.Exec("DROP TABLE report_counters; DROP INDEX dossiers_by_status_due; "
                         "PRAGMA user_version = 1"),
                IsOk());
  }
  absl::StatusOr<std::unique_ptr<SqliteDossierStore>> store = Open();
  ASSERT_THAT(store, IsOk());
  EXPECT_THAT((*store)->Get("H12.23-200106-0001"), IsOk());
  CounterQuery query;
  query.series_prefixes = {"t|"};
  query.ranges = {{kEarliestCounterDay, kLatestCounterDay}};
  EXPECT_THAT((*store)->SumCounters(query), IsOkAndHolds(SizeIs(0)));
  RawDb raw(path_);
  EXPECT_EQ(raw.Query("PRAGMA user_version"), "3");
}

TEST_F(SqliteDossierStoreTest, VersionTwoDatabaseGainsTheCountIndexKeepingDossiers) {
  {
    absl::StatusOr<std::unique_ptr<SqliteDossierStore>> store = Open();
    ASSERT_THAT(store, IsOk());
    CreateDossierWrite write;
    write.dossier.set_receiving_agency_code("H12.23");
    write.dossier.set_status(onestop::v1::DOSSIER_STATUS_PROCESSING);
    write.dossier.mutable_due_time()->set_seconds(100);
    write.code_prefix = "H12.23-200106-";
    ASSERT_THAT((*store)->Create(write), IsOk());
  }
  {
    // Turn the file back into a version-2 database.
    RawDb raw(path_);
    ASSERT_THAT(raw.Exec("DROP INDEX dossiers_by_status_due; PRAGMA user_version = 2"), IsOk());
    ASSERT_EQ(raw.Query("SELECT count(*) FROM sqlite_master WHERE name = "
                        "'dossiers_by_status_due'"),
              "0");
  }
  absl::StatusOr<std::unique_ptr<SqliteDossierStore>> store = Open();
  ASSERT_THAT(store, IsOk());
  CountQuery query;
  query.due_before = absl::FromUnixSeconds(101);
  query.due_soon_before = query.due_before;
  absl::StatusOr<DossierCounts> counts = (*store)->CountDossiers(query);
  ASSERT_THAT(counts, IsOk());
  EXPECT_THAT(counts->by_agency, ::testing::ElementsAre(AgencyDueCounts{"H12.23", 1, 0}));
  RawDb raw(path_);
  EXPECT_EQ(raw.Query("PRAGMA user_version"), "3");
  EXPECT_EQ(
      raw.Query("SELECT count(*) FROM sqlite_master WHERE name = 'dossiers_by_status_due'"), "1");
}

// The windows of CountDossiers read the covering index alone: no table row
// per open dossier (the statement is the one in sqlite_dossier_store.cc).
TEST_F(SqliteDossierStoreTest, CountDossiersWindowsUseTheCoveringIndex) {
  ASSERT_THAT(Open(), IsOk());
  RawDb raw(path_);
  EXPECT_THAT(raw.Plan("SELECT COALESCE(receiving_agency, ''), SUM(due_time_us < ?1), "
                       "SUM(due_time_us >= ?1) FROM dossiers WHERE status IN (2, 4, 5, 6) AND "
                       "due_time_us < ?2 GROUP BY 1 ORDER BY 1"),
              HasSubstr("USING COVERING INDEX dossiers_by_status_due"));
  EXPECT_THAT(raw.Plan("SELECT status, COUNT(*) FROM dossiers GROUP BY status"),
              HasSubstr("COVERING INDEX"));
}

TEST_F(SqliteDossierStoreTest, NewerSchemaVersionIsRefused) {
  ASSERT_THAT(Open(), IsOk());
  {
    RawDb raw(path_);
    ASSERT_THAT(raw.Exec("PRAGMA user_version = 99"), IsOk());
  }
  EXPECT_THAT(Open(), StatusIs(absl::StatusCode::kFailedPrecondition,
                               AllOf(HasSubstr(path_), HasSubstr("schema version 99"),
                                     HasSubstr("newer"), HasSubstr("upgrade onestopd"))));
  RawDb raw(path_);
  EXPECT_EQ(raw.Query("PRAGMA user_version"), "99");  // left untouched
}

TEST_F(SqliteDossierStoreTest, DatabaseOfAnotherApplicationIsRefused) {
  {
    RawDb raw(path_);
    ASSERT_THAT(raw.Exec("PRAGMA application_id = 1234; CREATE TABLE t (x)"), IsOk());
  }
  EXPECT_THAT(Open(), StatusIs(absl::StatusCode::kFailedPrecondition,
                               AllOf(HasSubstr(path_), HasSubstr("another application"))));
}

TEST_F(SqliteDossierStoreTest, UnmarkedDatabaseWithTablesIsRefused) {
  {
    RawDb raw(path_);
    ASSERT_THAT(raw.Exec("CREATE TABLE customers (id INTEGER PRIMARY KEY)"), IsOk());
  }
  EXPECT_THAT(Open(), StatusIs(absl::StatusCode::kFailedPrecondition,
                               AllOf(HasSubstr(path_), HasSubstr("not an onestop database"))));
  RawDb raw(path_);
  EXPECT_EQ(raw.Query("SELECT count(*) FROM sqlite_master"), "1");  // nothing added
}

TEST_F(SqliteDossierStoreTest, NonDatabaseFileIsRefusedNamingPathAndSqliteError) {
  WriteFile(std::string(8192, 'x'));
  EXPECT_THAT(Open(), StatusIs(absl::StatusCode::kFailedPrecondition,
                               AllOf(HasSubstr(path_), HasSubstr("file is not a database"))));
}

TEST_F(SqliteDossierStoreTest, CorruptDatabaseIsRefused) {
  {
    absl::StatusOr<std::unique_ptr<SqliteDossierStore>> store = Open();
    ASSERT_THAT(store, IsOk());
    for (int i = 0; i < 20; ++i) ASSERT_THAT((*store)->Create(SimpleCreate()), IsOk());
  }
  // Keep page 1 (header and schema), overwrite every other page.
  const auto size = std::filesystem::file_size(path_);
  ASSERT_GT(size, 4096u);
  {
    std::fstream file(path_, std::ios::binary | std::ios::in | std::ios::out);
    file.seekp(4096);
    const std::string garbage(size - 4096, '\xA5');
    file.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
    ASSERT_TRUE(file.good());
  }
  EXPECT_THAT(Open(), StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr(path_)));
}

TEST_F(SqliteDossierStoreTest, MissingDirectoryIsRefusedNamingPath) {
  const std::string path = dir_ + "/no/such/dir/onestop.db";
  EXPECT_THAT(SqliteDossierStore::Open({.path = path}),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr(path)));
}

TEST_F(SqliteDossierStoreTest, EmptyPathIsInvalid) {
  EXPECT_THAT(SqliteDossierStore::Open({}), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(SqliteDossierStoreTest, FullDurabilityPragmas) {
  absl::StatusOr<std::unique_ptr<SqliteDossierStore>> store =
      SqliteDossierStore::Open({.path = path_, .busy_timeout = absl::Milliseconds(250)});
  ASSERT_THAT(store, IsOk());
  absl::StatusOr<SqliteSettings> settings = (*store)->Settings();
  ASSERT_THAT(settings, IsOk());
  EXPECT_EQ(settings->journal_mode, "wal");
  EXPECT_EQ(settings->synchronous, 2);  // FULL
  EXPECT_TRUE(settings->foreign_keys);
  EXPECT_EQ(settings->busy_timeout_ms, 250);
  EXPECT_EQ(settings->temp_store, 2);  // MEMORY: savepoint journals never go to a file
  EXPECT_FALSE(settings->memory_statistics);  // no global mutex per allocation
  RawDb raw(path_);
  EXPECT_EQ(raw.Query("PRAGMA journal_mode"), "wal");  // persistent in the file
}

TEST_F(SqliteDossierStoreTest, NormalDurabilityPragmas) {
  absl::StatusOr<std::unique_ptr<SqliteDossierStore>> store =
      SqliteDossierStore::Open({.path = path_, .durability = Durability::kNormal});
  ASSERT_THAT(store, IsOk());
  absl::StatusOr<SqliteSettings> settings = (*store)->Settings();
  ASSERT_THAT(settings, IsOk());
  EXPECT_EQ(settings->synchronous, 1);  // NORMAL
  EXPECT_EQ(settings->busy_timeout_ms, 5000);
}

TEST_F(SqliteDossierStoreTest, MemoryDatabaseUsesMemoryJournal) {
  absl::StatusOr<std::unique_ptr<SqliteDossierStore>> store =
      SqliteDossierStore::Open({.path = ":memory:"});
  ASSERT_THAT(store, IsOk());
  absl::StatusOr<SqliteSettings> settings = (*store)->Settings();
  ASSERT_THAT(settings, IsOk());
  EXPECT_EQ(settings->journal_mode, "memory");
  EXPECT_TRUE(settings->foreign_keys);
  EXPECT_EQ(settings->schema_version, SqliteDossierStore::kSchemaVersion);
}

TEST_F(SqliteDossierStoreTest, WriteLockHeldElsewhereIsUnavailableAndChangesNothing) {
  absl::StatusOr<std::unique_ptr<SqliteDossierStore>> store =
      SqliteDossierStore::Open({.path = path_, .busy_timeout = absl::ZeroDuration()});
  ASSERT_THAT(store, IsOk());
  RawDb other(path_);
  ASSERT_THAT(other.Exec("BEGIN IMMEDIATE"), IsOk());
  EXPECT_THAT((*store)->Create(SimpleCreate("req-busy")),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("busy")));
  ASSERT_THAT(other.Exec("COMMIT"), IsOk());

  EXPECT_THAT((*store)->FindRequest("req-busy"), IsOkAndHolds(::testing::Eq(std::nullopt)));
  absl::StatusOr<Dossier> created = (*store)->Create(SimpleCreate("req-busy"));
  ASSERT_THAT(created, IsOk());
  EXPECT_EQ(created->code(), "H12.23-250106-0001");
}

TEST_F(SqliteDossierStoreTest, FailureMidTransactionRollsBackEverythingWithScrubbedMessage) {
  absl::StatusOr<std::unique_ptr<SqliteDossierStore>> store = Open();
  ASSERT_THAT(store, IsOk());
  RawDb other(path_);
  // Make the last insert of a Create (the event) fail.
  ASSERT_THAT(other.Exec("CREATE TRIGGER fail_events BEFORE INSERT ON events "
                         "BEGIN SELECT RAISE(ABORT, 'secret-trigger-text'); END"),
              IsOk());
  EXPECT_THAT((*store)->Create(SimpleCreate("req-1")),
              StatusIs(absl::StatusCode::kInternal,
                       AllOf(HasSubstr("event"), Not(HasSubstr("secret-trigger-text")),
                             Not(HasSubstr("INSERT")))));
  EXPECT_EQ(other.Query("SELECT count(*) FROM dossiers"), "0");
  EXPECT_EQ(other.Query("SELECT count(*) FROM history"), "0");
  EXPECT_EQ(other.Query("SELECT count(*) FROM code_sequences"), "0");
  EXPECT_EQ(other.Query("SELECT count(*) FROM requests"), "0");

  ASSERT_THAT(other.Exec("DROP TRIGGER fail_events"), IsOk());
  absl::StatusOr<Dossier> created = (*store)->Create(SimpleCreate("req-1"));
  ASSERT_THAT(created, IsOk());
  EXPECT_EQ(created->code(), "H12.23-250106-0001");
  EXPECT_THAT((*store)->LastRevision(), IsOkAndHolds(1));
}

TEST_F(SqliteDossierStoreTest, FilterColumnsMirrorTheDossier) {
  absl::StatusOr<std::unique_ptr<SqliteDossierStore>> store = Open();
  ASSERT_THAT(store, IsOk());
  CreateDossierWrite write = SimpleCreate();
  write.dossier.set_procedure_code("1.001193");
  write.dossier.mutable_due_time()->set_seconds(1736500000);
  write.dossier.mutable_due_time()->set_nanos(999999999);
  ASSERT_THAT((*store)->Create(write), IsOk());
  RawDb raw(path_);
  EXPECT_EQ(raw.Query("SELECT receiving_agency || '|' || holder_agency || '|' || procedure_code || "
                      "'|' || status || '|' || due_time_us || '|' || etag FROM dossiers"),
            "H12.23|H12.23|1.001193|2|1736500000999999|1");
  EXPECT_EQ(raw.Query("SELECT submitted_time_us IS NULL FROM dossiers"), "1");
}

}  // namespace
}  // namespace onestop::storage
