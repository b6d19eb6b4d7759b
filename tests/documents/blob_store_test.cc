// BlobStore on both backends: chunked writes, verification on the way in
// and out, deduplication, claims, crash leftovers, damaged chunks and flat
// memory for a 50 MB blob (interface tests, run on SQLite and PostgreSQL);
// a byte flipped in the SQLite file; several PostgreSQL daemons sharing the
// blobs (live uploads survive another's Open, a crashed instance's are
// cleared, the same bytes finished at once are stored once, the owner lock
// is taken again after its session breaks).
#include <sqlite3.h>
#include <sys/resource.h>

#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/util/status_macros.h"
#include "storage/blobs/postgres_blob_store.h"
#include "storage/blobs/sha256.h"
#include "storage/blobs/sqlite_blob_store.h"
#include "storage/postgres/pg_util.h"
#include "storage/sqlite/sqlite_dossier_store.h"
#include "tests/testing/pg_test_cluster.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace onestop::storage {
namespace {

using ::onestop::testing::IsOk;
using ::onestop::testing::IsOkAndHolds;
using ::onestop::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kEmptySha256[] =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

// Deterministic bytes that differ at every offset (xorshift), so a chunk
// seam or an off-by-one shows up in the hash.
std::string Bytes(size_t n, uint64_t seed) {
  std::string out(n, '\0');
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (size_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    out[i] = static_cast<char>(x);
  }
  return out;
}

// Peak resident set size of this process, in bytes.
int64_t MaxRssBytes() {
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<int64_t>(usage.ru_maxrss) * 1024;
}

// Runs SQL on a SQLite connection of the test's own.
absl::Status SqliteExec(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_busy_timeout(db, 5000);
  char* error = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
  absl::Status status =
      rc == SQLITE_OK ? absl::OkStatus() : absl::InternalError(error ? error : "sqlite error");
  sqlite3_free(error);
  sqlite3_close(db);
  return status;
}

// Helpers over `store_`, shared by the fixtures below.
class BlobStoreHelpers {
 protected:
  // Writes `data` in pieces of `piece` bytes and finishes with its hash.
  absl::StatusOr<StoredBlob> Put(const std::string& data, size_t piece = 100'000) {
    auto writer = store_->Begin();
    if (!writer.ok()) return writer.status();
    for (size_t i = 0; i < data.size(); i += piece) {
      ONESTOP_RETURN_IF_ERROR((*writer)->Append(absl::string_view(data).substr(i, piece)));
    }
    return (*writer)->Finish(static_cast<int64_t>(data.size()), Sha256::HexOf(data));
  }

  // Reads the whole blob; the reader's final status if it fails.
  absl::StatusOr<std::string> ReadAll(const std::string& sha256) {
    auto reader = store_->Open(sha256);
    if (!reader.ok()) return reader.status();
    std::string out;
    while (true) {
      absl::StatusOr<std::optional<std::string>> chunk = (*reader)->Next();
      if (!chunk.ok()) return chunk.status();
      if (!chunk->has_value()) return out;
      EXPECT_LE((*chunk)->size(), kBlobChunkBytes);
      out += **chunk;
    }
  }

  BlobStats Stats() {
    auto stats = store_->Stats();
    EXPECT_TRUE(stats.ok()) << stats.status();
    return stats.ok() ? *stats : BlobStats{};
  }

  void ExpectEmpty() {
    const BlobStats stats = Stats();
    EXPECT_EQ(stats.blobs, 0);
    EXPECT_EQ(stats.chunks, 0);
    EXPECT_EQ(stats.staged_uploads, 0);
    EXPECT_EQ(stats.claims, 0);
  }

  std::unique_ptr<BlobStore> store_;
};

// One test's database on one backend: opens store instances on it (as a
// daemon would) and runs SQL on a connection of the test's own.
class BlobDatabase {
 public:
  virtual ~BlobDatabase() = default;
  virtual absl::StatusOr<std::unique_ptr<BlobStore>> OpenStore() = 0;
  virtual absl::Status Exec(const std::string& sql) = 0;
  // A SQL literal of the bytes with these hex digits.
  virtual std::string BytesLiteral(absl::string_view hex) const = 0;
};

class SqliteBlobDatabase final : public BlobDatabase {
 public:
  absl::Status Init() {
    // The dossier store initialises the file, as in the daemon.
    auto dossiers = SqliteDossierStore::Open({.path = path_, .durability = Durability::kNormal});
    if (!dossiers.ok()) return dossiers.status();
    dossiers_ = std::move(*dossiers);
    return absl::OkStatus();
  }
  absl::StatusOr<std::unique_ptr<BlobStore>> OpenStore() override {
    auto store = SqliteBlobStore::Open({.path = path_, .durability = BlobDurability::kNormal});
    if (!store.ok()) return store.status();
    return std::unique_ptr<BlobStore>(std::move(*store));
  }
  absl::Status Exec(const std::string& sql) override { return SqliteExec(path_, sql); }
  std::string BytesLiteral(absl::string_view hex) const override {
    return absl::StrCat("x'", hex, "'");
  }

 private:
  testing::TempDir dir_;
  const std::string path_ = dir_.File("onestop.db");
  std::unique_ptr<SqliteDossierStore> dossiers_;
};

class PgBlobDatabase final : public BlobDatabase {
 public:
  explicit PgBlobDatabase(std::string uri) : uri_(std::move(uri)) {}
  absl::StatusOr<std::unique_ptr<BlobStore>> OpenStore() override {
    auto store = PostgresBlobStore::Open({.uri = uri_, .pool_size = 2});
    if (!store.ok()) return store.status();
    return std::unique_ptr<BlobStore>(std::move(*store));
  }
  absl::Status Exec(const std::string& sql) override {
    auto connection = pg::Connection::Open(uri_);
    if (!connection.ok()) return connection.status();
    return (*connection)->ExecScript(sql.c_str(), "the test's statement");
  }
  std::string BytesLiteral(absl::string_view hex) const override {
    return absl::StrCat("'\\x", hex, "'::bytea");
  }

 private:
  std::string uri_;
};

struct BlobBackend {
  std::string name;
  std::function<absl::StatusOr<std::unique_ptr<BlobDatabase>>()> make;
};

void PrintTo(const BlobBackend& backend, std::ostream* os) { *os << backend.name; }

absl::StatusOr<std::unique_ptr<BlobDatabase>> MakeSqlite() {
  auto db = std::make_unique<SqliteBlobDatabase>();
  if (absl::Status status = db->Init(); !status.ok()) return status;
  return std::unique_ptr<BlobDatabase>(std::move(db));
}

absl::StatusOr<std::unique_ptr<BlobDatabase>> MakePostgres() {
  absl::StatusOr<std::string> uri = testing::NewPgDatabase();
  if (!uri.ok()) return uri.status();
  return std::unique_ptr<BlobDatabase>(std::make_unique<PgBlobDatabase>(*uri));
}

// The interface tests: a fresh database and store per test, on each backend.
class BlobStoreTest : public ::testing::TestWithParam<BlobBackend>, public BlobStoreHelpers {
 protected:
  void SetUp() override {
    auto db = GetParam().make();
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    Reopen();
  }

  void Reopen() {
    store_.reset();
    auto store = db_->OpenStore();
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
  }

  void RawExec(const std::string& sql) { EXPECT_THAT(db_->Exec(sql), IsOk()) << sql; }

  std::unique_ptr<BlobDatabase> db_;
};

INSTANTIATE_TEST_SUITE_P(Backends, BlobStoreTest,
                         ::testing::Values(BlobBackend{"Sqlite", MakeSqlite},
                                           BlobBackend{"Postgres", MakePostgres}),
                         [](const ::testing::TestParamInfo<BlobBackend>& info) {
                           return info.param.name;
                         });

TEST_P(BlobStoreTest, FiftyMegabytesInAndOutWithFlatMemory) {
  // Generated and hashed piece by piece: the test itself never holds the
  // file, so the resident-set growth is the store's.
  constexpr int64_t kSize = 50'000'000;
  constexpr size_t kPiece = 1 << 20;
  const int64_t before = MaxRssBytes();
  auto writer = store_->Begin();
  ASSERT_THAT(writer, IsOk());
  Sha256 expected;
  std::string piece;
  for (int64_t offset = 0; offset < kSize; offset += kPiece) {
    piece = Bytes(std::min<int64_t>(kPiece, kSize - offset), offset);
    expected.Update(piece);
    ASSERT_THAT((*writer)->Append(piece), IsOk());
  }
  const std::string sha256 = expected.FinishHex();
  auto stored = (*writer)->Finish(kSize, sha256);
  ASSERT_THAT(stored, IsOk());
  EXPECT_EQ(stored->origin, BlobOrigin::kNew);
  EXPECT_EQ(stored->size_bytes, kSize);
  EXPECT_THAT(store_->Release(stored->claim, ClaimOutcome::kReferenced), IsOk());
  EXPECT_EQ(Stats().chunks, (kSize + kBlobChunkBytes - 1) / kBlobChunkBytes);

  auto reader = store_->Open(sha256);
  ASSERT_THAT(reader, IsOk());
  Sha256 actual;
  int64_t read = 0;
  while (true) {
    auto chunk = (*reader)->Next();
    ASSERT_THAT(chunk, IsOk());
    if (!chunk->has_value()) break;
    read += static_cast<int64_t>((*chunk)->size());
    actual.Update(**chunk);
  }
  EXPECT_EQ(read, kSize);
  EXPECT_EQ(actual.FinishHex(), sha256);
  // Flat: buffers of one storage chunk and one piece, SQLite's page cache;
  // nowhere near the 50 MB that holding the file would take.
  const int64_t growth = MaxRssBytes() - before;
  RecordProperty("peak_rss_growth_bytes", std::to_string(growth));
  EXPECT_LT(growth, 16 << 20) << "peak RSS grew by " << growth << " bytes";
}

TEST_P(BlobStoreTest, ChunkedPutReadsBackWhateverThePieceSizes) {
  const std::string data = Bytes(3 * kBlobChunkBytes + 12345, 1);
  for (size_t piece : {size_t{1} << 20, kBlobChunkBytes, size_t{7777}}) {
    SCOPED_TRACE(piece);
    Reopen();
    auto stored = Put(data, piece);
    ASSERT_THAT(stored, IsOk());
    EXPECT_EQ(stored->sha256, Sha256::HexOf(data));
    EXPECT_THAT(ReadAll(stored->sha256), ::onestop::testing::IsOkAndHolds(data));
    EXPECT_EQ(Stats().chunks, 4);
    EXPECT_EQ(Stats().blobs, 1);
  }
}

TEST_P(BlobStoreTest, SameBytesAreStoredOnce) {
  const std::string data = Bytes(600'000, 2);
  auto first = Put(data);
  ASSERT_THAT(first, IsOk());
  ASSERT_THAT(store_->Release(first->claim, ClaimOutcome::kReferenced), IsOk());
  auto second = Put(data, 4096);
  ASSERT_THAT(second, IsOk());
  EXPECT_EQ(first->origin, BlobOrigin::kNew);
  EXPECT_EQ(second->origin, BlobOrigin::kExisting);
  EXPECT_EQ(second->sha256, first->sha256);
  ASSERT_THAT(store_->Release(second->claim, ClaimOutcome::kReferenced), IsOk());
  const BlobStats stats = Stats();
  EXPECT_EQ(stats.blobs, 1);
  EXPECT_EQ(stats.chunks, 3);
  EXPECT_EQ(stats.stored_bytes, 600'000);
  EXPECT_EQ(stats.staged_uploads, 0);
  EXPECT_EQ(stats.claims, 0);
}

TEST_P(BlobStoreTest, AbortAndAbandonedWritersLeaveNothing) {
  {
    auto writer = store_->Begin();
    ASSERT_THAT(writer, IsOk());
    ASSERT_THAT((*writer)->Append(Bytes(700'000, 3)), IsOk());
    EXPECT_EQ(Stats().staged_uploads, 1);
    EXPECT_EQ(Stats().chunks, 2);
    EXPECT_THAT((*writer)->Abort(), IsOk());
    EXPECT_THAT((*writer)->Abort(), IsOk());
    EXPECT_THAT((*writer)->Append("x"), StatusIs(absl::StatusCode::kFailedPrecondition));
  }
  ExpectEmpty();
  {
    auto writer = store_->Begin();
    ASSERT_THAT(writer, IsOk());
    ASSERT_THAT((*writer)->Append(Bytes(300'000, 4)), IsOk());
  }  // destroyed unfinished
  ExpectEmpty();
}

TEST_P(BlobStoreTest, WrongSizeOrHashIsRefusedAndDiscarded) {
  const std::string data = Bytes(400'000, 5);
  {
    auto writer = store_->Begin();
    ASSERT_THAT((*writer)->Append(data), IsOk());
    EXPECT_THAT((*writer)->Finish(400'001, Sha256::HexOf(data)),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("received 400000 bytes but the header declared 400001")));
  }
  ExpectEmpty();
  {
    auto writer = store_->Begin();
    ASSERT_THAT((*writer)->Append(data), IsOk());
    const std::string wrong = Sha256::HexOf("something else");
    EXPECT_THAT((*writer)->Finish(400'000, wrong),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr(absl::StrCat("but the header declared ", wrong))));
    EXPECT_THAT((*writer)->Finish(400'000, Sha256::HexOf(data)),
                StatusIs(absl::StatusCode::kFailedPrecondition));
  }
  ExpectEmpty();
  {
    auto writer = store_->Begin();
    EXPECT_THAT((*writer)->Finish(0, "not-a-hash"),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("64 hex digits")));
  }
  ExpectEmpty();
}

TEST_P(BlobStoreTest, EmptyBlobRoundTrips) {
  auto stored = Put("");
  ASSERT_THAT(stored, IsOk());
  EXPECT_EQ(stored->sha256, kEmptySha256);
  EXPECT_EQ(stored->size_bytes, 0);
  ASSERT_THAT(store_->Release(stored->claim, ClaimOutcome::kReferenced), IsOk());
  EXPECT_THAT(ReadAll(kEmptySha256), ::onestop::testing::IsOkAndHolds(""));
  EXPECT_EQ(Stats().blobs, 1);
  EXPECT_EQ(Stats().chunks, 0);
  // Upper-case hex names the same blob.
  EXPECT_THAT(store_->Open(absl::AsciiStrToUpper(kEmptySha256)), IsOk());
}

TEST_P(BlobStoreTest, UnknownOrMalformedHashes) {
  EXPECT_THAT(store_->Open(Sha256::HexOf("never stored")),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store_->Open("abc"), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_P(BlobStoreTest, MissingOrTruncatedChunksAreDataLoss) {
  const std::string data = Bytes(600'000, 7);
  auto stored = Put(data);
  ASSERT_THAT(stored, IsOk());
  ASSERT_THAT(store_->Release(stored->claim, ClaimOutcome::kReferenced), IsOk());
  RawExec("DELETE FROM blob_chunks WHERE seq = 1");
  EXPECT_THAT(ReadAll(stored->sha256),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("chunk 2 of 3 is missing")));

  const std::string other = Bytes(100'000, 8);
  auto second = Put(other);
  ASSERT_THAT(second, IsOk());
  RawExec(absl::StrCat("UPDATE blob_chunks SET data = substr(data, 1, 1000) WHERE upload_id = "
                       "(SELECT upload_id FROM blobs WHERE sha256 = '",
                       second->sha256, "')"));
  EXPECT_THAT(ReadAll(second->sha256),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("it holds 1000 bytes, not the recorded 100000")));
}

TEST_P(BlobStoreTest, UnusedNewBlobIsDeletedReferencedOneIsKept) {
  const std::string data = Bytes(300'000, 9);
  auto stored = Put(data);
  ASSERT_THAT(stored, IsOk());
  ASSERT_THAT(store_->Release(stored->claim, ClaimOutcome::kUnused), IsOk());
  ExpectEmpty();
  EXPECT_THAT(store_->Release(stored->claim, ClaimOutcome::kUnused), IsOk());  // idempotent

  // Two uploads of the same bytes at once: the refused one must not take
  // the blob from under the accepted one, whichever ends first.
  auto a = Put(data);
  auto b = Put(data);
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  EXPECT_EQ(b->origin, BlobOrigin::kExisting);
  ASSERT_THAT(store_->Release(a->claim, ClaimOutcome::kUnused), IsOk());
  EXPECT_EQ(Stats().blobs, 1);
  ASSERT_THAT(store_->Release(b->claim, ClaimOutcome::kReferenced), IsOk());
  // Once referenced, a later refused upload of the same bytes keeps it.
  auto c = Put(data);
  ASSERT_THAT(c, IsOk());
  ASSERT_THAT(store_->Release(c->claim, ClaimOutcome::kUnused), IsOk());
  EXPECT_THAT(ReadAll(a->sha256), ::onestop::testing::IsOkAndHolds(data));
}

TEST_P(BlobStoreTest, OpenClearsStagedUploadsAndKeepsClaimedBlobs) {
  const std::string data = Bytes(300'000, 10);
  auto stored = Put(data);
  ASSERT_THAT(stored, IsOk());  // claim never released: a crash
  {
    auto writer = store_->Begin();
    ASSERT_THAT((*writer)->Append(Bytes(600'000, 11)), IsOk());
    // A crash before Finish: simulate by recreating the staging rows after
    // the writer cleaned up.
  }
  RawExec(absl::StrCat(
      "INSERT INTO blob_uploads (id, started_us) VALUES (9999, 0);"
      "INSERT INTO blob_chunks (upload_id, seq, data) VALUES (9999, 0, ",
      db_->BytesLiteral("00112233"), ");"));
  EXPECT_EQ(Stats().staged_uploads, 1);
  Reopen();
  BlobStats stats = Stats();
  EXPECT_EQ(stats.staged_uploads, 0);
  EXPECT_EQ(stats.claims, 0);
  EXPECT_EQ(stats.blobs, 1);
  EXPECT_EQ(stats.chunks, 2);
  // The crash's claim counts as a reference: a refused upload of the same
  // bytes now keeps the blob.
  auto again = Put(data);
  ASSERT_THAT(again, IsOk());
  ASSERT_THAT(store_->Release(again->claim, ClaimOutcome::kUnused), IsOk());
  EXPECT_THAT(ReadAll(stored->sha256), ::onestop::testing::IsOkAndHolds(data));
}

// ---- SQLite only: the file ---------------------------------------------------

class SqliteBlobStoreTest : public ::testing::Test, public BlobStoreHelpers {
 protected:
  void SetUp() override {
    auto dossiers = SqliteDossierStore::Open({.path = path_, .durability = Durability::kNormal});
    ASSERT_TRUE(dossiers.ok()) << dossiers.status();
    dossiers_ = std::move(*dossiers);
    Reopen();
  }

  void Reopen() {
    store_.reset();
    auto store = SqliteBlobStore::Open({.path = path_, .durability = BlobDurability::kNormal});
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
  }

  testing::TempDir dir_;
  const std::string path_ = dir_.File("onestop.db");
  std::unique_ptr<SqliteDossierStore> dossiers_;
};

TEST_F(SqliteBlobStoreTest, ByteFlippedInTheDatabaseFileIsDataLoss) {
  // A marker that occurs once in the file, in the middle of chunk 2.
  std::string data = Bytes(700'000, 6);
  const std::string marker = "<<onestop-flip-marker-0123456789>>";
  data.replace(400'000, marker.size(), marker);
  auto stored = Put(data);
  ASSERT_THAT(stored, IsOk());
  ASSERT_THAT(store_->Release(stored->claim, ClaimOutcome::kReferenced), IsOk());
  // Close every connection: SQLite checkpoints the WAL into the file.
  store_.reset();
  dossiers_.reset();
  {
    std::fstream file(path_, std::ios::in | std::ios::out | std::ios::binary);
    ASSERT_TRUE(file.is_open());
    const std::string contents((std::istreambuf_iterator<char>(file)),
                               std::istreambuf_iterator<char>());
    const size_t at = contents.find(marker);
    ASSERT_NE(at, std::string::npos) << "the WAL was not checkpointed into " << path_;
    ASSERT_EQ(contents.find(marker, at + 1), std::string::npos);
    file.seekp(static_cast<std::streamoff>(at + 5));
    file.put(static_cast<char>(contents[at + 5] ^ 0x01));
  }
  auto dossiers = SqliteDossierStore::Open({.path = path_, .durability = Durability::kNormal});
  ASSERT_TRUE(dossiers.ok());
  dossiers_ = std::move(*dossiers);
  Reopen();
  EXPECT_THAT(ReadAll(stored->sha256),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr(absl::StrCat("stored document ", stored->sha256,
                                              " is damaged: its bytes now hash to"))));
}

TEST_F(SqliteBlobStoreTest, RefusesForeignDatabasesAndMemory) {
  EXPECT_THAT(SqliteBlobStore::Open({.path = ":memory:"}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(SqliteBlobStore::Open({.path = dir_.File("other.db")}),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("not an initialised onestop database")));
  EXPECT_THAT(SqliteBlobStore::Open(
                  {.path = dir_.File("other.db"), .check = BlobDatabaseCheck::kStandalone}),
              IsOk());
}

// ---- PostgreSQL only: several daemons on one database -----------------------

class PgBlobStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::string> uri = testing::NewPgDatabase();
    ASSERT_THAT(uri, IsOk());
    uri_ = *uri;
  }

  // A store instance: one per daemon.
  std::unique_ptr<PostgresBlobStore> OpenStore() {
    auto store = PostgresBlobStore::Open({.uri = uri_, .pool_size = 3});
    EXPECT_THAT(store, IsOk());
    return store.ok() ? std::move(*store) : nullptr;
  }

  static BlobStats StatsOf(BlobStore& store) {
    auto stats = store.Stats();
    EXPECT_THAT(stats, IsOk());
    return stats.ok() ? *stats : BlobStats{};
  }

  static absl::StatusOr<StoredBlob> Put(BlobStore& store, const std::string& data) {
    auto writer = store.Begin();
    if (!writer.ok()) return writer.status();
    ONESTOP_RETURN_IF_ERROR((*writer)->Append(data));
    return (*writer)->Finish(static_cast<int64_t>(data.size()), Sha256::HexOf(data));
  }

  static absl::StatusOr<std::string> ReadAll(BlobStore& store, const std::string& sha256) {
    auto reader = store.Open(sha256);
    if (!reader.ok()) return reader.status();
    std::string out;
    while (true) {
      auto chunk = (*reader)->Next();
      if (!chunk.ok()) return chunk.status();
      if (!chunk->has_value()) return out;
      out += **chunk;
    }
  }

  std::string uri_;
};

TEST_F(PgBlobStoreTest, LiveUploadSurvivesAnotherDaemonsOpen) {
  std::unique_ptr<PostgresBlobStore> a = OpenStore();
  ASSERT_NE(a, nullptr);
  const std::string data = Bytes(900'000, 20);
  auto writer = a->Begin();
  ASSERT_THAT(writer, IsOk());
  ASSERT_THAT((*writer)->Append(absl::string_view(data).substr(0, 600'000)), IsOk());
  std::unique_ptr<PostgresBlobStore> b = OpenStore();  // clears dead owners' uploads only
  ASSERT_NE(b, nullptr);
  EXPECT_NE(a->owner(), b->owner());
  BlobStats stats = StatsOf(*b);
  EXPECT_EQ(stats.staged_uploads, 1);
  EXPECT_EQ(stats.chunks, 2);
  ASSERT_THAT((*writer)->Append(absl::string_view(data).substr(600'000)), IsOk());
  auto stored = (*writer)->Finish(900'000, Sha256::HexOf(data));
  ASSERT_THAT(stored, IsOk());
  EXPECT_EQ(stored->origin, BlobOrigin::kNew);
  ASSERT_THAT(a->Release(stored->claim, ClaimOutcome::kReferenced), IsOk());
  EXPECT_THAT(ReadAll(*b, stored->sha256), IsOkAndHolds(data));
  // A claim held by live A survives B's… and a third instance's Open too.
  auto held = Put(*a, Bytes(10, 21));
  ASSERT_THAT(held, IsOk());
  ASSERT_NE(OpenStore(), nullptr);
  EXPECT_EQ(StatsOf(*b).claims, 1);
  ASSERT_THAT(a->Release(held->claim, ClaimOutcome::kUnused), IsOk());
  EXPECT_EQ(StatsOf(*b).blobs, 1);  // the unused one is gone again
}

TEST_F(PgBlobStoreTest, CrashedInstancesUploadsAndClaimsAreClearedByTheNextOpen) {
  std::unique_ptr<PostgresBlobStore> a = OpenStore();
  ASSERT_NE(a, nullptr);
  const std::string data = Bytes(300'000, 22);
  auto claimed = Put(*a, data);  // its claim is never released: a crash
  ASSERT_THAT(claimed, IsOk());
  auto writer = a->Begin();
  ASSERT_THAT(writer, IsOk());
  const std::string staged = Bytes(600'000, 23);
  ASSERT_THAT((*writer)->Append(staged), IsOk());
  a->DropOwnerLockForTesting();  // A's process dies (its session ends)

  std::unique_ptr<PostgresBlobStore> b = OpenStore();
  ASSERT_NE(b, nullptr);
  BlobStats stats = StatsOf(*b);
  EXPECT_EQ(stats.staged_uploads, 0);
  EXPECT_EQ(stats.claims, 0);
  EXPECT_EQ(stats.blobs, 1);
  EXPECT_EQ(stats.chunks, 2);  // the stored blob's only
  // Had A lived on after losing its session, its upload is refused.
  EXPECT_THAT((*writer)->Finish(600'000, Sha256::HexOf(staged)),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("discarded")));
  EXPECT_EQ(StatsOf(*b).blobs, 1);
  // The crash's claim counts as a reference: a refused upload of the same
  // bytes keeps the blob.
  auto again = Put(*b, data);
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(again->origin, BlobOrigin::kExisting);
  ASSERT_THAT(b->Release(again->claim, ClaimOutcome::kUnused), IsOk());
  EXPECT_THAT(ReadAll(*b, claimed->sha256), IsOkAndHolds(data));
}

// The advisory-lock key of an owner id (16 hex digits), as in the store.
int64_t OwnerKey(const std::string& owner) {
  return static_cast<int64_t>(std::stoull(owner, nullptr, 16));
}

// How many sessions hold the session-level advisory lock on `key`.
absl::StatusOr<int64_t> OwnerLockHolders(pg::Connection& c, int64_t key) {
  const uint64_t bits = static_cast<uint64_t>(key);
  return c.QueryInt64(
      "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND "
      "objsubid = 1 AND classid::bigint = $1::bigint AND objid::bigint = $2::bigint",
      {pg::Param::Int64(static_cast<int64_t>(bits >> 32)),
       pg::Param::Int64(static_cast<int64_t>(bits & 0xffffffffu))},
      "test");
}

TEST_F(PgBlobStoreTest, OwnerLockIsTakenAgainAfterItsSessionIsKilled) {
  std::unique_ptr<PostgresBlobStore> a = OpenStore();
  ASSERT_NE(a, nullptr);
  const std::string owner = a->owner();
  auto admin = pg::Connection::Open(uri_);
  ASSERT_THAT(admin, IsOk());
  ASSERT_THAT(OwnerLockHolders(**admin, OwnerKey(owner)), IsOkAndHolds(1));
  // A network blip or an operator ends A's lock session.
  const uint64_t bits = static_cast<uint64_t>(OwnerKey(owner));
  ASSERT_THAT((*admin)->QueryInt64(
                  "SELECT count(pg_terminate_backend(pid)) FROM pg_locks WHERE "
                  "locktype = 'advisory' AND granted AND objsubid = 1 AND "
                  "classid::bigint = $1::bigint AND objid::bigint = $2::bigint",
                  {pg::Param::Int64(static_cast<int64_t>(bits >> 32)),
                   pg::Param::Int64(static_cast<int64_t>(bits & 0xffffffffu))},
                  "test"),
              IsOkAndHolds(1));
  // The session is gone (and with it the lock) once its backend exits.
  for (int i = 0; i < 500; ++i) {
    absl::StatusOr<int64_t> holders = OwnerLockHolders(**admin, OwnerKey(owner));
    ASSERT_THAT(holders, IsOk());
    if (*holders == 0) break;
    absl::SleepFor(absl::Milliseconds(10));
  }
  ASSERT_THAT(OwnerLockHolders(**admin, OwnerKey(owner)), IsOkAndHolds(0));

  // A's next upload takes the lock again, on the same id (nobody holds it).
  const std::string data = Bytes(600'000, 25);
  auto writer = a->Begin();
  ASSERT_THAT(writer, IsOk());
  EXPECT_EQ(a->owner(), owner);
  EXPECT_THAT(OwnerLockHolders(**admin, OwnerKey(owner)), IsOkAndHolds(1));
  ASSERT_THAT((*writer)->Append(absl::string_view(data).substr(0, 300'000)), IsOk());
  // Another daemon starting now sees A alive and leaves its upload alone.
  std::unique_ptr<PostgresBlobStore> b = OpenStore();
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(StatsOf(*b).staged_uploads, 1);
  ASSERT_THAT((*writer)->Append(absl::string_view(data).substr(300'000)), IsOk());
  auto stored = (*writer)->Finish(600'000, Sha256::HexOf(data));
  ASSERT_THAT(stored, IsOk());
  EXPECT_EQ(stored->origin, BlobOrigin::kNew);
  // Its claim is A's live one too: a third daemon's Open keeps it.
  ASSERT_NE(OpenStore(), nullptr);
  EXPECT_EQ(StatsOf(*b).claims, 1);
  ASSERT_THAT(a->Release(stored->claim, ClaimOutcome::kReferenced), IsOk());
  EXPECT_THAT(ReadAll(*b, stored->sha256), IsOkAndHolds(data));
}

TEST_F(PgBlobStoreTest, OwnerIdStillLockedByTheOldSessionIsReplaced) {
  std::unique_ptr<PostgresBlobStore> a = OpenStore();
  ASSERT_NE(a, nullptr);
  const std::string old_owner = a->owner();
  a->DropOwnerLockForTesting();
  // A's old session lives on in the server (it has not noticed the broken
  // network yet): here a session of the test holds the old id's lock.
  auto old_session = pg::Connection::Open(uri_);
  ASSERT_THAT(old_session, IsOk());
  ASSERT_THAT((*old_session)
                  ->Exec("SELECT pg_advisory_lock($1::bigint)",
                         {pg::Param::Int64(OwnerKey(old_owner))}, "test")
                  .status(),
              IsOk());
  auto writer = a->Begin();
  ASSERT_THAT(writer, IsOk());
  const std::string new_owner = a->owner();
  EXPECT_NE(new_owner, old_owner);
  EXPECT_THAT(OwnerLockHolders(**old_session, OwnerKey(new_owner)), IsOkAndHolds(1));
  const std::string data = Bytes(400'000, 26);
  ASSERT_THAT((*writer)->Append(data), IsOk());
  std::unique_ptr<PostgresBlobStore> b = OpenStore();
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(StatsOf(*b).staged_uploads, 1);
  auto stored = (*writer)->Finish(400'000, Sha256::HexOf(data));
  ASSERT_THAT(stored, IsOk());
  ASSERT_THAT(a->Release(stored->claim, ClaimOutcome::kReferenced), IsOk());
  EXPECT_THAT(ReadAll(*b, stored->sha256), IsOkAndHolds(data));
}

TEST_F(PgBlobStoreTest, DestroyedInstanceReleasesItsOwnership) {
  std::unique_ptr<PostgresBlobStore> a = OpenStore();
  ASSERT_NE(a, nullptr);
  auto claimed = Put(*a, Bytes(1000, 24));
  ASSERT_THAT(claimed, IsOk());
  a.reset();  // exits without releasing its claim
  std::unique_ptr<PostgresBlobStore> b = OpenStore();
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(StatsOf(*b).claims, 0);
  EXPECT_EQ(StatsOf(*b).blobs, 1);
}

TEST_F(PgBlobStoreTest, SameBytesFinishedAtOnceOnTwoDaemonsAreStoredOnce) {
  std::unique_ptr<PostgresBlobStore> a = OpenStore();
  std::unique_ptr<PostgresBlobStore> b = OpenStore();
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  constexpr int kRounds = 8;
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE(round);
    const std::string data = Bytes(700'000, 100 + round);
    const std::string sha256 = Sha256::HexOf(data);
    auto wa = a->Begin();
    auto wb = b->Begin();
    ASSERT_THAT(wa, IsOk());
    ASSERT_THAT(wb, IsOk());
    ASSERT_THAT((*wa)->Append(data), IsOk());
    ASSERT_THAT((*wb)->Append(data), IsOk());
    absl::StatusOr<StoredBlob> ra, rb;
    absl::Notification go;
    std::thread ta([&] { go.WaitForNotification(); ra = (*wa)->Finish(700'000, sha256); });
    std::thread tb([&] { go.WaitForNotification(); rb = (*wb)->Finish(700'000, sha256); });
    go.Notify();
    ta.join();
    tb.join();
    ASSERT_THAT(ra, IsOk());
    ASSERT_THAT(rb, IsOk());
    EXPECT_NE(ra->origin, rb->origin) << "exactly one is new";
    const BlobStats stats = StatsOf(*a);
    EXPECT_EQ(stats.blobs, round + 1);
    EXPECT_EQ(stats.chunks, 3 * (round + 1));  // the loser's staged copy dropped
    EXPECT_EQ(stats.staged_uploads, 0);
    ASSERT_THAT(a->Release(ra->claim, ClaimOutcome::kReferenced), IsOk());
    ASSERT_THAT(b->Release(rb->claim, ClaimOutcome::kReferenced), IsOk());
    EXPECT_THAT(ReadAll(*b, sha256), IsOkAndHolds(data));
  }
}

TEST_F(PgBlobStoreTest, UnusedReleaseRacingAFinishOfTheSameBytesNeverLosesTheBlob) {
  std::unique_ptr<PostgresBlobStore> a = OpenStore();
  std::unique_ptr<PostgresBlobStore> b = OpenStore();
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  for (int round = 0; round < 10; ++round) {
    SCOPED_TRACE(round);
    const std::string data = Bytes(300'000, 200 + round);
    const std::string sha256 = Sha256::HexOf(data);
    auto first = Put(*a, data);  // A's dossier write will be refused
    ASSERT_THAT(first, IsOk());
    auto wb = b->Begin();
    ASSERT_THAT(wb, IsOk());
    ASSERT_THAT((*wb)->Append(data), IsOk());
    absl::Status released;
    absl::StatusOr<StoredBlob> second;
    absl::Notification go;
    std::thread ta([&] {
      go.WaitForNotification();
      released = a->Release(first->claim, ClaimOutcome::kUnused);
    });
    std::thread tb([&] { go.WaitForNotification(); second = (*wb)->Finish(300'000, sha256); });
    go.Notify();
    ta.join();
    tb.join();
    ASSERT_THAT(released, IsOk());
    ASSERT_THAT(second, IsOk());
    // B holds a claim: whichever order, its blob is there and whole.
    EXPECT_THAT(ReadAll(*a, sha256), IsOkAndHolds(data));
    ASSERT_THAT(b->Release(second->claim, ClaimOutcome::kReferenced), IsOk());
  }
  EXPECT_EQ(StatsOf(*a).blobs, 10);
  EXPECT_EQ(StatsOf(*a).chunks, 20);
}

TEST_F(PgBlobStoreTest, ChangedByteInTheDatabaseIsDataLoss) {
  std::unique_ptr<PostgresBlobStore> a = OpenStore();
  ASSERT_NE(a, nullptr);
  const std::string data = Bytes(700'000, 30);
  auto stored = Put(*a, data);
  ASSERT_THAT(stored, IsOk());
  ASSERT_THAT(a->Release(stored->claim, ClaimOutcome::kReferenced), IsOk());
  auto c = pg::Connection::Open(uri_);
  ASSERT_THAT(c, IsOk());
  ASSERT_THAT((*c)->ExecScript("UPDATE blob_chunks SET data = set_byte(data, 1000, "
                               "get_byte(data, 1000) # 1) WHERE seq = 1",
                               "test"),
              IsOk());
  EXPECT_THAT(ReadAll(*a, stored->sha256),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr(absl::StrCat("stored document ", stored->sha256,
                                              " is damaged: its bytes now hash to"))));
}

TEST(PgBlobStoreOpenTest, ErrorsNameTheRedactedUri) {
  EXPECT_THAT(PostgresBlobStore::Open({.uri = ""}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  auto unreachable =
      PostgresBlobStore::Open({.uri = "postgresql://onestop:s3cret@127.0.0.1:1/onestop"});
  EXPECT_THAT(unreachable, StatusIs(absl::StatusCode::kUnavailable,
                                    HasSubstr("postgresql://onestop:***@127.0.0.1:1/onestop")));
  EXPECT_THAT(unreachable.status().message(), Not(HasSubstr("s3cret")));
  auto cluster = testing::PgTestCluster::Shared();
  ASSERT_THAT(cluster, IsOk());
  const std::string missing = absl::StrReplaceAll(
      (*cluster)->admin_uri(), {{"/postgres", "/no_such_database"}});
  EXPECT_THAT(PostgresBlobStore::Open({.uri = missing}),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("no_such_database")));
}

}  // namespace
}  // namespace onestop::storage
