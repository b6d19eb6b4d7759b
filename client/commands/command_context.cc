#include "client/commands/command_context.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>

#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/output/format.h"

namespace onestop::client {
namespace {

constexpr char kHintTypeUrl[] = "type.onestop.dev/onestopctl.Hint";

// Reads a whole PEM file named by `flag`.
absl::StatusOr<std::string> ReadPem(absl::string_view flag,
                                    const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(absl::StrCat(
        flag, " \"", path, "\": cannot read it (", std::strerror(errno), ")"));
  }
  std::string pem((std::istreambuf_iterator<char>(in)),
                  std::istreambuf_iterator<char>());
  if (in.bad()) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, " \"", path, "\": read error"));
  }
  // gRPC would only say "handshake failed" later; say what is wrong now.
  if (!absl::StrContains(pem, "-----BEGIN ")) {
    return absl::InvalidArgumentError(absl::StrCat(
        flag, " \"", path, "\": not a PEM file (no \"-----BEGIN\" line)"));
  }
  return pem;
}

}  // namespace

absl::Status CheckToken(absl::string_view token, absl::string_view source) {
  if (token.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": the token is empty"));
  }
  for (const char c : token) {
    // A header value; a space would also break "Bearer <token>".
    if (c < 0x21 || c > 0x7E) {
      return absl::InvalidArgumentError(absl::StrCat(
          source, ": the token must be printable ASCII without spaces"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadTokenFile(const std::string& path) {
  const std::string source = absl::StrCat("--token-file \"", path, "\"");
  std::ifstream in(path);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": cannot read it (", std::strerror(errno), ")"));
  }
  std::string line;
  std::getline(in, line);
  if (in.bad()) return absl::InvalidArgumentError(absl::StrCat(source, ": read error"));
  std::string token(absl::StripAsciiWhitespace(line));
  if (token.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": the first line is empty; it must hold the token"));
  }
  if (absl::Status valid = CheckToken(token, source); !valid.ok()) return valid;
  return token;
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> NewChannel(
    const std::string& server, const TlsOptions& tls) {
  if (tls.ca_file.empty()) {
    if (!tls.cert_file.empty() || !tls.key_file.empty() ||
        !tls.server_name.empty()) {
      return absl::InvalidArgumentError(
          "--tls-cert, --tls-key and --tls-server-name need --tls-ca=FILE "
          "(the CA that signed onestopd's certificate)");
    }
    return grpc::CreateChannel(server, grpc::InsecureChannelCredentials());
  }
  if (tls.cert_file.empty() != tls.key_file.empty()) {
    return absl::InvalidArgumentError(
        "--tls-cert and --tls-key go together: give both for mutual TLS, or "
        "neither");
  }
  grpc::SslCredentialsOptions ssl;
  absl::StatusOr<std::string> roots = ReadPem("--tls-ca", tls.ca_file);
  if (!roots.ok()) return roots.status();
  ssl.pem_root_certs = *std::move(roots);
  if (!tls.cert_file.empty()) {
    absl::StatusOr<std::string> chain = ReadPem("--tls-cert", tls.cert_file);
    if (!chain.ok()) return chain.status();
    absl::StatusOr<std::string> key = ReadPem("--tls-key", tls.key_file);
    if (!key.ok()) return key.status();
    ssl.pem_cert_chain = *std::move(chain);
    ssl.pem_private_key = *std::move(key);
  }
  grpc::ChannelArguments args;
  if (!tls.server_name.empty()) {
    args.SetString(GRPC_SSL_TARGET_NAME_OVERRIDE_ARG, tls.server_name);
  }
  return grpc::CreateCustomChannel(server, grpc::SslCredentials(ssl), args);
}

CommandContext::CommandContext(GlobalOptions options,
                               std::shared_ptr<grpc::ChannelInterface> channel,
                               std::ostream& out, std::ostream& err)
    : options_(std::move(options)),
      channel_(std::move(channel)),
      out_(out),
      err_(err),
      tz_(DeskTimeZone()),
      dossiers_(v1::DossierService::NewStub(channel_)),
      catalogue_(v1::CatalogueService::NewStub(channel_)),
      admin_(v1::AdminService::NewStub(channel_)),
      security_(v1::SecurityService::NewStub(channel_)),
      citizen_(v1::CitizenService::NewStub(channel_)),
      documents_(v1::DocumentService::NewStub(channel_)),
      printer_(options_.output == OutputFormat::kJson
                   ? NewJsonPrinter(out, err)
                   : NewTablePrinter(out, err, tz_)) {}

std::unique_ptr<grpc::ClientContext> CommandContext::NewStreamRpc() const {
  auto rpc = std::make_unique<grpc::ClientContext>();
  if (!options_.token.empty()) {
    rpc->AddMetadata(kAuthorizationMetadataKey,
                     absl::StrCat("Bearer ", options_.token));
  }
  return rpc;
}

std::unique_ptr<grpc::ClientContext> CommandContext::NewRpc() const {
  std::unique_ptr<grpc::ClientContext> rpc = NewStreamRpc();
  rpc->set_deadline(absl::ToChronoTime(absl::Now() + options_.timeout));
  return rpc;
}

absl::Status CommandContext::FromRpc(const grpc::Status& status) const {
  const auto code = static_cast<absl::StatusCode>(status.error_code());
  const std::string& message = status.error_message();
  if (code == absl::StatusCode::kUnavailable &&
      (absl::StrContains(message, "failed to connect") ||
       absl::StrContains(message, "Connection refused") ||
       absl::StrContains(message, "DNS resolution failed") ||
       message.empty())) {
    return absl::Status(
        code, absl::StrCat("cannot reach onestopd at ", options_.server, " (",
                           message.empty() ? "no details" : message,
                           "); is the daemon running? (--server or "
                           "ONESTOP_SERVER picks the address)"));
  }
  if (code == absl::StatusCode::kDeadlineExceeded) {
    return absl::Status(
        code, absl::StrCat("no answer from onestopd at ", options_.server,
                           " within ", absl::FormatDuration(options_.timeout),
                           " (--timeout)"));
  }
  if (code == absl::StatusCode::kUnimplemented) {
    return absl::Status(
        code, absl::StrCat(message, " (is ", options_.server,
                           " an onestopd of a matching version?)"));
  }
  if (code == absl::StatusCode::kUnauthenticated) {
    return absl::Status(
        code, absl::StrCat(
                  message,
                  options_.token.empty()
                      ? " (no token was sent: pass --token=TOKEN or "
                        "--token-file=PATH, or set ONESTOP_TOKEN)"
                      : " (the token sent was refused: it may be expired or "
                        "revoked; ask an admin for a new one)"));
  }
  return absl::Status(code, message);
}

std::string NewRequestId() {
  std::random_device device;
  std::string id;
  for (int i = 0; i < 4; ++i) {
    absl::StrAppendFormat(&id, "%08x", static_cast<uint32_t>(device()));
  }
  return id;
}

absl::Status WithHint(absl::Status status, const std::string& hint) {
  status.SetPayload(kHintTypeUrl, absl::Cord(hint));
  return status;
}

std::optional<std::string> HintOf(const absl::Status& status) {
  auto payload = status.GetPayload(kHintTypeUrl);
  if (!payload.has_value()) return std::nullopt;
  return std::string(*payload);
}

}  // namespace onestop::client
