// Digitised dossier components (issue #13): the pure rules for what may be
// attached, when, and with which declared metadata. No I/O: the bytes, their
// hash and their storage belong to storage/blobs/ and the upload service.
//
// When (AttachStage), by the dossier's status:
//   applicant's component  NEW, RECEIVED          → stage RECEPTION
//                          SUPPLEMENT_REQUESTED   → stage SUPPLEMENT
//   result document        RESULT_READY           → stage RESULT
// Anything else is FAILED_PRECONDITION naming the status and where
// attaching is allowed. RECEIVED counts as reception because a dossier
// received at once at the desk (receive_now) is RECEIVED before the clerk
// scans its papers, and it stays at the desk until handed over.
//
// Thread safety: pure functions over values.
#ifndef ONESTOP_SERVER_CORE_DOCUMENTS_H_
#define ONESTOP_SERVER_CORE_DOCUMENTS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "onestop/v1/catalogue.pb.h"
#include "onestop/v1/dossier.pb.h"

namespace onestop::core {

// What is attached: something the applicant hands in, or the result
// document the agency issues.
enum class DocumentKind { kApplicant, kResult };

// A dossier holds at most this many components (each is a few hundred
// bytes of the stored dossier; the bytes themselves live elsewhere).
inline constexpr int kMaxComponentsPerDossier = 200;

// Server policy for uploads, set by the operator.
struct ComponentPolicy {
  // Largest file accepted. 100 MiB: a scanned component (a 300 dpi PDF,
  // 0.3–2 MB a page) stays far below it, while it bounds what one call may
  // stage in the database file and how long an upload over a commune's
  // link (~10 Mbit/s: 80 s) holds a server thread.
  int64_t max_size_bytes = int64_t{100} << 20;
  // Accepted MIME types, lower case. Empty: any well-formed type/subtype.
  std::vector<std::string> allowed_mime_types = {"application/pdf", "image/jpeg", "image/png",
                                                 "image/tiff"};
};

// A component as the client declares it before sending the bytes.
struct ComponentDeclaration {
  std::string component_type;
  std::string file_name;  // raw bytes as received
  std::string mime_type;
  int64_t size_bytes = 0;
  std::string sha256;  // hex as declared
  DocumentKind kind = DocumentKind::kApplicant;
};

// Checks `declaration` against `procedure` and, unless `policy` is null,
// the operator's limits. Returns it normalised (sha256 in lower case).
// INVALID_ARGUMENT, naming the field as "header.<field>":
// - component_type empty, not 1–64 printable ASCII characters without
//   spaces, not in the procedure's component list (when it has one; the
//   message lists the known codes), or listed with the other `result` flag;
// - file_name empty, over 256 bytes, not valid UTF-8 (the offset of the bad
//   byte is named), with control characters, a slash or a backslash, or
//   "." / "..";
// - mime_type not of the form type/subtype in lower case, or not allowed;
// - size_bytes negative or over policy->max_size_bytes;
// - sha256 not 64 hex digits.
absl::StatusOr<ComponentDeclaration> ValidateDeclaration(
    const ComponentDeclaration& declaration, const onestop::v1::Procedure& procedure,
    const ComponentPolicy* policy);

// Where an attachment of `kind` lands in `dossier`'s lifecycle (see the
// table above), or FAILED_PRECONDITION (reason ILLEGAL_TRANSITION, with a
// Vietnamese message) naming the status and where it is allowed; also
// FAILED_PRECONDITION once the dossier holds kMaxComponentsPerDossier.
absl::StatusOr<onestop::v1::ComponentStage> AttachStage(const onestop::v1::Dossier& dossier,
                                                         DocumentKind kind);

// True for exactly 64 hex digits (either case).
bool IsSha256Hex(absl::string_view text);

// The component with `id`, or nullptr. Valid while `dossier` lives.
const onestop::v1::DossierComponent* FindComponent(const onestop::v1::Dossier& dossier,
                                                   absl::string_view id);

// "reception", "supplement", "result".
std::string ComponentStageName(onestop::v1::ComponentStage stage);

}  // namespace onestop::core

#endif  // ONESTOP_SERVER_CORE_DOCUMENTS_H_
