#include "client/commands/command_context.h"

#include <random>

#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/output/format.h"

namespace onestop::client {
namespace {

constexpr char kHintTypeUrl[] = "type.onestop.dev/onestopctl.Hint";

}  // namespace

std::shared_ptr<grpc::Channel> NewChannel(const std::string& server) {
  return grpc::CreateChannel(server, grpc::InsecureChannelCredentials());
}

CommandContext::CommandContext(GlobalOptions options,
                               std::shared_ptr<grpc::ChannelInterface> channel,
                               std::ostream& out, std::ostream& err)
    : options_(std::move(options)),
      out_(out),
      err_(err),
      tz_(DeskTimeZone()),
      dossiers_(v1::DossierService::NewStub(channel)),
      catalogue_(v1::CatalogueService::NewStub(channel)),
      admin_(v1::AdminService::NewStub(channel)),
      printer_(options_.output == OutputFormat::kJson
                   ? NewJsonPrinter(out, err)
                   : NewTablePrinter(out, err, tz_)) {}

std::unique_ptr<grpc::ClientContext> CommandContext::NewRpc() const {
  auto rpc = std::make_unique<grpc::ClientContext>();
  rpc->set_deadline(absl::ToChronoTime(absl::Now() + options_.timeout));
  if (!options_.actor.empty()) {
    rpc->AddMetadata(kActorMetadataKey, options_.actor);
  }
  return rpc;
}

absl::Status CommandContext::FromRpc(const grpc::Status& status) const {
  const auto code = static_cast<absl::StatusCode>(status.error_code());
  const std::string& message = status.error_message();
  if (code == absl::StatusCode::kUnavailable &&
      (absl::StrContains(message, "failed to connect") ||
       absl::StrContains(message, "Connection refused") ||
       absl::StrContains(message, "DNS resolution failed") ||
       message.empty())) {
    return absl::Status(
        code, absl::StrCat("cannot reach onestopd at ", options_.server, " (",
                           message.empty() ? "no details" : message,
                           "); is the daemon running? (--server or "
                           "ONESTOP_SERVER picks the address)"));
  }
  if (code == absl::StatusCode::kDeadlineExceeded) {
    return absl::Status(
        code, absl::StrCat("no answer from onestopd at ", options_.server,
                           " within ", absl::FormatDuration(options_.timeout),
                           " (--timeout)"));
  }
  if (code == absl::StatusCode::kUnimplemented) {
    return absl::Status(
        code, absl::StrCat(message, " (is ", options_.server,
                           " an onestopd of a matching version?)"));
  }
  return absl::Status(code, message);
}

std::string NewRequestId() {
  std::random_device device;
  std::string id;
  for (int i = 0; i < 4; ++i) {
    absl::StrAppendFormat(&id, "%08x", static_cast<uint32_t>(device()));
  }
  return id;
}

absl::Status WithHint(absl::Status status, const std::string& hint) {
  status.SetPayload(kHintTypeUrl, absl::Cord(hint));
  return status;
}

std::optional<std::string> HintOf(const absl::Status& status) {
  auto payload = status.GetPayload(kHintTypeUrl);
  if (!payload.has_value()) return std::nullopt;
  return std::string(*payload);
}

}  // namespace onestop::client
