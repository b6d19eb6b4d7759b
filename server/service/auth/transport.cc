#include "server/service/auth/transport.h"

#include <grpcpp/security/server_credentials.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace onestop::service::auth {
namespace {

// The host part of "HOST:PORT", "[V6]:PORT", "HOST" or "[V6]".
absl::string_view HostOf(absl::string_view address) {
  if (absl::StartsWith(address, "[")) {
    const size_t end = address.find(']');
    return end == absl::string_view::npos ? address : address.substr(1, end - 1);
  }
  if (std::count(address.begin(), address.end(), ':') > 1) return address;  // bare IPv6
  const size_t colon = address.rfind(':');
  return colon == absl::string_view::npos ? address : address.substr(0, colon);
}

bool IsIpv4Loopback(absl::string_view host) {
  std::vector<absl::string_view> parts = absl::StrSplit(host, '.');
  if (parts.size() != 4 || parts[0] != "127") return false;
  for (absl::string_view part : parts) {
    int value = 0;
    if (part.empty() || part.size() > 3 || !absl::SimpleAtoi(part, &value) || value < 0 ||
        value > 255) {
      return false;
    }
    for (char c : part) {
      if (c < '0' || c > '9') return false;
    }
  }
  return true;
}

}  // namespace

bool IsLoopbackAddress(absl::string_view listen_address) {
  const absl::string_view host = HostOf(listen_address);
  return host == "localhost" || host == "::1" || IsIpv4Loopback(host);
}

absl::Status CheckTransport(const TransportOptions& options) {
  const TlsOptions& tls = options.tls;
  const bool any_tls_file =
      !tls.cert_file.empty() || !tls.key_file.empty() || !tls.client_ca_file.empty();
  if (options.transport == Transport::kInsecure) {
    if (!IsLoopbackAddress(options.listen_address)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--insecure is refused on ", options.listen_address,
          ": plain text is allowed only on loopback (127.0.0.1, ::1, localhost); "
          "give --tls-cert and --tls-key to listen elsewhere"));
    }
    if (any_tls_file) {
      return absl::InvalidArgumentError(
          "--insecure cannot be combined with --tls-cert, --tls-key or --tls-client-ca");
    }
    return absl::OkStatus();
  }
  if (tls.cert_file.empty() || tls.key_file.empty()) {
    return absl::InvalidArgumentError(
        "TLS needs both --tls-cert and --tls-key (or --insecure on a loopback address)");
  }
  const bool wants_client_certs = tls.client_certificates != ClientCertificates::kNotRequested;
  if (wants_client_certs && tls.client_ca_file.empty()) {
    return absl::InvalidArgumentError(
        "client certificates need --tls-client-ca (the CA that signs them)");
  }
  if (!wants_client_certs && !tls.client_ca_file.empty()) {
    return absl::InvalidArgumentError(
        "--tls-client-ca is set but client certificates are not requested");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadPemFile(const std::string& path, absl::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot read ", what, " ", path, ": ", std::strerror(errno)));
  }
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (content.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(what, " ", path, " is empty"));
  }
  return content;
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServerCredentialsFor(
    const TransportOptions& options) {
  if (absl::Status status = CheckTransport(options); !status.ok()) return status;
  if (options.transport == Transport::kInsecure) return grpc::InsecureServerCredentials();
  const TlsOptions& tls = options.tls;
  grpc::SslServerCredentialsOptions ssl;
  grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
  absl::StatusOr<std::string> cert = ReadPemFile(tls.cert_file, "TLS certificate");
  if (!cert.ok()) return cert.status();
  absl::StatusOr<std::string> key = ReadPemFile(tls.key_file, "TLS key");
  if (!key.ok()) return key.status();
  pair.cert_chain = *std::move(cert);
  pair.private_key = *std::move(key);
  ssl.pem_key_cert_pairs.push_back(std::move(pair));
  switch (tls.client_certificates) {
    case ClientCertificates::kNotRequested:
      ssl.client_certificate_request = GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE;
      break;
    case ClientCertificates::kRequestAndVerify:
      ssl.client_certificate_request = GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY;
      break;
    case ClientCertificates::kRequireAndVerify:
      ssl.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
      break;
  }
  if (!tls.client_ca_file.empty()) {
    absl::StatusOr<std::string> ca = ReadPemFile(tls.client_ca_file, "client CA");
    if (!ca.ok()) return ca.status();
    ssl.pem_root_certs = *std::move(ca);
  }
  return grpc::SslServerCredentials(ssl);
}

}  // namespace onestop::service::auth
