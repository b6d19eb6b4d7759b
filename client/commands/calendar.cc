// onestopctl calendar: the working calendar deadlines are counted on
// (holidays, compensatory and swapped days) for one year or a range.
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "client/commands/commands.h"

namespace onestop::client {
namespace {

struct CalendarArgs {
  int year = 0;
  int to = 0;
};

absl::Status Calendar(CommandContext& ctx, const CalendarArgs& args) {
  v1::GetCalendarRequest request;
  request.set_from_year(args.year);
  request.set_to_year(args.to == 0 ? args.year : args.to);
  v1::GetCalendarResponse response;
  std::unique_ptr<grpc::ClientContext> rpc = ctx.NewRpc();
  const grpc::Status status =
      ctx.catalogue().GetCalendar(rpc.get(), request, &response);
  if (!status.ok()) return ctx.FromRpc(status);
  // Outside the configured years only the weekly rest days are known; say
  // so rather than print a calendar that looks complete.
  if (request.from_year() < response.first_year() ||
      request.to_year() > response.last_year()) {
    ctx.err() << "note: the daemon's calendar covers "
              << (response.first_year() <= response.last_year()
                      ? absl::StrCat(response.first_year(), "–",
                                     response.last_year())
                      : std::string("no year"))
              << "; outside it only the weekly rest days are known\n";
  }
  return ctx.printer().PrintCalendar(response);
}

}  // namespace

void RegisterCalendar(CLI::App& app, CommandRegistry& registry) {
  auto args = std::make_shared<CalendarArgs>();
  CLI::App* cmd = app.add_subcommand(
      "calendar",
      "Show the working calendar: rest days, working hours, cut-off and every "
      "holiday, compensatory (nghỉ bù) and swapped day (hoán đổi, làm bù)");
  cmd->footer(
      "Examples:\n"
      "  onestopctl calendar 2020              # Tết Canh Tý: 23/01–29/01/2020\n"
      "  onestopctl calendar 2019 --to 2021 --output=json\n"
      "At most 20 years at a time. With --output=json each special day is "
      "one JSON object per line.");
  cmd->add_option("YEAR", args->year, "First year, e.g. 2020")
      ->required()
      ->check(CLI::Range(1, 9999));
  cmd->add_option("--to", args->to, "Last year (default: YEAR)")
      ->check(CLI::Range(1, 9999));
  registry.Add(cmd, [args](CommandContext& ctx) { return Calendar(ctx, *args); });
}

}  // namespace onestop::client
