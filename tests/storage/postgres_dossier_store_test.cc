// PostgresDossierStore: the conformance suite on a fresh PostgreSQL
// database per test, then what only several daemons on one database can
// break — two store instances on one database stand in for two onestopd
// processes — and the LISTEN/NOTIFY feed listener.
#include "storage/postgres/postgres_dossier_store.h"

#include <atomic>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/feed_notifier.h"
#include "storage/postgres/pg_feed_listener.h"
#include "storage/postgres/pg_util.h"
#include "tests/storage/dossier_store_conformance.h"
#include "tests/testing/pg_test_cluster.h"
#include "tests/testing/status_matchers.h"

namespace onestop::storage {
namespace {

using ::onestop::testing::IsOk;
using ::onestop::testing::IsOkAndHolds;
using ::onestop::testing::StatusIs;
using ::onestop::v1::Dossier;
using ::onestop::v1::DossierEvent;
using ::testing::AllOf;
using testing::DossierStoreConformanceTest;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::SizeIs;
using testing::StoreFactory;
using testing::StoreFactoryName;

absl::StatusOr<std::unique_ptr<DossierStore>> OpenFreshStore() {
  absl::StatusOr<std::string> uri = ::onestop::testing::NewPgDatabase();
  if (!uri.ok()) return uri.status();
  absl::StatusOr<std::unique_ptr<PostgresDossierStore>> store =
      PostgresDossierStore::Open({.uri = *uri, .pool_size = 8});
  if (!store.ok()) return store.status();
  return std::unique_ptr<DossierStore>(std::move(*store));
}

INSTANTIATE_TEST_SUITE_P(Postgres, DossierStoreConformanceTest,
                         ::testing::Values(StoreFactory{"Postgres", OpenFreshStore, ""}),
                         StoreFactoryName());

// ---------------------------------------------------------------------------

constexpr char kPrefix[] = "H12.23-250106-";
constexpr int kThreads = 8;

std::string Code(int sequence) { return absl::StrFormat("%s%04d", kPrefix, sequence); }

CounterDelta Delta(const std::string& series, absl::CivilDay day, int slot, int64_t value) {
  CounterDelta delta;
  delta.series = series;
  delta.day = day;
  delta.values[slot] = value;
  return delta;
}

CreateDossierWrite NewDossier(const std::string& request_id = "") {
  CreateDossierWrite write;
  write.dossier.set_receiving_agency_code("H12.23");
  write.dossier.set_holder_agency_code("H12.23");
  write.dossier.set_status(onestop::v1::DOSSIER_STATUS_RECEIVED);
  write.dossier.mutable_applicant()->set_full_name("Nguyễn Thị Hằng");
  write.entry.set_action(onestop::v1::ACTION_KIND_SUBMIT);
  write.entry.set_to_status(onestop::v1::DOSSIER_STATUS_RECEIVED);
  write.entry.mutable_time()->set_seconds(1736125200);
  write.code_prefix = kPrefix;
  if (!request_id.empty()) write.idempotency = IdempotencyKey{request_id, "fp"};
  return write;
}

// The next write of `current`: a hand-over to `holder` noting `note`.
UpdateDossierWrite HandOver(const Dossier& current, const std::string& holder,
                            const std::string& note = "") {
  UpdateDossierWrite write;
  write.dossier = current;
  write.dossier.clear_history();
  write.dossier.set_status(onestop::v1::DOSSIER_STATUS_PROCESSING);
  write.dossier.set_holder_agency_code(holder);
  write.expected_etag = current.etag();
  write.entry.set_action(onestop::v1::ACTION_KIND_HAND_OVER);
  write.entry.set_to_status(onestop::v1::DOSSIER_STATUS_PROCESSING);
  write.entry.set_holder_agency_code(holder);
  write.entry.set_note(note);
  return write;
}

class PostgresDossierStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::string> uri = ::onestop::testing::NewPgDatabase();
    ASSERT_THAT(uri, IsOk());
    uri_ = *uri;
  }

  // A store instance on the test's database: one "daemon".
  std::unique_ptr<PostgresDossierStore> OpenDaemon() {
    absl::StatusOr<std::unique_ptr<PostgresDossierStore>> store =
        PostgresDossierStore::Open({.uri = uri_, .pool_size = kThreads});
    EXPECT_THAT(store, IsOk());
    return store.ok() ? *std::move(store) : nullptr;
  }

  // A raw connection for checks behind the store's back.
  std::unique_ptr<pg::Connection> Raw() {
    absl::StatusOr<std::unique_ptr<pg::Connection>> connection = pg::Connection::Open(uri_);
    EXPECT_THAT(connection, IsOk());
    return connection.ok() ? *std::move(connection) : nullptr;
  }

  int64_t QueryInt(const std::string& sql) {
    std::unique_ptr<pg::Connection> raw = Raw();
    if (raw == nullptr) return -1;
    absl::StatusOr<int64_t> value = raw->QueryInt64(sql, {}, "test query");
    EXPECT_THAT(value, IsOk()) << sql;
    return value.ok() ? *value : -1;
  }

  std::string uri_;
};

// (1) Two daemons issuing codes for one prefix at once: unique, gap-free.
TEST_F(PostgresDossierStoreTest, TwoDaemonsIssueUniqueGaplessCodes) {
  std::unique_ptr<PostgresDossierStore> a = OpenDaemon();
  std::unique_ptr<PostgresDossierStore> b = OpenDaemon();
  ASSERT_TRUE(a && b);
  constexpr int kPerThread = 40;
  std::vector<std::vector<absl::StatusOr<Dossier>>> results(kThreads);
  {
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      DossierStore* store = t % 2 == 0 ? a.get() : b.get();
      threads.emplace_back([store, &out = results[t]] {
        for (int i = 0; i < kPerThread; ++i) out.push_back(store->Create(NewDossier()));
      });
    }
    for (std::thread& thread : threads) thread.join();
  }
  std::set<std::string> codes;
  for (const auto& per_thread : results) {
    for (const absl::StatusOr<Dossier>& created : per_thread) {
      ASSERT_THAT(created, IsOk());
      EXPECT_TRUE(codes.insert(created->code()).second) << "duplicate " << created->code();
    }
  }
  std::set<std::string> expected;
  for (int i = 1; i <= kThreads * kPerThread; ++i) expected.insert(Code(i));
  EXPECT_EQ(codes, expected);
  EXPECT_THAT(a->LastRevision(), IsOkAndHolds(kThreads * kPerThread));
  EXPECT_THAT(b->LastRevision(), IsOkAndHolds(kThreads * kPerThread));
}

// (2) Concurrent actions on one dossier from two daemons: exactly one of
// the same-etag updates wins; retried read-modify-writes lose nothing.
TEST_F(PostgresDossierStoreTest, TwoDaemonsUpdatingOneDossierExactlyOneWinsNoneIsLost) {
  std::unique_ptr<PostgresDossierStore> a = OpenDaemon();
  std::unique_ptr<PostgresDossierStore> b = OpenDaemon();
  ASSERT_TRUE(a && b);
  absl::StatusOr<Dossier> created = a->Create(NewDossier());
  ASSERT_THAT(created, IsOk());

  std::vector<absl::StatusOr<Dossier>> results(kThreads, absl::UnknownError("not run"));
  {
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      DossierStore* store = t % 2 == 0 ? a.get() : b.get();
      threads.emplace_back([store, t, &created, &out = results[t]] {
        out = store->Update(HandOver(*created, absl::StrFormat("H12.23.%02d", t)));
      });
    }
    for (std::thread& thread : threads) thread.join();
  }
  int winners = 0;
  std::string winning_holder;
  for (const absl::StatusOr<Dossier>& result : results) {
    if (result.ok()) {
      ++winners;
      winning_holder = result->holder_agency_code();
    } else {
      EXPECT_THAT(result, StatusIs(absl::StatusCode::kAborted, HasSubstr("changed by someone")));
    }
  }
  EXPECT_EQ(winners, 1);
  absl::StatusOr<Dossier> stored = b->Get(created->code());
  ASSERT_THAT(stored, IsOk());
  EXPECT_EQ(stored->etag(), 2);
  EXPECT_THAT(stored->history(), SizeIs(2));
  EXPECT_EQ(stored->holder_agency_code(), winning_holder);

  // Every thread applies kRounds changes, re-reading after each ABORTED:
  // every acknowledged change is in the history, once.
  constexpr int kRounds = 5;
  std::atomic<int> failures{0};
  {
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      DossierStore* store = t % 2 == 0 ? a.get() : b.get();
      threads.emplace_back([store, t, code = created->code(), &failures] {
        for (int round = 0; round < kRounds; ++round) {
          while (true) {
            absl::StatusOr<Dossier> current = store->Get(code);
            if (!current.ok()) {
              ++failures;
              return;
            }
            absl::StatusOr<Dossier> updated =
                store->Update(HandOver(*current, "H12", absl::StrCat("t", t, "-r", round)));
            if (updated.ok()) break;
            if (updated.status().code() != absl::StatusCode::kAborted) {
              ++failures;
              return;
            }
          }
        }
      });
    }
    for (std::thread& thread : threads) thread.join();
  }
  EXPECT_EQ(failures.load(), 0);
  stored = a->Get(created->code());
  ASSERT_THAT(stored, IsOk());
  const int expected_entries = 2 + kThreads * kRounds;
  EXPECT_EQ(stored->etag(), expected_entries);
  ASSERT_THAT(stored->history(), SizeIs(expected_entries));
  std::set<std::string> notes;
  for (int i = 0; i < stored->history_size(); ++i) {
    EXPECT_EQ(stored->history(i).sequence(), i + 1);
    if (i >= 2) notes.insert(stored->history(i).note());
  }
  EXPECT_EQ(notes.size(), static_cast<size_t>(kThreads * kRounds));
  EXPECT_THAT(a->LastRevision(), IsOkAndHolds(expected_entries));
}

// (3) The outbox ordering trap: while two daemons write, a follower on a
// third connection pool reading "after the last revision seen" must never
// find a gap, and ends having seen every revision exactly once. It sleeps
// on a FeedNotifier fed by a PgFeedListener, never polls.
TEST_F(PostgresDossierStoreTest, FeedFollowerNeverSeesAGapWhileTwoDaemonsWrite) {
  std::unique_ptr<PostgresDossierStore> a = OpenDaemon();
  std::unique_ptr<PostgresDossierStore> b = OpenDaemon();
  std::unique_ptr<PostgresDossierStore> reader = OpenDaemon();
  ASSERT_TRUE(a && b && reader);
  FeedNotifier notifier;
  absl::StatusOr<std::unique_ptr<PgFeedListener>> listener = PgFeedListener::Start(
      {.uri = uri_}, [&notifier](int64_t revision) { notifier.Publish(revision); });
  ASSERT_THAT(listener, IsOk());

  constexpr int kPerThread = 30;
  constexpr int64_t kTotal = kThreads * kPerThread * 2;  // a create and an update each
  std::atomic<bool> writers_failed{false};
  std::vector<int64_t> seen;
  std::vector<std::string> gaps;
  std::thread follower([&] {
    int64_t last_seen = 0;
    const absl::Time give_up = absl::Now() + absl::Seconds(60);
    while (last_seen < kTotal && !writers_failed.load() && absl::Now() < give_up) {
      absl::StatusOr<std::vector<DossierEvent>> events = reader->ReadEvents(last_seen, 64);
      if (!events.ok()) {
        gaps.push_back(std::string(events.status().message()));
        return;
      }
      for (const DossierEvent& event : *events) {
        if (event.revision() != last_seen + 1) {
          gaps.push_back(absl::StrCat("after ", last_seen, " came ", event.revision()));
        }
        last_seen = event.revision();
        seen.push_back(last_seen);
      }
      if (events->empty()) {
        notifier.Await(
            last_seen + 1, [&] { return writers_failed.load(); }, absl::Now() + absl::Seconds(1));
      }
    }
  });
  {
    std::vector<std::thread> writers;
    for (int t = 0; t < kThreads; ++t) {
      DossierStore* store = t % 2 == 0 ? a.get() : b.get();
      writers.emplace_back([store, &writers_failed, &notifier] {
        for (int i = 0; i < kPerThread; ++i) {
          absl::StatusOr<Dossier> created = store->Create(NewDossier());
          absl::StatusOr<Dossier> updated =
              created.ok() ? store->Update(HandOver(*created, "H12")) : created;
          if (!updated.ok()) {
            writers_failed.store(true);
            notifier.Poke();
            return;
          }
        }
      });
    }
    for (std::thread& writer : writers) writer.join();
  }
  follower.join();
  ASSERT_FALSE(writers_failed.load());
  EXPECT_THAT(gaps, ::testing::IsEmpty());
  ASSERT_THAT(seen, SizeIs(kTotal));
  for (int64_t i = 0; i < kTotal; ++i) ASSERT_EQ(seen[i], i + 1);
  // Every commit is notified (the last NOTIFY may still be on its way).
  EXPECT_EQ(notifier.Await(
                kTotal, [] { return false; }, absl::Now() + absl::Seconds(1)),
            kTotal);
}

// (4) Counters stay exact under concurrent writers, spread over shards.
TEST_F(PostgresDossierStoreTest, CountersAreExactUnderConcurrentWritersOfTwoDaemons) {
  std::unique_ptr<PostgresDossierStore> a = OpenDaemon();
  std::unique_ptr<PostgresDossierStore> b = OpenDaemon();
  ASSERT_TRUE(a && b);
  const absl::CivilDay day(2025, 1, 6);
  constexpr int kPerThread = 25;
  auto deltas_of = [day](int t, int i) {
    // Two series, three days (two months), and a repeated row per write.
    return std::vector<CounterDelta>{Delta("t|A", day, 0, 1), Delta("t|A", day, 0, 1),
                                     Delta("t|A", day + (i % 3) * 13, 1 + t % 4, i + 1),
                                     Delta("t|B", day + 30, 23, -(t + 1))};
  };
  std::atomic<int> failures{0};
  {
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      DossierStore* store = t % 2 == 0 ? a.get() : b.get();
      threads.emplace_back([store, t, &deltas_of, &failures] {
        for (int i = 0; i < kPerThread; ++i) {
          CreateDossierWrite write = NewDossier();
          write.counter_deltas = deltas_of(t, i);
          if (!store->Create(write).ok()) ++failures;
        }
      });
    }
    for (std::thread& thread : threads) thread.join();
  }
  ASSERT_EQ(failures.load(), 0);

  const std::vector<DayRange> ranges = {{kEarliestCounterDay, kLatestCounterDay},
                                        {day, day},
                                        {absl::CivilDay(2025, 1, 1), absl::CivilDay(2025, 1, 31)},
                                        {absl::CivilDay(2025, 2, 1), absl::CivilDay(2025, 2, 28)}};
  std::map<std::string, std::vector<CounterValues>> expected;
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread; ++i) {
      for (const CounterDelta& delta : deltas_of(t, i)) {
        std::vector<CounterValues>& sums = expected[delta.series];
        sums.resize(ranges.size());
        for (size_t r = 0; r < ranges.size(); ++r) {
          if (delta.day < ranges[r].first || delta.day > ranges[r].last) continue;
          for (int s = 0; s < kCounterSlots; ++s) sums[r][s] += delta.values[s];
        }
      }
    }
  }
  CounterQuery query;
  query.series_prefixes = {"t|"};
  query.ranges = ranges;
  for (DossierStore* store :
       {static_cast<DossierStore*>(a.get()), static_cast<DossierStore*>(b.get())}) {
    absl::StatusOr<std::vector<CounterSums>> sums = store->SumCounters(query);
    ASSERT_THAT(sums, IsOk());
    ASSERT_THAT(*sums, SizeIs(2));
    EXPECT_EQ((*sums)[0].series, "t|A");
    EXPECT_EQ((*sums)[0].sums, expected["t|A"]);
    EXPECT_EQ((*sums)[1].series, "t|B");
    EXPECT_EQ((*sums)[1].sums, expected["t|B"]);
  }
  // No hot row: the writers spread one day's row over several shards.
  EXPECT_GT(QueryInt("SELECT count(DISTINCT shard) FROM report_counters WHERE series = 't|A' "
                     "AND grain = 0"),
            1);
}

// (5) Idempotency records are shared: a retry on the other daemon finds
// the original result.
TEST_F(PostgresDossierStoreTest, RequestRecordedThroughOneDaemonIsKnownToTheOther) {
  std::unique_ptr<PostgresDossierStore> a = OpenDaemon();
  std::unique_ptr<PostgresDossierStore> b = OpenDaemon();
  ASSERT_TRUE(a && b);
  absl::StatusOr<Dossier> created = a->Create(NewDossier("req-create"));
  ASSERT_THAT(created, IsOk());
  absl::StatusOr<std::optional<RecordedRequest>> found = b->FindRequest("req-create");
  ASSERT_THAT(found, IsOkAndHolds(::testing::Optional(::testing::_)));
  EXPECT_EQ((*found)->fingerprint, "fp");
  EXPECT_EQ((*found)->response.SerializeAsString(), created->SerializeAsString());
  EXPECT_THAT(b->Create(NewDossier("req-create")),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("req-create")));

  UpdateDossierWrite update = HandOver(*created, "H12");
  update.idempotency = IdempotencyKey{"req-update", "fp-u"};
  absl::StatusOr<Dossier> updated = b->Update(update);
  ASSERT_THAT(updated, IsOk());
  // The retry carries the etag it read first: the request id wins over
  // the stale etag, as in SQLite.
  EXPECT_THAT(a->Update(update),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("req-update")));
  found = a->FindRequest("req-update");
  ASSERT_THAT(found, IsOkAndHolds(::testing::Optional(::testing::_)));
  EXPECT_EQ((*found)->response.SerializeAsString(), updated->SerializeAsString());
  EXPECT_THAT(a->LastRevision(), IsOkAndHolds(2));
  EXPECT_EQ(QueryInt("SELECT last FROM code_sequences"), 1);  // the retry took no code
}

// A retry that reaches the other daemon while its original is still
// committing waits for the dossier row; once the original commits, the
// retry must be a replay (ALREADY_EXISTS → the recorded answer), not a
// stale-etag ABORTED. The "original" here is a raw transaction holding the
// row lock, so the interleaving is exact.
TEST_F(PostgresDossierStoreTest, RetryThatWaitedForItsOriginalIsAReplayNotAConflict) {
  std::unique_ptr<PostgresDossierStore> store = OpenDaemon();
  ASSERT_TRUE(store);
  absl::StatusOr<Dossier> created = store->Create(NewDossier());
  ASSERT_THAT(created, IsOk());
  UpdateDossierWrite retry = HandOver(*created, "H12");
  retry.idempotency = IdempotencyKey{"req-raced", "fp-r"};

  std::unique_ptr<pg::Connection> original = Raw();
  ASSERT_TRUE(original);
  ASSERT_THAT(original->ExecScript("BEGIN", "begin"), IsOk());
  ASSERT_THAT(original
                  ->Exec("SELECT etag FROM dossiers WHERE code = $1::text FOR UPDATE",
                         {pg::Param::Text(created->code())}, "lock")
                  .status(),
              IsOk());
  absl::StatusOr<Dossier> answer;
  std::thread retrying([&] { answer = store->Update(retry); });
  // Proceed once the retry is waiting for the row lock.
  bool waiting = false;
  for (int i = 0; i < 500 && !waiting; ++i) {
    absl::StatusOr<int64_t> lock_waiters = original->QueryInt64(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
        "AND datname = current_database()",
        {}, "lock waiters");
    ASSERT_THAT(lock_waiters, IsOk());
    waiting = *lock_waiters > 0;
    if (!waiting) absl::SleepFor(absl::Milliseconds(10));
  }
  ASSERT_TRUE(waiting) << "the retry never waited for the dossier row";
  ASSERT_THAT(original
                  ->Exec("UPDATE dossiers SET etag = etag + 1 WHERE code = $1::text",
                         {pg::Param::Text(created->code())}, "original update")
                  .status(),
              IsOk());
  ASSERT_THAT(original
                  ->Exec("INSERT INTO requests (request_id, fingerprint, dossier_code, response) "
                         "VALUES ($1::text, $2::bytea, $3::text, $4::bytea)",
                         {pg::Param::Text("req-raced"), pg::Param::Bytes("fp-r"),
                          pg::Param::Text(created->code()),
                          pg::Param::Bytes(created->SerializeAsString())},
                         "original request record")
                  .status(),
              IsOk());
  ASSERT_THAT(original->ExecScript("COMMIT", "commit"), IsOk());
  retrying.join();
  EXPECT_THAT(answer, StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("req-raced")));
}

// The same request id submitted through both daemons at once: one wins.
TEST_F(PostgresDossierStoreTest, ConcurrentRetriesOfOneRequestCreateOneDossier) {
  std::unique_ptr<PostgresDossierStore> a = OpenDaemon();
  std::unique_ptr<PostgresDossierStore> b = OpenDaemon();
  ASSERT_TRUE(a && b);
  std::vector<absl::StatusOr<Dossier>> results(kThreads, absl::UnknownError("not run"));
  {
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      DossierStore* store = t % 2 == 0 ? a.get() : b.get();
      threads.emplace_back(
          [store, &out = results[t]] { out = store->Create(NewDossier("req-1")); });
    }
    for (std::thread& thread : threads) thread.join();
  }
  int winners = 0;
  for (const absl::StatusOr<Dossier>& result : results) {
    if (result.ok()) {
      ++winners;
      EXPECT_EQ(result->code(), Code(1));
    } else {
      EXPECT_THAT(result, StatusIs(absl::StatusCode::kAlreadyExists));
    }
  }
  EXPECT_EQ(winners, 1);
  EXPECT_THAT(a->LastRevision(), IsOkAndHolds(1));
  EXPECT_EQ(QueryInt("SELECT last FROM code_sequences"), 1);
}

TEST_F(PostgresDossierStoreTest, ListenerWakesOnAWriteThroughAnotherStoreWithinASecond) {
  std::unique_ptr<PostgresDossierStore> a = OpenDaemon();
  ASSERT_TRUE(a);
  FeedNotifier notifier;
  absl::StatusOr<std::unique_ptr<PgFeedListener>> listener = PgFeedListener::Start(
      {.uri = uri_}, [&notifier](int64_t revision) { notifier.Publish(revision); });
  ASSERT_THAT(listener, IsOk());
  EXPECT_EQ((*listener)->connections(), 1);
  ASSERT_THAT(a->Create(NewDossier()), IsOk());
  const absl::Time start = absl::Now();
  EXPECT_EQ(notifier.Await(
                1, [] { return false; }, start + absl::Seconds(1)),
            1);
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
  absl::StatusOr<Dossier> second = a->Create(NewDossier());
  ASSERT_THAT(second, IsOk());
  EXPECT_EQ(notifier.Await(
                2, [] { return false; }, absl::Now() + absl::Seconds(1)),
            2);
  (*listener)->Stop();
  (*listener)->Stop();  // idempotent
}

TEST_F(PostgresDossierStoreTest, ListenerReconnectsAndReportsWhatItMissed) {
  std::unique_ptr<PostgresDossierStore> a = OpenDaemon();
  ASSERT_TRUE(a);
  FeedNotifier notifier;
  absl::StatusOr<std::unique_ptr<PgFeedListener>> listener =
      PgFeedListener::Start({.uri = uri_, .min_backoff = absl::Milliseconds(50)},
                            [&notifier](int64_t revision) { notifier.Publish(revision); });
  ASSERT_THAT(listener, IsOk());
  // Cut the listener's session, then write while it is (probably) away.
  EXPECT_EQ(QueryInt("SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM "
                     "pg_stat_activity WHERE application_name = 'onestop-feed-listener' AND "
                     "datname = current_database()) AS t"),
            1);
  for (int i = 0; i < 3; ++i) ASSERT_THAT(a->Create(NewDossier()), IsOk());
  EXPECT_EQ(notifier.Await(
                3, [] { return false; }, absl::Now() + absl::Seconds(5)),
            3);
  ASSERT_THAT(a->Create(NewDossier()), IsOk());
  EXPECT_EQ(notifier.Await(
                4, [] { return false; }, absl::Now() + absl::Seconds(5)),
            4);
  EXPECT_EQ((*listener)->connections(), 2);
}

TEST_F(PostgresDossierStoreTest, ListenerOnADatabaseWithoutTheStoreIsRefused) {
  EXPECT_THAT(PgFeedListener::Start({.uri = uri_}, [](int64_t) {}),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("open the store first")));
}

TEST_F(PostgresDossierStoreTest, TextPostgresCannotStoreIsInvalidAndChangesNothing) {
  std::unique_ptr<PostgresDossierStore> a = OpenDaemon();
  ASSERT_TRUE(a);
  const std::string nul("H12\0.23", 7);
  const std::string bad_utf8 = "H12.\xC3\x28";  // a broken two-byte sequence
  const std::string overlong = "\xC0\xAF";
  const std::string surrogate = "\xED\xA0\x80";
  for (const std::string& text : {nul, bad_utf8, overlong, surrogate}) {
    CreateDossierWrite write = NewDossier();
    write.dossier.set_receiving_agency_code(text);
    EXPECT_THAT(a->Create(write), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("UTF-8")));
    write = NewDossier();
    write.code_prefix = text;
    EXPECT_THAT(a->Create(write), StatusIs(absl::StatusCode::kInvalidArgument));
    write = NewDossier();
    write.idempotency = IdempotencyKey{text, "fp"};
    EXPECT_THAT(a->Create(write), StatusIs(absl::StatusCode::kInvalidArgument));
    write = NewDossier();
    write.counter_deltas = {Delta(text, absl::CivilDay(2025, 1, 6), 0, 1)};
    EXPECT_THAT(a->Create(write), StatusIs(absl::StatusCode::kInvalidArgument));
    DossierQuery query;
    query.agency_codes = {text};
    EXPECT_THAT(a->List(query), StatusIs(absl::StatusCode::kInvalidArgument));
    EXPECT_THAT(a->Get(text), StatusIs(absl::StatusCode::kNotFound));
    EXPECT_THAT(a->FindRequest(text), IsOkAndHolds(::testing::Eq(std::nullopt)));
  }
  EXPECT_THAT(a->LastRevision(), IsOkAndHolds(0));
  // Valid Vietnamese text and quotes in list filters are fine.
  CreateDossierWrite write = NewDossier();
  write.dossier.set_procedure_code("thủ tục \"khai sinh\" \\ 1");
  write.dossier.set_holder_agency_code("Xã \"Liên\" Sơn");
  ASSERT_THAT(a->Create(write), IsOk());
  DossierQuery query;
  query.agency_codes = {"Xã \"Liên\" Sơn", "a,b", "{}"};
  query.procedure_code = "thủ tục \"khai sinh\" \\ 1";
  EXPECT_THAT(a->List(query), IsOkAndHolds(::testing::Field(&DossierPage::dossiers, SizeIs(1))));
}

TEST_F(PostgresDossierStoreTest, DaemonsStartingTogetherMigrateOnce) {
  std::vector<absl::StatusOr<std::unique_ptr<PostgresDossierStore>>> stores;
  for (int i = 0; i < 4; ++i) stores.emplace_back(absl::UnknownError("not run"));
  {
    std::vector<std::thread> threads;
    for (auto& store : stores) {
      threads.emplace_back([this, &store] { store = PostgresDossierStore::Open({.uri = uri_}); });
    }
    for (std::thread& thread : threads) thread.join();
  }
  for (const auto& store : stores) EXPECT_THAT(store, IsOk());
  EXPECT_EQ(QueryInt("SELECT version FROM component_versions WHERE component = 'dossiers'"),
            PostgresDossierStore::kSchemaVersion);
  EXPECT_EQ(QueryInt("SELECT count(*) FROM feed_head"), 1);
}

TEST_F(PostgresDossierStoreTest, NewerSchemaIsRefused) {
  ASSERT_TRUE(OpenDaemon());
  ASSERT_EQ(QueryInt("WITH u AS (UPDATE component_versions SET version = 99 WHERE component = "
                     "'dossiers' RETURNING 1) SELECT count(*) FROM u"),
            1);
  EXPECT_THAT(PostgresDossierStore::Open({.uri = uri_}),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("schema version 99"), HasSubstr("upgrade onestopd"))));
}

TEST_F(PostgresDossierStoreTest, UnreachableServerIsUnavailableNamingTheRedactedUri) {
  const std::string uri = "postgresql://onestop:s3cret@127.0.0.1:1/onestop";
  EXPECT_THAT(PostgresDossierStore::Open({.uri = uri}),
              StatusIs(absl::StatusCode::kUnavailable,
                       AllOf(HasSubstr("postgresql://onestop:***@127.0.0.1:1/onestop"),
                             Not(HasSubstr("s3cret")))));
}

TEST_F(PostgresDossierStoreTest, UnknownDatabaseIsFailedPrecondition) {
  std::string uri = uri_;
  uri.replace(uri.rfind('/') + 1, std::string::npos, "no_such_database");
  EXPECT_THAT(PostgresDossierStore::Open({.uri = uri}),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("no_such_database")));
}

TEST_F(PostgresDossierStoreTest, BadOptionsAreInvalid) {
  EXPECT_THAT(PostgresDossierStore::Open({}), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(PostgresDossierStore::Open({.uri = uri_, .pool_size = 0}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(PostgresDossierStore::Open({.uri = uri_, .counter_shards = 0}),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(PostgresDossierStoreTest, CompactionDeletesMoreThanOneChunkAndKeepsTheNewest) {
  std::unique_ptr<PostgresDossierStore> a = OpenDaemon();
  ASSERT_TRUE(a);
  const int64_t n = PostgresDossierStore::kCompactionChunk * 2 + 3;
  // Events written behind the store's back, as an import would.
  ASSERT_EQ(QueryInt(absl::StrCat(
                "WITH e AS (INSERT INTO events SELECT g, 'X', 1, NULL, '\\x'::bytea FROM "
                "generate_series(1, ",
                n, ") AS g RETURNING 1), h AS (UPDATE feed_head SET last_revision = ", n,
                " RETURNING 1) SELECT (SELECT count(*) FROM e) + (SELECT count(*) FROM h)")),
            n + 1);
  EXPECT_THAT(a->CompactEvents(n + 100), IsOkAndHolds(n - 1));
  EXPECT_THAT(a->FirstRevision(), IsOkAndHolds(n));
  ASSERT_THAT(a->Create(NewDossier()), IsOk());
  EXPECT_THAT(a->LastRevision(), IsOkAndHolds(n + 1));
}

TEST_F(PostgresDossierStoreTest, FilterColumnsMirrorTheDossier) {
  std::unique_ptr<PostgresDossierStore> a = OpenDaemon();
  ASSERT_TRUE(a);
  CreateDossierWrite write = NewDossier();
  write.dossier.set_procedure_code("1.001193");
  write.dossier.mutable_due_time()->set_seconds(1736500000);
  write.dossier.mutable_due_time()->set_nanos(999999999);
  write.dossier.set_holder_agency_code("");
  ASSERT_THAT(a->Create(write), IsOk());
  EXPECT_EQ(QueryInt("SELECT count(*) FROM dossiers WHERE receiving_agency = 'H12.23' AND "
                     "holder_agency IS NULL AND procedure_code = '1.001193' AND status = 2 AND "
                     "due_time_us = 1736500000999999 AND submitted_time_us IS NULL AND etag = 1"),
            1);
  EXPECT_EQ(QueryInt("SELECT count(*) FROM history WHERE dossier_code = 'H12.23-250106-0001' "
                     "AND sequence = 1"),
            1);
  EXPECT_EQ(QueryInt("SELECT count(*) FROM events WHERE revision = 1 AND dossier_code = "
                     "'H12.23-250106-0001' AND action = 1 AND time_us = 1736125200000000"),
            1);
}

}  // namespace
}  // namespace onestop::storage
