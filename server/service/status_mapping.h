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
//
// Rich details (issue #6). Every non-OK grpc::Status carries, in its binary
// details (grpc-status-details-bin), a google.rpc.Status with the same code
// and message and these details, in this order:
//   google.rpc.ErrorInfo        always: reason (server/util/error_info.h, or
//                               the code's name when none was attached),
//                               domain "onestop.gov.vn", metadata if any;
//   google.rpc.BadRequest       when field violations were attached;
//   google.rpc.PreconditionFailure  when precondition violations were attached;
//   google.rpc.LocalizedMessage always: locale "vi-VN", the attached
//                               Vietnamese message or the reason's entry in
//                               the table of status_mapping.cc.
// INTERNAL (and UNKNOWN) carry only ErrorInfo{reason "INTERNAL"} and the
// Vietnamese message: attached details are dropped with the text.
// Clients read them with grpc::ExtractErrorDetails into a google::rpc::Status.
#ifndef ONESTOP_SERVER_SERVICE_STATUS_MAPPING_H_
#define ONESTOP_SERVER_SERVICE_STATUS_MAPPING_H_

#include <grpcpp/support/status.h>

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/rpc/status.pb.h"

namespace onestop::service {

// google.rpc.ErrorInfo.domain of every onestop error.
inline constexpr absl::string_view kErrorDomain = "onestop.gov.vn";
// google.rpc.LocalizedMessage.locale of the clerk-facing message.
inline constexpr absl::string_view kClerkLocale = "vi-VN";

grpc::StatusCode ToGrpcCode(absl::StatusCode code);

// The reason used when `code` comes without an attached one: the code's
// name ("NOT_FOUND", "UNAVAILABLE", …); "INTERNAL" for UNKNOWN; "" for OK.
std::string FallbackReason(absl::StatusCode code);

// The Vietnamese message for `reason` (an error_info.h reason or a
// FallbackReason); "" if the table has none.
absl::string_view VietnameseMessage(absl::string_view reason);

// Builds the google.rpc.Status described above; code OK and no details for
// an OK status.
google::rpc::Status ToRpcStatus(const absl::Status& status);

// Converts `status`; INTERNAL and UNKNOWN become INTERNAL with a fixed text.
// Non-OK results carry ToRpcStatus(status) as binary error details.
grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace onestop::service

#endif  // ONESTOP_SERVER_SERVICE_STATUS_MAPPING_H_
