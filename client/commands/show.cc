// onestopctl show: one dossier with its components and full history, or its
// control slip.
#include <memory>
#include <string>

#include "client/commands/commands.h"

namespace onestop::client {
namespace {

enum class ShowView { kDossier, kControlSlip };

absl::Status Show(CommandContext& ctx, const std::string& code, ShowView view) {
  v1::GetDossierRequest request;
  request.set_code(code);
  v1::GetDossierResponse response;
  std::unique_ptr<grpc::ClientContext> rpc = ctx.NewRpc();
  const grpc::Status status =
      ctx.dossiers().GetDossier(rpc.get(), request, &response);
  if (!status.ok()) return ctx.FromRpc(status);
  if (view == ShowView::kControlSlip) {
    return ctx.printer().PrintControlSlip(response.dossier());
  }
  return ctx.printer().PrintDossier(response.dossier());
}

}  // namespace

void RegisterShow(CLI::App& app, CommandRegistry& registry) {
  auto code = std::make_shared<std::string>();
  auto slip = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand(
      "show", "Show a dossier: status, times, timeliness, digitised components "
      "(size, SHA-256 prefix, stage, who attached them) and full history");
  cmd->footer(
      "Example:\n"
      "  onestopctl show 000.00.31.H15-200106-0001\n"
      "  onestopctl show 000.00.31.H15-200106-0001 --output=json\n"
      "  onestopctl show 000.01.31.H15-200106-0001 --slip   # control slip of an interlinked dossier");
  cmd->add_option("CODE", *code, "Dossier code")->required();
  cmd->add_flag("--slip", *slip,
                "Print the control slip (phiếu kiểm soát): every hand-over with its "
                "stage due time and outcome");
  registry.Add(cmd, [code, slip](CommandContext& ctx) {
    return Show(ctx, *code, *slip ? ShowView::kControlSlip : ShowView::kDossier);
  });
}

}  // namespace onestop::client
