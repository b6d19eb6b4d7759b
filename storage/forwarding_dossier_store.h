// ForwardingDossierStore: the base of every DossierStore decorator (the
// LevelDB EnvWrapper pattern). Each method forwards to the wrapped store;
// a decorator overrides only what it changes (NotifyingDossierStore,
// later MetricsDossierStore, RetryingDossierStore; FaultInjectingDossierStore
// in tests/).
//
// Except CreateAsync and UpdateAsync: they are not forwarded but keep
// DossierStore's default (this decorator's Create or Update, then `done`),
// so a decorator that changes Create or Update cannot be bypassed by the
// asynchronous path. A decorator that keeps the base's asynchronous writes
// overrides them and forwards (base().CreateAsync), and forwards
// QueuesAsyncWrites with them. GetFromMemory likewise keeps the default
// (nullopt: ask Get); a decorator that leaves Get alone forwards it.
//
// Ownership: does not own `base` unless constructed from a unique_ptr; the
// base must outlive a non-owning decorator.
// Thread safety: as the wrapped store (all DossierStore methods may be
// called concurrently).
#ifndef ONESTOP_STORAGE_FORWARDING_DOSSIER_STORE_H_
#define ONESTOP_STORAGE_FORWARDING_DOSSIER_STORE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "onestop/v1/dossier.pb.h"
#include "storage/dossier_store.h"

namespace onestop::storage {

class ForwardingDossierStore : public DossierStore {
 public:
  // Wraps `base` (not owned, non-null).
  explicit ForwardingDossierStore(DossierStore* base) : base_(base) {}
  // Wraps and owns `base` (non-null).
  explicit ForwardingDossierStore(std::unique_ptr<DossierStore> base)
      : owned_(std::move(base)), base_(owned_.get()) {}

  ForwardingDossierStore(const ForwardingDossierStore&) = delete;
  ForwardingDossierStore& operator=(const ForwardingDossierStore&) = delete;

  absl::StatusOr<onestop::v1::Dossier> Create(const CreateDossierWrite& write) override {
    return base_->Create(write);
  }
  absl::StatusOr<onestop::v1::Dossier> Update(const UpdateDossierWrite& write) override {
    return base_->Update(write);
  }
  absl::StatusOr<onestop::v1::Dossier> Get(const std::string& code) override {
    return base_->Get(code);
  }
  absl::StatusOr<DossierPage> List(const DossierQuery& query) override {
    return base_->List(query);
  }
  absl::StatusOr<std::optional<RecordedRequest>> FindRequest(
      const std::string& request_id) override {
    return base_->FindRequest(request_id);
  }
  absl::StatusOr<std::vector<onestop::v1::DossierEvent>> ReadEvents(int64_t after_revision,
                                                                    int limit) override {
    return base_->ReadEvents(after_revision, limit);
  }
  absl::StatusOr<int64_t> LastRevision() override { return base_->LastRevision(); }
  absl::StatusOr<int64_t> FirstRevision() override { return base_->FirstRevision(); }
  absl::StatusOr<int64_t> CompactEvents(int64_t before_revision) override {
    return base_->CompactEvents(before_revision);
  }
  absl::StatusOr<std::vector<CounterSums>> SumCounters(const CounterQuery& query) override {
    return base_->SumCounters(query);
  }
  absl::StatusOr<std::vector<absl::Status>> ImportDossiers(
      std::vector<ImportDossierWrite> writes) override {
    return base_->ImportDossiers(std::move(writes));
  }
  absl::StatusOr<DossierCounts> CountDossiers(const CountQuery& query) override {
    return base_->CountDossiers(query);
  }

 protected:
  // The wrapped store.
  DossierStore& base() { return *base_; }
  const DossierStore& base() const { return *base_; }

 private:
  const std::unique_ptr<DossierStore> owned_;  // null if not owned
  DossierStore* const base_;
};

}  // namespace onestop::storage

#endif  // ONESTOP_STORAGE_FORWARDING_DOSSIER_STORE_H_
