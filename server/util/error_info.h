// Structured error details carried inside absl::Status as a payload, so the
// domain core can say *why* something failed (a stable reason, the field at
// fault, the precondition that does not hold) without knowing about gRPC.
// server/service/status_mapping.cc turns them into google.rpc.Status
// details (ErrorInfo, BadRequest, PreconditionFailure, LocalizedMessage) at
// the gRPC edge; nothing below server/service/ sees a proto of google.rpc.
//
// The message of the status stays the English text a clerk reads; details
// are additive and never change the code or the message. All functions are
// pure and thread-compatible; an OK status stays OK (payloads are ignored).
//
// Usage:
//   return WithFieldViolation(
//       WithReason(absl::InvalidArgumentError("request_id: …"), kReasonFieldInvalid),
//       "request_id", "…");
//   return InvalidFieldError("applicant.full_name", "applicant.full_name is required");
#ifndef ONESTOP_SERVER_UTIL_ERROR_INFO_H_
#define ONESTOP_SERVER_UTIL_ERROR_INFO_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace onestop {

// Stable reasons (google.rpc.ErrorInfo.reason, UPPER_SNAKE_CASE, domain
// "onestop.gov.vn"). Clients may switch on them; never rename one, only add.
// docs/API_ERRORS.md lists each with its code, meaning and retry guidance.
inline constexpr absl::string_view kReasonFieldInvalid = "FIELD_INVALID";
inline constexpr absl::string_view kReasonDossierNotFound = "DOSSIER_NOT_FOUND";
inline constexpr absl::string_view kReasonAgencyNotFound = "AGENCY_NOT_FOUND";
inline constexpr absl::string_view kReasonProcedureNotFound = "PROCEDURE_NOT_FOUND";
inline constexpr absl::string_view kReasonProcedureLevelMismatch = "PROCEDURE_LEVEL_MISMATCH";
inline constexpr absl::string_view kReasonAgencyNotValidOnDay = "AGENCY_NOT_VALID_ON_DAY";
inline constexpr absl::string_view kReasonProcedureNotOfferedOnDay =
    "PROCEDURE_NOT_OFFERED_ON_DAY";
inline constexpr absl::string_view kReasonIllegalTransition = "ILLEGAL_TRANSITION";
inline constexpr absl::string_view kReasonOnceOnlyRule = "ONCE_ONLY_RULE";
inline constexpr absl::string_view kReasonStepOrderRule = "STEP_ORDER_RULE";
inline constexpr absl::string_view kReasonAgencyNotHolder = "AGENCY_NOT_HOLDER";
inline constexpr absl::string_view kReasonRescheduleTooLate = "RESCHEDULE_TOO_LATE";
inline constexpr absl::string_view kReasonCatalogueChanged = "CATALOGUE_CHANGED";
inline constexpr absl::string_view kReasonRouteUnresolved = "ROUTE_UNRESOLVED";
inline constexpr absl::string_view kReasonEtagMismatch = "ETAG_MISMATCH";
inline constexpr absl::string_view kReasonRequestIdReused = "REQUEST_ID_REUSED";
inline constexpr absl::string_view kReasonPageTokenInvalid = "PAGE_TOKEN_INVALID";
inline constexpr absl::string_view kReasonFiltersConflict = "FILTERS_CONFLICT";
inline constexpr absl::string_view kReasonDatabaseBusy = "DATABASE_BUSY";
inline constexpr absl::string_view kReasonDiskFull = "DISK_FULL";
inline constexpr absl::string_view kReasonServerBusy = "SERVER_BUSY";

// Every reason above, for tables and tests.
inline constexpr absl::string_view kAllReasons[] = {
    kReasonFieldInvalid,          kReasonDossierNotFound,
    kReasonAgencyNotFound,        kReasonProcedureNotFound,
    kReasonProcedureLevelMismatch, kReasonAgencyNotValidOnDay,
    kReasonProcedureNotOfferedOnDay, kReasonIllegalTransition,
    kReasonOnceOnlyRule,          kReasonStepOrderRule,
    kReasonAgencyNotHolder,       kReasonRescheduleTooLate,
    kReasonCatalogueChanged,      kReasonRouteUnresolved,
    kReasonEtagMismatch,          kReasonRequestIdReused,
    kReasonPageTokenInvalid,      kReasonFiltersConflict,
    kReasonDatabaseBusy,          kReasonDiskFull,
    kReasonServerBusy,
};

// Precondition types (google.rpc.PreconditionFailure.Violation.type).
inline constexpr absl::string_view kPreconditionDossierStatus = "DOSSIER_STATUS";
inline constexpr absl::string_view kPreconditionOnceOnly = "ONCE_ONLY";
inline constexpr absl::string_view kPreconditionStepOrder = "STEP_ORDER";
inline constexpr absl::string_view kPreconditionHolder = "DOSSIER_HOLDER";
inline constexpr absl::string_view kPreconditionDeadline = "DEADLINE";
inline constexpr absl::string_view kPreconditionValidity = "VALID_PERIOD";
inline constexpr absl::string_view kPreconditionCatalogue = "CATALOGUE";

// Subjects name what the precondition is about: "dossier/<code>",
// "agency/<code>", "procedure/<code>".
std::string DossierSubject(absl::string_view code);
std::string AgencySubject(absl::string_view code);
std::string ProcedureSubject(absl::string_view code);

struct FieldViolation {
  std::string field;        // request field path, e.g. "applicant.full_name"
  std::string description;  // English, as in the status message
  bool operator==(const FieldViolation& o) const {
    return field == o.field && description == o.description;
  }
};

struct PreconditionViolation {
  std::string type;     // one of the kPrecondition* types
  std::string subject;  // e.g. "dossier/H01-250102-0001"
  std::string description;
  bool operator==(const PreconditionViolation& o) const {
    return type == o.type && subject == o.subject && description == o.description;
  }
};

// What a status carries besides its code and message. Empty fields mean
// "not attached".
struct ErrorDetails {
  std::string reason;
  std::vector<std::pair<std::string, std::string>> metadata;  // ErrorInfo.metadata
  std::vector<FieldViolation> field_violations;
  std::vector<PreconditionViolation> precondition_violations;
  std::string message_vi;  // a Vietnamese message for clerks, if more specific than the table's
};

// Returns `status` with its reason set (replacing an earlier one).
absl::Status WithReason(absl::Status status, absl::string_view reason);
// Returns `status` with its reason set only if it has none yet.
absl::Status WithDefaultReason(absl::Status status, absl::string_view reason);
// Returns `status` with one ErrorInfo metadata entry appended.
absl::Status WithMetadata(absl::Status status, absl::string_view key, absl::string_view value);
// Returns `status` with a field violation appended.
absl::Status WithFieldViolation(absl::Status status, absl::string_view field,
                                absl::string_view description);
// Returns `status` with a precondition violation appended.
absl::Status WithPreconditionViolation(absl::Status status, absl::string_view type,
                                       absl::string_view subject, absl::string_view description);
// Returns `status` with its Vietnamese message set.
absl::Status WithMessageVi(absl::Status status, absl::string_view message_vi);

// INVALID_ARGUMENT `message`, reason FIELD_INVALID, one violation of
// `field` described by `message`.
absl::Status InvalidFieldError(absl::string_view field, absl::string_view message);

// FAILED_PRECONDITION `message` with `reason` and one precondition
// violation (`type`, `subject`) described by `message`.
absl::Status PreconditionError(absl::string_view reason, absl::string_view type,
                               absl::string_view subject, absl::string_view message);

// The details attached to `status`; all fields empty if none (or if the
// payload is malformed, which only a foreign writer could cause).
ErrorDetails GetErrorDetails(const absl::Status& status);

// Shorthand for GetErrorDetails(status).reason.
std::string ErrorReason(const absl::Status& status);

}  // namespace onestop

#endif  // ONESTOP_SERVER_UTIL_ERROR_INFO_H_
