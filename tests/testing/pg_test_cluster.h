// A throwaway PostgreSQL 15 server for tests (issue #11: real PostgreSQL,
// no mock), on loopback only.
//
// PgTestCluster::Shared() starts one per test process on first use —
// initdb into a fresh temporary directory, then pg_ctl start on a free
// loopback port with its socket in that directory (~0.7 s) — and stops it
// (pg_ctl -m immediate) and deletes the directory at exit. Running as
// root, the server runs as the `postgres` user (runuser), as initdb
// refuses root. Each test takes a fresh database from NewDatabase(), so
// tests never see each other's rows.
//
// ONESTOP_TEST_PG_URI=postgresql://user@host:port/ (a server where the user
// may CREATE DATABASE) uses that server instead of starting one; the
// databases created there are dropped at exit. (A crash or a ctest timeout
// skips the exit handlers: the temporary directory, or the databases, stay.)
//
// The test server runs with fsync=off: tests kill onestopd, never the
// PostgreSQL server, so durability against power loss is not what they
// measure (the benchmark runs with the defaults).
//
// Thread safety: Shared() and NewDatabase() are thread-safe.
#ifndef ONESTOP_TESTS_TESTING_PG_TEST_CLUSTER_H_
#define ONESTOP_TESTS_TESTING_PG_TEST_CLUSTER_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace onestop::testing {

class PgTestCluster {
 public:
  // The process's cluster, started on first call. An error (PostgreSQL not
  // installed, initdb failed, …) is returned on this and every later call;
  // tests fail with it (CI installs PostgreSQL: a missing server is a
  // failure, not a skip).
  static absl::StatusOr<PgTestCluster*> Shared();

  // Creates a new, empty database and returns its URI
  // ("postgresql://postgres@127.0.0.1:PORT/onestop_test_N").
  absl::StatusOr<std::string> NewDatabase();

  // The server's base URI (database "postgres").
  const std::string& admin_uri() const { return admin_uri_; }
  int port() const { return port_; }

 private:
  PgTestCluster() = default;
  absl::Status Start();
  // initdb + pg_ctl start into dir_ (Start cleans up if it fails).
  absl::Status StartServer();
  void Stop();
  // With ONESTOP_TEST_PG_URI: drops the databases this process created.
  void DropDatabases();
  // Registers cluster->Stop() to run at exit.
  static void StopAtExit(PgTestCluster* cluster);

  std::string dir_;        // empty when using ONESTOP_TEST_PG_URI
  std::string base_uri_;   // without the database name, ending in '/'
  std::string admin_uri_;
  int port_ = 0;
  absl::Mutex mu_;
  int next_database_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::string> created_ ABSL_GUARDED_BY(mu_);  // on a shared server
};

// Shorthand: Shared() then NewDatabase(). In a test body:
//   absl::StatusOr<std::string> uri = NewPgDatabase();
//   ASSERT_TRUE(uri.ok()) << uri.status();
absl::StatusOr<std::string> NewPgDatabase();

}  // namespace onestop::testing

#endif  // ONESTOP_TESTS_TESTING_PG_TEST_CLUSTER_H_
