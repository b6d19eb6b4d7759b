#include "server/core/documents.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/core/validation.h"
#include "server/core/workflow.h"
#include "server/util/error_info.h"
#include "server/util/status_macros.h"

namespace onestop::core {
namespace {

namespace v1 = onestop::v1;

bool IsCodeChar(char c) { return c > ' ' && c <= '~'; }

// RFC 6838 restricted names, lower case: "type/subtype" of letters,
// digits and ! # $ & - ^ _ . +
bool IsMimeToken(absl::string_view token) {
  if (token.empty() || token.size() > 127) return false;
  for (char c : token) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '!' || c == '#' ||
                    c == '$' || c == '&' || c == '-' || c == '^' || c == '_' || c == '.' ||
                    c == '+';
    if (!ok) return false;
  }
  return true;
}

bool IsWellFormedMime(absl::string_view mime) {
  const size_t slash = mime.find('/');
  if (slash == absl::string_view::npos) return false;
  return IsMimeToken(mime.substr(0, slash)) && IsMimeToken(mime.substr(slash + 1));
}

std::string Mebibytes(int64_t bytes) {
  if (bytes % (int64_t{1} << 20) == 0) return absl::StrCat(bytes >> 20, " MiB");
  return absl::StrCat(bytes, " bytes");
}

absl::Status ValidateComponentType(const ComponentDeclaration& d,
                                   const v1::Procedure& procedure) {
  constexpr absl::string_view kField = "header.component_type";
  if (d.component_type.empty()) {
    return InvalidFieldError(kField, "header.component_type is required (which component this "
                                     "file is, e.g. \"to_khai\")");
  }
  if (d.component_type.size() > kMaxCodeBytes ||
      !std::all_of(d.component_type.begin(), d.component_type.end(), IsCodeChar)) {
    return InvalidFieldError(kField, absl::StrCat("header.component_type must be 1-",
                                                  kMaxCodeBytes,
                                                  " printable ASCII characters without spaces"));
  }
  if (procedure.components().empty()) return absl::OkStatus();
  const bool want_result = d.kind == DocumentKind::kResult;
  std::vector<std::string> known;
  for (const v1::ComponentType& type : procedure.components()) {
    if (type.result() == want_result) known.push_back(type.code());
    if (type.code() != d.component_type) continue;
    if (type.result() == want_result) return absl::OkStatus();
    return InvalidFieldError(
        kField,
        type.result()
            ? absl::StrCat("component type \"", d.component_type, "\" (", type.name(),
                           ") of procedure ", procedure.code(),
                           " is a result document: upload it with result_document set, once "
                           "the result is ready")
            : absl::StrCat("component type \"", d.component_type, "\" (", type.name(),
                           ") of procedure ", procedure.code(),
                           " is handed in by the applicant, not a result document"));
  }
  return InvalidFieldError(
      kField, absl::StrCat("procedure ", procedure.code(), " has no ",
                           want_result ? "result document" : "component", " of type \"",
                           d.component_type, "\"; known: ",
                           known.empty() ? "none" : absl::StrJoin(known, ", ")));
}

absl::Status ValidateFileName(absl::string_view name) {
  constexpr absl::string_view kField = "header.file_name";
  ONESTOP_RETURN_IF_ERROR(ValidateText(kField, name, kMaxNameBytes, Requirement::kRequired));
  // The name is shown and may be offered as a default when saving: it
  // must not name a directory or climb out of one.
  if (name.find('/') != absl::string_view::npos || name.find('\\') != absl::string_view::npos) {
    return InvalidFieldError(kField, "header.file_name must be a bare file name, without "
                                     "a slash or backslash");
  }
  if (name == "." || name == "..") {
    return InvalidFieldError(kField, "header.file_name must be a file name, not \".\" or \"..\"");
  }
  return absl::OkStatus();
}

absl::Status ValidateMime(absl::string_view mime, const ComponentPolicy* policy) {
  constexpr absl::string_view kField = "header.mime_type";
  if (mime.empty()) {
    return InvalidFieldError(kField, "header.mime_type is required, e.g. \"application/pdf\"");
  }
  if (!IsWellFormedMime(mime)) {
    return InvalidFieldError(
        kField, absl::StrCat("header.mime_type \"", absl::CHexEscape(mime),
                             "\" is not a MIME type in lower case like \"application/pdf\""));
  }
  if (policy == nullptr || policy->allowed_mime_types.empty()) return absl::OkStatus();
  if (std::find(policy->allowed_mime_types.begin(), policy->allowed_mime_types.end(), mime) !=
      policy->allowed_mime_types.end()) {
    return absl::OkStatus();
  }
  return InvalidFieldError(kField, absl::StrCat("files of type ", mime,
                                                " are not accepted; allowed: ",
                                                absl::StrJoin(policy->allowed_mime_types, ", ")));
}

std::string Describe(const v1::Dossier& dossier) {
  return absl::StrCat(StatusName(dossier.status()), " (", StatusLabelVi(dossier.status()), ")");
}

absl::Status NotNow(const v1::Dossier& dossier, DocumentKind kind) {
  const std::string code = dossier.code().empty() ? "(no code yet)" : dossier.code();
  const std::string message =
      kind == DocumentKind::kResult
          ? absl::StrCat("cannot attach a result document: dossier ", code, " is ",
                         Describe(dossier),
                         "; result documents are attached when the result is ready "
                         "(RESULT_READY)")
          : absl::StrCat("cannot attach a component: dossier ", code, " is ", Describe(dossier),
                         "; the applicant's components are attached at reception (NEW, "
                         "RECEIVED) or while a requested supplement is awaited "
                         "(SUPPLEMENT_REQUESTED)");
  const std::string message_vi =
      kind == DocumentKind::kResult
          ? absl::StrCat("Không thể đính kèm kết quả: hồ sơ ", code, " đang ở trạng thái “",
                         StatusLabelVi(dossier.status()),
                         "”; chỉ đính kèm kết quả khi hồ sơ “Đã xử lý xong”.")
          : absl::StrCat("Không thể đính kèm thành phần hồ sơ: hồ sơ ", code,
                         " đang ở trạng thái “", StatusLabelVi(dossier.status()),
                         "”; chỉ đính kèm khi tiếp nhận hoặc khi bổ sung hồ sơ theo yêu cầu.");
  return WithMessageVi(PreconditionError(kReasonIllegalTransition, kPreconditionDossierStatus,
                                         DossierSubject(dossier.code()), message),
                       message_vi);
}

}  // namespace

bool IsSha256Hex(absl::string_view text) {
  return text.size() == 64 && std::all_of(text.begin(), text.end(), [](char c) {
           return absl::ascii_isxdigit(static_cast<unsigned char>(c));
         });
}

absl::StatusOr<ComponentDeclaration> ValidateDeclaration(const ComponentDeclaration& declaration,
                                                         const v1::Procedure& procedure,
                                                         const ComponentPolicy* policy) {
  ONESTOP_RETURN_IF_ERROR(ValidateComponentType(declaration, procedure));
  ONESTOP_RETURN_IF_ERROR(ValidateFileName(declaration.file_name));
  ONESTOP_RETURN_IF_ERROR(ValidateMime(declaration.mime_type, policy));
  if (declaration.size_bytes < 0) {
    return InvalidFieldError("header.size_bytes",
                             absl::StrCat("header.size_bytes is ", declaration.size_bytes,
                                          "; declare the file's exact size in bytes"));
  }
  if (policy != nullptr && declaration.size_bytes > policy->max_size_bytes) {
    return InvalidFieldError(
        "header.size_bytes",
        absl::StrCat("the file is ", declaration.size_bytes, " bytes; files up to ",
                     Mebibytes(policy->max_size_bytes), " are accepted"));
  }
  if (!IsSha256Hex(declaration.sha256)) {
    return InvalidFieldError("header.sha256",
                             "header.sha256 must be the file's SHA-256 as 64 hex digits");
  }
  ComponentDeclaration out = declaration;
  absl::AsciiStrToLower(&out.sha256);
  return out;
}

absl::StatusOr<v1::ComponentStage> AttachStage(const v1::Dossier& dossier, DocumentKind kind) {
  v1::ComponentStage stage = v1::COMPONENT_STAGE_UNSPECIFIED;
  switch (dossier.status()) {
    case v1::DOSSIER_STATUS_NEW:
    case v1::DOSSIER_STATUS_RECEIVED:
      if (kind == DocumentKind::kApplicant) stage = v1::COMPONENT_STAGE_RECEPTION;
      break;
    case v1::DOSSIER_STATUS_SUPPLEMENT_REQUESTED:
      if (kind == DocumentKind::kApplicant) stage = v1::COMPONENT_STAGE_SUPPLEMENT;
      break;
    case v1::DOSSIER_STATUS_RESULT_READY:
      if (kind == DocumentKind::kResult) stage = v1::COMPONENT_STAGE_RESULT;
      break;
    default:
      break;
  }
  if (stage == v1::COMPONENT_STAGE_UNSPECIFIED) return NotNow(dossier, kind);
  if (dossier.components_size() >= kMaxComponentsPerDossier) {
    return PreconditionError(
        kReasonStepOrderRule, kPreconditionStepOrder, DossierSubject(dossier.code()),
        absl::StrCat("dossier ", dossier.code(), " already holds ", dossier.components_size(),
                     " components, the most allowed"));
  }
  return stage;
}

const v1::DossierComponent* FindComponent(const v1::Dossier& dossier, absl::string_view id) {
  for (const v1::DossierComponent& component : dossier.components()) {
    if (component.id() == id) return &component;
  }
  return nullptr;
}

std::string ComponentStageName(v1::ComponentStage stage) {
  switch (stage) {
    case v1::COMPONENT_STAGE_RECEPTION: return "reception";
    case v1::COMPONENT_STAGE_SUPPLEMENT: return "supplement";
    case v1::COMPONENT_STAGE_RESULT: return "result";
    default: return "unspecified";
  }
}

}  // namespace onestop::core
