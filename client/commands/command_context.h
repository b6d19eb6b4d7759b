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
#include "absl/time/time.h"
#include "client/output/printer.h"
#include "grpcpp/grpcpp.h"
#include "onestop/v1/dossier_service.grpc.pb.h"

namespace onestop::client {

enum class OutputFormat { kTable, kJson };

// The global options, after parsing and validation.
struct GlobalOptions {
  std::string server = "127.0.0.1:7600";
  OutputFormat output = OutputFormat::kTable;
  // Sent as the `onestop-actor` metadata value; empty sends none (the server
  // then records "anonymous"). Printable ASCII only (a gRPC header value).
  std::string actor;
  // Deadline of each RPC.
  absl::Duration timeout = absl::Seconds(10);
};

// The metadata key carrying the acting person (see dossier_service.proto).
inline constexpr char kActorMetadataKey[] = "onestop-actor";

// Creates the channel to onestopd at `server` ("HOST:PORT"). The one place
// that picks channel credentials: insecure for now; TLS replaces it here.
std::shared_ptr<grpc::Channel> NewChannel(const std::string& server);

class CommandContext {
 public:
  // Uses `channel` for every stub. `out` and `err` are borrowed and must
  // outlive the context.
  CommandContext(GlobalOptions options,
                 std::shared_ptr<grpc::ChannelInterface> channel,
                 std::ostream& out, std::ostream& err);

  const GlobalOptions& options() const { return options_; }
  v1::DossierService::StubInterface& dossiers() { return *dossiers_; }
  v1::CatalogueService::StubInterface& catalogue() { return *catalogue_; }
  v1::AdminService::StubInterface& admin() { return *admin_; }
  Printer& printer() { return *printer_; }
  std::ostream& err() { return err_; }
  // For short confirmations that are not a printer view.
  std::ostream& out() { return out_; }
  absl::TimeZone time_zone() const { return tz_; }

  // Returns a fresh per-call context: deadline now + timeout, actor metadata.
  std::unique_ptr<grpc::ClientContext> NewRpc() const;

  // Converts a failed RPC's status to absl::Status with the same code. The
  // message is the server's, except that a connection failure says plainly
  // that onestopd could not be reached and where, and a deadline says how
  // long we waited, and UNIMPLEMENTED asks whether the address is onestopd.
  absl::Status FromRpc(const grpc::Status& status) const;

 private:
  GlobalOptions options_;
  std::ostream& out_;
  std::ostream& err_;
  absl::TimeZone tz_;
  std::unique_ptr<v1::DossierService::StubInterface> dossiers_;
  std::unique_ptr<v1::CatalogueService::StubInterface> catalogue_;
  std::unique_ptr<v1::AdminService::StubInterface> admin_;
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
