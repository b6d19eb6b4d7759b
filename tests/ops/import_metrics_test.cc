// MetricsDossierStore times ImportDossiers like the other writes (issue
// #8): one observation per call, and the records counted by their result,
// over a real SQLite store.
#include <memory>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace onestop::ops
