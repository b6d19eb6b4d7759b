// The time law (issue #3) through the real service: clock pauses for
// payment and supplements, the one apology (Form 04), due-soon and overdue
// lists, and GetCalendar. Real SQLite file, in-process gRPC on loopback;
// the only double is the clock. Every instant is written out in local time
// (Asia/Ho_Chi_Minh, UTC+7) with its weekday.
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "onestop/v1/dossier_service.grpc.pb.h"
#include "server/config/config_loader.h"
#include "server/service/onestop_server.h"
#include "server/util/clock.h"
#include "server/util/proto_time.h"
#include "storage/sqlite/sqlite_dossier_store.h"
#include "tests/testing/test_auth.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_config.h"

namespace onestop {
namespace {

using ::onestop::testing::IsOk;
using ::onestop::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using namespace onestop::v1;  // NOLINT

absl::Time VnTime(int y, int m, int d, int hh, int mm) {
  return absl::FromCivil(absl::CivilMinute(y, m, d, hh, mm), absl::FixedTimeZone(7 * 3600));
}

// gRPC → absl with the same code, so the shared matchers apply.
absl::Status ToAbsl(const grpc::Status& status) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      status.error_message());
}

// A calendar with every kind of special day: 2019 has Giỗ Tổ on Sunday
// 14/4 (compensatory Monday 15/4) and a swap (Monday 29/4 off, Saturday 4/5
// worked); 2020 has Tết Canh Tý.
constexpr char kCalendarConfig[] = R"pb(
  levels { code: "commune" name: "Cấp xã" }
  agencies { code: "000.01.31.H15" name: "UBND thị trấn Liên Sơn" level: "commune" }
  procedures {
    code: "1.001193" name: "Đăng ký khai sinh" level: "commune"
    deadline { amount: 3 unit: DEADLINE_UNIT_WORKING_DAYS }
  }
  calendar {
    time_zone: "Asia/Ho_Chi_Minh"
    years {
      year: 2019
      holidays { date: "2019-04-14" name: "Giỗ Tổ Hùng Vương" }
      swapped_days { day_off: "2019-04-29" worked_on: "2019-05-04" name: "Hoán đổi dịp 30/4" }
    }
    years {
      year: 2020
      holidays { date: "2020-01-23" name: "Tết Nguyên đán" }
      holidays { date: "2020-01-24" name: "Tết Nguyên đán" }
      holidays { date: "2020-01-27" name: "Tết Nguyên đán" }
      holidays { date: "2020-01-28" name: "Tết Nguyên đán" }
      holidays { date: "2020-01-29" name: "Tết Nguyên đán" }
    }
  }
)pb";

class TimeLawServiceTest : public ::testing::Test {
 protected:
  virtual const char* ConfigText() const { return testing::kTestConfig; }

  void SetUp() override {
    auto catalogue = config::LoadConfigText(ConfigText(), "test.textproto");
    ASSERT_TRUE(catalogue.ok()) << catalogue.status();
    // Monday 6/1/2020 08:00.
    clock_ = std::make_unique<ControlledClock>(VnTime(2020, 1, 6, 8, 0), SystemClock::Get());
    storage::SqliteOptions store_options;
    store_options.path = dir_.File("onestop.db");
    auto store = storage::SqliteDossierStore::Open(store_options);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    service::ServerOptions options;
    options.listen = "127.0.0.1:0";
    testing::UseInsecureLoopback(options);
    service::ServerDependencies deps;
    deps.store = store_.get();
    deps.catalogue = *catalogue;
    deps.clock = clock_.get();
    deps.controlled_clock = clock_.get();
    auth_ = testing::MustOpenTestAuth(dir_.File("onestop.db"));
    deps.security_store = auth_->store();
    if (token_.empty()) token_ = testing::MustToken(auth_->AllRolesToken(*deps.catalogue, "officer.huyen"));
    auto server = service::OnestopServer::Start(options, deps);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    auto channel = testing::AuthorizedChannel(server_->address(), token_);
    dossiers_ = DossierService::NewStub(channel);
    catalogue_stub_ = CatalogueService::NewStub(channel);
  }

  void TearDown() override {
    if (server_) server_->Shutdown(absl::Seconds(5));
  }

  void At(absl::Time t) { ASSERT_THAT(clock_->SetTime(t), IsOk()); }

  // Receives a dossier now: the 3-working-day commune procedure, or the
  // 5-working-day district one.
  Dossier Receive(const std::string& agency, const std::string& procedure,
                  const std::string& name = "Nguyễn Thị Hằng") {
    SubmitDossierRequest request;
    request.set_procedure_code(procedure);
    request.set_receiving_agency_code(agency);
    request.mutable_applicant()->set_full_name(name);
    request.set_channel(CHANNEL_DIRECT);
    request.set_receive_now(true);
    grpc::ClientContext context;
    SubmitDossierResponse response;
    const grpc::Status status = dossiers_->SubmitDossier(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.dossier();
  }
  Dossier ReceiveCommune(const std::string& name = "Nguyễn Thị Hằng") {
    return Receive(testing::kCommune, testing::kCommuneProcedure, name);
  }
  Dossier ReceiveDistrict() { return Receive(testing::kDistrict, testing::kDistrictProcedure); }

  absl::StatusOr<Dossier> Get(const std::string& code) {
    grpc::ClientContext context;
    GetDossierRequest request;
    request.set_code(code);
    GetDossierResponse response;
    const grpc::Status status = dossiers_->GetDossier(&context, request, &response);
    if (!status.ok()) return ToAbsl(status);
    return response.dossier();
  }

  // Calls one action RPC on `d` with its current etag; on success `d`
  // becomes the changed dossier.
  template <typename Request, typename Response>
  absl::Status Act(grpc::Status (DossierService::Stub::*method)(grpc::ClientContext*,
                                                                 const Request&, Response*),
                   Request request, Dossier& d) {
    request.set_code(d.code());
    request.set_etag(d.etag());
    grpc::ClientContext context;
    Response response;
    const grpc::Status status = ((*dossiers_).*method)(&context, request, &response);
    if (status.ok()) d = response.dossier();
    return ToAbsl(status);
  }

  absl::Status HandOver(Dossier& d) {
    return Act(&DossierService::Stub::HandOverDossier, HandOverDossierRequest(), d);
  }
  absl::Status RequestPayment(Dossier& d) {
    RequestPaymentRequest request;
    request.set_note("Thông báo nộp lệ phí số 12/TB");
    return Act(&DossierService::Stub::RequestPayment, request, d);
  }
  absl::Status ConfirmPayment(Dossier& d) {
    ConfirmPaymentRequest request;
    request.set_note("Biên lai 0004567");
    return Act(&DossierService::Stub::ConfirmPayment, request, d);
  }
  absl::Status Reschedule(Dossier& d, absl::Time to, const std::string& reason) {
    RescheduleDossierRequest request;
    *request.mutable_new_due_time() = ToProtoTime(to);
    request.set_reason(reason);
    return Act(&DossierService::Stub::RescheduleDossier, request, d);
  }

  // The codes a list query returns (all pages).
  absl::StatusOr<std::vector<std::string>> ListCodes(ListDossiersRequest request) {
    std::vector<std::string> codes;
    while (true) {
      grpc::ClientContext context;
      ListDossiersResponse response;
      const grpc::Status status = dossiers_->ListDossiers(&context, request, &response);
      if (!status.ok()) return ToAbsl(status);
      for (const Dossier& d : response.dossiers()) codes.push_back(d.code());
      if (response.next_page_token().empty()) break;
      request.set_page_token(response.next_page_token());
    }
    std::sort(codes.begin(), codes.end());
    return codes;
  }
  absl::StatusOr<std::vector<std::string>> DueSoon() {
    ListDossiersRequest request;
    request.set_due_soon_only(true);
    return ListCodes(request);
  }
  absl::StatusOr<std::vector<std::string>> Overdue() {
    ListDossiersRequest request;
    request.set_overdue_only(true);
    return ListCodes(request);
  }

  absl::StatusOr<GetCalendarResponse> Calendar(int from, int to) {
    grpc::ClientContext context;
    GetCalendarRequest request;
    request.set_from_year(from);
    request.set_to_year(to);
    GetCalendarResponse response;
    const grpc::Status status = catalogue_stub_->GetCalendar(&context, request, &response);
    if (!status.ok()) return ToAbsl(status);
    return response;
  }

  testing::TempDir dir_;
  std::unique_ptr<ControlledClock> clock_;
  std::unique_ptr<storage::SqliteDossierStore> store_;
  std::unique_ptr<testing::TestAuth> auth_;
  std::string token_;
  std::unique_ptr<service::OnestopServer> server_;
  std::unique_ptr<DossierService::Stub> dossiers_;
  std::unique_ptr<CatalogueService::Stub> catalogue_stub_;
};

TEST_F(TimeLawServiceTest, PaymentPauseOverAWeekendShiftsDueByItsWorkingMinutesOnly) {
  // Received Monday 6/1/2020 08:00; 5 working days → Monday 13/1 17:00.
  Dossier d = ReceiveDistrict();
  ASSERT_EQ(FromProtoTime(d.due_time()), VnTime(2020, 1, 13, 17, 0));
  ASSERT_THAT(HandOver(d), IsOk());

  At(VnTime(2020, 1, 10, 16, 0));  // Friday 16:00
  ASSERT_THAT(RequestPayment(d), IsOk());
  EXPECT_EQ(d.status(), DOSSIER_STATUS_FINANCIAL_OBLIGATION);
  EXPECT_EQ(d.portal_status_code(), 6);
  ASSERT_EQ(d.pauses_size(), 1);
  EXPECT_FALSE(d.pauses(0).has_end_time());
  EXPECT_EQ(d.pauses(0).reason(), ACTION_KIND_REQUEST_PAYMENT);

  At(VnTime(2020, 1, 13, 8, 0));  // Monday 08:00
  ASSERT_THAT(ConfirmPayment(d), IsOk());
  EXPECT_EQ(d.status(), DOSSIER_STATUS_PROCESSING);
  // Paused: Friday 16:00–17:00 and Monday 07:00–08:00 = 120 working
  // minutes; the night and the weekend do not count. 17:00 Monday + 2 h →
  // Tuesday 14/1 09:00.
  EXPECT_EQ(FromProtoTime(d.due_time()), VnTime(2020, 1, 14, 9, 0));
  EXPECT_EQ(FromProtoTime(d.original_due_time()), VnTime(2020, 1, 13, 17, 0));
  ASSERT_EQ(d.pauses_size(), 1);
  EXPECT_EQ(FromProtoTime(d.pauses(0).start_time()), VnTime(2020, 1, 10, 16, 0));
  EXPECT_EQ(FromProtoTime(d.pauses(0).end_time()), VnTime(2020, 1, 13, 8, 0));

  // The pause survives in the store with both history entries.
  absl::StatusOr<Dossier> stored = Get(d.code());
  ASSERT_THAT(stored, IsOk());
  EXPECT_EQ(FromProtoTime(stored->due_time()), VnTime(2020, 1, 14, 9, 0));
  ASSERT_EQ(stored->history_size(), 4);
  EXPECT_EQ(stored->history(2).action(), ACTION_KIND_REQUEST_PAYMENT);
  EXPECT_EQ(stored->history(2).note(), "Thông báo nộp lệ phí số 12/TB");
  EXPECT_EQ(stored->history(3).action(), ACTION_KIND_CONFIRM_PAYMENT);
  EXPECT_EQ(stored->history(3).to_status(), DOSSIER_STATUS_PROCESSING);
}

TEST_F(TimeLawServiceTest, PaymentPauseSpanningTet2020SkipsTheWholeHoliday) {
  At(VnTime(2020, 1, 20, 8, 0));  // Monday 20/1/2020
  // 5 working days: Tue 21, Wed 22, (Tết 23/1–29/1), Thu 30, Fri 31,
  // Mon 3/2 → Monday 3/2/2020 17:00.
  Dossier d = ReceiveDistrict();
  ASSERT_EQ(FromProtoTime(d.due_time()), VnTime(2020, 2, 3, 17, 0));
  ASSERT_THAT(HandOver(d), IsOk());
  At(VnTime(2020, 1, 22, 15, 0));  // Wednesday before Tết, 15:00
  ASSERT_THAT(RequestPayment(d), IsOk());
  At(VnTime(2020, 1, 30, 9, 0));  // Thursday after Tết, 09:00
  ASSERT_THAT(ConfirmPayment(d), IsOk());
  // Paused working time: 22/1 15:00–17:00 and 30/1 07:00–09:00 = 4 hours;
  // the seven days of Tết add nothing. Monday 3/2 17:00 + 4 h → Tuesday
  // 4/2 11:00.
  EXPECT_EQ(FromProtoTime(d.due_time()), VnTime(2020, 2, 4, 11, 0));
  EXPECT_EQ(FromProtoTime(d.original_due_time()), VnTime(2020, 2, 3, 17, 0));
}

TEST_F(TimeLawServiceTest, SupplementDuringProcessingPausesTheClockToo) {
  Dossier d = ReceiveDistrict();  // Monday 6/1 08:00, due Monday 13/1 17:00
  ASSERT_THAT(HandOver(d), IsOk());
  At(VnTime(2020, 1, 7, 10, 0));  // Tuesday 10:00
  RequestSupplementRequest ask;
  ask.add_missing_items("Bản sao sổ hộ khẩu");
  ASSERT_THAT(Act(&DossierService::Stub::RequestSupplement, ask, d), IsOk());
  ASSERT_EQ(d.pauses_size(), 1);
  EXPECT_EQ(d.pauses(0).reason(), ACTION_KIND_REQUEST_SUPPLEMENT);
  At(VnTime(2020, 1, 9, 14, 0));  // Thursday 14:00
  SupplyDocumentsRequest supply;
  auto* doc = supply.add_documents();
  doc->set_name("Bản sao sổ hộ khẩu");
  doc->set_copies(1);
  ASSERT_THAT(Act(&DossierService::Stub::SupplyDocuments, supply, d), IsOk());
  // Tue 10:00–17:00 (5 h, lunch excluded) + Wed 8 h + Thu 07:00–14:00 (5 h)
  // = 18 h = 2 working days + 2 h: Monday 13/1 17:00 → Thursday 16/1 09:00.
  EXPECT_EQ(FromProtoTime(d.due_time()), VnTime(2020, 1, 16, 9, 0));
  EXPECT_EQ(FromProtoTime(d.original_due_time()), VnTime(2020, 1, 13, 17, 0));
}

TEST_F(TimeLawServiceTest, APausedDossierIsNotOverdueWhileItsClockStandsStill) {
  Dossier paused = ReceiveDistrict();   // due Monday 13/1 17:00
  Dossier running = ReceiveDistrict();  // same due time, never paused
  ASSERT_THAT(HandOver(paused), IsOk());
  At(VnTime(2020, 1, 10, 16, 0));  // Friday 16:00
  ASSERT_THAT(RequestPayment(paused), IsOk());

  At(VnTime(2020, 1, 15, 10, 0));  // Wednesday 15/1 10:00, still unpaid
  absl::StatusOr<Dossier> read = Get(paused.code());
  ASSERT_THAT(read, IsOk());
  // Paused so far: Fri 1 h + Mon 8 h + Tue 8 h + Wed 07:00–10:00 3 h = 20 h
  // = 2 days + 4 h after Monday 13/1 17:00 → Thursday 16/1 11:00.
  EXPECT_EQ(FromProtoTime(read->due_time()), VnTime(2020, 1, 16, 11, 0));
  EXPECT_EQ(read->timeliness(), TIMELINESS_DUE_SOON);
  EXPECT_THAT(Overdue(), testing::IsOkAndHolds(ElementsAre(running.code())));
  EXPECT_THAT(DueSoon(), testing::IsOkAndHolds(ElementsAre(paused.code())));
  // The newest dossier (running) is filtered out of the one-row page; the
  // service reads on rather than answer an empty page.
  ListDossiersRequest one;
  one.set_due_soon_only(true);
  one.set_page_size(1);
  grpc::ClientContext context;
  ListDossiersResponse page;
  ASSERT_TRUE(dossiers_->ListDossiers(&context, one, &page).ok());
  ASSERT_EQ(page.dossiers_size(), 1);
  EXPECT_EQ(page.dossiers(0).code(), paused.code());
  EXPECT_EQ(page.next_page_token(), "");

  // The apology is judged against the due time as read: Wednesday 15/1 is
  // 1 day before Thursday 16/1 (the stored pre-pause due date, Monday 13/1,
  // has passed), and the new appointment must come after Thursday 11:00.
  Dossier d = *read;
  EXPECT_THAT(Reschedule(d, VnTime(2020, 1, 16, 10, 0), "Chờ kết quả đo đạc"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("after the current due")));
  ASSERT_THAT(Reschedule(d, VnTime(2020, 1, 17, 17, 0), "Chờ kết quả đo đạc"), IsOk());
  EXPECT_EQ(FromProtoTime(d.rescheduled_due_time()), VnTime(2020, 1, 17, 17, 0));
  ASSERT_THAT(ConfirmPayment(d), IsOk());
  EXPECT_EQ(FromProtoTime(d.due_time()), VnTime(2020, 1, 16, 11, 0));
  EXPECT_EQ(FromProtoTime(d.original_due_time()), VnTime(2020, 1, 13, 17, 0));
}

TEST_F(TimeLawServiceTest, RescheduleOnceKeepsTheDueTimeThatDecidesTimeliness) {
  Dossier d = ReceiveCommune();  // Monday 6/1 08:00, due Thursday 9/1 17:00
  At(VnTime(2020, 1, 7, 10, 0));  // Tuesday
  ASSERT_THAT(Reschedule(d, VnTime(2020, 1, 13, 17, 0), "Cần xác minh thông tin tại Công an"),
              IsOk());
  EXPECT_EQ(d.status(), DOSSIER_STATUS_RECEIVED);
  EXPECT_EQ(FromProtoTime(d.rescheduled_due_time()), VnTime(2020, 1, 13, 17, 0));
  EXPECT_EQ(FromProtoTime(d.due_time()), VnTime(2020, 1, 9, 17, 0));
  EXPECT_EQ(FromProtoTime(d.original_due_time()), VnTime(2020, 1, 9, 17, 0));

  const int64_t etag = d.etag();
  Dossier again = d;
  EXPECT_THAT(Reschedule(again, VnTime(2020, 1, 14, 17, 0), "Lần hai"),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  absl::StatusOr<Dossier> stored = Get(d.code());
  ASSERT_THAT(stored, IsOk());
  EXPECT_EQ(stored->etag(), etag);
  EXPECT_EQ(FromProtoTime(stored->rescheduled_due_time()), VnTime(2020, 1, 13, 17, 0));
  ASSERT_EQ(stored->history_size(), 2);
  EXPECT_EQ(stored->history(1).action(), ACTION_KIND_RESCHEDULE);
  EXPECT_EQ(stored->history(1).note(), "Cần xác minh thông tin tại Công an");

  // Friday 10/1: past the due date, before the new appointment. Overdue all
  // the same, and finishing now is LATE.
  At(VnTime(2020, 1, 10, 9, 0));
  stored = Get(d.code());
  ASSERT_THAT(stored, IsOk());
  EXPECT_EQ(stored->timeliness(), TIMELINESS_OVERDUE);
  EXPECT_THAT(Overdue(), testing::IsOkAndHolds(ElementsAre(d.code())));
  d = *stored;
  ASSERT_THAT(HandOver(d), IsOk());
  RecordDecisionRequest decide;
  decide.set_outcome(DECISION_OUTCOME_APPROVED);
  ASSERT_THAT(Act(&DossierService::Stub::RecordDecision, decide, d), IsOk());
  ASSERT_THAT(Act(&DossierService::Stub::MarkResultReady, MarkResultReadyRequest(), d), IsOk());
  EXPECT_EQ(d.timeliness(), TIMELINESS_LATE);
}

TEST_F(TimeLawServiceTest, RescheduleIsOnlyAllowedUntilOneDayBeforeTheDueDate) {
  Dossier early = ReceiveCommune("Trần Văn Bình");  // due Thursday 9/1 17:00
  Dossier late = ReceiveCommune("Lê Thị Cúc");      // due Thursday 9/1 17:00
  At(VnTime(2020, 1, 8, 16, 30));  // Wednesday 8/1: exactly 1 day before
  EXPECT_THAT(Reschedule(early, VnTime(2020, 1, 10, 17, 0), "Chờ ý kiến cơ quan liên quan"),
              IsOk());
  At(VnTime(2020, 1, 9, 8, 0));  // Thursday 9/1, the due date itself
  const int64_t etag = late.etag();
  EXPECT_THAT(Reschedule(late, VnTime(2020, 1, 10, 17, 0), "Chờ ý kiến cơ quan liên quan"),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("1 day before")));
  absl::StatusOr<Dossier> stored = Get(late.code());
  ASSERT_THAT(stored, IsOk());
  EXPECT_EQ(stored->etag(), etag);
  EXPECT_FALSE(stored->has_rescheduled_due_time());
}

TEST_F(TimeLawServiceTest, RescheduleNeedsAReasonAndALaterTime) {
  Dossier d = ReceiveCommune();  // due Thursday 9/1 17:00
  EXPECT_THAT(Reschedule(d, VnTime(2020, 1, 13, 17, 0), ""),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Reschedule(d, VnTime(2020, 1, 9, 12, 0), "Sớm hơn hạn"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("after the current due")));
  RescheduleDossierRequest no_time;
  no_time.set_reason("Không có ngày hẹn");
  EXPECT_THAT(Act(&DossierService::Stub::RescheduleDossier, no_time, d),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("new_due_time")));
  absl::StatusOr<Dossier> stored = Get(d.code());
  ASSERT_THAT(stored, IsOk());
  EXPECT_EQ(stored->history_size(), 1);
}

TEST_F(TimeLawServiceTest, DueSoonAndOverdueListsFollowTheClock) {
  const Dossier a = ReceiveCommune("A");  // Mon 6/1 → due Thu 9/1
  At(VnTime(2020, 1, 7, 8, 0));
  const Dossier b = ReceiveCommune("B");  // Tue 7/1 → due Fri 10/1
  At(VnTime(2020, 1, 8, 8, 0));
  const Dossier c = ReceiveCommune("C");  // Wed 8/1 → due Mon 13/1
  Dossier stopped = ReceiveCommune("E");  // due Mon 13/1, but closed
  StopProcessingRequest stop;
  stop.set_reason("Có quyết định của Tòa án");
  ASSERT_THAT(Act(&DossierService::Stub::StopProcessing, stop, stopped), IsOk());
  At(VnTime(2020, 1, 9, 8, 0));
  const Dossier d = ReceiveCommune("D");  // Thu 9/1 → due Tue 14/1
  ASSERT_EQ(FromProtoTime(d.due_time()), VnTime(2020, 1, 14, 17, 0));

  // Thursday 9/1 10:00: due soon = due Thursday or Friday.
  At(VnTime(2020, 1, 9, 10, 0));
  EXPECT_THAT(DueSoon(), testing::IsOkAndHolds(ElementsAre(a.code(), b.code())));
  EXPECT_THAT(Overdue(), testing::IsOkAndHolds(ElementsAre()));

  // Friday 10/1 10:00: A is overdue; due Friday or Monday is due soon.
  At(VnTime(2020, 1, 10, 10, 0));
  EXPECT_THAT(DueSoon(), testing::IsOkAndHolds(ElementsAre(b.code(), c.code())));
  EXPECT_THAT(Overdue(), testing::IsOkAndHolds(ElementsAre(a.code())));

  // Monday 13/1 16:00: A and B overdue; C (today) and D (Tuesday) due soon.
  At(VnTime(2020, 1, 13, 16, 0));
  EXPECT_THAT(DueSoon(), testing::IsOkAndHolds(ElementsAre(c.code(), d.code())));
  EXPECT_THAT(Overdue(), testing::IsOkAndHolds(ElementsAre(a.code(), b.code())));
  absl::StatusOr<Dossier> read = Get(d.code());
  ASSERT_THAT(read, IsOk());
  EXPECT_EQ(read->timeliness(), TIMELINESS_DUE_SOON);

  ListDossiersRequest both;
  both.set_overdue_only(true);
  both.set_due_soon_only(true);
  EXPECT_THAT(ListCodes(both),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("exclude each other")));
}

TEST_F(TimeLawServiceTest, PageTokenOfADueSoonListDoesNotFitOtherFilters) {
  At(VnTime(2020, 1, 9, 8, 0));
  ReceiveCommune("A");
  ReceiveCommune("B");
  At(VnTime(2020, 1, 13, 8, 0));  // both due Tuesday 14/1: due soon
  ListDossiersRequest request;
  request.set_due_soon_only(true);
  request.set_page_size(1);
  grpc::ClientContext context;
  ListDossiersResponse first;
  ASSERT_TRUE(dossiers_->ListDossiers(&context, request, &first).ok());
  ASSERT_EQ(first.dossiers_size(), 1);
  ASSERT_FALSE(first.next_page_token().empty());
  ListDossiersRequest other;
  other.set_page_size(1);
  other.set_page_token(first.next_page_token());
  EXPECT_THAT(ListCodes(other), StatusIs(absl::StatusCode::kInvalidArgument));
  request.set_page_token(first.next_page_token());
  grpc::ClientContext context2;
  ListDossiersResponse second;
  ASSERT_TRUE(dossiers_->ListDossiers(&context2, request, &second).ok());
  ASSERT_EQ(second.dossiers_size(), 1);
  EXPECT_NE(second.dossiers(0).code(), first.dossiers(0).code());
}

TEST_F(TimeLawServiceTest, CalendarRejectsBadRanges) {
  EXPECT_THAT(Calendar(2021, 2020),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("after to_year")));
  EXPECT_THAT(Calendar(2000, 2020),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("at most 20 years")));
  EXPECT_THAT(Calendar(0, 0), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Calendar(2020, 10000), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Calendar(2001, 2020), IsOk());  // exactly 20 years
}

TEST_F(TimeLawServiceTest, Calendar2020ListsTetAndTheWorkingRules) {
  absl::StatusOr<GetCalendarResponse> calendar = Calendar(2020, 0);
  ASSERT_THAT(calendar, IsOk());
  EXPECT_EQ(calendar->time_zone(), "Asia/Ho_Chi_Minh");
  EXPECT_THAT(calendar->weekly_rest_days(), ElementsAre(6, 7));
  ASSERT_EQ(calendar->sessions_size(), 2);
  EXPECT_EQ(calendar->sessions(0).start(), "07:00");
  EXPECT_EQ(calendar->sessions(0).end(), "11:30");
  EXPECT_EQ(calendar->sessions(1).start(), "13:30");
  EXPECT_EQ(calendar->sessions(1).end(), "17:00");
  EXPECT_EQ(calendar->cutoff(), "15:00");
  EXPECT_EQ(calendar->first_year(), 2020);
  EXPECT_EQ(calendar->last_year(), 2020);
  std::vector<std::string> days;
  for (const SpecialDay& day : calendar->days()) {
    days.push_back(absl::StrCat(day.date().year(), "-", day.date().month(), "-",
                                day.date().day(), " ", CalendarDayKind_Name(day.kind()),
                                " ", day.name()));
    EXPECT_FALSE(day.working());
  }
  EXPECT_THAT(days, ElementsAre("2020-1-1 CALENDAR_DAY_KIND_HOLIDAY Tết Dương lịch",
                                "2020-1-23 CALENDAR_DAY_KIND_HOLIDAY Tết Nguyên đán",
                                "2020-1-24 CALENDAR_DAY_KIND_HOLIDAY Tết Nguyên đán",
                                "2020-1-27 CALENDAR_DAY_KIND_HOLIDAY Tết Nguyên đán",
                                "2020-1-28 CALENDAR_DAY_KIND_HOLIDAY Tết Nguyên đán",
                                "2020-1-29 CALENDAR_DAY_KIND_HOLIDAY Tết Nguyên đán"));
  // A year the configuration does not cover has no special days.
  calendar = Calendar(2021, 2021);
  ASSERT_THAT(calendar, IsOk());
  EXPECT_EQ(calendar->days_size(), 0);
}

class CalendarKindsTest : public TimeLawServiceTest {
 protected:
  const char* ConfigText() const override { return kCalendarConfig; }
};

TEST_F(CalendarKindsTest, CompensatoryAndSwappedDaysCarryTheirKinds) {
  absl::StatusOr<GetCalendarResponse> calendar = Calendar(2019, 2019);
  ASSERT_THAT(calendar, IsOk());
  std::vector<std::string> days;
  for (const SpecialDay& day : calendar->days()) {
    days.push_back(absl::StrCat(day.date().month(), "/", day.date().day(), " ",
                                CalendarDayKind_Name(day.kind()),
                                day.working() ? " working" : " off"));
  }
  EXPECT_THAT(days, ElementsAre("4/14 CALENDAR_DAY_KIND_HOLIDAY off",
                                "4/15 CALENDAR_DAY_KIND_COMPENSATORY off",
                                "4/29 CALENDAR_DAY_KIND_SWAPPED_DAY_OFF off",
                                "5/4 CALENDAR_DAY_KIND_SWAPPED_WORK_DAY working"));
  EXPECT_EQ(calendar->first_year(), 2019);
  EXPECT_EQ(calendar->last_year(), 2020);
}

}  // namespace
}  // namespace onestop
