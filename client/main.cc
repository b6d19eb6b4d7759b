// onestopctl: the command-line client of onestopd.
//
// Builds the CLI11 app (global options here, one subcommand family per file
// under client/commands/), parses, runs the chosen command and turns its
// status into the exit code:
//   0   success
//   2   usage error (unknown command or option, malformed value)
//   3   INVALID_ARGUMENT also before any RPC: an unreadable --token-file or
//       TLS file, --tls-cert without --tls-key, a malformed token
//   1–16 the gRPC status code of a failed RPC (NOT_FOUND 5, ABORTED 10,
//       FAILED_PRECONDITION 9, UNAVAILABLE 14, …), after printing
//       "error: <CODE_NAME>: <message>" to stderr.
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <string>

#include <unistd.h>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/commands/args.h"
#include "client/commands/command_context.h"
#include "client/commands/commands.h"

namespace {

constexpr int kUsageExitCode = 2;

std::string EnvOr(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::string(value) : fallback;
}

// Prints a failed status like every command failure; returns the exit code.
int Fail(const absl::Status& status) {
  std::cerr << "error: " << absl::StatusCodeToString(status.code()) << ": "
            << status.message() << '\n';
  if (auto hint = onestop::client::HintOf(status); hint.has_value()) {
    std::cerr << *hint << '\n';
  }
  return static_cast<int>(status.code());
}

}  // namespace

int main(int argc, char** argv) {
  using onestop::client::GlobalOptions;
  using onestop::client::OutputFormat;

  CLI::App app(
      "onestopctl: the one-stop desk's command line for onestopd "
      "(receive, hand over, decide and return administrative dossiers)",
      "onestopctl");
  // Global options are accepted before or after the subcommand.
  app.fallthrough();
  app.require_subcommand(1);
  app.footer(
      "Examples:\n"
      "  onestopctl submit --agency 000.00.31.H15 --procedure 2.000908 "
      "--name \"Nguyễn Văn A\"\n"
      "  onestopctl --server=10.0.0.5:7600 list --status processing --overdue\n"
      "  onestopctl show 000.00.31.H15-200106-0001 --output=json\n"
      "  onestopctl calendar 2020\n"
      "  onestopctl attach 000.00.31.H15-200106-0001 --type to_khai "
      "to-khai.pdf\n"
      "  onestopctl --tls-ca=ca.crt --server=onestop.example.gov.vn:7600 \\\n"
      "      --token-file=$HOME/.onestop-token list --overdue\n"
      "Credentials: a bearer token from --token, --token-file or ONESTOP_TOKEN "
      "is sent\nwith every call; without --tls-ca the connection is plain text "
      "(a daemon on\nloopback started with --insecure).\n"
      "Run `onestopctl COMMAND --help` for a command's options.\n"
      "Exit status: 0 ok; 2 usage; otherwise the gRPC code (3 INVALID_ARGUMENT, "
      "also for an\nunreadable --token-file or TLS file; 5 NOT_FOUND, 7 "
      "PERMISSION_DENIED, 9 FAILED_PRECONDITION,\n10 ABORTED, 14 UNAVAILABLE, "
      "16 UNAUTHENTICATED, …).");

  GlobalOptions options;
  std::string server = EnvOr("ONESTOP_SERVER", options.server);
  std::string output = "table";
  std::string token = EnvOr("ONESTOP_TOKEN", "");
  std::string token_file;
  double timeout_seconds = absl::ToDoubleSeconds(options.timeout);
  app.add_option("--server", server,
                 "onestopd address HOST:PORT (env ONESTOP_SERVER)")
      ->capture_default_str();
  app.add_option("--output,-o", output, "Output format: table or json")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
  // No capture_default_str: --help must not print a token from the
  // environment.
  CLI::Option* token_option = app.add_option(
      "--token", token,
      "Bearer token (ost_…) sent with every call (env ONESTOP_TOKEN); "
      "visible in ps, prefer --token-file");
  app.add_option("--token-file", token_file,
                 "Read the token from the first line of this file "
                 "(overrides ONESTOP_TOKEN)")
      ->excludes(token_option);
  app.add_option("--tls-ca", options.tls.ca_file,
                 "PEM CA bundle that signed onestopd's certificate; turns on "
                 "TLS (without it: plain text)");
  app.add_option("--tls-cert", options.tls.cert_file,
                 "PEM client certificate chain for mutual TLS (with "
                 "--tls-key)");
  app.add_option("--tls-key", options.tls.key_file,
                 "PEM private key of --tls-cert");
  app.add_option("--tls-server-name", options.tls.server_name,
                 "Verify the daemon's certificate for this name instead of "
                 "the --server host");
  app.add_option("--timeout", timeout_seconds, "RPC deadline in seconds")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();

  onestop::client::CommandRegistry registry;
  onestop::client::RegisterSubmit(app, registry);
  onestop::client::RegisterShow(app, registry);
  onestop::client::RegisterList(app, registry);
  onestop::client::RegisterLifecycle(app, registry);
  onestop::client::RegisterCatalogue(app, registry);
  onestop::client::RegisterCalendar(app, registry);
  onestop::client::RegisterAdmin(app, registry);
  onestop::client::RegisterLookup(app, registry);
  onestop::client::RegisterWatchCommand(app, registry);
  onestop::client::RegisterReportCommand(app, registry);
  onestop::client::RegisterDocuments(app, registry);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : kUsageExitCode;
  }

  const onestop::client::Action* action = registry.Selected();
  if (action == nullptr) {
    std::cerr << app.help();
    return kUsageExitCode;
  }
  options.server = server;
  options.output = output == "json" ? OutputFormat::kJson : OutputFormat::kTable;
  options.timeout = absl::Seconds(timeout_seconds);
  if (!token_file.empty()) {
    absl::StatusOr<std::string> read = onestop::client::ReadTokenFile(token_file);
    if (!read.ok()) return Fail(read.status());
    options.token = *std::move(read);
  } else if (!token.empty()) {
    const absl::Status valid = onestop::client::CheckToken(
        token, token_option->count() > 0 ? "--token" : "ONESTOP_TOKEN");
    if (!valid.ok()) return Fail(valid);
    options.token = token;
  }

  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      onestop::client::NewChannel(options.server, options.tls);
  if (!channel.ok()) return Fail(channel.status());
  onestop::client::CommandContext context(options, *std::move(channel),
                                          std::cout, std::cerr);
  context.set_err_is_terminal(isatty(STDERR_FILENO) == 1);
  const absl::Status status = (*action)(context);
  std::cout.flush();
  if (status.ok()) return 0;
  return Fail(status);
}
