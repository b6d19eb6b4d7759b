// Digitised components through the real binaries: `onestopctl attach` a
// scan, SIGKILL onestopd right after the acknowledgement, restart, and
// `onestopctl fetch` returns the same bytes (issue #13).
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include <google/protobuf/util/json_util.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "onestop/v1/dossier.pb.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_auth.h"

namespace onestop {
namespace {

using ::testing::HasSubstr;
using testing::DaemonProcess;
using testing::ProcessResult;
using testing::RunProcess;

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

class DocumentsE2eTest : public ::testing::Test {
 protected:
  void StartDaemon() {
    ASSERT_TRUE(daemon_.Start(
        {ONESTOPD_PATH,
         "--config=" + std::string(ONESTOP_SOURCE_DIR) + "/deploy/daklak-2020.textproto",
         "--db=" + dir_.File("onestop.db"), "--listen=127.0.0.1:0", "--admin-listen=off",
         "--clock=controlled", "--clock-start=2020-10-05T08:00:00+07:00", "--insecure",
         "--bootstrap-token-file=" + dir_.File("admin.token")}))
        << daemon_.error();
    if (token_.empty()) {
      token_ = testing::MustToken(testing::IssueAllRolesToken(
          daemon_.address(), dir_.File("admin.token"), "clerk.lienson"));
    }
  }

  ProcessResult Ctl(std::vector<std::string> args) {
    std::vector<std::string> argv = {ONESTOPCTL_PATH, "--server=" + daemon_.address(),
                                     "--token=" + token_};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunProcess(argv);
  }

  testing::TempDir dir_;
  DaemonProcess daemon_;
  std::string token_;
};

TEST_F(DocumentsE2eTest, AttachmentSurvivesSigkillRightAfterItsAcknowledgement) {
  StartDaemon();
  const ProcessResult submitted =
      Ctl({"--output=json", "submit", "--agency", "000.01.31.H15", "--procedure", "1.001193",
           "--name", "Nguyễn Thị Hằng", "--phone", "0912345678"});
  ASSERT_EQ(submitted.exit_code, 0) << submitted.err;
  v1::Dossier dossier;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  ASSERT_TRUE(
      google::protobuf::util::JsonStringToMessage(submitted.out, &dossier, options).ok())
      << submitted.out;

  // 3 MiB of seeded noise: several upload chunks, several storage chunks.
  std::string scan(3 * 1024 * 1024 + 17, '\0');
  std::mt19937_64 rng(20201005);
  for (char& c : scan) c = static_cast<char>(rng());
  const std::string path = dir_.File("tờ-khai.pdf");
  std::ofstream(path, std::ios::binary) << scan;

  const ProcessResult attached = Ctl({"attach", dossier.code(), path, "--type", "TO_KHAI"});
  ASSERT_EQ(attached.exit_code, 0) << attached.err;
  daemon_.Kill();  // acknowledged: it must be on disk

  StartDaemon();
  const ProcessResult shown = Ctl({"show", dossier.code()});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_THAT(shown.out, HasSubstr("tờ-khai.pdf"));  // the Vietnamese name round-trips
  const std::string out = dir_.File("fetched.pdf");
  const ProcessResult fetched = Ctl({"fetch", dossier.code(), "1", "--out", out});
  ASSERT_EQ(fetched.exit_code, 0) << fetched.err;
  EXPECT_TRUE(Slurp(out) == scan) << "the fetched bytes differ from the attached file";
  EXPECT_EQ(daemon_.Stop(), 0);
}

}  // namespace
}  // namespace onestop
