// The one place absl::Status becomes grpc::Status.
//
// Codes keep their meaning across the edge (both enums mirror
// google.rpc.Code; the explicit switch guards against drift):
//   unknown dossier                     → NOT_FOUND
//   duplicate dossier code / request    → ALREADY_EXISTS
//   action illegal in current status    → FAILED_PRECONDITION
//   stale etag                          → ABORTED
//   malformed input                     → INVALID_ARGUMENT
//   database busy, server overloaded    → UNAVAILABLE
//   disk full                           → RESOURCE_EXHAUSTED
//   broken invariant                    → INTERNAL (message scrubbed)
// UNKNOWN and INTERNAL never carry internal text to the client: they are
// replaced by a fixed message; the original goes to the log.
#ifndef ONESTOP_SERVER_SERVICE_STATUS_MAPPING_H_
#define ONESTOP_SERVER_SERVICE_STATUS_MAPPING_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace onestop::service {

grpc::StatusCode ToGrpcCode(absl::StatusCode code);

// Converts `status`; INTERNAL and UNKNOWN become INTERNAL with a fixed text.
grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace onestop::service

#endif  // ONESTOP_SERVER_SERVICE_STATUS_MAPPING_H_
