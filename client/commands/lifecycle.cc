// The lifecycle verbs: accept, request-supplement, supply, refuse,
// hand-over, decide, ready, return, withdraw, stop, and the time-law verbs
// request-payment, confirm-payment, reschedule, and the interlinked verbs
// forward and complete-stage. Each takes CODE,
// optional --etag (fetched when omitted) and --request-id, calls one
// DossierService RPC and prints the changed dossier.
#include <memory>
#include <string>
#include <vector>

#include "client/commands/args.h"
#include "client/commands/commands.h"
#include "client/commands/mutation.h"
#include "client/output/format.h"

namespace onestop::client {
namespace {

constexpr char kEtagNote[] =
    "Without --etag the current etag is read first; the server still rejects "
    "a change\nmade by someone else in between with ABORTED (exit 10).";

// Creates the subcommand with its description, example and the common
// CODE/--etag/--request-id options.
CLI::App* AddVerb(CLI::App& app, const std::string& name,
                  const std::string& description, const std::string& example,
                  DossierTarget& target) {
  CLI::App* cmd = app.add_subcommand(name, description);
  cmd->footer("Example:\n  " + example + "\n" + kEtagNote);
  AddTargetOptions(*cmd, target);
  return cmd;
}

// A verb whose request carries one text besides the dossier: a --note for
// the history (optional) or a --reason (required).
template <typename Request, typename Response>
struct TextVerb {
  const char* name;
  const char* description;
  const char* example;
  const char* flag;  // "--note" or "--reason"
  const char* flag_help;
  bool required;
  void (*set_text)(Request&, std::string);
  DossierRpc<Request, Response> rpc;
};

template <typename Request, typename Response>
void RegisterTextVerb(CLI::App& app, CommandRegistry& registry,
                      const TextVerb<Request, Response>& verb) {
  struct Args {
    DossierTarget target;
    std::string text;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = AddVerb(app, verb.name, verb.description, verb.example, args->target);
  CLI::Option* option = cmd->add_option(verb.flag, args->text, verb.flag_help);
  if (verb.required) option->required();
  registry.Add(cmd, [args, verb](CommandContext& ctx) {
    Request request;
    verb.set_text(request, args->text);
    return RunMutation(ctx, args->target, std::move(request), verb.rpc);
  });
}

using Stub = v1::DossierService::StubInterface;

template <typename Request>
void SetNote(Request& request, std::string text) {
  request.set_note(std::move(text));
}

template <typename Request>
void SetReason(Request& request, std::string text) {
  request.set_reason(std::move(text));
}

void RegisterAccept(CLI::App& app, CommandRegistry& registry) {
  RegisterTextVerb(app, registry, TextVerb<v1::AcceptDossierRequest, v1::AcceptDossierResponse>{
      "accept", "Receive a NEW dossier at the desk (Form 01): sets received and due times",
      "onestopctl accept 000.00.31.H15-200106-0001 --note \"Đủ thành phần\"",
      "--note", "Note for the history", false, &SetNote, &Stub::AcceptDossier});
}

void RegisterRefuse(CLI::App& app, CommandRegistry& registry) {
  RegisterTextVerb(app, registry, TextVerb<v1::RefuseDossierRequest, v1::RefuseDossierResponse>{
      "refuse", "Refuse to receive the dossier (Form 03)",
      "onestopctl refuse 000.00.31.H15-200106-0001 \\\n"
      "      --reason \"Không thuộc thẩm quyền giải quyết\"",
      "--reason", "Reason given to the applicant", true, &SetReason, &Stub::RefuseDossier});
}

void RegisterReady(CLI::App& app, CommandRegistry& registry) {
  RegisterTextVerb(app, registry,
                   TextVerb<v1::MarkResultReadyRequest, v1::MarkResultReadyResponse>{
      "ready", "The decided result is at the receiving desk (RESULT_READY)",
      "onestopctl ready 000.00.31.H15-200106-0001", "--note", "Note for the history", false,
      &SetNote, &Stub::MarkResultReady});
}

void RegisterWithdraw(CLI::App& app, CommandRegistry& registry) {
  RegisterTextVerb(app, registry,
                   TextVerb<v1::WithdrawDossierRequest, v1::WithdrawDossierResponse>{
      "withdraw", "The citizen withdraws the dossier before a decision (WITHDRAWN)",
      "onestopctl withdraw 000.00.31.H15-200106-0001 \\\n"
      "      --reason \"Công dân xin rút hồ sơ\"",
      "--reason", "The citizen's reason", true, &SetReason, &Stub::WithdrawDossier});
}

void RegisterStop(CLI::App& app, CommandRegistry& registry) {
  RegisterTextVerb(app, registry,
                   TextVerb<v1::StopProcessingRequest, v1::StopProcessingResponse>{
      "stop", "An officer stops processing (STOPPED, Form 05)",
      "onestopctl stop 000.00.31.H15-200106-0001 \\\n"
      "      --reason \"Có quyết định của Tòa án\"",
      "--reason", "Why processing stops", true, &SetReason, &Stub::StopProcessing});
}

void RegisterRequestPayment(CLI::App& app, CommandRegistry& registry) {
  RegisterTextVerb(app, registry,
                   TextVerb<v1::RequestPaymentRequest, v1::RequestPaymentResponse>{
      "request-payment",
      "Notify a tax or fee to pay (FINANCIAL_OBLIGATION); the legal clock "
      "stops until confirm-payment",
      "onestopctl request-payment 000.00.31.H15-200117-0001 \\\n"
      "      --note \"Thông báo nộp lệ phí trước bạ số 123/TB-CCT\"",
      "--note", "Note for the history (e.g. the notice number and amount)", false, &SetNote,
      &Stub::RequestPayment});
}

void RegisterConfirmPayment(CLI::App& app, CommandRegistry& registry) {
  RegisterTextVerb(app, registry,
                   TextVerb<v1::ConfirmPaymentRequest, v1::ConfirmPaymentResponse>{
      "confirm-payment",
      "The obligation is paid (PROCESSING): the clock resumes and the due "
      "time moves forward by the working time paused",
      "onestopctl confirm-payment 000.00.31.H15-200117-0001 \\\n"
      "      --note \"Biên lai số 0004567\"",
      "--note", "Note for the history (e.g. the receipt number)", false, &SetNote,
      &Stub::ConfirmPayment});
}

void RegisterRequestSupplement(CLI::App& app, CommandRegistry& registry) {
  struct Args {
    DossierTarget target;
    std::vector<std::string> items;
    std::string note;
    std::string as;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = AddVerb(
      app, "request-supplement",
      "Ask for missing documents, all at once (Form 02 at reception; during "
      "processing the legal clock stops)",
      "onestopctl request-supplement 000.00.31.H15-200106-0001 \\\n"
      "      --item \"Bản sao giấy khai sinh\" --item \"Sổ hộ khẩu\"",
      args->target);
  cmd->add_option("--item", args->items, "A missing item (repeatable)")
      ->required()
      ->allow_extra_args(false);
  cmd->add_option("--note", args->note, "Note for the history");
  cmd->add_option("--as", args->as,
                  "Interlinked dossiers: the stage agency asking (default: the first "
                  "active agency that has not asked yet)");
  registry.Add(cmd, [args](CommandContext& ctx) {
    v1::RequestSupplementRequest request;
    request.set_note(args->note);
    for (const std::string& item : args->items) request.add_missing_items(item);
    request.set_acting_agency_code(args->as);
    return RunMutation(ctx, args->target, std::move(request),
                       &v1::DossierService::StubInterface::RequestSupplement);
  });
}

void RegisterSupply(CLI::App& app, CommandRegistry& registry) {
  struct Args {
    DossierTarget target;
    std::vector<std::string> documents;
    std::string note;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = AddVerb(
      app, "supply",
      "Record the requested documents as supplied (the clock resumes)",
      "onestopctl supply 000.00.31.H15-200106-0001 --document \"Sổ hộ khẩu:1\"",
      args->target);
  cmd->add_option("--document", args->documents,
                  "A document supplied, NAME:COPIES (repeatable)")
      ->allow_extra_args(false)
      ->check(ValidatorFrom<v1::SubmittedDocument>(ParseDocument,
                                                   "NAME:COPIES"));
  cmd->add_option("--note", args->note, "Note for the history");
  registry.Add(cmd, [args](CommandContext& ctx) -> absl::Status {
    v1::SupplyDocumentsRequest request;
    request.set_note(args->note);
    for (const std::string& text : args->documents) {
      absl::StatusOr<v1::SubmittedDocument> doc = ParseDocument(text);
      if (!doc.ok()) return doc.status();
      *request.add_documents() = *std::move(doc);
    }
    return RunMutation(ctx, args->target, std::move(request),
                       &v1::DossierService::StubInterface::SupplyDocuments);
  });
}

void RegisterHandOver(CLI::App& app, CommandRegistry& registry) {
  struct Args {
    DossierTarget target;
    std::string to;
    std::string note;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = AddVerb(
      app, "hand-over",
      "Hand a RECEIVED dossier to the processing agency (PROCESSING)",
      "onestopctl hand-over 000.00.31.H15-200106-0001 --to 000.20.31.H15",
      args->target);
  cmd->add_option("--to", args->to,
                  "Agency code (default: the deciding agency)");
  cmd->add_option("--note", args->note, "Note for the history");
  registry.Add(cmd, [args](CommandContext& ctx) {
    v1::HandOverDossierRequest request;
    request.set_to_agency_code(args->to);
    request.set_note(args->note);
    return RunMutation(ctx, args->target, std::move(request),
                       &v1::DossierService::StubInterface::HandOverDossier);
  });
}

void RegisterDecide(CLI::App& app, CommandRegistry& registry) {
  struct Args {
    DossierTarget target;
    bool approve = false;
    bool deny = false;
    std::string reason;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = AddVerb(
      app, "decide",
      "Record the decision on a PROCESSING dossier: --approve, or --deny "
      "with --reason",
      "onestopctl decide 000.00.31.H15-200106-0001 --approve\n"
      "  onestopctl decide 000.00.31.H15-200106-0001 --deny \\\n"
      "      --reason \"Không đủ điều kiện\"",
      args->target);
  CLI::Option* reason =
      cmd->add_option("--reason", args->reason, "Why (required with --deny)");
  CLI::Option_group* outcome =
      cmd->add_option_group("outcome", "Exactly one of --approve or --deny");
  outcome->add_flag("--approve", args->approve, "The request is granted");
  CLI::Option* deny =
      outcome->add_flag("--deny", args->deny, "The request is denied");
  outcome->require_option(1);
  deny->needs(reason);
  registry.Add(cmd, [args](CommandContext& ctx) -> absl::Status {
    if (args->approve == args->deny) {
      return absl::InvalidArgumentError(
          "decide needs exactly one of --approve or --deny");
    }
    v1::RecordDecisionRequest request;
    request.set_outcome(args->approve ? v1::DECISION_OUTCOME_APPROVED
                                      : v1::DECISION_OUTCOME_DENIED);
    request.set_reason(args->reason);
    return RunMutation(ctx, args->target, std::move(request),
                       &v1::DossierService::StubInterface::RecordDecision);
  });
}

void RegisterReturn(CLI::App& app, CommandRegistry& registry) {
  struct Args {
    DossierTarget target;
    std::string mode;
    std::string note;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = AddVerb(
      app, "return", "The result reached the citizen (RETURNED)",
      "onestopctl return 000.00.31.H15-200106-0001 --mode desk", args->target);
  cmd->add_option("--mode", args->mode, "How: desk, postal or electronic")
      ->required()
      ->check(CLI::IsMember({"desk", "postal", "electronic"}));
  cmd->add_option("--note", args->note, "Note for the history");
  registry.Add(cmd, [args](CommandContext& ctx) -> absl::Status {
    absl::StatusOr<v1::ReturnMode> mode = ParseReturnMode(args->mode);
    if (!mode.ok()) return mode.status();
    v1::ReturnResultRequest request;
    request.set_mode(*mode);
    request.set_note(args->note);
    return RunMutation(ctx, args->target, std::move(request),
                       &v1::DossierService::StubInterface::ReturnResult);
  });
}

absl::StatusOr<absl::Time> ParseDeskTime(absl::string_view text) {
  return ParseTimeArg(text, DeskTimeZone());
}

void RegisterReschedule(CLI::App& app, CommandRegistry& registry) {
  struct Args {
    DossierTarget target;
    std::string to;
    std::string reason;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = AddVerb(
      app, "reschedule",
      "Apologise and give a new appointment (Form 04): once per dossier, no "
      "later than 1 day before the due date. The due time that decides "
      "timeliness does not move",
      "onestopctl reschedule 000.00.31.H15-200117-0001 \\\n"
      "      --to 2020-02-14T17:00 --reason \"Cần xác minh thực địa\"\n"
      "A second reschedule is FAILED_PRECONDITION (exit 9).",
      args->target);
  cmd->add_option("--to", args->to,
                  "New appointment: RFC3339, or 2020-02-14T17:00 read in "
                  "Asia/Ho_Chi_Minh")
      ->required()
      ->check(ValidatorFrom<absl::Time>(ParseDeskTime, "TIME"));
  cmd->add_option("--reason", args->reason,
                  "Why the agency is late (printed on the apology)")
      ->required();
  registry.Add(cmd, [args](CommandContext& ctx) -> absl::Status {
    absl::StatusOr<absl::Time> to = ParseDeskTime(args->to);
    if (!to.ok()) return to.status();
    v1::RescheduleDossierRequest request;
    *request.mutable_new_due_time() = ToTimestamp(*to);
    request.set_reason(args->reason);
    return RunMutation(ctx, args->target, std::move(request),
                       &v1::DossierService::StubInterface::RescheduleDossier);
  });
}

// An interlinked verb: the acting agency (--as) and an optional --note.
template <typename Request, typename Response>
struct StageVerb {
  const char* name;
  const char* description;
  const char* example;
  const char* as_help;
  bool as_required;
  DossierRpc<Request, Response> rpc;
};

template <typename Request, typename Response>
void RegisterStageVerb(CLI::App& app, CommandRegistry& registry,
                       const StageVerb<Request, Response>& verb) {
  struct Args {
    DossierTarget target;
    std::string as;
    std::string note;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = AddVerb(app, verb.name, verb.description, verb.example, args->target);
  CLI::Option* as = cmd->add_option("--as", args->as, verb.as_help);
  if (verb.as_required) as->required();
  cmd->add_option("--note", args->note, "Note for the history");
  registry.Add(cmd, [args, verb](CommandContext& ctx) {
    Request request;
    request.set_acting_agency_code(args->as);
    request.set_note(args->note);
    return RunMutation(ctx, args->target, std::move(request), verb.rpc);
  });
}

}  // namespace

void RegisterForward(CLI::App& app, CommandRegistry& registry) {
  RegisterStageVerb(
      app, registry,
      StageVerb<v1::ForwardDossierRequest, v1::ForwardDossierResponse>{
          "forward",
          "Interlinked dossiers: move to the next stage of the route (the server "
          "fills in the stage's agencies), or back to the receiving desk after the last",
          "onestopctl forward 000.01.31.H15-200106-0001 --as 000.01.31.H15",
          "The agency handing over (the desk, or the one that finished the stage)",
          /*as_required=*/false, &Stub::ForwardDossier});
}

void RegisterCompleteStage(CLI::App& app, CommandRegistry& registry) {
  RegisterStageVerb(
      app, registry,
      StageVerb<v1::CompleteStageRequest, v1::CompleteStageResponse>{
          "complete-stage",
          "Interlinked dossiers: the acting agency's task in the current stage is done",
          "onestopctl complete-stage 000.01.31.H15-200106-0001 --as 000.31.02.H15",
          "The agency whose task is done", /*as_required=*/true, &Stub::CompleteStage});
}

void RegisterLifecycle(CLI::App& app, CommandRegistry& registry) {
  RegisterAccept(app, registry);
  RegisterRequestSupplement(app, registry);
  RegisterSupply(app, registry);
  RegisterRefuse(app, registry);
  RegisterHandOver(app, registry);
  RegisterDecide(app, registry);
  RegisterReady(app, registry);
  RegisterReturn(app, registry);
  RegisterWithdraw(app, registry);
  RegisterStop(app, registry);
  RegisterRequestPayment(app, registry);
  RegisterConfirmPayment(app, registry);
  RegisterReschedule(app, registry);
  RegisterForward(app, registry);
  RegisterCompleteStage(app, registry);
}

}  // namespace onestop::client
