// onestopctl watch: follows the change feed (FeedService.WatchEvents) and
// prints each event as it commits, until interrupted (Ctrl-C) or the server
// ends the stream. Self-contained: registered from main with
// RegisterWatchCommand(app, registry).
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/commands/command_context.h"
#include "client/output/format.h"
#include "google/protobuf/util/json_util.h"
#include "onestop/v1/feed_service.grpc.pb.h"

namespace onestop::client {
namespace {

struct WatchArgs {
  int64_t from = 0;
  std::string agency;
  std::string procedure;
  std::vector<std::string> actions;
};

// Accepts the CLI verb ("hand-over"), the enum name ("HAND_OVER",
// "ACTION_KIND_HAND_OVER", any case) or the number.
absl::StatusOr<v1::ActionKind> ParseAction(const std::string& text) {
  int number = 0;
  if (absl::SimpleAtoi(text, &number) && v1::ActionKind_IsValid(number) && number != 0) {
    return static_cast<v1::ActionKind>(number);
  }
  const std::string upper = absl::AsciiStrToUpper(text);
  std::vector<std::string> names;
  for (int i = v1::ActionKind_MIN + 1; i <= v1::ActionKind_MAX; ++i) {
    if (!v1::ActionKind_IsValid(i)) continue;
    const auto kind = static_cast<v1::ActionKind>(i);
    const std::string enum_name = v1::ActionKind_Name(kind);  // ACTION_KIND_X
    if (text == ActionName(kind) || upper == enum_name ||
        absl::StrCat("ACTION_KIND_", upper) == enum_name) {
      return kind;
    }
    names.push_back(ActionName(kind));
  }
  std::string list;
  for (const std::string& n : names) absl::StrAppend(&list, list.empty() ? "" : ", ", n);
  return absl::InvalidArgumentError(
      absl::StrCat("--action: unknown action \"", text, "\"; one of: ", list));
}

std::string ToCompactJson(const google::protobuf::Message& message) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  if (!google::protobuf::util::MessageToJsonString(message, &json, options).ok()) {
    return "{}";
  }
  return json;
}

absl::Status Watch(CommandContext& ctx, const WatchArgs& args) {
  v1::WatchEventsRequest request;
  request.set_start_revision(args.from);
  request.mutable_filter()->set_agency_code(args.agency);
  request.mutable_filter()->set_procedure_code(args.procedure);
  for (const std::string& action : args.actions) {
    absl::StatusOr<v1::ActionKind> kind = ParseAction(action);
    if (!kind.ok()) return kind.status();
    request.mutable_filter()->add_actions(*kind);
  }
  std::unique_ptr<v1::FeedService::Stub> feed = v1::FeedService::NewStub(ctx.channel());
  // A watch runs until interrupted: no deadline.
  std::unique_ptr<grpc::ClientContext> rpc = ctx.NewStreamRpc();
  std::unique_ptr<grpc::ClientReader<v1::WatchEventsResponse>> reader =
      feed->WatchEvents(rpc.get(), request);
  const bool json = ctx.options().output == OutputFormat::kJson;
  if (!json) {
    std::cout << absl::StrFormat("%-8s  %-16s  %-26s  %-18s  %-24s  %s\n", "REVISION", "TIME",
                                 "CODE", "ACTION", "TO STATUS", "HOLDER")
              << std::flush;
  }
  v1::WatchEventsResponse response;
  while (reader->Read(&response)) {
    if (json) {
      // One compact object per line: {"event":{…}} or {"progress":{…}}.
      std::cout << ToCompactJson(response) << "\n" << std::flush;
      continue;
    }
    if (!response.has_event()) continue;  // progress lines only in JSON
    const v1::DossierEvent& event = response.event();
    std::cout << absl::StrFormat("%-8d  %-16s  %-26s  %-18s  %-24s  %s\n", event.revision(),
                                 FormatDeskTime(event.time(), ctx.time_zone()),
                                 event.dossier().code(), ActionName(event.action()),
                                 StatusShort(event.entry().to_status()),
                                 event.dossier().holder_agency_code())
              << std::flush;
  }
  const grpc::Status status = reader->Finish();
  if (status.ok()) return absl::OkStatus();
  absl::Status result = ctx.FromRpc(status);
  if (status.error_code() == grpc::StatusCode::OUT_OF_RANGE) {
    std::string oldest;
    const auto& trailers = rpc->GetServerTrailingMetadata();
    if (auto it = trailers.find("onestop-oldest-revision"); it != trailers.end()) {
      oldest = std::string(it->second.data(), it->second.size());
      return WithHint(result, absl::StrCat("resume with: onestopctl watch --from ", oldest));
    }
  }
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE) {
    return WithHint(result, "resume with --from <last revision printed + 1>");
  }
  return result;
}

}  // namespace

void RegisterWatchCommand(CLI::App& app, CommandRegistry& registry) {
  auto args = std::make_shared<WatchArgs>();
  CLI::App* cmd = app.add_subcommand(
      "watch", "Follow the change feed: print every dossier change as it commits");
  cmd->footer(
      "Runs until interrupted (Ctrl-C). Events come in revision order; resume\n"
      "after a disconnect with --from <last revision + 1>.\n"
      "Examples:\n"
      "  onestopctl watch                          # from the oldest retained event\n"
      "  onestopctl watch --from 1200 --agency 000.00.31.H15\n"
      "  onestopctl watch --action accept --action return --output=json\n"
      "With --output=json each line is {\"event\":{…}} or {\"progress\":{\"revision\":N}};\n"
      "after a progress line, N + 1 is a safe place to resume.");
  cmd->add_option("--from", args->from,
                  "First revision to deliver (0 = the oldest retained)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--agency", args->agency,
                  "Only dossiers received or held by this agency or one below it");
  cmd->add_option("--procedure", args->procedure, "Only dossiers of this procedure");
  cmd->add_option("--action", args->actions,
                  "Only these actions (repeatable): submit, accept, hand-over, …");
  registry.Add(cmd, [args](CommandContext& ctx) { return Watch(ctx, *args); });
}

}  // namespace onestop::client
