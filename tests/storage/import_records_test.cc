// The import event assembled from bytes the SQLite store already has
// (storage/event_bytes.h) is the event ImportEvent builds, byte for byte.
#include "storage/import_records.h"

#include <string>

#include <gtest/gtest.h>

#include "storage/event_bytes.h"

namespace onestop::storage {
namespace {

onestop::v1::Dossier Imported() {
  onestop::v1::Dossier d;
  d.set_code("000.31.01.H15-190305-0042");
  d.set_etag(2);
  d.set_status(onestop::v1::DOSSIER_STATUS_PROCESSING);
  d.set_summary("Đăng ký khai sinh (hệ thống cũ)");
  d.mutable_applicant()->set_full_name("Nguyễn Thị Hằng");
  for (int k = 1; k <= 2; ++k) {
    onestop::v1::HistoryEntry* e = d.add_history();
    e->set_sequence(k);
    e->set_action(k == 1 ? onestop::v1::ACTION_KIND_SUBMIT : onestop::v1::ACTION_KIND_HAND_OVER);
    e->set_to_status(k == 1 ? onestop::v1::DOSSIER_STATUS_RECEIVED
                            : onestop::v1::DOSSIER_STATUS_PROCESSING);
    e->mutable_time()->set_seconds(1551750000 + 3600 * k);
  }
  return d;
}

std::string Expected(const onestop::v1::Dossier& d, int64_t revision) {
  onestop::v1::DossierEvent event =
      ImportEvent(ImportedBody(d), d.history(d.history_size() - 1));
  event.set_revision(revision);
  return event.SerializeAsString();
}

std::string Assembled(const onestop::v1::Dossier& d, int64_t revision) {
  const onestop::v1::HistoryEntry& last = d.history(d.history_size() - 1);
  std::string out = "left over from the previous event";
  PrependRevision(revision,
                  EventBytesWithoutRevision(ImportedBody(d).SerializeAsString(), last,
                                            last.SerializeAsString(),
                                            onestop::v1::ACTION_KIND_IMPORT),
                  out);
  return out;
}

TEST(ImportRecordsTest, AssembledEventIsTheSerializedImportEvent) {
  const onestop::v1::Dossier d = Imported();
  for (const int64_t revision : {int64_t{1}, int64_t{127}, int64_t{128}, int64_t{1} << 40}) {
    EXPECT_EQ(Assembled(d, revision), Expected(d, revision)) << revision;
  }
}

TEST(ImportRecordsTest, AssembledEventWithoutAnEntryTimeOrBodyFields) {
  onestop::v1::Dossier d = Imported();
  d.mutable_history(1)->clear_time();
  EXPECT_EQ(Assembled(d, 9), Expected(d, 9));
  onestop::v1::Dossier bare;
  *bare.add_history() = d.history(0);
  EXPECT_EQ(Assembled(bare, 3), Expected(bare, 3));
}

}  // namespace
}  // namespace onestop::storage
