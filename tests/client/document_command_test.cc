// Runs `attach`, `fetch` and `show` (parsed by CLI11 as main does) against a
// fake DocumentService and DossierService in the same process, on real temp
// files; SHA-256 values are computed here with OpenSSL's one-shot EVP_Digest,
// independently of the client's incremental hasher.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <openssl/evp.h>

#include "CLI/CLI.hpp"
#include "absl/strings/str_format.h"
#include "client/commands/command_context.h"
#include "client/commands/commands.h"
#include "client/commands/transfer.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "onestop/v1/document_service.grpc.pb.h"
#include "onestop/v1/dossier_service.grpc.pb.h"
#include "tests/testing/temp_dir.h"

namespace onestop::client {
namespace {

using ::testing::AllOf;
using ::testing::Each;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Le;
using ::testing::MatchesRegex;
using ::testing::Not;

constexpr int64_t kMiB = 1 << 20;
// 2020-01-06 08:00 in Asia/Ho_Chi_Minh.
constexpr int64_t kMondayMorning = 1578272400;
constexpr char kEmptySha256[] =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

std::string Sha256Hex(const std::string& data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EXPECT_EQ(EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(),
                       nullptr),
            1);
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) absl::StrAppendFormat(&hex, "%02x", digest[i]);
  return hex;
}

std::string RandomBytes(size_t size, uint32_t seed) {
  std::mt19937 random(seed);
  std::string bytes(size, '\0');
  for (char& c : bytes) c = static_cast<char>(random() & 0xFF);
  return bytes;
}

void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  ASSERT_TRUE(out.good()) << path;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

bool Exists(const std::string& path) { return std::filesystem::exists(path); }

// Whether `s` is well-formed UTF-8 (no overlong or surrogate checks: enough
// for the fake to refuse what the real daemon refuses).
bool IsUtf8(const std::string& s) {
  for (size_t i = 0; i < s.size();) {
    const auto lead = static_cast<unsigned char>(s[i]);
    const size_t length = lead < 0x80 ? 1 : (lead >> 5) == 0x6 ? 2 : (lead >> 4) == 0xE ? 3
                                        : (lead >> 3) == 0x1E  ? 4 : 0;
    if (length == 0 || i + length > s.size()) return false;
    for (size_t k = 1; k < length; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 0x2) return false;
    }
    i += length;
  }
  return true;
}

class FakeDossierService final : public v1::DossierService::Service {
 public:
  grpc::Status GetDossier(grpc::ServerContext*, const v1::GetDossierRequest* request,
                          v1::GetDossierResponse* response) override {
    ++get_calls;
    if (request->code() != dossier.code()) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "no dossier " + request->code());
    }
    *response->mutable_dossier() = dossier;
    return grpc::Status::OK;
  }
  v1::Dossier dossier;
  int get_calls = 0;
};

class FakeDocumentService final : public v1::DocumentService::Service {
 public:
  grpc::Status UploadComponent(grpc::ServerContext* context,
                               grpc::ServerReader<v1::UploadComponentRequest>* reader,
                               v1::UploadComponentResponse* response) override {
    ++upload_calls;
    v1::UploadComponentRequest message;
    int messages = 0;
    while (reader->Read(&message)) {
      if (messages++ == 0) {
        if (!message.has_header()) {
          return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "header first");
        }
        header = message.header();
        continue;
      }
      if (message.part_case() != v1::UploadComponentRequest::kChunk) {
        return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "repeated header");
      }
      chunk_sizes.push_back(message.chunk().size());
      received += message.chunk();
    }
    if (!upload_error.ok()) return upload_error;
    // Like the daemon: a file name must be UTF-8 (and DossierComponent's
    // file_name is a proto string, which could not carry anything else).
    if (!IsUtf8(header.file_name())) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "file_name: invalid UTF-8");
    }
    v1::DossierComponent& c = *response->mutable_component();
    c.set_id("3");
    c.set_component_type(header.component_type());
    c.set_file_name(header.file_name());
    c.set_mime_type(header.mime_type());
    c.set_size_bytes(static_cast<int64_t>(received.size()));
    c.set_sha256(Sha256Hex(received));
    c.set_stage(header.result_document() ? v1::COMPONENT_STAGE_RESULT
                                         : v1::COMPONENT_STAGE_RECEPTION);
    response->mutable_dossier()->set_code(header.code());
    response->mutable_dossier()->set_etag(header.etag() + 1);
    return grpc::Status::OK;
  }

  grpc::Status DownloadComponent(grpc::ServerContext* context,
                                 const v1::DownloadComponentRequest* request,
                                 grpc::ServerWriter<v1::DownloadComponentResponse>* writer) override {
    last_download = *request;
    v1::DownloadComponentResponse message;
    *message.mutable_component() = download_record;
    if (!writer->Write(message)) return grpc::Status::CANCELLED;
    // The server's chunk size (256 KiB); a failure comes after `fail_after`.
    constexpr size_t kChunk = 256 * 1024;
    for (size_t at = 0; at < download_bytes.size() && at < fail_after; at += kChunk) {
      message.set_chunk(download_bytes.substr(at, kChunk));
      if (!writer->Write(message)) return grpc::Status::CANCELLED;
    }
    if (stall) {
      while (!context->IsCancelled()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
      return grpc::Status::CANCELLED;
    }
    return download_status;
  }

  // Upload.
  int upload_calls = 0;
  grpc::Status upload_error = grpc::Status::OK;
  v1::UploadComponentHeader header;
  std::vector<size_t> chunk_sizes;
  std::string received;
  // Download.
  v1::DownloadComponentRequest last_download;
  v1::DossierComponent download_record;
  std::string download_bytes;
  size_t fail_after = std::string::npos;
  bool stall = false;
  grpc::Status download_status = grpc::Status::OK;
};

class DocumentCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dossiers_.dossier.set_code("X-1");
    dossiers_.dossier.set_etag(7);
    grpc::ServerBuilder builder;
    builder.RegisterService(&dossiers_);
    builder.RegisterService(&documents_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
  }
  void TearDown() override { server_->Shutdown(); }

  // Parses `args` (one element per argument, so file names may hold any
  // byte) like main and runs the selected command.
  absl::Status Run(std::vector<std::string> args) {
    CLI::App app("test", "onestopctl");
    app.fallthrough();
    CommandRegistry registry;
    RegisterShow(app, registry);
    RegisterDocuments(app, registry);
    std::reverse(args.begin(), args.end());  // CLI11 parses a reversed vector
    app.parse(args);
    const Action* action = registry.Selected();
    if (action == nullptr) return absl::InternalError("no command selected");
    CommandContext context(options_, server_->InProcessChannel(grpc::ChannelArguments()), out_,
                           err_);
    context.set_err_is_terminal(terminal_);
    return (*action)(context);
  }

  // Publishes `bytes` as component 2 of X-1 with a matching record.
  void Publish(const std::string& bytes) {
    documents_.download_bytes = bytes;
    v1::DossierComponent& record = documents_.download_record;
    record.set_id("2");
    record.set_component_type("to_khai");
    record.set_file_name("to-khai.pdf");
    record.set_mime_type("application/pdf");
    record.set_size_bytes(static_cast<int64_t>(bytes.size()));
    record.set_sha256(Sha256Hex(bytes));
  }

  GlobalOptions options_ = [] {
    GlobalOptions options;
    options.server = "in-process";
    return options;
  }();
  bool terminal_ = false;
  FakeDossierService dossiers_;
  FakeDocumentService documents_;
  std::unique_ptr<grpc::Server> server_;
  std::ostringstream out_, err_;
  testing::TempDir dir_;
};

// ---- helpers -----------------------------------------------------------------

TEST(TransferTest, Sha256MatchesKnownVectorsAcrossUpdates) {
  Sha256 abc;
  abc.Update("a");
  abc.Update("");
  abc.Update("bc");
  EXPECT_EQ(*abc.Finish(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  Sha256 empty;
  EXPECT_EQ(*empty.Finish(), kEmptySha256);
}

TEST(TransferTest, GuessesMimeTypesFromTheExtensionOnly) {
  EXPECT_EQ(GuessMimeType("to-khai.pdf"), "application/pdf");
  EXPECT_EQ(GuessMimeType("SCAN.PDF"), "application/pdf");
  EXPECT_EQ(GuessMimeType("a.jpg"), "image/jpeg");
  EXPECT_EQ(GuessMimeType("a.JPEG"), "image/jpeg");
  EXPECT_EQ(GuessMimeType("a.png"), "image/png");
  EXPECT_EQ(GuessMimeType("a.tif"), "image/tiff");
  EXPECT_EQ(GuessMimeType("a.tiff"), "image/tiff");
  EXPECT_EQ(GuessMimeType("a.docx"), std::nullopt);
  EXPECT_EQ(GuessMimeType("pdf"), std::nullopt);
  EXPECT_EQ(GuessMimeType("a.pdf.zip"), std::nullopt);
  EXPECT_EQ(BaseName("dir/sub/scan.pdf"), "scan.pdf");
  EXPECT_EQ(BaseName("scan.pdf"), "scan.pdf");
}

// ---- attach ------------------------------------------------------------------

TEST_F(DocumentCommandTest, AttachSendsSizeHashGuessedMimeTypeAndTheEtagItRead) {
  const std::string content = RandomBytes(1000, 1);
  const std::string path = dir_.File("Scan Tờ khai.PDF");
  WriteFile(path, content);
  options_.token = "ost_desk";
  ASSERT_TRUE(Run({"attach", "X-1", "--type", "to_khai", path, "--note", "bản gốc"}).ok())
      << err_.str();
  const v1::UploadComponentHeader& h = documents_.header;
  EXPECT_EQ(h.code(), "X-1");
  EXPECT_EQ(h.etag(), 7);
  EXPECT_EQ(dossiers_.get_calls, 1);
  EXPECT_EQ(h.component_type(), "to_khai");
  EXPECT_EQ(h.file_name(), "Scan Tờ khai.PDF");
  EXPECT_EQ(h.mime_type(), "application/pdf");
  EXPECT_EQ(h.size_bytes(), 1000);
  EXPECT_EQ(h.sha256(), Sha256Hex(content));
  EXPECT_FALSE(h.result_document());
  EXPECT_EQ(h.note(), "bản gốc");
  EXPECT_THAT(h.request_id(), MatchesRegex("[0-9a-f]{32}"));
  EXPECT_EQ(documents_.received, content);

  const std::string out = out_.str();
  EXPECT_THAT(out, HasSubstr("ID  TYPE     FILE NAME         SIZE"));
  EXPECT_THAT(out, HasSubstr("3   to_khai  Scan Tờ khai.PDF  1000 (1000 B)  " +
                             Sha256Hex(content) + "  reception"));
  EXPECT_THAT(out, HasSubstr("Dossier etag: 8"));
  EXPECT_EQ(err_.str(), "");  // not a terminal: no progress line
}

TEST_F(DocumentCommandTest, AttachWithEtagAndMimeDoesNotReadTheDossier) {
  const std::string path = dir_.File("ban-ve.dwg");
  WriteFile(path, "drawing");
  ASSERT_TRUE(Run({"attach", "X-1", "--type", "giay_phep", path, "--etag", "3", "--request-id",
                   "r-1", "--mime", "Image/VND.DWG", "--result"})
                  .ok());
  EXPECT_EQ(dossiers_.get_calls, 0);
  EXPECT_EQ(documents_.header.etag(), 3);
  EXPECT_EQ(documents_.header.request_id(), "r-1");
  EXPECT_EQ(documents_.header.mime_type(), "image/vnd.dwg");
  EXPECT_TRUE(documents_.header.result_document());
  EXPECT_THAT(out_.str(), HasSubstr("result"));
}

TEST_F(DocumentCommandTest, AttachGuessesJpegAndTiff) {
  const std::string jpeg = dir_.File("cccd.JPEG");
  const std::string tiff = dir_.File("so-do.tif");
  WriteFile(jpeg, "j");
  WriteFile(tiff, "t");
  ASSERT_TRUE(Run({"attach", "X-1", "--type", "ban_sao_cccd", jpeg}).ok());
  EXPECT_EQ(documents_.header.mime_type(), "image/jpeg");
  ASSERT_TRUE(Run({"attach", "X-1", "--type", "so_do", tiff}).ok());
  EXPECT_EQ(documents_.header.mime_type(), "image/tiff");
}

TEST_F(DocumentCommandTest, AttachWithoutAKnownExtensionNeedsMimeBeforeAnyCall) {
  const std::string path = dir_.File("notes.docx");
  WriteFile(path, "x");
  const absl::Status status = Run({"attach", "X-1", "--type", "to_khai", path});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("--mime"));
  EXPECT_EQ(dossiers_.get_calls, 0);
  EXPECT_EQ(documents_.upload_calls, 0);
}

TEST_F(DocumentCommandTest, AttachOfAMissingFileOrADirectoryFailsBeforeAnyCall) {
  EXPECT_EQ(Run({"attach", "X-1", "--type", "t", dir_.File("absent.pdf")}).code(),
            absl::StatusCode::kInvalidArgument);
  const std::string folder = dir_.File("folder.pdf");
  std::filesystem::create_directory(folder);
  const absl::Status status = Run({"attach", "X-1", "--type", "t", folder});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("not a regular file"));
  EXPECT_EQ(dossiers_.get_calls, 0);
  EXPECT_EQ(documents_.upload_calls, 0);
}

TEST_F(DocumentCommandTest, AttachSendsThreeMebibytesInChunksOfAtMostOne) {
  const std::string content = RandomBytes(3 * kMiB, 2);
  const std::string path = dir_.File("big.pdf");
  WriteFile(path, content);
  ASSERT_TRUE(Run({"attach", "X-1", "--type", "to_khai", path}).ok());
  EXPECT_GE(documents_.chunk_sizes.size(), 3u);
  EXPECT_THAT(documents_.chunk_sizes, Each(Le(static_cast<size_t>(kMiB))));
  EXPECT_EQ(documents_.header.size_bytes(), 3 * kMiB);
  EXPECT_EQ(documents_.header.sha256(), Sha256Hex(content));
  EXPECT_TRUE(documents_.received == content);
}

TEST_F(DocumentCommandTest, AttachOfAnEmptyFileSendsTheHeaderAlone) {
  const std::string path = dir_.File("empty.pdf");
  WriteFile(path, "");
  ASSERT_TRUE(Run({"attach", "X-1", "--type", "to_khai", path}).ok());
  EXPECT_EQ(documents_.header.size_bytes(), 0);
  EXPECT_EQ(documents_.header.sha256(), kEmptySha256);
  EXPECT_THAT(documents_.chunk_sizes, IsEmpty());
}

TEST_F(DocumentCommandTest, AttachSendsANonUtf8FileNameAsItsBytes) {
  const std::string name = "t\xe1\xbb\x9d-\xff\xfe.pdf";  // "tờ-" then two invalid bytes
  const std::string path = dir_.File(name);
  WriteFile(path, "%PDF-1.4");
  // Sent as-is (no lossy conversion on the way); the daemon's refusal is
  // passed on with its code.
  const absl::Status status = Run({"attach", "X-1", "--type", "to_khai", path});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("UTF-8"));
  EXPECT_EQ(documents_.header.file_name(), name);
  EXPECT_EQ(out_.str(), "");
}

TEST_F(DocumentCommandTest, AttachDrawsProgressOnlyOnATerminalForLargeFiles) {
  const std::string path = dir_.File("large.pdf");
  WriteFile(path, RandomBytes(5 * kMiB, 3));
  ASSERT_TRUE(Run({"attach", "X-1", "--type", "to_khai", path}).ok());
  EXPECT_EQ(err_.str(), "");

  terminal_ = true;
  ASSERT_TRUE(Run({"attach", "X-1", "--type", "to_khai", path}).ok());
  EXPECT_THAT(err_.str(), AllOf(HasSubstr("\rattach large.pdf   20%  1.0/5.0 MiB"),
                                HasSubstr("\rattach large.pdf  100%  5.0/5.0 MiB\n")));

  // A small file on a terminal: no progress line.
  err_.str("");
  const std::string small = dir_.File("small.pdf");
  WriteFile(small, RandomBytes(kMiB, 4));
  ASSERT_TRUE(Run({"attach", "X-1", "--type", "to_khai", small}).ok());
  EXPECT_EQ(err_.str(), "");
}

TEST_F(DocumentCommandTest, AttachRefusedKeepsTheServerCodeAndAdvisesTheRequestId) {
  const std::string path = dir_.File("a.pdf");
  WriteFile(path, "x");
  documents_.upload_error =
      grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "status PROCESSING does not allow it");
  const absl::Status status =
      Run({"attach", "X-1", "--type", "to_khai", path, "--request-id", "r-9"});
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("PROCESSING"));
  ASSERT_TRUE(HintOf(status).has_value());
  EXPECT_THAT(*HintOf(status), HasSubstr("request id: r-9"));
  EXPECT_EQ(out_.str(), "");
}

// ---- fetch -------------------------------------------------------------------

TEST_F(DocumentCommandTest, FetchWritesTheVerifiedFileAndNoPartial) {
  const std::string content = RandomBytes(600 * 1024, 5);
  Publish(content);
  const std::string out = dir_.File("to-khai.pdf");
  ASSERT_TRUE(Run({"fetch", "X-1", "2", "--out", out}).ok()) << err_.str();
  EXPECT_EQ(documents_.last_download.code(), "X-1");
  EXPECT_EQ(documents_.last_download.component_id(), "2");
  EXPECT_TRUE(ReadFile(out) == content);
  EXPECT_FALSE(Exists(out + ".partial"));
  EXPECT_EQ(std::filesystem::status(out).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  EXPECT_THAT(out_.str(), HasSubstr(Sha256Hex(content)));
  EXPECT_THAT(err_.str(), HasSubstr("SHA-256 verified"));
}

TEST_F(DocumentCommandTest, FetchOfAnEmptyComponentWritesAnEmptyFile) {
  Publish("");
  const std::string out = dir_.File("empty.pdf");
  ASSERT_TRUE(Run({"fetch", "X-1", "2", "--out", out}).ok());
  EXPECT_TRUE(Exists(out));
  EXPECT_EQ(std::filesystem::file_size(out), 0u);
}

TEST_F(DocumentCommandTest, FetchDataLossRemovesThePartialAndKeepsAnOldFile) {
  Publish(RandomBytes(kMiB, 6));
  documents_.fail_after = 512 * 1024;  // two chunks arrive first
  documents_.download_status =
      grpc::Status(grpc::StatusCode::DATA_LOSS, "component 2: stored bytes do not match");
  const std::string out = dir_.File("to-khai.pdf");
  WriteFile(out, "previous copy");
  const absl::Status status = Run({"fetch", "X-1", "2", "--out", out});
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(status.message(), AllOf(HasSubstr("stored bytes do not match"),
                                      HasSubstr("corrupt"), HasSubstr("nothing was saved")));
  EXPECT_FALSE(Exists(out + ".partial"));
  EXPECT_EQ(ReadFile(out), "previous copy");
  EXPECT_EQ(out_.str(), "");
}

TEST_F(DocumentCommandTest, FetchHashMismatchOnAnOkCallWritesNothing) {
  const std::string content = RandomBytes(300 * 1024, 7);
  Publish(content);
  documents_.download_record.set_sha256(Sha256Hex(content + "x"));
  const std::string out = dir_.File("to-khai.pdf");
  const absl::Status status = Run({"fetch", "X-1", "2", "--out", out});
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(status.message(), HasSubstr("do not match"));
  EXPECT_FALSE(Exists(out));
  EXPECT_FALSE(Exists(out + ".partial"));
}

TEST_F(DocumentCommandTest, FetchSizeMismatchEitherWayWritesNothing) {
  const std::string out = dir_.File("to-khai.pdf");
  Publish(RandomBytes(1000, 8));
  documents_.download_record.set_size_bytes(1001);  // short
  EXPECT_EQ(Run({"fetch", "X-1", "2", "--out", out}).code(), absl::StatusCode::kDataLoss);
  EXPECT_FALSE(Exists(out));
  EXPECT_FALSE(Exists(out + ".partial"));

  Publish(RandomBytes(1000, 9));
  documents_.download_record.set_size_bytes(999);  // long
  const absl::Status status = Run({"fetch", "X-1", "2", "--out", out});
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(status.message(), HasSubstr("more than"));
  EXPECT_FALSE(Exists(out));
  EXPECT_FALSE(Exists(out + ".partial"));
}

TEST_F(DocumentCommandTest, FetchNotFoundLeavesNothing) {
  Publish("abc");
  documents_.fail_after = 0;
  documents_.download_status = grpc::Status(grpc::StatusCode::NOT_FOUND, "no component 9");
  const std::string out = dir_.File("x.pdf");
  EXPECT_EQ(Run({"fetch", "X-1", "9", "--out", out}).code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(Exists(out));
  EXPECT_FALSE(Exists(out + ".partial"));
}

TEST_F(DocumentCommandTest, FetchToStdoutWritesOnlyTheBytes) {
  const std::string content = RandomBytes(700 * 1024, 10);
  Publish(content);
  ASSERT_TRUE(Run({"fetch", "X-1", "2", "--out", "-"}).ok());
  EXPECT_TRUE(out_.str() == content);
  EXPECT_THAT(err_.str(), HasSubstr("SHA-256 verified"));
}

TEST_F(DocumentCommandTest, FetchThatStallsEndsAfterTheTimeoutWithoutAFile) {
  Publish(RandomBytes(kMiB, 11));
  documents_.fail_after = 256 * 1024;
  documents_.stall = true;
  options_.timeout = absl::Milliseconds(300);
  const std::string out = dir_.File("slow.pdf");
  const absl::Status status = Run({"fetch", "X-1", "2", "--out", out});
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(status.message(), HasSubstr("--timeout"));
  EXPECT_FALSE(Exists(out));
  EXPECT_FALSE(Exists(out + ".partial"));
}

TEST_F(DocumentCommandTest, FetchIntoAMissingDirectoryFailsBeforeAnyCall) {
  Publish("abc");
  const absl::Status status =
      Run({"fetch", "X-1", "2", "--out", dir_.File("no-such-dir/x.pdf")});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(documents_.last_download.component_id(), "");
}

// ---- show --------------------------------------------------------------------

TEST_F(DocumentCommandTest, ShowListsTheComponents) {
  const std::string sha_a(64, 'a');
  const std::string sha_b = "0123456789ab" + std::string(52, 'f');
  v1::DossierComponent& a = *dossiers_.dossier.add_components();
  a.set_id("1");
  a.set_component_type("to_khai");
  a.set_file_name("Tờ khai.pdf");
  a.set_size_bytes(3 * kMiB);
  a.set_sha256(sha_a);
  a.set_stage(v1::COMPONENT_STAGE_RECEPTION);
  a.set_attached_by("clerk.lienson");
  a.mutable_attached_time()->set_seconds(kMondayMorning);
  v1::DossierComponent& b = *dossiers_.dossier.add_components();
  b.set_id("2");
  b.set_component_type("giay_phep");
  b.set_file_name("giay-phep.pdf");
  b.set_size_bytes(512);
  b.set_sha256(sha_b);
  b.set_stage(v1::COMPONENT_STAGE_RESULT);
  b.set_attached_by("officer.lak");
  b.mutable_attached_time()->set_seconds(kMondayMorning + 3 * 86400);

  ASSERT_TRUE(Run({"show", "X-1"}).ok());
  const std::string out = out_.str();
  EXPECT_THAT(out, HasSubstr("Components"));
  EXPECT_THAT(out, HasSubstr("ID  TYPE       FILE NAME      SIZE     SHA-256        STAGE      "
                             "ATTACHED BY    ATTACHED"));
  EXPECT_THAT(out, HasSubstr("1   to_khai    Tờ khai.pdf    3.0 MiB  aaaaaaaaaaaa…  reception  "
                             "clerk.lienson  08:00 06/01/2020"));
  EXPECT_THAT(out, HasSubstr("2   giay_phep  giay-phep.pdf  512 B    0123456789ab…  result     "
                             "officer.lak    08:00 09/01/2020"));
  EXPECT_THAT(out, Not(HasSubstr(sha_a)));  // a prefix only

  // The JSON view carries the whole records.
  out_.str("");
  options_.output = OutputFormat::kJson;
  ASSERT_TRUE(Run({"show", "X-1"}).ok());
  EXPECT_THAT(out_.str(), AllOf(HasSubstr(sha_a), HasSubstr("\"COMPONENT_STAGE_RESULT\"")));
}

TEST_F(DocumentCommandTest, ShowWithoutComponentsHasNoComponentSection) {
  ASSERT_TRUE(Run({"show", "X-1"}).ok());
  EXPECT_THAT(out_.str(), Not(HasSubstr("Components")));
}

}  // namespace
}  // namespace onestop::client
