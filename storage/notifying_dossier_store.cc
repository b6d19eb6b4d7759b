#include "storage/notifying_dossier_store.h"

#include <utility>

namespace onestop::storage {

absl::StatusOr<onestop::v1::Dossier> NotifyingDossierStore::Create(
    const CreateDossierWrite& write) {
  absl::StatusOr<onestop::v1::Dossier> result = base().Create(write);
  if (result.ok()) PublishLast();
  return result;
}

DossierStore::WriteDone NotifyingDossierStore::PublishingThen(WriteDone done) {
  return [this, done = std::move(done)](absl::StatusOr<onestop::v1::Dossier> result) mutable {
    if (result.ok()) PublishLast();
    std::move(done)(std::move(result));
  };
}

void NotifyingDossierStore::CreateAsync(CreateDossierWrite write, WriteDone done) {
  base().CreateAsync(std::move(write), PublishingThen(std::move(done)));
}

void NotifyingDossierStore::UpdateAsync(UpdateDossierWrite write, WriteDone done) {
  base().UpdateAsync(std::move(write), PublishingThen(std::move(done)));
}

absl::StatusOr<onestop::v1::Dossier> NotifyingDossierStore::Update(
    const UpdateDossierWrite& write) {
  absl::StatusOr<onestop::v1::Dossier> result = base().Update(write);
  if (result.ok()) PublishLast();
  return result;
}

absl::StatusOr<std::vector<absl::Status>> NotifyingDossierStore::ImportDossiers(
    std::vector<ImportDossierWrite> writes) {
  absl::StatusOr<std::vector<absl::Status>> results = base().ImportDossiers(std::move(writes));
  if (results.ok()) {
    for (const absl::Status& status : *results) {
      if (status.ok()) {
        PublishLast();
        break;
      }
    }
  }
  return results;
}

void NotifyingDossierStore::PublishLast() {
  absl::StatusOr<int64_t> last = base().LastRevision();
  if (last.ok()) {
    notifier_->Publish(*last);
  } else {
    notifier_->Poke();
  }
}

}  // namespace onestop::storage
