// SqliteBlobStore on a real file: chunked writes, verification on the way in
// and out, deduplication, claims, crash leftovers, a byte flipped in the
// database file, and flat memory for a 50 MB blob.
#include "storage/blobs/sqlite_blob_store.h"

#include <sqlite3.h>
#include <sys/resource.h>

#include <fstream>
#include <iterator>
#include <memory>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/util/status_macros.h"
#include "storage/blobs/sha256.h"
#include "storage/sqlite/sqlite_dossier_store.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace onestop::storage {
namespace {

using ::onestop::testing::IsOk;
using ::onestop::testing::StatusIs;
using ::testing::HasSubstr;

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

class BlobStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The dossier store initialises the file, as in the daemon.
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

  // Runs one SQL statement on a connection of the test's own.
  void RawExec(const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    char* error = nullptr;
    EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error), SQLITE_OK)
        << (error ? error : "");
    sqlite3_free(error);
    sqlite3_close(db);
  }

  testing::TempDir dir_;
  const std::string path_ = dir_.File("onestop.db");
  std::unique_ptr<SqliteDossierStore> dossiers_;
  std::unique_ptr<SqliteBlobStore> store_;
};

TEST_F(BlobStoreTest, FiftyMegabytesInAndOutWithFlatMemory) {
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

TEST_F(BlobStoreTest, ChunkedPutReadsBackWhateverThePieceSizes) {
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

TEST_F(BlobStoreTest, SameBytesAreStoredOnce) {
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

TEST_F(BlobStoreTest, AbortAndAbandonedWritersLeaveNothing) {
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

TEST_F(BlobStoreTest, WrongSizeOrHashIsRefusedAndDiscarded) {
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

TEST_F(BlobStoreTest, EmptyBlobRoundTrips) {
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

TEST_F(BlobStoreTest, UnknownOrMalformedHashes) {
  EXPECT_THAT(store_->Open(Sha256::HexOf("never stored")),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store_->Open("abc"), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(BlobStoreTest, ByteFlippedInTheDatabaseFileIsDataLoss) {
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

TEST_F(BlobStoreTest, MissingOrTruncatedChunksAreDataLoss) {
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

TEST_F(BlobStoreTest, UnusedNewBlobIsDeletedReferencedOneIsKept) {
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

TEST_F(BlobStoreTest, OpenClearsStagedUploadsAndKeepsClaimedBlobs) {
  const std::string data = Bytes(300'000, 10);
  auto stored = Put(data);
  ASSERT_THAT(stored, IsOk());  // claim never released: a crash
  {
    auto writer = store_->Begin();
    ASSERT_THAT((*writer)->Append(Bytes(600'000, 11)), IsOk());
    // A crash before Finish: simulate by recreating the staging rows after
    // the writer cleaned up.
  }
  RawExec(
      "INSERT INTO blob_uploads (id, started_us) VALUES (9999, 0);"
      "INSERT INTO blob_chunks (upload_id, seq, data) VALUES (9999, 0, x'00112233');");
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

TEST_F(BlobStoreTest, RefusesForeignDatabasesAndMemory) {
  EXPECT_THAT(SqliteBlobStore::Open({.path = ":memory:"}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(SqliteBlobStore::Open({.path = dir_.File("other.db")}),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("not an initialised onestop database")));
  EXPECT_THAT(SqliteBlobStore::Open(
                  {.path = dir_.File("other.db"), .check = BlobDatabaseCheck::kStandalone}),
              IsOk());
}

}  // namespace
}  // namespace onestop::storage
