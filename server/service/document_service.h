// gRPC handlers for onestop.v1.DocumentService: digitised dossier
// components (issue #13). UploadComponent streams a file into the blob
// store and attaches it to the dossier through DossierManager::Act
// (ACTION_KIND_ATTACH_COMPONENT: etag, request_id, one history entry and one
// feed event like any action); DownloadComponent streams it back, verified.
//
// Threads (gRFC L67): every step that touches SQLite — the access guard,
// the dossier read, each staged chunk, the final verification and the
// dossier write, each chunk read — runs as one task on the Executor; a
// call has at most one task or one gRPC operation in flight, and the next
// read or write is started from the task. gRPC reaction threads only post
// tasks. A full executor queue answers UNAVAILABLE.
//
// Upload order: header → authenticate (UNAUTHENTICATED) → read the dossier
// (NOT_FOUND) → authorize attach_component or, for a result document,
// attach_result_document on the dossier's receiving, holder, deciding and
// stage agencies (PERMISSION_DENIED; as DossierService) → without a
// request_id, check the etag (ABORTED) and the status (FAILED_PRECONDITION)
// before any byte is stored (with one, DossierManager decides: a retry
// replays) → validate the declaration against the procedure and the
// policy (INVALID_ARGUMENT) → stage chunks (a chunk over 1 MiB or more
// bytes than declared: INVALID_ARGUMENT at once) → on half-close
// authenticate again (a token revoked or expired while the bytes arrived:
// UNAUTHENTICATED, nothing stored) → verify size and SHA-256 and store the
// blob → Act → release the blob's claim
// (kReferenced, or kUnused so a refused write keeps nothing) → answer.
// Every outcome after authorization is audited (RecordOutcome). A cancelled
// or failed upload deletes its staged chunks.
//
// Download: authenticate (and again every download_recheck_interval while
// the chunks go out), read the dossier, authorize fetch_component,
// find the component (NOT_FOUND), open its blob (missing: DATA_LOSS), send
// the component record, then the chunks; a verification failure ends the
// stream with DATA_LOSS and calls `on_data_loss`.
//
// Ownership: `manager`, `blobs`, `guard` and `executor` are not owned and
// must outlive the gRPC server (shut the server down first). Thread-safe.
#ifndef ONESTOP_SERVER_SERVICE_DOCUMENT_SERVICE_H_
#define ONESTOP_SERVER_SERVICE_DOCUMENT_SERVICE_H_

#include <cstddef>
#include <functional>

#include "absl/time/time.h"
#include "onestop/v1/document_service.grpc.pb.h"
#include "server/core/authorization.h"
#include "server/core/documents.h"
#include "server/service/auth/access_guard.h"
#include "server/service/dossier_manager.h"
#include "server/service/executor.h"
#include "storage/blobs/blob_store.h"

namespace onestop::service {

// Largest chunk one UploadComponentRequest may carry (1 MiB): well under
// gRPC's default 4 MiB message limit, so a header-sized overhead never
// trips it, and small enough that a call holds little memory.
inline constexpr size_t kMaxUploadChunkBytes = size_t{1} << 20;

struct DocumentServiceOptions {
  // Size limit and MIME allow list (core::ComponentPolicy has the defaults
  // and the reasons).
  core::ComponentPolicy policy;
  // Who sees applicants' numbers in the returned dossier.
  core::PrivacyPolicy privacy;
  // Called once for every download that ends in DATA_LOSS (for a metrics
  // counter); may be empty. Runs on an executor thread; must not block.
  std::function<void()> on_data_loss;
  // A download authenticates its caller again before a chunk once this
  // long (real time) has passed since the last check: a token revoked or
  // expired mid-download ends it UNAUTHENTICATED (a busy token store does
  // not; it is asked again at the next chunk).
  absl::Duration download_recheck_interval = absl::Seconds(5);
};

class DocumentServiceImpl final : public onestop::v1::DocumentService::CallbackService {
 public:
  DocumentServiceImpl(DossierManager* manager, storage::BlobStore* blobs,
                      const auth::AccessGuard* guard, Executor* executor,
                      DocumentServiceOptions options);

  DocumentServiceImpl(const DocumentServiceImpl&) = delete;
  DocumentServiceImpl& operator=(const DocumentServiceImpl&) = delete;

  grpc::ServerReadReactor<onestop::v1::UploadComponentRequest>* UploadComponent(
      grpc::CallbackServerContext* context,
      onestop::v1::UploadComponentResponse* response) override;

  grpc::ServerWriteReactor<onestop::v1::DownloadComponentResponse>* DownloadComponent(
      grpc::CallbackServerContext* context,
      const onestop::v1::DownloadComponentRequest* request) override;

 private:
  class Upload;
  class Download;

  DossierManager* const manager_;
  storage::BlobStore* const blobs_;
  const auth::AccessGuard* const guard_;
  Executor* const executor_;
  const DocumentServiceOptions options_;
};

}  // namespace onestop::service

#endif  // ONESTOP_SERVER_SERVICE_DOCUMENT_SERVICE_H_
