#include "server/core/workflow.h"

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "server/core/deadline.h"
#include "server/core/validation.h"
#include "tests/testing/status_matchers.h"

namespace onestop::core {
namespace {

using ::onestop::testing::IsOk;
using ::onestop::testing::StatusIs;
using ::testing::HasSubstr;
namespace v1 = onestop::v1;

// Đắk Lắk in 2020: a province, huyện Lắk, two communes (Buôn Triết only
// from 2021); a commune procedure of 3 working days and a district one
// decided by the province. No calendar: the default one.
constexpr char kConfig[] = R"pb(
  levels { code: "province" name: "Cấp tỉnh" }
  levels { code: "district" name: "Cấp huyện" }
  levels { code: "commune" name: "Cấp xã" }
  agencies { code: "000.00.00.H15" name: "UBND tỉnh Đắk Lắk" level: "province" }
  agencies {
    code: "000.00.31.H15"
    name: "UBND huyện Lắk"
    level: "district"
    parent_code: "000.00.00.H15"
    valid_to { year: 2025 month: 6 day: 30 }
  }
  agencies {
    code: "000.31.31.H15"
    name: "UBND thị trấn Liên Sơn"
    level: "commune"
    parent_code: "000.00.31.H15"
    valid_to { year: 2025 month: 6 day: 30 }
  }
  agencies {
    code: "000.32.31.H15"
    name: "UBND xã Buôn Triết"
    level: "commune"
    parent_code: "000.00.31.H15"
    valid_from { year: 2021 month: 1 day: 1 }
    valid_to { year: 2025 month: 6 day: 30 }
  }
  procedures {
    code: "2.000908"
    name: "Chứng thực bản sao từ bản chính"
    level: "commune"
    deadline { amount: 3 unit: DEADLINE_UNIT_WORKING_DAYS }
  }
  procedures {
    code: "1.009994"
    name: "Cấp giấy phép xây dựng"
    level: "district"
    deadline { amount: 15 unit: DEADLINE_UNIT_WORKING_DAYS }
    deciding_agency_code: "000.00.00.H15"
  }
)pb";

constexpr char kCommune[] = "000.31.31.H15";
constexpr char kDistrict[] = "000.00.31.H15";
constexpr char kProvince[] = "000.00.00.H15";

absl::Time ToTime(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

Action Make(v1::ActionKind kind) {
  Action action;
  action.kind = kind;
  return action;
}

class WorkflowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    onestop::config::v1::Config config;
    ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(kConfig, &config));
    auto built = Catalogue::Build(config);
    ASSERT_TRUE(std::holds_alternative<std::shared_ptr<const Catalogue>>(built));
    catalogue_ = std::get<std::shared_ptr<const Catalogue>>(built);
  }

  const WorkingCalendar& calendar() const { return catalogue_->calendar(); }

  // Local time in Asia/Ho_Chi_Minh. 2020-01-06 is a Monday.
  absl::Time At(int year, int month, int day, int hour, int minute = 0) const {
    return calendar().FromLocal(absl::CivilMinute(year, month, day, hour, minute));
  }
  absl::Time T0() const { return At(2020, 1, 6, 9); }

  v1::SubmitDossierRequest Request() const {
    v1::SubmitDossierRequest request;
    request.set_procedure_code("2.000908");
    request.set_receiving_agency_code(kCommune);
    request.mutable_applicant()->set_full_name("Nguyễn Thị Hằng");
    request.mutable_applicant()->set_address("Buôn Triết, huyện Lắk, tỉnh Đắk Lắk");
    request.set_channel(v1::CHANNEL_DIRECT);
    auto* document = request.add_documents();
    document->set_name("Bản chính giấy khai sinh");
    request.set_summary("Chứng thực 2 bản sao giấy khai sinh");
    return request;
  }

  ActionContext Ctx(absl::Time now) const { return ActionContext{now, "clerk-hoa"}; }

  // A submitted dossier with its first history entry, as the store
  // returns it.
  v1::Dossier Submit(const v1::SubmitDossierRequest& request, absl::Time now) const {
    absl::StatusOr<NewDossier> prepared = PrepareSubmission(request, *catalogue_, Ctx(now));
    EXPECT_THAT(prepared, IsOk());
    if (!prepared.ok()) return v1::Dossier();
    v1::Dossier dossier = prepared->dossier;
    dossier.set_code(prepared->code_prefix + "0001");
    *dossier.add_history() = prepared->entry;
    return dossier;
  }

  // Applies an action expected to succeed; records a failure otherwise.
  v1::Dossier Apply(const v1::Dossier& dossier, const Action& action, absl::Time now) const {
    absl::StatusOr<Transition> t = ApplyAction(dossier, action, *catalogue_, Ctx(now));
    EXPECT_THAT(t, IsOk()) << ActionName(action.kind) << " on " << StatusName(dossier.status());
    return t.ok() ? t->dossier : dossier;
  }

  // A well-formed action of each kind, so a legal one succeeds.
  Action WellFormed(v1::ActionKind kind) const {
    Action action = Make(kind);
    switch (kind) {
      case v1::ACTION_KIND_REQUEST_SUPPLEMENT:
        action.missing_items = {"Bản sao CCCD của người yêu cầu"};
        break;
      case v1::ACTION_KIND_SUPPLY_DOCUMENTS:
        action.documents.emplace_back();
        action.documents.back().set_name("Bản sao CCCD");
        break;
      case v1::ACTION_KIND_REFUSE:
      case v1::ACTION_KIND_WITHDRAW:
      case v1::ACTION_KIND_STOP:
        action.note = "Lý do: hồ sơ không thuộc thẩm quyền";
        break;
      case v1::ACTION_KIND_RECORD_DECISION:
        action.outcome = v1::DECISION_OUTCOME_APPROVED;
        break;
      case v1::ACTION_KIND_RETURN_RESULT:
        action.return_mode = v1::RETURN_MODE_AT_DESK;
        break;
      case v1::ACTION_KIND_RESCHEDULE:
        action.note = "Xin lỗi: cần xác minh thêm";
        action.new_due_time = At(2020, 1, 20, 17);
        break;
      default:
        break;
    }
    return action;
  }

  // Dossiers in every reachable situation, built through real transitions
  // from a NEW dossier submitted at T0 (due Thursday 9/1 17:00 once accepted).
  v1::Dossier NewDossierAt() const { return Submit(Request(), T0()); }
  v1::Dossier Received() const {
    return Apply(NewDossierAt(), Make(v1::ACTION_KIND_ACCEPT), T0() + absl::Minutes(5));
  }
  v1::Dossier Processing() const {
    return Apply(Received(), Make(v1::ACTION_KIND_HAND_OVER), T0() + absl::Minutes(10));
  }
  v1::Dossier Decided() const {
    return Apply(Processing(), WellFormed(v1::ACTION_KIND_RECORD_DECISION),
                 T0() + absl::Minutes(20));
  }
  v1::Dossier ReceptionSupplement() const {
    return Apply(NewDossierAt(), WellFormed(v1::ACTION_KIND_REQUEST_SUPPLEMENT),
                 T0() + absl::Minutes(5));
  }
  v1::Dossier ProcessingSupplement() const {
    return Apply(Processing(), WellFormed(v1::ACTION_KIND_REQUEST_SUPPLEMENT),
                 T0() + absl::Minutes(20));
  }
  v1::Dossier Obligation() const {
    return Apply(Processing(), Make(v1::ACTION_KIND_REQUEST_PAYMENT), T0() + absl::Minutes(20));
  }
  v1::Dossier ResultReady() const {
    return Apply(Decided(), Make(v1::ACTION_KIND_MARK_RESULT_READY), T0() + absl::Minutes(30));
  }
  v1::Dossier Refused() const {
    return Apply(NewDossierAt(), WellFormed(v1::ACTION_KIND_REFUSE), T0() + absl::Minutes(5));
  }
  v1::Dossier Withdrawn() const {
    return Apply(NewDossierAt(), WellFormed(v1::ACTION_KIND_WITHDRAW), T0() + absl::Minutes(5));
  }
  v1::Dossier Stopped() const {
    return Apply(Received(), WellFormed(v1::ACTION_KIND_STOP), T0() + absl::Minutes(10));
  }
  v1::Dossier Returned() const {
    return Apply(ResultReady(), WellFormed(v1::ACTION_KIND_RETURN_RESULT),
                 T0() + absl::Minutes(40));
  }

  std::shared_ptr<const Catalogue> catalogue_;
};

constexpr v1::ActionKind kAllActions[] = {
    v1::ACTION_KIND_ACCEPT,           v1::ACTION_KIND_REQUEST_SUPPLEMENT,
    v1::ACTION_KIND_SUPPLY_DOCUMENTS, v1::ACTION_KIND_REFUSE,
    v1::ACTION_KIND_HAND_OVER,        v1::ACTION_KIND_REQUEST_PAYMENT,
    v1::ACTION_KIND_CONFIRM_PAYMENT,  v1::ACTION_KIND_RECORD_DECISION,
    v1::ACTION_KIND_MARK_RESULT_READY, v1::ACTION_KIND_RETURN_RESULT,
    v1::ACTION_KIND_WITHDRAW,         v1::ACTION_KIND_STOP,
    v1::ACTION_KIND_RESCHEDULE,
};

// The whole transition table: every situation × every action. Legal pairs
// give the expected status; every other pair is FAILED_PRECONDITION naming
// the current status.
TEST_F(WorkflowTest, EveryStatusActionPair) {
  using S = v1::DossierStatus;
  struct Row {
    const char* situation;
    std::function<v1::Dossier()> build;
    S status;
    std::map<v1::ActionKind, S> legal;
  };
  const std::vector<Row> rows = {
      {"new", [&] { return NewDossierAt(); }, v1::DOSSIER_STATUS_NEW,
       {{v1::ACTION_KIND_ACCEPT, v1::DOSSIER_STATUS_RECEIVED},
        {v1::ACTION_KIND_REQUEST_SUPPLEMENT, v1::DOSSIER_STATUS_SUPPLEMENT_REQUESTED},
        {v1::ACTION_KIND_REFUSE, v1::DOSSIER_STATUS_REFUSED},
        {v1::ACTION_KIND_WITHDRAW, v1::DOSSIER_STATUS_WITHDRAWN}}},
      {"received", [&] { return Received(); }, v1::DOSSIER_STATUS_RECEIVED,
       {{v1::ACTION_KIND_REFUSE, v1::DOSSIER_STATUS_REFUSED},
        {v1::ACTION_KIND_HAND_OVER, v1::DOSSIER_STATUS_PROCESSING},
        {v1::ACTION_KIND_WITHDRAW, v1::DOSSIER_STATUS_WITHDRAWN},
        {v1::ACTION_KIND_STOP, v1::DOSSIER_STATUS_STOPPED},
        {v1::ACTION_KIND_RESCHEDULE, v1::DOSSIER_STATUS_RECEIVED}}},
      {"processing, undecided", [&] { return Processing(); }, v1::DOSSIER_STATUS_PROCESSING,
       {{v1::ACTION_KIND_REQUEST_SUPPLEMENT, v1::DOSSIER_STATUS_SUPPLEMENT_REQUESTED},
        {v1::ACTION_KIND_REQUEST_PAYMENT, v1::DOSSIER_STATUS_FINANCIAL_OBLIGATION},
        {v1::ACTION_KIND_RECORD_DECISION, v1::DOSSIER_STATUS_PROCESSING},
        {v1::ACTION_KIND_WITHDRAW, v1::DOSSIER_STATUS_WITHDRAWN},
        {v1::ACTION_KIND_STOP, v1::DOSSIER_STATUS_STOPPED},
        {v1::ACTION_KIND_RESCHEDULE, v1::DOSSIER_STATUS_PROCESSING}}},
      {"processing, decided", [&] { return Decided(); }, v1::DOSSIER_STATUS_PROCESSING,
       {{v1::ACTION_KIND_REQUEST_SUPPLEMENT, v1::DOSSIER_STATUS_SUPPLEMENT_REQUESTED},
        {v1::ACTION_KIND_REQUEST_PAYMENT, v1::DOSSIER_STATUS_FINANCIAL_OBLIGATION},
        {v1::ACTION_KIND_MARK_RESULT_READY, v1::DOSSIER_STATUS_RESULT_READY},
        {v1::ACTION_KIND_STOP, v1::DOSSIER_STATUS_STOPPED},
        {v1::ACTION_KIND_RESCHEDULE, v1::DOSSIER_STATUS_PROCESSING}}},
      {"supplement at reception", [&] { return ReceptionSupplement(); },
       v1::DOSSIER_STATUS_SUPPLEMENT_REQUESTED,
       {{v1::ACTION_KIND_SUPPLY_DOCUMENTS, v1::DOSSIER_STATUS_NEW},
        {v1::ACTION_KIND_REFUSE, v1::DOSSIER_STATUS_REFUSED},
        {v1::ACTION_KIND_WITHDRAW, v1::DOSSIER_STATUS_WITHDRAWN}}},
      {"supplement in processing", [&] { return ProcessingSupplement(); },
       v1::DOSSIER_STATUS_SUPPLEMENT_REQUESTED,
       {{v1::ACTION_KIND_SUPPLY_DOCUMENTS, v1::DOSSIER_STATUS_PROCESSING},
        {v1::ACTION_KIND_WITHDRAW, v1::DOSSIER_STATUS_WITHDRAWN},
        {v1::ACTION_KIND_STOP, v1::DOSSIER_STATUS_STOPPED},
        {v1::ACTION_KIND_RESCHEDULE, v1::DOSSIER_STATUS_SUPPLEMENT_REQUESTED}}},
      {"financial obligation", [&] { return Obligation(); },
       v1::DOSSIER_STATUS_FINANCIAL_OBLIGATION,
       {{v1::ACTION_KIND_CONFIRM_PAYMENT, v1::DOSSIER_STATUS_PROCESSING},
        {v1::ACTION_KIND_WITHDRAW, v1::DOSSIER_STATUS_WITHDRAWN},
        {v1::ACTION_KIND_STOP, v1::DOSSIER_STATUS_STOPPED},
        {v1::ACTION_KIND_RESCHEDULE, v1::DOSSIER_STATUS_FINANCIAL_OBLIGATION}}},
      {"result ready", [&] { return ResultReady(); }, v1::DOSSIER_STATUS_RESULT_READY,
       {{v1::ACTION_KIND_RETURN_RESULT, v1::DOSSIER_STATUS_RETURNED}}},
      {"refused", [&] { return Refused(); }, v1::DOSSIER_STATUS_REFUSED, {}},
      {"withdrawn", [&] { return Withdrawn(); }, v1::DOSSIER_STATUS_WITHDRAWN, {}},
      {"stopped", [&] { return Stopped(); }, v1::DOSSIER_STATUS_STOPPED, {}},
      {"returned", [&] { return Returned(); }, v1::DOSSIER_STATUS_RETURNED, {}},
  };
  const absl::Time now = T0() + absl::Hours(1);
  for (const Row& row : rows) {
    SCOPED_TRACE(row.situation);
    const v1::Dossier dossier = row.build();
    ASSERT_EQ(dossier.status(), row.status);
    EXPECT_EQ(IsTerminal(dossier.status()), row.legal.empty());

    std::vector<v1::ActionKind> expected_allowed;
    for (v1::ActionKind kind : kAllActions) {
      if (row.legal.count(kind)) expected_allowed.push_back(kind);
    }
    EXPECT_EQ(AllowedActions(dossier), expected_allowed);

    for (v1::ActionKind kind : kAllActions) {
      SCOPED_TRACE(ActionName(kind));
      absl::StatusOr<Transition> t =
          ApplyAction(dossier, WellFormed(kind), *catalogue_, Ctx(now));
      const auto legal = row.legal.find(kind);
      if (legal == row.legal.end()) {
        EXPECT_THAT(t, StatusIs(absl::StatusCode::kFailedPrecondition,
                                HasSubstr(absl::StrCat(StatusName(row.status), " (",
                                                       StatusLabelVi(row.status), ")"))));
        continue;
      }
      ASSERT_THAT(t, IsOk());
      EXPECT_EQ(t->dossier.status(), legal->second);
      EXPECT_EQ(t->dossier.portal_status_code(), static_cast<int>(legal->second));
      EXPECT_EQ(t->dossier.etag(), dossier.etag());
      EXPECT_EQ(t->entry.sequence(), dossier.history_size() + 1);
      EXPECT_EQ(t->entry.action(), kind);
      EXPECT_EQ(t->entry.from_status(), row.status);
      EXPECT_EQ(t->entry.to_status(), legal->second);
      EXPECT_EQ(t->entry.actor(), "clerk-hoa");
      EXPECT_EQ(ToTime(t->entry.time()), now);
      EXPECT_EQ(t->entry.holder_agency_code(), t->dossier.holder_agency_code());
      ASSERT_EQ(t->dossier.history_size(), dossier.history_size() + 1);
      EXPECT_EQ(t->dossier.history(dossier.history_size()).sequence(), t->entry.sequence());
    }
  }
}

TEST_F(WorkflowTest, IllegalActionMessagesNameStatusAndAllowedActions) {
  v1::Dossier dossier = NewDossierAt();
  dossier.set_code("000.00.31.H15-200106-0001");
  EXPECT_THAT(ApplyAction(dossier, Make(v1::ACTION_KIND_HAND_OVER), *catalogue_, Ctx(T0())),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       "cannot hand_over: dossier 000.00.31.H15-200106-0001 is NEW (Mới đăng "
                       "ký); allowed: accept, request_supplement, refuse, withdraw"));

  v1::Dossier refused = Refused();
  refused.set_code("000.00.31.H15-200106-0001");
  EXPECT_THAT(ApplyAction(refused, Make(v1::ACTION_KIND_ACCEPT), *catalogue_, Ctx(T0())),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       "dossier 000.00.31.H15-200106-0001 is REFUSED (Không được tiếp nhận); "
                       "no action is allowed"));
}

TEST_F(WorkflowTest, SubmitAndUnspecifiedAreNotLifecycleActions) {
  for (v1::ActionKind kind : {v1::ACTION_KIND_SUBMIT, v1::ACTION_KIND_UNSPECIFIED,
                              static_cast<v1::ActionKind>(99)}) {
    EXPECT_THAT(ApplyAction(NewDossierAt(), Make(kind), *catalogue_, Ctx(T0())),
                StatusIs(absl::StatusCode::kInvalidArgument))
        << kind;
  }
}

TEST_F(WorkflowTest, SubmissionBuildsNewDossier) {
  absl::StatusOr<NewDossier> prepared = PrepareSubmission(Request(), *catalogue_, Ctx(T0()));
  ASSERT_THAT(prepared, IsOk());
  const v1::Dossier& d = prepared->dossier;
  EXPECT_EQ(prepared->code_prefix, "000.31.31.H15-200106-");
  EXPECT_EQ(d.code(), "");
  EXPECT_EQ(d.etag(), 0);
  EXPECT_EQ(d.history_size(), 0);
  EXPECT_EQ(d.status(), v1::DOSSIER_STATUS_NEW);
  EXPECT_EQ(d.portal_status_code(), 1);
  EXPECT_EQ(d.receiving_agency_code(), kCommune);
  EXPECT_EQ(d.holder_agency_code(), kCommune);
  EXPECT_EQ(d.deciding_agency_code(), kCommune);  // commune procedure: receiver decides
  EXPECT_EQ(d.procedure_code(), "2.000908");
  EXPECT_EQ(d.channel(), v1::CHANNEL_DIRECT);
  EXPECT_EQ(ToTime(d.submitted_time()), T0());
  EXPECT_FALSE(d.has_received_time());
  EXPECT_FALSE(d.has_due_time());
  EXPECT_EQ(prepared->entry.sequence(), 1);
  EXPECT_EQ(prepared->entry.action(), v1::ACTION_KIND_SUBMIT);
  EXPECT_EQ(prepared->entry.from_status(), v1::DOSSIER_STATUS_UNSPECIFIED);
  EXPECT_EQ(prepared->entry.to_status(), v1::DOSSIER_STATUS_NEW);
  EXPECT_EQ(prepared->entry.holder_agency_code(), kCommune);
  EXPECT_EQ(prepared->entry.actor(), "clerk-hoa");
}

TEST_F(WorkflowTest, VietnameseTextRoundTripsExactly) {
  absl::StatusOr<NewDossier> prepared = PrepareSubmission(Request(), *catalogue_, Ctx(T0()));
  ASSERT_THAT(prepared, IsOk());
  EXPECT_EQ(prepared->dossier.applicant().full_name(), "Nguyễn Thị Hằng");
  EXPECT_EQ(prepared->dossier.applicant().address(), "Buôn Triết, huyện Lắk, tỉnh Đắk Lắk");
  EXPECT_EQ(prepared->dossier.summary(), "Chứng thực 2 bản sao giấy khai sinh");
  ASSERT_EQ(prepared->dossier.documents_size(), 1);
  EXPECT_EQ(prepared->dossier.documents(0).name(), "Bản chính giấy khai sinh");
}

TEST_F(WorkflowTest, ReceiveNowSetsDueTimeFromLegalDeadline) {
  v1::SubmitDossierRequest request = Request();
  request.set_receive_now(true);
  absl::StatusOr<NewDossier> prepared = PrepareSubmission(request, *catalogue_, Ctx(T0()));
  ASSERT_THAT(prepared, IsOk());
  const v1::Dossier& d = prepared->dossier;
  absl::StatusOr<absl::Time> due =
      ComputeDueTime(catalogue_->FindProcedure("2.000908")->deadline(), T0(), calendar());
  ASSERT_THAT(due, IsOk());
  EXPECT_EQ(d.status(), v1::DOSSIER_STATUS_RECEIVED);
  EXPECT_EQ(d.portal_status_code(), 2);
  EXPECT_EQ(ToTime(d.received_time()), T0());
  EXPECT_EQ(ToTime(d.original_due_time()), *due);
  EXPECT_EQ(ToTime(d.due_time()), *due);
  EXPECT_GT(*due, T0());
  EXPECT_EQ(prepared->entry.to_status(), v1::DOSSIER_STATUS_RECEIVED);
}

TEST_F(WorkflowTest, DocumentCopiesDefaultToOne) {
  v1::SubmitDossierRequest request = Request();
  request.mutable_documents(0)->set_copies(0);
  auto* second = request.add_documents();
  second->set_name("Tờ khai");
  second->set_copies(2);
  absl::StatusOr<NewDossier> prepared = PrepareSubmission(request, *catalogue_, Ctx(T0()));
  ASSERT_THAT(prepared, IsOk());
  ASSERT_EQ(prepared->dossier.documents_size(), 2);
  EXPECT_EQ(prepared->dossier.documents(0).copies(), 1);
  EXPECT_EQ(prepared->dossier.documents(1).copies(), 2);
}

struct SubmissionCase {
  const char* name;
  std::function<void(v1::SubmitDossierRequest&)> mutate;
  absl::StatusCode code;
  const char* message;
};

class SubmissionValidationTest : public WorkflowTest,
                                 public ::testing::WithParamInterface<SubmissionCase> {};

TEST_P(SubmissionValidationTest, RejectsBadRequest) {
  v1::SubmitDossierRequest request = Request();
  GetParam().mutate(request);
  EXPECT_THAT(PrepareSubmission(request, *catalogue_, Ctx(T0())),
              StatusIs(GetParam().code, HasSubstr(GetParam().message)));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, SubmissionValidationTest,
    ::testing::Values(
        SubmissionCase{"MissingName",
                       [](auto& r) { r.mutable_applicant()->clear_full_name(); },
                       absl::StatusCode::kInvalidArgument, "applicant.full_name is required"},
        SubmissionCase{"NameNotUtf8",
                       [](auto& r) { r.mutable_applicant()->set_full_name("Nguy\xE1\xBB"); },
                       absl::StatusCode::kInvalidArgument,
                       "applicant.full_name is not valid UTF-8"},
        SubmissionCase{"NameSurrogate",
                       [](auto& r) { r.mutable_applicant()->set_full_name("H\xED\xA0\x80ng"); },
                       absl::StatusCode::kInvalidArgument,
                       "applicant.full_name is not valid UTF-8"},
        SubmissionCase{"NameTooLong",
                       [](auto& r) {
                         std::string name;
                         while (name.size() <= kMaxNameBytes) name += "Hằng ";
                         r.mutable_applicant()->set_full_name(name);
                       },
                       absl::StatusCode::kInvalidArgument, "applicant.full_name is too long"},
        SubmissionCase{"PhoneTooLong",
                       [](auto& r) {
                         r.mutable_applicant()->set_phone(std::string(kMaxNameBytes + 1, '9'));
                       },
                       absl::StatusCode::kInvalidArgument, "applicant.phone is too long"},
        SubmissionCase{"AddressTooLong",
                       [](auto& r) {
                         r.mutable_applicant()->set_address(std::string(kMaxTextBytes + 1, 'x'));
                       },
                       absl::StatusCode::kInvalidArgument, "applicant.address is too long"},
        SubmissionCase{"SummaryTooLong",
                       [](auto& r) { r.set_summary(std::string(kMaxTextBytes + 1, 'x')); },
                       absl::StatusCode::kInvalidArgument, "summary is too long"},
        SubmissionCase{"MissingProcedure", [](auto& r) { r.clear_procedure_code(); },
                       absl::StatusCode::kInvalidArgument, "procedure_code is required"},
        SubmissionCase{"AgencyCodeTooLong",
                       [](auto& r) {
                         r.set_receiving_agency_code(std::string(kMaxCodeBytes + 1, '0'));
                       },
                       absl::StatusCode::kInvalidArgument, "receiving_agency_code is too long"},
        SubmissionCase{"RequestIdTooLong",
                       [](auto& r) { r.set_request_id(std::string(129, 'r')); },
                       absl::StatusCode::kInvalidArgument, "request_id is too long"},
        SubmissionCase{"RequestIdNotAscii", [](auto& r) { r.set_request_id("khóa-1"); },
                       absl::StatusCode::kInvalidArgument, "request_id must contain printable"},
        SubmissionCase{"NoChannel", [](auto& r) { r.clear_channel(); },
                       absl::StatusCode::kInvalidArgument, "channel is required"},
        SubmissionCase{"UnknownChannel",
                       [](auto& r) { r.set_channel(static_cast<v1::Channel>(9)); },
                       absl::StatusCode::kInvalidArgument, "channel is required"},
        SubmissionCase{"TooManyDocuments",
                       [](auto& r) {
                         for (size_t i = 0; i < kMaxListItems; ++i) {
                           r.add_documents()->set_name("Giấy tờ");
                         }
                       },
                       absl::StatusCode::kInvalidArgument, "at most 100"},
        SubmissionCase{"DocumentWithoutName",
                       [](auto& r) { r.mutable_documents(0)->clear_name(); },
                       absl::StatusCode::kInvalidArgument, "documents[0].name is required"},
        SubmissionCase{"NegativeCopies",
                       [](auto& r) { r.mutable_documents(0)->set_copies(-1); },
                       absl::StatusCode::kInvalidArgument, "documents[0].copies is -1"},
        SubmissionCase{"UnknownAgency",
                       [](auto& r) { r.set_receiving_agency_code("000.99.99.H15"); },
                       absl::StatusCode::kNotFound, "no agency with code \"000.99.99.H15\""},
        SubmissionCase{"UnknownProcedure", [](auto& r) { r.set_procedure_code("9.999999"); },
                       absl::StatusCode::kNotFound, "no procedure with code \"9.999999\""},
        SubmissionCase{"WrongLevel",
                       [](auto& r) { r.set_receiving_agency_code(kDistrict); },
                       absl::StatusCode::kInvalidArgument,
                       "procedure 2.000908 (Chứng thực bản sao từ bản chính) is handled at "
                       "commune level, not at district level"},
        SubmissionCase{"AgencyNotYetValid",
                       [](auto& r) { r.set_receiving_agency_code("000.32.31.H15"); },
                       absl::StatusCode::kFailedPrecondition, "does not exist on 2020-01-06"}),
    [](const ::testing::TestParamInfo<SubmissionCase>& info) { return info.param.name; });

TEST_F(WorkflowTest, AcceptSetsReceivedAndDueTimes) {
  const absl::Time now = T0() + absl::Minutes(5);
  v1::Dossier received = Apply(NewDossierAt(), Make(v1::ACTION_KIND_ACCEPT), now);
  absl::StatusOr<absl::Time> due =
      ComputeDueTime(catalogue_->FindProcedure("2.000908")->deadline(), now, calendar());
  ASSERT_THAT(due, IsOk());
  EXPECT_EQ(ToTime(received.received_time()), now);
  EXPECT_EQ(ToTime(received.original_due_time()), *due);
  EXPECT_EQ(ToTime(received.due_time()), *due);
  EXPECT_EQ(received.holder_agency_code(), kCommune);
}

TEST_F(WorkflowTest, ReceptionSupplementOnlyOnceAndWithoutPause) {
  v1::Dossier supplement = ReceptionSupplement();
  ASSERT_EQ(supplement.supplements_size(), 1);
  EXPECT_EQ(supplement.supplements(0).phase(), v1::SUPPLEMENT_PHASE_RECEPTION);
  EXPECT_EQ(supplement.supplements(0).agency_code(), kCommune);
  EXPECT_EQ(supplement.supplements(0).missing_items(0), "Bản sao CCCD của người yêu cầu");
  EXPECT_EQ(supplement.pauses_size(), 0);

  const absl::Time later = T0() + absl::Hours(2);
  v1::Dossier supplied = Apply(supplement, WellFormed(v1::ACTION_KIND_SUPPLY_DOCUMENTS), later);
  EXPECT_EQ(supplied.status(), v1::DOSSIER_STATUS_NEW);
  EXPECT_EQ(ToTime(supplied.supplements(0).supplied_time()), later);
  ASSERT_EQ(supplied.documents_size(), 2);
  EXPECT_EQ(supplied.documents(1).name(), "Bản sao CCCD");
  EXPECT_EQ(supplied.documents(1).copies(), 1);

  EXPECT_THAT(ApplyAction(supplied, WellFormed(v1::ACTION_KIND_REQUEST_SUPPLEMENT), *catalogue_,
                          Ctx(later)),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("the desk may request a supplement only once")));
  // The allowed list no longer offers it either.
  EXPECT_THAT(AllowedActions(supplied),
              ::testing::Not(::testing::Contains(v1::ACTION_KIND_REQUEST_SUPPLEMENT)));
}

TEST_F(WorkflowTest, ProcessingSupplementPausesClockAndShiftsDueTime) {
  const v1::Dossier processing = Processing();
  const absl::Time asked = At(2020, 1, 7, 9);     // Tuesday 09:00
  const absl::Time supplied_at = At(2020, 1, 8, 9);  // Wednesday 09:00: one working day
  v1::Dossier waiting = Apply(processing, WellFormed(v1::ACTION_KIND_REQUEST_SUPPLEMENT), asked);
  ASSERT_EQ(waiting.supplements_size(), 1);
  EXPECT_EQ(waiting.supplements(0).phase(), v1::SUPPLEMENT_PHASE_PROCESSING);
  EXPECT_EQ(waiting.supplements(0).agency_code(), processing.holder_agency_code());
  ASSERT_EQ(waiting.pauses_size(), 1);
  EXPECT_EQ(waiting.pauses(0).reason(), v1::ACTION_KIND_REQUEST_SUPPLEMENT);
  EXPECT_EQ(ToTime(waiting.pauses(0).start_time()), asked);
  EXPECT_FALSE(waiting.pauses(0).has_end_time());
  EXPECT_EQ(waiting.due_time().seconds(), processing.due_time().seconds());

  v1::Dossier resumed =
      Apply(waiting, WellFormed(v1::ACTION_KIND_SUPPLY_DOCUMENTS), supplied_at);
  EXPECT_EQ(resumed.status(), v1::DOSSIER_STATUS_PROCESSING);
  ASSERT_EQ(resumed.pauses_size(), 1);
  EXPECT_EQ(ToTime(resumed.pauses(0).end_time()), supplied_at);
  const absl::Time original = ToTime(resumed.original_due_time());
  EXPECT_EQ(original, ToTime(processing.original_due_time()));
  EXPECT_EQ(ToTime(resumed.due_time()),
            EffectiveDueTime(original, resumed.pauses(), supplied_at, calendar()));
  EXPECT_GT(ToTime(resumed.due_time()), original);
  EXPECT_EQ(WorkingMinutesBetween(original, ToTime(resumed.due_time()), calendar()), 480);

  // Once per agency: the same holder cannot ask again…
  EXPECT_THAT(ApplyAction(resumed, WellFormed(v1::ACTION_KIND_REQUEST_SUPPLEMENT), *catalogue_,
                          Ctx(supplied_at)),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("each processing agency may request a supplement only once")));
  // …but another agency holding the dossier (an interlinked step) may.
  v1::Dossier elsewhere = resumed;
  elsewhere.set_holder_agency_code(kDistrict);
  v1::Dossier again =
      Apply(elsewhere, WellFormed(v1::ACTION_KIND_REQUEST_SUPPLEMENT), supplied_at);
  EXPECT_EQ(again.supplements_size(), 2);
  EXPECT_EQ(again.supplements(1).agency_code(), kDistrict);
}

TEST_F(WorkflowTest, PaymentPausesClockAndShiftsDueTime) {
  const v1::Dossier processing = Processing();
  const absl::Time asked = At(2020, 1, 7, 14);
  const absl::Time paid = At(2020, 1, 8, 10);
  v1::Dossier waiting = Apply(processing, Make(v1::ACTION_KIND_REQUEST_PAYMENT), asked);
  ASSERT_EQ(waiting.pauses_size(), 1);
  EXPECT_EQ(waiting.pauses(0).reason(), v1::ACTION_KIND_REQUEST_PAYMENT);
  EXPECT_FALSE(waiting.pauses(0).has_end_time());
  v1::Dossier resumed = Apply(waiting, Make(v1::ACTION_KIND_CONFIRM_PAYMENT), paid);
  EXPECT_EQ(resumed.status(), v1::DOSSIER_STATUS_PROCESSING);
  EXPECT_EQ(ToTime(resumed.pauses(0).end_time()), paid);
  EXPECT_EQ(ToTime(resumed.due_time()),
            EffectiveDueTime(ToTime(resumed.original_due_time()), resumed.pauses(), paid,
                             calendar()));
  EXPECT_GT(ToTime(resumed.due_time()), ToTime(resumed.original_due_time()));
}

TEST_F(WorkflowTest, ClosingWhilePausedClosesThePause) {
  const absl::Time stopped_at = At(2020, 1, 8, 9);
  v1::Dossier stopped = Apply(Obligation(), WellFormed(v1::ACTION_KIND_STOP), stopped_at);
  EXPECT_EQ(stopped.status(), v1::DOSSIER_STATUS_STOPPED);
  ASSERT_EQ(stopped.pauses_size(), 1);
  EXPECT_EQ(ToTime(stopped.pauses(0).end_time()), stopped_at);
  EXPECT_EQ(ToTime(stopped.closed_time()), stopped_at);
  EXPECT_EQ(stopped.closing_reason(), "Lý do: hồ sơ không thuộc thẩm quyền");
}

TEST_F(WorkflowTest, ReasonsAreRequired) {
  struct Case {
    const char* name;
    std::function<v1::Dossier()> build;
    Action action;
    const char* message;
  };
  Action deny = Make(v1::ACTION_KIND_RECORD_DECISION);
  deny.outcome = v1::DECISION_OUTCOME_DENIED;
  Action long_reason = WellFormed(v1::ACTION_KIND_REFUSE);
  long_reason.note = std::string(kMaxTextBytes + 1, 'x');
  const std::vector<Case> cases = {
      {"refuse", [&] { return NewDossierAt(); }, Make(v1::ACTION_KIND_REFUSE),
       "a reason is required to refuse dossier"},
      {"withdraw", [&] { return Received(); }, Make(v1::ACTION_KIND_WITHDRAW),
       "a reason is required to withdraw dossier"},
      {"stop", [&] { return Processing(); }, Make(v1::ACTION_KIND_STOP),
       "a reason is required to stop dossier"},
      {"deny", [&] { return Processing(); }, deny, "a reason is required to deny dossier"},
      {"refuse, reason too long", [&] { return NewDossierAt(); }, long_reason,
       "reason is too long"},
  };
  for (const Case& c : cases) {
    EXPECT_THAT(ApplyAction(c.build(), c.action, *catalogue_, Ctx(T0() + absl::Hours(1))),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.message)))
        << c.name;
  }
}

TEST_F(WorkflowTest, MalformedActionFieldsAreInvalidArgument) {
  struct Case {
    const char* name;
    std::function<v1::Dossier()> build;
    std::function<Action()> action;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"no missing items", [&] { return NewDossierAt(); },
       [] { return Make(v1::ACTION_KIND_REQUEST_SUPPLEMENT); }, "missing_items is required"},
      {"too many missing items", [&] { return NewDossierAt(); },
       [] {
         Action a = Make(v1::ACTION_KIND_REQUEST_SUPPLEMENT);
         a.missing_items.assign(kMaxListItems + 1, "Giấy tờ");
         return a;
       },
       "at most 100"},
      {"empty missing item", [&] { return NewDossierAt(); },
       [] {
         Action a = Make(v1::ACTION_KIND_REQUEST_SUPPLEMENT);
         a.missing_items = {"Tờ khai", ""};
         return a;
       },
       "missing_items[1] is required"},
      {"missing item not UTF-8", [&] { return NewDossierAt(); },
       [] {
         Action a = Make(v1::ACTION_KIND_REQUEST_SUPPLEMENT);
         a.missing_items = {"T\xF4 khai"};
         return a;
       },
       "missing_items[0] is not valid UTF-8"},
      {"note too long", [&] { return NewDossierAt(); },
       [] {
         Action a = Make(v1::ACTION_KIND_ACCEPT);
         a.note = std::string(kMaxTextBytes + 1, 'n');
         return a;
       },
       "note is too long"},
      {"no outcome", [&] { return Processing(); },
       [] { return Make(v1::ACTION_KIND_RECORD_DECISION); }, "outcome is required"},
      {"no return mode", [&] { return ResultReady(); },
       [] { return Make(v1::ACTION_KIND_RETURN_RESULT); }, "return mode is required"},
      {"supplied document without name", [&] { return ReceptionSupplement(); },
       [] {
         Action a = Make(v1::ACTION_KIND_SUPPLY_DOCUMENTS);
         a.documents.emplace_back();
         return a;
       },
       "documents[0].name is required"},
  };
  for (const Case& c : cases) {
    EXPECT_THAT(ApplyAction(c.build(), c.action(), *catalogue_, Ctx(T0() + absl::Hours(1))),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.message)))
        << c.name;
  }
}

TEST_F(WorkflowTest, DecisionRules) {
  const absl::Time now = T0() + absl::Hours(1);
  // Result ready needs a decision.
  EXPECT_THAT(ApplyAction(Processing(), Make(v1::ACTION_KIND_MARK_RESULT_READY), *catalogue_,
                          Ctx(now)),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("record the decision first")));
  // A denial keeps its reason and the deciding holder.
  Action deny = Make(v1::ACTION_KIND_RECORD_DECISION);
  deny.outcome = v1::DECISION_OUTCOME_DENIED;
  deny.note = "Không đủ điều kiện";
  v1::Dossier denied = Apply(Processing(), deny, now);
  EXPECT_EQ(denied.status(), v1::DOSSIER_STATUS_PROCESSING);
  EXPECT_EQ(denied.decision().outcome(), v1::DECISION_OUTCOME_DENIED);
  EXPECT_EQ(denied.decision().reason(), "Không đủ điều kiện");
  EXPECT_EQ(denied.decision().agency_code(), kCommune);
  EXPECT_EQ(ToTime(denied.decision().decided_time()), now);
  // Only once.
  EXPECT_THAT(ApplyAction(denied, WellFormed(v1::ACTION_KIND_RECORD_DECISION), *catalogue_,
                          Ctx(now)),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("only once")));
  // No withdrawal after a decision.
  EXPECT_THAT(ApplyAction(denied, WellFormed(v1::ACTION_KIND_WITHDRAW), *catalogue_, Ctx(now)),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("a decision has already been recorded")));
}

TEST_F(WorkflowTest, ResultReadyAndReturned) {
  // District procedure decided by the province: the result comes back to
  // the receiving district desk.
  v1::SubmitDossierRequest request = Request();
  request.set_procedure_code("1.009994");
  request.set_receiving_agency_code(kDistrict);
  request.set_receive_now(true);
  v1::Dossier received = Submit(request, T0());
  EXPECT_EQ(received.deciding_agency_code(), kProvince);
  v1::Dossier processing = Apply(received, Make(v1::ACTION_KIND_HAND_OVER), T0());
  EXPECT_EQ(processing.holder_agency_code(), kProvince);  // default target
  v1::Dossier decided = Apply(processing, WellFormed(v1::ACTION_KIND_RECORD_DECISION), T0());
  EXPECT_EQ(decided.decision().agency_code(), kProvince);
  const absl::Time ready_at = At(2020, 1, 10, 10);
  absl::StatusOr<Transition> ready = ApplyAction(
      decided, Make(v1::ACTION_KIND_MARK_RESULT_READY), *catalogue_, Ctx(ready_at));
  ASSERT_THAT(ready, IsOk());
  EXPECT_EQ(ready->dossier.holder_agency_code(), kDistrict);
  EXPECT_EQ(ready->entry.holder_agency_code(), kDistrict);
  EXPECT_EQ(ToTime(ready->dossier.finished_time()), ready_at);
  const absl::Time returned_at = At(2020, 1, 13, 8);
  Action give = Make(v1::ACTION_KIND_RETURN_RESULT);
  give.return_mode = v1::RETURN_MODE_POSTAL;
  v1::Dossier returned = Apply(ready->dossier, give, returned_at);
  EXPECT_EQ(returned.status(), v1::DOSSIER_STATUS_RETURNED);
  EXPECT_EQ(returned.portal_status_code(), 10);
  EXPECT_EQ(returned.return_mode(), v1::RETURN_MODE_POSTAL);
  EXPECT_EQ(ToTime(returned.returned_time()), returned_at);
  EXPECT_FALSE(returned.has_closed_time());
  // Sequence numbers follow the history: submit, hand_over, decide, ready, return.
  ASSERT_EQ(returned.history_size(), 5);
  for (int i = 0; i < returned.history_size(); ++i) {
    EXPECT_EQ(returned.history(i).sequence(), i + 1);
  }
}

TEST_F(WorkflowTest, HandOverTargets) {
  const absl::Time now = T0() + absl::Hours(1);
  struct Case {
    const char* to;
    absl::StatusCode code;
    const char* expect;  // holder, or message substring
  };
  const Case cases[] = {
      {"", absl::StatusCode::kOk, kCommune},  // the deciding agency (the receiver here)
      {kDistrict, absl::StatusCode::kOk, kDistrict},
      {"000.99.99.H15", absl::StatusCode::kNotFound, "no agency with code \"000.99.99.H15\""},
      {"000.32.31.H15", absl::StatusCode::kFailedPrecondition,
       "the agency does not exist on 2020-01-06"},
  };
  for (const Case& c : cases) {
    Action action = Make(v1::ACTION_KIND_HAND_OVER);
    action.to_agency_code = c.to;
    absl::StatusOr<Transition> t = ApplyAction(Received(), action, *catalogue_, Ctx(now));
    if (c.code == absl::StatusCode::kOk) {
      ASSERT_THAT(t, IsOk()) << c.to;
      EXPECT_EQ(t->dossier.holder_agency_code(), c.expect);
      EXPECT_EQ(t->entry.holder_agency_code(), c.expect);
    } else {
      EXPECT_THAT(t, StatusIs(c.code, HasSubstr(c.expect))) << c.to;
    }
  }
}

TEST_F(WorkflowTest, RefuseRecordsReasonAndCloses) {
  const absl::Time now = T0() + absl::Minutes(7);
  Action refuse = Make(v1::ACTION_KIND_REFUSE);
  refuse.note = "Không thuộc thẩm quyền giải quyết";
  absl::StatusOr<Transition> t = ApplyAction(NewDossierAt(), refuse, *catalogue_, Ctx(now));
  ASSERT_THAT(t, IsOk());
  EXPECT_EQ(t->dossier.status(), v1::DOSSIER_STATUS_REFUSED);
  EXPECT_EQ(t->dossier.portal_status_code(), 3);
  EXPECT_EQ(t->dossier.closing_reason(), "Không thuộc thẩm quyền giải quyết");
  EXPECT_EQ(ToTime(t->dossier.closed_time()), now);
  EXPECT_EQ(t->entry.note(), "Không thuộc thẩm quyền giải quyết");
}

TEST_F(WorkflowTest, RescheduleRules) {
  // Received Monday 6/1 09:05; due Thursday 9/1 (3 working days).
  const v1::Dossier received = Received();
  const absl::Time due = ToTime(received.due_time());
  ASSERT_EQ(calendar().ToLocalDay(due), absl::CivilDay(2020, 1, 9));
  Action reschedule = WellFormed(v1::ACTION_KIND_RESCHEDULE);

  // The day before the due date is the last day allowed.
  const absl::Time day_before = At(2020, 1, 8, 16);
  absl::StatusOr<Transition> ok = ApplyAction(received, reschedule, *catalogue_, Ctx(day_before));
  ASSERT_THAT(ok, IsOk());
  EXPECT_EQ(ToTime(ok->dossier.rescheduled_due_time()), reschedule.new_due_time);
  EXPECT_EQ(ToTime(ok->dossier.due_time()), due);  // timeliness still uses the due time
  EXPECT_EQ(ok->dossier.status(), v1::DOSSIER_STATUS_RECEIVED);
  EXPECT_EQ(ok->entry.note(), reschedule.note);

  // At most once.
  EXPECT_THAT(ApplyAction(ok->dossier, reschedule, *catalogue_, Ctx(day_before)),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("already been rescheduled once")));
  // Not on the due date itself.
  EXPECT_THAT(ApplyAction(received, reschedule, *catalogue_, Ctx(At(2020, 1, 9, 8))),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("no later than 1 day before the deadline")));
  // The new appointment must be later than the current one.
  Action earlier = reschedule;
  earlier.new_due_time = due;
  EXPECT_THAT(ApplyAction(received, earlier, *catalogue_, Ctx(day_before)),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("must be after the current due time")));
  Action unset = reschedule;
  unset.new_due_time = absl::InfinitePast();
  EXPECT_THAT(ApplyAction(received, unset, *catalogue_, Ctx(day_before)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("new_due_time is required")));
  Action no_reason = reschedule;
  no_reason.note.clear();
  EXPECT_THAT(ApplyAction(received, no_reason, *catalogue_, Ctx(day_before)),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("a reason is required to reschedule")));
}

TEST(WorkflowNamesTest, NamesAndLabels) {
  struct Case {
    v1::DossierStatus status;
    const char* name;
    const char* label;
    bool terminal;
  };
  const Case cases[] = {
      {v1::DOSSIER_STATUS_NEW, "NEW", "Mới đăng ký", false},
      {v1::DOSSIER_STATUS_RECEIVED, "RECEIVED", "Được tiếp nhận", false},
      {v1::DOSSIER_STATUS_REFUSED, "REFUSED", "Không được tiếp nhận", true},
      {v1::DOSSIER_STATUS_PROCESSING, "PROCESSING", "Đang xử lý", false},
      {v1::DOSSIER_STATUS_SUPPLEMENT_REQUESTED, "SUPPLEMENT_REQUESTED",
       "Yêu cầu bổ sung giấy tờ", false},
      {v1::DOSSIER_STATUS_FINANCIAL_OBLIGATION, "FINANCIAL_OBLIGATION",
       "Yêu cầu thực hiện nghĩa vụ tài chính", false},
      {v1::DOSSIER_STATUS_WITHDRAWN, "WITHDRAWN", "Công dân yêu cầu rút hồ sơ", true},
      {v1::DOSSIER_STATUS_STOPPED, "STOPPED", "Dừng xử lý", true},
      {v1::DOSSIER_STATUS_RESULT_READY, "RESULT_READY", "Đã xử lý xong", false},
      {v1::DOSSIER_STATUS_RETURNED, "RETURNED", "Đã trả kết quả", true},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(StatusName(c.status), c.name);
    EXPECT_EQ(StatusLabelVi(c.status), c.label);
    EXPECT_EQ(IsTerminal(c.status), c.terminal) << c.name;
  }
  EXPECT_EQ(ActionName(v1::ACTION_KIND_HAND_OVER), "hand_over");
  EXPECT_EQ(ActionName(v1::ACTION_KIND_REQUEST_SUPPLEMENT), "request_supplement");
  EXPECT_EQ(ActionName(v1::ACTION_KIND_MARK_RESULT_READY), "mark_result_ready");
  EXPECT_EQ(ActionName(v1::ACTION_KIND_CONFIRM_PAYMENT), "confirm_payment");
}

// Digitised components (issue #13) along a real lifecycle: attaching never
// changes the status, and follows documents.h's table.
TEST_F(WorkflowTest, AttachComponentAlongTheLifecycle) {
  auto attach = [&](const v1::Dossier& d, DocumentKind kind, absl::Time now) {
    Action action = Make(v1::ACTION_KIND_ATTACH_COMPONENT);
    ComponentDeclaration component;
    component.component_type = kind == DocumentKind::kResult ? "ban_sao" : "ban_chinh";
    component.file_name = "Bản chính giấy khai sinh.pdf";
    component.mime_type = "application/pdf";
    component.size_bytes = 52'000;
    component.sha256 = std::string(64, '0');
    component.kind = kind;
    action.component = component;
    return ApplyAction(d, action, *catalogue_, Ctx(now));
  };
  v1::Dossier d = NewDossierAt();
  auto at_new = attach(d, DocumentKind::kApplicant, T0() + absl::Minutes(1));
  ASSERT_THAT(at_new, IsOk());
  EXPECT_EQ(at_new->dossier.status(), v1::DOSSIER_STATUS_NEW);
  EXPECT_EQ(at_new->dossier.components(0).stage(), v1::COMPONENT_STAGE_RECEPTION);
  d = Apply(at_new->dossier, Make(v1::ACTION_KIND_ACCEPT), T0() + absl::Minutes(2));
  EXPECT_EQ(d.components_size(), 1);  // kept through later actions
  auto at_received = attach(d, DocumentKind::kApplicant, T0() + absl::Minutes(3));
  ASSERT_THAT(at_received, IsOk());
  EXPECT_EQ(at_received->dossier.components(1).id(), "2");
  d = Apply(at_received->dossier, Make(v1::ACTION_KIND_HAND_OVER), T0() + absl::Minutes(4));
  EXPECT_THAT(attach(d, DocumentKind::kApplicant, T0() + absl::Minutes(5)),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("PROCESSING")));
  d = Apply(d, WellFormed(v1::ACTION_KIND_RECORD_DECISION), T0() + absl::Minutes(6));
  d = Apply(d, Make(v1::ACTION_KIND_MARK_RESULT_READY), T0() + absl::Minutes(7));
  auto result = attach(d, DocumentKind::kResult, T0() + absl::Minutes(8));
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->dossier.components(2).stage(), v1::COMPONENT_STAGE_RESULT);
  EXPECT_EQ(result->entry.from_status(), v1::DOSSIER_STATUS_RESULT_READY);
  EXPECT_EQ(result->entry.to_status(), v1::DOSSIER_STATUS_RESULT_READY);
  d = Apply(result->dossier, WellFormed(v1::ACTION_KIND_RETURN_RESULT), T0() + absl::Minutes(9));
  EXPECT_THAT(attach(d, DocumentKind::kResult, T0() + absl::Minutes(10)),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("RETURNED")));
}

// Whose turn it is (the authorization's targets, docs/SECURITY.md): a
// processing action belongs to the agency the workflow acts as; a
// reception action to any of the dossier's agencies (empty).
TEST(ActingAgencyCandidatesTest, NameTheAgencyTheWorkflowActsAs) {
  v1::Dossier plain;
  plain.set_receiving_agency_code("R");
  plain.set_holder_agency_code("H");
  plain.set_deciding_agency_code("H");
  plain.set_status(v1::DOSSIER_STATUS_PROCESSING);
  auto candidates = [](const v1::Dossier& d, v1::ActionKind kind, std::string acting = "") {
    Action action;
    action.kind = kind;
    action.acting_agency_code = std::move(acting);
    return ActingAgencyCandidates(d, action);
  };
  using Agencies = std::vector<std::string>;
  EXPECT_EQ(candidates(plain, v1::ACTION_KIND_HAND_OVER), Agencies());
  EXPECT_EQ(candidates(plain, v1::ACTION_KIND_WITHDRAW), Agencies());
  EXPECT_EQ(candidates(plain, v1::ACTION_KIND_RECORD_DECISION), Agencies({"H"}));
  // Without a route the workflow ignores the acting agency and decides as
  // the holder: naming the receiving agency changes nothing.
  EXPECT_EQ(candidates(plain, v1::ACTION_KIND_RECORD_DECISION, "R"), Agencies({"H"}));
  EXPECT_EQ(candidates(plain, v1::ACTION_KIND_STOP, "R"), Agencies({"H"}));
  // Forward checks the acting agency itself ("does not hold" otherwise).
  EXPECT_EQ(candidates(plain, v1::ACTION_KIND_FORWARD, "R"), Agencies({"R"}));
  EXPECT_EQ(candidates(plain, v1::ACTION_KIND_REQUEST_SUPPLEMENT), Agencies({"H"}));
  v1::Dossier at_reception = plain;
  at_reception.set_status(v1::DOSSIER_STATUS_NEW);
  EXPECT_EQ(candidates(at_reception, v1::ACTION_KIND_REQUEST_SUPPLEMENT), Agencies());

  v1::Dossier linked = plain;  // stage 1 of 2 in progress: A and B active
  linked.set_current_stage(1);
  v1::Stage* first = linked.add_stages();
  for (const char* code : {"A", "B"}) {
    v1::StageTask* task = first->add_tasks();
    task->set_agency_code(code);
    task->set_status(v1::STAGE_TASK_STATUS_ACTIVE);
  }
  linked.add_stages()->add_tasks()->set_agency_code("C");
  EXPECT_EQ(candidates(linked, v1::ACTION_KIND_RECORD_DECISION, "A"), Agencies({"A"}));
  // A later stage's agency meets the workflow's "does not hold" refusal.
  EXPECT_EQ(candidates(linked, v1::ACTION_KIND_COMPLETE_STAGE, "C"), Agencies({"C"}));
  EXPECT_EQ(candidates(linked, v1::ACTION_KIND_RECORD_DECISION, "X"), Agencies({"H"}));
  EXPECT_EQ(candidates(linked, v1::ACTION_KIND_RECORD_DECISION), Agencies({"H"}));
  EXPECT_EQ(candidates(linked, v1::ACTION_KIND_REQUEST_SUPPLEMENT), Agencies({"H", "A", "B"}));
  EXPECT_EQ(candidates(linked, v1::ACTION_KIND_REQUEST_PAYMENT, "A"), Agencies({"H", "A", "B"}));
}

}  // namespace
}  // namespace onestop::core
