// What every onestopctl command runs against: the global options, the stubs
// over one channel, the chosen printer, and the registry that maps the parsed
// CLI11 subcommand to its action.
//
// Commands are registered before parsing (each `Register…` adds a CLI11
// subcommand whose options bind into state the action captures) and run
// after it, with a CommandContext built from the parsed global options. An
// action returns absl::Status; main prints a failure as
// "error: <CODE_NAME>: <message>" and exits with the code's number.
// Not thread-safe: one command runs at a time.
#ifndef ONESTOP_CLIENT_COMMANDS_COMMAND_CONTEXT_H_
#define ONESTOP_CLIENT_COMMANDS_COMMAND_CONTEXT_H_

#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "client/output/printer.h"
#include "grpcpp/grpcpp.h"
#include "onestop/v1/document_service.grpc.pb.h"
#include "onestop/v1/dossier_service.grpc.pb.h"
#include "onestop/v1/security_service.grpc.pb.h"

namespace onestop::client {

enum class OutputFormat { kTable, kJson };

// How to reach onestopd over TLS. All paths name PEM files on this machine.
struct TlsOptions {
  // CA bundle that must have signed the daemon's certificate. Empty: plain
  // text (only for a daemon on loopback started with --insecure).
  std::string ca_file;
  // Client certificate chain and key for mutual TLS: both or neither, and
  // only together with `ca_file`.
  std::string cert_file;
  std::string key_file;
  // Name to verify the daemon's certificate against instead of the host in
  // the address (e.g. "localhost" when connecting to 127.0.0.1). Empty: the
  // address's host.
  std::string server_name;
};

// The global options, after parsing and validation.
struct GlobalOptions {
  std::string server = "127.0.0.1:7600";
  OutputFormat output = OutputFormat::kTable;
  // Bearer token ("ost_…") sent with every RPC as `authorization: Bearer
  // <token>`; empty sends no credentials. Printable ASCII without spaces
  // (see CheckToken).
  std::string token;
  TlsOptions tls;
  // Deadline of each RPC.
  absl::Duration timeout = absl::Seconds(10);
};

// The metadata key carrying the bearer token (security_service.proto).
inline constexpr char kAuthorizationMetadataKey[] = "authorization";

// Returns OK if `token` can travel as a header value: non-empty, printable
// ASCII, no spaces. INVALID_ARGUMENT otherwise; the message names `source`
// (e.g. "--token") and never echoes the token.
absl::Status CheckToken(absl::string_view token, absl::string_view source);

// Returns the first line of the file at `path` without surrounding
// whitespace: a token kept out of `ps` and shell history. INVALID_ARGUMENT
// if the file cannot be read or the line fails CheckToken.
absl::StatusOr<std::string> ReadTokenFile(const std::string& path);

// Creates the channel to onestopd at `server` ("HOST:PORT"): the one place
// that picks channel credentials. With `tls.ca_file` the channel uses TLS
// (grpc::SslCredentials, plus the client certificate if given); without it,
// plain text. Reads the PEM files now, so nothing connects with a bad
// setting. INVALID_ARGUMENT for an unreadable or empty file, a certificate
// without its key (or the reverse), or TLS options without `ca_file`.
absl::StatusOr<std::shared_ptr<grpc::Channel>> NewChannel(
    const std::string& server, const TlsOptions& tls);

class CommandContext {
 public:
  // Uses `channel` for every stub. `out` and `err` are borrowed and must
  // outlive the context.
  CommandContext(GlobalOptions options,
                 std::shared_ptr<grpc::ChannelInterface> channel,
                 std::ostream& out, std::ostream& err);

  const GlobalOptions& options() const { return options_; }
  // For commands with stubs of their own (watch, report).
  const std::shared_ptr<grpc::ChannelInterface>& channel() const {
    return channel_;
  }
  v1::DossierService::StubInterface& dossiers() { return *dossiers_; }
  v1::CatalogueService::StubInterface& catalogue() { return *catalogue_; }
  v1::AdminService::StubInterface& admin() { return *admin_; }
  v1::SecurityService::StubInterface& security() { return *security_; }
  v1::CitizenService::StubInterface& citizen() { return *citizen_; }
  v1::DocumentService::StubInterface& documents() { return *documents_; }
  Printer& printer() { return *printer_; }
  std::ostream& err() { return err_; }
  // For short confirmations that are not a printer view.
  std::ostream& out() { return out_; }
  absl::TimeZone time_zone() const { return tz_; }
  // Whether `err` is a terminal a person watches: transfers (attach, fetch)
  // then draw a progress line on it. False unless main says so.
  bool err_is_terminal() const { return err_is_terminal_; }
  void set_err_is_terminal(bool value) { err_is_terminal_ = value; }

  // Returns a fresh per-call context: deadline now + timeout, and the bearer
  // token if one was given.
  std::unique_ptr<grpc::ClientContext> NewRpc() const;
  // Returns the same without a deadline, for streams that run until
  // interrupted (watch).
  std::unique_ptr<grpc::ClientContext> NewStreamRpc() const;

  // Converts a failed RPC's status to absl::Status with the same code. The
  // message is the server's, except that a connection failure says plainly
  // that onestopd could not be reached and where, and a deadline says how
  // long we waited, and UNIMPLEMENTED asks whether the address is onestopd.
  // UNAUTHENTICATED carries a hint: how to pass a token, or that the one
  // given was refused.
  absl::Status FromRpc(const grpc::Status& status) const;

 private:
  GlobalOptions options_;
  std::shared_ptr<grpc::ChannelInterface> channel_;
  std::ostream& out_;
  std::ostream& err_;
  absl::TimeZone tz_;
  bool err_is_terminal_ = false;
  std::unique_ptr<v1::DossierService::StubInterface> dossiers_;
  std::unique_ptr<v1::CatalogueService::StubInterface> catalogue_;
  std::unique_ptr<v1::AdminService::StubInterface> admin_;
  std::unique_ptr<v1::SecurityService::StubInterface> security_;
  std::unique_ptr<v1::CitizenService::StubInterface> citizen_;
  std::unique_ptr<v1::DocumentService::StubInterface> documents_;
  std::unique_ptr<Printer> printer_;
};

// A command's work, run after parsing.
using Action = std::function<absl::Status(CommandContext&)>;

// Maps leaf subcommands to their actions.
class CommandRegistry {
 public:
  // Registers `action` for `command` (retained, not owned: CLI11 owns it).
  void Add(CLI::App* command, Action action) {
    entries_.emplace_back(command, std::move(action));
  }
  // Returns the action of the subcommand that was parsed, or nullptr.
  const Action* Selected() const {
    for (const auto& [command, action] : entries_) {
      if (command->parsed()) return &action;
    }
    return nullptr;
  }

 private:
  std::vector<std::pair<CLI::App*, Action>> entries_;
};

// Returns a fresh idempotency key: 32 random hex digits.
std::string NewRequestId();

// Attaches a line of advice to `status`; main prints it after the error.
absl::Status WithHint(absl::Status status, const std::string& hint);
// Returns the advice attached by WithHint, if any.
std::optional<std::string> HintOf(const absl::Status& status);

}  // namespace onestop::client

#endif  // ONESTOP_CLIENT_COMMANDS_COMMAND_CONTEXT_H_
