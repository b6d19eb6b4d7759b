// Transport security through the real binaries: onestopd with TLS (and
// mutual TLS with a --cert-principals file), onestopctl with --tls-ca and a
// token file or a client certificate; plain text refused off loopback.
// Certificates are made by Debian's openssl for each run.
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"

namespace onestop {
namespace {

using ::testing::HasSubstr;
using testing::DaemonProcess;
using testing::ProcessResult;
using testing::RunProcess;

class TlsE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string script = R"(set -e
cd ")" + dir_.path() + R"("
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
openssl_leaf() {  # name CN ext
  key "$1.key"
  openssl req -new -key "$1.key" -out "$1.csr" -subj "/CN=$2" 2>/dev/null
  printf '%s\n' "$3" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -out "$1.crt" -days 2 -extfile "$1.ext" 2>/dev/null
}
key ca.key
openssl req -x509 -new -key ca.key -out ca.crt -days 2 -subj "/CN=onestop e2e CA" 2>/dev/null
openssl_leaf server onestop.test "subjectAltName=DNS:onestop.test
extendedKeyUsage=serverAuth"
openssl_leaf portal portal-sync "extendedKeyUsage=clientAuth"
)";
    std::ofstream(dir_.File("make.sh")) << script;
    ASSERT_EQ(std::system(("bash " + dir_.File("make.sh")).c_str()), 0)
        << "openssl failed to make the certificates";
    // The portal's certificate stands for a province-wide supervisor.
    std::ofstream(dir_.File("cert-principals"))
        << "# CN  principal  grants\n"
        << "portal-sync portal-sync supervisor:000.00.00.H15\n";
  }

  std::vector<std::string> DaemonArgs(std::vector<std::string> extra) {
    std::vector<std::string> args = {
        ONESTOPD_PATH,
        "--config=" + std::string(ONESTOP_SOURCE_DIR) + "/deploy/daklak-2020.textproto",
        "--db=" + dir_.File("onestop.db"), "--listen=127.0.0.1:0", "--admin-listen=off",
        "--bootstrap-token-file=" + dir_.File("admin.token")};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }

  ProcessResult Ctl(const std::string& address, std::vector<std::string> args) {
    std::vector<std::string> argv = {ONESTOPCTL_PATH, "--server=" + address};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunProcess(argv);
  }

  std::string File(const std::string& name) { return dir_.File(name); }

  testing::TempDir dir_;
};

TEST_F(TlsE2eTest, TokenOverTlsWorksAndPlainTextClientsAreRefused) {
  DaemonProcess daemon;
  ASSERT_TRUE(daemon.Start(DaemonArgs(
      {"--tls-cert=" + File("server.crt"), "--tls-key=" + File("server.key")})))
      << daemon.error();
  const std::vector<std::string> tls = {"--tls-ca=" + File("ca.crt"),
                                        "--tls-server-name=onestop.test"};

  std::vector<std::string> args = tls;
  args.push_back("--token-file=" + File("admin.token"));
  args.push_back("agencies");
  const ProcessResult agencies = Ctl(daemon.address(), args);
  EXPECT_EQ(agencies.exit_code, 0) << agencies.err;
  EXPECT_THAT(agencies.out, HasSubstr("000.01.31.H15"));

  // TLS without a token: authenticated transport, unauthenticated caller.
  args = tls;
  args.push_back("agencies");
  const ProcessResult anonymous = Ctl(daemon.address(), args);
  EXPECT_EQ(anonymous.exit_code, 16) << anonymous.err;  // UNAUTHENTICATED
  EXPECT_THAT(anonymous.err, HasSubstr("--token"));

  // A plain-text client cannot talk to a TLS port.
  const ProcessResult plain =
      Ctl(daemon.address(), {"--token-file=" + File("admin.token"), "--timeout=3", "agencies"});
  EXPECT_EQ(plain.exit_code, 14) << plain.err;  // UNAVAILABLE
  EXPECT_EQ(daemon.Stop(), 0);
}

TEST_F(TlsE2eTest, MappedClientCertificateActsAsItsPrincipal) {
  DaemonProcess daemon;
  ASSERT_TRUE(daemon.Start(DaemonArgs(
      {"--tls-cert=" + File("server.crt"), "--tls-key=" + File("server.key"),
       "--tls-client-ca=" + File("ca.crt"), "--tls-client-certs=optional",
       "--cert-principals=" + File("cert-principals")})))
      << daemon.error();
  const std::vector<std::string> mtls = {
      "--tls-ca=" + File("ca.crt"), "--tls-server-name=onestop.test",
      "--tls-cert=" + File("portal.crt"), "--tls-key=" + File("portal.key")};

  // A supervisor may read the catalogue and list dossiers...
  std::vector<std::string> args = mtls;
  args.push_back("list");
  const ProcessResult list = Ctl(daemon.address(), args);
  EXPECT_EQ(list.exit_code, 0) << list.err;
  // ...but not submit: the certificate's principal decides, not the transport.
  args = mtls;
  for (const char* arg : {"submit", "--agency", "000.01.31.H15", "--procedure", "1.001193",
                          "--name", "Nguyễn Thị Hằng"}) {
    args.push_back(arg);
  }
  const ProcessResult submit = Ctl(daemon.address(), args);
  EXPECT_EQ(submit.exit_code, 7) << submit.err;  // PERMISSION_DENIED
  EXPECT_THAT(submit.err, HasSubstr("portal-sync"));
  EXPECT_EQ(daemon.Stop(), 0);
}

TEST_F(TlsE2eTest, StartRefusesUnsafeOrIncompleteTransports) {
  // No TLS files and no --insecure.
  DaemonProcess no_tls;
  EXPECT_FALSE(no_tls.Start(DaemonArgs({})));
  EXPECT_THAT(no_tls.error(), HasSubstr("--tls-cert"));
  // Plain text on a public address.
  std::vector<std::string> args = DaemonArgs({"--insecure"});
  for (std::string& arg : args) {
    if (arg == "--listen=127.0.0.1:0") arg = "--listen=0.0.0.0:0";
  }
  DaemonProcess public_plain;
  EXPECT_FALSE(public_plain.Start(args));
  EXPECT_THAT(public_plain.error(), HasSubstr("loopback"));
  // A certificate-principals file naming an unknown agency.
  std::ofstream(File("bad-principals")) << "portal-sync portal-sync supervisor:999.99.99.X99\n";
  DaemonProcess bad_map;
  EXPECT_FALSE(bad_map.Start(DaemonArgs(
      {"--tls-cert=" + File("server.crt"), "--tls-key=" + File("server.key"),
       "--tls-client-ca=" + File("ca.crt"), "--tls-client-certs=optional",
       "--cert-principals=" + File("bad-principals")})));
  EXPECT_THAT(bad_map.error(), HasSubstr("line 1"));
}

}  // namespace
}  // namespace onestop
