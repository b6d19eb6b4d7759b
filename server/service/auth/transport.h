// Transport security: TLS server credentials from files, and the rule that
// plain text is allowed only on loopback with an explicit --insecure.
//
// Thread safety: stateless functions.
#ifndef ONESTOP_SERVER_SERVICE_AUTH_TRANSPORT_H_
#define ONESTOP_SERVER_SERVICE_AUTH_TRANSPORT_H_

#include <grpcpp/security/server_credentials.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace onestop::service::auth {

enum class ClientCertificates {
  kNotRequested,       // TLS only; principals use bearer tokens
  kRequestAndVerify,   // mTLS optional: a certificate, if sent, must verify
  kRequireAndVerify,   // mTLS: no connection without a verified certificate
};

struct TlsOptions {
  std::string cert_file = "";       // PEM server certificate chain (--tls-cert)
  std::string key_file = "";        // PEM private key (--tls-key)
  std::string client_ca_file = "";  // PEM CA bundle for client certificates (--tls-client-ca)
  ClientCertificates client_certificates = ClientCertificates::kNotRequested;
};

enum class Transport {
  kTls,
  kInsecure,  // --insecure: plain text, loopback only
};

struct TransportOptions {
  std::string listen_address = "";  // "HOST:PORT" as given to --listen
  Transport transport = Transport::kTls;
  TlsOptions tls = {};
};

// True for "127.x.x.x:P", "[::1]:P", "localhost:P" (and the same without
// a port). False for anything else, including "0.0.0.0" and "[::]".
bool IsLoopbackAddress(absl::string_view listen_address);

// Checks the combination before anything is opened. INVALID_ARGUMENT,
// naming the flags:
//   kInsecure on a non-loopback address ("--insecure is refused on
//     0.0.0.0:7600: plain text is allowed only on loopback");
//   kInsecure together with TLS files;
//   kTls without both cert_file and key_file;
//   a client CA without client certificates requested, or client
//     certificates requested without a client CA.
absl::Status CheckTransport(const TransportOptions& options);

// Reads the PEM files and builds gRPC server credentials: TLS for kTls
// (with the client-certificate mode), insecure for kInsecure. Runs
// CheckTransport first. FAILED_PRECONDITION naming the file if one cannot
// be read or is empty. A malformed PEM is reported by gRPC when the server
// starts (the port fails to bind).
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServerCredentialsFor(
    const TransportOptions& options);

// Reads a whole file. FAILED_PRECONDITION naming `what` and the path.
absl::StatusOr<std::string> ReadPemFile(const std::string& path, absl::string_view what);

}  // namespace onestop::service::auth

#endif  // ONESTOP_SERVER_SERVICE_AUTH_TRANSPORT_H_
