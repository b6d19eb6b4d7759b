#include "client/commands/mutation.h"

#include "absl/strings/str_cat.h"
#include "client/commands/args.h"

namespace onestop::client {

void AddTargetOptions(CLI::App& command, DossierTarget& target) {
  command.add_option("CODE", target.code, "Dossier code")->required();
  command
      .add_option("--etag", target.etag,
                  "Etag read with the dossier; when omitted, the current one "
                  "is fetched first (a concurrent change is still ABORTED)")
      ->check(CLI::PositiveNumber);
  command.add_option("--request-id", target.request_id,
                     "Idempotency key (default: random); reuse it to retry "
                     "safely after a timeout")
      ->check(PrintableAscii());
}

absl::StatusOr<int64_t> ResolveEtag(CommandContext& ctx,
                                    const DossierTarget& target) {
  if (target.etag > 0) return target.etag;
  v1::GetDossierRequest request;
  request.set_code(target.code);
  v1::GetDossierResponse response;
  std::unique_ptr<grpc::ClientContext> rpc = ctx.NewRpc();
  const grpc::Status status =
      ctx.dossiers().GetDossier(rpc.get(), request, &response);
  if (!status.ok()) return ctx.FromRpc(status);
  return response.dossier().etag();
}

absl::Status MutationFailure(absl::Status status, const std::string& request_id,
                             const std::string& code, int64_t etag) {
  std::string hint = absl::StrCat("request id: ", request_id);
  switch (status.code()) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kCancelled:
      absl::StrAppend(&hint,
                      "\nto retry safely (the change is made at most once), "
                      "repeat the command with --request-id=",
                      request_id);
      if (etag > 0) absl::StrAppend(&hint, " --etag=", etag);
      break;
    case absl::StatusCode::kAborted:
      if (!code.empty()) {
        absl::StrAppend(&hint, "\nthe dossier changed after etag ", etag,
                        "; review it (onestopctl show ", code,
                        ") and decide again");
      }
      break;
    default:
      break;
  }
  return WithHint(std::move(status), hint);
}

}  // namespace onestop::client
