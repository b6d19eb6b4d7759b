// NotifyingDossierStore: a decorator that publishes the revision of every
// successful Create/Update to a FeedNotifier, so change-feed watchers wake
// without polling. Everything else forwards unchanged.
//
// The published revision is the store's LastRevision() read right after the
// write returns: at least the write's own revision, so a watcher woken by it
// reads the event (revisions become visible in order: DossierStore's
// "Revisions"; see docs/FEED.md).
//
// Ownership: does not own `base` or `notifier`; both must outlive it.
// Thread safety: as the wrapped store.
#ifndef ONESTOP_STORAGE_NOTIFYING_DOSSIER_STORE_H_
#define ONESTOP_STORAGE_NOTIFYING_DOSSIER_STORE_H_

#include "absl/status/statusor.h"
#include "onestop/v1/dossier.pb.h"
#include "storage/feed_notifier.h"
#include "storage/forwarding_dossier_store.h"

namespace onestop::storage {

class NotifyingDossierStore final : public ForwardingDossierStore {
 public:
  // `base` and `notifier` are not owned, non-null.
  NotifyingDossierStore(DossierStore* base, FeedNotifier* notifier)
      : ForwardingDossierStore(base), notifier_(notifier) {}

  // Forward; on success publish the new last revision. If reading it fails
  // the write still succeeds (it committed); watchers then pick the event
  // up at their next wake-up (progress interval at the latest).
  absl::StatusOr<onestop::v1::Dossier> Create(const CreateDossierWrite& write) override;
  // Publishes before `done` runs (on the thread that answers it).
  void CreateAsync(CreateDossierWrite write, WriteDone done) override;
  void UpdateAsync(UpdateDossierWrite write, WriteDone done) override;
  bool QueuesAsyncWrites() const override { return base().QueuesAsyncWrites(); }
  // Forwarded: this decorator does not change Get.
  std::optional<onestop::v1::Dossier> GetFromMemory(const std::string& code) override {
    return base().GetFromMemory(code);
  }
  absl::StatusOr<onestop::v1::Dossier> Update(const UpdateDossierWrite& write) override;
  // Publishes once per call in which at least one record was imported.
  absl::StatusOr<std::vector<absl::Status>> ImportDossiers(
      std::vector<ImportDossierWrite> writes) override;

 private:
  void PublishLast();
  // `done` after PublishLast on success.
  WriteDone PublishingThen(WriteDone done);

  FeedNotifier* const notifier_;
};

}  // namespace onestop::storage

#endif  // ONESTOP_STORAGE_NOTIFYING_DOSSIER_STORE_H_
