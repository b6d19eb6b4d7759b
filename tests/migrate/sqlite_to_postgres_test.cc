// The move from SQLite to PostgreSQL (tools/migrate, docs/MIGRATION.md):
// real SQLite deployments written by the real stores, migrated into fresh
// databases on a throwaway PostgreSQL server and read back through the
// PostgreSQL stores.
#include "tools/migrate/sqlite_to_postgres.h"

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "google/protobuf/util/message_differencer.h"
#include "storage/blobs/postgres_blob_store.h"
#include "storage/blobs/sha256.h"
#include "storage/blobs/sqlite_blob_store.h"
#include "storage/postgres/pg_feed_listener.h"
#include "storage/postgres/pg_util.h"
#include "storage/postgres/postgres_dossier_store.h"
#include "storage/security/postgres_security_store.h"
#include "storage/security/sqlite_security_store.h"
#include "storage/sqlite/sqlite_dossier_store.h"
#include "tests/testing/pg_test_cluster.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"

namespace onestop::migrate {
namespace {

using ::google::protobuf::util::MessageDifferencer;
using ::onestop::storage::CounterDelta;
using ::onestop::storage::CounterQuery;
using ::onestop::storage::CounterSums;
using ::onestop::storage::CreateDossierWrite;
using ::onestop::storage::DossierStore;
using ::onestop::storage::IdempotencyKey;
using ::onestop::storage::UpdateDossierWrite;
using ::onestop::testing::IsOk;
using ::onestop::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::SizeIs;

const absl::Time kT0 = absl::FromUnixSeconds(1736125200);  // 2025-01-06 08:00 +07

google::protobuf::Timestamp Ts(absl::Time t) {
  google::protobuf::Timestamp ts;
  ts.set_seconds(absl::ToUnixSeconds(t));
  return ts;
}

v1::HistoryEntry Entry(int sequence, v1::ActionKind action, v1::DossierStatus from,
                       v1::DossierStatus to, absl::Time time) {
  v1::HistoryEntry entry;
  entry.set_sequence(sequence);
  *entry.mutable_time() = Ts(time);
  entry.set_actor("canbo.lan");
  entry.set_action(action);
  entry.set_from_status(from);
  entry.set_to_status(to);
  entry.set_note("Tiếp nhận hồ sơ tại Bộ phận Một cửa — “đúng hạn”");
  return entry;
}

CounterDelta Delta(const std::string& series, absl::CivilDay day, int slot, int64_t value) {
  CounterDelta delta;
  delta.series = series;
  delta.day = day;
  delta.values[slot] = value;
  return delta;
}

// What a deployment holds, for the assertions.
struct Deployment {
  std::string path;
  std::vector<std::string> codes;
  std::vector<std::string> request_ids;
  std::vector<std::string> token_secrets;
  std::vector<std::string> blob_hashes;
  std::vector<std::string> blob_bytes;
};

struct DeploymentSpec {
  std::string agency = "H12.23";  // codes "<agency>-250106-NNNN"
  int dossiers = 12;
  int audit_records = 7;
  std::string salt = "a";  // makes blob bytes and actors differ between deployments
  std::string applicant = "Nguyễn Thị Hằng";
};

// Writes a commune's database with the real SQLite stores: dossiers with
// history and Vietnamese text, idempotency records, report counters, a
// compacted feed, tokens, audit records and blobs (one of three chunks, one
// left claimed as after a crash).
Deployment BuildDeployment(const std::string& path, const DeploymentSpec& spec) {
  Deployment out;
  out.path = path;
  {
    storage::SqliteOptions options;
    options.path = path;
    options.durability = storage::Durability::kNormal;
    auto store = storage::SqliteDossierStore::Open(options);
    EXPECT_THAT(store, IsOk());
    if (!store.ok()) return out;
    for (int i = 0; i < spec.dossiers; ++i) {
      CreateDossierWrite create;
      v1::Dossier& d = create.dossier;
      d.set_receiving_agency_code(spec.agency);
      d.set_holder_agency_code(spec.agency);
      d.set_procedure_code(i % 2 == 0 ? "1.001193" : "2.000908");
      d.set_status(v1::DOSSIER_STATUS_RECEIVED);
      d.mutable_applicant()->set_full_name(absl::StrCat(spec.applicant, " ", i));
      d.mutable_applicant()->set_address("thôn 3, xã Liên Sơn Lắk, tỉnh Đắk Lắk");
      d.set_summary("Đăng ký khai sinh — “ưu tiên”");
      *d.mutable_submitted_time() = Ts(kT0 + absl::Minutes(i));
      *d.mutable_due_time() = Ts(kT0 + absl::Hours(24 * 5));
      create.entry = Entry(1, v1::ACTION_KIND_SUBMIT, v1::DOSSIER_STATUS_UNSPECIFIED,
                           v1::DOSSIER_STATUS_RECEIVED, kT0 + absl::Minutes(i));
      create.entry.set_actor(absl::StrCat("canbo.", spec.salt));
      create.code_prefix = absl::StrCat(spec.agency, "-250106-");
      const std::string request_id = absl::StrFormat("%s-req-%04d", spec.salt, i);
      create.idempotency = IdempotencyKey{request_id, "fp-create"};
      create.counter_deltas = {Delta("received|" + spec.agency, absl::CivilDay(2025, 1, 6), 0, 1),
                               Delta("shared", absl::CivilDay(2025, 1, 6), 1, 2)};
      auto created = (*store)->Create(create);
      EXPECT_THAT(created, IsOk());
      if (!created.ok()) return out;
      out.codes.push_back(created->code());
      out.request_ids.push_back(request_id);
      if (i % 3 == 0) {  // a second history entry, event and counter delta
        UpdateDossierWrite update;
        update.dossier = *created;
        update.dossier.clear_history();
        update.dossier.set_status(v1::DOSSIER_STATUS_PROCESSING);
        update.dossier.set_holder_agency_code(spec.agency + ".07");
        update.expected_etag = created->etag();
        update.entry = Entry(2, v1::ACTION_KIND_HAND_OVER, v1::DOSSIER_STATUS_RECEIVED,
                             v1::DOSSIER_STATUS_PROCESSING, kT0 + absl::Hours(1));
        update.counter_deltas = {Delta("shared", absl::CivilDay(2025, 1, 7), 2, 1)};
        EXPECT_THAT((*store)->Update(update), IsOk());
      }
    }
    // Retention: the feed starts above revision 1.
    EXPECT_THAT((*store)->CompactEvents(4), IsOk());
  }
  {
    storage::SqliteSecurityStoreOptions options;
    options.path = path;
    auto security = storage::SqliteSecurityStore::Open(options);
    EXPECT_THAT(security, IsOk());
    if (!security.ok()) return out;
    for (int i = 0; i < 2; ++i) {
      storage::NewToken token;
      token.principal.set_id(absl::StrCat("canbo.", spec.salt, i));
      token.label = "Bộ phận Một cửa xã";
      token.created = kT0;
      token.expires = kT0 + absl::Hours(24 * 3650);
      auto created = (*security)->CreateToken(token);
      EXPECT_THAT(created, IsOk());
      if (created.ok()) out.token_secrets.push_back(created->secret);
    }
    for (int i = 0; i < spec.audit_records; ++i) {
      v1::AuditRecord record;
      *record.mutable_time() = Ts(kT0 + absl::Seconds(i));
      record.set_principal_id(absl::StrCat("canbo.", spec.salt, "0"));
      record.set_rpc(i % 2 == 0 ? "SubmitDossier" : "GetDossier");
      record.set_dossier_code(out.codes.empty() ? "" : out.codes[i % out.codes.size()]);
      record.set_agency_code(spec.agency);
      record.set_result_code(i == 3 ? 7 : 0);
      record.set_message(i == 3 ? "không có quyền" : "");
      EXPECT_THAT((*security)->AppendAudit(record), IsOk());
    }
  }
  {
    storage::SqliteBlobStoreOptions options;
    options.path = path;
    auto blobs = storage::SqliteBlobStore::Open(options);
    EXPECT_THAT(blobs, IsOk());
    if (!blobs.ok()) return out;
    const std::vector<size_t> sizes = {1000, 2 * storage::kBlobChunkBytes + 12345, 77};
    for (size_t b = 0; b < sizes.size(); ++b) {
      std::string bytes(sizes[b], '\0');
      for (size_t i = 0; i < bytes.size(); ++i) {
        bytes[i] = static_cast<char>((i * 31 + b * 7 + spec.salt[0]) & 0xff);
      }
      auto writer = (*blobs)->Begin();
      EXPECT_THAT(writer, IsOk());
      if (!writer.ok()) return out;
      EXPECT_THAT((*writer)->Append(bytes), IsOk());
      const std::string sha = storage::Sha256::HexOf(bytes);
      auto stored = (*writer)->Finish(static_cast<int64_t>(bytes.size()), sha);
      EXPECT_THAT(stored, IsOk());
      if (!stored.ok()) return out;
      // The last blob keeps its claim, as a crash would leave it.
      if (b + 1 < sizes.size()) {
        EXPECT_THAT((*blobs)->Release(stored->claim, storage::ClaimOutcome::kReferenced),
                    IsOk());
      }
      out.blob_hashes.push_back(sha);
      out.blob_bytes.push_back(bytes);
    }
  }
  return out;
}

// A province desk's new dossier (another agency than the communes').
CreateDossierWrite LiveCreate(const std::string& agency, const std::string& prefix) {
  CreateDossierWrite create;
  create.dossier.set_receiving_agency_code(agency);
  create.dossier.set_holder_agency_code(agency);
  create.dossier.set_status(v1::DOSSIER_STATUS_RECEIVED);
  create.entry = Entry(1, v1::ACTION_KIND_SUBMIT, v1::DOSSIER_STATUS_UNSPECIFIED,
                       v1::DOSSIER_STATUS_RECEIVED, kT0);
  create.code_prefix = prefix;
  create.counter_deltas = {Delta("shared", absl::CivilDay(2025, 1, 8), 3, 1)};
  return create;
}

class MigrateTest : public ::testing::Test {
 protected:
  std::string NewTarget() {
    absl::StatusOr<std::string> uri = testing::NewPgDatabase();
    EXPECT_THAT(uri, IsOk());
    return uri.ok() ? *uri : "";
  }

  MigrateOptions Options(const std::string& from, const std::string& to) {
    MigrateOptions options;
    options.source_path = from;
    options.target_uri = to;
    options.batch_rows = 4;
    return options;
  }

  std::unique_ptr<storage::SqliteDossierStore> OpenSqlite(const std::string& path) {
    storage::SqliteOptions options;
    options.path = path;
    auto store = storage::SqliteDossierStore::Open(options);
    EXPECT_THAT(store, IsOk());
    return store.ok() ? *std::move(store) : nullptr;
  }

  std::unique_ptr<storage::PostgresDossierStore> OpenPg(
      const std::string& uri, absl::Duration statement_timeout = absl::Seconds(30)) {
    storage::PostgresOptions options;
    options.uri = uri;
    options.pool_size = 2;
    options.statement_timeout = statement_timeout;
    auto store = storage::PostgresDossierStore::Open(options);
    EXPECT_THAT(store, IsOk());
    return store.ok() ? *std::move(store) : nullptr;
  }

  int64_t QueryInt(const std::string& uri, const std::string& sql) {
    auto connection = storage::pg::Connection::Open(uri);
    EXPECT_THAT(connection, IsOk());
    if (!connection.ok()) return -1;
    auto value = (*connection)->QueryInt64(sql, {}, "test query");
    EXPECT_THAT(value, IsOk());
    return value.ok() ? *value : -1;
  }

  static void ExpectVerified(const MigrationReport& report) {
    EXPECT_TRUE(report.verified);
    for (const TableCheck& check : report.checks) {
      EXPECT_TRUE(check.ok) << check.table << ": " << check.source_rows << " vs "
                            << check.target_rows;
      EXPECT_EQ(check.source_rows, check.target_rows) << check.table;
      EXPECT_EQ(check.source_sha256, check.target_sha256) << check.table;
    }
  }

  static const TableCheck* Check(const MigrationReport& report, const std::string& table) {
    for (const TableCheck& check : report.checks) {
      if (check.table == table) return &check;
    }
    return nullptr;
  }

  static std::vector<CounterSums> Sums(DossierStore& store, const std::string& series) {
    CounterQuery query;
    query.series = {series};
    query.ranges = {{storage::kEarliestCounterDay, storage::kLatestCounterDay}};
    auto sums = store.SumCounters(query);
    EXPECT_THAT(sums, IsOk());
    return sums.ok() ? *sums : std::vector<CounterSums>{};
  }

  testing::TempDir dir_;
};

TEST_F(MigrateTest, CleanMoveCopiesEverythingAndTheStoresReadItBack) {
  const Deployment commune = BuildDeployment(dir_.File("xa.db"), {});
  const std::string target = NewTarget();
  std::vector<std::string> steps_seen;
  MigrateOptions options = Options(commune.path, target);
  options.progress = [&](const MigrationProgress& p) {
    EXPECT_LE(p.done, p.total) << p.step;
    if (p.finished) steps_seen.push_back(p.step);
  };
  auto report = MigrateSqliteToPostgres(options);
  ASSERT_THAT(report, IsOk());
  ExpectVerified(*report);
  EXPECT_EQ(report->events_placement, "kept");
  EXPECT_EQ(report->audit_placement, "kept");
  EXPECT_THAT(report->checks, SizeIs(9));
  EXPECT_THAT(steps_seen, ::testing::Contains("verify"));
  EXPECT_EQ(Check(*report, "dossiers")->source_rows, 12);
  EXPECT_EQ(Check(*report, "history")->source_rows, 16);
  EXPECT_EQ(Check(*report, "blobs")->source_rows, 3);

  auto sqlite = OpenSqlite(commune.path);
  auto pg = OpenPg(target);
  ASSERT_NE(sqlite, nullptr);
  ASSERT_NE(pg, nullptr);
  for (const std::string& code : commune.codes) {
    auto want = sqlite->Get(code);
    auto got = pg->Get(code);
    ASSERT_THAT(got, IsOk()) << code;
    EXPECT_TRUE(MessageDifferencer::Equals(*want, *got)) << code << "\n"
                                                         << got->DebugString();
  }
  for (const std::string& id : commune.request_ids) {
    auto want = sqlite->FindRequest(id);
    auto got = pg->FindRequest(id);
    ASSERT_THAT(got, IsOk());
    ASSERT_TRUE(got->has_value()) << id;
    EXPECT_EQ((*got)->fingerprint, (*want)->fingerprint);
    EXPECT_TRUE(MessageDifferencer::Equals((*got)->response, (*want)->response));
  }
  // The feed keeps its revisions (consumers' cursors stay valid).
  EXPECT_EQ(*pg->LastRevision(), *sqlite->LastRevision());
  EXPECT_EQ(*pg->FirstRevision(), *sqlite->FirstRevision());
  auto want_events = sqlite->ReadEvents(0, 1000);
  auto got_events = pg->ReadEvents(0, 1000);
  ASSERT_THAT(got_events, IsOk());
  ASSERT_EQ(got_events->size(), want_events->size());
  for (size_t i = 0; i < got_events->size(); ++i) {
    EXPECT_TRUE(MessageDifferencer::Equals((*want_events)[i], (*got_events)[i])) << i;
  }
  for (const std::string& series : {std::string("shared"), std::string("received|H12.23")}) {
    auto want = Sums(*sqlite, series);
    auto got = Sums(*pg, series);
    ASSERT_THAT(got, SizeIs(1)) << series;
    EXPECT_EQ(got[0].sums, want[0].sums) << series;
  }
  // A new write on PostgreSQL continues the codes and the feed.
  CreateDossierWrite create;
  create.dossier.set_receiving_agency_code("H12.23");
  create.dossier.set_status(v1::DOSSIER_STATUS_RECEIVED);
  create.entry = Entry(1, v1::ACTION_KIND_SUBMIT, v1::DOSSIER_STATUS_UNSPECIFIED,
                       v1::DOSSIER_STATUS_RECEIVED, kT0);
  create.code_prefix = "H12.23-250106-";
  auto created = pg->Create(create);
  ASSERT_THAT(created, IsOk());
  EXPECT_EQ(created->code(), "H12.23-250106-0013");
  EXPECT_EQ(*pg->LastRevision(), *sqlite->LastRevision() + 1);

  // Tokens authenticate; the audit log keeps its sequences.
  storage::PostgresSecurityStoreOptions security_options;
  security_options.uri = target;
  auto security = storage::PostgresSecurityStore::Open(security_options);
  ASSERT_THAT(security, IsOk());
  for (const std::string& secret : commune.token_secrets) {
    EXPECT_THAT((*security)->Authenticate(secret, kT0 + absl::Hours(1)), IsOk());
  }
  storage::AuditQuery audit_query;
  auto audit = (*security)->ListAudit(audit_query);
  ASSERT_THAT(audit, IsOk());
  ASSERT_THAT(audit->records, SizeIs(7));
  EXPECT_EQ(audit->records[0].sequence(), 1);
  EXPECT_EQ(audit->records[3].message(), "không có quyền");

  // Blobs read back verified, chunk by chunk.
  storage::PostgresBlobStoreOptions blob_options;
  blob_options.uri = target;
  auto blobs = storage::PostgresBlobStore::Open(blob_options);
  ASSERT_THAT(blobs, IsOk());
  for (size_t b = 0; b < commune.blob_hashes.size(); ++b) {
    auto reader = (*blobs)->Open(commune.blob_hashes[b]);
    ASSERT_THAT(reader, IsOk());
    std::string bytes;
    while (true) {
      auto chunk = (*reader)->Next();
      ASSERT_THAT(chunk, IsOk());
      if (!chunk->has_value()) break;
      bytes += **chunk;
    }
    EXPECT_EQ(bytes, commune.blob_bytes[b]);
  }
  EXPECT_EQ(QueryInt(target, "SELECT count(*) FROM blob_uploads"), 0);
  EXPECT_EQ(QueryInt(target, "SELECT min(referenced) FROM blobs"), 1);  // the claim counts
}

TEST_F(MigrateTest, RerunCopiesNothingAndVerifiesAgain) {
  const Deployment commune = BuildDeployment(dir_.File("xa.db"), {});
  const std::string target = NewTarget();
  auto first = MigrateSqliteToPostgres(Options(commune.path, target));
  ASSERT_THAT(first, IsOk());
  auto second = MigrateSqliteToPostgres(Options(commune.path, target));
  ASSERT_THAT(second, IsOk());
  ExpectVerified(*second);
  EXPECT_EQ(second->source_id, first->source_id);
  for (const StepReport& step : second->steps) {
    EXPECT_EQ(step.copied, 0) << step.step;
    EXPECT_TRUE(step.already_done) << step.step;
  }
  EXPECT_EQ(QueryInt(target, "SELECT count(*) FROM events"), Check(*first, "events")->source_rows);
  EXPECT_EQ(QueryInt(target, "SELECT count(*) FROM audit"), 7);
  EXPECT_EQ(QueryInt(target, "SELECT sum(v0)::bigint FROM report_counters"), 2 * 12);
  for (size_t i = 0; i < first->checks.size(); ++i) {
    EXPECT_EQ(second->checks[i].target_sha256, first->checks[i].target_sha256);
  }
}

TEST_F(MigrateTest, InterruptedMigrationResumesToTheSameResult) {
  const Deployment commune = BuildDeployment(dir_.File("xa.db"), {});
  const std::string straight_target = NewTarget();
  auto straight = MigrateSqliteToPostgres(Options(commune.path, straight_target));
  ASSERT_THAT(straight, IsOk());

  // Killed after 1, then 2, 3, … committed chunks of each run: every run
  // continues where the last stopped, until one finishes.
  const std::string target = NewTarget();
  int runs = 0;
  absl::StatusOr<MigrationReport> report = absl::UnknownError("not run");
  for (int stop_after = 1; runs < 40; ++stop_after) {
    ++runs;
    MigrateOptions options = Options(commune.path, target);
    options.after_chunk = [stop_after](absl::string_view step, int64_t chunks) {
      return chunks >= stop_after ? absl::AbortedError(absl::StrCat("killed in ", step))
                                  : absl::OkStatus();
    };
    report = MigrateSqliteToPostgres(options);
    if (report.ok()) break;
    ASSERT_THAT(report, StatusIs(absl::StatusCode::kAborted, HasSubstr("killed in")));
  }
  ASSERT_THAT(report, IsOk()) << "after " << runs << " runs";
  EXPECT_GT(runs, 3);
  ExpectVerified(*report);
  ASSERT_EQ(report->checks.size(), straight->checks.size());
  for (size_t i = 0; i < report->checks.size(); ++i) {
    EXPECT_EQ(report->checks[i].target_sha256, straight->checks[i].target_sha256)
        << report->checks[i].table;
  }
  // Exactly once: no duplicated counters, events or audit records.
  EXPECT_EQ(QueryInt(target, "SELECT sum(v0)::bigint FROM report_counters"), 2 * 12);
  EXPECT_EQ(QueryInt(target, "SELECT count(*) FROM events"),
            QueryInt(straight_target, "SELECT count(*) FROM events"));
  EXPECT_EQ(QueryInt(target, "SELECT count(*) FROM audit"), 7);
  EXPECT_EQ(QueryInt(target, "SELECT count(*) FROM blobs"), 3);
  EXPECT_EQ(QueryInt(target, "SELECT count(*) FROM blob_chunks"),
            QueryInt(straight_target, "SELECT count(*) FROM blob_chunks"));
}

TEST_F(MigrateTest, MergingIntoAProvinceAppendsTheFeedAndAddsCounters) {
  const Deployment province = BuildDeployment(dir_.File("tinh.db"), {"H12.01", 5, 4, "p"});
  const Deployment commune = BuildDeployment(dir_.File("xa.db"), {"H12.23", 12, 7, "a"});
  const std::string target = NewTarget();
  auto first = MigrateSqliteToPostgres(Options(province.path, target));
  ASSERT_THAT(first, IsOk());
  ExpectVerified(*first);
  const int64_t head = QueryInt(target, "SELECT last_revision FROM feed_head");
  const int64_t province_events = QueryInt(target, "SELECT count(*) FROM events");

  auto merged = MigrateSqliteToPostgres(Options(commune.path, target));
  ASSERT_THAT(merged, IsOk());
  ExpectVerified(*merged);
  EXPECT_NE(merged->source_id, first->source_id);
  EXPECT_NE(merged->counter_shard, first->counter_shard);
  EXPECT_EQ(merged->events_placement, absl::StrCat("appended after ", head));
  EXPECT_EQ(merged->audit_placement, "appended after 4");

  auto pg = OpenPg(target);
  auto sqlite = OpenSqlite(commune.path);
  ASSERT_NE(pg, nullptr);
  ASSERT_NE(sqlite, nullptr);
  const int64_t commune_events = Check(*merged, "events")->source_rows;
  EXPECT_EQ(*pg->LastRevision(), head + commune_events);
  auto events = pg->ReadEvents(head, 1000);
  ASSERT_THAT(events, IsOk());
  auto source_events = sqlite->ReadEvents(0, 1000);
  ASSERT_EQ(events->size(), source_events->size());
  for (size_t i = 0; i < events->size(); ++i) {
    EXPECT_EQ((*events)[i].revision(), head + 1 + static_cast<int64_t>(i));
    v1::DossierEvent want = (*source_events)[i];
    want.set_revision((*events)[i].revision());
    EXPECT_TRUE(MessageDifferencer::Equals(want, (*events)[i])) << i;
  }
  EXPECT_EQ(QueryInt(target, "SELECT count(*) FROM events"), province_events + commune_events);
  // Both deployments' dossiers, and "shared" counters added up.
  EXPECT_THAT(pg->Get(province.codes[0]), IsOk());
  EXPECT_THAT(pg->Get(commune.codes[0]), IsOk());
  auto shared = Sums(*pg, "shared");
  ASSERT_THAT(shared, SizeIs(1));
  EXPECT_EQ(shared[0].sums[0][1], 2 * (5 + 12));
  EXPECT_EQ(shared[0].sums[0][2], 2 + 4);
  EXPECT_EQ(QueryInt(target, "SELECT count(*) FROM audit"), 4 + 7);
  EXPECT_EQ(QueryInt(target, "SELECT max(sequence) FROM audit"), 11);
  EXPECT_EQ(QueryInt(target, "SELECT count(*) FROM tokens"), 4);
  EXPECT_EQ(QueryInt(target, "SELECT count(*) FROM blobs"), 6);
}

TEST_F(MigrateTest, AConflictingCodeFailsBeforeCopyingAnything) {
  const Deployment first = BuildDeployment(dir_.File("a.db"), {"H12.23", 3, 2, "a"});
  // Another system that issued the same codes for other dossiers.
  const Deployment other = BuildDeployment(dir_.File("b.db"), {"H12.23", 5, 2, "b"});
  const std::string target = NewTarget();
  ASSERT_THAT(MigrateSqliteToPostgres(Options(first.path, target)), IsOk());
  // Same dossier rows, but other history entries (another clerk): refused.
  EXPECT_THAT(MigrateSqliteToPostgres(Options(other.path, target)),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("history entry 1 of dossier H12.23-250106-0001 already exists")));
  EXPECT_EQ(QueryInt(target, "SELECT count(*) FROM dossiers"), 3);
  // Other dossier contents: refused too, naming the code.
  DeploymentSpec spec{"H12.23", 5, 2, "c"};
  spec.applicant = "Lê Văn Tám";
  const Deployment third = BuildDeployment(dir_.File("c.db"), spec);
  EXPECT_THAT(MigrateSqliteToPostgres(Options(third.path, target)),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("dossier H12.23-250106-0001 already exists in the target")));
  EXPECT_EQ(QueryInt(target, "SELECT count(*) FROM dossiers"), 3);
  EXPECT_EQ(QueryInt(target, "SELECT count(*) FROM audit"), 2);
  EXPECT_EQ(QueryInt(target, "SELECT count(*) FROM blobs"), 3);
}

TEST_F(MigrateTest, ASourceInUseFails) {
  const Deployment commune = BuildDeployment(dir_.File("xa.db"), {"H12.23", 2, 1, "a"});
  auto running = OpenSqlite(commune.path);  // as onestopd would hold it
  ASSERT_NE(running, nullptr);
  EXPECT_THAT(MigrateSqliteToPostgres(Options(commune.path, NewTarget())),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("stop onestopd first")));
}

TEST_F(MigrateTest, ASourceChangedAfterAnInterruptedRunIsRefused) {
  const Deployment commune = BuildDeployment(dir_.File("xa.db"), {"H12.23", 3, 1, "a"});
  const std::string target = NewTarget();
  MigrateOptions options = Options(commune.path, target);
  options.after_chunk = [](absl::string_view, int64_t) { return absl::AbortedError("killed"); };
  ASSERT_THAT(MigrateSqliteToPostgres(options), StatusIs(absl::StatusCode::kAborted));
  {
    storage::SqliteSecurityStoreOptions security_options;
    security_options.path = commune.path;
    auto security = storage::SqliteSecurityStore::Open(security_options);
    ASSERT_THAT(security, IsOk());
    v1::AuditRecord record;
    record.set_rpc("GetDossier");
    ASSERT_THAT((*security)->AppendAudit(record), IsOk());
  }
  EXPECT_THAT(MigrateSqliteToPostgres(Options(commune.path, target)),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("the source changed")));
}

TEST_F(MigrateTest, BadSourcesAndTargetsFailPrecisely) {
  EXPECT_THAT(MigrateSqliteToPostgres(Options(dir_.File("missing.db"), NewTarget())),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("missing.db")));

  const std::string foreign = dir_.File("foreign.db");
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(foreign.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE t (x); INSERT INTO t VALUES (1);", nullptr,
                           nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  EXPECT_THAT(MigrateSqliteToPostgres(Options(foreign, NewTarget())),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("is not an onestop database")));

  const Deployment commune = BuildDeployment(dir_.File("xa.db"), {"H12.23", 1, 1, "a"});
  EXPECT_THAT(MigrateSqliteToPostgres(
                  Options(commune.path, "postgresql://onestop:s3cret@127.0.0.1:1/onestop")),
              StatusIs(absl::StatusCode::kUnavailable,
                       ::testing::AllOf(HasSubstr("127.0.0.1:1"),
                                        ::testing::Not(HasSubstr("s3cret")))));
  EXPECT_THAT(MigrateSqliteToPostgres(Options(commune.path, "/var/lib/onestop/other.db")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--to")));
}

// The feed as stored: every revision from the first to feed_head present
// once, each body's revision equal to its row's. Returns the rows' codes by
// revision.
std::vector<std::pair<int64_t, std::string>> ReadWholeFeed(const std::string& uri) {
  std::vector<std::pair<int64_t, std::string>> out;
  auto connection = storage::pg::Connection::Open(uri);
  EXPECT_THAT(connection, IsOk());
  if (!connection.ok()) return out;
  auto rows = (*connection)->Exec("SELECT revision, dossier_code, body FROM events ORDER BY "
                                  "revision",
                                  {}, "test query");
  EXPECT_THAT(rows, IsOk());
  if (!rows.ok()) return out;
  for (int r = 0; r < rows->rows(); ++r) {
    v1::DossierEvent event;
    const absl::string_view body = rows->Bytes(r, 2);
    EXPECT_TRUE(event.ParseFromArray(body.data(), static_cast<int>(body.size())));
    EXPECT_EQ(event.revision(), rows->Int64(r, 0));
    if (!out.empty()) {
      EXPECT_EQ(rows->Int64(r, 0), out.back().first + 1) << "a gap in the feed";
    }
    out.emplace_back(rows->Int64(r, 0), rows->Text(r, 1));
  }
  auto head = (*connection)->QueryInt64("SELECT last_revision FROM feed_head", {}, "test");
  EXPECT_THAT(head, IsOk());
  if (head.ok() && !out.empty()) {
    EXPECT_EQ(*head, out.back().first);
  }
  return out;
}

// Review item 9: a merge while the province's daemons keep serving their
// own agencies. A live store creates and updates dossiers of another agency
// throughout (with a short statement timeout: no write may wait long); each
// committed dossier chunk has its history; the code sequences are there
// before the first dossier; the feed ends gap-free with the commune's
// events as one block after the last live revision before the append.
TEST_F(MigrateTest, MergeWhileALiveDaemonWritesOtherAgencies) {
  const Deployment province = BuildDeployment(dir_.File("tinh.db"), {"H12.01", 4, 2, "p"});
  const Deployment commune = BuildDeployment(dir_.File("xa.db"), {"H12.23", 12, 7, "a"});
  const std::string target = NewTarget();
  ASSERT_THAT(MigrateSqliteToPostgres(Options(province.path, target)), IsOk());
  auto live = OpenPg(target, absl::Seconds(2));
  ASSERT_NE(live, nullptr);

  std::atomic<bool> stop{false};
  std::atomic<int> writes{0};
  absl::Mutex mu;
  std::vector<std::string> failures;
  std::thread writer([&] {
    while (!stop.load()) {
      auto created = live->Create(LiveCreate("H12.01", "H12.01-250108-"));
      if (!created.ok()) {
        absl::MutexLock lock(&mu);
        failures.push_back(created.status().ToString());
        continue;
      }
      UpdateDossierWrite update;
      update.dossier = *created;
      update.dossier.clear_history();
      update.dossier.set_status(v1::DOSSIER_STATUS_PROCESSING);
      update.expected_etag = created->etag();
      update.entry = Entry(2, v1::ACTION_KIND_HAND_OVER, v1::DOSSIER_STATUS_RECEIVED,
                           v1::DOSSIER_STATUS_PROCESSING, kT0 + absl::Hours(1));
      auto updated = live->Update(update);
      if (!updated.ok()) {
        absl::MutexLock lock(&mu);
        failures.push_back(updated.status().ToString());
      }
      writes += 2;
    }
  });

  int dossier_chunks = 0;
  std::vector<std::string> chunk_problems;
  MigrateOptions options = Options(commune.path, target);
  options.after_chunk = [&](absl::string_view step, int64_t) {
    if (step == "code_sequences" || step == "dossiers") {
      // The sequences came first: the commune's prefix is at its last code.
      if (QueryInt(target, "SELECT COALESCE(max(last), 0)::bigint FROM code_sequences WHERE "
                           "prefix = 'H12.23-250106-'") != 12) {
        chunk_problems.push_back(absl::StrCat("code_sequences not copied before ", step));
      }
    }
    if (step == "dossiers") {
      ++dossier_chunks;
      // Never a dossier without its history.
      const int64_t bare = QueryInt(
          target, "SELECT count(*) FROM dossiers d WHERE NOT EXISTS (SELECT 1 FROM history h "
                  "WHERE h.dossier_code = d.code)");
      if (bare != 0) chunk_problems.push_back(absl::StrCat(bare, " dossiers without history"));
    }
    absl::SleepFor(absl::Milliseconds(20));  // let the live writer interleave
    return absl::OkStatus();
  };
  auto merged = MigrateSqliteToPostgres(options);
  stop = true;
  writer.join();
  ASSERT_THAT(merged, IsOk());
  ExpectVerified(*merged);
  EXPECT_THAT(failures, ::testing::IsEmpty());
  EXPECT_THAT(chunk_problems, ::testing::IsEmpty());
  EXPECT_GE(dossier_chunks, 3);
  EXPECT_GT(writes.load(), 0);

  // The feed: gap-free, bodies numbered as their rows, the commune's events
  // one block right after `appended_after`.
  const std::vector<std::pair<int64_t, std::string>> feed = ReadWholeFeed(target);
  const int64_t commune_events = Check(*merged, "events")->source_rows;
  int64_t base = -1;
  ASSERT_TRUE(absl::SimpleAtoi(absl::StripPrefix(merged->events_placement, "appended after "),
                               &base))
      << merged->events_placement;
  int64_t in_block = 0;
  for (const auto& [revision, code] : feed) {
    const bool commune_code = absl::StartsWith(code, "H12.23-");
    const bool in_range = revision > base && revision <= base + commune_events;
    EXPECT_EQ(commune_code, in_range) << revision << " " << code;
    if (in_range) ++in_block;
  }
  EXPECT_EQ(in_block, commune_events);
  // Every live write made it, and the province's reports include both.
  auto pg = OpenPg(target);
  ASSERT_NE(pg, nullptr);
  EXPECT_EQ(QueryInt(target, "SELECT count(*) FROM dossiers WHERE code LIKE 'H12.01-250108-%'") *
                2,
            writes.load());
  const std::vector<CounterSums> shared = Sums(*pg, "shared");
  ASSERT_THAT(shared, SizeIs(1));
  EXPECT_EQ(shared[0].sums[0][1], 2 * (4 + 12));
}

// Review item 9: a province daemon that creates on a prefix the commune
// also used (a shared code space) while the dossiers are being copied gets
// the next free code — the sequences were raised before any dossier.
TEST_F(MigrateTest, ACreateOnASharedPrefixDuringTheCopyGetsAFreshCode) {
  const Deployment commune = BuildDeployment(dir_.File("xa.db"), {"H12.23", 12, 2, "a"});
  const std::string target = NewTarget();
  auto live = OpenPg(target);
  ASSERT_NE(live, nullptr);
  std::string issued;
  MigrateOptions options = Options(commune.path, target);
  options.after_chunk = [&](absl::string_view step, int64_t) -> absl::Status {
    if (step != "dossiers" || !issued.empty()) return absl::OkStatus();
    auto created = live->Create(LiveCreate("H12.23", "H12.23-250106-"));
    if (!created.ok()) return created.status();
    issued = created->code();
    return absl::OkStatus();
  };
  auto merged = MigrateSqliteToPostgres(options);
  ASSERT_THAT(merged, IsOk());
  ExpectVerified(*merged);
  EXPECT_EQ(issued, "H12.23-250106-0013");
  EXPECT_EQ(QueryInt(target, "SELECT count(*) FROM dossiers"), 13);
  // The live write came first on the feed: the commune's events follow it.
  EXPECT_EQ(merged->events_placement, "appended after 1");
  ReadWholeFeed(target);
}

// Review item 10: the events are staged chunk by chunk without the feed
// lock — a live write between two staging chunks commits at once (with a
// 1 s statement timeout) and precedes the appended block — and the one
// appending transaction notifies LISTENing followers of the new head.
TEST_F(MigrateTest, EventsAreStagedWithoutTheFeedLockAndFollowersAreNotified) {
  const Deployment province = BuildDeployment(dir_.File("tinh.db"), {"H12.01", 3, 1, "p"});
  const Deployment commune = BuildDeployment(dir_.File("xa.db"), {"H12.23", 12, 2, "a"});
  const std::string target = NewTarget();
  ASSERT_THAT(MigrateSqliteToPostgres(Options(province.path, target)), IsOk());
  auto live = OpenPg(target, absl::Seconds(1));
  ASSERT_NE(live, nullptr);

  absl::Mutex mu;
  std::vector<int64_t> notified;
  auto listener = storage::PgFeedListener::Start({.uri = target}, [&](int64_t revision) {
    absl::MutexLock lock(&mu);
    notified.push_back(revision);
  });
  ASSERT_THAT(listener, IsOk());

  int staging_chunks = 0;
  int64_t last_live_revision = 0;
  MigrateOptions options = Options(commune.path, target);
  options.after_chunk = [&](absl::string_view step, int64_t) -> absl::Status {
    if (step != "events" ||
        QueryInt(target, "SELECT count(*) FROM migration_staged_events") == 0) {
      return absl::OkStatus();
    }
    ++staging_chunks;
    // Would time out (1 s) if the feed lock were held across the staging.
    auto created = live->Create(LiveCreate("H12.01", "H12.01-250108-"));
    if (!created.ok()) return created.status();
    last_live_revision = *live->LastRevision();
    return absl::OkStatus();
  };
  auto merged = MigrateSqliteToPostgres(options);
  ASSERT_THAT(merged, IsOk());
  ExpectVerified(*merged);
  const int64_t commune_events = Check(*merged, "events")->source_rows;
  EXPECT_GE(staging_chunks, 2);
  EXPECT_EQ(merged->events_placement, absl::StrCat("appended after ", last_live_revision));
  const int64_t head = QueryInt(target, "SELECT last_revision FROM feed_head");
  EXPECT_EQ(head, last_live_revision + commune_events);
  EXPECT_EQ(QueryInt(target, "SELECT count(*) FROM migration_staged_events"), 0);
  EXPECT_EQ(QueryInt(target, "SELECT count(*) FROM migration_staged_audit"), 0);
  ReadWholeFeed(target);

  // The append's NOTIFY carried the new head.
  const absl::Time give_up = absl::Now() + absl::Seconds(5);
  bool seen = false;
  while (!seen && absl::Now() < give_up) {
    {
      absl::MutexLock lock(&mu);
      seen = std::find(notified.begin(), notified.end(), head) != notified.end();
    }
    if (!seen) absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_TRUE(seen) << "no notification of revision " << head;
  (*listener)->Stop();
}

// Review item 11: a request_id the target already holds with other content
// (two deployments used the same idempotency key) is refused up front,
// naming it, and nothing is copied.
TEST_F(MigrateTest, AConflictingRequestIdFailsBeforeCopyingAnything) {
  const Deployment first = BuildDeployment(dir_.File("a.db"), {"H12.23", 3, 2, "a"});
  // Another commune whose clients used the same request ids ("a-req-0000"…)
  // for its own dossiers.
  const Deployment other = BuildDeployment(dir_.File("b.db"), {"H12.24", 3, 2, "a"});
  const std::string target = NewTarget();
  ASSERT_THAT(MigrateSqliteToPostgres(Options(first.path, target)), IsOk());
  const int64_t events = QueryInt(target, "SELECT count(*) FROM events");
  EXPECT_THAT(MigrateSqliteToPostgres(Options(other.path, target)),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("request_id a-req-0000 already exists in the target")));
  EXPECT_EQ(QueryInt(target, "SELECT count(*) FROM dossiers"), 3);
  EXPECT_EQ(QueryInt(target, "SELECT count(*) FROM history"), 4);
  EXPECT_EQ(QueryInt(target, "SELECT count(*) FROM code_sequences"), 1);
  EXPECT_EQ(QueryInt(target, "SELECT count(*) FROM requests"), 3);
  EXPECT_EQ(QueryInt(target, "SELECT count(*) FROM events"), events);
  EXPECT_EQ(QueryInt(target, "SELECT count(*) FROM audit"), 2);
  EXPECT_EQ(QueryInt(target, "SELECT count(*) FROM tokens"), 2);
  EXPECT_EQ(QueryInt(target, "SELECT count(*) FROM report_counters WHERE shard >= 1000001"), 0);
}

// Review item 13: every source gets its own counter shard, the next after
// the highest, recorded with the source.
TEST_F(MigrateTest, EachSourceGetsTheNextCounterShard) {
  const Deployment a = BuildDeployment(dir_.File("a.db"), {"H12.01", 2, 1, "a"});
  const Deployment b = BuildDeployment(dir_.File("b.db"), {"H12.02", 2, 1, "b"});
  const std::string target = NewTarget();
  auto first = MigrateSqliteToPostgres(Options(a.path, target));
  ASSERT_THAT(first, IsOk());
  EXPECT_EQ(first->counter_shard, 1000000);
  auto second = MigrateSqliteToPostgres(Options(b.path, target));
  ASSERT_THAT(second, IsOk());
  EXPECT_EQ(second->counter_shard, 1000001);
  EXPECT_EQ(QueryInt(target, "SELECT max(counter_shard)::bigint FROM migration_sources"),
            1000001);
  EXPECT_EQ(QueryInt(target, "SELECT count(*) FROM migration_sources WHERE verified"), 2);
}

// The command itself: the real onestopctl binary against real PostgreSQL.
TEST_F(MigrateTest, OnestopctlMigratesPrintsTheTableAndExitsByCode) {
  const Deployment commune = BuildDeployment(dir_.File("xa.db"), {"H12.23", 6, 3, "a"});
  const std::string target = NewTarget();
  testing::ProcessResult run = testing::RunProcess(
      {ONESTOPCTL_PATH, "admin", "migrate", "--from", commune.path, "--to", target});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("verified: every count and checksum matches"));
  EXPECT_THAT(run.out, ::testing::ContainsRegex("dossiers +6 +6 .* ok"));
  EXPECT_THAT(run.out, HasSubstr("events: revisions kept"));
  EXPECT_THAT(run.err, HasSubstr("dossiers"));  // one line per step without a terminal

  testing::ProcessResult again = testing::RunProcess(
      {ONESTOPCTL_PATH, "admin", "migrate", "--quiet", "--from", commune.path, "--to", target});
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(again.err, "");
  EXPECT_THAT(again.out, HasSubstr("(done before)"));

  // A mismatch (a migrated row changed behind the tool's back) exits DATA_LOSS.
  {
    auto connection = storage::pg::Connection::Open(target);
    ASSERT_THAT(connection, IsOk());
    ASSERT_THAT((*connection)->ExecScript("UPDATE tokens SET label = 'đổi'", "test"), IsOk());
  }
  testing::ProcessResult mismatch = testing::RunProcess(
      {ONESTOPCTL_PATH, "admin", "migrate", "-q", "--from", commune.path, "--to", target});
  EXPECT_EQ(mismatch.exit_code, 15) << mismatch.err;
  EXPECT_THAT(mismatch.out, ::testing::ContainsRegex("tokens +2 +2 .* MISMATCH"));
  EXPECT_THAT(mismatch.err, HasSubstr("DATA_LOSS: verification failed for tokens"));

  auto running = OpenSqlite(commune.path);
  testing::ProcessResult locked = testing::RunProcess(
      {ONESTOPCTL_PATH, "admin", "migrate", "--from", commune.path, "--to", target});
  EXPECT_EQ(locked.exit_code, 9);
  EXPECT_THAT(locked.err, HasSubstr("stop onestopd first"));
}

}  // namespace
}  // namespace onestop::migrate
