// RecentDossiers (storage/recent_dossiers.h): the latest committed version
// of each recently updated code, bounded by write recency.
#include "storage/recent_dossiers.h"

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace onestop::storage {
namespace {

std::shared_ptr<const onestop::v1::Dossier> Version(const std::string& code, int64_t etag) {
  auto d = std::make_shared<onestop::v1::Dossier>();
  d->set_code(code);
  d->set_etag(etag);
  d->set_summary("Đăng ký khai sinh, phiên bản " + std::to_string(etag));
  return d;
}

TEST(RecentDossiersTest, FindsTheLatestVersionAndIgnoresOlderOnes) {
  RecentDossiers recent(8);
  EXPECT_EQ(recent.Find("A"), nullptr);
  recent.Put(Version("A", 1));
  recent.Put(Version("A", 3));
  recent.Put(Version("A", 2));  // older than the kept one: ignored
  recent.Put(Version("A", 3));  // same: ignored
  ASSERT_NE(recent.Find("A"), nullptr);
  EXPECT_EQ(recent.Find("A")->etag(), 3);
  EXPECT_EQ(recent.Find("A")->summary(), "Đăng ký khai sinh, phiên bản 3");
  const RecentDossierStats stats = recent.stats();
  EXPECT_EQ(stats.hits, 3);
  EXPECT_EQ(stats.misses, 1);
  EXPECT_EQ(stats.entries, 1);
}

TEST(RecentDossiersTest, DropsTheLeastRecentlyWrittenBeyondCapacity) {
  RecentDossiers recent(2);
  recent.Put(Version("A", 1));
  recent.Put(Version("B", 1));
  recent.Put(Version("A", 2));  // A is now the most recently updated
  recent.Put(Version("C", 1));  // drops B, not A
  EXPECT_EQ(recent.Find("B"), nullptr);
  ASSERT_NE(recent.Find("A"), nullptr);
  EXPECT_EQ(recent.Find("A")->etag(), 2);
  EXPECT_NE(recent.Find("C"), nullptr);
  EXPECT_EQ(recent.stats().entries, 2);
  // Reading does not make a dossier recent: C, written last, stays.
  recent.Put(Version("D", 1));
  EXPECT_EQ(recent.Find("A"), nullptr);
  EXPECT_NE(recent.Find("C"), nullptr);
  EXPECT_NE(recent.Find("D"), nullptr);
}

TEST(RecentDossiersTest, EraseForgetsAndCapacityZeroKeepsNothing) {
  RecentDossiers recent(4);
  recent.Put(Version("A", 1));
  recent.Erase("A");
  recent.Erase("never written");
  EXPECT_EQ(recent.Find("A"), nullptr);
  recent.Put(Version("A", 1));  // after Erase, any version is taken again
  EXPECT_NE(recent.Find("A"), nullptr);

  RecentDossiers none(0);
  none.Put(Version("A", 1));
  EXPECT_EQ(none.Find("A"), nullptr);
  EXPECT_EQ(none.stats().entries, 0);
}

TEST(RecentDossiersTest, AKeptVersionOutlivesItsEviction) {
  RecentDossiers recent(1);
  recent.Put(Version("A", 1));
  std::shared_ptr<const onestop::v1::Dossier> held = recent.Find("A");
  recent.Put(Version("B", 1));  // evicts A
  ASSERT_NE(held, nullptr);
  EXPECT_EQ(held->code(), "A");  // the reader's copy is still whole
}

TEST(RecentDossiersTest, ConcurrentReadersSeeOnlyVersionsTheWriterPut) {
  RecentDossiers recent(16);
  std::thread writer([&] {
    for (int64_t etag = 1; etag <= 2000; ++etag) {
      recent.Put(Version("code-" + std::to_string(etag % 32), etag));
    }
  });
  std::vector<std::thread> readers;
  for (int r = 0; r < 3; ++r) {
    readers.emplace_back([&] {
      for (int i = 0; i < 20000; ++i) {
        const std::string code = "code-" + std::to_string(i % 32);
        if (auto found = recent.Find(code); found != nullptr) {
          ASSERT_EQ(found->code(), code);
          ASSERT_EQ(found->etag() % 32, i % 32);
        }
      }
    });
  }
  writer.join();
  for (auto& reader : readers) reader.join();
  // The last 16 written: etags 1985 … 2000, codes 1 … 16.
  EXPECT_EQ(recent.stats().entries, 16);
  ASSERT_NE(recent.Find("code-16"), nullptr);
  EXPECT_EQ(recent.Find("code-16")->etag(), 2000);
  EXPECT_EQ(recent.Find("code-0"), nullptr);  // etag 1984, dropped
}

}  // namespace
}  // namespace onestop::storage
