// DocumentServiceImpl through in-process gRPC over one real SQLite file
// holding the dossiers, the tokens and audit log, and the blobs — assembled
// by hand (only the document service is registered). The only double is
// the clock.
#include "server/service/document_service.h"

#include <grpcpp/grpcpp.h>
#include <sqlite3.h>
#include <sys/resource.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include <google/protobuf/text_format.h>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "onestop/v1/document_service.grpc.pb.h"
#include "onestop/v1/security_service.pb.h"
#include "server/service/auth/access_guard.h"
#include "server/service/auth/authenticator.h"
#include "server/service/dossier_manager.h"
#include "server/service/executor.h"
#include "server/util/clock.h"
#include "storage/blobs/sha256.h"
#include "storage/blobs/sqlite_blob_store.h"
#include "storage/security/sqlite_security_store.h"
#include "storage/sqlite/sqlite_dossier_store.h"
#include "tests/testing/fault_injecting_dossier_store.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_config.h"

namespace onestop {
namespace {

using ::testing::HasSubstr;
using namespace onestop::v1;  // NOLINT

constexpr char kEmptySha256[] =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

std::string Bytes(size_t n, uint64_t seed) {
  std::string out(n, '\0');
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (size_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    out[i] = static_cast<char>(x);
  }
  return out;
}

int64_t MaxRssBytes() {
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<int64_t>(usage.ru_maxrss) * 1024;
}

// The shared test catalogue, with a component list on the commune
// procedure (the district one keeps none: any type goes).
std::shared_ptr<const core::Catalogue> TestCatalogue() {
  onestop::config::v1::Config config;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(testing::kTestConfig, &config));
  for (auto& procedure : *config.mutable_procedures()) {
    if (procedure.code() != testing::kCommuneProcedure) continue;
    auto add = [&](const char* code, const char* name, bool result) {
      ComponentType* type = procedure.add_components();
      type->set_code(code);
      type->set_name(name);
      type->set_result(result);
    };
    add("to_khai", "Tờ khai đăng ký khai sinh", false);
    add("giay_chung_sinh", "Giấy chứng sinh", false);
    add("giay_khai_sinh", "Giấy khai sinh", true);
  }
  auto built = core::Catalogue::Build(config);
  EXPECT_TRUE(std::holds_alternative<std::shared_ptr<const core::Catalogue>>(built));
  return std::get<std::shared_ptr<const core::Catalogue>>(built);
}

Principal MakePrincipal(const std::string& id, Role role, const std::string& agency) {
  Principal principal;
  principal.set_id(id);
  auto* grant = principal.add_grants();
  grant->set_role(role);
  grant->set_agency_code(agency);
  return principal;
}

// A file to upload: produced piece by piece so a 50 MB one is never held.
struct TestFile {
  int64_t size = 0;
  std::function<std::string(int64_t offset, size_t n)> bytes;
  static TestFile Of(std::string data) {
    auto shared = std::make_shared<std::string>(std::move(data));
    return {static_cast<int64_t>(shared->size()),
            [shared](int64_t offset, size_t n) { return shared->substr(offset, n); }};
  }
  static TestFile Generated(int64_t size) {
    return {size, [](int64_t offset, size_t n) { return Bytes(n, offset); }};
  }
  std::string Sha256(size_t piece = 1 << 20) const {
    storage::Sha256 hash;
    for (int64_t at = 0; at < size; at += piece) {
      hash.Update(bytes(at, std::min<int64_t>(piece, size - at)));
    }
    return hash.FinishHex();
  }
};

class DocumentServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dossiers = storage::SqliteDossierStore::Open(
        {.path = path_, .durability = storage::Durability::kNormal});
    ASSERT_TRUE(dossiers.ok()) << dossiers.status();
    dossiers_ = std::move(*dossiers);
    auto security = storage::SqliteSecurityStore::Open(
        {.path = path_, .durability = storage::SecurityDurability::kNormal});
    ASSERT_TRUE(security.ok()) << security.status();
    security_ = std::move(*security);
    auto blobs = storage::SqliteBlobStore::Open(
        {.path = path_, .durability = storage::BlobDurability::kFull});
    ASSERT_TRUE(blobs.ok()) << blobs.status();
    blobs_ = std::move(*blobs);
    faults_ = std::make_unique<testing::FaultInjectingDossierStore>(dossiers_.get());
    manager_ = std::make_unique<service::DossierManager>(faults_.get(), catalogue_, &clock_);
    authenticator_ = std::make_unique<service::auth::Authenticator>(
        security_.get(), &clock_, service::auth::AuthenticatorOptions{});
    guard_ = std::make_unique<service::auth::AccessGuard>(
        authenticator_.get(), security_.get(), [c = catalogue_] { return c; }, &clock_);
    executor_ = std::make_unique<service::Executor>(service::ExecutorOptions{.threads = 2});
    service::DocumentServiceOptions options;
    options.policy.max_size_bytes = 60 << 20;
    options.on_data_loss = [this] { data_losses_.fetch_add(1); };
    // Downloads authenticate again before every chunk (the default: every 5 s).
    options.download_recheck_interval = absl::ZeroDuration();
    service_ = std::make_unique<service::DocumentServiceImpl>(
        manager_.get(), blobs_.get(), guard_.get(), executor_.get(), options);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = DocumentService::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
    clerk_ = TokenFor(MakePrincipal("clerk.lienson", ROLE_CLERK, testing::kCommune));
    officer_ = TokenFor(MakePrincipal("officer.lienson", ROLE_OFFICER, testing::kCommune));
    supervisor_ = TokenFor(MakePrincipal("supervisor.huyen", ROLE_SUPERVISOR, testing::kDistrict));
    other_clerk_ = TokenFor(MakePrincipal("clerk.bongkrang", ROLE_CLERK, testing::kOtherCommune));
  }

  void TearDown() override { StopServer(); }

  // Shuts the server down (every call done) and drains the executor, so
  // whatever a cancelled call left to clean up has run.
  void StopServer() {
    if (server_ != nullptr) {
      server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
    }
    server_.reset();
    executor_.reset();
  }

  // A token for `principal`, valid for 8 hours: its secret and its id.
  storage::CreatedToken MintToken(const Principal& principal) {
    auto created = security_->CreateToken(
        {.principal = principal,
         .created = clock_.Now(),
         .expires = clock_.Now() + absl::Hours(8)});
    EXPECT_TRUE(created.ok()) << created.status();
    return created.ok() ? *std::move(created) : storage::CreatedToken{};
  }

  std::string TokenFor(const Principal& principal) { return MintToken(principal).secret; }

  std::unique_ptr<grpc::ClientContext> Context(const std::string& token) {
    auto context = std::make_unique<grpc::ClientContext>();
    context->AddMetadata("authorization", "Bearer " + token);
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(120));
    return context;
  }

  // A birth registration at the commune desk: NEW, or RECEIVED with
  // receive_now.
  Dossier Submit(bool receive_now = false, const char* procedure = testing::kCommuneProcedure) {
    SubmitDossierRequest request;
    request.set_procedure_code(procedure);
    request.set_receiving_agency_code(testing::kCommune);
    request.mutable_applicant()->set_full_name("Nguyễn Thị Hằng");
    request.mutable_applicant()->set_phone("0912345678");
    request.set_channel(CHANNEL_DIRECT);
    request.set_receive_now(receive_now);
    auto dossier =
        manager_->Submit(request, absl::StrCat("submit", ++submissions_), "clerk.lienson");
    EXPECT_TRUE(dossier.ok()) << dossier.status();
    return dossier.ok() ? *dossier : Dossier();
  }

  Dossier Act(const Dossier& dossier, ActionKind kind) {
    service::ActionCommand command;
    command.code = dossier.code();
    command.etag = dossier.etag();
    command.fingerprint = absl::StrCat("act", kind, dossier.etag());
    command.action.kind = kind;
    if (kind == ACTION_KIND_RECORD_DECISION) command.action.outcome = DECISION_OUTCOME_APPROVED;
    if (kind == ACTION_KIND_REQUEST_SUPPLEMENT) command.action.missing_items = {"Giấy chứng sinh"};
    auto acted = manager_->Act(command, "officer.lienson");
    EXPECT_TRUE(acted.ok()) << acted.status();
    return acted.ok() ? *acted : Dossier();
  }

  Dossier ResultReady() {
    Dossier d = Submit(/*receive_now=*/true);
    d = Act(d, ACTION_KIND_HAND_OVER);
    d = Act(d, ACTION_KIND_RECORD_DECISION);
    return Act(d, ACTION_KIND_MARK_RESULT_READY);
  }

  UploadComponentHeader Header(const Dossier& dossier, const TestFile& file,
                               const std::string& type = "to_khai") {
    UploadComponentHeader header;
    header.set_code(dossier.code());
    header.set_etag(dossier.etag());
    header.set_component_type(type);
    header.set_file_name("Tờ khai – Nguyễn Thị Hằng.pdf");
    header.set_mime_type("application/pdf");
    header.set_size_bytes(file.size);
    header.set_sha256(file.Sha256());
    return header;
  }

  // Sends the header, then the file in `piece`-byte chunks (the bytes may
  // be altered on the way by `tamper`), then half-closes.
  grpc::Status Upload(const std::string& token, const UploadComponentHeader& header,
                      const TestFile& file, UploadComponentResponse* response,
                      size_t piece = 1 << 20,
                      std::function<void(int64_t, std::string&)> tamper = nullptr) {
    auto context = Context(token);
    auto stream = stub_->UploadComponent(context.get(), response);
    UploadComponentRequest request;
    *request.mutable_header() = header;
    bool open = stream->Write(request);
    for (int64_t at = 0; open && at < file.size; at += piece) {
      std::string chunk = file.bytes(at, std::min<int64_t>(piece, file.size - at));
      if (tamper) tamper(at, chunk);
      request.set_chunk(std::move(chunk));
      open = stream->Write(request);
    }
    stream->WritesDone();
    return stream->Finish();
  }

  // Downloads a component: its record and bytes, and the final status.
  struct Downloaded {
    grpc::Status status;
    DossierComponent component;
    std::string sha256;
    int64_t size = 0;
    int messages = 0;
  };
  Downloaded Download(const std::string& token, const std::string& code, const std::string& id) {
    auto context = Context(token);
    DownloadComponentRequest request;
    request.set_code(code);
    request.set_component_id(id);
    auto stream = stub_->DownloadComponent(context.get(), request);
    Downloaded out;
    storage::Sha256 hash;
    DownloadComponentResponse response;
    while (stream->Read(&response)) {
      ++out.messages;
      if (response.has_component()) {
        out.component = response.component();
      } else {
        EXPECT_LE(response.chunk().size(), storage::kBlobChunkBytes);
        out.size += static_cast<int64_t>(response.chunk().size());
        hash.Update(response.chunk());
      }
    }
    out.status = stream->Finish();
    out.sha256 = hash.FinishHex();
    return out;
  }

  storage::BlobStats Stats() {
    auto stats = blobs_->Stats();
    EXPECT_TRUE(stats.ok()) << stats.status();
    return stats.ok() ? *stats : storage::BlobStats{};
  }

  void ExpectNothingStored() {
    const storage::BlobStats stats = Stats();
    EXPECT_EQ(stats.blobs, 0);
    EXPECT_EQ(stats.chunks, 0);
    EXPECT_EQ(stats.staged_uploads, 0);
    EXPECT_EQ(stats.claims, 0);
  }

  Dossier Reload(const Dossier& dossier) {
    auto got = manager_->Get(dossier.code());
    EXPECT_TRUE(got.ok()) << got.status();
    return got.ok() ? *got : Dossier();
  }

  testing::TempDir dir_;
  const std::string path_ = dir_.File("onestop.db");
  std::shared_ptr<const core::Catalogue> catalogue_ = TestCatalogue();
  ControlledClock clock_{absl::FromUnixSeconds(1578297600), SystemClock::Get()};  // 2020-01-06
  std::unique_ptr<storage::SqliteDossierStore> dossiers_;
  std::unique_ptr<storage::SqliteSecurityStore> security_;
  std::unique_ptr<storage::SqliteBlobStore> blobs_;
  // Between the manager and the real store; no faults unless a test adds them.
  std::unique_ptr<testing::FaultInjectingDossierStore> faults_;
  std::unique_ptr<service::DossierManager> manager_;
  std::unique_ptr<service::auth::Authenticator> authenticator_;
  std::unique_ptr<service::auth::AccessGuard> guard_;
  std::unique_ptr<service::Executor> executor_;
  std::unique_ptr<service::DocumentServiceImpl> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<DocumentService::Stub> stub_;
  std::atomic<int> data_losses_{0};
  int submissions_ = 0;
  std::string clerk_, officer_, supervisor_, other_clerk_;
};

TEST_F(DocumentServiceTest, FiftyMegabytesUpAndDownWithFlatMemory) {
  const Dossier dossier = Submit(/*receive_now=*/true);
  const TestFile file = TestFile::Generated(50'000'000);
  const UploadComponentHeader header = Header(dossier, file);
  const int64_t before = MaxRssBytes();
  UploadComponentResponse response;
  const grpc::Status status = Upload(clerk_, header, file, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.dossier().etag(), dossier.etag() + 1);
  EXPECT_EQ(response.dossier().status(), DOSSIER_STATUS_RECEIVED);
  ASSERT_EQ(response.dossier().components_size(), 1);
  EXPECT_EQ(response.component().id(), "1");
  EXPECT_EQ(response.component().size_bytes(), 50'000'000);
  EXPECT_EQ(response.component().sha256(), header.sha256());
  EXPECT_EQ(response.component().file_name(), "Tờ khai – Nguyễn Thị Hằng.pdf");
  EXPECT_EQ(response.component().attached_by(), "clerk.lienson");
  EXPECT_EQ(response.component().stage(), COMPONENT_STAGE_RECEPTION);
  EXPECT_EQ(response.dossier().applicant().phone(), "0912345678");  // clerks see it

  const Downloaded down = Download(supervisor_, dossier.code(), "1");
  ASSERT_TRUE(down.status.ok()) << down.status.error_message();
  EXPECT_EQ(down.component.sha256(), header.sha256());
  EXPECT_EQ(down.size, 50'000'000);
  EXPECT_EQ(down.sha256, header.sha256());
  // Server and client share this process: the peak grew by buffers and
  // gRPC's flow-control windows, not by the file.
  const int64_t growth = MaxRssBytes() - before;
  RecordProperty("peak_rss_growth_bytes", std::to_string(growth));
  EXPECT_LT(growth, 40 << 20) << "peak RSS grew by " << growth << " bytes";

  // Recorded like any action: history entry, stored component.
  const Dossier stored = Reload(dossier);
  ASSERT_EQ(stored.components_size(), 1);
  EXPECT_EQ(stored.history(stored.history_size() - 1).action(), ACTION_KIND_ATTACH_COMPONENT);
  EXPECT_EQ(Stats().blobs, 1);
  EXPECT_EQ(Stats().claims, 0);
}

TEST_F(DocumentServiceTest, WrongDeclaredHashOrCorruptedChunkIsRefusedAndNothingKept) {
  const Dossier dossier = Submit();
  const TestFile file = TestFile::Of(Bytes(3'000'000, 1));
  UploadComponentHeader header = Header(dossier, file);
  header.set_sha256(storage::Sha256::HexOf("another file"));
  UploadComponentResponse response;
  grpc::Status status = Upload(clerk_, header, file, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("but the header declared"));
  ExpectNothingStored();

  // The right hash, but one byte flipped in the second chunk on the way.
  status = Upload(clerk_, Header(dossier, file), file, &response, 1 << 20,
                  [](int64_t at, std::string& chunk) {
                    if (at == 1 << 20) chunk[100] ^= 0x40;
                  });
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("damaged on the way"));
  ExpectNothingStored();

  // A short file.
  header = Header(dossier, file);
  header.set_size_bytes(file.size + 1);
  status = Upload(clerk_, header, file, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("received 3000000 bytes but the header "
                                                "declared 3000001"));
  // More than declared stops at once.
  header.set_size_bytes(file.size - 1);
  status = Upload(clerk_, header, file, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("more bytes arrived than the header declared"));
  ExpectNothingStored();
  EXPECT_EQ(Reload(dossier).etag(), dossier.etag());
  EXPECT_EQ(Reload(dossier).components_size(), 0);
}

TEST_F(DocumentServiceTest, CancelledUploadLeavesNothing) {
  const Dossier dossier = Submit();
  const TestFile file = TestFile::Of(Bytes(4'000'000, 2));
  auto context = Context(clerk_);
  UploadComponentResponse response;
  auto stream = stub_->UploadComponent(context.get(), &response);
  UploadComponentRequest request;
  *request.mutable_header() = Header(dossier, file);
  ASSERT_TRUE(stream->Write(request));
  for (int i = 0; i < 2; ++i) {
    request.set_chunk(file.bytes(i << 20, 1 << 20));
    ASSERT_TRUE(stream->Write(request));
  }
  context->TryCancel();
  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::CANCELLED);
  StopServer();  // every call done, every cleanup run
  ExpectNothingStored();
  EXPECT_EQ(Reload(dossier).etag(), dossier.etag());
}

TEST_F(DocumentServiceTest, SameBytesInTwoDossiersAreStoredOnce) {
  const Dossier first = Submit();
  const Dossier second = Submit();
  const TestFile file = TestFile::Of(Bytes(700'000, 3));
  UploadComponentResponse a, b;
  ASSERT_TRUE(Upload(clerk_, Header(first, file), file, &a).ok());
  ASSERT_TRUE(Upload(clerk_, Header(second, file, "giay_chung_sinh"), file, &b, 4096).ok());
  EXPECT_EQ(a.component().sha256(), b.component().sha256());
  const storage::BlobStats stats = Stats();
  EXPECT_EQ(stats.blobs, 1);
  EXPECT_EQ(stats.stored_bytes, 700'000);
  EXPECT_EQ(stats.chunks, 3);
  for (const Dossier& d : {first, second}) {
    const Downloaded down = Download(clerk_, d.code(), "1");
    ASSERT_TRUE(down.status.ok()) << down.status.error_message();
    EXPECT_EQ(down.sha256, file.Sha256());
  }
}

TEST_F(DocumentServiceTest, NonUtf8FileNameIsRefusedBeforeAnyByteIsStored) {
  const Dossier dossier = Submit();
  const TestFile file = TestFile::Of("%PDF-1.4 tờ khai");
  UploadComponentHeader header = Header(dossier, file);
  header.set_file_name("t\xe1\xbb khai.pdf");  // a truncated "ờ"
  UploadComponentResponse response;
  const grpc::Status status = Upload(clerk_, header, file, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(),
            "header.file_name is not valid UTF-8 text (bad byte at offset 1)");
  ExpectNothingStored();
}

TEST_F(DocumentServiceTest, EmptyFileIsAComponentToo) {
  const Dossier dossier = Submit();
  const TestFile file = TestFile::Of("");
  UploadComponentResponse response;
  const grpc::Status status = Upload(clerk_, Header(dossier, file), file, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.component().sha256(), kEmptySha256);
  EXPECT_EQ(response.component().size_bytes(), 0);
  const Downloaded down = Download(clerk_, dossier.code(), "1");
  ASSERT_TRUE(down.status.ok()) << down.status.error_message();
  EXPECT_EQ(down.messages, 1);  // the record only
  EXPECT_EQ(down.size, 0);
}

TEST_F(DocumentServiceTest, CorruptedBlobIsDataLossNeverServedSilently) {
  const Dossier dossier = Submit();
  const TestFile file = TestFile::Of(Bytes(600'000, 4));
  UploadComponentResponse response;
  ASSERT_TRUE(Upload(clerk_, Header(dossier, file), file, &response).ok());
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    // Flip one byte of the last chunk, as a failing disk would.
    ASSERT_EQ(sqlite3_exec(db,
                           "UPDATE blob_chunks SET data = substr(data, 1, 10) || CASE WHEN "
                           "substr(data, 11, 1) = x'00' THEN x'01' ELSE x'00' END || "
                           "substr(data, 12) WHERE seq = 2",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  const Downloaded down = Download(clerk_, dossier.code(), "1");
  EXPECT_EQ(down.status.error_code(), grpc::StatusCode::DATA_LOSS);
  EXPECT_THAT(down.status.error_message(), HasSubstr("is damaged: its bytes now hash to"));
  EXPECT_EQ(data_losses_.load(), 1);
}

TEST_F(DocumentServiceTest, StatusDecidesWhatMayBeAttached) {
  const TestFile file = TestFile::Of("scan");
  UploadComponentResponse response;
  // Processing: neither kind.
  Dossier processing = Act(Submit(true), ACTION_KIND_HAND_OVER);
  grpc::Status status = Upload(clerk_, Header(processing, file), file, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(), HasSubstr("is PROCESSING (Đang xử lý)"));
  // Awaiting a requested supplement: the applicant's components.
  Dossier supplement = Act(processing, ACTION_KIND_REQUEST_SUPPLEMENT);
  status = Upload(clerk_, Header(supplement, file, "giay_chung_sinh"), file, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.component().stage(), COMPONENT_STAGE_SUPPLEMENT);
  // Result ready: the result document, by the officer; not by a
  // supervisor; not as an applicant's component.
  const Dossier ready = ResultReady();
  UploadComponentHeader header = Header(ready, file, "giay_khai_sinh");
  header.set_result_document(true);
  status = Upload(supervisor_, header, file, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  status = Upload(officer_, Header(ready, file), file, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED)
      << "an officer attaches result documents only";
  status = Upload(officer_, header, file, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.component().stage(), COMPONENT_STAGE_RESULT);
  // Result documents wait for the result.
  const Dossier fresh = Submit();
  header = Header(fresh, file, "giay_khai_sinh");
  header.set_result_document(true);
  status = Upload(clerk_, header, file, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(), HasSubstr("when the result is ready"));
}

TEST_F(DocumentServiceTest, HeaderIsCheckedBeforeAnyByte) {
  const Dossier dossier = Submit();
  const TestFile file = TestFile::Of("scan");
  UploadComponentResponse response;
  UploadComponentHeader header = Header(dossier, file, "ho_chieu");
  grpc::Status status = Upload(clerk_, header, file, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("has no component of type \"ho_chieu\"; known: "
                                                "to_khai, giay_chung_sinh"));
  header = Header(dossier, file);
  header.set_mime_type("application/x-msdownload");
  status = Upload(clerk_, header, file, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("are not accepted; allowed: application/pdf"));
  header = Header(dossier, file);
  header.set_size_bytes(61 << 20);
  status = Upload(clerk_, header, file, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("files up to 60 MiB are accepted"));
  header = Header(dossier, file);
  header.set_etag(dossier.etag() + 7);
  status = Upload(clerk_, header, file, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ABORTED);
  status = Upload(other_clerk_, Header(dossier, file), file, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  status = Upload("ost_not-a-token", Header(dossier, file), file, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  header = Header(dossier, file);
  header.set_code("000.31.01.H15-200106-9999");
  status = Upload(clerk_, header, file, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  // A chunk before the header; an oversized chunk.
  {
    auto context = Context(clerk_);
    auto stream = stub_->UploadComponent(context.get(), &response);
    UploadComponentRequest request;
    request.set_chunk("x");
    stream->Write(request);
    stream->WritesDone();
    status = stream->Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(status.error_message(), HasSubstr("send the header first"));
  }
  const TestFile big = TestFile::Of(Bytes((1 << 20) + 1, 5));
  status = Upload(clerk_, Header(dossier, big), big, &response, (1 << 20) + 1);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("at most 1048576 (1 MiB) per message"));
  ExpectNothingStored();
}

TEST_F(DocumentServiceTest, RetryWithTheSameRequestIdAttachesOnce) {
  const Dossier dossier = Submit();
  const TestFile file = TestFile::Of(Bytes(10'000, 6));
  UploadComponentHeader header = Header(dossier, file);
  header.set_request_id("upload-7f3a");
  UploadComponentResponse first, again;
  ASSERT_TRUE(Upload(clerk_, header, file, &first).ok());
  const grpc::Status status = Upload(clerk_, header, file, &again);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(again.dossier().etag(), first.dossier().etag());
  EXPECT_EQ(again.component().id(), "1");
  EXPECT_EQ(Reload(dossier).components_size(), 1);
  EXPECT_EQ(Stats().blobs, 1);
  EXPECT_EQ(Stats().claims, 0);
}

// The attachment's write committed but its answer was lost (PostgreSQL's
// COMMIT losing its connection answers UNAVAILABLE, "may have committed"):
// the blob must stay, or the dossier lists a document whose bytes were
// deleted. A write refused before it happened still frees its blob.
TEST_F(DocumentServiceTest, AnAttachmentWhoseAnswerWasLostKeepsItsBytes) {
  const Dossier dossier = Submit();
  const TestFile file = TestFile::Of(Bytes(20'000, 8));
  faults_->FailNext(testing::StoreMethod::kUpdate, 1, testing::IoError(),
                    testing::FaultTiming::kAfterForwarding);
  UploadComponentResponse response;
  grpc::Status status = Upload(clerk_, Header(dossier, file), file, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  const Dossier attached = Reload(dossier);
  ASSERT_EQ(attached.components_size(), 1);
  EXPECT_EQ(Stats().blobs, 1);
  EXPECT_EQ(Stats().claims, 0);
  const Downloaded down = Download(clerk_, attached.code(), attached.components(0).id());
  ASSERT_TRUE(down.status.ok()) << down.status.error_message();
  EXPECT_EQ(down.size, file.size);
  EXPECT_EQ(down.sha256, storage::Sha256::HexOf(file.bytes(0, file.size)));
  EXPECT_EQ(data_losses_.load(), 0);

  const TestFile refused = TestFile::Of(Bytes(30'000, 9));
  faults_->FailNext(testing::StoreMethod::kUpdate, 1, testing::BusyError());
  status = Upload(clerk_, Header(attached, refused), refused, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  EXPECT_EQ(Reload(dossier).components_size(), 1);
  EXPECT_EQ(Stats().blobs, 2);  // kept too: UNAVAILABLE cannot tell the two apart

  faults_->FailNext(testing::StoreMethod::kUpdate, 1,
                    absl::AbortedError("dossier was changed by someone else"));
  const TestFile stale = TestFile::Of(Bytes(40'000, 10));
  status = Upload(clerk_, Header(attached, stale), stale, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ABORTED) << status.error_message();
  EXPECT_EQ(Stats().blobs, 2);  // a refusal frees its blob
  EXPECT_EQ(Stats().claims, 0);
}

TEST_F(DocumentServiceTest, TokenRevokedDuringAnUploadStoresNothing) {
  const Dossier dossier = Submit();
  const TestFile file = TestFile::Of(Bytes(3'000'000, 11));
  const storage::CreatedToken created =
      MintToken(MakePrincipal("clerk.revoked", ROLE_CLERK, testing::kCommune));
  ASSERT_FALSE(created.secret.empty());
  auto context = Context(created.secret);
  UploadComponentResponse response;
  auto stream = stub_->UploadComponent(context.get(), &response);
  UploadComponentRequest request;
  *request.mutable_header() = Header(dossier, file);
  ASSERT_TRUE(stream->Write(request));
  request.set_chunk(file.bytes(0, 1 << 20));
  ASSERT_TRUE(stream->Write(request));
  // The header was authenticated once the upload is staged.
  const absl::Time give_up = absl::Now() + absl::Seconds(30);
  while (Stats().staged_uploads == 0 && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(2));
  }
  ASSERT_EQ(Stats().staged_uploads, 1);
  auto audit_head = security_->ListAudit({.limit = 1000});
  ASSERT_TRUE(audit_head.ok()) << audit_head.status();
  ASSERT_TRUE(security_->RevokeToken(created.info.id(), clock_.Now()).ok());
  for (int64_t at = 1 << 20; at < file.size; at += 1 << 20) {
    request.set_chunk(file.bytes(at, std::min<int64_t>(1 << 20, file.size - at)));
    if (!stream->Write(request)) break;
  }
  stream->WritesDone();
  const grpc::Status status = stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED) << status.error_message();
  StopServer();
  ExpectNothingStored();
  EXPECT_EQ(Reload(dossier).etag(), dossier.etag());
  // One audit record for the refusal, without a principal like every
  // UNAUTHENTICATED.
  auto audit = security_->ListAudit({.limit = 1000});
  ASSERT_TRUE(audit.ok()) << audit.status();
  ASSERT_EQ(audit->records.size(), audit_head->records.size() + 1);
  const AuditRecord& refusal = audit->records.back();
  EXPECT_EQ(refusal.rpc(), "UploadComponent");
  EXPECT_EQ(refusal.principal_id(), "");
  EXPECT_EQ(refusal.dossier_code(), dossier.code());
  EXPECT_EQ(refusal.result_code(), static_cast<int>(grpc::StatusCode::UNAUTHENTICATED));
}

TEST_F(DocumentServiceTest, TokenRevokedDuringADownloadEndsIt) {
  const Dossier dossier = Submit();
  const TestFile file = TestFile::Of(Bytes(24'000'000, 12));
  UploadComponentResponse uploaded;
  ASSERT_TRUE(Upload(clerk_, Header(dossier, file), file, &uploaded).ok());
  const storage::CreatedToken created =
      MintToken(MakePrincipal("clerk.reader", ROLE_CLERK, testing::kCommune));
  ASSERT_FALSE(created.secret.empty());
  auto context = Context(created.secret);
  DownloadComponentRequest request;
  request.set_code(dossier.code());
  request.set_component_id(uploaded.component().id());
  auto stream = stub_->DownloadComponent(context.get(), request);
  DownloadComponentResponse response;
  ASSERT_TRUE(stream->Read(&response));
  ASSERT_TRUE(response.has_component());
  ASSERT_TRUE(security_->RevokeToken(created.info.id(), clock_.Now()).ok());
  int64_t received = 0;
  while (stream->Read(&response)) received += static_cast<int64_t>(response.chunk().size());
  const grpc::Status status = stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED) << status.error_message();
  // What flow control let through before the check, not the file.
  EXPECT_LT(received, file.size);
}

TEST_F(DocumentServiceTest, DownloadNeedsAKnownComponentAndPermission) {
  const Dossier dossier = Submit();
  EXPECT_EQ(Download(clerk_, dossier.code(), "1").status.error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Download(other_clerk_, dossier.code(), "1").status.error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Download(clerk_, dossier.code(), "").status.error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

}  // namespace
}  // namespace onestop
