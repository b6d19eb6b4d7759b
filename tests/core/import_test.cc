// Table tests for the checks of one imported dossier (server/core/import.h).
#include "server/core/import.h"

#include <functional>
#include <memory>
#include <string>
#include <variant>

#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "onestop/config/v1/config.pb.h"
#include "tests/testing/status_matchers.h"

namespace onestop::core {
namespace {

namespace v1 = ::onestop::v1;
using ::onestop::testing::IsOk;
using ::onestop::testing::StatusIs;
using ::testing::HasSubstr;

// A district merged away on 2025-06-30 and a commune founded in 2021.
constexpr char kConfig[] = R"pb(
  levels { code: "province" name: "Cấp tỉnh" }
  levels { code: "district" name: "Cấp huyện" }
  levels { code: "commune" name: "Cấp xã" }
  agencies { code: "000.00.00.H15" name: "UBND tỉnh Đắk Lắk" level: "province" }
  agencies {
    code: "000.00.31.H15" name: "UBND huyện Lắk" level: "district"
    parent_code: "000.00.00.H15" valid_to { year: 2025 month: 6 day: 30 }
  }
  agencies {
    code: "000.31.31.H15" name: "UBND thị trấn Liên Sơn" level: "commune"
    parent_code: "000.00.31.H15" valid_to { year: 2025 month: 6 day: 30 }
  }
  agencies {
    code: "000.32.31.H15" name: "UBND xã Buôn Triết" level: "commune"
    parent_code: "000.00.31.H15" valid_from { year: 2021 month: 1 day: 1 }
    valid_to { year: 2025 month: 6 day: 30 }
  }
  procedures {
    code: "2.000908" name: "Chứng thực bản sao từ bản chính" level: "commune"
    deadline { amount: 3 unit: DEADLINE_UNIT_WORKING_DAYS }
  }
)pb";

// Submitted 2019-03-05 08:00 (UTC+7), received, returned: five entries.
constexpr char kRecord[] = R"pb(
  code: "000.31.31.H15-190305-0042"
  etag: 5
  procedure_code: "2.000908"
  receiving_agency_code: "000.31.31.H15"
  holder_agency_code: "000.31.31.H15"
  deciding_agency_code: "000.31.31.H15"
  applicant { full_name: "Nguyễn Thị Hằng" personal_id: "066190001234" }
  channel: CHANNEL_DIRECT
  summary: "Chứng thực 2 bản sao giấy khai sinh"
  status: DOSSIER_STATUS_RETURNED
  portal_status_code: 10
  timeliness: TIMELINESS_EARLY
  submitted_time { seconds: 1551747600 }
  received_time { seconds: 1551747600 }
  history { sequence: 1 time { seconds: 1551747600 } actor: "clerk.cu" action: ACTION_KIND_SUBMIT to_status: DOSSIER_STATUS_RECEIVED }
  history { sequence: 2 time { seconds: 1551751200 } actor: "clerk.cu" action: ACTION_KIND_HAND_OVER from_status: DOSSIER_STATUS_RECEIVED to_status: DOSSIER_STATUS_PROCESSING }
  history { sequence: 3 time { seconds: 1551754800 } actor: "officer.cu" action: ACTION_KIND_RECORD_DECISION from_status: DOSSIER_STATUS_PROCESSING to_status: DOSSIER_STATUS_PROCESSING }
  history { sequence: 4 time { seconds: 1551754800 } actor: "officer.cu" action: ACTION_KIND_MARK_RESULT_READY from_status: DOSSIER_STATUS_PROCESSING to_status: DOSSIER_STATUS_RESULT_READY }
  history { sequence: 5 time { seconds: 1551834000 } actor: "clerk.cu" action: ACTION_KIND_RETURN_RESULT from_status: DOSSIER_STATUS_RESULT_READY to_status: DOSSIER_STATUS_RETURNED }
)pb";

class ImportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    onestop::config::v1::Config config;
    ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(kConfig, &config));
    auto built = Catalogue::Build(config);
    ASSERT_TRUE(std::holds_alternative<std::shared_ptr<const Catalogue>>(built));
    catalogue_ = std::get<std::shared_ptr<const Catalogue>>(built);
    ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(kRecord, &record_));
  }
  std::shared_ptr<const Catalogue> catalogue_;
  v1::Dossier record_;
};

TEST_F(ImportTest, AcceptsAGoodRecordAndClearsDerivedFields) {
  absl::StatusOr<PreparedImport> prepared = PrepareImport(record_, *catalogue_);
  ASSERT_THAT(prepared, IsOk());
  EXPECT_EQ(prepared->code.prefix, "000.31.31.H15-190305-");
  EXPECT_EQ(prepared->code.sequence, 42);
  EXPECT_EQ(prepared->dossier.etag(), 5);
  EXPECT_EQ(prepared->dossier.timeliness(), v1::TIMELINESS_UNSPECIFIED);
  EXPECT_EQ(prepared->dossier.portal_status_code(), 10);
  EXPECT_EQ(prepared->dossier.history_size(), 5);
  EXPECT_EQ(prepared->dossier.applicant().full_name(), "Nguyễn Thị Hằng");
}

TEST_F(ImportTest, EtagZeroBecomesTheHistorySize) {
  record_.set_etag(0);
  absl::StatusOr<PreparedImport> prepared = PrepareImport(record_, *catalogue_);
  ASSERT_THAT(prepared, IsOk());
  EXPECT_EQ(prepared->dossier.etag(), 5);
}

TEST(ParseImportCodeTest, SplitsAtTheLastDash) {
  struct Case {
    std::string code;
    std::string prefix;
    int64_t sequence;
  };
  for (const Case& c : std::vector<Case>{
           {"000.31.31.H15-190305-0042", "000.31.31.H15-190305-", 42},
           {"H22-1", "H22-", 1},
           {"A-B-000000000000000009", "A-B-", 9},
           {"X-0", "X-", 0},
       }) {
    absl::StatusOr<ImportCode> parsed = ParseImportCode(c.code);
    ASSERT_THAT(parsed, IsOk()) << c.code;
    EXPECT_EQ(parsed->prefix, c.prefix) << c.code;
    EXPECT_EQ(parsed->sequence, c.sequence) << c.code;
  }
  for (const std::string& bad : std::vector<std::string>{
           "", "0042", "-0042", "H15-190305-", "H15-190305-12a", "H15-1234567890123456789",
           std::string(60, 'A') + "-12345", "H15\x01-1", "H15\xff-1"}) {
    EXPECT_THAT(ParseImportCode(bad), StatusIs(absl::StatusCode::kInvalidArgument))
        << "\"" << bad << "\"";
  }
}

struct BadCase {
  const char* name;
  std::function<void(v1::Dossier&)> mutate;
  absl::StatusCode code;
  const char* message;
};

TEST_F(ImportTest, RefusesBadRecordsWithAMessageNamingTheField) {
  const BadCase cases[] = {
      {"no code", [](v1::Dossier& d) { d.clear_code(); }, absl::StatusCode::kInvalidArgument,
       "code"},
      {"code not shaped", [](v1::Dossier& d) { d.set_code("HS2019/42"); },
       absl::StatusCode::kInvalidArgument, "not shaped"},
      {"code too long", [](v1::Dossier& d) { d.set_code(std::string(70, '9') + "-1"); },
       absl::StatusCode::kInvalidArgument, "code"},
      {"code not UTF-8", [](v1::Dossier& d) { d.set_code("H\xc3-1"); },
       absl::StatusCode::kInvalidArgument, "code"},
      {"no history", [](v1::Dossier& d) { d.clear_history(); },
       absl::StatusCode::kInvalidArgument, "history is empty"},
      {"sequence gap", [](v1::Dossier& d) { d.mutable_history(2)->set_sequence(4); },
       absl::StatusCode::kInvalidArgument, "history[2].sequence"},
      {"time goes back",
       [](v1::Dossier& d) { d.mutable_history(1)->mutable_time()->set_seconds(1551740000); },
       absl::StatusCode::kInvalidArgument, "history[1].time is earlier"},
      {"entry without time", [](v1::Dossier& d) { d.mutable_history(0)->clear_time(); },
       absl::StatusCode::kInvalidArgument, "history[0].time is missing"},
      {"entry without action",
       [](v1::Dossier& d) { d.mutable_history(0)->set_action(v1::ACTION_KIND_UNSPECIFIED); },
       absl::StatusCode::kInvalidArgument, "history[0].action"},
      {"import as an action",
       [](v1::Dossier& d) { d.mutable_history(0)->set_action(v1::ACTION_KIND_IMPORT); },
       absl::StatusCode::kInvalidArgument, "history[0].action"},
      {"invalid to_status",
       [](v1::Dossier& d) {
         d.mutable_history(0)->set_to_status(static_cast<v1::DossierStatus>(42));
       },
       absl::StatusCode::kInvalidArgument, "history[0].to_status"},
      {"no status", [](v1::Dossier& d) { d.set_status(v1::DOSSIER_STATUS_UNSPECIFIED); },
       absl::StatusCode::kInvalidArgument, "status"},
      {"status disagrees with history",
       [](v1::Dossier& d) { d.set_status(v1::DOSSIER_STATUS_PROCESSING); },
       absl::StatusCode::kInvalidArgument, "last history entry"},
      {"wrong etag", [](v1::Dossier& d) { d.set_etag(3); }, absl::StatusCode::kInvalidArgument,
       "etag is 3"},
      {"no channel", [](v1::Dossier& d) { d.clear_channel(); },
       absl::StatusCode::kInvalidArgument, "channel"},
      {"no applicant name", [](v1::Dossier& d) { d.mutable_applicant()->clear_full_name(); },
       absl::StatusCode::kInvalidArgument, "applicant.full_name"},
      {"summary too long", [](v1::Dossier& d) { d.set_summary(std::string(5000, 'a')); },
       absl::StatusCode::kInvalidArgument, "summary"},
      {"control character in a note",
       [](v1::Dossier& d) { d.mutable_history(0)->set_actor("clerk\x07"); },
       absl::StatusCode::kInvalidArgument, "history[0].actor"},
      {"components",
       [](v1::Dossier& d) { d.add_components()->set_file_name("scan.pdf"); },
       absl::StatusCode::kInvalidArgument, "components cannot be imported"},
      {"time before 1900",
       [](v1::Dossier& d) { d.mutable_received_time()->set_seconds(-2300000000); },
       absl::StatusCode::kInvalidArgument, "received_time"},
      {"unknown procedure", [](v1::Dossier& d) { d.set_procedure_code("9.999999"); },
       absl::StatusCode::kNotFound, "no procedure"},
      {"unknown agency", [](v1::Dossier& d) { d.set_receiving_agency_code("000.99.99.H15"); },
       absl::StatusCode::kNotFound, "no agency"},
      {"unknown holder", [](v1::Dossier& d) { d.set_holder_agency_code("000.99.99.H15"); },
       absl::StatusCode::kNotFound, "holder_agency_code: no agency"},
      {"unknown deciding agency",
       [](v1::Dossier& d) { d.set_deciding_agency_code("000.98.98.H15"); },
       absl::StatusCode::kNotFound, "deciding_agency_code: no agency"},
      // A route the workflow could not act on must never be stored: a later
      // Forward indexes stages by current_stage and takes the first task.
      {"current stage without a route", [](v1::Dossier& d) { d.set_current_stage(1); },
       absl::StatusCode::kInvalidArgument, "current_stage is 1 but the route has 0 stages"},
      {"negative current stage",
       [](v1::Dossier& d) {
         d.add_stages()->add_tasks()->set_agency_code("000.00.31.H15");
         d.set_current_stage(-1);
       },
       absl::StatusCode::kInvalidArgument, "current_stage is -1"},
      {"current stage past the desk",
       [](v1::Dossier& d) {
         d.add_stages()->add_tasks()->set_agency_code("000.00.31.H15");
         d.set_current_stage(3);
       },
       absl::StatusCode::kInvalidArgument, "current_stage is 3"},
      {"stage without a task", [](v1::Dossier& d) { d.add_stages()->set_name("Thẩm định"); },
       absl::StatusCode::kInvalidArgument, "stage 1 has no agency"},
      {"task of an unknown agency",
       [](v1::Dossier& d) { d.add_stages()->add_tasks()->set_agency_code("000.77.77.H15"); },
       absl::StatusCode::kNotFound, "stages[0].tasks[0].agency_code"},
      {"task time out of range",
       [](v1::Dossier& d) {
         v1::StageTask* task = d.add_stages()->add_tasks();
         task->set_agency_code("000.00.31.H15");
         task->mutable_completed_time()->set_seconds(-2300000000);
       },
       absl::StatusCode::kInvalidArgument, "stages[0].tasks[0].completed_time"},
      // Buôn Triết exists from 2021 on: a 2019 dossier cannot have been
      // received there.
      {"agency not yet founded",
       [](v1::Dossier& d) { d.set_receiving_agency_code("000.32.31.H15"); },
       absl::StatusCode::kFailedPrecondition, "did not exist on 2019-03-05"},
  };
  for (const BadCase& c : cases) {
    v1::Dossier record = record_;
    c.mutate(record);
    EXPECT_THAT(PrepareImport(record, *catalogue_), StatusIs(c.code, HasSubstr(c.message)))
        << c.name;
  }
}

TEST_F(ImportTest, AcceptsAWellFormedRoute) {
  v1::Stage* stage = record_.add_stages();
  stage->set_name("Thẩm định");
  stage->add_tasks()->set_agency_code("000.00.31.H15");
  for (int current : {0, 1, 2}) {
    record_.set_current_stage(current);
    EXPECT_THAT(PrepareImport(record_, *catalogue_), IsOk()) << current;
  }
}

TEST_F(ImportTest, AnAgencyMergedAwayLaterIsFine) {
  // Liên Sơn ceased on 2025-06-30; its 2019 dossiers import.
  EXPECT_THAT(PrepareImport(record_, *catalogue_), IsOk());
  // Without submitted_time the first entry's day decides.
  record_.clear_submitted_time();
  EXPECT_THAT(PrepareImport(record_, *catalogue_), IsOk());
  // A dossier "submitted" there after the merger is refused.
  v1::Dossier late = record_;
  late.mutable_submitted_time()->set_seconds(1767225600);  // 2026-01-01
  EXPECT_THAT(PrepareImport(late, *catalogue_),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("did not exist")));
}

}  // namespace
}  // namespace onestop::core
