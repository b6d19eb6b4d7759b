#include "tests/storage/dossier_store_conformance.h"

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "google/protobuf/timestamp.pb.h"
#include "gtest/gtest.h"
#include "onestop/v1/dossier.pb.h"
#include "tests/testing/proto_matchers.h"
#include "tests/testing/status_matchers.h"

namespace onestop::storage {

// Readable failure messages for CountDossiers' rows.
void PrintTo(const AgencyDueCounts& counts, std::ostream* os) {
  *os << "{\"" << counts.agency_code << "\", overdue " << counts.overdue << ", due soon "
      << counts.due_soon << "}";
}

}  // namespace onestop::storage

namespace onestop::storage::testing {

void PrintTo(const StoreFactory& factory, std::ostream* os) { *os << factory.name; }

void DossierStoreConformanceTest::SetUp() {
  if (!GetParam().skip_reason.empty()) GTEST_SKIP() << GetParam().skip_reason;
  absl::StatusOr<std::unique_ptr<DossierStore>> store = GetParam().make();
  ASSERT_TRUE(store.ok()) << "cannot make a " << GetParam().name << " store: " << store.status();
  ASSERT_NE(*store, nullptr);
  store_ = std::move(*store);
}

void DossierStoreConformanceTest::TearDown() { store_.reset(); }

namespace {

using ::onestop::testing::EqualsProto;
using ::onestop::testing::IsOk;
using ::onestop::testing::IsOkAndHolds;
using ::onestop::testing::StatusIs;
using ::onestop::v1::ActionKind;
using ::onestop::v1::Dossier;
using ::onestop::v1::DossierEvent;
using ::onestop::v1::DossierStatus;
using ::onestop::v1::HistoryEntry;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Optional;
using ::testing::Pair;
using ::testing::SizeIs;

constexpr char kPrefix[] = "H12.23-250106-";
// 2025-01-06 08:00 in Asia/Ho_Chi_Minh (01:00 UTC).
const absl::Time kT0 = absl::FromUnixSeconds(1736125200);

google::protobuf::Timestamp Ts(absl::Time t) {
  google::protobuf::Timestamp ts;
  const int64_t micros = absl::ToUnixMicros(t);
  ts.set_seconds(micros / 1000000);
  ts.set_nanos(static_cast<int32_t>(micros % 1000000) * 1000);
  return ts;
}

// A timestamp with nanosecond precision, to prove bodies keep it exactly.
google::protobuf::Timestamp TsNanos(absl::Time t, int32_t nanos) {
  google::protobuf::Timestamp ts = Ts(t);
  ts.set_nanos(nanos);
  return ts;
}

HistoryEntry Entry(int32_t sequence, ActionKind action, DossierStatus from, DossierStatus to,
                   absl::Time time, const std::string& holder = "H12.23") {
  HistoryEntry entry;
  entry.set_sequence(sequence);
  *entry.mutable_time() = Ts(time);
  entry.set_actor("canbo.lan@H12.23");
  entry.set_action(action);
  entry.set_from_status(from);
  entry.set_to_status(to);
  entry.set_holder_agency_code(holder);
  entry.set_note("Tiếp nhận hồ sơ tại Bộ phận Một cửa");
  return entry;
}

HistoryEntry FirstEntry() {
  return Entry(1, onestop::v1::ACTION_KIND_SUBMIT, onestop::v1::DOSSIER_STATUS_UNSPECIFIED,
               onestop::v1::DOSSIER_STATUS_RECEIVED, kT0);
}

// Every field of Dossier set, with Vietnamese text and nanosecond times.
Dossier FullDossier() {
  Dossier d;
  d.set_code("ignored-by-create");
  d.set_etag(42);
  d.set_procedure_code("1.001193");
  d.set_receiving_agency_code("H12.23");
  d.set_holder_agency_code("H12.23.07");
  d.set_deciding_agency_code("H12.23.01");
  onestop::v1::Applicant* applicant = d.mutable_applicant();
  applicant->set_full_name("Nguyễn Thị Hằng");
  applicant->set_personal_id("066190001234");
  applicant->set_phone("0905 123 456");
  applicant->set_email("hang.nguyen@example.vn");
  applicant->set_address("thôn 3, xã Liên Sơn Lắk, tỉnh Đắk Lắk");
  d.set_channel(onestop::v1::CHANNEL_POSTAL);
  onestop::v1::SubmittedDocument* form = d.add_documents();
  form->set_name("Tờ khai đăng ký khai sinh");
  form->set_copies(1);
  onestop::v1::SubmittedDocument* cert = d.add_documents();
  cert->set_name("Giấy chứng sinh (bản chính)");
  cert->set_copies(2);
  d.set_summary("Đăng ký khai sinh cho con: Lê Minh Khôi — “ưu tiên”");
  d.set_status(onestop::v1::DOSSIER_STATUS_SUPPLEMENT_REQUESTED);
  d.set_portal_status_code(5);
  *d.mutable_submitted_time() = TsNanos(kT0, 123456789);
  *d.mutable_received_time() = TsNanos(kT0 + absl::Minutes(5), 1);
  *d.mutable_original_due_time() = Ts(kT0 + absl::Hours(24 * 5));
  *d.mutable_due_time() = Ts(kT0 + absl::Hours(24 * 7));
  *d.mutable_rescheduled_due_time() = Ts(kT0 + absl::Hours(24 * 9));
  *d.mutable_finished_time() = Ts(kT0 + absl::Hours(24 * 10));
  *d.mutable_returned_time() = Ts(kT0 + absl::Hours(24 * 11));
  *d.mutable_closed_time() = Ts(kT0 + absl::Hours(24 * 12));
  onestop::v1::Decision* decision = d.mutable_decision();
  decision->set_outcome(onestop::v1::DECISION_OUTCOME_APPROVED);
  decision->set_reason("Đủ điều kiện theo quy định");
  decision->set_agency_code("H12.23.01");
  *decision->mutable_decided_time() = Ts(kT0 + absl::Hours(30));
  d.set_return_mode(onestop::v1::RETURN_MODE_ELECTRONIC);
  onestop::v1::SupplementRequest* supplement = d.add_supplements();
  supplement->set_phase(onestop::v1::SUPPLEMENT_PHASE_PROCESSING);
  supplement->set_agency_code("H12.23.07");
  supplement->add_missing_items("Bản sao CCCD của cha");
  supplement->add_missing_items("Giấy xác nhận cư trú");
  supplement->set_note("Bổ sung trong 5 ngày làm việc");
  *supplement->mutable_requested_time() = Ts(kT0 + absl::Hours(2));
  *supplement->mutable_supplied_time() = Ts(kT0 + absl::Hours(50));
  onestop::v1::ClockPause* pause = d.add_pauses();
  *pause->mutable_start_time() = Ts(kT0 + absl::Hours(2));
  *pause->mutable_end_time() = Ts(kT0 + absl::Hours(50));
  pause->set_reason(onestop::v1::ACTION_KIND_REQUEST_SUPPLEMENT);
  d.set_closing_reason("Công dân rút hồ sơ ngày 06/01");
  // Derived and history fields the store must not keep from the input.
  d.set_timeliness(onestop::v1::TIMELINESS_OVERDUE);
  *d.add_history() = Entry(7, onestop::v1::ACTION_KIND_STOP, onestop::v1::DOSSIER_STATUS_NEW,
                           onestop::v1::DOSSIER_STATUS_STOPPED, kT0);
  return d;
}

// A dossier with just the columns List filters on.
struct Spec {
  std::string receiving = "H12.23";
  std::string holder = "H12.23";
  DossierStatus status = onestop::v1::DOSSIER_STATUS_RECEIVED;
  std::string procedure = "1.001193";
  std::optional<absl::Time> due = std::nullopt;
};

Dossier MakeDossier(const Spec& spec) {
  Dossier d;
  d.set_receiving_agency_code(spec.receiving);
  d.set_holder_agency_code(spec.holder);
  d.set_status(spec.status);
  d.set_procedure_code(spec.procedure);
  d.mutable_applicant()->set_full_name("Trần Văn Bình");
  *d.mutable_submitted_time() = Ts(kT0);
  if (spec.due.has_value()) *d.mutable_due_time() = Ts(*spec.due);
  return d;
}

CreateDossierWrite MakeCreate(Dossier dossier, std::string prefix = kPrefix,
                              std::optional<IdempotencyKey> key = std::nullopt) {
  CreateDossierWrite write;
  write.dossier = std::move(dossier);
  write.entry = FirstEntry();
  write.code_prefix = std::move(prefix);
  write.idempotency = std::move(key);
  return write;
}

// An update of `current` to `status`/`holder` with the next history entry.
UpdateDossierWrite MakeUpdate(const Dossier& current, DossierStatus status,
                              const std::string& holder, absl::Time time,
                              std::optional<IdempotencyKey> key = std::nullopt) {
  UpdateDossierWrite write;
  write.dossier = current;
  write.dossier.clear_history();
  write.dossier.set_status(status);
  write.dossier.set_holder_agency_code(holder);
  write.expected_etag = current.etag();
  write.entry = Entry(current.history_size() + 1, onestop::v1::ACTION_KIND_HAND_OVER,
                      current.status(), status, time, holder);
  write.idempotency = std::move(key);
  return write;
}

std::vector<std::string> Codes(const DossierPage& page) {
  std::vector<std::string> codes;
  for (const Dossier& d : page.dossiers) codes.push_back(d.code());
  return codes;
}

std::string Code(int sequence) { return absl::StrFormat("%s%04d", kPrefix, sequence); }

Dossier WithoutHistory(Dossier d) {
  d.clear_history();
  return d;
}

// ---------------------------------------------------------------------------
// Codes

TEST_P(DossierStoreConformanceTest, CreateIssuesConsecutiveCodesPerPrefix) {
  EXPECT_THAT(store().Create(MakeCreate(MakeDossier({}))),
              IsOkAndHolds(::testing::Property(&Dossier::code, "H12.23-250106-0001")));
  EXPECT_THAT(store().Create(MakeCreate(MakeDossier({}))),
              IsOkAndHolds(::testing::Property(&Dossier::code, "H12.23-250106-0002")));
  EXPECT_THAT(store().Create(MakeCreate(MakeDossier({}), "H12.23-250107-")),
              IsOkAndHolds(::testing::Property(&Dossier::code, "H12.23-250107-0001")));
  EXPECT_THAT(store().Create(MakeCreate(MakeDossier({}), "X01-250106-")),
              IsOkAndHolds(::testing::Property(&Dossier::code, "X01-250106-0001")));
  EXPECT_THAT(store().Create(MakeCreate(MakeDossier({}))),
              IsOkAndHolds(::testing::Property(&Dossier::code, "H12.23-250106-0003")));
}

TEST_P(DossierStoreConformanceTest, CodeSequenceGrowsPastFourDigits) {
  for (int i = 1; i <= 9999; ++i) {
    ASSERT_THAT(store().Create(MakeCreate(MakeDossier({}))), IsOk()) << "create " << i;
  }
  EXPECT_THAT(store().Get(Code(9999)), IsOk());
  EXPECT_THAT(store().Create(MakeCreate(MakeDossier({}))),
              IsOkAndHolds(::testing::Property(&Dossier::code, "H12.23-250106-10000")));
}

TEST_P(DossierStoreConformanceTest, CreateRejectsEmptyPrefix) {
  EXPECT_THAT(store().Create(MakeCreate(MakeDossier({}), "")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("prefix")));
  EXPECT_THAT(store().LastRevision(), IsOkAndHolds(0));
}

// ---------------------------------------------------------------------------
// Round trips

TEST_P(DossierStoreConformanceTest, CreateRoundTripsEveryFieldExactly) {
  Dossier expected = FullDossier();
  expected.set_code(Code(1));
  expected.set_etag(1);
  expected.clear_timeliness();  // derived, never stored
  expected.clear_history();     // the input's history is ignored
  *expected.add_history() = FirstEntry();

  absl::StatusOr<Dossier> created = store().Create(MakeCreate(FullDossier()));
  ASSERT_THAT(created, IsOk());
  EXPECT_THAT(*created, EqualsProto(expected));
  EXPECT_THAT(store().Get(Code(1)), IsOkAndHolds(EqualsProto(expected)));
  absl::StatusOr<Dossier> got = store().Get(Code(1));
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(got->applicant().full_name(), "Nguyễn Thị Hằng");
  EXPECT_EQ(got->applicant().address(), "thôn 3, xã Liên Sơn Lắk, tỉnh Đắk Lắk");
  EXPECT_EQ(got->submitted_time().nanos(), 123456789);
}

TEST_P(DossierStoreConformanceTest, CreateNumbersTheFirstEntryOne) {
  CreateDossierWrite write = MakeCreate(MakeDossier({}));
  write.entry.set_sequence(0);
  absl::StatusOr<Dossier> created = store().Create(write);
  ASSERT_THAT(created, IsOk());
  ASSERT_THAT(created->history(), SizeIs(1));
  EXPECT_EQ(created->history(0).sequence(), 1);
}

TEST_P(DossierStoreConformanceTest, GetUnknownDossierIsNotFound) {
  EXPECT_THAT(store().Get("H12.23-250106-0001"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("H12.23-250106-0001")));
}

// ---------------------------------------------------------------------------
// Conditional updates

TEST_P(DossierStoreConformanceTest, UpdateWithCurrentEtagBumpsEtagAndAppendsHistory) {
  absl::StatusOr<Dossier> created = store().Create(MakeCreate(FullDossier()));
  ASSERT_THAT(created, IsOk());

  UpdateDossierWrite first = MakeUpdate(*created, onestop::v1::DOSSIER_STATUS_PROCESSING,
                                        "H12.23.07", kT0 + absl::Hours(1));
  first.dossier.mutable_applicant()->set_phone("0912 000 111");
  absl::StatusOr<Dossier> updated = store().Update(first);
  ASSERT_THAT(updated, IsOk());
  EXPECT_EQ(updated->code(), created->code());
  EXPECT_EQ(updated->etag(), 2);
  EXPECT_EQ(updated->status(), onestop::v1::DOSSIER_STATUS_PROCESSING);
  EXPECT_EQ(updated->applicant().phone(), "0912 000 111");
  ASSERT_THAT(updated->history(), SizeIs(2));
  EXPECT_THAT(updated->history(0), EqualsProto(created->history(0)));
  EXPECT_THAT(updated->history(1), EqualsProto(first.entry));
  EXPECT_THAT(store().Get(created->code()), IsOkAndHolds(EqualsProto(*updated)));

  UpdateDossierWrite second = MakeUpdate(*updated, onestop::v1::DOSSIER_STATUS_RESULT_READY,
                                         "H12.23", kT0 + absl::Hours(2));
  absl::StatusOr<Dossier> again = store().Update(second);
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(again->etag(), 3);
  ASSERT_THAT(again->history(), SizeIs(3));
  EXPECT_EQ(again->history(2).sequence(), 3);
  EXPECT_THAT(store().Get(created->code()), IsOkAndHolds(EqualsProto(*again)));
}

TEST_P(DossierStoreConformanceTest, UpdateNumbersAnUnnumberedEntry) {
  absl::StatusOr<Dossier> created = store().Create(MakeCreate(MakeDossier({})));
  ASSERT_THAT(created, IsOk());
  UpdateDossierWrite write =
      MakeUpdate(*created, onestop::v1::DOSSIER_STATUS_PROCESSING, "H12.23", kT0);
  write.entry.set_sequence(0);
  absl::StatusOr<Dossier> updated = store().Update(write);
  ASSERT_THAT(updated, IsOk());
  ASSERT_THAT(updated->history(), SizeIs(2));
  EXPECT_EQ(updated->history(1).sequence(), 2);
}

// A store may take `before`'s history instead of reading it back
// (UpdateDossierWrite::before): with it, without it, and with one whose
// history does not fit the etag (a caller's bug the store must not repeat),
// the update returns exactly what is stored.
TEST_P(DossierStoreConformanceTest, UpdateReturnsTheStoredHistoryWhateverBeforeHolds) {
  absl::StatusOr<Dossier> created = store().Create(MakeCreate(FullDossier()));
  ASSERT_THAT(created, IsOk());

  UpdateDossierWrite with_before = MakeUpdate(*created, onestop::v1::DOSSIER_STATUS_PROCESSING,
                                              "H12.23.07", kT0 + absl::Hours(1));
  with_before.before = &*created;
  absl::StatusOr<Dossier> first = store().Update(with_before);
  ASSERT_THAT(first, IsOk());
  ASSERT_THAT(first->history(), SizeIs(2));
  EXPECT_THAT(first->history(1), EqualsProto(with_before.entry));
  EXPECT_THAT(store().Get(created->code()), IsOkAndHolds(EqualsProto(*first)));

  absl::StatusOr<Dossier> second = store().Update(
      MakeUpdate(*first, onestop::v1::DOSSIER_STATUS_PROCESSING, "H12.23", kT0 + absl::Hours(2)));
  ASSERT_THAT(second, IsOk());
  ASSERT_THAT(second->history(), SizeIs(3));
  EXPECT_THAT(store().Get(created->code()), IsOkAndHolds(EqualsProto(*second)));

  Dossier short_history = *second;  // the right etag, one entry missing
  short_history.mutable_history()->RemoveLast();
  UpdateDossierWrite with_short = MakeUpdate(*second, onestop::v1::DOSSIER_STATUS_RESULT_READY,
                                             "H12.23", kT0 + absl::Hours(3));
  with_short.before = &short_history;
  absl::StatusOr<Dossier> third = store().Update(with_short);
  ASSERT_THAT(third, IsOk());
  ASSERT_THAT(third->history(), SizeIs(4));
  EXPECT_THAT(third->history(2), EqualsProto(second->history(2)));
  EXPECT_THAT(store().Get(created->code()), IsOkAndHolds(EqualsProto(*third)));
}

TEST_P(DossierStoreConformanceTest, UpdateWithStaleEtagIsAbortedAndChangesNothing) {
  absl::StatusOr<Dossier> created = store().Create(MakeCreate(MakeDossier({})));
  ASSERT_THAT(created, IsOk());
  absl::StatusOr<Dossier> updated = store().Update(
      MakeUpdate(*created, onestop::v1::DOSSIER_STATUS_PROCESSING, "H12.23.07", kT0));
  ASSERT_THAT(updated, IsOk());
  ASSERT_THAT(store().LastRevision(), IsOkAndHolds(2));

  // A second clerk still holds the etag-1 copy.
  UpdateDossierWrite stale =
      MakeUpdate(*created, onestop::v1::DOSSIER_STATUS_REFUSED, "H12.23", kT0 + absl::Hours(1));
  EXPECT_THAT(
      store().Update(stale),
      StatusIs(absl::StatusCode::kAborted,
               ::testing::AllOf(HasSubstr(created->code()), HasSubstr("changed by someone else"),
                                HasSubstr("version 2"), HasSubstr("you had 1"))));
  EXPECT_THAT(store().Get(created->code()), IsOkAndHolds(EqualsProto(*updated)));
  EXPECT_THAT(store().LastRevision(), IsOkAndHolds(2));
  EXPECT_THAT(store().ReadEvents(2, 10), IsOkAndHolds(IsEmpty()));
}

// Waits for an asynchronous write's answer.
class AwaitedWrite {
 public:
  DossierStore::WriteDone Callback() {
    return [this](absl::StatusOr<Dossier> result) {
      result_ = std::move(result);
      done_.Notify();
    };
  }
  absl::StatusOr<Dossier> Await() {
    done_.WaitForNotification();
    return result_;
  }

 private:
  absl::Notification done_;
  absl::StatusOr<Dossier> result_ = absl::UnknownError("not answered");
};

absl::StatusOr<Dossier> CreateAsyncAndAwait(DossierStore& store, CreateDossierWrite write) {
  AwaitedWrite awaited;
  store.CreateAsync(std::move(write), awaited.Callback());
  return awaited.Await();
}

absl::StatusOr<Dossier> UpdateAsyncAndAwait(DossierStore& store, UpdateDossierWrite write) {
  AwaitedWrite awaited;
  store.UpdateAsync(std::move(write), awaited.Callback());
  return awaited.Await();
}

TEST_P(DossierStoreConformanceTest, AsyncWritesAnswerWhatTheBlockingOnesReturn) {
  absl::StatusOr<Dossier> created = CreateAsyncAndAwait(store(), MakeCreate(FullDossier()));
  ASSERT_THAT(created, IsOk());
  EXPECT_EQ(created->code(), Code(1));
  EXPECT_EQ(created->etag(), 1);
  EXPECT_EQ(created->applicant().full_name(), "Nguyễn Thị Hằng");
  EXPECT_THAT(store().Get(created->code()), IsOkAndHolds(EqualsProto(*created)));

  // With `before` (the SQLite writer reads it after the call returned) and
  // without.
  UpdateDossierWrite first_write = MakeUpdate(*created, onestop::v1::DOSSIER_STATUS_PROCESSING,
                                              "H12.23.07", kT0 + absl::Hours(1));
  first_write.before = &*created;
  absl::StatusOr<Dossier> first = UpdateAsyncAndAwait(store(), std::move(first_write));
  ASSERT_THAT(first, IsOk());
  EXPECT_EQ(first->etag(), 2);
  ASSERT_THAT(first->history(), SizeIs(2));
  EXPECT_THAT(store().Get(created->code()), IsOkAndHolds(EqualsProto(*first)));
  absl::StatusOr<Dossier> second = UpdateAsyncAndAwait(
      store(), MakeUpdate(*first, onestop::v1::DOSSIER_STATUS_PROCESSING, "H12.23",
                          kT0 + absl::Hours(2)));
  ASSERT_THAT(second, IsOk());
  ASSERT_THAT(second->history(), SizeIs(3));
  EXPECT_THAT(store().Get(created->code()), IsOkAndHolds(EqualsProto(*second)));
  EXPECT_THAT(store().LastRevision(), IsOkAndHolds(3));
}

TEST_P(DossierStoreConformanceTest, AsyncWritesAnswerErrorsAndChangeNothing) {
  absl::StatusOr<Dossier> created = store().Create(MakeCreate(MakeDossier({})));
  ASSERT_THAT(created, IsOk());
  EXPECT_THAT(CreateAsyncAndAwait(store(), MakeCreate(MakeDossier({}), "")),
              StatusIs(absl::StatusCode::kInvalidArgument));
  absl::StatusOr<Dossier> updated = UpdateAsyncAndAwait(
      store(), MakeUpdate(*created, onestop::v1::DOSSIER_STATUS_PROCESSING, "H12.23.07", kT0));
  ASSERT_THAT(updated, IsOk());
  EXPECT_THAT(UpdateAsyncAndAwait(store(), MakeUpdate(*created, onestop::v1::DOSSIER_STATUS_REFUSED,
                                                      "H12.23", kT0 + absl::Hours(1))),
              StatusIs(absl::StatusCode::kAborted, HasSubstr("changed by someone else")));
  Dossier ghost = *created;
  ghost.set_code("H12.23-250106-0404");
  EXPECT_THAT(UpdateAsyncAndAwait(store(), MakeUpdate(ghost, onestop::v1::DOSSIER_STATUS_PROCESSING,
                                                      "H12.23", kT0)),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("H12.23-250106-0404")));
  EXPECT_THAT(store().Get(created->code()), IsOkAndHolds(EqualsProto(*updated)));
  EXPECT_THAT(store().LastRevision(), IsOkAndHolds(2));
}

TEST_P(DossierStoreConformanceTest, ManyAsyncCreatesInFlightGetDistinctCodes) {
  // Queued without waiting, as the daemon's handlers do: every one is
  // answered once, with consecutive codes.
  constexpr int kWrites = 40;
  absl::Mutex mu;
  std::vector<std::string> codes;
  int errors = 0;
  absl::Notification all_answered;
  for (int i = 0; i < kWrites; ++i) {
    store().CreateAsync(MakeCreate(MakeDossier({})), [&](absl::StatusOr<Dossier> result) {
      absl::MutexLock lock(&mu);
      if (result.ok()) {
        codes.push_back(result->code());
      } else {
        ++errors;
      }
      if (static_cast<int>(codes.size()) + errors == kWrites) all_answered.Notify();
    });
  }
  ASSERT_TRUE(all_answered.WaitForNotificationWithTimeout(absl::Seconds(60)));
  absl::MutexLock lock(&mu);
  EXPECT_EQ(errors, 0);
  std::set<std::string> distinct(codes.begin(), codes.end());
  EXPECT_EQ(distinct.size(), static_cast<size_t>(kWrites));
  EXPECT_EQ(*distinct.begin(), Code(1));
  EXPECT_EQ(*distinct.rbegin(), Code(kWrites));
  EXPECT_THAT(store().LastRevision(), IsOkAndHolds(kWrites));
}

TEST_P(DossierStoreConformanceTest, UpdateUnknownDossierIsNotFound) {
  Dossier ghost = MakeDossier({});
  ghost.set_code("H12.23-250106-0404");
  ghost.set_etag(1);
  *ghost.add_history() = FirstEntry();
  EXPECT_THAT(
      store().Update(MakeUpdate(ghost, onestop::v1::DOSSIER_STATUS_PROCESSING, "H12.23", kT0)),
      StatusIs(absl::StatusCode::kNotFound, HasSubstr("H12.23-250106-0404")));
  EXPECT_THAT(store().LastRevision(), IsOkAndHolds(0));
}

TEST_P(DossierStoreConformanceTest, UpdateWithWrongEntrySequenceIsInvalidAndChangesNothing) {
  absl::StatusOr<Dossier> created = store().Create(MakeCreate(MakeDossier({})));
  ASSERT_THAT(created, IsOk());
  UpdateDossierWrite write =
      MakeUpdate(*created, onestop::v1::DOSSIER_STATUS_PROCESSING, "H12.23", kT0);
  write.entry.set_sequence(5);
  EXPECT_THAT(store().Update(write),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("sequence 5")));
  EXPECT_THAT(store().Get(created->code()), IsOkAndHolds(EqualsProto(*created)));
  EXPECT_THAT(store().LastRevision(), IsOkAndHolds(1));
}

// ---------------------------------------------------------------------------
// Idempotency

TEST_P(DossierStoreConformanceTest, CreateWithUsedRequestIdIsAlreadyExistsAndChangesNothing) {
  const IdempotencyKey key{"req-7f3a", "fp-1"};
  ASSERT_THAT(store().Create(MakeCreate(MakeDossier({}), kPrefix, key)), IsOk());

  EXPECT_THAT(store().Create(MakeCreate(MakeDossier({}), kPrefix, key)),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("req-7f3a")));
  EXPECT_THAT(store().Create(MakeCreate(MakeDossier({}), kPrefix, IdempotencyKey{"req-7f3a", "x"})),
              StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_THAT(store().LastRevision(), IsOkAndHolds(1));
  EXPECT_THAT(store().Get(Code(2)), StatusIs(absl::StatusCode::kNotFound));
  // The refused creates consumed no code.
  EXPECT_THAT(store().Create(MakeCreate(MakeDossier({}))),
              IsOkAndHolds(::testing::Property(&Dossier::code, Code(2))));
}

TEST_P(DossierStoreConformanceTest, UpdateWithUsedRequestIdIsAlreadyExistsAndChangesNothing) {
  absl::StatusOr<Dossier> created =
      store().Create(MakeCreate(MakeDossier({}), kPrefix, IdempotencyKey{"req-create", "fp-c"}));
  ASSERT_THAT(created, IsOk());
  absl::StatusOr<Dossier> updated =
      store().Update(MakeUpdate(*created, onestop::v1::DOSSIER_STATUS_PROCESSING, "H12.23.07", kT0,
                                IdempotencyKey{"req-update", "fp-u"}));
  ASSERT_THAT(updated, IsOk());

  // A retry with the current etag, and a reuse of the create's id.
  EXPECT_THAT(store().Update(MakeUpdate(*updated, onestop::v1::DOSSIER_STATUS_RESULT_READY,
                                        "H12.23", kT0, IdempotencyKey{"req-update", "fp-u"})),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("req-update")));
  EXPECT_THAT(store().Update(MakeUpdate(*updated, onestop::v1::DOSSIER_STATUS_RESULT_READY,
                                        "H12.23", kT0, IdempotencyKey{"req-create", "fp-c"})),
              StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_THAT(store().Get(created->code()), IsOkAndHolds(EqualsProto(*updated)));
  EXPECT_THAT(store().LastRevision(), IsOkAndHolds(2));
}

TEST_P(DossierStoreConformanceTest, FindRequestReturnsFingerprintAndResponse) {
  EXPECT_THAT(store().FindRequest("req-none"), IsOkAndHolds(::testing::Eq(std::nullopt)));

  absl::StatusOr<Dossier> created = store().Create(
      MakeCreate(FullDossier(), kPrefix, IdempotencyKey{"req-create", std::string("\x00\xff", 2)}));
  ASSERT_THAT(created, IsOk());
  absl::StatusOr<std::optional<RecordedRequest>> found = store().FindRequest("req-create");
  ASSERT_THAT(found, IsOkAndHolds(Optional(::testing::_)));
  EXPECT_EQ((*found)->fingerprint, std::string("\x00\xff", 2));
  EXPECT_THAT((*found)->response, EqualsProto(*created));

  absl::StatusOr<Dossier> updated =
      store().Update(MakeUpdate(*created, onestop::v1::DOSSIER_STATUS_PROCESSING, "H12.23.07", kT0,
                                IdempotencyKey{"req-update", "fp-u"}));
  ASSERT_THAT(updated, IsOk());
  found = store().FindRequest("req-update");
  ASSERT_THAT(found, IsOkAndHolds(Optional(::testing::_)));
  EXPECT_EQ((*found)->fingerprint, "fp-u");
  EXPECT_THAT((*found)->response, EqualsProto(*updated));
  EXPECT_THAT((*found)->response.history(), SizeIs(2));
}

// ---------------------------------------------------------------------------
// The change feed

TEST_P(DossierStoreConformanceTest, EmptyStoreHasNoEvents) {
  EXPECT_THAT(store().LastRevision(), IsOkAndHolds(0));
  EXPECT_THAT(store().ReadEvents(0, 10), IsOkAndHolds(IsEmpty()));
}

TEST_P(DossierStoreConformanceTest, EveryWriteAppendsOneEventWithConsecutiveRevisions) {
  std::vector<Dossier> written;
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<Dossier> created = store().Create(MakeCreate(MakeDossier({})));
    ASSERT_THAT(created, IsOk());
    written.push_back(*created);
    EXPECT_THAT(store().LastRevision(), IsOkAndHolds(i + 1));
  }
  for (int i = 0; i < 2; ++i) {
    absl::StatusOr<Dossier> updated =
        store().Update(MakeUpdate(written[1 + i], onestop::v1::DOSSIER_STATUS_PROCESSING,
                                  "H12.23.07", kT0 + absl::Hours(i + 1)));
    ASSERT_THAT(updated, IsOk());
    written.push_back(*updated);
    EXPECT_THAT(store().LastRevision(), IsOkAndHolds(4 + i));
  }

  absl::StatusOr<std::vector<DossierEvent>> events = store().ReadEvents(0, 100);
  ASSERT_THAT(events, IsOkAndHolds(SizeIs(5)));
  for (size_t i = 0; i < written.size(); ++i) {
    SCOPED_TRACE(absl::StrFormat("event %d", i + 1));
    const DossierEvent& event = (*events)[i];
    const HistoryEntry& entry = written[i].history(written[i].history_size() - 1);
    EXPECT_EQ(event.revision(), static_cast<int64_t>(i) + 1);
    EXPECT_THAT(event.time(), EqualsProto(entry.time()));
    EXPECT_EQ(event.action(), entry.action());
    EXPECT_THAT(event.entry(), EqualsProto(entry));
    EXPECT_THAT(event.dossier(), EqualsProto(WithoutHistory(written[i])));
  }
}

TEST_P(DossierStoreConformanceTest, ReadEventsPagesByRevision) {
  for (int i = 0; i < 5; ++i) ASSERT_THAT(store().Create(MakeCreate(MakeDossier({}))), IsOk());
  auto revisions = [](const std::vector<DossierEvent>& events) {
    std::vector<int64_t> out;
    for (const DossierEvent& e : events) out.push_back(e.revision());
    return out;
  };
  absl::StatusOr<std::vector<DossierEvent>> page = store().ReadEvents(0, 2);
  ASSERT_THAT(page, IsOk());
  EXPECT_THAT(revisions(*page), ElementsAre(1, 2));
  page = store().ReadEvents(2, 2);
  ASSERT_THAT(page, IsOk());
  EXPECT_THAT(revisions(*page), ElementsAre(3, 4));
  page = store().ReadEvents(4, 2);
  ASSERT_THAT(page, IsOk());
  EXPECT_THAT(revisions(*page), ElementsAre(5));
  EXPECT_THAT(store().ReadEvents(5, 2), IsOkAndHolds(IsEmpty()));
  EXPECT_THAT(store().ReadEvents(99, 2), IsOkAndHolds(IsEmpty()));
  EXPECT_THAT(store().ReadEvents(0, 0), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_P(DossierStoreConformanceTest, EmptyStoreFirstRevisionIsOneAndCompactsNothing) {
  EXPECT_THAT(store().FirstRevision(), IsOkAndHolds(1));
  EXPECT_THAT(store().CompactEvents(100), IsOkAndHolds(0));
  EXPECT_THAT(store().FirstRevision(), IsOkAndHolds(1));
}

std::vector<int64_t> Revisions(const std::vector<DossierEvent>& events) {
  std::vector<int64_t> out;
  for (const DossierEvent& e : events) out.push_back(e.revision());
  return out;
}

TEST_P(DossierStoreConformanceTest, CompactEventsDeletesOldestAndNeverTheNewest) {
  for (int i = 0; i < 5; ++i) ASSERT_THAT(store().Create(MakeCreate(MakeDossier({}))), IsOk());
  EXPECT_THAT(store().FirstRevision(), IsOkAndHolds(1));
  EXPECT_THAT(store().CompactEvents(1), IsOkAndHolds(0));
  EXPECT_THAT(store().CompactEvents(-7), IsOkAndHolds(0));

  EXPECT_THAT(store().CompactEvents(3), IsOkAndHolds(2));  // 1 and 2
  EXPECT_THAT(store().FirstRevision(), IsOkAndHolds(3));
  EXPECT_THAT(store().LastRevision(), IsOkAndHolds(5));
  EXPECT_THAT(store().ReadEvents(0, 10), IsOkAndHolds(::testing::ResultOf(
                                             Revisions, ElementsAre(3, 4, 5))));
  EXPECT_THAT(store().CompactEvents(3), IsOkAndHolds(0));  // idempotent

  EXPECT_THAT(store().CompactEvents(100), IsOkAndHolds(2));  // 3 and 4; 5 is the newest
  EXPECT_THAT(store().FirstRevision(), IsOkAndHolds(5));
  EXPECT_THAT(store().LastRevision(), IsOkAndHolds(5));
  EXPECT_THAT(store().ReadEvents(0, 10),
              IsOkAndHolds(::testing::ResultOf(Revisions, ElementsAre(5))));
}

TEST_P(DossierStoreConformanceTest, RevisionsAreNotReusedAfterCompaction) {
  absl::StatusOr<Dossier> created = store().Create(MakeCreate(MakeDossier({})));
  ASSERT_THAT(created, IsOk());
  ASSERT_THAT(store().Create(MakeCreate(MakeDossier({}))), IsOk());
  ASSERT_THAT(store().CompactEvents(1000), IsOkAndHolds(1));
  ASSERT_THAT(store().Update(MakeUpdate(*created, onestop::v1::DOSSIER_STATUS_PROCESSING,
                                        "H12.23.07", kT0 + absl::Hours(1))),
              IsOk());
  EXPECT_THAT(store().LastRevision(), IsOkAndHolds(3));
  EXPECT_THAT(store().FirstRevision(), IsOkAndHolds(2));
  absl::StatusOr<std::vector<DossierEvent>> events = store().ReadEvents(0, 10);
  ASSERT_THAT(events, IsOkAndHolds(::testing::ResultOf(Revisions, ElementsAre(2, 3))));
  EXPECT_EQ((*events)[1].dossier().code(), created->code());
  // Compaction leaves dossiers and their history alone.
  EXPECT_THAT(store().Get(created->code()),
              IsOkAndHolds(::testing::Property(&Dossier::history_size, 2)));
}

// ---------------------------------------------------------------------------
// Listing

TEST_P(DossierStoreConformanceTest, ListOfEmptyStoreIsEmpty) {
  absl::StatusOr<DossierPage> page = store().List({});
  ASSERT_THAT(page, IsOk());
  EXPECT_THAT(page->dossiers, IsEmpty());
  EXPECT_EQ(page->last_position, 0);
  EXPECT_FALSE(page->more);
}

TEST_P(DossierStoreConformanceTest, ListRejectsNonPositivePageSize) {
  DossierQuery query;
  query.page_size = 0;
  EXPECT_THAT(store().List(query), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_P(DossierStoreConformanceTest, ListReturnsNewestFirstWithoutHistory) {
  absl::StatusOr<Dossier> first = store().Create(MakeCreate(FullDossier()));
  ASSERT_THAT(first, IsOk());
  ASSERT_THAT(store().Create(MakeCreate(MakeDossier({}))), IsOk());
  absl::StatusOr<DossierPage> page = store().List({});
  ASSERT_THAT(page, IsOk());
  EXPECT_THAT(Codes(*page), ElementsAre(Code(2), Code(1)));
  EXPECT_FALSE(page->more);
  EXPECT_GT(page->last_position, 0);
  ASSERT_THAT(page->dossiers, SizeIs(2));
  EXPECT_THAT(page->dossiers[1], EqualsProto(WithoutHistory(*first)));
  EXPECT_THAT(page->dossiers[0].history(), IsEmpty());
}

TEST_P(DossierStoreConformanceTest, ListFiltersByReceivingOrHoldingAgency) {
  ASSERT_THAT(store().Create(MakeCreate(MakeDossier({.receiving = "A", .holder = "A"}))), IsOk());
  ASSERT_THAT(store().Create(MakeCreate(MakeDossier({.receiving = "A", .holder = "B"}))), IsOk());
  ASSERT_THAT(store().Create(MakeCreate(MakeDossier({.receiving = "B", .holder = "B"}))), IsOk());
  ASSERT_THAT(store().Create(MakeCreate(MakeDossier({.receiving = "C", .holder = "A"}))), IsOk());
  DossierQuery query;
  query.agency_codes = {"A"};
  EXPECT_THAT(store().List(query),
              IsOkAndHolds(::testing::ResultOf(Codes, ElementsAre(Code(4), Code(2), Code(1)))));
  query.agency_codes = {"B"};
  EXPECT_THAT(store().List(query),
              IsOkAndHolds(::testing::ResultOf(Codes, ElementsAre(Code(3), Code(2)))));
  query.agency_codes = {"Z"};
  EXPECT_THAT(store().List(query), IsOkAndHolds(::testing::ResultOf(Codes, IsEmpty())));
}

TEST_P(DossierStoreConformanceTest, ListFiltersByAnyOfSeveralAgencies) {
  ASSERT_THAT(store().Create(MakeCreate(MakeDossier({.receiving = "A", .holder = "A"}))), IsOk());
  ASSERT_THAT(store().Create(MakeCreate(MakeDossier({.receiving = "B", .holder = "B"}))), IsOk());
  ASSERT_THAT(store().Create(MakeCreate(MakeDossier({.receiving = "C", .holder = "D"}))), IsOk());
  ASSERT_THAT(store().Create(MakeCreate(MakeDossier({.receiving = "E", .holder = "E"}))), IsOk());
  DossierQuery query;
  query.agency_codes = {"A", "D"};  // 3 matches through its holder only
  EXPECT_THAT(store().List(query),
              IsOkAndHolds(::testing::ResultOf(Codes, ElementsAre(Code(3), Code(1)))));
  query.agency_codes = {"B", "C", "Z"};  // 3 matches through its receiver only
  EXPECT_THAT(store().List(query),
              IsOkAndHolds(::testing::ResultOf(Codes, ElementsAre(Code(3), Code(2)))));
  query.agency_codes = {"Y", "Z"};
  EXPECT_THAT(store().List(query), IsOkAndHolds(::testing::ResultOf(Codes, IsEmpty())));
  query.agency_codes = {};  // no filter
  EXPECT_THAT(store().List(query), IsOkAndHolds(::testing::ResultOf(Codes, SizeIs(4))));
}

// A district's list names the district and its communes (SubtreeCodes):
// every page holds the newest dossiers received or held at any of them,
// each once, and the pages follow each other without gap or repeat.
TEST_P(DossierStoreConformanceTest, ListPagesThroughManyAgenciesNewestFirst) {
  std::set<std::string> district = {"D"};
  for (int c = 1; c <= 11; ++c) district.insert(absl::StrCat("C", c));
  std::vector<std::string> expected;  // newest first
  for (int i = 1; i <= 60; ++i) {
    const std::string receiving = i % 5 == 0 ? "X" : absl::StrCat("C", i % 12);  // C0: outside
    const std::string holder = i % 3 == 0 ? "D" : (i % 4 == 0 ? "Y" : receiving);
    ASSERT_THAT(store().Create(MakeCreate(MakeDossier({.receiving = receiving, .holder = holder}))),
                IsOk());
    if (district.count(receiving) > 0 || district.count(holder) > 0) {
      expected.insert(expected.begin(), Code(i));
    }
  }
  // 7 leaves a short last page; 13 divides the matches (52), so the last
  // page is full and must still say there is no more.
  ASSERT_EQ(expected.size(), 52u);
  for (const int page_size : {7, 13}) {
    DossierQuery query;
    query.agency_codes.assign(district.begin(), district.end());
    query.page_size = page_size;
    std::vector<std::string> listed;
    for (int pages = 0; pages < 20; ++pages) {
      absl::StatusOr<DossierPage> page = store().List(query);
      ASSERT_THAT(page, IsOk());
      for (const std::string& code : Codes(*page)) listed.push_back(code);
      if (!page->more) break;
      EXPECT_THAT(page->dossiers, SizeIs(page_size));
      query.before_position = page->last_position;
    }
    EXPECT_THAT(listed, ::testing::ElementsAreArray(expected)) << "page size " << page_size;
  }
}

TEST_P(DossierStoreConformanceTest, ListFiltersByStatusAndProcedure) {
  ASSERT_THAT(store().Create(MakeCreate(MakeDossier(
                  {.status = onestop::v1::DOSSIER_STATUS_RECEIVED, .procedure = "P1"}))),
              IsOk());
  ASSERT_THAT(store().Create(MakeCreate(MakeDossier(
                  {.status = onestop::v1::DOSSIER_STATUS_PROCESSING, .procedure = "P1"}))),
              IsOk());
  ASSERT_THAT(store().Create(MakeCreate(MakeDossier(
                  {.status = onestop::v1::DOSSIER_STATUS_PROCESSING, .procedure = "P2"}))),
              IsOk());
  DossierQuery by_status;
  by_status.status = onestop::v1::DOSSIER_STATUS_PROCESSING;
  EXPECT_THAT(store().List(by_status),
              IsOkAndHolds(::testing::ResultOf(Codes, ElementsAre(Code(3), Code(2)))));
  DossierQuery by_procedure;
  by_procedure.procedure_code = "P1";
  EXPECT_THAT(store().List(by_procedure),
              IsOkAndHolds(::testing::ResultOf(Codes, ElementsAre(Code(2), Code(1)))));
  DossierQuery both;
  both.status = onestop::v1::DOSSIER_STATUS_PROCESSING;
  both.procedure_code = "P1";
  EXPECT_THAT(store().List(both), IsOkAndHolds(::testing::ResultOf(Codes, ElementsAre(Code(2)))));
}

TEST_P(DossierStoreConformanceTest, ListFiltersOpenAndDueBefore) {
  const absl::Time cutoff = kT0 + absl::Hours(48);
  const absl::Time early = cutoff - absl::Hours(1);
  struct Row {
    DossierStatus status;
    std::optional<absl::Time> due = std::nullopt;
    bool listed;
  };
  const std::vector<Row> rows = {
      {onestop::v1::DOSSIER_STATUS_RECEIVED, early, true},
      {onestop::v1::DOSSIER_STATUS_PROCESSING, early, true},
      {onestop::v1::DOSSIER_STATUS_SUPPLEMENT_REQUESTED, early, true},
      {onestop::v1::DOSSIER_STATUS_FINANCIAL_OBLIGATION, early, true},
      {onestop::v1::DOSSIER_STATUS_NEW, early, false},
      {onestop::v1::DOSSIER_STATUS_REFUSED, early, false},
      {onestop::v1::DOSSIER_STATUS_WITHDRAWN, early, false},
      {onestop::v1::DOSSIER_STATUS_STOPPED, early, false},
      {onestop::v1::DOSSIER_STATUS_RESULT_READY, early, false},
      {onestop::v1::DOSSIER_STATUS_RETURNED, early, false},
      {onestop::v1::DOSSIER_STATUS_PROCESSING, cutoff, false},  // strictly before
      {onestop::v1::DOSSIER_STATUS_PROCESSING, cutoff + absl::Hours(1), false},
      {onestop::v1::DOSSIER_STATUS_PROCESSING, std::nullopt, false},  // no deadline
  };
  std::vector<std::string> expected;
  for (size_t i = 0; i < rows.size(); ++i) {
    ASSERT_THAT(
        store().Create(MakeCreate(MakeDossier({.status = rows[i].status, .due = rows[i].due}))),
        IsOk());
    if (rows[i].listed) expected.insert(expected.begin(), Code(static_cast<int>(i) + 1));
  }
  DossierQuery query;
  query.open_and_due_before = cutoff;
  EXPECT_THAT(store().List(query),
              IsOkAndHolds(::testing::ResultOf(Codes, ::testing::ElementsAreArray(expected))));
}

TEST_P(DossierStoreConformanceTest, ListFiltersOpenAndDueNotBeforeAloneAndAsAWindow) {
  const absl::Time from = kT0 + absl::Hours(24);
  const absl::Time until = kT0 + absl::Hours(48);
  struct Row {
    DossierStatus status;
    std::optional<absl::Time> due = std::nullopt;
    bool at_or_after_from;  // listed by open_and_due_not_before alone
    bool in_window;         // listed by [from, until)
  };
  const std::vector<Row> rows = {
      {onestop::v1::DOSSIER_STATUS_PROCESSING, from - absl::Seconds(1), false, false},
      {onestop::v1::DOSSIER_STATUS_PROCESSING, from, true, true},  // inclusive
      {onestop::v1::DOSSIER_STATUS_RECEIVED, until - absl::Seconds(1), true, true},
      {onestop::v1::DOSSIER_STATUS_SUPPLEMENT_REQUESTED, from, true, true},
      {onestop::v1::DOSSIER_STATUS_FINANCIAL_OBLIGATION, from, true, true},
      {onestop::v1::DOSSIER_STATUS_PROCESSING, until, true, false},  // exclusive
      {onestop::v1::DOSSIER_STATUS_NEW, from, false, false},
      {onestop::v1::DOSSIER_STATUS_RESULT_READY, from, false, false},
      {onestop::v1::DOSSIER_STATUS_RETURNED, from, false, false},
      {onestop::v1::DOSSIER_STATUS_STOPPED, from, false, false},
      {onestop::v1::DOSSIER_STATUS_PROCESSING, std::nullopt, false, false},  // no deadline
  };
  std::vector<std::string> alone;
  std::vector<std::string> window;
  for (size_t i = 0; i < rows.size(); ++i) {
    ASSERT_THAT(
        store().Create(MakeCreate(MakeDossier({.status = rows[i].status, .due = rows[i].due}))),
        IsOk());
    const std::string code = Code(static_cast<int>(i) + 1);
    if (rows[i].at_or_after_from) alone.insert(alone.begin(), code);
    if (rows[i].in_window) window.insert(window.begin(), code);
  }
  DossierQuery query;
  query.open_and_due_not_before = from;
  EXPECT_THAT(store().List(query),
              IsOkAndHolds(::testing::ResultOf(Codes, ::testing::ElementsAreArray(alone))));
  query.open_and_due_before = until;
  EXPECT_THAT(store().List(query),
              IsOkAndHolds(::testing::ResultOf(Codes, ::testing::ElementsAreArray(window))));
}

TEST_P(DossierStoreConformanceTest, ListCombinesAllFilters) {
  const absl::Time cutoff = kT0 + absl::Hours(48);
  const Spec match{.receiving = "A",
                   .holder = "A",
                   .status = onestop::v1::DOSSIER_STATUS_PROCESSING,
                   .procedure = "P1",
                   .due = cutoff - absl::Hours(1)};
  ASSERT_THAT(store().Create(MakeCreate(MakeDossier(match))), IsOk());  // 1: matches
  Spec other_agency = match;
  other_agency.receiving = other_agency.holder = "B";
  ASSERT_THAT(store().Create(MakeCreate(MakeDossier(other_agency))), IsOk());
  Spec other_procedure = match;
  other_procedure.procedure = "P2";
  ASSERT_THAT(store().Create(MakeCreate(MakeDossier(other_procedure))), IsOk());
  Spec not_due = match;
  not_due.due = cutoff + absl::Hours(1);
  ASSERT_THAT(store().Create(MakeCreate(MakeDossier(not_due))), IsOk());
  Spec other_status = match;
  other_status.status = onestop::v1::DOSSIER_STATUS_RECEIVED;
  ASSERT_THAT(store().Create(MakeCreate(MakeDossier(other_status))), IsOk());
  ASSERT_THAT(store().Create(MakeCreate(MakeDossier(match))), IsOk());  // 6: matches

  DossierQuery query;
  query.agency_codes = {"A"};
  query.status = onestop::v1::DOSSIER_STATUS_PROCESSING;
  query.procedure_code = "P1";
  query.open_and_due_before = cutoff;
  EXPECT_THAT(store().List(query),
              IsOkAndHolds(::testing::ResultOf(Codes, ElementsAre(Code(6), Code(1)))));
}

TEST_P(DossierStoreConformanceTest, ListSeesUpdatedFilterColumns) {
  absl::StatusOr<Dossier> created =
      store().Create(MakeCreate(MakeDossier({.receiving = "A", .holder = "A"})));
  ASSERT_THAT(created, IsOk());
  ASSERT_THAT(
      store().Update(MakeUpdate(*created, onestop::v1::DOSSIER_STATUS_PROCESSING, "B", kT0)),
      IsOk());
  DossierQuery by_holder;
  by_holder.agency_codes = {"B"};
  EXPECT_THAT(store().List(by_holder),
              IsOkAndHolds(::testing::ResultOf(Codes, ElementsAre(Code(1)))));
  DossierQuery by_old_status;
  by_old_status.status = onestop::v1::DOSSIER_STATUS_RECEIVED;
  EXPECT_THAT(store().List(by_old_status), IsOkAndHolds(::testing::ResultOf(Codes, IsEmpty())));
  DossierQuery by_new_status;
  by_new_status.status = onestop::v1::DOSSIER_STATUS_PROCESSING;
  absl::StatusOr<DossierPage> page = store().List(by_new_status);
  ASSERT_THAT(page, IsOk());
  ASSERT_THAT(page->dossiers, SizeIs(1));
  EXPECT_EQ(page->dossiers[0].etag(), 2);
  EXPECT_EQ(page->dossiers[0].holder_agency_code(), "B");
}

TEST_P(DossierStoreConformanceTest, ListPaginatesWithoutDuplicatesOrGaps) {
  // Dossiers 1..7, of which the odd ones are held by agency "A".
  for (int i = 1; i <= 7; ++i) {
    const std::string agency = i % 2 == 1 ? "A" : "B";
    ASSERT_THAT(store().Create(MakeCreate(MakeDossier({.receiving = agency, .holder = agency}))),
                IsOk());
  }
  auto read_all = [this](DossierQuery query, std::vector<std::vector<std::string>>& pages) {
    while (true) {
      absl::StatusOr<DossierPage> page = store().List(query);
      ASSERT_THAT(page, IsOk());
      pages.push_back(Codes(*page));
      if (!page->more) return;
      ASSERT_FALSE(page->dossiers.empty());
      ASSERT_LT(pages.size(), 10u) << "pagination does not terminate";
      query.before_position = page->last_position;
    }
  };

  DossierQuery all;
  all.page_size = 3;
  std::vector<std::vector<std::string>> pages;
  read_all(all, pages);
  EXPECT_THAT(pages, ElementsAre(ElementsAre(Code(7), Code(6), Code(5)),
                                 ElementsAre(Code(4), Code(3), Code(2)), ElementsAre(Code(1))));

  DossierQuery exact;
  exact.page_size = 7;
  absl::StatusOr<DossierPage> one = store().List(exact);
  ASSERT_THAT(one, IsOk());
  EXPECT_THAT(one->dossiers, SizeIs(7));
  EXPECT_FALSE(one->more);

  DossierQuery filtered;
  filtered.agency_codes = {"A"};
  filtered.page_size = 2;
  std::vector<std::vector<std::string>> filtered_pages;
  read_all(filtered, filtered_pages);
  EXPECT_THAT(filtered_pages,
              ElementsAre(ElementsAre(Code(7), Code(5)), ElementsAre(Code(3), Code(1))));
}

// ---------------------------------------------------------------------------
// Concurrency

TEST_P(DossierStoreConformanceTest, ConcurrentCreatesIssueUniqueGaplessCodes) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 50;
  std::vector<std::vector<absl::StatusOr<Dossier>>> results(kThreads);
  {
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([this, &out = results[t]] {
        for (int i = 0; i < kPerThread; ++i)
          out.push_back(store().Create(MakeCreate(MakeDossier({}))));
      });
    }
    for (std::thread& thread : threads) thread.join();
  }
  std::set<std::string> codes;
  for (const auto& per_thread : results) {
    for (const absl::StatusOr<Dossier>& created : per_thread) {
      ASSERT_THAT(created, IsOk());
      EXPECT_TRUE(codes.insert(created->code()).second) << "duplicate " << created->code();
    }
  }
  std::set<std::string> expected;
  for (int i = 1; i <= kThreads * kPerThread; ++i) expected.insert(Code(i));
  EXPECT_EQ(codes, expected);
  EXPECT_THAT(store().LastRevision(), IsOkAndHolds(kThreads * kPerThread));
}

TEST_P(DossierStoreConformanceTest, ConcurrentUpdatesWithSameEtagExactlyOneWins) {
  absl::StatusOr<Dossier> created = store().Create(MakeCreate(MakeDossier({})));
  ASSERT_THAT(created, IsOk());
  constexpr int kThreads = 8;
  std::vector<absl::StatusOr<Dossier>> results(kThreads, absl::UnknownError("not run"));
  {
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([this, t, &created, &out = results[t]] {
        out = store().Update(MakeUpdate(*created, onestop::v1::DOSSIER_STATUS_PROCESSING,
                                        absl::StrFormat("H12.23.%02d", t), kT0));
      });
    }
    for (std::thread& thread : threads) thread.join();
  }
  int winners = 0;
  std::string winning_holder;
  for (const absl::StatusOr<Dossier>& result : results) {
    if (result.ok()) {
      ++winners;
      winning_holder = result->holder_agency_code();
    } else {
      EXPECT_THAT(result, StatusIs(absl::StatusCode::kAborted));
    }
  }
  EXPECT_EQ(winners, 1);
  absl::StatusOr<Dossier> stored = store().Get(created->code());
  ASSERT_THAT(stored, IsOk());
  EXPECT_EQ(stored->etag(), 2);
  EXPECT_THAT(stored->history(), SizeIs(2));
  EXPECT_EQ(stored->holder_agency_code(), winning_holder);
  EXPECT_THAT(store().LastRevision(), IsOkAndHolds(2));
}


// ---- Dossier counts for the operator's gauges (issue #12) ------------------

std::map<DossierStatus, int64_t> ByStatus(const DossierCounts& counts) {
  return counts.by_status;
}
std::vector<AgencyDueCounts> ByAgency(const DossierCounts& counts) { return counts.by_agency; }

TEST_P(DossierStoreConformanceTest, CountDossiersOfEmptyStoreIsEmpty) {
  CountQuery query;
  query.due_before = kT0;
  query.due_soon_before = kT0 + absl::Hours(48);
  absl::StatusOr<DossierCounts> counts = store().CountDossiers(query);
  ASSERT_THAT(counts, IsOk());
  EXPECT_THAT(counts->by_status, IsEmpty());
  EXPECT_THAT(counts->by_agency, IsEmpty());
}

TEST_P(DossierStoreConformanceTest, CountDossiersByStatusCountsEveryDossierAndFollowsUpdates) {
  const std::vector<DossierStatus> statuses = {
      onestop::v1::DOSSIER_STATUS_RECEIVED, onestop::v1::DOSSIER_STATUS_RECEIVED,
      onestop::v1::DOSSIER_STATUS_PROCESSING, onestop::v1::DOSSIER_STATUS_NEW,
      onestop::v1::DOSSIER_STATUS_RETURNED, onestop::v1::DOSSIER_STATUS_RETURNED,
      onestop::v1::DOSSIER_STATUS_RETURNED};
  Dossier first;
  for (const DossierStatus status : statuses) {
    absl::StatusOr<Dossier> created = store().Create(MakeCreate(MakeDossier({.status = status})));
    ASSERT_THAT(created, IsOk());
    if (first.code().empty()) first = *created;
  }
  CountQuery query;  // windows empty: only the statuses matter here
  EXPECT_THAT(store().CountDossiers(query),
              IsOkAndHolds(::testing::ResultOf(
                  ByStatus, ElementsAre(Pair(onestop::v1::DOSSIER_STATUS_NEW, 1),
                                        Pair(onestop::v1::DOSSIER_STATUS_RECEIVED, 2),
                                        Pair(onestop::v1::DOSSIER_STATUS_PROCESSING, 1),
                                        Pair(onestop::v1::DOSSIER_STATUS_RETURNED, 3)))));
  // A write moves its dossier from one status to the other.
  ASSERT_THAT(store().Update(MakeUpdate(first, onestop::v1::DOSSIER_STATUS_PROCESSING, "H12.23",
                                        kT0 + absl::Hours(1))),
              IsOk());
  EXPECT_THAT(store().CountDossiers(query),
              IsOkAndHolds(::testing::ResultOf(
                  ByStatus, ElementsAre(Pair(onestop::v1::DOSSIER_STATUS_NEW, 1),
                                        Pair(onestop::v1::DOSSIER_STATUS_RECEIVED, 1),
                                        Pair(onestop::v1::DOSSIER_STATUS_PROCESSING, 2),
                                        Pair(onestop::v1::DOSSIER_STATUS_RETURNED, 3)))));
}

TEST_P(DossierStoreConformanceTest, CountDossiersWindowsCountOpenDossiersPerReceivingAgency) {
  const absl::Time today = kT0 + absl::Hours(24);     // due before: overdue
  const absl::Time horizon = kT0 + absl::Hours(72);   // due before: due soon
  struct Row {
    std::string receiving;
    std::string holder;
    DossierStatus status;
    std::optional<absl::Time> due;
  };
  const std::vector<Row> rows = {
      // Agency A: every open status counts, by window.
      {"A", "A", onestop::v1::DOSSIER_STATUS_RECEIVED, today - absl::Seconds(1)},       // overdue
      {"A", "A", onestop::v1::DOSSIER_STATUS_PROCESSING, today - absl::Hours(100)},     // overdue
      {"A", "A", onestop::v1::DOSSIER_STATUS_SUPPLEMENT_REQUESTED, today},              // soon
      {"A", "A", onestop::v1::DOSSIER_STATUS_FINANCIAL_OBLIGATION, horizon - absl::Seconds(1)},
      {"A", "A", onestop::v1::DOSSIER_STATUS_PROCESSING, horizon},                     // neither
      {"A", "A", onestop::v1::DOSSIER_STATUS_PROCESSING, std::nullopt},                // neither
      // Closed or not yet received: never counted, whatever the due time.
      {"A", "A", onestop::v1::DOSSIER_STATUS_NEW, today - absl::Hours(1)},
      {"A", "A", onestop::v1::DOSSIER_STATUS_REFUSED, today - absl::Hours(1)},
      {"A", "A", onestop::v1::DOSSIER_STATUS_WITHDRAWN, today - absl::Hours(1)},
      {"A", "A", onestop::v1::DOSSIER_STATUS_STOPPED, today - absl::Hours(1)},
      {"A", "A", onestop::v1::DOSSIER_STATUS_RESULT_READY, today - absl::Hours(1)},
      {"A", "A", onestop::v1::DOSSIER_STATUS_RETURNED, today},
      // Agency B receives; C holds: counted for the receiving agency B.
      {"B", "C", onestop::v1::DOSSIER_STATUS_PROCESSING, today},
      {"B", "C", onestop::v1::DOSSIER_STATUS_PROCESSING, today + absl::Hours(1)},
      // D has only a dossier due later: absent.
      {"D", "D", onestop::v1::DOSSIER_STATUS_PROCESSING, horizon + absl::Hours(24)},
      // No receiving agency: counted under "".
      {"", "C", onestop::v1::DOSSIER_STATUS_RECEIVED, today - absl::Hours(2)},
  };
  for (const Row& row : rows) {
    ASSERT_THAT(store().Create(MakeCreate(MakeDossier(
                    {.receiving = row.receiving, .holder = row.holder, .status = row.status,
                     .due = row.due}))),
                IsOk());
  }
  CountQuery query;
  query.due_before = today;
  query.due_soon_before = horizon;
  absl::StatusOr<DossierCounts> counts = store().CountDossiers(query);
  ASSERT_THAT(counts, IsOk());
  EXPECT_THAT(counts->by_agency, ElementsAre(AgencyDueCounts{"", 1, 0}, AgencyDueCounts{"A", 2, 2},
                                             AgencyDueCounts{"B", 0, 2}));
  EXPECT_EQ(counts->by_status.at(onestop::v1::DOSSIER_STATUS_PROCESSING), 6);

  // An empty due-soon window: the overdue counts stay, nothing is due soon.
  query.due_soon_before = today;
  EXPECT_THAT(store().CountDossiers(query),
              IsOkAndHolds(::testing::ResultOf(
                  ByAgency, ElementsAre(AgencyDueCounts{"", 1, 0}, AgencyDueCounts{"A", 2, 0}))));
  // Unbounded: every open dossier with a due time is overdue.
  query.due_before = absl::InfiniteFuture();
  query.due_soon_before = absl::InfiniteFuture();
  EXPECT_THAT(store().CountDossiers(query),
              IsOkAndHolds(::testing::ResultOf(
                  ByAgency, ElementsAre(AgencyDueCounts{"", 1, 0}, AgencyDueCounts{"A", 5, 0},
                                        AgencyDueCounts{"B", 2, 0},
                                        AgencyDueCounts{"D", 1, 0}))));
}

TEST_P(DossierStoreConformanceTest, CountDossiersWindowsFollowUpdates) {
  const absl::Time today = kT0 + absl::Hours(24);
  absl::StatusOr<Dossier> created = store().Create(MakeCreate(MakeDossier(
      {.receiving = "A", .status = onestop::v1::DOSSIER_STATUS_PROCESSING, .due = kT0})));
  ASSERT_THAT(created, IsOk());
  CountQuery query;
  query.due_before = today;
  query.due_soon_before = today + absl::Hours(24);
  EXPECT_THAT(store().CountDossiers(query),
              IsOkAndHolds(::testing::ResultOf(ByAgency, ElementsAre(AgencyDueCounts{"A", 1, 0}))));
  // Result ready: no longer open.
  ASSERT_THAT(store().Update(MakeUpdate(*created, onestop::v1::DOSSIER_STATUS_RESULT_READY, "A",
                                        kT0 + absl::Hours(2))),
              IsOk());
  EXPECT_THAT(store().CountDossiers(query),
              IsOkAndHolds(::testing::ResultOf(ByAgency, IsEmpty())));
}

TEST_P(DossierStoreConformanceTest, CountDossiersRejectsAnInvertedWindow) {
  CountQuery query;
  query.due_before = kT0;
  query.due_soon_before = kT0 - absl::Seconds(1);
  EXPECT_THAT(store().CountDossiers(query), StatusIs(absl::StatusCode::kInvalidArgument));
}

// ---- Report counters (issue #5) -------------------------------------------

CounterDelta Delta(const std::string& series, absl::CivilDay day,
                   std::vector<std::pair<int, int64_t>> slots) {
  CounterDelta delta;
  delta.series = series;
  delta.day = day;
  for (const auto& [slot, value] : slots) delta.values[slot] = value;
  return delta;
}

CounterValues Values(std::vector<std::pair<int, int64_t>> slots) {
  CounterValues values{};
  for (const auto& [slot, value] : slots) values[slot] = value;
  return values;
}

// Sums of `series` over each range, zeros if the store returns none.
std::vector<CounterValues> SumsOf(DossierStore& store, const std::string& series,
                                  const std::vector<DayRange>& ranges) {
  CounterQuery query;
  query.series = {series};
  query.ranges = ranges;
  absl::StatusOr<std::vector<CounterSums>> sums = store.SumCounters(query);
  EXPECT_THAT(sums, IsOk());
  if (!sums.ok() || sums->empty()) return std::vector<CounterValues>(ranges.size());
  EXPECT_EQ((*sums)[0].series, series);
  return (*sums)[0].sums;
}

const DayRange kAllDays{kEarliestCounterDay, kLatestCounterDay};

TEST_P(DossierStoreConformanceTest, CounterDeltasCommitWithCreateAndUpdate) {
  const absl::CivilDay day(2020, 3, 10);
  CreateDossierWrite create = MakeCreate(MakeDossier({}));
  create.counter_deltas = {Delta("t|A", day, {{0, 1}, {4, 1}}),
                           Delta("t|A", day, {{0, 2}}),  // same row: adds up
                           Delta("t|B", day + 40, {{23, -3}})};
  absl::StatusOr<Dossier> created_or = store().Create(create);
  ASSERT_THAT(created_or, IsOk());
  const Dossier created = *created_or;
  EXPECT_THAT(SumsOf(store(), "t|A", {kAllDays}), ElementsAre(Values({{0, 3}, {4, 1}})));
  EXPECT_THAT(SumsOf(store(), "t|B", {kAllDays}), ElementsAre(Values({{23, -3}})));

  UpdateDossierWrite update = MakeUpdate(created, onestop::v1::DOSSIER_STATUS_PROCESSING,
                                         "H12.23.07", kT0 + absl::Hours(1));
  update.counter_deltas = {Delta("t|A", day, {{4, -1}}), Delta("t|A", day + 1, {{5, 1}})};
  ASSERT_THAT(store().Update(update), IsOk());
  EXPECT_THAT(SumsOf(store(), "t|A", {kAllDays, {day, day}, {day + 1, day + 1}}),
              ElementsAre(Values({{0, 3}, {5, 1}}), Values({{0, 3}}), Values({{5, 1}})));
}

TEST_P(DossierStoreConformanceTest, FailedWritesApplyNoCounterDeltas) {
  const absl::CivilDay day(2020, 3, 10);
  CreateDossierWrite create = MakeCreate(MakeDossier({}), kPrefix, IdempotencyKey{"r-1", "f"});
  create.counter_deltas = {Delta("t|A", day, {{0, 1}})};
  absl::StatusOr<Dossier> created_or = store().Create(create);
  ASSERT_THAT(created_or, IsOk());
  const Dossier created = *created_or;

  // Duplicate request id: ALREADY_EXISTS, nothing added.
  ASSERT_THAT(store().Create(create), StatusIs(absl::StatusCode::kAlreadyExists));
  // Stale etag: ABORTED, nothing added.
  UpdateDossierWrite stale = MakeUpdate(created, onestop::v1::DOSSIER_STATUS_PROCESSING,
                                        "H12.23.07", kT0 + absl::Hours(1));
  stale.expected_etag = created.etag() + 5;
  stale.counter_deltas = {Delta("t|A", day, {{0, 100}})};
  ASSERT_THAT(store().Update(stale), StatusIs(absl::StatusCode::kAborted));
  // Unknown dossier: NOT_FOUND, nothing added.
  UpdateDossierWrite unknown = stale;
  unknown.dossier.set_code("H12.23-250106-9999");
  unknown.expected_etag = 1;
  ASSERT_THAT(store().Update(unknown), StatusIs(absl::StatusCode::kNotFound));
  // A bad history sequence: INVALID_ARGUMENT inside the transaction.
  UpdateDossierWrite bad_sequence = stale;
  bad_sequence.expected_etag = created.etag();
  bad_sequence.entry.set_sequence(7);
  ASSERT_THAT(store().Update(bad_sequence), StatusIs(absl::StatusCode::kInvalidArgument));

  EXPECT_THAT(SumsOf(store(), "t|A", {kAllDays}), ElementsAre(Values({{0, 1}})));
}

TEST_P(DossierStoreConformanceTest, CounterDeltasWithBadSeriesAreInvalidAndChangeNothing) {
  CreateDossierWrite create = MakeCreate(MakeDossier({}));
  create.counter_deltas = {Delta("", absl::CivilDay(2020, 1, 1), {{0, 1}})};
  EXPECT_THAT(store().Create(create), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(store().LastRevision(), IsOkAndHolds(0));
}

TEST_P(DossierStoreConformanceTest, CounterRangeSumsMatchBruteForceAcrossMonthsAndYears) {
  // Deltas on scattered days over three years; every range sum must equal
  // the sum of the deltas whose day lies in it, whatever the alignment.
  std::vector<CounterDelta> deltas;
  uint64_t seed = 12345;
  auto next = [&seed] {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    return seed >> 33;
  };
  const absl::CivilDay start(2019, 11, 20);
  for (int i = 0; i < 120; ++i) {
    const absl::CivilDay day = start + static_cast<int>(next() % 800);
    deltas.push_back(Delta("s", day, {{0, 1}, {1, static_cast<int64_t>(next() % 7) - 3}}));
  }
  CreateDossierWrite create = MakeCreate(MakeDossier({}));
  create.counter_deltas = deltas;
  ASSERT_THAT(store().Create(create), IsOk());

  std::vector<DayRange> ranges = {kAllDays,
                                  {absl::CivilDay(2020, 1, 1), absl::CivilDay(2020, 12, 31)},
                                  {absl::CivilDay(2020, 2, 29), absl::CivilDay(2020, 3, 1)},
                                  {absl::CivilDay(2019, 12, 31), absl::CivilDay(2021, 1, 1)},
                                  {kEarliestCounterDay, absl::CivilDay(2020, 6, 15)}};
  for (int i = 0; i < 40; ++i) {
    const absl::CivilDay a = start - 10 + static_cast<int>(next() % 830);
    const absl::CivilDay b = a + static_cast<int>(next() % 500);
    ranges.push_back({a, b});
  }
  std::vector<CounterValues> expected(ranges.size());
  for (size_t r = 0; r < ranges.size(); ++r) {
    for (const CounterDelta& delta : deltas) {
      if (delta.day < ranges[r].first || delta.day > ranges[r].last) continue;
      for (int i = 0; i < kCounterSlots; ++i) expected[r][i] += delta.values[i];
    }
  }
  EXPECT_EQ(SumsOf(store(), "s", ranges), expected);
}

TEST_P(DossierStoreConformanceTest, SumCountersByPrefixListsSeriesInOrderAndOmitsEmptyOnes) {
  const absl::CivilDay day(2020, 5, 5);
  CreateDossierWrite create = MakeCreate(MakeDossier({}));
  create.counter_deltas = {Delta("t|X|p|2", day, {{0, 2}}), Delta("t|X|p|1", day, {{0, 1}}),
                           Delta("t|Y|p|1", day, {{0, 9}}), Delta("t|X|c|1", day, {{0, 4}})};
  ASSERT_THAT(store().Create(create), IsOk());
  CounterQuery query;
  query.series_prefixes = {"t|X|p|"};
  query.series = {"t|X|c|1", "t|X|p|1", "t|none"};
  query.ranges = {kAllDays, {day + 1, day + 2}};
  absl::StatusOr<std::vector<CounterSums>> sums_or = store().SumCounters(query);
  ASSERT_THAT(sums_or, IsOk());
  const std::vector<CounterSums>& sums = *sums_or;
  ASSERT_THAT(sums, SizeIs(3));
  EXPECT_EQ(sums[0].series, "t|X|c|1");
  EXPECT_EQ(sums[1].series, "t|X|p|1");
  EXPECT_EQ(sums[2].series, "t|X|p|2");
  EXPECT_THAT(sums[2].sums, ElementsAre(Values({{0, 2}}), Values({})));
}

TEST_P(DossierStoreConformanceTest, SumCountersRejectsMalformedQueries) {
  CounterQuery no_range;
  no_range.series = {"s"};
  EXPECT_THAT(store().SumCounters(no_range), StatusIs(absl::StatusCode::kInvalidArgument));
  CounterQuery reversed;
  reversed.series = {"s"};
  reversed.ranges = {{absl::CivilDay(2020, 2, 1), absl::CivilDay(2020, 1, 31)}};
  EXPECT_THAT(store().SumCounters(reversed),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("reversed")));
  CounterQuery empty_prefix;
  empty_prefix.series_prefixes = {""};
  empty_prefix.ranges = {kAllDays};
  EXPECT_THAT(store().SumCounters(empty_prefix), StatusIs(absl::StatusCode::kInvalidArgument));
}

// ---------------------------------------------------------------------------
// Bulk import (issue #8)

// A historical dossier with its original code (kPrefix + `sequence`) and
// three history entries.
ImportDossierWrite MakeImport(int sequence, const std::string& summary = "Hồ sơ cũ") {
  ImportDossierWrite write;
  Dossier d = FullDossier();
  d.clear_history();
  d.clear_timeliness();
  d.set_code(Code(sequence));
  d.set_summary(summary);
  d.set_status(onestop::v1::DOSSIER_STATUS_RETURNED);
  *d.add_history() = FirstEntry();
  *d.add_history() = Entry(2, onestop::v1::ACTION_KIND_HAND_OVER,
                           onestop::v1::DOSSIER_STATUS_RECEIVED,
                           onestop::v1::DOSSIER_STATUS_PROCESSING, kT0 + absl::Hours(1));
  *d.add_history() = Entry(3, onestop::v1::ACTION_KIND_RETURN_RESULT,
                           onestop::v1::DOSSIER_STATUS_PROCESSING,
                           onestop::v1::DOSSIER_STATUS_RETURNED, kT0 + absl::Hours(30));
  d.set_etag(3);
  write.dossier = std::move(d);
  write.code_prefix = kPrefix;
  write.code_sequence = sequence;
  return write;
}

std::vector<absl::StatusCode> CodesOf(const std::vector<absl::Status>& statuses) {
  std::vector<absl::StatusCode> codes;
  for (const absl::Status& s : statuses) codes.push_back(s.code());
  return codes;
}

TEST_P(DossierStoreConformanceTest, ImportOfNothingIsOkAndWritesNothing) {
  EXPECT_THAT(store().ImportDossiers({}), IsOkAndHolds(IsEmpty()));
  EXPECT_THAT(store().LastRevision(), IsOkAndHolds(0));
}

TEST_P(DossierStoreConformanceTest, ImportStoresHistoryExactlyAndAppendsOneImportEventEach) {
  const std::vector<ImportDossierWrite> writes = {MakeImport(7), MakeImport(9)};
  absl::StatusOr<std::vector<absl::Status>> results = store().ImportDossiers(writes);
  ASSERT_THAT(results, IsOk());
  EXPECT_THAT(CodesOf(*results), ElementsAre(absl::StatusCode::kOk, absl::StatusCode::kOk));
  for (const ImportDossierWrite& write : writes) {
    EXPECT_THAT(store().Get(write.dossier.code()), IsOkAndHolds(EqualsProto(write.dossier)));
  }
  absl::StatusOr<std::vector<DossierEvent>> events = store().ReadEvents(0, 10);
  ASSERT_THAT(events, IsOk());
  ASSERT_THAT(*events, SizeIs(2));
  for (int i = 0; i < 2; ++i) {
    const DossierEvent& event = (*events)[static_cast<size_t>(i)];
    const Dossier& d = writes[static_cast<size_t>(i)].dossier;
    EXPECT_EQ(event.revision(), i + 1);
    EXPECT_EQ(event.action(), onestop::v1::ACTION_KIND_IMPORT);
    EXPECT_THAT(event.dossier(), EqualsProto(WithoutHistory(d)));
    EXPECT_THAT(event.entry(), EqualsProto(d.history(2)));
    EXPECT_THAT(event.time(), EqualsProto(d.history(2).time()));
  }
  // An imported dossier is like any other: the next update is entry 4.
  absl::StatusOr<Dossier> updated = store().Update(
      MakeUpdate(*store().Get(Code(7)), onestop::v1::DOSSIER_STATUS_RETURNED, "H12.23",
                 kT0 + absl::Hours(40)));
  ASSERT_THAT(updated, IsOk());
  EXPECT_EQ(updated->etag(), 4);
  EXPECT_EQ(updated->history(3).sequence(), 4);
}

TEST_P(DossierStoreConformanceTest, ImportIsIdempotentAndKeepsADifferentDossierUnderItsCode) {
  ASSERT_THAT(store().ImportDossiers({MakeImport(1), MakeImport(2)}), IsOk());
  const Dossier stored = *store().Get(Code(2));
  // Again, with a changed record and a new one in the same call.
  absl::StatusOr<std::vector<absl::Status>> results =
      store().ImportDossiers({MakeImport(1), MakeImport(2, "Nội dung khác"), MakeImport(3)});
  ASSERT_THAT(results, IsOk());
  EXPECT_THAT(CodesOf(*results),
              ElementsAre(absl::StatusCode::kAlreadyExists, absl::StatusCode::kFailedPrecondition,
                          absl::StatusCode::kOk));
  EXPECT_THAT((*results)[1].message(), HasSubstr("different dossier"));
  EXPECT_THAT(store().Get(Code(2)), IsOkAndHolds(EqualsProto(stored)));
  EXPECT_THAT(store().LastRevision(), IsOkAndHolds(3));
  // Changed after its import: no longer identical.
  ASSERT_THAT(store().Update(MakeUpdate(stored, onestop::v1::DOSSIER_STATUS_RETURNED, "H12.23",
                                        kT0 + absl::Hours(40))),
              IsOk());
  EXPECT_THAT(store().ImportDossiers({MakeImport(2)}),
              IsOkAndHolds(ElementsAre(StatusIs(absl::StatusCode::kFailedPrecondition))));
  // The same code twice in one call: the second is compared with the first.
  EXPECT_THAT(store().ImportDossiers({MakeImport(5), MakeImport(5), MakeImport(5, "khác")}),
              IsOkAndHolds(ElementsAre(IsOk(), StatusIs(absl::StatusCode::kAlreadyExists),
                                       StatusIs(absl::StatusCode::kFailedPrecondition))));
}

TEST_P(DossierStoreConformanceTest, ImportRaisesTheCodeSequenceSoCreateNeverCollides) {
  ASSERT_THAT(store().Create(MakeCreate(MakeDossier({}))), IsOk());  // 0001
  ASSERT_THAT(store().ImportDossiers({MakeImport(41), MakeImport(12)}),
              IsOkAndHolds(ElementsAre(IsOk(), IsOk())));
  EXPECT_THAT(store().Create(MakeCreate(MakeDossier({}))),
              IsOkAndHolds(::testing::Property(&Dossier::code, Code(42))));
  // A new prefix starts above the imported number too.
  ImportDossierWrite other = MakeImport(1);
  other.dossier.set_code("X01-190101-123456");
  other.code_prefix = "X01-190101-";
  other.code_sequence = 123456;
  ASSERT_THAT(store().ImportDossiers({other}), IsOkAndHolds(ElementsAre(IsOk())));
  EXPECT_THAT(store().Create(MakeCreate(MakeDossier({}), "X01-190101-")),
              IsOkAndHolds(::testing::Property(&Dossier::code, "X01-190101-123457")));
}

TEST_P(DossierStoreConformanceTest, ImportRefusesMalformedRecordsAlone) {
  ImportDossierWrite wrong_etag = MakeImport(1);
  wrong_etag.dossier.set_etag(2);
  ImportDossierWrite no_history = MakeImport(2);
  no_history.dossier.clear_history();
  no_history.dossier.set_etag(0);
  ImportDossierWrite gap = MakeImport(3);
  gap.dossier.mutable_history(1)->set_sequence(5);
  ImportDossierWrite foreign_prefix = MakeImport(4);
  foreign_prefix.code_prefix = "Y-";
  ImportDossierWrite bad_delta = MakeImport(6);
  bad_delta.counter_deltas = {Delta("", absl::CivilDay(2020, 1, 1), {{0, 1}})};
  absl::StatusOr<std::vector<absl::Status>> results = store().ImportDossiers(
      {wrong_etag, no_history, gap, foreign_prefix, MakeImport(5), bad_delta});
  ASSERT_THAT(results, IsOk());
  EXPECT_THAT(CodesOf(*results),
              ElementsAre(absl::StatusCode::kInvalidArgument, absl::StatusCode::kInvalidArgument,
                          absl::StatusCode::kInvalidArgument, absl::StatusCode::kInvalidArgument,
                          absl::StatusCode::kOk, absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(store().LastRevision(), IsOkAndHolds(1));
  EXPECT_THAT(store().Get(Code(1)), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store().Get(Code(5)), IsOk());
}

TEST_P(DossierStoreConformanceTest, ImportAppliesTheCounterDeltasOfImportedRecordsOnly) {
  const absl::CivilDay day(2019, 3, 5);
  ASSERT_THAT(store().ImportDossiers({MakeImport(1)}), IsOk());
  ImportDossierWrite present = MakeImport(1);
  present.counter_deltas = {Delta("t|A", day, {{0, 100}})};
  ImportDossierWrite fresh = MakeImport(2);
  fresh.counter_deltas = {Delta("t|A", day, {{0, 1}, {5, 1}})};
  ImportDossierWrite fresh2 = MakeImport(3);
  fresh2.counter_deltas = {Delta("t|A", day, {{0, 1}})};
  ASSERT_THAT(store().ImportDossiers({present, fresh, fresh2}),
              IsOkAndHolds(ElementsAre(StatusIs(absl::StatusCode::kAlreadyExists), IsOk(),
                                       IsOk())));
  EXPECT_THAT(SumsOf(store(), "t|A", {kAllDays}), ElementsAre(Values({{0, 2}, {5, 1}})));
}

}  // namespace
}  // namespace onestop::storage::testing
