// The change-feed event the SQLite writer assembles from the stored body
// and the entry's bytes (storage/event_bytes.h) is the event a store would
// build and serialize, byte for byte, for every kind of write.
#include "storage/event_bytes.h"

#include <string>

#include <gtest/gtest.h>

namespace onestop::storage {
namespace {

using ::onestop::v1::Dossier;
using ::onestop::v1::DossierEvent;
using ::onestop::v1::HistoryEntry;

Dossier Received() {
  Dossier d;
  d.set_code("000.00.01.H15-261127-0001");
  d.set_etag(1);
  d.set_status(onestop::v1::DOSSIER_STATUS_RECEIVED);
  d.set_summary("Cấp phiếu lý lịch tư pháp");
  d.mutable_applicant()->set_full_name("Trần Văn Đức");
  d.mutable_due_time()->set_seconds(1796000000);
  return d;
}

HistoryEntry Entry(onestop::v1::ActionKind action) {
  HistoryEntry e;
  e.set_sequence(1);
  e.set_action(action);
  e.set_to_status(onestop::v1::DOSSIER_STATUS_RECEIVED);
  e.set_actor("tk_0123456789ab");
  e.set_note("Tiếp nhận tại quầy");
  e.mutable_time()->set_seconds(1795750000);
  e.mutable_time()->set_nanos(250000000);
  return e;
}

std::string Built(const Dossier& d, const HistoryEntry& e, int64_t revision) {
  DossierEvent event;
  event.set_revision(revision);
  if (e.has_time()) *event.mutable_time() = e.time();
  event.set_action(e.action());
  *event.mutable_dossier() = d;
  *event.mutable_entry() = e;
  return event.SerializeAsString();
}

std::string Assembled(const Dossier& d, const HistoryEntry& e, int64_t revision) {
  std::string out = "left over from the previous event";
  PrependRevision(revision,
                  EventBytesWithoutRevision(d.SerializeAsString(), e, e.SerializeAsString(),
                                            e.action()),
                  out);
  return out;
}

TEST(EventBytesTest, AssembledEventIsTheSerializedEventForEveryAction) {
  const Dossier d = Received();
  for (const onestop::v1::ActionKind action :
       {onestop::v1::ACTION_KIND_SUBMIT, onestop::v1::ACTION_KIND_HAND_OVER,
        onestop::v1::ACTION_KIND_RETURN_RESULT}) {
    for (const int64_t revision : {int64_t{1}, int64_t{127}, int64_t{128}, int64_t{1} << 40}) {
      EXPECT_EQ(Assembled(d, Entry(action), revision), Built(d, Entry(action), revision))
          << action << " " << revision;
    }
  }
}

TEST(EventBytesTest, AssembledEventParsesBackWithVietnameseTextIntact) {
  const std::string bytes = Assembled(Received(), Entry(onestop::v1::ACTION_KIND_SUBMIT), 42);
  DossierEvent event;
  ASSERT_TRUE(event.ParseFromString(bytes));
  EXPECT_EQ(event.revision(), 42);
  EXPECT_EQ(event.action(), onestop::v1::ACTION_KIND_SUBMIT);
  EXPECT_EQ(event.time().nanos(), 250000000);
  EXPECT_EQ(event.dossier().applicant().full_name(), "Trần Văn Đức");
  EXPECT_EQ(event.entry().note(), "Tiếp nhận tại quầy");
}

TEST(EventBytesTest, AnEntryWithoutTimeLeavesTheEventWithoutTime) {
  HistoryEntry e = Entry(onestop::v1::ACTION_KIND_HAND_OVER);
  e.clear_time();
  EXPECT_EQ(Assembled(Received(), e, 7), Built(Received(), e, 7));
  EXPECT_EQ(Assembled(Dossier(), e, 7), Built(Dossier(), e, 7));
}

}  // namespace
}  // namespace onestop::storage
