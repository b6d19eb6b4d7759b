// onestopctl: the command-line client of onestopd.
//
// Builds the CLI11 app (global options here, one subcommand family per file
// under client/commands/), parses, runs the chosen command and turns its
// status into the exit code:
//   0   success
//   2   usage error (unknown command or option, malformed value)
//   1–16 the gRPC status code of a failed RPC (NOT_FOUND 5, ABORTED 10,
//       FAILED_PRECONDITION 9, UNAVAILABLE 14, …), after printing
//       "error: <CODE_NAME>: <message>" to stderr.
#include <cstdlib>
#include <iostream>
#include <map>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
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
      "Run `onestopctl COMMAND --help` for a command's options.\n"
      "Exit status: 0 ok; 2 usage; otherwise the gRPC code (5 NOT_FOUND, "
      "9 FAILED_PRECONDITION,\n10 ABORTED, 14 UNAVAILABLE, …).");

  GlobalOptions options;
  std::string server = EnvOr("ONESTOP_SERVER", options.server);
  std::string output = "table";
  std::string actor = EnvOr("USER", "");
  double timeout_seconds = absl::ToDoubleSeconds(options.timeout);
  app.add_option("--server", server,
                 "onestopd address HOST:PORT (env ONESTOP_SERVER)")
      ->capture_default_str();
  app.add_option("--output,-o", output, "Output format: table or json")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
  app.add_option("--actor", actor,
                 "Who is acting, sent as `onestop-actor` metadata "
                 "(default: $USER)")
      ->check(onestop::client::PrintableAscii())
      ->capture_default_str();
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
  onestop::client::RegisterWatchCommand(app, registry);
  onestop::client::RegisterReportCommand(app, registry);

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
  options.actor = actor;
  options.timeout = absl::Seconds(timeout_seconds);

  onestop::client::CommandContext context(
      options, onestop::client::NewChannel(options.server), std::cout,
      std::cerr);
  const absl::Status status = (*action)(context);
  std::cout.flush();
  if (status.ok()) return 0;
  std::cerr << "error: " << absl::StatusCodeToString(status.code()) << ": "
            << status.message() << '\n';
  if (auto hint = onestop::client::HintOf(status); hint.has_value()) {
    std::cerr << *hint << '\n';
  }
  return static_cast<int>(status.code());
}
