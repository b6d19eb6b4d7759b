// Credentials for tests: every RPC of the daemon checks its caller, so
// in-process servers get a real security store on the test's database and
// tests get real tokens (issued straight into the store, or through a
// running onestopd with its bootstrap admin token).
#ifndef ONESTOP_TESTS_TESTING_TEST_AUTH_H_
#define ONESTOP_TESTS_TESTING_TEST_AUTH_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "onestop/v1/security_service.pb.h"
#include "server/core/catalogue.h"
#include "server/service/onestop_server.h"
#include "storage/security/sqlite_security_store.h"

namespace onestop::testing {

// The security tables of one test database.
class TestAuth {
 public:
  // Opens them on `db_path` (a file the dossier store opened first, or
  // ":memory:"). With `shared_writer` (that dossier store; it must outlive
  // this object) token and audit writes go through its writer as in the
  // daemon (server/ops/storage_backend.cc), and handlers may start calls
  // on gRPC's thread (SecurityStore::AuthenticateFromMemory).
  static absl::StatusOr<std::unique_ptr<TestAuth>> Open(
      const std::string& db_path, storage::sqlite_internal::SharedWriter* shared_writer = nullptr);

  storage::SqliteSecurityStore* store() const { return store_.get(); }

  // A token for `principal` valid for a year of real time from 2000 on
  // (tests move controlled clocks around 2020).
  absl::StatusOr<std::string> TokenFor(const onestop::v1::Principal& principal);
  // A token for `principal_id` holding every role at every root agency of
  // `catalogue`: a caller that may do anything, recorded as `principal_id`.
  absl::StatusOr<std::string> AllRolesToken(const core::Catalogue& catalogue,
                                            const std::string& principal_id = "tester");

 private:
  explicit TestAuth(std::unique_ptr<storage::SqliteSecurityStore> store)
      : store_(std::move(store)) {}
  std::unique_ptr<storage::SqliteSecurityStore> store_;
};

// Open, or abort the test binary with the reason (for fixtures).
std::unique_ptr<TestAuth> MustOpenTestAuth(
    const std::string& db_path, storage::sqlite_internal::SharedWriter* shared_writer = nullptr);
// The value, or abort the test binary with the status.
std::string MustToken(const absl::StatusOr<std::string>& token);

// The principal AllRolesToken issues (for tokens made through the API).
onestop::v1::Principal AllRolesPrincipal(const std::vector<std::string>& root_agencies,
                                         const std::string& principal_id);

// A channel that sends `authorization: Bearer <token>` with every call.
std::shared_ptr<grpc::Channel> AuthorizedChannel(
    const std::string& address, const std::string& token,
    const grpc::ChannelArguments& args = grpc::ChannelArguments());

// Plain text on loopback for an in-process server.
void UseInsecureLoopback(service::ServerOptions& options);

// onestopd flags for tests: plain text on loopback, and the first admin
// token written to `admin_token_file`.
std::vector<std::string> InsecureDaemonFlags(const std::string& admin_token_file);

// Through the daemon at `address`, with the bootstrap admin token read from
// `admin_token_file`: creates a token for `principal_id` holding every role
// at every root agency, and returns its secret.
absl::StatusOr<std::string> IssueAllRolesToken(const std::string& address,
                                               const std::string& admin_token_file,
                                               const std::string& principal_id = "tester");

}  // namespace onestop::testing

#endif  // ONESTOP_TESTS_TESTING_TEST_AUTH_H_
