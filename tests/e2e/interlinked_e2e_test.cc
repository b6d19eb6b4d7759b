// End to end: an interlinked (liên thông) dossier driven through every
// stage of its route with the real onestopctl and onestopd, then its
// control slip printed like the official form.
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <google/protobuf/util/json_util.h>

#include "absl/strings/str_split.h"
#include "onestop/v1/dossier.pb.h"
#include "tests/testing/test_auth.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"

namespace onestop {
namespace {

using ::testing::HasSubstr;
using testing::DaemonProcess;
using testing::ProcessResult;
using testing::RunProcess;

// From deploy/daklak-2020.textproto.
constexpr char kCommune[] = "000.01.31.H15";      // UBND thị trấn Liên Sơn
constexpr char kLandOffice[] = "000.31.02.H15";   // Chi nhánh VPĐKĐĐ huyện Lắk
constexpr char kTaxOffice[] = "000.31.04.H15";    // Chi cục Thuế huyện Lắk
constexpr char kLandChange[] = "1.004227";        // commune → land ∥ tax → commune

class InterlinkedE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(daemon_.Start(
        {ONESTOPD_PATH,
         "--config=" + std::string(ONESTOP_SOURCE_DIR) + "/deploy/daklak-2020.textproto",
         "--db=" + dir_.File("onestop.db"), "--listen=127.0.0.1:0", "--admin-listen=off",
         "--clock=controlled", "--clock-start=2020-03-02T08:00:00+07:00", "--insecure",
         "--bootstrap-token-file=" + dir_.File("admin.token")}))
        << daemon_.error();
    token_ = testing::MustToken(testing::IssueAllRolesToken(
        daemon_.address(), dir_.File("admin.token"), "officer.lak"));
  }

  ProcessResult Ctl(std::vector<std::string> args) {
    std::vector<std::string> argv = {ONESTOPCTL_PATH, "--server=" + daemon_.address(),
                                     "--token=" + token_};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunProcess(argv);
  }

  v1::Dossier CtlDossier(std::vector<std::string> args) {
    args.insert(args.begin(), "--output=json");
    const ProcessResult result = Ctl(args);
    EXPECT_EQ(result.exit_code, 0) << result.err;
    v1::Dossier dossier;
    google::protobuf::util::JsonParseOptions options;
    options.ignore_unknown_fields = true;
    EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(result.out, &dossier, options).ok())
        << result.out;
    return dossier;
  }

  void Advance(const std::string& duration) {
    ASSERT_EQ(Ctl({"admin", "clock", "advance", duration}).exit_code, 0);
  }

  testing::TempDir dir_;
  DaemonProcess daemon_;
  std::string token_;
};

TEST_F(InterlinkedE2eTest, LandChangeThroughEveryStageThenSlip) {
  const v1::Dossier submitted =
      CtlDossier({"submit", "--agency", kCommune, "--procedure", kLandChange, "--name",
                  "Ksor H'Bia", "--summary", "Chuyển mục đích sử dụng đất"});
  const std::string code = submitted.code();
  ASSERT_EQ(submitted.status(), v1::DOSSIER_STATUS_RECEIVED);
  ASSERT_EQ(submitted.stages_size(), 2);

  // Stage 1: the commune checks and certifies.
  EXPECT_EQ(CtlDossier({"forward", code, "--as", kCommune}).status(),
            v1::DOSSIER_STATUS_PROCESSING);
  Advance("4h");
  CtlDossier({"complete-stage", code, "--as", kCommune});
  // Stage 2: the land office and the tax office in parallel.
  const v1::Dossier in_stage_two = CtlDossier({"forward", code, "--as", kCommune});
  EXPECT_EQ(in_stage_two.current_stage(), 2);

  // The receiving commune holds no task in stage 2.
  const ProcessResult not_holder = Ctl({"complete-stage", code, "--as", kCommune});
  EXPECT_EQ(not_holder.exit_code, 9) << not_holder.err;  // FAILED_PRECONDITION
  EXPECT_THAT(not_holder.err, HasSubstr(kLandOffice));

  Advance("24h");
  CtlDossier({"complete-stage", code, "--as", kTaxOffice});
  // The stage is not done until both have finished.
  const ProcessResult too_early = Ctl({"forward", code, "--as", kTaxOffice});
  EXPECT_EQ(too_early.exit_code, 9) << too_early.err;
  // The land office takes 12 working days against an 8-day budget: late.
  Advance("288h");
  CtlDossier({"complete-stage", code, "--as", kLandOffice});
  CtlDossier({"forward", code, "--as", kLandOffice});  // back to the desk

  CtlDossier({"decide", code, "--approve"});
  EXPECT_EQ(CtlDossier({"ready", code}).status(), v1::DOSSIER_STATUS_RESULT_READY);
  const v1::Dossier returned = CtlDossier({"return", code, "--mode", "desk"});
  EXPECT_EQ(returned.status(), v1::DOSSIER_STATUS_RETURNED);

  // The slip names every hand-over and who was late.
  const v1::Dossier shown = CtlDossier({"show", code});
  ASSERT_GE(shown.slip_size(), 4);
  bool land_late = false, tax_on_time = false, back_at_desk = false;
  for (const v1::SlipEntry& row : shown.slip()) {
    if (row.to_agency_code() == kLandOffice) land_late = row.outcome() == v1::STAGE_OUTCOME_LATE;
    if (row.to_agency_code() == kTaxOffice) {
      tax_on_time = row.outcome() == v1::STAGE_OUTCOME_EARLY ||
                    row.outcome() == v1::STAGE_OUTCOME_ON_TIME;
    }
    if (row.stage_index() == 0) back_at_desk = row.to_agency_code() == kCommune;
  }
  EXPECT_TRUE(land_late);
  EXPECT_TRUE(tax_on_time);
  EXPECT_TRUE(back_at_desk);

  const ProcessResult slip = Ctl({"show", code, "--slip"});
  ASSERT_EQ(slip.exit_code, 0) << slip.err;
  EXPECT_THAT(slip.out, HasSubstr("PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ"));
  EXPECT_THAT(slip.out, HasSubstr("BÊN GIAO"));
  EXPECT_THAT(slip.out, HasSubstr("Quá hạn"));
  EXPECT_THAT(slip.out, HasSubstr(kTaxOffice));
}

TEST_F(InterlinkedE2eTest, DistrictListIncludesItsCommunesDossiers) {
  const v1::Dossier d = CtlDossier({"submit", "--agency", kCommune, "--procedure", "1.001193",
                                    "--name", "Y Moan Êban"});
  const ProcessResult list = Ctl({"--output=json", "list", "--agency", "000.00.31.H15"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_THAT(list.out, HasSubstr(d.code()));
  const ProcessResult other = Ctl({"--output=json", "list", "--agency", "000.00.21.H15"});
  ASSERT_EQ(other.exit_code, 0) << other.err;
  EXPECT_THAT(other.out, ::testing::Not(HasSubstr(d.code())));
  EXPECT_EQ(Ctl({"list", "--agency", "999.99.99.H99"}).exit_code, 5);  // NOT_FOUND
}

}  // namespace
}  // namespace onestop
