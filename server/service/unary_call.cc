#include "server/service/unary_call.h"

#include "server/core/validation.h"
#include "server/util/status_macros.h"

namespace onestop::service {

absl::StatusOr<std::string> ActorFrom(const grpc::CallbackServerContext& context) {
  const auto& metadata = context.client_metadata();
  const auto it = metadata.find("onestop-actor");
  if (it == metadata.end() || it->second.empty()) return std::string("anonymous");
  std::string actor(it->second.data(), it->second.size());
  ONESTOP_RETURN_IF_ERROR(core::ValidateText("onestop-actor metadata", actor,
                                             core::kMaxCodeBytes * 2,
                                             core::Requirement::kRequired));
  return actor;
}

}  // namespace onestop::service
