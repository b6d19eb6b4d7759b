// MetricsDossierStore times every write over a real SQLite store: creates
// and updates by operation and outcome (the successful writes' series are
// resolved once, the errors' by their code), and ImportDossiers (issue #8)
// one observation per call with its records counted by their result.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/synchronization/notification.h"
#include "server/ops/metrics.h"
#include "server/ops/metrics_dossier_store.h"
#include "storage/sqlite/sqlite_dossier_store.h"

namespace onestop::ops {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// A historical dossier numbered `number` with one history entry.
storage::ImportDossierWrite Record(int number) {
  storage::ImportDossierWrite write;
  write.code_prefix = "000.31.01.H15-190305-";
  write.code_sequence = number;
  onestop::v1::Dossier& d = write.dossier;
  d.set_code(write.code_prefix + std::to_string(number));
  d.set_status(onestop::v1::DOSSIER_STATUS_RECEIVED);
  onestop::v1::HistoryEntry* entry = d.add_history();
  entry->set_sequence(1);
  entry->set_action(onestop::v1::ACTION_KIND_SUBMIT);
  entry->set_to_status(onestop::v1::DOSSIER_STATUS_RECEIVED);
  entry->mutable_time()->set_seconds(1551750000);
  d.set_etag(1);
  return write;
}

TEST(ImportMetricsTest, EachImportCallIsTimedAndItsRecordsCountedByResult) {
  auto sqlite = storage::SqliteDossierStore::Open({.path = ":memory:"});
  ASSERT_TRUE(sqlite.ok()) << sqlite.status();
  MetricsRegistry registry;
  auto store = MetricsDossierStore::Wrap(sqlite->get(), &registry);
  ASSERT_TRUE(store.ok()) << store.status();

  storage::ImportDossierWrite malformed = Record(3);
  malformed.dossier.set_etag(7);  // not the history's size
  ASSERT_TRUE((*store)->ImportDossiers({Record(1), Record(2)}).ok());
  std::vector<storage::ImportDossierWrite> again;
  again.push_back(Record(1));
  again.push_back(std::move(malformed));
  ASSERT_TRUE((*store)->ImportDossiers(std::move(again)).ok());

  const std::string text = registry.RenderPrometheusText();
  EXPECT_THAT(text, HasSubstr("onestop_storage_import_seconds_count{outcome=\"ok\"} 2\n"));
  // The desks' commit latency is not mixed with imports.
  EXPECT_THAT(text, Not(HasSubstr("op=\"import\"")));
  EXPECT_THAT(text, HasSubstr("onestop_storage_imported_dossiers_total{outcome=\"imported\"} 2\n"));
  EXPECT_THAT(text,
              HasSubstr("onestop_storage_imported_dossiers_total{outcome=\"already_present\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("onestop_storage_imported_dossiers_total{outcome=\"failed\"} 1\n"));
}

// MetricsDossierStore over a SQLite store in memory.
class WriteMetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto sqlite = storage::SqliteDossierStore::Open({.path = ":memory:"});
    ASSERT_TRUE(sqlite.ok()) << sqlite.status();
    sqlite_ = *std::move(sqlite);
    auto store = MetricsDossierStore::Wrap(sqlite_.get(), &registry_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }

  static storage::CreateDossierWrite Create() {
    storage::CreateDossierWrite create;
    create.code_prefix = "000.00.01.H15-261127-";
    create.dossier.set_status(onestop::v1::DOSSIER_STATUS_RECEIVED);
    create.dossier.set_summary("Cấp phiếu lý lịch tư pháp");
    create.entry.set_action(onestop::v1::ACTION_KIND_SUBMIT);
    create.entry.set_to_status(onestop::v1::DOSSIER_STATUS_RECEIVED);
    return create;
  }

  std::unique_ptr<storage::SqliteDossierStore> sqlite_;
  MetricsRegistry registry_;
  std::unique_ptr<MetricsDossierStore> store_;
};

TEST_F(WriteMetricsTest, CreatesAndUpdatesAreTimedByOperationAndOutcome) {
  const storage::CreateDossierWrite create = Create();
  auto created = store_->Create(create);
  ASSERT_TRUE(created.ok()) << created.status();
  ASSERT_TRUE(store_->Create(create).ok());

  storage::UpdateDossierWrite update;
  update.dossier = *created;
  update.dossier.set_status(onestop::v1::DOSSIER_STATUS_PROCESSING);
  update.expected_etag = 1;
  update.entry.set_action(onestop::v1::ACTION_KIND_HAND_OVER);
  update.entry.set_to_status(onestop::v1::DOSSIER_STATUS_PROCESSING);
  ASSERT_TRUE(store_->Update(update).ok());
  EXPECT_EQ(store_->Update(update).status().code(), absl::StatusCode::kAborted);  // stale
  update.dossier.set_code("000.00.01.H15-261127-9999");
  EXPECT_EQ(store_->Update(update).status().code(), absl::StatusCode::kNotFound);

  const std::string text = registry_.RenderPrometheusText();
  const std::string count = "onestop_storage_write_seconds_count";
  EXPECT_THAT(text, HasSubstr(count + "{op=\"create\",outcome=\"ok\"} 2\n"));
  EXPECT_THAT(text, HasSubstr(count + "{op=\"update\",outcome=\"ok\"} 1\n"));
  EXPECT_THAT(text, HasSubstr(count + "{op=\"update\",outcome=\"ABORTED\"} 1\n"));
  EXPECT_THAT(text, HasSubstr(count + "{op=\"update\",outcome=\"NOT_FOUND\"} 1\n"));
  EXPECT_THAT(text, Not(HasSubstr("op=\"create\",outcome=\"ABORTED\"")));
}

// Calls `start` with a WriteDone and waits for its answer.
template <typename Start>
absl::StatusOr<onestop::v1::Dossier> Await(Start start) {
  absl::Notification done;
  absl::StatusOr<onestop::v1::Dossier> result = absl::UnknownError("not answered");
  start([&](absl::StatusOr<onestop::v1::Dossier> r) {
    result = std::move(r);
    done.Notify();
  });
  done.WaitForNotification();
  return result;
}

TEST_F(WriteMetricsTest, AsynchronousWritesAreTimedToTheirAnswer) {
  auto created = Await([&](storage::DossierStore::WriteDone done) {
    store_->CreateAsync(Create(), std::move(done));
  });
  ASSERT_TRUE(created.ok()) << created.status();
  storage::UpdateDossierWrite update;
  update.dossier = *created;
  update.expected_etag = 1;
  update.entry.set_action(onestop::v1::ACTION_KIND_HAND_OVER);
  for (int i = 0; i < 2; ++i) {  // the second is stale
    auto updated = Await([&](storage::DossierStore::WriteDone done) {
      store_->UpdateAsync(update, std::move(done));
    });
    EXPECT_EQ(updated.status().code(), i == 0 ? absl::StatusCode::kOk : absl::StatusCode::kAborted);
  }

  const std::string text = registry_.RenderPrometheusText();
  const std::string count = "onestop_storage_write_seconds_count";
  EXPECT_THAT(text, HasSubstr(count + "{op=\"create\",outcome=\"ok\"} 1\n"));
  EXPECT_THAT(text, HasSubstr(count + "{op=\"update\",outcome=\"ok\"} 1\n"));
  EXPECT_THAT(text, HasSubstr(count + "{op=\"update\",outcome=\"ABORTED\"} 1\n"));
}

}  // namespace
}  // namespace onestop::ops
