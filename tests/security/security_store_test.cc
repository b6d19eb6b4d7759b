// SqliteSecurityStore: tokens stored as hashes with expiry and revocation,
// the append-only audit log, and coexistence with the dossier store.
#include "storage/security/sqlite_security_store.h"

#include <sqlite3.h>

#include <fstream>
#include <iterator>
#include <memory>
#include <set>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/util/proto_time.h"
#include "storage/security/token_secret.h"
#include "storage/sqlite/sqlite_dossier_store.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace onestop::storage {
namespace {

using ::onestop::testing::IsOk;
using ::onestop::testing::IsOkAndHolds;
using ::onestop::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;

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

class SecurityStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The daemon's order: the dossier store creates and stamps the file.
    auto dossiers = SqliteDossierStore::Open({.path = path_, .durability = Durability::kNormal});
    ASSERT_THAT(dossiers, IsOk());
    dossiers_ = std::move(*dossiers);
    auto store = SqliteSecurityStore::Open(
        {.path = path_, .durability = SecurityDurability::kNormal});
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

  testing::TempDir dir_;
  std::string path_ = dir_.File("onestop.db");
  std::unique_ptr<SqliteDossierStore> dossiers_;
  std::unique_ptr<SqliteSecurityStore> store_;
};

TEST_F(SecurityStoreTest, SecretIsShownOnceAndOnlyItsHashIsStored) {
  const CreatedToken created = Create("clerk.lienson");
  EXPECT_THAT(created.secret, MatchesRegex("ost_[A-Za-z0-9_-]{43}"));
  EXPECT_THAT(created.info.id(), MatchesRegex("tk_[0-9a-f]{12}"));
  EXPECT_EQ(created.info.principal().id(), "clerk.lienson");
  EXPECT_EQ(created.info.label(), "desk clerk.lienson");
  EXPECT_EQ(FromProtoTime(created.info.expire_time()), kT0 + absl::Hours(1));
  EXPECT_FALSE(created.info.has_revoke_time());
  // Neither the secret nor its random part is anywhere in the files.
  store_.reset();
  dossiers_.reset();
  std::string bytes;
  for (const char* suffix : {"", "-wal"}) {
    std::ifstream in(path_ + suffix, std::ios::binary);
    bytes.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  ASSERT_FALSE(bytes.empty());
  EXPECT_EQ(bytes.find(created.secret.substr(4)), std::string::npos);
  EXPECT_NE(bytes.find(security_internal::Sha256(created.secret)), std::string::npos);
}

TEST_F(SecurityStoreTest, SecretsAndIdsAreRandom) {
  std::set<std::string> secrets, ids;
  for (int i = 0; i < 50; ++i) {
    const CreatedToken created = Create("p" + std::to_string(i));
    secrets.insert(created.secret);
    ids.insert(created.info.id());
  }
  EXPECT_EQ(secrets.size(), 50u);
  EXPECT_EQ(ids.size(), 50u);
}

TEST_F(SecurityStoreTest, AuthenticateUntilExpiry) {
  const CreatedToken created = Create("clerk.lienson", absl::Minutes(10));
  auto principal = store_->Authenticate(created.secret, kT0 + absl::Minutes(10) - absl::Microseconds(1));
  ASSERT_THAT(principal, IsOk());
  EXPECT_EQ(principal->id(), "clerk.lienson");
  ASSERT_EQ(principal->grants_size(), 1);
  EXPECT_EQ(principal->grants(0).agency_code(), "000.31.01.H15");
  EXPECT_THAT(store_->Authenticate(created.secret, kT0 + absl::Minutes(10)),
              StatusIs(absl::StatusCode::kUnauthenticated, "invalid or expired token"));
}

TEST_F(SecurityStoreTest, RevocationTakesEffectImmediatelyAndIsIdempotent) {
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

TEST_F(SecurityStoreTest, UnknownAndMalformedTokensGetTheSameAnswer) {
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

TEST_F(SecurityStoreTest, CreateRefusesATokenThatNeverLives) {
  EXPECT_THAT(store_->CreateToken({.principal = ClerkPrincipal("a"), .created = kT0, .expires = kT0}),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(SecurityStoreTest, ListTokensNewestFirstAndFiltersInactive) {
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

TEST_F(SecurityStoreTest, AuditAppendsAndPagesInOrderWithFilters) {
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

TEST_F(SecurityStoreTest, AuditRefusesUpdateAndDelete) {
  ASSERT_THAT(store_->AppendAudit(Record("a", "AcceptDossier", 0)), IsOk());
  std::string error;
  EXPECT_NE(RawExec(path_, "UPDATE audit SET result_code = 0", &error), SQLITE_OK);
  EXPECT_THAT(error, HasSubstr("append-only"));
  EXPECT_NE(RawExec(path_, "DELETE FROM audit", &error), SQLITE_OK);
  auto page = store_->ListAudit({.limit = 10});
  ASSERT_THAT(page, IsOk());
  EXPECT_EQ(page->records.size(), 1u);
}

TEST_F(SecurityStoreTest, ReopensAndLeavesTheDossierSchemaVersionAlone) {
  const CreatedToken created = Create("clerk.lienson");
  ASSERT_THAT(store_->AppendAudit(Record("a", "AcceptDossier", 0)), IsOk());
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
  EXPECT_THAT((*store)->Authenticate(created.secret, kT0), IsOk());
  EXPECT_THAT((*store)->AppendAudit(Record("a", "AcceptDossier", 0)), IsOkAndHolds(2));
}

TEST_F(SecurityStoreTest, RefusesANewerSecuritySchema) {
  store_.reset();
  ASSERT_EQ(RawExec(path_, "UPDATE component_versions SET version = 99 WHERE component = 'security'"),
            SQLITE_OK);
  EXPECT_THAT(SqliteSecurityStore::Open({.path = path_}),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("security schema version 99")));
}

TEST(SecurityStoreOpenTest, RefusesADatabaseTheDossierStoreHasNotInitialised) {
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

}  // namespace
}  // namespace onestop::storage
