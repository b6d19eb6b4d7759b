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
