// onestopctl admin clock show|set|advance|reset: the daemon's controlled
// clock (works only with onestopd --clock=controlled; FAILED_PRECONDITION,
// exit 9, otherwise); admin reload (the configuration, like SIGHUP) and
// admin backup PATH (an online copy of the database on the daemon's machine).
// admin token … and admin audit live in security.cc.
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "client/commands/args.h"
#include "client/commands/commands.h"
#include "client/output/format.h"

namespace onestop::client {
namespace {

// Parses an `advance` argument: ParseDurationArg, in whole seconds (the RPC
// carries seconds).
absl::StatusOr<int64_t> ParseAdvanceSeconds(absl::string_view text) {
  absl::StatusOr<absl::Duration> duration = ParseDurationArg(text);
  if (!duration.ok()) return duration.status();
  absl::Duration rest;
  const int64_t seconds = absl::IDivDuration(*duration, absl::Seconds(1), &rest);
  if (rest != absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "duration \"", text, "\": the clock advances in whole seconds"));
  }
  return seconds;
}

absl::StatusOr<absl::Time> ParseDeskTime(absl::string_view text) {
  return ParseTimeArg(text, DeskTimeZone());
}

// Calls one AdminService method and prints the clock it returns.
template <typename Request, typename Response>
absl::Status CallClock(
    CommandContext& ctx, const Request& request,
    grpc::Status (v1::AdminService::StubInterface::*rpc)(grpc::ClientContext*,
                                                         const Request&,
                                                         Response*)) {
  Response response;
  std::unique_ptr<grpc::ClientContext> rpc_context = ctx.NewRpc();
  const grpc::Status status =
      (ctx.admin().*rpc)(rpc_context.get(), request, &response);
  if (!status.ok()) return ctx.FromRpc(status);
  return ctx.printer().PrintClock(response.clock());
}

}  // namespace

void RegisterAdmin(CLI::App& app, CommandRegistry& registry) {
  CLI::App* admin = app.add_subcommand(
      "admin",
      "Operator controls: clock, reload, backup, tokens, audit log (moving the clock, reload, "
      "backup and the audit log need an admin of a top-level agency)");
  admin->require_subcommand(1);
  CLI::App* clock = admin->add_subcommand(
      "clock",
      "Show or move the daemon's clock (onestopd --clock=controlled only)");
  clock->require_subcommand(1);
  clock->footer(
      "Examples:\n"
      "  onestopctl admin clock set 2020-01-06T08:00:00+07:00\n"
      "  onestopctl admin clock advance 3d\n"
      "The clock never moves backwards: an earlier time is "
      "FAILED_PRECONDITION (exit 9).");

  CLI::App* show = clock->add_subcommand("show", "Print the daemon's time");
  show->footer("Example:\n  onestopctl admin clock show");
  registry.Add(show, [](CommandContext& ctx) {
    return CallClock(ctx, v1::GetClockRequest(),
                     &v1::AdminService::StubInterface::GetClock);
  });

  auto time = std::make_shared<std::string>();
  CLI::App* set = clock->add_subcommand("set", "Pin the clock to an instant");
  set->footer(
      "Example:\n"
      "  onestopctl admin clock set 2020-01-06T08:00:00+07:00\n"
      "A time without an offset (2020-01-06T08:00) is read in "
      "Asia/Ho_Chi_Minh.");
  set->add_option("TIME", *time, "RFC3339 instant")
      ->required()
      ->check(ValidatorFrom<absl::Time>(ParseDeskTime, "TIME"));
  registry.Add(set, [time](CommandContext& ctx) -> absl::Status {
    absl::StatusOr<absl::Time> t = ParseDeskTime(*time);
    if (!t.ok()) return t.status();
    v1::SetClockRequest request;
    *request.mutable_time() = ToTimestamp(*t);
    return CallClock(ctx, request, &v1::AdminService::StubInterface::SetClock);
  });

  auto duration = std::make_shared<std::string>();
  CLI::App* advance =
      clock->add_subcommand("advance", "Move the clock forward");
  advance->footer(
      "Examples:\n"
      "  onestopctl admin clock advance 90m\n"
      "  onestopctl admin clock advance 3d    # = 72h; also 1h30m, 1d12h");
  advance->add_option("DURATION", *duration, "How far, e.g. 2h, 90m, 3d")
      ->required()
      ->check(ValidatorFrom<int64_t>(ParseAdvanceSeconds, "DURATION"));
  registry.Add(advance, [duration](CommandContext& ctx) -> absl::Status {
    absl::StatusOr<int64_t> seconds = ParseAdvanceSeconds(*duration);
    if (!seconds.ok()) return seconds.status();
    v1::AdvanceClockRequest request;
    request.set_seconds(*seconds);
    return CallClock(ctx, request,
                     &v1::AdminService::StubInterface::AdvanceClock);
  });

  CLI::App* reset = clock->add_subcommand(
      "reset", "Return to real time (only if real time is not behind)");
  reset->footer("Example:\n  onestopctl admin clock reset");
  registry.Add(reset, [](CommandContext& ctx) {
    return CallClock(ctx, v1::ResetClockRequest(),
                     &v1::AdminService::StubInterface::ResetClock);
  });

  CLI::App* reload = admin->add_subcommand(
      "reload", "Reload the daemon's configuration file (validated first; a bad file changes nothing)");
  reload->footer("Example:\n  onestopctl admin reload");
  registry.Add(reload, [](CommandContext& ctx) -> absl::Status {
    v1::ReloadConfigResponse response;
    std::unique_ptr<grpc::ClientContext> rpc = ctx.NewRpc();
    const grpc::Status status = ctx.admin().ReloadConfig(rpc.get(), v1::ReloadConfigRequest(), &response);
    if (!status.ok()) return ctx.FromRpc(status);
    ctx.out() << "reloaded \"" << response.config_name() << "\": " << response.agencies()
              << " agencies, " << response.procedures() << " procedures\n";
    return absl::OkStatus();
  });

  auto backup_path = std::make_shared<std::string>();
  CLI::App* backup = admin->add_subcommand(
      "backup", "Write a consistent copy of the database while the daemon serves");
  backup->footer(
      "PATH is on the daemon's machine and must be absolute.\n"
      "Example:\n  onestopctl admin backup /var/backups/onestop-$(date +%F).db");
  backup->add_option("PATH", *backup_path, "Absolute path of the copy")->required();
  registry.Add(backup, [backup_path](CommandContext& ctx) -> absl::Status {
    v1::BackupDatabaseRequest request;
    request.set_path(*backup_path);
    v1::BackupDatabaseResponse response;
    std::unique_ptr<grpc::ClientContext> rpc = ctx.NewRpc();
    const grpc::Status status = ctx.admin().BackupDatabase(rpc.get(), request, &response);
    if (!status.ok()) return ctx.FromRpc(status);
    ctx.out() << "backed up to " << response.path() << " (" << response.bytes() << " bytes)\n";
    return absl::OkStatus();
  });

  RegisterAdminSecurity(*admin, registry);
  RegisterAdminMigrate(*admin, registry);
  RegisterAdminImport(*admin, registry);
}

}  // namespace onestop::client
