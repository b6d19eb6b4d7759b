#include "server/service/document_service.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "server/core/validation.h"
#include "server/service/fingerprint.h"
#include "server/service/status_mapping.h"
#include "server/util/error_info.h"
#include "server/util/log.h"
#include "server/util/status_macros.h"

namespace onestop::service {
namespace {

using onestop::v1::Dossier;
using onestop::v1::DossierComponent;
using onestop::v1::DownloadComponentRequest;
using onestop::v1::DownloadComponentResponse;
using onestop::v1::UploadComponentHeader;
using onestop::v1::UploadComponentRequest;
using onestop::v1::UploadComponentResponse;

absl::Status Busy() {
  return WithReason(absl::UnavailableError("the server is busy; retry shortly"),
                    kReasonServerBusy);
}

// Whether a write answered with `status` may still have committed: every
// refusal (a bad request, a stale etag, no permission, a rule of the
// workflow) is decided before the write; what is left is an answer lost
// with the connection or the transaction's end (UNAVAILABLE,
// DEADLINE_EXCEEDED, INTERNAL, UNKNOWN, DATA_LOSS, CANCELLED).
bool MayHaveCommitted(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kUnauthenticated:
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kOutOfRange:
    case absl::StatusCode::kUnimplemented:
      return false;
    default:
      return !status.ok();
  }
}

core::ComponentDeclaration DeclarationOf(const UploadComponentHeader& header) {
  core::ComponentDeclaration d;
  d.component_type = header.component_type();
  d.file_name = header.file_name();
  d.mime_type = header.mime_type();
  d.size_bytes = header.size_bytes();
  d.sha256 = header.sha256();
  d.kind = header.result_document() ? core::DocumentKind::kResult
                                    : core::DocumentKind::kApplicant;
  return d;
}

}  // namespace

// ---- Upload ----------------------------------------------------------------

// One UploadComponent call. Deletes itself in OnDone. State is touched by
// one executor task at a time; tasks are strictly sequential because each
// starts the next read (or finishes) as its last act.
class DocumentServiceImpl::Upload final
    : public grpc::ServerReadReactor<UploadComponentRequest> {
 public:
  Upload(const DocumentServiceImpl* service, grpc::CallbackServerContext* context,
         UploadComponentResponse* response)
      : service_(service), context_(context), response_(response) {
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    const bool queued = service_->executor_->TrySubmit([this, ok] {
      if (ok) {
        OnMessage();
      } else {
        OnEnd();
      }
    });
    // The writer, if any, is cleaned up in OnDone.
    if (!queued) Finish(ToGrpcStatus(Busy()));
  }

  void OnDone() override {
    if (writer_ == nullptr) {
      delete this;
      return;
    }
    // An upload that ended on a full queue still has staged chunks:
    // delete them off the reaction thread.
    Upload* self = this;
    if (!service_->executor_->TrySubmit([self] { delete self; })) {
      LogWarning("executor full: discarding an upload's staged chunks on a gRPC thread");
      delete this;
    }
  }

 private:
  // Ends the call with `status`: discards the staged chunks, audits the
  // outcome of an authorized call, and finishes. The last act of a task.
  void End(const absl::Status& status) {
    if (writer_ != nullptr) {
      writer_->Abort().IgnoreError();
      writer_.reset();
    }
    if (principal_ != nullptr) service_->guard_->RecordOutcome(*principal_, call_, status);
    Finish(ToGrpcStatus(status));
  }

  void OnMessage() {
    if (context_->IsCancelled()) {
      return End(absl::CancelledError("the client cancelled the upload"));
    }
    absl::Status status;
    switch (request_.part_case()) {
      case UploadComponentRequest::kHeader:
        status = header_.has_value()
                     ? InvalidFieldError("header", "the header was sent twice; send it once, "
                                                   "first, then the file's chunks")
                     : OnHeader(request_.header());
        break;
      case UploadComponentRequest::kChunk:
        status = OnChunk(request_.chunk());
        break;
      default:
        status = InvalidFieldError("part", "an upload message must carry the header or a chunk");
        break;
    }
    if (!status.ok()) return End(status);
    request_.Clear();
    StartRead(&request_);
  }

  absl::Status OnHeader(const UploadComponentHeader& header) {
    call_ = {.rpc = "UploadComponent", .dossier_code = header.code()};
    ONESTOP_ASSIGN_OR_RETURN(const auth::PrincipalPtr caller,
                             service_->guard_->Authenticate(*context_, call_));
    const core::Principal& principal = *caller;
    ONESTOP_ASSIGN_OR_RETURN(const Dossier dossier, service_->manager_->Get(header.code()));
    const core::ComponentDeclaration declared = DeclarationOf(header);
    ONESTOP_RETURN_IF_ERROR(service_->guard_->AuthorizeOnDossier(
        principal, core::AttachPermission(declared.kind), dossier, core::DossierAgencies(dossier),
        call_));
    principal_ = caller;  // from here on, outcomes are audited
    if (header.etag() <= 0) {
      return InvalidFieldError("header.etag",
                               "header.etag: pass the etag of the dossier as you last read it");
    }
    if (header.request_id().empty()) {
      // Fail before any byte is stored; DossierManager checks again.
      if (header.etag() != dossier.etag()) {
        return WithReason(absl::AbortedError(absl::StrCat(
                              "dossier ", header.code(), " was changed by someone else (now "
                              "version ", dossier.etag(), ", you had ", header.etag(),
                              "); reload it and try again")),
                          kReasonEtagMismatch);
      }
      ONESTOP_RETURN_IF_ERROR(core::AttachStage(dossier, declared.kind).status());
    }
    const std::shared_ptr<const core::Catalogue> catalogue = service_->manager_->catalogue();
    const onestop::v1::Procedure* procedure = catalogue->FindProcedure(dossier.procedure_code());
    if (procedure == nullptr) {
      return PreconditionError(
          kReasonCatalogueChanged, kPreconditionCatalogue,
          ProcedureSubject(dossier.procedure_code()),
          absl::StrCat("procedure ", dossier.procedure_code(), " of dossier ", dossier.code(),
                       " is no longer in the catalogue"));
    }
    ONESTOP_ASSIGN_OR_RETURN(
        declaration_,
        core::ValidateDeclaration(declared, *procedure, &service_->options_.policy));
    ONESTOP_ASSIGN_OR_RETURN(writer_, service_->blobs_->Begin());
    header_ = header;
    return absl::OkStatus();
  }

  absl::Status OnChunk(const std::string& chunk) {
    if (!header_.has_value()) {
      return InvalidFieldError("header", "send the header first, then the file's chunks");
    }
    if (chunk.size() > kMaxUploadChunkBytes) {
      return InvalidFieldError(
          "chunk", absl::StrCat("a chunk carries ", chunk.size(), " bytes; at most ",
                                kMaxUploadChunkBytes, " (1 MiB) per message"));
    }
    if (writer_->size_bytes() + static_cast<int64_t>(chunk.size()) > declaration_.size_bytes) {
      return InvalidFieldError(
          "chunk", absl::StrCat("more bytes arrived than the header declared (",
                                declaration_.size_bytes, "); the upload was discarded"));
    }
    return writer_->Append(chunk);
  }

  // The client half-closed (or the call broke).
  void OnEnd() {
    if (context_->IsCancelled()) {
      return End(absl::CancelledError("the client cancelled the upload"));
    }
    if (!header_.has_value()) {
      return End(InvalidFieldError("header", "the upload ended without a header"));
    }
    // The token was checked when the header arrived; an upload can outlast
    // its revocation or expiry, so ask again before anything is stored. The
    // guard audits the refusal (as every UNAUTHENTICATED: no principal).
    if (absl::StatusOr<auth::PrincipalPtr> still =
            service_->guard_->Authenticate(*context_, call_);
        !still.ok()) {
      if (absl::IsUnauthenticated(still.status())) principal_ = nullptr;
      return End(still.status());
    }
    const int64_t received = writer_->size_bytes();
    absl::StatusOr<storage::StoredBlob> stored =
        writer_->Finish(declaration_.size_bytes, declaration_.sha256);
    writer_.reset();  // finished, or aborted by Finish
    if (!stored.ok()) {
      absl::Status status = stored.status();
      if (absl::IsInvalidArgument(status)) {
        status = InvalidFieldError(
            received != declaration_.size_bytes ? "header.size_bytes" : "header.sha256",
            status.message());
      }
      return End(status);
    }
    ActionCommand command;
    command.code = header_->code();
    command.etag = header_->etag();
    command.request_id = header_->request_id();
    command.fingerprint = Fingerprint("UploadComponent", *header_);
    command.action.kind = onestop::v1::ACTION_KIND_ATTACH_COMPONENT;
    command.action.note = header_->note();
    command.action.component = declaration_;
    absl::StatusOr<Dossier> acted = service_->manager_->Act(command, principal_->id);
    // Only a refused write frees the blob. A write whose outcome is unknown
    // (PostgreSQL's COMMIT losing its connection answers UNAVAILABLE, "may
    // have committed") keeps it as referenced: a blob kept for nothing
    // costs its bytes, one deleted under a committed attachment loses the
    // citizen's document.
    const absl::Status released = service_->blobs_->Release(
        stored->claim, acted.ok() || MayHaveCommitted(acted.status())
                           ? storage::ClaimOutcome::kReferenced
                           : storage::ClaimOutcome::kUnused);
    if (!released.ok()) {
      // A referenced blob keeps its claim until the next start, which
      // counts it as referenced: nothing is lost.
      LogWarning("could not release a document claim",
                 {{"error", released.ToString()}, {"dossier_code", header_->code()}});
    }
    if (!acted.ok()) return End(acted.status());
    // The attached component: the newest one with these bytes (a replayed
    // retry returns the dossier as it was right after the attachment).
    const DossierComponent* component = nullptr;
    for (const DossierComponent& c : acted->components()) {
      if (c.sha256() == stored->sha256) component = &c;
    }
    if (component != nullptr) *response_->mutable_component() = *component;
    if (!core::MaySeePersonalData(*principal_, service_->options_.privacy,
                                  *service_->manager_->catalogue())) {
      core::MaskPersonalData(&*acted);
    }
    *response_->mutable_dossier() = *std::move(acted);
    End(absl::OkStatus());
  }

  const DocumentServiceImpl* const service_;
  grpc::CallbackServerContext* const context_;
  UploadComponentResponse* const response_;
  UploadComponentRequest request_;
  auth::CallInfo call_;
  auth::PrincipalPtr principal_;  // null until authorized
  std::optional<UploadComponentHeader> header_;
  core::ComponentDeclaration declaration_;
  std::unique_ptr<storage::BlobWriter> writer_;
};

// ---- Download --------------------------------------------------------------

// One DownloadComponent call. Deletes itself in OnDone. One task or one
// write in flight at a time.
class DocumentServiceImpl::Download final
    : public grpc::ServerWriteReactor<DownloadComponentResponse> {
 public:
  Download(const DocumentServiceImpl* service, grpc::CallbackServerContext* context,
           const DownloadComponentRequest& request)
      : service_(service), context_(context), request_(request) {
    Post([this] { StartDownload(); });
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      // The client went away; nothing more can be sent.
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "the download was interrupted"));
      return;
    }
    Post([this] { SendNext(); });
  }

  void OnDone() override { delete this; }

 private:
  void Post(absl::AnyInvocable<void() &&> task) {
    if (!service_->executor_->TrySubmit(std::move(task))) Finish(ToGrpcStatus(Busy()));
  }

  void End(const absl::Status& status) {
    if (absl::IsDataLoss(status)) {
      LogError("a stored document failed verification",
               {{"dossier_code", request_.code()},
                {"component_id", request_.component_id()},
                {"error", std::string(status.message())}});
      if (service_->options_.on_data_loss) service_->options_.on_data_loss();
    }
    reader_.reset();
    Finish(ToGrpcStatus(status));
  }

  void StartDownload() {
    if (absl::Status status = Open(); !status.ok()) return End(status);
    StartWrite(&response_);
  }

  absl::Status Open() {
    if (context_->IsCancelled()) return absl::CancelledError("the client cancelled the download");
    auth::CallInfo call{.rpc = "DownloadComponent", .dossier_code = request_.code()};
    ONESTOP_ASSIGN_OR_RETURN(const auth::PrincipalPtr caller,
                             service_->guard_->Authenticate(*context_, call));
    const core::Principal& principal = *caller;
    ONESTOP_ASSIGN_OR_RETURN(const Dossier dossier, service_->manager_->Get(request_.code()));
    ONESTOP_RETURN_IF_ERROR(service_->guard_->AuthorizeOnDossier(
        principal, core::Permission::kFetchComponent, dossier, core::DossierAgencies(dossier),
        call));
    ONESTOP_RETURN_IF_ERROR(core::ValidateText("component_id", request_.component_id(),
                                               core::kMaxCodeBytes,
                                               core::Requirement::kRequired));
    const DossierComponent* component = core::FindComponent(dossier, request_.component_id());
    if (component == nullptr) {
      return WithFieldViolation(
          absl::NotFoundError(absl::StrCat("dossier ", dossier.code(), " has no component \"",
                                           request_.component_id(), "\"")),
          "component_id", "no such component in this dossier");
    }
    absl::StatusOr<std::unique_ptr<storage::BlobReader>> reader =
        service_->blobs_->Open(component->sha256());
    if (absl::IsNotFound(reader.status())) {
      return absl::DataLossError(absl::StrCat(
          "the stored document of component ", component->id(), " of dossier ", dossier.code(),
          " (SHA-256 ", component->sha256(), ") is missing; restore the database from a backup"));
    }
    if (!reader.ok()) return reader.status();
    if ((*reader)->size_bytes() != component->size_bytes()) {
      return absl::DataLossError(absl::StrCat(
          "the stored document of component ", component->id(), " of dossier ", dossier.code(),
          " has ", (*reader)->size_bytes(), " bytes, not the recorded ",
          component->size_bytes()));
    }
    reader_ = *std::move(reader);
    *response_.mutable_component() = *component;
    return absl::OkStatus();
  }

  void SendNext() {
    if (context_->IsCancelled()) {
      return End(absl::CancelledError("the client cancelled the download"));
    }
    if (absl::Now() >= last_check_ + service_->options_.download_recheck_interval) {
      const absl::Status still =
          service_->guard_->Authenticate(*context_, {.rpc = "DownloadComponent",
                                                     .dossier_code = request_.code()})
              .status();
      last_check_ = absl::Now();
      if (!still.ok() && !absl::IsUnavailable(still)) return End(still);
    }
    absl::StatusOr<std::optional<std::string>> chunk = reader_->Next();
    if (!chunk.ok()) return End(chunk.status());
    if (!chunk->has_value()) return End(absl::OkStatus());  // verified
    response_.Clear();
    response_.set_chunk(**std::move(chunk));
    StartWrite(&response_);
  }

  const DocumentServiceImpl* const service_;
  grpc::CallbackServerContext* const context_;
  const DownloadComponentRequest request_;
  DownloadComponentResponse response_;
  std::unique_ptr<storage::BlobReader> reader_;
  absl::Time last_check_ = absl::Now();  // the caller was authenticated (Open)
};

// ---- Service ---------------------------------------------------------------

DocumentServiceImpl::DocumentServiceImpl(DossierManager* manager, storage::BlobStore* blobs,
                                         const auth::AccessGuard* guard, Executor* executor,
                                         DocumentServiceOptions options)
    : manager_(manager),
      blobs_(blobs),
      guard_(guard),
      executor_(executor),
      options_(std::move(options)) {}

grpc::ServerReadReactor<UploadComponentRequest>* DocumentServiceImpl::UploadComponent(
    grpc::CallbackServerContext* context, UploadComponentResponse* response) {
  return new Upload(this, context, response);
}

grpc::ServerWriteReactor<DownloadComponentResponse>* DocumentServiceImpl::DownloadComponent(
    grpc::CallbackServerContext* context, const DownloadComponentRequest* request) {
  return new Download(this, context, *request);
}

}  // namespace onestop::service
