// onestopctl submit: registers a dossier at a desk and, by default,
// receives it at once (Form 01: the code and the appointment time).
#include <memory>
#include <string>
#include <vector>

#include "client/commands/args.h"
#include "client/commands/commands.h"
#include "client/commands/mutation.h"

namespace onestop::client {
namespace {

struct SubmitArgs {
  std::string agency;
  std::string procedure;
  std::string name, personal_id, phone, email, address;
  std::string channel = "direct";
  std::vector<std::string> documents;
  std::string summary;
  bool check_later = false;
  std::string request_id;
};

absl::Status Submit(CommandContext& ctx, const SubmitArgs& args) {
  v1::SubmitDossierRequest request;
  const std::string request_id =
      args.request_id.empty() ? NewRequestId() : args.request_id;
  request.set_request_id(request_id);
  request.set_procedure_code(args.procedure);
  request.set_receiving_agency_code(args.agency);
  v1::Applicant& applicant = *request.mutable_applicant();
  applicant.set_full_name(args.name);
  applicant.set_personal_id(args.personal_id);
  applicant.set_phone(args.phone);
  applicant.set_email(args.email);
  applicant.set_address(args.address);
  // Validated while parsing; these cannot fail here.
  request.set_channel(ParseChannel(args.channel).value_or(v1::CHANNEL_DIRECT));
  for (const std::string& text : args.documents) {
    absl::StatusOr<v1::SubmittedDocument> doc = ParseDocument(text);
    if (!doc.ok()) return doc.status();
    *request.add_documents() = *std::move(doc);
  }
  request.set_summary(args.summary);
  request.set_receive_now(!args.check_later);

  v1::SubmitDossierResponse response;
  std::unique_ptr<grpc::ClientContext> rpc = ctx.NewRpc();
  const grpc::Status status =
      ctx.dossiers().SubmitDossier(rpc.get(), request, &response);
  if (!status.ok()) {
    return MutationFailure(ctx.FromRpc(status), request_id, "", 0);
  }
  return ctx.printer().PrintReceipt(response.dossier());
}

}  // namespace

void RegisterSubmit(CLI::App& app, CommandRegistry& registry) {
  auto args = std::make_shared<SubmitArgs>();
  CLI::App* cmd = app.add_subcommand(
      "submit",
      "Register a dossier at a desk and receive it now (Form 01: prints the "
      "code and the appointment)");
  cmd->footer(
      "Example:\n"
      "  onestopctl submit --agency 000.00.31.H15 --procedure 2.000908 \\\n"
      "      --name \"Nguyễn Văn A\" --personal-id 066090001234 \\\n"
      "      --document \"Tờ khai:1\" --document \"Bản sao CCCD:1\"\n"
      "With --check-later the dossier stays NEW (status 1) until `accept`.");
  cmd->add_option("--agency", args->agency, "Receiving agency code")
      ->required();
  cmd->add_option("--procedure", args->procedure, "Procedure code")
      ->required();
  cmd->add_option("--name", args->name, "Applicant's full name")->required();
  cmd->add_option("--personal-id", args->personal_id,
                  "Applicant's personal ID (CCCD)");
  cmd->add_option("--phone", args->phone, "Applicant's phone");
  cmd->add_option("--email", args->email, "Applicant's e-mail");
  cmd->add_option("--address", args->address, "Applicant's address");
  cmd->add_option("--channel", args->channel, "How it arrived")
      ->check(CLI::IsMember({"direct", "online", "postal"}))
      ->capture_default_str();
  cmd->add_option("--document", args->documents,
                  "A document handed in, NAME:COPIES (repeatable)")
      ->allow_extra_args(false)
      ->check(ValidatorFrom<v1::SubmittedDocument>(ParseDocument,
                                                   "NAME:COPIES"));
  cmd->add_option("--summary", args->summary, "What the applicant asks for");
  cmd->add_flag("--check-later", args->check_later,
                "Register only; leave the dossier NEW for a later `accept`");
  cmd->add_option("--request-id", args->request_id,
                  "Idempotency key (default: random); reuse it to retry "
                  "safely after a timeout")
      ->check(PrintableAscii());
  registry.Add(cmd, [args](CommandContext& ctx) { return Submit(ctx, *args); });
}

}  // namespace onestop::client
