// Hostile input at the service edge: the real service in-process over a
// real SQLite file. Oversized messages, invalid UTF-8, deeply nested
// unknown fields and forged page tokens are refused with a precise code,
// write nothing, and leave the server serving.
#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/time/time.h"
#include "google/protobuf/unknown_field_set.h"
#include "onestop/v1/dossier_service.grpc.pb.h"
#include "server/config/config_loader.h"
#include "server/service/onestop_server.h"
#include "server/util/clock.h"
#include "storage/sqlite/sqlite_dossier_store.h"
#include "tests/testing/test_auth.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_config.h"

namespace onestop {
namespace {

using ::testing::HasSubstr;
using namespace onestop::v1;  // NOLINT

class HostileInputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto catalogue = config::LoadConfigText(testing::kTestConfig, "test.textproto");
    ASSERT_TRUE(catalogue.ok()) << catalogue.status();
    clock_ = std::make_unique<ControlledClock>(
        absl::FromCivil(absl::CivilMinute(2020, 1, 6, 8, 0), absl::FixedTimeZone(7 * 3600)),
        SystemClock::Get());
    storage::SqliteOptions store_options;
    store_options.path = dir_.File("onestop.db");
    auto store = storage::SqliteDossierStore::Open(store_options);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    service::ServerOptions options;
    options.listen = "127.0.0.1:0";
    testing::UseInsecureLoopback(options);
    service::ServerDependencies deps;
    deps.store = store_.get();
    deps.catalogue = *catalogue;
    deps.clock = clock_.get();
    auth_ = testing::MustOpenTestAuth(dir_.File("onestop.db"));
    deps.security_store = auth_->store();
    if (token_.empty()) token_ = testing::MustToken(auth_->AllRolesToken(*deps.catalogue, "tester"));
    auto server = service::OnestopServer::Start(options, deps);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    stub_ = DossierService::NewStub(
        testing::AuthorizedChannel(server_->address(), token_));
  }

  void TearDown() override {
    if (server_) server_->Shutdown(absl::Seconds(5));
  }

  SubmitDossierRequest Birth() {
    SubmitDossierRequest request;
    request.set_procedure_code(testing::kCommuneProcedure);
    request.set_receiving_agency_code(testing::kCommune);
    request.mutable_applicant()->set_full_name("Nguyễn Thị Hằng");
    request.set_channel(CHANNEL_DIRECT);
    request.add_documents()->set_name("Tờ khai đăng ký khai sinh");
    request.set_receive_now(true);
    return request;
  }

  grpc::Status Submit(const SubmitDossierRequest& request, Dossier* out = nullptr) {
    grpc::ClientContext context;
    SubmitDossierResponse response;
    grpc::Status status = stub_->SubmitDossier(&context, request, &response);
    if (out) *out = response.dossier();
    return status;
  }

  grpc::Status List(const ListDossiersRequest& request, ListDossiersResponse* response) {
    grpc::ClientContext context;
    return stub_->ListDossiers(&context, request, response);
  }

  // The server still works and nothing was written by the hostile calls.
  void ExpectServingAndRevision(int64_t revision) {
    auto last = store_->LastRevision();
    ASSERT_TRUE(last.ok()) << last.status();
    EXPECT_EQ(*last, revision);
    Dossier d;
    const grpc::Status status = Submit(Birth(), &d);
    EXPECT_TRUE(status.ok()) << status.error_message();
  }

  testing::TempDir dir_;
  std::unique_ptr<ControlledClock> clock_;
  std::unique_ptr<storage::SqliteDossierStore> store_;
  std::unique_ptr<testing::TestAuth> auth_;
  std::string token_;
  std::unique_ptr<service::OnestopServer> server_;
  std::unique_ptr<DossierService::Stub> stub_;
};

TEST_F(HostileInputTest, MessageOverTheFourMebibyteLimitIsResourceExhausted) {
  SubmitDossierRequest request = Birth();
  request.set_summary(std::string(5 << 20, 'a'));
  const grpc::Status status = Submit(request);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << status.error_message();
  ExpectServingAndRevision(0);
}

TEST_F(HostileInputTest, OversizedFieldUnderTheMessageLimitIsInvalidArgument) {
  SubmitDossierRequest request = Birth();
  request.set_summary(std::string(3 << 20, 'a'));
  const grpc::Status status = Submit(request);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("summary"));
  ExpectServingAndRevision(0);
}

// proto3 string fields must hold UTF-8. The C++ client library only logs
// ("String field ... contains invalid UTF-8 data when serializing") and
// sends the bytes; the server's generated parser refuses them, and gRPC
// 1.51's callback API answers any request that fails to parse with
// UNIMPLEMENTED and an empty message
// (grpcpp/impl/codegen/server_callback_handlers.h: "if deserialization or
// reactor creator failed, we need to fail the call"), before our handler
// runs. Our own UTF-8 validation (core/validation) is therefore reached
// only by clients whose serializer refuses nothing. This pins the
// behaviour down: if gRPC changes it, this test says so.
TEST_F(HostileInputTest, InvalidUtf8InAProtoStringFieldIsRefusedBeforeTheHandler) {
  SubmitDossierRequest request = Birth();
  request.mutable_applicant()->set_full_name("Nguy\xe1\xbb\x85n \xff\xfe H\xc3");
  const grpc::Status status = Submit(request);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNIMPLEMENTED) << status.error_message();
  EXPECT_EQ(status.error_message(), "");
  ExpectServingAndRevision(0);
}

TEST_F(HostileInputTest, DeeplyNestedUnknownGroupsAreRefused) {
  SubmitDossierRequest request = Birth();
  google::protobuf::UnknownFieldSet* fields =
      request.GetReflection()->MutableUnknownFields(&request);
  for (int depth = 0; depth < 5000; ++depth) fields = fields->AddGroup(99);
  const grpc::Status status = Submit(request);
  // Past protobuf's recursion limit (100) the parse fails: the same
  // UNIMPLEMENTED as above.
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNIMPLEMENTED) << status.error_message();
  ExpectServingAndRevision(0);
}

TEST_F(HostileInputTest, ShallowUnknownFieldsAreIgnored) {
  SubmitDossierRequest request = Birth();
  google::protobuf::UnknownFieldSet* fields =
      request.GetReflection()->MutableUnknownFields(&request);
  fields->AddLengthDelimited(99, std::string(1000, '\xff'));
  fields->AddVarint(100, 7);
  Dossier d;
  const grpc::Status status = Submit(request, &d);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(d.etag(), 1);
}

class PageTokenTest : public HostileInputTest {
 protected:
  void SetUp() override {
    HostileInputTest::SetUp();
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(Submit(Birth()).ok());
    ListDossiersRequest first;
    first.set_page_size(1);
    ListDossiersResponse response;
    ASSERT_TRUE(List(first, &response).ok());
    token_ = response.next_page_token();
    ASSERT_FALSE(token_.empty());
  }

  grpc::Status ListWithToken(const std::string& token, int page_size = 1,
                             const std::string& agency = "") {
    ListDossiersRequest request;
    request.set_page_size(page_size);
    request.set_agency_code(agency);
    request.set_page_token(token);
    ListDossiersResponse response;
    return List(request, &response);
  }

  void ExpectBadToken(const grpc::Status& status) {
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
    EXPECT_THAT(status.error_message(), HasSubstr("page_token"));
  }

  std::string token_;
};

TEST_F(PageTokenTest, GenuineTokenContinues) {
  EXPECT_TRUE(ListWithToken(token_).ok());
}

TEST_F(PageTokenTest, TokenFromAnotherQueryIsInvalidArgument) {
  ExpectBadToken(ListWithToken(token_, 1, testing::kCommune));
}

TEST_F(PageTokenTest, TamperedTokensAreInvalidArgument) {
  for (size_t i = 0; i < token_.size(); ++i) {
    std::string tampered = token_;
    tampered[i] = tampered[i] == 'A' ? 'B' : 'A';
    ExpectBadToken(ListWithToken(tampered));
  }
  ExpectBadToken(ListWithToken(token_.substr(0, token_.size() / 2)));
  ExpectBadToken(ListWithToken(token_ + "AAAA"));
}

TEST_F(PageTokenTest, GarbageTokensAreInvalidArgument) {
  ExpectBadToken(ListWithToken("not a token"));
  ExpectBadToken(ListWithToken(std::string("\x00\x01\x7f\xe2\x98\x83", 6)));
  ExpectBadToken(ListWithToken(std::string(100000, 'A')));
  // A well-formed token for a position that was never issued, with a wrong
  // checksum: base64("v1.999999.1.2").
  ExpectBadToken(ListWithToken("djEuOTk5OTk5LjEuMg"));
  ExpectServingAndRevision(3);
}

// Invalid UTF-8 in the token string never reaches DecodePageToken: see
// InvalidUtf8InAProtoStringFieldIsRefusedBeforeTheHandler.
TEST_F(PageTokenTest, InvalidUtf8TokenIsRefusedByTheParser) {
  EXPECT_EQ(ListWithToken(std::string("\x00\x01\xff", 3)).error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
}

}  // namespace
}  // namespace onestop
