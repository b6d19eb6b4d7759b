// onestopctl list: dossiers, newest first, one page or (--all) every page.
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "client/commands/args.h"
#include "client/commands/commands.h"

namespace onestop::client {
namespace {

struct ListArgs {
  std::string agency;
  std::string status;
  std::string procedure;
  bool overdue = false;
  bool due_soon = false;
  int page_size = 0;
  std::string page_token;
  bool all = false;
};

absl::Status List(CommandContext& ctx, const ListArgs& args) {
  v1::ListDossiersRequest request;
  request.set_agency_code(args.agency);
  if (!args.status.empty()) {
    absl::StatusOr<v1::DossierStatus> status = ParseStatus(args.status);
    if (!status.ok()) return status.status();
    request.set_status(*status);
  }
  request.set_procedure_code(args.procedure);
  request.set_overdue_only(args.overdue);
  request.set_due_soon_only(args.due_soon);
  request.set_page_size(args.page_size);
  request.set_page_token(args.page_token);

  google::protobuf::RepeatedPtrField<v1::Dossier> dossiers;
  std::string next_page_token;
  while (true) {
    v1::ListDossiersResponse response;
    std::unique_ptr<grpc::ClientContext> rpc = ctx.NewRpc();
    const grpc::Status status =
        ctx.dossiers().ListDossiers(rpc.get(), request, &response);
    if (!status.ok()) return ctx.FromRpc(status);
    dossiers.MergeFrom(response.dossiers());
    next_page_token = response.next_page_token();
    if (!args.all || next_page_token.empty()) break;
    if (next_page_token == request.page_token()) {
      return absl::InternalError(absl::StrCat(
          "the server returned the same page token twice (", next_page_token,
          "); stopping"));
    }
    request.set_page_token(next_page_token);
  }
  return ctx.printer().PrintDossierList(dossiers, next_page_token);
}

}  // namespace

void RegisterList(CLI::App& app, CommandRegistry& registry) {
  auto args = std::make_shared<ListArgs>();
  CLI::App* cmd = app.add_subcommand(
      "list", "List dossiers, newest first (filters combine with AND)");
  cmd->footer(
      "Examples:\n"
      "  onestopctl list --agency 000.00.31.H15 --status processing --overdue\n"
      "  onestopctl list --status 2 --all --output=json\n"
      "  onestopctl list --due-soon --all    # due today or within the "
      "warning window\n"
      "A page that is not the last ends with its next page token; pass it as "
      "--page-token\n(with --output=json the token goes to stderr).");
  cmd->add_option("--agency", args->agency, "Receiving or holding agency code");
  cmd->add_option("--status", args->status,
                  "Status name (received, supplement-requested, …) or portal "
                  "code 1–10")
      ->check(ValidatorFrom<v1::DossierStatus>(ParseStatus, "STATUS"));
  cmd->add_option("--procedure", args->procedure, "Procedure code");
  CLI::Option* overdue = cmd->add_flag(
      "--overdue", args->overdue,
      "Only open dossiers whose due date has passed");
  cmd->add_flag("--due-soon", args->due_soon,
                "Only open dossiers due today or within the daemon's warning "
                "window (default 1 working day)")
      ->excludes(overdue);
  cmd->add_option("--page-size", args->page_size,
                  "Dossiers per page, 1–500 (server default 50)")
      ->check(CLI::Range(1, 500));
  cmd->add_option("--page-token", args->page_token,
                  "Continue from a previous page");
  cmd->add_flag("--all", args->all, "Follow every page");
  registry.Add(cmd, [args](CommandContext& ctx) { return List(ctx, *args); });
}

}  // namespace onestop::client
