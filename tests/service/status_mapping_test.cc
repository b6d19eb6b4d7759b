#include "server/service/status_mapping.h"

#include <grpcpp/support/error_details.h>

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "server/util/error_info.h"

namespace onestop::service {
namespace {

TEST(StatusMappingTest, EveryCodeKeepsItsMeaning) {
  // absl and gRPC both mirror google.rpc.Code: 0..16 map to the same number.
  for (int code = 0; code <= 16; ++code) {
    EXPECT_EQ(static_cast<int>(ToGrpcCode(static_cast<absl::StatusCode>(code))), code)
        << "code " << code;
  }
}

TEST(StatusMappingTest, MessagesPassThroughExceptInternalOnes) {
  const grpc::Status aborted = ToGrpcStatus(absl::AbortedError("dossier X was changed"));
  EXPECT_EQ(aborted.error_code(), grpc::StatusCode::ABORTED);
  EXPECT_EQ(aborted.error_message(), "dossier X was changed");

  const grpc::Status internal = ToGrpcStatus(absl::InternalError("sqlite: table dossiers row 7"));
  EXPECT_EQ(internal.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_EQ(internal.error_message().find("sqlite"), std::string::npos);

  const grpc::Status unknown = ToGrpcStatus(absl::UnknownError("raw text"));
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
}


// The details ToGrpcStatus puts in the binary details, unpacked.
struct Unpacked {
  google::rpc::Status rpc;
  std::vector<std::string> types;  // type names in order
  google::rpc::ErrorInfo info;
  google::rpc::BadRequest bad_request;
  google::rpc::PreconditionFailure precondition;
  google::rpc::LocalizedMessage localized;
};

Unpacked Unpack(const grpc::Status& status) {
  Unpacked out;
  EXPECT_TRUE(grpc::ExtractErrorDetails(status, &out.rpc).ok());
  for (const google::protobuf::Any& any : out.rpc.details()) {
    out.types.push_back(any.type_url().substr(any.type_url().rfind('/') + 1));
    if (any.Is<google::rpc::ErrorInfo>()) any.UnpackTo(&out.info);
    if (any.Is<google::rpc::BadRequest>()) any.UnpackTo(&out.bad_request);
    if (any.Is<google::rpc::PreconditionFailure>()) any.UnpackTo(&out.precondition);
    if (any.Is<google::rpc::LocalizedMessage>()) any.UnpackTo(&out.localized);
  }
  return out;
}

TEST(StatusMappingTest, EveryNonOkCodeCarriesErrorInfoAndVietnamese) {
  for (int code = 1; code <= 16; ++code) {
    const absl::Status status(static_cast<absl::StatusCode>(code), "something failed");
    const grpc::Status mapped = ToGrpcStatus(status);
    const Unpacked u = Unpack(mapped);
    EXPECT_EQ(u.rpc.code(), static_cast<int>(mapped.error_code())) << code;
    EXPECT_EQ(u.rpc.message(), mapped.error_message()) << code;
    ASSERT_EQ(u.types.size(), 2u) << code;
    EXPECT_EQ(u.types[0], "google.rpc.ErrorInfo");
    EXPECT_EQ(u.types[1], "google.rpc.LocalizedMessage");
    EXPECT_EQ(u.info.reason(), FallbackReason(static_cast<absl::StatusCode>(code))) << code;
    EXPECT_EQ(u.info.domain(), "onestop.gov.vn");
    EXPECT_EQ(u.localized.locale(), "vi-VN");
    EXPECT_EQ(u.localized.message(),
              VietnameseMessage(FallbackReason(static_cast<absl::StatusCode>(code))));
    EXPECT_FALSE(u.localized.message().empty()) << code;
  }
  EXPECT_EQ(FallbackReason(absl::StatusCode::kNotFound), "NOT_FOUND");
  EXPECT_EQ(FallbackReason(absl::StatusCode::kUnknown), "INTERNAL");
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).error_details().empty());
}

TEST(StatusMappingTest, EveryReasonHasAVietnameseMessage) {
  for (absl::string_view reason : kAllReasons) {
    EXPECT_FALSE(VietnameseMessage(reason).empty()) << reason;
  }
  EXPECT_TRUE(VietnameseMessage("NO_SUCH_REASON").empty());
}

TEST(StatusMappingTest, FieldViolationsBecomeBadRequest) {
  const absl::Status status =
      InvalidFieldError("applicant.full_name", "applicant.full_name is required");
  const grpc::Status mapped = ToGrpcStatus(status);
  EXPECT_EQ(mapped.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(mapped.error_message(), "applicant.full_name is required");
  const Unpacked u = Unpack(mapped);
  ASSERT_EQ(u.types.size(), 3u);
  EXPECT_EQ(u.types[1], "google.rpc.BadRequest");
  EXPECT_EQ(u.info.reason(), "FIELD_INVALID");
  ASSERT_EQ(u.bad_request.field_violations_size(), 1);
  EXPECT_EQ(u.bad_request.field_violations(0).field(), "applicant.full_name");
  EXPECT_EQ(u.bad_request.field_violations(0).description(), "applicant.full_name is required");
  // The table's text, naming the field.
  EXPECT_THAT(u.localized.message(), ::testing::HasSubstr("Thông tin nhập chưa hợp lệ"));
  EXPECT_THAT(u.localized.message(), ::testing::HasSubstr("applicant.full_name"));
}

TEST(StatusMappingTest, PreconditionsMetadataAndAttachedVietnamese) {
  absl::Status status = PreconditionError(kReasonIllegalTransition, kPreconditionDossierStatus,
                                          "dossier/H-1", "cannot hand_over: dossier H-1 is NEW");
  status = WithMetadata(status, "dossier_code", "H-1");
  status = WithMessageVi(status, "Hồ sơ H-1 đang ở trạng thái “Mới đăng ký”.");
  const Unpacked u = Unpack(ToGrpcStatus(status));
  EXPECT_EQ(u.rpc.code(), static_cast<int>(grpc::StatusCode::FAILED_PRECONDITION));
  ASSERT_EQ(u.types.size(), 3u);
  EXPECT_EQ(u.types[1], "google.rpc.PreconditionFailure");
  EXPECT_EQ(u.info.reason(), "ILLEGAL_TRANSITION");
  EXPECT_EQ(u.info.metadata().at("dossier_code"), "H-1");
  ASSERT_EQ(u.precondition.violations_size(), 1);
  EXPECT_EQ(u.precondition.violations(0).type(), "DOSSIER_STATUS");
  EXPECT_EQ(u.precondition.violations(0).subject(), "dossier/H-1");
  EXPECT_EQ(u.localized.message(), "Hồ sơ H-1 đang ở trạng thái “Mới đăng ký”.");
}

TEST(StatusMappingTest, InternalDropsAttachedDetails) {
  absl::Status status = absl::InternalError("sqlite: row 7 of dossiers is corrupt");
  status = WithFieldViolation(WithReason(status, kReasonDatabaseBusy), "secret_field", "row 7");
  status = WithMessageVi(status, "chi tiết nội bộ");
  const grpc::Status mapped = ToGrpcStatus(status);
  EXPECT_EQ(mapped.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_EQ(mapped.error_details().find("row 7"), std::string::npos);
  EXPECT_EQ(mapped.error_details().find("sqlite"), std::string::npos);
  const Unpacked u = Unpack(mapped);
  ASSERT_EQ(u.types.size(), 2u);
  EXPECT_EQ(u.info.reason(), "INTERNAL");
  EXPECT_EQ(u.localized.message(), VietnameseMessage("INTERNAL"));
}

TEST(ErrorInfoTest, DetailsRoundTripThroughThePayload) {
  absl::Status status = absl::AbortedError("stale");
  EXPECT_EQ(ErrorReason(status), "");
  status = WithDefaultReason(status, kReasonEtagMismatch);
  status = WithDefaultReason(status, "IGNORED");
  status = WithMetadata(status, "k", "v\nwith:colon");
  status = WithFieldViolation(status, "a.b[0]", "12:34 line\nbreak");
  status = WithPreconditionViolation(status, "T", "dossier/X", "");
  status = WithMessageVi(status, "Tiếng Việt");
  const ErrorDetails d = GetErrorDetails(status);
  EXPECT_EQ(d.reason, "ETAG_MISMATCH");
  ASSERT_EQ(d.metadata.size(), 1u);
  EXPECT_EQ(d.metadata[0].second, "v\nwith:colon");
  ASSERT_EQ(d.field_violations.size(), 1u);
  EXPECT_EQ(d.field_violations[0], (FieldViolation{"a.b[0]", "12:34 line\nbreak"}));
  ASSERT_EQ(d.precondition_violations.size(), 1u);
  EXPECT_EQ(d.precondition_violations[0], (PreconditionViolation{"T", "dossier/X", ""}));
  EXPECT_EQ(d.message_vi, "Tiếng Việt");
  // Code and message are untouched; a later WithReason replaces.
  EXPECT_EQ(status.code(), absl::StatusCode::kAborted);
  EXPECT_EQ(status.message(), "stale");
  EXPECT_EQ(ErrorReason(WithReason(status, kReasonDatabaseBusy)), "DATABASE_BUSY");
  // OK stays OK and carries nothing.
  EXPECT_TRUE(WithReason(absl::OkStatus(), kReasonDiskFull).ok());
  EXPECT_EQ(ErrorReason(WithReason(absl::OkStatus(), kReasonDiskFull)), "");
}

TEST(ErrorInfoTest, MalformedPayloadReadsAsNoDetails) {
  absl::Status status = absl::InvalidArgumentError("x");
  status.SetPayload("type.onestop.gov.vn/onestop.ErrorDetails", absl::Cord("99:short"));
  EXPECT_EQ(ErrorReason(status), "");
  EXPECT_TRUE(GetErrorDetails(status).field_violations.empty());
}

}  // namespace
}  // namespace onestop::service
