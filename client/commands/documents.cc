// onestopctl attach and fetch: digitised dossier components
// (DocumentService). Both stream: attach sends the file in 1 MiB chunks after
// a header with its size and SHA-256 (computed here first); fetch writes the
// bytes to FILE.partial while checking them against the component record,
// and renames only a complete, verified copy. Neither holds a whole file in
// memory. --timeout bounds the wait for progress, not the whole transfer.
#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "client/commands/commands.h"
#include "client/commands/mutation.h"
#include "client/commands/transfer.h"
#include "onestop/v1/document_service.grpc.pb.h"

namespace onestop::client {
namespace {

// Closes a file descriptor on scope exit.
class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  ~FdCloser() {
    if (fd_ >= 0) ::close(fd_);
  }
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;
  // Closes now; returns 0 or -1 with errno like close(2).
  int Close() {
    const int rc = fd_ >= 0 ? ::close(fd_) : 0;
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

std::string Errno() { return std::strerror(errno); }

// Reads up to `buffer.size()` bytes (fewer only at the end of the file).
ssize_t ReadFull(int fd, std::string& buffer) {
  size_t got = 0;
  while (got < buffer.size()) {
    const ssize_t n = ::read(fd, buffer.data() + got, buffer.size() - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  return static_cast<ssize_t>(got);
}

// The status of a transfer the IdleWatchdog cancelled.
absl::Status Stalled(CommandContext& ctx) {
  return ctx.FromRpc(grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, ""));
}

// ---- attach ----------------------------------------------------------------

struct AttachArgs {
  DossierTarget target;
  std::string file;
  std::string type;
  std::string mime;
  bool result = false;
  std::string note;
};

absl::Status Attach(CommandContext& ctx, const AttachArgs& args) {
  // Everything about the file is settled before any RPC.
  const int fd = ::open(args.file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", args.file, "\": cannot open it (", Errno(), ")"));
  }
  FdCloser closer(fd);
  struct stat info;
  if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "\"", args.file, "\": not a regular file (attach reads it twice: "
        "once for its SHA-256, once to send it)"));
  }
  std::string mime = absl::AsciiStrToLower(args.mime);
  if (mime.empty()) {
    std::optional<std::string> guessed = GuessMimeType(BaseName(args.file));
    if (!guessed.has_value()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "cannot tell the MIME type of \"", args.file,
          "\" from its extension (known: .pdf, .jpg, .jpeg, .png, .tif, "
          ".tiff); pass --mime TYPE"));
    }
    mime = *std::move(guessed);
  }
  absl::StatusOr<FileDigest> digest = DigestFile(fd, args.file);
  if (!digest.ok()) return digest.status();
  if (::lseek(fd, 0, SEEK_SET) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", args.file, "\": cannot rewind it (", Errno(), ")"));
  }

  absl::StatusOr<int64_t> etag = ResolveEtag(ctx, args.target);
  if (!etag.ok()) return etag.status();
  const std::string request_id = args.target.request_id.empty()
                                     ? NewRequestId()
                                     : args.target.request_id;

  v1::UploadComponentRequest message;
  v1::UploadComponentHeader& header = *message.mutable_header();
  header.set_code(args.target.code);
  header.set_etag(*etag);
  header.set_request_id(request_id);
  header.set_component_type(args.type);
  header.set_file_name(BaseName(args.file));
  header.set_mime_type(mime);
  header.set_size_bytes(digest->size_bytes);
  header.set_sha256(digest->sha256);
  header.set_result_document(args.result);
  header.set_note(args.note);

  v1::UploadComponentResponse response;
  std::unique_ptr<grpc::ClientContext> rpc = ctx.NewStreamRpc();
  IdleWatchdog watchdog(rpc.get(), ctx.options().timeout);
  std::unique_ptr<grpc::ClientWriterInterface<v1::UploadComponentRequest>>
      writer = ctx.documents().UploadComponent(rpc.get(), &response);
  ProgressLine progress(
      ctx.err(), absl::StrCat("attach ", BaseName(args.file)),
      digest->size_bytes,
      ctx.err_is_terminal() && digest->size_bytes > kProgressMinBytes);

  // A local failure while sending: the call is cancelled without a
  // half-close, so the daemon keeps nothing.
  absl::Status local;
  bool stream_ok = writer->Write(message);
  watchdog.Touch();
  if (stream_ok) {
    Sha256 resent;
    std::string buffer(kUploadChunkBytes, '\0');
    int64_t sent = 0;
    while (stream_ok) {
      const ssize_t n = ReadFull(fd, buffer);
      if (n < 0) {
        local = absl::InvalidArgumentError(absl::StrCat(
            "\"", args.file, "\": read error (", Errno(), "); nothing was attached"));
        break;
      }
      if (n == 0) break;
      if (sent + n > digest->size_bytes) {
        sent += n;  // grew: caught below
        break;
      }
      resent.Update(absl::string_view(buffer.data(), static_cast<size_t>(n)));
      message.set_chunk(buffer.data(), static_cast<size_t>(n));
      stream_ok = writer->Write(message);
      watchdog.Touch();
      sent += n;
      progress.Update(sent);
    }
    if (local.ok() && stream_ok) {
      absl::StatusOr<std::string> sent_sha = resent.Finish();
      if (!sent_sha.ok()) {
        local = sent_sha.status();
      } else if (sent != digest->size_bytes || *sent_sha != digest->sha256) {
        local = absl::FailedPreconditionError(absl::StrCat(
            "\"", args.file, "\" changed while it was being sent (",
            digest->size_bytes, " bytes hashed, ", sent,
            " read); nothing was attached: run attach again"));
      }
    }
  }
  progress.Finish();
  if (!local.ok()) {
    rpc->TryCancel();
    writer->Finish();
    return local;
  }
  if (stream_ok) writer->WritesDone();
  const grpc::Status status = writer->Finish();
  if (!status.ok()) {
    absl::Status failure = watchdog.fired() ? Stalled(ctx) : ctx.FromRpc(status);
    return MutationFailure(std::move(failure), request_id, args.target.code,
                           *etag);
  }
  return ctx.printer().PrintComponent(response.component(),
                                      response.dossier().etag());
}

void RegisterAttach(CLI::App& app, CommandRegistry& registry) {
  auto args = std::make_shared<AttachArgs>();
  CLI::App* cmd = app.add_subcommand(
      "attach",
      "Upload a digitised component (or, with --result, a result document) "
      "and attach it to the dossier");
  cmd->footer(
      "Examples:\n"
      "  onestopctl attach 000.00.31.H15-200106-0001 --type to_khai "
      "scan/to-khai.pdf\n"
      "  onestopctl attach 000.00.31.H15-200106-0001 --type giay_phep "
      "--result giay-phep.pdf\n"
      "  onestopctl attach 000.00.31.H15-200106-0001 --type ban_sao_cccd "
      "--mime image/jpeg scan0001\n"
      "The file's size and SHA-256 are computed first and checked by the "
      "daemon; its name\n(the last path component, as-is) is recorded. "
      "The file is sent in 1 MiB chunks,\nwith a progress line on a "
      "terminal for files over 4 MiB; --timeout bounds the\nwait for "
      "progress, not the whole upload. Applicant components attach in NEW,\n"
      "RECEIVED or SUPPLEMENT_REQUESTED; result documents in RESULT_READY.\n"
      "Without --etag the current etag is read first; the server still "
      "rejects a change\nmade by someone else in between with ABORTED "
      "(exit 10).");
  AddTargetOptions(*cmd, args->target);
  cmd->add_option("FILE", args->file, "The file to upload (a regular file)")
      ->required();
  cmd->add_option("--type", args->type,
                  "Component type code from the procedure's list (e.g. "
                  "to_khai; onestopctl procedures --output=json lists them)")
      ->required();
  cmd->add_option("--mime", args->mime,
                  "MIME type (default: from the extension: .pdf, .jpg/.jpeg, "
                  ".png, .tif/.tiff; required for any other)");
  cmd->add_flag("--result", args->result,
                "Attach a result document the agency issues (RESULT_READY "
                "only) instead of an applicant's component");
  cmd->add_option("--note", args->note, "Note for the history");
  registry.Add(cmd, [args](CommandContext& ctx) { return Attach(ctx, *args); });
}

// ---- fetch -----------------------------------------------------------------

struct FetchArgs {
  std::string code;
  std::string id;
  std::string out;
};

// Where fetched bytes go: a file descriptor or the command's stdout.
class Sink {
 public:
  Sink(int fd, std::ostream* stream) : fd_(fd), stream_(stream) {}
  absl::Status Write(absl::string_view data) {
    if (stream_ != nullptr) {
      stream_->write(data.data(), static_cast<std::streamsize>(data.size()));
      if (!*stream_) return absl::InternalError("cannot write to stdout");
      return absl::OkStatus();
    }
    while (!data.empty()) {
      const ssize_t n = ::write(fd_, data.data(), data.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        const std::string why = Errno();
        return errno == ENOSPC || errno == EDQUOT
                   ? absl::ResourceExhaustedError(why)
                   : absl::InternalError(why);
      }
      data.remove_prefix(static_cast<size_t>(n));
    }
    return absl::OkStatus();
  }

 private:
  int fd_;
  std::ostream* stream_;
};

// Deletes the partial file unless released.
class PartialFile {
 public:
  explicit PartialFile(std::string path) : path_(std::move(path)) {}
  ~PartialFile() {
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  PartialFile(const PartialFile&) = delete;
  PartialFile& operator=(const PartialFile&) = delete;
  void Release() { path_.clear(); }

 private:
  std::string path_;
};

absl::Status Fetch(CommandContext& ctx, const FetchArgs& args) {
  const bool to_stdout = args.out == "-";
  const std::string partial_path = args.out + ".partial";
  int fd = -1;
  if (!to_stdout) {
    struct stat info;
    if (::stat(args.out.c_str(), &info) == 0 && S_ISDIR(info.st_mode)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--out \"", args.out, "\" is a directory; name the file to write"));
    }
    // Personal documents: readable by the owner only.
    fd = ::open(partial_path.c_str(),
                O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--out: cannot create \"", partial_path, "\" (", Errno(), ")"));
    }
  }
  FdCloser closer(fd);
  std::optional<PartialFile> partial;
  if (!to_stdout) partial.emplace(partial_path);
  Sink sink(fd, to_stdout ? &ctx.out() : nullptr);
  // What to say about what was already written when the copy fails.
  const std::string discarded =
      to_stdout ? "; discard what was written to stdout"
                : absl::StrCat("; nothing was saved to \"", args.out, "\"");

  v1::DownloadComponentRequest request;
  request.set_code(args.code);
  request.set_component_id(args.id);
  std::unique_ptr<grpc::ClientContext> rpc = ctx.NewStreamRpc();
  IdleWatchdog watchdog(rpc.get(), ctx.options().timeout);
  std::unique_ptr<grpc::ClientReaderInterface<v1::DownloadComponentResponse>>
      reader = ctx.documents().DownloadComponent(rpc.get(), request);

  std::optional<v1::DossierComponent> component;
  std::optional<ProgressLine> progress;
  Sha256 sha;
  int64_t received = 0;
  absl::Status local;
  v1::DownloadComponentResponse message;
  while (reader->Read(&message)) {
    watchdog.Touch();
    if (message.has_component()) {
      if (component.has_value()) {
        local = absl::InternalError(
            "onestopd sent the component record twice (protocol error)");
        break;
      }
      component = message.component();
      progress.emplace(ctx.err(),
                       absl::StrCat("fetch ", args.code, " #", args.id),
                       component->size_bytes(),
                       ctx.err_is_terminal() &&
                           component->size_bytes() > kProgressMinBytes);
      continue;
    }
    if (message.part_case() != v1::DownloadComponentResponse::kChunk) continue;
    if (!component.has_value()) {
      local = absl::InternalError(
          "onestopd sent data before the component record (protocol error)");
      break;
    }
    const std::string& chunk = message.chunk();
    if (received + static_cast<int64_t>(chunk.size()) > component->size_bytes()) {
      local = absl::DataLossError(absl::StrCat(
          "onestopd sent more than the component's ", component->size_bytes(),
          " bytes"));
      break;
    }
    sha.Update(chunk);
    received += static_cast<int64_t>(chunk.size());
    if (absl::Status written = sink.Write(chunk); !written.ok()) {
      local = absl::Status(
          written.code(),
          absl::StrCat("cannot write \"", to_stdout ? "-" : partial_path,
                       "\": ", written.message()));
      break;
    }
    progress->Update(received);
  }
  if (progress.has_value()) progress->Finish();
  if (!local.ok()) {
    rpc->TryCancel();
    reader->Finish();
    return absl::Status(local.code(), absl::StrCat(local.message(), discarded));
  }
  const grpc::Status status = reader->Finish();
  if (!status.ok()) {
    if (watchdog.fired()) return Stalled(ctx);
    absl::Status failure = ctx.FromRpc(status);
    if (failure.code() == absl::StatusCode::kDataLoss) {
      return WithHint(
          absl::DataLossError(absl::StrCat(
              failure.message(),
              " (the daemon's stored copy is corrupt or missing)", discarded)),
          "the daemon refuses to serve a copy that fails its SHA-256 check; "
          "ask the administrator to restore the document from a backup");
    }
    return absl::Status(failure.code(),
                        absl::StrCat(failure.message(), discarded));
  }
  if (!component.has_value()) {
    return absl::InternalError(absl::StrCat(
        "onestopd ended the download without the component record", discarded));
  }
  absl::StatusOr<std::string> hex = sha.Finish();
  if (!hex.ok()) return hex.status();
  if (received != component->size_bytes() ||
      !absl::EqualsIgnoreCase(*hex, component->sha256())) {
    return absl::DataLossError(absl::StrCat(
        "the bytes received do not match component ", args.id, " (",
        received, " bytes, SHA-256 ", *hex, "; expected ",
        component->size_bytes(), " bytes, SHA-256 ", component->sha256(), ")",
        discarded));
  }

  if (to_stdout) {
    ctx.out().flush();
    ctx.err() << "fetched component " << args.id << ": " << received
              << " bytes, SHA-256 verified\n";
    return absl::OkStatus();
  }
  if (::fsync(fd) != 0 || closer.Close() != 0) {
    return absl::InternalError(
        absl::StrCat("cannot write \"", partial_path, "\": ", Errno(), discarded));
  }
  if (::rename(partial_path.c_str(), args.out.c_str()) != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot rename \"", partial_path, "\" to \"", args.out, "\" (", Errno(),
        ")", discarded));
  }
  partial->Release();
  ctx.err() << "saved " << args.out << ": " << received
            << " bytes, SHA-256 verified\n";
  return ctx.printer().PrintComponent(*component, 0);
}

void RegisterFetch(CLI::App& app, CommandRegistry& registry) {
  auto args = std::make_shared<FetchArgs>();
  CLI::App* cmd = app.add_subcommand(
      "fetch", "Download a digitised component, verified against its SHA-256");
  cmd->footer(
      "Examples:\n"
      "  onestopctl fetch 000.00.31.H15-200106-0001 1 --out to-khai.pdf\n"
      "  onestopctl fetch 000.00.31.H15-200106-0001 2 --out - | lp\n"
      "The bytes go to FILE.partial (mode 0600) while their size and SHA-256 "
      "are checked;\nonly a complete, matching copy is renamed to FILE "
      "(replacing it). Otherwise the\npartial file is deleted and the "
      "command fails: DATA_LOSS (exit 15) means the\ndaemon's stored copy is "
      "corrupt or missing, or the bytes received did not match.\nWith --out - "
      "the bytes go to stdout as they arrive; on failure, discard them.\n"
      "A progress line shows on a terminal for components over 4 MiB; "
      "--timeout bounds\nthe wait for progress, not the whole download. "
      "`onestopctl show CODE` lists the\ncomponent ids.");
  cmd->add_option("CODE", args->code, "Dossier code")->required();
  cmd->add_option("ID", args->id, "Component id (the ID column of show)")
      ->required();
  cmd->add_option("--out", args->out, "File to write, or - for stdout")
      ->required();
  registry.Add(cmd, [args](CommandContext& ctx) { return Fetch(ctx, *args); });
}

}  // namespace

void RegisterDocuments(CLI::App& app, CommandRegistry& registry) {
  RegisterAttach(app, registry);
  RegisterFetch(app, registry);
}

}  // namespace onestop::client
