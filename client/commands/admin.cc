// onestopctl admin clock show|set|advance|reset: the daemon's controlled
// clock (works only with onestopd --clock=controlled; FAILED_PRECONDITION,
// exit 9, otherwise).
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
  CLI::App* admin = app.add_subcommand("admin", "Operator controls");
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
}

}  // namespace onestop::client
