// SecurityStore on both backends: tokens stored as hashes with expiry and
// revocation and the append-only audit log (interface tests, run on SQLite
// and on PostgreSQL); SQLite's coexistence with the dossier store and its
// file; PostgreSQL's several daemons on one database.
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/util/proto_time.h"
#include "storage/postgres/pg_util.h"
#include "storage/security/postgres_security_store.h"
#include "storage/security/sqlite_security_store.h"
#include "storage/security/token_secret.h"
#include "storage/sqlite/sqlite_dossier_store.h"
#include "tests/testing/pg_test_cluster.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace onestop::storage {
namespace {

using ::onestop::testing::IsOk;
using ::onestop::testing::IsOkAndHolds;
using ::onestop::testing::StatusIs;
using ::testing::_;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;
using ::testing::SizeIs;

const absl::Time kT0 = absl::FromUnixSeconds(1578000000);  // 2020-01-02

onestop::v1::Principal ClerkPrincipal(const std::string& id) {
  onestop::v1::Principal principal;
  principal.set_id(id);
  auto* grant = principal.add_grants();
  grant->set_role(onestop::v1::ROLE_CLERK);
  grant->set_agency_code("000.31.01.H15");
  return principal;
}

// Runs one SQL statement on its own connection; returns SQLite's code.
int RawExec(const std::string& path, const std::string& sql, std::string* error = nullptr) {
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_busy_timeout(db, 5000);
  char* message = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &message);
  if (error != nullptr && message != nullptr) *error = message;
  sqlite3_free(message);
  sqlite3_close(db);
  return rc;
}

// One test's database on one backend: opens store instances on it (as
// daemons would) and runs SQL on a connection of the test's own.
class SecurityDatabase {
 public:
  virtual ~SecurityDatabase() = default;
  virtual absl::StatusOr<std::unique_ptr<SecurityStore>> OpenStore() = 0;
  // OK, or an error carrying the database's message.
  virtual absl::Status Exec(const std::string& sql) = 0;
};

// `shared_writer`: the daemon's layout, where token and audit writes ride
// the dossier store's group commit; otherwise the store writes on its own
// connection.
class SqliteSecurityDatabase final : public SecurityDatabase {
 public:
  explicit SqliteSecurityDatabase(bool shared_writer) : shared_writer_(shared_writer) {}
  absl::Status Init() {
    // The daemon's order: the dossier store creates and stamps the file.
    auto dossiers = SqliteDossierStore::Open({.path = path_, .durability = Durability::kNormal});
    if (!dossiers.ok()) return dossiers.status();
    dossiers_ = std::move(*dossiers);
    return absl::OkStatus();
  }
  absl::StatusOr<std::unique_ptr<SecurityStore>> OpenStore() override {
    auto store = SqliteSecurityStore::Open(
        {.path = path_,
         .durability = SecurityDurability::kNormal,
         .shared_writer = shared_writer_ ? dossiers_.get() : nullptr});
    if (!store.ok()) return store.status();
    return std::unique_ptr<SecurityStore>(std::move(*store));
  }
  absl::Status Exec(const std::string& sql) override {
    std::string error;
    if (RawExec(path_, sql, &error) == SQLITE_OK) return absl::OkStatus();
    return absl::InternalError(error);
  }

 private:
  testing::TempDir dir_;
  std::string path_ = dir_.File("onestop.db");
  const bool shared_writer_;
  std::unique_ptr<SqliteDossierStore> dossiers_;
};

class PgSecurityDatabase final : public SecurityDatabase {
 public:
  explicit PgSecurityDatabase(std::string uri) : uri_(std::move(uri)) {}
  absl::StatusOr<std::unique_ptr<SecurityStore>> OpenStore() override {
    auto store = PostgresSecurityStore::Open({.uri = uri_, .pool_size = 2});
    if (!store.ok()) return store.status();
    return std::unique_ptr<SecurityStore>(std::move(*store));
  }
  absl::Status Exec(const std::string& sql) override {
    auto connection = pg::Connection::Open(uri_);
    if (!connection.ok()) return connection.status();
    return (*connection)->ExecScript(sql.c_str(), "the test's statement");
  }
  const std::string& uri() const { return uri_; }

 private:
  std::string uri_;
};

struct SecurityBackend {
  std::string name;
  std::function<absl::StatusOr<std::unique_ptr<SecurityDatabase>>()> make;
};

void PrintTo(const SecurityBackend& backend, std::ostream* os) { *os << backend.name; }

absl::StatusOr<std::unique_ptr<SecurityDatabase>> MakeSqlite(bool shared_writer) {
  auto db = std::make_unique<SqliteSecurityDatabase>(shared_writer);
  if (absl::Status status = db->Init(); !status.ok()) return status;
  return std::unique_ptr<SecurityDatabase>(std::move(db));
}

absl::StatusOr<std::unique_ptr<SecurityDatabase>> MakePostgres() {
  absl::StatusOr<std::string> uri = testing::NewPgDatabase();
  if (!uri.ok()) return uri.status();
  return std::unique_ptr<SecurityDatabase>(std::make_unique<PgSecurityDatabase>(*uri));
}

// The interface tests: a fresh database and store per test, on each backend.
class SecurityStoreTest : public ::testing::TestWithParam<SecurityBackend> {
 protected:
  void SetUp() override {
    auto db = GetParam().make();
    ASSERT_THAT(db, IsOk());
    db_ = std::move(*db);
    auto store = db_->OpenStore();
    ASSERT_THAT(store, IsOk());
    store_ = std::move(*store);
  }

  CreatedToken Create(const std::string& id, absl::Duration ttl = absl::Hours(1)) {
    auto created = store_->CreateToken({.principal = ClerkPrincipal(id),
                                        .label = "desk " + id,
                                        .created = kT0,
                                        .expires = kT0 + ttl});
    EXPECT_THAT(created, IsOk());
    return created.ok() ? *created : CreatedToken{};
  }

  std::unique_ptr<SecurityDatabase> db_;
  std::unique_ptr<SecurityStore> store_;
};

INSTANTIATE_TEST_SUITE_P(Backends, SecurityStoreTest,
                         ::testing::Values(SecurityBackend{"Sqlite", [] { return MakeSqlite(false); }},
                                           SecurityBackend{"SqliteSharedWriter",
                                                           [] { return MakeSqlite(true); }},
                                           SecurityBackend{"Postgres", MakePostgres}),
                         [](const ::testing::TestParamInfo<SecurityBackend>& info) {
                           return info.param.name;
                         });

TEST_P(SecurityStoreTest, SecretIsShownOnceInItsShape) {
  const CreatedToken created = Create("clerk.lienson");
  EXPECT_THAT(created.secret, MatchesRegex("ost_[A-Za-z0-9_-]{43}"));
  EXPECT_THAT(created.info.id(), MatchesRegex("tk_[0-9a-f]{12}"));
  EXPECT_EQ(created.info.principal().id(), "clerk.lienson");
  EXPECT_EQ(created.info.label(), "desk clerk.lienson");
  EXPECT_EQ(FromProtoTime(created.info.create_time()), kT0);
  EXPECT_EQ(FromProtoTime(created.info.expire_time()), kT0 + absl::Hours(1));
  EXPECT_FALSE(created.info.has_revoke_time());
}

TEST_P(SecurityStoreTest, SecretsAndIdsAreRandom) {
  std::set<std::string> secrets, ids;
  for (int i = 0; i < 50; ++i) {
    const CreatedToken created = Create("p" + std::to_string(i));
    secrets.insert(created.secret);
    ids.insert(created.info.id());
  }
  EXPECT_EQ(secrets.size(), 50u);
  EXPECT_EQ(ids.size(), 50u);
}

TEST_P(SecurityStoreTest, AuthenticateUntilExpiry) {
  const CreatedToken created = Create("clerk.lienson", absl::Minutes(10));
  auto principal = store_->Authenticate(created.secret, kT0 + absl::Minutes(10) - absl::Microseconds(1));
  ASSERT_THAT(principal, IsOk());
  ASSERT_NE(*principal, nullptr);
  EXPECT_EQ((*principal)->id(), "clerk.lienson");
  ASSERT_EQ((*principal)->grants_size(), 1);
  EXPECT_EQ((*principal)->grants(0).agency_code(), "000.31.01.H15");
  EXPECT_THAT(store_->Authenticate(created.secret, kT0 + absl::Minutes(10)),
              StatusIs(absl::StatusCode::kUnauthenticated, "invalid or expired token"));
}

TEST_P(SecurityStoreTest, RevocationTakesEffectImmediatelyAndIsIdempotent) {
  const CreatedToken created = Create("clerk.lienson");
  const CreatedToken other = Create("clerk.other");
  ASSERT_THAT(store_->Authenticate(created.secret, kT0), IsOk());
  auto revoked = store_->RevokeToken(created.info.id(), kT0 + absl::Seconds(5));
  ASSERT_THAT(revoked, IsOk());
  EXPECT_EQ(FromProtoTime(revoked->revoke_time()), kT0 + absl::Seconds(5));
  EXPECT_THAT(store_->Authenticate(created.secret, kT0 + absl::Seconds(5)),
              StatusIs(absl::StatusCode::kUnauthenticated, "invalid or expired token"));
  EXPECT_THAT(store_->Authenticate(other.secret, kT0 + absl::Seconds(5)), IsOk());
  // Again: still revoked, first time kept.
  auto again = store_->RevokeToken(created.info.id(), kT0 + absl::Seconds(9));
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(FromProtoTime(again->revoke_time()), kT0 + absl::Seconds(5));
  EXPECT_THAT(store_->RevokeToken("tk_000000000000", kT0),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("tk_000000000000")));
}

// AuthenticateFromMemory (what a handler on gRPC's thread may ask): the
// SQLite store answers tokens it has looked up, exactly as Authenticate
// would; PostgreSQL never answers. Only with the dossier store's writer
// does the SQLite store append audit records without waiting.
TEST_P(SecurityStoreTest, AnswersFromMemoryAreAuthenticatesOrNone) {
  const CreatedToken created = Create("clerk.lienson", absl::Minutes(10));
  const std::string backend = GetParam().name;
  const bool answers = backend.rfind("Sqlite", 0) == 0;
  EXPECT_EQ(store_->AppendsAuditWithoutWaiting(), backend == "SqliteSharedWriter");
  EXPECT_EQ(store_->AuthenticateFromMemory(created.secret, kT0), std::nullopt);
  ASSERT_THAT(store_->Authenticate(created.secret, kT0), IsOk());
  auto remembered = store_->AuthenticateFromMemory(created.secret, kT0);
  ASSERT_EQ(remembered.has_value(), answers);
  auto malformed = store_->AuthenticateFromMemory("not-a-token", kT0);
  ASSERT_EQ(malformed.has_value(), answers);
  if (answers) {
    ASSERT_THAT(*remembered, IsOk());
    EXPECT_EQ((**remembered)->id(), "clerk.lienson");
    EXPECT_THAT(*malformed, StatusIs(absl::StatusCode::kUnauthenticated,
                                     "invalid or expired token"));
    // Expiry is checked on every answer.
    auto expired = store_->AuthenticateFromMemory(created.secret, kT0 + absl::Minutes(10));
    ASSERT_TRUE(expired.has_value());
    EXPECT_THAT(*expired, StatusIs(absl::StatusCode::kUnauthenticated,
                                   "invalid or expired token"));
  }
  // A revocation empties the memory: the next answer is the database's.
  ASSERT_THAT(store_->RevokeToken(created.info.id(), kT0 + absl::Seconds(1)), IsOk());
  EXPECT_EQ(store_->AuthenticateFromMemory(created.secret, kT0 + absl::Seconds(1)),
            std::nullopt);
  EXPECT_THAT(store_->Authenticate(created.secret, kT0 + absl::Seconds(1)),
              StatusIs(absl::StatusCode::kUnauthenticated));
}

// Lookups racing a revocation (the SQLite store answers repeat tokens from
// a cache): once RevokeToken has returned, no lookup that starts afterwards
// succeeds, whatever the lookups in flight did.
TEST_P(SecurityStoreTest, NoLookupAfterARevocationSucceedsWhileOthersRace) {
  const CreatedToken created = Create("clerk.lienson");
  std::atomic<bool> stop{false};
  std::atomic<int> running{0};
  std::vector<std::thread> lookups;
  for (int t = 0; t < 4; ++t) {
    lookups.emplace_back([&] {
      // Each thread counts itself once it has cached the token.
      store_->Authenticate(created.secret, kT0).IgnoreError();
      running.fetch_add(1);
      while (!stop.load()) store_->Authenticate(created.secret, kT0).IgnoreError();
    });
  }
  // The revocation races all four lookups, each already past its first.
  while (running.load() < 4) std::this_thread::yield();
  ASSERT_THAT(store_->RevokeToken(created.info.id(), kT0), IsOk());
  for (int i = 0; i < 200; ++i) {
    EXPECT_THAT(store_->Authenticate(created.secret, kT0),
                StatusIs(absl::StatusCode::kUnauthenticated));
  }
  stop.store(true);
  for (std::thread& thread : lookups) thread.join();
  EXPECT_THAT(store_->Authenticate(created.secret, kT0),
              StatusIs(absl::StatusCode::kUnauthenticated));
}

TEST_P(SecurityStoreTest, UnknownAndMalformedTokensGetTheSameAnswer) {
  const CreatedToken created = Create("x");
  std::string flipped = created.secret;
  flipped.back() = flipped.back() == 'A' ? 'B' : 'A';
  for (const std::string& secret :
       {flipped, std::string(""), std::string("Bearer ") + created.secret, created.secret + "x",
        std::string("ost_") + std::string(43, '!'), created.info.id()}) {
    EXPECT_THAT(store_->Authenticate(secret, kT0),
                StatusIs(absl::StatusCode::kUnauthenticated, "invalid or expired token"))
        << secret;
  }
}

TEST_P(SecurityStoreTest, CreateRefusesATokenThatNeverLives) {
  EXPECT_THAT(store_->CreateToken({.principal = ClerkPrincipal("a"), .created = kT0, .expires = kT0}),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_P(SecurityStoreTest, ListTokensNewestFirstAndFiltersInactive) {
  Create("a");
  auto b = store_->CreateToken({.principal = ClerkPrincipal("b"), .created = kT0 + absl::Seconds(1),
                                .expires = kT0 + absl::Seconds(30)});
  ASSERT_THAT(b, IsOk());
  auto c = store_->CreateToken({.principal = ClerkPrincipal("c"), .created = kT0 + absl::Seconds(2),
                                .expires = kT0 + absl::Hours(1)});
  ASSERT_THAT(c, IsOk());
  ASSERT_THAT(store_->RevokeToken(c->info.id(), kT0 + absl::Seconds(3)), IsOk());
  auto names = [](const std::vector<onestop::v1::TokenInfo>& tokens) {
    std::vector<std::string> out;
    for (const auto& t : tokens) out.push_back(t.principal().id());
    return out;
  };
  auto all = store_->ListTokens({.include_inactive = true, .now = kT0 + absl::Minutes(1)});
  ASSERT_THAT(all, IsOk());
  EXPECT_THAT(names(*all), ElementsAre("c", "b", "a"));
  auto active = store_->ListTokens({.include_inactive = false, .now = kT0 + absl::Minutes(1)});
  ASSERT_THAT(active, IsOk());
  EXPECT_THAT(names(*active), ElementsAre("a"));
}

onestop::v1::AuditRecord Record(const std::string& principal, const std::string& rpc, int code) {
  onestop::v1::AuditRecord record;
  *record.mutable_time() = ToProtoTime(kT0);
  record.set_principal_id(principal);
  record.set_rpc(rpc);
  record.set_dossier_code("000.31.01.H15-200102-0001");
  record.set_agency_code("000.31.01.H15");
  record.set_result_code(code);
  record.set_message(code == 0 ? "" : "denied");
  return record;
}

TEST_P(SecurityStoreTest, AuditAppendsAndPagesInOrderWithFilters) {
  EXPECT_THAT(store_->AppendAudit(Record("a", "AcceptDossier", 0)), IsOkAndHolds(1));
  EXPECT_THAT(store_->AppendAudit(Record("b", "RecordDecision", 7)), IsOkAndHolds(2));
  EXPECT_THAT(store_->AppendAudit(Record("", "GetDossier", 16)), IsOkAndHolds(3));
  EXPECT_THAT(store_->AppendAudit(Record("a", "ReturnResult", 0)), IsOkAndHolds(4));

  auto first = store_->ListAudit({.after_sequence = 0, .limit = 3});
  ASSERT_THAT(first, IsOk());
  ASSERT_EQ(first->records.size(), 3u);
  EXPECT_EQ(first->records[1].rpc(), "RecordDecision");
  EXPECT_EQ(first->records[1].result_code(), 7);
  EXPECT_EQ(first->records[1].dossier_code(), "000.31.01.H15-200102-0001");
  EXPECT_EQ(FromProtoTime(first->records[1].time()), kT0);
  EXPECT_EQ(first->next_after_sequence, 3);
  auto second = store_->ListAudit({.after_sequence = 3, .limit = 3});
  ASSERT_THAT(second, IsOk());
  ASSERT_EQ(second->records.size(), 1u);
  EXPECT_EQ(second->records[0].sequence(), 4);
  EXPECT_EQ(second->next_after_sequence, 0);

  auto denials = store_->ListAudit({.limit = 10, .denials_only = true});
  ASSERT_THAT(denials, IsOk());
  ASSERT_EQ(denials->records.size(), 2u);
  EXPECT_EQ(denials->records[0].sequence(), 2);
  EXPECT_EQ(denials->records[1].sequence(), 3);
  auto of_a = store_->ListAudit({.limit = 10, .principal_id = "a"});
  ASSERT_THAT(of_a, IsOk());
  ASSERT_EQ(of_a->records.size(), 2u);
  EXPECT_EQ(of_a->records[1].rpc(), "ReturnResult");

  EXPECT_THAT(store_->ListAudit({.limit = 0}), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(store_->ListAudit({.limit = 1001}), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(store_->ListAudit({.after_sequence = -1}),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

// AppendAuditLater (what every audited RPC uses): records keep the order of
// the calls, each `done` gets OK, and a ListAudit started after the calls
// returned sees them all, even before any `done` ran.
TEST_P(SecurityStoreTest, AuditAppendedLaterKeepsCallOrderAndIsListedAtOnce) {
  constexpr int kRecords = 50;
  absl::Mutex mu;
  int done_ok = 0;
  int done_failed = 0;
  for (int i = 0; i < kRecords; ++i) {
    store_->AppendAuditLater(Record(absl::StrCat("officer.", i), "HandOverDossier", 0),
                             [&](absl::Status status) {
                               absl::MutexLock lock(&mu);
                               ++(status.ok() ? done_ok : done_failed);
                             });
  }
  auto page = store_->ListAudit({.limit = 1000});
  ASSERT_THAT(page, IsOk());
  ASSERT_THAT(page->records, SizeIs(kRecords));
  for (int i = 0; i < kRecords; ++i) {
    EXPECT_EQ(page->records[i].sequence(), i + 1);
    EXPECT_EQ(page->records[i].principal_id(), absl::StrCat("officer.", i));
  }
  // `done` runs after the commit, possibly on the writer thread: wait for
  // it rather than assume it ran.
  absl::MutexLock lock(&mu);
  const auto all_done = [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
    return done_ok + done_failed == kRecords;
  };
  mu.AwaitWithTimeout(absl::Condition(&all_done), absl::Seconds(10));
  EXPECT_EQ(done_ok, kRecords);
  EXPECT_EQ(done_failed, 0);
}

TEST_P(SecurityStoreTest, AuditKeepsNulAndInvalidUtf8EscapedOnBothBackends) {
  using namespace std::string_literals;
  // A hostile request: NUL and bytes that are not UTF-8 in every field.
  onestop::v1::AuditRecord record = Record("", "GetDossier", 7);
  record.set_principal_id("clerk\0evil"s);
  record.set_rpc("Get\xff"s);
  record.set_dossier_code("000.31.01.H15-200102-0001\0' OR 1=1"s);
  record.set_agency_code("H15\xc3"s);  // a cut two-byte sequence
  record.set_message("x\\x00 \xed\xa0\x80 Đà Nẵng"s);  // a backslash; a surrogate
  ASSERT_THAT(store_->AppendAudit(record), IsOkAndHolds(1));
  ASSERT_THAT(store_->AppendAudit(Record("clerk", "GetDossier", 7)), IsOkAndHolds(2));
  auto page = store_->ListAudit({.limit = 10});
  ASSERT_THAT(page, IsOk());
  ASSERT_EQ(page->records.size(), 2u);
  const onestop::v1::AuditRecord& stored = page->records[0];
  EXPECT_EQ(stored.principal_id(), "clerk\\x00evil");
  EXPECT_EQ(stored.rpc(), "Get\\xff");
  EXPECT_EQ(stored.dossier_code(), "000.31.01.H15-200102-0001\\x00' OR 1=1");
  EXPECT_EQ(stored.agency_code(), "H15\\xc3");
  EXPECT_EQ(stored.message(), "x\\\\x00 \\xed\\xa0\\x80 Đà Nẵng");
  EXPECT_EQ(stored.result_code(), 7);
  // The filter matches the principal as given (not its prefix "clerk").
  auto of_evil = store_->ListAudit({.limit = 10, .principal_id = "clerk\0evil"s});
  ASSERT_THAT(of_evil, IsOk());
  ASSERT_EQ(of_evil->records.size(), 1u);
  EXPECT_EQ(of_evil->records[0].sequence(), 1);
  auto of_clerk = store_->ListAudit({.limit = 10, .principal_id = "clerk"});
  ASSERT_THAT(of_clerk, IsOk());
  ASSERT_EQ(of_clerk->records.size(), 1u);
  EXPECT_EQ(of_clerk->records[0].sequence(), 2);
}

// Characters special to SQL and to PostgreSQL array literals (where the
// queued records travel as text[]) are stored as given.
TEST_P(SecurityStoreTest, AuditKeepsQuotesBracesCommasEmptyAndNullTextAsGiven) {
  const std::vector<std::string> texts = {"NULL", "", "{a,b}", "say \"hi\", then '; --",
                                          " lead and trail ", "null"};
  for (const std::string& text : texts) {
    onestop::v1::AuditRecord record = Record(text, text, 0);
    record.set_dossier_code(text);
    record.set_agency_code(text);
    record.set_message(text);
    store_->AppendAuditLater(record, [](absl::Status) {});
  }
  auto page = store_->ListAudit({.limit = 100});
  ASSERT_THAT(page, IsOk());
  ASSERT_THAT(page->records, SizeIs(texts.size()));
  for (size_t i = 0; i < texts.size(); ++i) {
    const onestop::v1::AuditRecord& stored = page->records[i];
    EXPECT_EQ(stored.principal_id(), texts[i]);
    EXPECT_EQ(stored.rpc(), texts[i]);
    EXPECT_EQ(stored.dossier_code(), texts[i]);
    EXPECT_EQ(stored.agency_code(), texts[i]);
    EXPECT_EQ(stored.message(), texts[i]);
  }
}

TEST_P(SecurityStoreTest, TokenLabelsAndPrincipalIdsMustBeStorableText) {
  using namespace std::string_literals;
  for (const std::string& bad : {"desk\0 2"s, "desk\xff"s, "desk\xc0\xaf"s /* overlong */}) {
    EXPECT_THAT(store_->CreateToken({.principal = ClerkPrincipal("clerk"), .label = bad,
                                     .created = kT0, .expires = kT0 + absl::Hours(1)}),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("label")));
    EXPECT_THAT(store_->CreateToken({.principal = ClerkPrincipal("clerk" + bad), .label = "desk",
                                     .created = kT0, .expires = kT0 + absl::Hours(1)}),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("principal id")));
  }
  auto tokens = store_->ListTokens({.include_inactive = true, .now = kT0});
  ASSERT_THAT(tokens, IsOk());
  EXPECT_TRUE(tokens->empty());
  // Valid UTF-8 is kept as given.
  auto created = store_->CreateToken({.principal = ClerkPrincipal("clerk.nguyễn"),
                                      .label = "quầy 2 \\ tầng 1",
                                      .created = kT0, .expires = kT0 + absl::Hours(1)});
  ASSERT_THAT(created, IsOk());
  EXPECT_EQ(created->info.label(), "quầy 2 \\ tầng 1");
  EXPECT_EQ(created->info.principal().id(), "clerk.nguyễn");
  // An id cut at a NUL must not revoke the token it starts with.
  EXPECT_THAT(store_->RevokeToken(created->info.id() + "\0x"s, kT0),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("\\x00x")));
  EXPECT_THAT(store_->Authenticate(created->secret, kT0), IsOk());
}

TEST_P(SecurityStoreTest, AuditRefusesUpdateAndDelete) {
  ASSERT_THAT(store_->AppendAudit(Record("a", "AcceptDossier", 0)), IsOk());
  EXPECT_THAT(db_->Exec("UPDATE audit SET result_code = 0"), StatusIs(_, HasSubstr("append-only")));
  EXPECT_THAT(db_->Exec("DELETE FROM audit"), StatusIs(_, HasSubstr("append-only")));
  auto page = store_->ListAudit({.limit = 10});
  ASSERT_THAT(page, IsOk());
  EXPECT_EQ(page->records.size(), 1u);
}

TEST_P(SecurityStoreTest, ReopenKeepsTokensAndTheAuditLog) {
  const CreatedToken created = Create("clerk.lienson");
  ASSERT_THAT(store_->AppendAudit(Record("a", "AcceptDossier", 0)), IsOk());
  store_.reset();
  auto store = db_->OpenStore();
  ASSERT_THAT(store, IsOk());
  EXPECT_THAT((*store)->Authenticate(created.secret, kT0), IsOk());
  EXPECT_THAT((*store)->AppendAudit(Record("a", "AcceptDossier", 0)), IsOkAndHolds(2));
}

TEST_P(SecurityStoreTest, RefusesANewerSecuritySchema) {
  store_.reset();
  ASSERT_THAT(db_->Exec("UPDATE component_versions SET version = 99 WHERE component = 'security'"),
              IsOk());
  EXPECT_THAT(db_->OpenStore(), StatusIs(absl::StatusCode::kFailedPrecondition,
                                         HasSubstr("security schema version 99")));
}

// ---- SQLite only: the file and the dossier store ----------------------------

class SqliteSecurityStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dossiers = SqliteDossierStore::Open({.path = path_, .durability = Durability::kNormal});
    ASSERT_THAT(dossiers, IsOk());
    dossiers_ = std::move(*dossiers);
    auto store = SqliteSecurityStore::Open(
        {.path = path_, .durability = SecurityDurability::kNormal});
    ASSERT_THAT(store, IsOk());
    store_ = std::move(*store);
  }

  testing::TempDir dir_;
  std::string path_ = dir_.File("onestop.db");
  std::unique_ptr<SqliteDossierStore> dossiers_;
  std::unique_ptr<SqliteSecurityStore> store_;
};

TEST_F(SqliteSecurityStoreTest, OnlyTheSecretsHashIsInTheFile) {
  auto created = store_->CreateToken({.principal = ClerkPrincipal("clerk.lienson"),
                                      .created = kT0, .expires = kT0 + absl::Hours(1)});
  ASSERT_THAT(created, IsOk());
  // Neither the secret nor its random part is anywhere in the files.
  store_.reset();
  dossiers_.reset();
  std::string bytes;
  for (const char* suffix : {"", "-wal"}) {
    std::ifstream in(path_ + suffix, std::ios::binary);
    bytes.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  ASSERT_FALSE(bytes.empty());
  EXPECT_EQ(bytes.find(created->secret.substr(4)), std::string::npos);
  EXPECT_NE(bytes.find(security_internal::Sha256(created->secret)), std::string::npos);
}

TEST_F(SqliteSecurityStoreTest, ReopensAndLeavesTheDossierSchemaVersionAlone) {
  auto created = store_->CreateToken({.principal = ClerkPrincipal("clerk.lienson"),
                                      .created = kT0, .expires = kT0 + absl::Hours(1)});
  ASSERT_THAT(created, IsOk());
  auto settings_before = dossiers_->Settings();
  ASSERT_THAT(settings_before, IsOk());
  store_.reset();
  dossiers_.reset();
  // The dossier store still opens (its own schema untouched), then ours.
  auto dossiers = SqliteDossierStore::Open({.path = path_});
  ASSERT_THAT(dossiers, IsOk());
  auto settings = (*dossiers)->Settings();
  ASSERT_THAT(settings, IsOk());
  EXPECT_EQ(settings->schema_version, settings_before->schema_version);
  auto store = SqliteSecurityStore::Open({.path = path_});
  ASSERT_THAT(store, IsOk());
  EXPECT_THAT((*store)->Authenticate(created->secret, kT0), IsOk());
}

// The token hash is SHA-256 (FIPS 180-2 test vectors), on every call.
TEST(TokenHashTest, IsSha256) {
  for (int round = 0; round < 2; ++round) {
    EXPECT_EQ(absl::BytesToHexString(security_internal::Sha256("abc")),
              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(absl::BytesToHexString(security_internal::Sha256("")),
              "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  }
}

TEST(SqliteSecurityStoreOpenTest, RefusesADatabaseTheDossierStoreHasNotInitialised) {
  testing::TempDir dir;
  EXPECT_THAT(SqliteSecurityStore::Open({.path = dir.File("fresh.db")}),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("open the dossier store first")));
  EXPECT_THAT(SqliteSecurityStore::Open({.path = ""}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  auto standalone = SqliteSecurityStore::Open(
      {.path = ":memory:", .check = DatabaseCheck::kStandalone});
  EXPECT_THAT(standalone, IsOk());
}

// ---- PostgreSQL only: several daemons on one database -----------------------

class PgSecurityStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::string> uri = testing::NewPgDatabase();
    ASSERT_THAT(uri, IsOk());
    uri_ = *uri;
    for (auto* store : {&a_, &b_}) {
      auto opened = PostgresSecurityStore::Open({.uri = uri_, .pool_size = 4});
      ASSERT_THAT(opened, IsOk());
      *store = std::move(*opened);
    }
  }

  std::string uri_;
  std::unique_ptr<PostgresSecurityStore> a_;  // two daemons on one database
  std::unique_ptr<PostgresSecurityStore> b_;
};

TEST_F(PgSecurityStoreTest, TokenFromOneDaemonWorksOnTheOtherAndRevocationIsImmediate) {
  auto created = a_->CreateToken({.principal = ClerkPrincipal("clerk.lienson"),
                                  .label = "desk",
                                  .created = kT0,
                                  .expires = kT0 + absl::Hours(1)});
  ASSERT_THAT(created, IsOk());
  auto on_b = b_->Authenticate(created->secret, kT0 + absl::Seconds(1));
  ASSERT_THAT(on_b, IsOk());
  EXPECT_EQ((*on_b)->id(), "clerk.lienson");
  ASSERT_THAT(a_->Authenticate(created->secret, kT0 + absl::Seconds(1)), IsOk());
  ASSERT_THAT(b_->RevokeToken(created->info.id(), kT0 + absl::Seconds(2)), IsOk());
  EXPECT_THAT(a_->Authenticate(created->secret, kT0 + absl::Seconds(2)),
              StatusIs(absl::StatusCode::kUnauthenticated, "invalid or expired token"));
  // Revoking again through A keeps B's first time.
  auto again = a_->RevokeToken(created->info.id(), kT0 + absl::Seconds(9));
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(FromProtoTime(again->revoke_time()), kT0 + absl::Seconds(2));
}

TEST_F(PgSecurityStoreTest, ConcurrentAppendsFromTwoDaemonsAreGapFree) {
  constexpr int kThreadsPerDaemon = 4;
  constexpr int kPerThread = 100;
  std::vector<std::vector<int64_t>> got(2 * kThreadsPerDaemon);
  std::vector<absl::Status> errors(2 * kThreadsPerDaemon);
  {
    std::vector<std::thread> threads;
    for (int t = 0; t < 2 * kThreadsPerDaemon; ++t) {
      threads.emplace_back([&, t] {
        SecurityStore& store = t % 2 == 0 ? static_cast<SecurityStore&>(*a_) : *b_;
        for (int i = 0; i < kPerThread; ++i) {
          onestop::v1::AuditRecord record = Record(absl::StrCat("p", t), "GetDossier", 7);
          record.set_message(absl::StrCat(t, "/", i));
          absl::StatusOr<int64_t> sequence = store.AppendAudit(record);
          if (!sequence.ok()) {
            errors[t] = sequence.status();
            return;
          }
          got[t].push_back(*sequence);
        }
      });
    }
    for (std::thread& thread : threads) thread.join();
  }
  std::set<int64_t> all;
  for (int t = 0; t < 2 * kThreadsPerDaemon; ++t) {
    EXPECT_THAT(errors[t], IsOk()) << "thread " << t;
    // Each thread's own appends come back in increasing order.
    EXPECT_TRUE(std::is_sorted(got[t].begin(), got[t].end())) << "thread " << t;
    all.insert(got[t].begin(), got[t].end());
  }
  constexpr int64_t kTotal = 2 * kThreadsPerDaemon * kPerThread;
  ASSERT_EQ(static_cast<int64_t>(all.size()), kTotal) << "duplicate sequences";
  EXPECT_EQ(*all.begin(), 1);
  EXPECT_EQ(*all.rbegin(), kTotal);
  // And the log says the same: 1..N, each record where its append said.
  int64_t expected = 0;
  int64_t after = 0;
  do {
    auto page = b_->ListAudit({.after_sequence = after, .limit = 1000});
    ASSERT_THAT(page, IsOk());
    for (const auto& record : page->records) EXPECT_EQ(record.sequence(), ++expected);
    after = page->next_after_sequence;
  } while (after != 0);
  EXPECT_EQ(expected, kTotal);
}

// Records queued with AppendAuditLater on both daemons, and still queued
// when the stores close, are all appended — gap-free, each daemon's in its
// call order — and every `done` has run by then.
TEST_F(PgSecurityStoreTest, QueuedAppendsFromTwoDaemonsAllLandBeforeClose) {
  constexpr int kPerDaemon = 600;  // more than one batch each
  std::atomic<int> done_ok{0};
  for (int i = 0; i < kPerDaemon; ++i) {
    for (PostgresSecurityStore* store : {a_.get(), b_.get()}) {
      onestop::v1::AuditRecord record =
          Record(store == a_.get() ? "daemon.a" : "daemon.b", "HandOverDossier", 0);
      record.set_message(absl::StrCat(i));
      store->AppendAuditLater(record, [&](absl::Status status) {
        if (status.ok()) done_ok.fetch_add(1);
      });
    }
  }
  a_.reset();
  b_.reset();
  EXPECT_EQ(done_ok.load(), 2 * kPerDaemon);
  auto reopened = PostgresSecurityStore::Open({.uri = uri_});
  ASSERT_THAT(reopened, IsOk());
  std::vector<onestop::v1::AuditRecord> records;
  int64_t after = 0;
  while (true) {
    auto page = (*reopened)->ListAudit({.after_sequence = after, .limit = 1000});
    ASSERT_THAT(page, IsOk());
    records.insert(records.end(), page->records.begin(), page->records.end());
    if (page->next_after_sequence == 0) break;
    after = page->next_after_sequence;
  }
  ASSERT_THAT(records, SizeIs(2 * kPerDaemon));
  std::map<std::string, int> next_message;
  for (size_t i = 0; i < records.size(); ++i) {
    EXPECT_EQ(records[i].sequence(), static_cast<int64_t>(i) + 1);
    int& expected = next_message[records[i].principal_id()];
    EXPECT_EQ(records[i].message(), absl::StrCat(expected)) << records[i].principal_id();
    ++expected;
  }
  EXPECT_EQ(next_message["daemon.a"], kPerDaemon);
  EXPECT_EQ(next_message["daemon.b"], kPerDaemon);
}

TEST_F(PgSecurityStoreTest, OnlyTheSecretsHashIsStored) {
  auto created = a_->CreateToken({.principal = ClerkPrincipal("clerk.lienson"),
                                  .created = kT0, .expires = kT0 + absl::Hours(1)});
  ASSERT_THAT(created, IsOk());
  auto c = pg::Connection::Open(uri_);
  ASSERT_THAT(c, IsOk());
  // No column of any token row holds the secret's random part.
  auto leaked = (*c)->QueryInt64(
      "SELECT count(*) FROM tokens t WHERE position(convert_to($1, 'UTF8') IN "
      "convert_to(t::text, 'UTF8')) > 0 OR position(convert_to($1, 'UTF8') IN t.principal) > 0",
      {pg::Param::Text(created->secret.substr(4))}, "test");
  EXPECT_THAT(leaked, IsOkAndHolds(0));
  auto hashed = (*c)->QueryInt64("SELECT count(*) FROM tokens WHERE hash = $1",
                                 {pg::Param::Bytes(security_internal::Sha256(created->secret))},
                                 "test");
  EXPECT_THAT(hashed, IsOkAndHolds(1));
}

TEST_F(PgSecurityStoreTest, AuditRefusesTruncate) {
  ASSERT_THAT(a_->AppendAudit(Record("a", "AcceptDossier", 0)), IsOk());
  auto c = pg::Connection::Open(uri_);
  ASSERT_THAT(c, IsOk());
  EXPECT_THAT((*c)->ExecScript("TRUNCATE audit", "test"),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("append-only")));
  EXPECT_THAT(b_->ListAudit({.limit = 10}), IsOk());
}

// A batch that fails fails every record queued behind it at once, with
// the database's error, and nothing of them is stored; appends work again
// once the database does.
TEST_F(PgSecurityStoreTest, AFailingBatchFailsTheQueueAtOnceAndNothingIsStored) {
  auto c = pg::Connection::Open(uri_);
  ASSERT_THAT(c, IsOk());
  // The audit table refuses inserts for now (a failing database, as far as
  // the appends can tell).
  ASSERT_THAT((*c)->ExecScript("ALTER TABLE audit ADD CONSTRAINT onestop_test_refuse "
                               "CHECK (sequence < 0) NOT VALID",
                               "test"),
              IsOk());
  constexpr int kRecords = 300;
  std::atomic<int> failed{0};
  for (int i = 0; i < kRecords; ++i) {
    a_->AppendAuditLater(Record("clerk", "AcceptDossier", 0), [&](absl::Status status) {
      if (!status.ok()) failed.fetch_add(1);
    });
  }
  EXPECT_FALSE(a_->AppendAudit(Record("clerk", "AcceptDossier", 0)).ok());
  EXPECT_EQ(failed.load(), kRecords);  // all answered before the waited one
  ASSERT_THAT((*c)->ExecScript("ALTER TABLE audit DROP CONSTRAINT onestop_test_refuse", "test"),
              IsOk());
  EXPECT_THAT(a_->AppendAudit(Record("clerk", "AcceptDossier", 0)), IsOkAndHolds(1));
  auto page = b_->ListAudit({.limit = 1000});
  ASSERT_THAT(page, IsOk());
  EXPECT_THAT(page->records, SizeIs(1));
}

// Close appends everything queued and refuses later appends with
// UNAVAILABLE, answered at once and stored nowhere; reads keep working.
TEST_F(PgSecurityStoreTest, CloseAppendsTheQueueAndRefusesLaterAppends) {
  constexpr int kRecords = 50;
  std::atomic<int> appended{0};
  for (int i = 0; i < kRecords; ++i) {
    a_->AppendAuditLater(Record("clerk", "AcceptDossier", 0), [&](absl::Status status) {
      if (status.ok()) appended.fetch_add(1);
    });
  }
  a_->Close();
  EXPECT_EQ(appended.load(), kRecords);
  EXPECT_THAT(a_->AppendAudit(Record("clerk", "AcceptDossier", 0)),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("closing")));
  absl::Status later = absl::UnknownError("not answered");
  a_->AppendAuditLater(Record("clerk", "AcceptDossier", 0),
                       [&](absl::Status status) { later = status; });
  EXPECT_THAT(later, StatusIs(absl::StatusCode::kUnavailable));
  a_->Close();  // again: nothing to do
  auto page = a_->ListAudit({.limit = 1000});
  ASSERT_THAT(page, IsOk());
  EXPECT_THAT(page->records, SizeIs(kRecords));
}

// ListAudit waits only so long for the records this store queued before
// it: while another session holds the audit log's lock it gives up with
// UNAVAILABLE (the record still queued), and lists the record once the lock
// is released.
TEST_F(PgSecurityStoreTest, ListAuditGivesUpWhileItsQueuedRecordsCannotBeAppended) {
  auto store = PostgresSecurityStore::Open(
      {.uri = uri_, .audit_barrier_timeout = absl::Milliseconds(200)});
  ASSERT_THAT(store, IsOk());
  auto other = pg::Connection::Open(uri_);
  ASSERT_THAT(other, IsOk());
  const std::string lock = absl::StrCat("SELECT pg_advisory_lock(", kAuditLockKey, ")");
  const std::string unlock = absl::StrCat("SELECT pg_advisory_unlock(", kAuditLockKey, ")");
  const absl::Span<const pg::Param> no_params;
  ASSERT_THAT((*other)->Exec(lock, no_params, "test"), IsOk());
  absl::Notification appended;
  absl::Status append_status = absl::UnknownError("not answered");
  (*store)->AppendAuditLater(Record("clerk", "AcceptDossier", 0), [&](absl::Status status) {
    append_status = status;
    appended.Notify();
  });
  EXPECT_THAT((*store)->ListAudit({.limit = 10}),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("still being written")));
  EXPECT_FALSE(appended.HasBeenNotified());
  ASSERT_THAT((*other)->Exec(unlock, no_params, "test"), IsOk());
  // Appended once the lock is free (waited for here, not within the
  // store's short barrier: the test must not depend on the machine's pace).
  ASSERT_TRUE(appended.WaitForNotificationWithTimeout(absl::Seconds(30)));
  EXPECT_THAT(append_status, IsOk());
  auto page = (*store)->ListAudit({.limit = 10});
  ASSERT_THAT(page, IsOk());
  EXPECT_THAT(page->records, SizeIs(1));
}

// A full queue (PostgreSQL slower than the calls) holds the caller back
// until the audit thread has made room, and loses nothing: while another
// session holds the audit log's lock, more records than the queue and one
// batch can take leave the last caller waiting; once the lock is released
// every record is appended.
TEST_F(PgSecurityStoreTest, AFullAuditQueueHoldsTheCallerBackUntilThereIsRoom) {
  auto other = pg::Connection::Open(uri_);
  ASSERT_THAT(other, IsOk());
  const absl::Span<const pg::Param> no_params;
  ASSERT_THAT((*other)->Exec(absl::StrCat("SELECT pg_advisory_lock(", kAuditLockKey, ")"),
                             no_params, "test"),
              IsOk());
  constexpr int kRecords = static_cast<int>(PostgresSecurityStore::kMaxAuditQueue) +
                           PostgresSecurityStore::kMaxAuditBatch + 1;
  std::atomic<int> appended{0};
  absl::Notification all_queued;
  std::thread caller([&] {
    for (int i = 0; i < kRecords; ++i) {
      a_->AppendAuditLater(Record("clerk", "AcceptDossier", 0), [&](absl::Status status) {
        if (status.ok()) appended.fetch_add(1);
      });
    }
    all_queued.Notify();
  });
  // Held back: the thread's batch and the queue are full, and no record
  // can be appended while the lock is held.
  EXPECT_FALSE(all_queued.WaitForNotificationWithTimeout(absl::Milliseconds(300)));
  EXPECT_EQ(appended.load(), 0);
  ASSERT_THAT((*other)->Exec(absl::StrCat("SELECT pg_advisory_unlock(", kAuditLockKey, ")"),
                             no_params, "test"),
              IsOk());
  caller.join();
  a_->Close();  // appends what is still queued
  EXPECT_EQ(appended.load(), kRecords);
  auto last = b_->ListAudit({.after_sequence = kRecords - 1, .limit = 10});
  ASSERT_THAT(last, IsOk());
  ASSERT_THAT(last->records, SizeIs(1));
  EXPECT_EQ(last->records[0].sequence(), kRecords);
}

TEST(PgSecurityStoreOpenTest, ErrorsNameTheRedactedUri) {
  EXPECT_THAT(PostgresSecurityStore::Open({.uri = ""}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  // Nothing listens on port 1.
  auto unreachable =
      PostgresSecurityStore::Open({.uri = "postgresql://onestop:s3cret@127.0.0.1:1/onestop"});
  EXPECT_THAT(unreachable, StatusIs(absl::StatusCode::kUnavailable,
                                    HasSubstr("postgresql://onestop:***@127.0.0.1:1/onestop")));
  EXPECT_THAT(unreachable.status().message(), Not(HasSubstr("s3cret")));
  // A database the server does not have.
  auto cluster = testing::PgTestCluster::Shared();
  ASSERT_THAT(cluster, IsOk());
  const std::string missing = absl::StrReplaceAll(
      (*cluster)->admin_uri(), {{"/postgres", "/no_such_database"}});
  EXPECT_THAT(PostgresSecurityStore::Open({.uri = missing}),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("no_such_database")));
}

}  // namespace
}  // namespace onestop::storage
