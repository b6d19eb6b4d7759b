// onestopctl show: one dossier with its full history.
#include <memory>
#include <string>

#include "client/commands/commands.h"

namespace onestop::client {
namespace {

absl::Status Show(CommandContext& ctx, const std::string& code) {
  v1::GetDossierRequest request;
  request.set_code(code);
  v1::GetDossierResponse response;
  std::unique_ptr<grpc::ClientContext> rpc = ctx.NewRpc();
  const grpc::Status status =
      ctx.dossiers().GetDossier(rpc.get(), request, &response);
  if (!status.ok()) return ctx.FromRpc(status);
  return ctx.printer().PrintDossier(response.dossier());
}

}  // namespace

void RegisterShow(CLI::App& app, CommandRegistry& registry) {
  auto code = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand(
      "show", "Show a dossier: status, times, timeliness and full history");
  cmd->footer(
      "Example:\n"
      "  onestopctl show 000.00.31.H15-200106-0001\n"
      "  onestopctl show 000.00.31.H15-200106-0001 --output=json");
  cmd->add_option("CODE", *code, "Dossier code")->required();
  registry.Add(cmd, [code](CommandContext& ctx) { return Show(ctx, *code); });
}

}  // namespace onestop::client
