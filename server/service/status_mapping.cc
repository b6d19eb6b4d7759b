#include "server/service/status_mapping.h"

#include <grpcpp/support/error_details.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/rpc/error_details.pb.h"
#include "server/util/error_info.h"
#include "server/util/log.h"

namespace onestop::service {
namespace {

constexpr absl::string_view kInternalMessage =
    "internal server error; the operator has been notified in the server log";

struct ViEntry {
  absl::string_view reason;
  absl::string_view message;
};

// Clerk-facing Vietnamese for each reason (docs/API_ERRORS.md repeats it).
// Messages attached with WithMessageVi take precedence.
constexpr ViEntry kVietnamese[] = {
    // Reasons of server/util/error_info.h.
    {kReasonFieldInvalid, "Thông tin nhập chưa hợp lệ; vui lòng kiểm tra lại."},
    {kReasonDossierNotFound, "Không tìm thấy hồ sơ có mã này."},
    {kReasonAgencyNotFound, "Không tìm thấy cơ quan có mã này trong danh mục."},
    {kReasonProcedureNotFound, "Không tìm thấy thủ tục hành chính có mã này trong danh mục."},
    {kReasonProcedureLevelMismatch,
     "Thủ tục hành chính này không được tiếp nhận tại cấp của cơ quan đã chọn."},
    {kReasonAgencyNotValidOnDay,
     "Cơ quan chưa hoặc không còn hoạt động vào ngày này nên không thể tiếp nhận hồ sơ."},
    {kReasonProcedureNotOfferedOnDay,
     "Thủ tục hành chính này không được áp dụng vào ngày này."},
    {kReasonIllegalTransition,
     "Không thể thực hiện thao tác này ở trạng thái hiện tại của hồ sơ."},
    {kReasonOnceOnlyRule,
     "Thao tác này chỉ được thực hiện một lần đối với hồ sơ và đã được thực hiện."},
    {kReasonStepOrderRule, "Chưa thể thực hiện thao tác này; cần hoàn thành bước trước."},
    {kReasonAgencyNotHolder,
     "Cơ quan này không đang giữ hồ sơ nên không thể thực hiện thao tác này."},
    {kReasonRescheduleTooLate,
     "Đã quá hạn lập phiếu xin lỗi và hẹn lại ngày trả kết quả (chậm nhất 01 ngày trước "
     "hạn trả)."},
    {kReasonCatalogueChanged,
     "Danh mục thủ tục hoặc cơ quan đã thay đổi nên không xử lý được hồ sơ; vui lòng báo "
     "quản trị hệ thống."},
    {kReasonRouteUnresolved,
     "Không xác định được cơ quan xử lý theo quy trình liên thông; vui lòng báo quản trị "
     "hệ thống."},
    {kReasonEtagMismatch,
     "Hồ sơ vừa được người khác cập nhật; vui lòng tải lại hồ sơ rồi thực hiện lại."},
    {kReasonRequestIdReused,
     "Mã yêu cầu (request_id) đã được dùng cho một yêu cầu khác; vui lòng dùng mã mới."},
    {kReasonPageTokenInvalid,
     "Mã trang không hợp lệ với bộ lọc này; vui lòng tải lại từ trang đầu."},
    {kReasonFiltersConflict,
     "Không thể lọc đồng thời hồ sơ quá hạn và hồ sơ sắp đến hạn; vui lòng chọn một."},
    {kReasonDatabaseBusy, "Cơ sở dữ liệu đang bận; vui lòng thử lại sau giây lát."},
    {kReasonDiskFull, "Máy chủ đã hết dung lượng lưu trữ; vui lòng báo quản trị hệ thống."},
    {kReasonServerBusy, "Hệ thống đang quá tải; vui lòng thử lại sau giây lát."},
    // Fallback reasons: the code's name.
    {"CANCELLED", "Yêu cầu đã bị hủy."},
    {"INVALID_ARGUMENT", "Thông tin nhập chưa hợp lệ; vui lòng kiểm tra lại."},
    {"DEADLINE_EXCEEDED",
     "Hết thời gian chờ máy chủ phản hồi; vui lòng thử lại (giữ nguyên mã yêu cầu)."},
    {"NOT_FOUND", "Không tìm thấy đối tượng được yêu cầu."},
    {"ALREADY_EXISTS", "Đối tượng này đã tồn tại."},
    {"PERMISSION_DENIED", "Bạn không có quyền thực hiện thao tác này."},
    {"RESOURCE_EXHAUSTED",
     "Máy chủ đã hết tài nguyên; vui lòng thử lại sau hoặc báo quản trị hệ thống."},
    {"FAILED_PRECONDITION", "Chưa đủ điều kiện để thực hiện thao tác này."},
    {"ABORTED", "Thao tác bị gián đoạn do xung đột; vui lòng tải lại rồi thực hiện lại."},
    {"OUT_OF_RANGE", "Giá trị nằm ngoài phạm vi cho phép."},
    {"UNIMPLEMENTED", "Chức năng này chưa được hỗ trợ."},
    {"INTERNAL",
     "Đã xảy ra lỗi hệ thống; sự cố đã được ghi vào nhật ký máy chủ để quản trị viên xử lý."},
    {"UNAVAILABLE", "Hệ thống tạm thời không phục vụ được; vui lòng thử lại sau giây lát."},
    {"DATA_LOSS", "Dữ liệu bị mất hoặc hỏng; vui lòng báo quản trị hệ thống."},
    {"UNAUTHENTICATED", "Chưa xác thực người dùng; vui lòng đăng nhập lại."},
};

// The clerk's message: the attached one, else the table's, naming the
// fields at fault when there are any.
std::string LocalizedText(const ErrorDetails& details, absl::StatusCode code) {
  if (!details.message_vi.empty()) return details.message_vi;
  absl::string_view text = VietnameseMessage(details.reason);
  if (text.empty()) text = VietnameseMessage(FallbackReason(code));
  if (details.field_violations.empty()) return std::string(text);
  std::vector<std::string> fields;
  for (const FieldViolation& v : details.field_violations) fields.push_back(v.field);
  return absl::StrCat(text, " (trường: ", absl::StrJoin(fields, ", "), ")");
}

template <typename Message>
void Pack(const Message& message, google::rpc::Status& out) {
  out.add_details()->PackFrom(message);
}

}  // namespace

grpc::StatusCode ToGrpcCode(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk: return grpc::StatusCode::OK;
    case absl::StatusCode::kCancelled: return grpc::StatusCode::CANCELLED;
    case absl::StatusCode::kUnknown: return grpc::StatusCode::UNKNOWN;
    case absl::StatusCode::kInvalidArgument: return grpc::StatusCode::INVALID_ARGUMENT;
    case absl::StatusCode::kDeadlineExceeded: return grpc::StatusCode::DEADLINE_EXCEEDED;
    case absl::StatusCode::kNotFound: return grpc::StatusCode::NOT_FOUND;
    case absl::StatusCode::kAlreadyExists: return grpc::StatusCode::ALREADY_EXISTS;
    case absl::StatusCode::kPermissionDenied: return grpc::StatusCode::PERMISSION_DENIED;
    case absl::StatusCode::kResourceExhausted: return grpc::StatusCode::RESOURCE_EXHAUSTED;
    case absl::StatusCode::kFailedPrecondition: return grpc::StatusCode::FAILED_PRECONDITION;
    case absl::StatusCode::kAborted: return grpc::StatusCode::ABORTED;
    case absl::StatusCode::kOutOfRange: return grpc::StatusCode::OUT_OF_RANGE;
    case absl::StatusCode::kUnimplemented: return grpc::StatusCode::UNIMPLEMENTED;
    case absl::StatusCode::kInternal: return grpc::StatusCode::INTERNAL;
    case absl::StatusCode::kUnavailable: return grpc::StatusCode::UNAVAILABLE;
    case absl::StatusCode::kDataLoss: return grpc::StatusCode::DATA_LOSS;
    case absl::StatusCode::kUnauthenticated: return grpc::StatusCode::UNAUTHENTICATED;
    default: return grpc::StatusCode::UNKNOWN;
  }
}

std::string FallbackReason(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk: return "";
    case absl::StatusCode::kUnknown: return "INTERNAL";
    default: break;
  }
  // absl::StatusCodeToString gives "INVALID_ARGUMENT", "NOT_FOUND", …
  std::string name = absl::StatusCodeToString(code);
  return name.empty() ? std::string("INTERNAL") : name;
}

absl::string_view VietnameseMessage(absl::string_view reason) {
  for (const ViEntry& entry : kVietnamese) {
    if (entry.reason == reason) return entry.message;
  }
  return "";
}

google::rpc::Status ToRpcStatus(const absl::Status& status) {
  google::rpc::Status out;
  if (status.ok()) return out;
  const grpc::StatusCode code = ToGrpcCode(status.code());
  const bool internal =
      code == grpc::StatusCode::UNKNOWN || code == grpc::StatusCode::INTERNAL;
  out.set_code(internal ? static_cast<int>(grpc::StatusCode::INTERNAL) : static_cast<int>(code));
  out.set_message(internal ? std::string(kInternalMessage) : std::string(status.message()));

  ErrorDetails details;
  if (internal) {
    details.reason = "INTERNAL";  // attached details would leak internals
  } else {
    details = GetErrorDetails(status);
    if (details.reason.empty()) details.reason = FallbackReason(status.code());
  }

  google::rpc::ErrorInfo info;
  info.set_reason(details.reason);
  info.set_domain(std::string(kErrorDomain));
  for (const auto& [key, value] : details.metadata) (*info.mutable_metadata())[key] = value;
  Pack(info, out);

  if (!details.field_violations.empty()) {
    google::rpc::BadRequest bad_request;
    for (const FieldViolation& v : details.field_violations) {
      google::rpc::BadRequest::FieldViolation* fv = bad_request.add_field_violations();
      fv->set_field(v.field);
      fv->set_description(v.description);
    }
    Pack(bad_request, out);
  }
  if (!details.precondition_violations.empty()) {
    google::rpc::PreconditionFailure failure;
    for (const PreconditionViolation& v : details.precondition_violations) {
      google::rpc::PreconditionFailure::Violation* pv = failure.add_violations();
      pv->set_type(v.type);
      pv->set_subject(v.subject);
      pv->set_description(v.description);
    }
    Pack(failure, out);
  }

  google::rpc::LocalizedMessage localized;
  localized.set_locale(std::string(kClerkLocale));
  localized.set_message(LocalizedText(details, internal ? absl::StatusCode::kInternal
                                                         : status.code()));
  Pack(localized, out);
  return out;
}

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  const grpc::StatusCode code = ToGrpcCode(status.code());
  if (code == grpc::StatusCode::UNKNOWN || code == grpc::StatusCode::INTERNAL) {
    // Internal detail stays in the log; the client gets a fixed text.
    LogError("internal error", {{"status", status.ToString()}});
  }
  grpc::Status out;
  // SetErrorDetails copies code and message from the google.rpc.Status and
  // fails only for a null target.
  grpc::SetErrorDetails(ToRpcStatus(status), &out);
  return out;
}

}  // namespace onestop::service
