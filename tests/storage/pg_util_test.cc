#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/postgres/pg_util.h"
#include "tests/testing/pg_test_cluster.h"
namespace onestop {
TEST(PgUtil, Roundtrip) {
  auto uri = testing::NewPgDatabase();
  ASSERT_TRUE(uri.ok()) << uri.status();
  auto pool = storage::pg::ConnectionPool::Open({.uri = *uri, .size = 2});
  ASSERT_TRUE(pool.ok()) << pool.status();
  auto lease = (*pool)->Acquire();
  ASSERT_TRUE(lease.ok());
  auto& c = **lease;
  ASSERT_TRUE(c.ExecScript("CREATE TABLE t (a BIGINT PRIMARY KEY, b TEXT, c BYTEA)", "x").ok());
  auto r = c.Exec("INSERT INTO t VALUES ($1, $2, $3)", {storage::pg::Param::Int64(-5), storage::pg::Param::Text("Đắk Lắk"), storage::pg::Param::Bytes(std::string("\0\1\2", 3))}, "ins");
  ASSERT_TRUE(r.ok()) << r.status();
  auto dup = c.Exec("INSERT INTO t VALUES ($1, $2, $3)", {storage::pg::Param::Int64(-5), storage::pg::Param::Text("x"), storage::pg::Param::Null()}, "ins");
  EXPECT_EQ(dup.status().code(), absl::StatusCode::kAlreadyExists) << dup.status();
  auto q = c.Exec("SELECT a, b, c, count(*) OVER () FROM t", {}, "sel");
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->Int64(0, 0), -5);
  EXPECT_EQ(q->Text(0, 1), "Đắk Lắk");
  EXPECT_EQ(q->Bytes(0, 2), std::string("\0\1\2", 3));
  EXPECT_EQ(q->Int64(0, 3), 1);
  auto bad = c.Exec("SELECT $1::text", {storage::pg::Param::Text("\xff")}, "bad");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument) << bad.status();
  EXPECT_EQ(storage::pg::RedactUri("postgresql://u:secret@h:5/d"), "postgresql://u:***@h:5/d");
  storage::pg::PgMigration m[] = {{1, "CREATE TABLE m1 (x INT)"}, {2, "CREATE TABLE m2 (x INT)"}};
  ASSERT_TRUE(storage::pg::MigrateComponent(c, "test", m).ok());
  ASSERT_TRUE(storage::pg::MigrateComponent(c, "test", m).ok());
}
}  // namespace onestop

namespace onestop {
namespace {

using storage::pg::ConnectionPool;
using storage::pg::Param;

TEST(PgUtil, TextArrayRoundTripsQuotesBackslashesAndVietnamese) {
  auto uri = testing::NewPgDatabase();
  ASSERT_TRUE(uri.ok()) << uri.status();
  auto connection = storage::pg::Connection::Open(*uri);
  ASSERT_TRUE(connection.ok()) << connection.status();
  const std::vector<std::string> values = {"a\"b", "c\\d", "Đắk Lắk", "", "x,y{z}"};
  auto result = (*connection)->Exec("SELECT unnest($1::text[])", {Param::TextArray(values)},
                                    "unnest");
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->rows(), static_cast<int>(values.size()));
  for (int i = 0; i < result->rows(); ++i) EXPECT_EQ(result->Text(i, 0), values[i]);
}

TEST(PgUtil, StorableTextRefusesNulInvalidUtf8AndSurrogates) {
  EXPECT_TRUE(storage::pg::IsStorableText("Nguyễn Thị Hằng"));
  EXPECT_FALSE(storage::pg::IsStorableText(std::string("a\0b", 3)));
  EXPECT_FALSE(storage::pg::IsStorableText("\xff"));
  EXPECT_FALSE(storage::pg::IsStorableText("\xc0\xaf"));        // overlong '/'
  EXPECT_FALSE(storage::pg::IsStorableText("\xed\xa0\x80"));    // a UTF-16 surrogate
  EXPECT_EQ(storage::pg::CheckStorableText("\xff", "agency code").code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(PgUtil, PoolReplacesAConnectionTheServerClosedWhileIdle) {
  auto uri = testing::NewPgDatabase();
  ASSERT_TRUE(uri.ok()) << uri.status();
  auto pool = ConnectionPool::Open({.uri = *uri, .size = 1});
  ASSERT_TRUE(pool.ok()) << pool.status();
  int64_t first_pid = 0;
  {
    auto lease = (*pool)->Acquire();
    ASSERT_TRUE(lease.ok());
    auto pid = (*lease)->QueryInt64("SELECT pg_backend_pid()::bigint", {}, "pid");
    ASSERT_TRUE(pid.ok()) << pid.status();
    first_pid = *pid;
  }
  // Another session terminates the pooled one (as a server restart would).
  auto admin = storage::pg::Connection::Open(*uri);
  ASSERT_TRUE(admin.ok());
  ASSERT_TRUE((*admin)
                  ->Exec("SELECT pg_terminate_backend($1::bigint::integer)", {Param::Int64(first_pid)},
                         "terminate")
                  .ok());
  // Wait until the server has ended that session (its FATAL is then on
  // the pooled connection's socket).
  for (int i = 0; i < 500; ++i) {
    auto alive = (*admin)->QueryInt64(
        "SELECT count(*) FROM pg_stat_activity WHERE pid = $1::bigint::integer",
        {Param::Int64(first_pid)}, "is it gone");
    ASSERT_TRUE(alive.ok()) << alive.status();
    if (*alive == 0) break;
    absl::SleepFor(absl::Milliseconds(10));
  }
  auto lease = (*pool)->Acquire();
  ASSERT_TRUE(lease.ok()) << lease.status();
  auto pid = (*lease)->QueryInt64("SELECT pg_backend_pid()::bigint", {}, "pid");
  ASSERT_TRUE(pid.ok()) << "the caller got the dead connection: " << pid.status();
  EXPECT_NE(*pid, first_pid);
}

TEST(PgUtil, SessionsEndAbandonedTransactionsAndMapErrorsPrecisely) {
  auto uri = testing::NewPgDatabase();
  ASSERT_TRUE(uri.ok()) << uri.status();
  auto connection = storage::pg::Connection::Open(*uri);
  ASSERT_TRUE(connection.ok());
  auto& c = **connection;
  auto timeout = c.Exec("SELECT current_setting('idle_in_transaction_session_timeout')", {},
                        "show");
  ASSERT_TRUE(timeout.ok());
  EXPECT_EQ(timeout->Text(0, 0), "15s");
  ASSERT_TRUE(c.ExecScript("CREATE TABLE t (a BIGINT NOT NULL)", "create").ok());
  // NOT NULL of our own schema: a broken invariant, not the caller's fault.
  EXPECT_EQ(c.Exec("INSERT INTO t VALUES ($1)", {Param::Null()}, "insert").status().code(),
            absl::StatusCode::kInternal);
}

TEST(PgUtil, ConnectErrorsSayWhetherToRetry) {
  absl::StatusOr<testing::PgTestCluster*> cluster = testing::PgTestCluster::Shared();
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  // Nothing listens on port 1: transient.
  auto unreachable = storage::pg::Connection::Open("postgresql://postgres@127.0.0.1:1/x");
  EXPECT_EQ(unreachable.status().code(), absl::StatusCode::kUnavailable) << unreachable.status();
  // An unknown database: the operator must fix the URI.
  auto unknown = storage::pg::Connection::Open(absl::StrCat(
      "postgresql://postgres:secret@127.0.0.1:", (*cluster)->port(), "/no_such_database"));
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kFailedPrecondition) << unknown.status();
  EXPECT_THAT(std::string(unknown.status().message()), ::testing::HasSubstr("postgres:***@"));
  EXPECT_THAT(std::string(unknown.status().message()),
              ::testing::Not(::testing::HasSubstr("secret")));
}

}  // namespace
}  // namespace onestop
