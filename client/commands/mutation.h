// Shared plumbing of the commands that change a dossier: the CODE argument,
// --etag and --request-id, reading the etag when it is not given, and the
// advice printed after a failed change.
#ifndef ONESTOP_CLIENT_COMMANDS_MUTATION_H_
#define ONESTOP_CLIENT_COMMANDS_MUTATION_H_

#include <cstdint>
#include <string>
#include <utility>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "client/commands/command_context.h"
#include "onestop/v1/dossier_service.grpc.pb.h"

namespace onestop::client {

// The dossier a lifecycle verb acts on. `etag` 0 means "not given".
struct DossierTarget {
  std::string code;
  int64_t etag = 0;
  std::string request_id;
};

// Adds the CODE positional, --etag and --request-id to `command`, bound to
// `target` (retained: it must outlive parsing).
void AddTargetOptions(CLI::App& command, DossierTarget& target);

// Returns `target.etag` if given, else the dossier's current etag from
// GetDossier (NOT_FOUND etc. as the server says).
absl::StatusOr<int64_t> ResolveEtag(CommandContext& ctx,
                                    const DossierTarget& target);

// Adds the advice for a failed change to `status`: the request id, how to
// retry safely after UNAVAILABLE or DEADLINE_EXCEEDED (same request id, and
// the same etag), or to re-read after ABORTED. `code` and `etag` may be
// empty/0 (submit).
absl::Status MutationFailure(absl::Status status, const std::string& request_id,
                             const std::string& code, int64_t etag);

// A DossierService method: grpc::Status (ClientContext*, const Req&, Resp*).
template <typename Request, typename Response>
using DossierRpc = grpc::Status (v1::DossierService::StubInterface::*)(
    grpc::ClientContext*, const Request&, Response*);

// Fills `request`'s code, etag and request id from `target`, calls `rpc`
// and prints the changed dossier (Printer::PrintChange).
template <typename Request, typename Response>
absl::Status RunMutation(CommandContext& ctx, const DossierTarget& target,
                         Request request, DossierRpc<Request, Response> rpc) {
  absl::StatusOr<int64_t> etag = ResolveEtag(ctx, target);
  if (!etag.ok()) return etag.status();
  const std::string request_id =
      target.request_id.empty() ? NewRequestId() : target.request_id;
  request.set_code(target.code);
  request.set_etag(*etag);
  request.set_request_id(request_id);
  Response response;
  std::unique_ptr<grpc::ClientContext> rpc_context = ctx.NewRpc();
  const grpc::Status status =
      (ctx.dossiers().*rpc)(rpc_context.get(), request, &response);
  if (!status.ok()) {
    return MutationFailure(ctx.FromRpc(status), request_id, target.code, *etag);
  }
  return ctx.printer().PrintChange(response.dossier());
}

}  // namespace onestop::client

#endif  // ONESTOP_CLIENT_COMMANDS_MUTATION_H_
