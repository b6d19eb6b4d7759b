// onestopctl's transport and credentials: the token file, NewChannel's
// checks of the TLS options, TLS and mutual TLS round trips with
// certificates made by openssl for the run, and the global flags as the
// built binary parses them (main.cc), against a fake CitizenService.
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "client/commands/command_context.h"
#include "client/commands/commands.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "onestop/v1/security_service.grpc.pb.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"

namespace onestop::client {
namespace {

using ::onestop::testing::IsOk;
using ::onestop::testing::IsOkAndHolds;
using ::onestop::testing::ProcessResult;
using ::onestop::testing::RunProcess;
using ::onestop::testing::StatusIs;
using ::onestop::testing::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kCode[] = "000.00.31.H15-200106-0001";

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// TlsOptions from its fields in declaration order (designated initializers
// would leave members without initializers, which -Wextra refuses).
TlsOptions Tls(std::string ca_file, std::string cert_file = "", std::string key_file = "",
               std::string server_name = "") {
  TlsOptions tls;
  tls.ca_file = std::move(ca_file);
  tls.cert_file = std::move(cert_file);
  tls.key_file = std::move(key_file);
  tls.server_name = std::move(server_name);
  return tls;
}

class FakeCitizenService final : public v1::CitizenService::Service {
 public:
  grpc::Status LookupDossier(grpc::ServerContext* context, const v1::LookupDossierRequest* request,
                             v1::LookupDossierResponse* response) override {
    auto header = context->client_metadata().find(kAuthorizationMetadataKey);
    authorizations.push_back(header == context->client_metadata().end()
                                 ? "(none)"
                                 : std::string(header->second.data(), header->second.size()));
    response->set_code(request->code());
    response->set_status(v1::DOSSIER_STATUS_RECEIVED);
    return grpc::Status::OK;
  }
  // Written by gRPC threads, read after the call returned.
  std::vector<std::string> authorizations;
};

// A CA, a server certificate for "localhost" only (no IP), a client
// certificate, and a client certificate from another CA.
class Pki {
 public:
  Pki() {
    const std::string script = R"(set -e
cd ")" + dir_.path() + R"("
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
ca() { key "$1.key"; openssl req -x509 -new -key "$1.key" -out "$1.crt" -days 2 -subj "/CN=$2" 2>/dev/null; }
leaf() {  # name CN ca ext
  key "$1.key"
  openssl req -new -key "$1.key" -out "$1.csr" -subj "/CN=$2" 2>/dev/null
  printf '%s\n' "$4" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA "$3.crt" -CAkey "$3.key" -CAcreateserial -out "$1.crt" -days 2 -extfile "$1.ext" 2>/dev/null
}
ca ca "onestopctl test CA"
ca rogue "rogue CA"
leaf server localhost ca "subjectAltName=DNS:localhost
extendedKeyUsage=serverAuth"
leaf client desk ca "extendedKeyUsage=clientAuth"
leaf intruder desk rogue "extendedKeyUsage=clientAuth"
)";
    WriteFile(dir_.File("make.sh"), script);
    ok_ = std::system(("/usr/bin/bash " + dir_.File("make.sh")).c_str()) == 0;
  }
  bool ok() const { return ok_; }
  std::string File(const std::string& name) const { return dir_.File(name); }

 private:
  TempDir dir_;
  bool ok_ = false;
};

// A fake daemon on 127.0.0.1: plain text, TLS, or TLS requiring a client
// certificate signed by the test CA.
enum class Transport { kPlainText, kTls, kMutualTls };

class FakeDaemon {
 public:
  FakeDaemon(Transport transport, const Pki& pki) {
    std::shared_ptr<grpc::ServerCredentials> credentials = grpc::InsecureServerCredentials();
    if (transport != Transport::kPlainText) {
      grpc::SslServerCredentialsOptions ssl(
          transport == Transport::kMutualTls
              ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
              : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
      ssl.pem_root_certs = Slurp(pki.File("ca.crt"));
      ssl.pem_key_cert_pairs.push_back(
          {Slurp(pki.File("server.key")), Slurp(pki.File("server.crt"))});
      credentials = grpc::SslServerCredentials(ssl);
    }
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", credentials, &port_);
    builder.RegisterService(&citizen_);
    server_ = builder.BuildAndStart();
  }
  ~FakeDaemon() {
    if (server_ != nullptr) server_->Shutdown();
  }
  bool ok() const { return server_ != nullptr && port_ > 0; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  const std::vector<std::string>& authorizations() const { return citizen_.authorizations; }

 private:
  FakeCitizenService citizen_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

class TransportTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { pki_ = new Pki(); }
  static void TearDownTestSuite() {
    delete pki_;
    pki_ = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(pki_->ok()) << "openssl failed to make certificates"; }

  // Runs `lookup` over a channel made by NewChannel(address, tls).
  absl::Status Lookup(const std::string& address, const TlsOptions& tls,
                      const std::string& token = "") {
    absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = NewChannel(address, tls);
    if (!channel.ok()) return channel.status();
    CLI::App app("test", "onestopctl");
    CommandRegistry registry;
    RegisterLookup(app, registry);
    app.parse(std::string("lookup ") + kCode + " 5678", false);
    GlobalOptions options;
    options.server = address;
    options.token = token;
    options.tls = tls;
    options.timeout = absl::Seconds(20);
    std::ostringstream out, err;
    CommandContext context(options, *channel, out, err);
    absl::Status status = (*registry.Selected())(context);
    if (status.ok()) {
      EXPECT_THAT(out.str(), HasSubstr(kCode));
    }
    return status;
  }

  // Runs the built onestopctl with `args`; ONESTOP_TOKEN and ONESTOP_SERVER
  // are removed from its environment, then `env` ("NAME=VALUE") added.
  static ProcessResult Onestopctl(const std::vector<std::string>& args,
                                  const std::vector<std::string>& env = {}) {
    std::vector<std::string> argv = {"/usr/bin/env", "-u", "ONESTOP_TOKEN", "-u",
                                     "ONESTOP_SERVER"};
    argv.insert(argv.end(), env.begin(), env.end());
    argv.push_back(ONESTOPCTL_PATH);
    argv.insert(argv.end(), args.begin(), args.end());
    return RunProcess(argv);
  }

  static Pki* pki_;
  TempDir dir_;
};

Pki* TransportTest::pki_ = nullptr;

TEST_F(TransportTest, TokenFileGivesItsFirstLineTrimmed) {
  WriteFile(dir_.File("token"), "  ost_from-file \r\nsecond line\n");
  EXPECT_THAT(ReadTokenFile(dir_.File("token")), IsOkAndHolds("ost_from-file"));
  WriteFile(dir_.File("no-newline"), "ost_x");
  EXPECT_THAT(ReadTokenFile(dir_.File("no-newline")), IsOkAndHolds("ost_x"));
}

TEST_F(TransportTest, TokenFileErrorsNameTheFileAndNeverTheToken) {
  EXPECT_THAT(ReadTokenFile(dir_.File("missing")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--token-file \"" + dir_.File("missing") + "\": cannot read it")));
  WriteFile(dir_.File("empty"), "\nost_second-line\n");
  EXPECT_THAT(ReadTokenFile(dir_.File("empty")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("first line is empty")));
  WriteFile(dir_.File("spaced"), "ost_secret part\n");
  absl::StatusOr<std::string> spaced = ReadTokenFile(dir_.File("spaced"));
  EXPECT_THAT(spaced, StatusIs(absl::StatusCode::kInvalidArgument,
                               HasSubstr("printable ASCII without spaces")));
  EXPECT_THAT(spaced.status().message(), Not(HasSubstr("ost_secret")));
}

TEST_F(TransportTest, CheckTokenRefusesWhatCannotTravelAsAHeader) {
  EXPECT_THAT(CheckToken("ost_abc-_DEF", "--token"), IsOk());
  EXPECT_THAT(CheckToken("", "--token"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(CheckToken("ost_\xc3\xa9", "ONESTOP_TOKEN"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("ONESTOP_TOKEN")));
  EXPECT_THAT(CheckToken("ost_a\tb", "--token"), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(TransportTest, NewChannelChecksTheTlsFilesBeforeConnecting) {
  const std::string ca = pki_->File("ca.crt");
  EXPECT_THAT(NewChannel("h:1", Tls(dir_.File("nope.crt"))),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--tls-ca \"" + dir_.File("nope.crt") + "\": cannot read it")));
  EXPECT_THAT(NewChannel("h:1", Tls(ca, pki_->File("client.crt"))),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--tls-cert and --tls-key go together")));
  EXPECT_THAT(NewChannel("h:1", Tls(ca, "", pki_->File("client.key"))),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--tls-cert and --tls-key go together")));
  EXPECT_THAT(NewChannel("h:1", Tls(ca, pki_->File("client.crt"), dir_.File("nope.key"))),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--tls-key \"")));
  EXPECT_THAT(NewChannel("h:1", Tls("", pki_->File("client.crt"), pki_->File("client.key"))),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("need --tls-ca")));
  EXPECT_THAT(NewChannel("h:1", Tls("", "", "", "localhost")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("need --tls-ca")));
  WriteFile(dir_.File("not.pem"), "just text\n");
  EXPECT_THAT(NewChannel("h:1", Tls(dir_.File("not.pem"))),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not a PEM file")));
  EXPECT_THAT(NewChannel("h:1", TlsOptions()), IsOk());
  EXPECT_THAT(NewChannel("h:1", Tls(ca)), IsOk());
}

TEST_F(TransportTest, TlsRoundTripVerifiesTheServerName) {
  FakeDaemon daemon(Transport::kTls, *pki_);
  ASSERT_TRUE(daemon.ok());
  const std::string ca = pki_->File("ca.crt");
  EXPECT_THAT(Lookup(daemon.address(), Tls(ca, "", "", "localhost"), "ost_t"),
              IsOk());
  EXPECT_THAT(daemon.authorizations(), ElementsAre("Bearer ost_t"));
  // The certificate names localhost, not 127.0.0.1; another CA is not trusted;
  // plain text does not speak TLS.
  EXPECT_THAT(Lookup(daemon.address(), Tls(ca)),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(Lookup(daemon.address(), Tls(pki_->File("rogue.crt"), "", "", "localhost")),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(Lookup(daemon.address(), TlsOptions()), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(daemon.authorizations().size(), 1u);
}

TEST_F(TransportTest, MutualTlsPresentsTheClientCertificate) {
  FakeDaemon daemon(Transport::kMutualTls, *pki_);
  ASSERT_TRUE(daemon.ok());
  const TlsOptions with_certificate = Tls(pki_->File("ca.crt"), pki_->File("client.crt"),
                                           pki_->File("client.key"), "localhost");
  EXPECT_THAT(Lookup(daemon.address(), with_certificate), IsOk());
  EXPECT_THAT(daemon.authorizations(), ElementsAre("(none)"));
  EXPECT_THAT(Lookup(daemon.address(), Tls(pki_->File("ca.crt"), "", "", "localhost")),
              StatusIs(absl::StatusCode::kUnavailable));
  TlsOptions intruder = with_certificate;
  intruder.cert_file = pki_->File("intruder.crt");
  intruder.key_file = pki_->File("intruder.key");
  EXPECT_THAT(Lookup(daemon.address(), intruder), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(daemon.authorizations().size(), 1u);
}

TEST_F(TransportTest, BinarySendsTheTokenFromFlagFileOrEnvironment) {
  FakeDaemon daemon(Transport::kPlainText, *pki_);
  ASSERT_TRUE(daemon.ok());
  WriteFile(dir_.File("token"), "ost_from-file\n");
  const std::vector<std::string> lookup = {"--server=" + daemon.address(), "lookup", kCode,
                                           "5678"};
  auto with = [&lookup](std::vector<std::string> flags) {
    flags.insert(flags.end(), lookup.begin(), lookup.end());
    return flags;
  };
  ProcessResult none = Onestopctl(lookup);
  EXPECT_EQ(none.exit_code, 0) << none.err;
  EXPECT_THAT(none.out, HasSubstr(kCode));
  ProcessResult flag = Onestopctl(with({"--token=ost_from-flag"}));
  EXPECT_EQ(flag.exit_code, 0) << flag.err;
  ProcessResult env = Onestopctl(lookup, {"ONESTOP_TOKEN=ost_from-env"});
  EXPECT_EQ(env.exit_code, 0) << env.err;
  // The file wins over the environment.
  ProcessResult file =
      Onestopctl(with({"--token-file=" + dir_.File("token")}), {"ONESTOP_TOKEN=ost_from-env"});
  EXPECT_EQ(file.exit_code, 0) << file.err;
  EXPECT_THAT(daemon.authorizations(),
              ElementsAre("(none)", "Bearer ost_from-flag", "Bearer ost_from-env",
                          "Bearer ost_from-file"));
}

TEST_F(TransportTest, BinaryOverTlsAndMutualTls) {
  FakeDaemon daemon(Transport::kMutualTls, *pki_);
  ASSERT_TRUE(daemon.ok());
  ProcessResult result = Onestopctl(
      {"--server=" + daemon.address(), "--tls-ca=" + pki_->File("ca.crt"),
       "--tls-cert=" + pki_->File("client.crt"), "--tls-key=" + pki_->File("client.key"),
       "--tls-server-name=localhost", "--token=ost_t", "lookup", kCode, "5678"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_THAT(result.out, HasSubstr(kCode));
  EXPECT_THAT(daemon.authorizations(), ElementsAre("Bearer ost_t"));
}

TEST_F(TransportTest, BinaryRefusesBadCredentialOptionsBeforeConnecting) {
  // Nothing listens on port 1: each error must come before any connection.
  ProcessResult missing =
      Onestopctl({"--server=127.0.0.1:1", "--token-file=" + dir_.File("missing"), "lookup",
                  kCode, "5678"});
  EXPECT_EQ(missing.exit_code, 3);
  EXPECT_THAT(missing.err, HasSubstr("error: INVALID_ARGUMENT: --token-file \""));
  ProcessResult half = Onestopctl({"--server=127.0.0.1:1", "--tls-ca=" + pki_->File("ca.crt"),
                                   "--tls-cert=" + pki_->File("client.crt"), "lookup", kCode,
                                   "5678"});
  EXPECT_EQ(half.exit_code, 3);
  EXPECT_THAT(half.err, HasSubstr("--tls-cert and --tls-key go together"));
  ProcessResult bad_env =
      Onestopctl({"--server=127.0.0.1:1", "lookup", kCode, "5678"}, {"ONESTOP_TOKEN=ost_a b"});
  EXPECT_EQ(bad_env.exit_code, 3);
  EXPECT_THAT(bad_env.err, HasSubstr("ONESTOP_TOKEN: the token must be printable ASCII"));
  WriteFile(dir_.File("token"), "ost_x\n");
  ProcessResult both = Onestopctl({"--token=ost_y", "--token-file=" + dir_.File("token"),
                                   "lookup", kCode, "5678"});
  EXPECT_EQ(both.exit_code, 2);
  ProcessResult actor = Onestopctl({"--actor=hang", "lookup", kCode, "5678"});
  EXPECT_EQ(actor.exit_code, 2) << "--actor is gone: the server records the principal";
}

TEST_F(TransportTest, HelpNeverShowsATokenFromTheEnvironment) {
  ProcessResult help = Onestopctl({"--help"}, {"ONESTOP_TOKEN=ost_do-not-print"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_THAT(help.out, HasSubstr("--token-file"));
  EXPECT_THAT(help.out, HasSubstr("--tls-server-name"));
  EXPECT_THAT(help.out, Not(HasSubstr("ost_do-not-print")));
}

}  // namespace
}  // namespace onestop::client
