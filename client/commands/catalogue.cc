// onestopctl agencies / procedures: the configured catalogue.
#include <memory>
#include <string>

#include "client/commands/args.h"
#include "client/commands/commands.h"

namespace onestop::client {
namespace {

absl::Status Agencies(CommandContext& ctx, const std::string& valid_on) {
  v1::ListAgenciesRequest request;
  if (!valid_on.empty()) {
    absl::StatusOr<v1::Date> date = ParseDateArg(valid_on);
    if (!date.ok()) return date.status();
    *request.mutable_valid_on() = *date;
  }
  v1::ListAgenciesResponse response;
  std::unique_ptr<grpc::ClientContext> rpc = ctx.NewRpc();
  const grpc::Status status =
      ctx.catalogue().ListAgencies(rpc.get(), request, &response);
  if (!status.ok()) return ctx.FromRpc(status);
  return ctx.printer().PrintAgencies(response.agencies());
}

absl::Status Procedures(CommandContext& ctx, const std::string& level) {
  v1::ListProceduresRequest request;
  request.set_level(level);
  v1::ListProceduresResponse response;
  std::unique_ptr<grpc::ClientContext> rpc = ctx.NewRpc();
  const grpc::Status status =
      ctx.catalogue().ListProcedures(rpc.get(), request, &response);
  if (!status.ok()) return ctx.FromRpc(status);
  return ctx.printer().PrintProcedures(response.procedures());
}

}  // namespace

void RegisterCatalogue(CLI::App& app, CommandRegistry& registry) {
  auto valid_on = std::make_shared<std::string>();
  CLI::App* agencies = app.add_subcommand(
      "agencies", "List agencies: code, name, level, parent, validity");
  agencies->footer(
      "Examples:\n"
      "  onestopctl agencies\n"
      "  onestopctl agencies --valid-on 2020-01-06    # the three-tier world "
      "before 1/7/2025");
  agencies
      ->add_option("--valid-on", *valid_on,
                   "Only agencies that exist on this day (YYYY-MM-DD)")
      ->check(ValidatorFrom<v1::Date>(ParseDateArg, "YYYY-MM-DD"));
  registry.Add(agencies, [valid_on](CommandContext& ctx) {
    return Agencies(ctx, *valid_on);
  });

  auto level = std::make_shared<std::string>();
  CLI::App* procedures = app.add_subcommand(
      "procedures",
      "List procedures: code, name, level, statutory deadline, deciding "
      "agency, fee, field");
  procedures->footer(
      "Examples:\n"
      "  onestopctl procedures\n"
      "  onestopctl procedures --level commune --output=json");
  procedures->add_option("--level", *level,
                         "Only procedures of this level (e.g. commune)");
  registry.Add(procedures, [level](CommandContext& ctx) {
    return Procedures(ctx, *level);
  });
}

}  // namespace onestop::client
