#include "server/service/status_mapping.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace onestop::service
