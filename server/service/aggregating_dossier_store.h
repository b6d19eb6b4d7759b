// AggregatingDossierStore: a decorator that keeps the report counters
// (server/core/report.h) up to date. For every Create/Update it computes
// core::ContributionChange(before, after) and passes it as the write's
// counter_deltas, which the store applies in the same transaction as the
// dossier change: the counters always equal the sum of every stored
// dossier's contribution (docs/REPORTS.md).
//
// `before` for an Update is write.before when the caller set it (the
// manager passes the dossier it read) and its etag is expected_etag;
// otherwise one Get. A concurrent change between that Get and the write
// makes the conditional write fail with ABORTED, so a stale `before` is
// never applied.
//
// Ownership: does not own `base`; it must outlive the decorator.
// Thread safety: as the wrapped store; `catalogue` must be thread-safe.
#ifndef ONESTOP_SERVER_SERVICE_AGGREGATING_DOSSIER_STORE_H_
#define ONESTOP_SERVER_SERVICE_AGGREGATING_DOSSIER_STORE_H_

#include <functional>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "onestop/v1/dossier.pb.h"
#include "server/core/catalogue.h"
#include "server/core/report.h"
#include "storage/forwarding_dossier_store.h"

namespace onestop::service {

// Converts core deltas to the store's (same slots, same days).
std::vector<storage::CounterDelta> ToCounterDeltas(std::vector<core::SeriesDelta> deltas);

class AggregatingDossierStore final : public storage::ForwardingDossierStore {
 public:
  // `base` is not owned, non-null. `catalogue` returns the catalogue in
  // force (non-null); the agency tree and calendar it holds decide the
  // series and days (a change to either needs a counter rebuild, see
  // docs/REPORTS.md).
  AggregatingDossierStore(storage::DossierStore* base,
                          std::function<std::shared_ptr<const core::Catalogue>()> catalogue)
      : ForwardingDossierStore(base), catalogue_(std::move(catalogue)) {}

  // Adds the new dossier's contribution to write.counter_deltas (kept
  // deltas of the caller stay). Errors: the base store's.
  absl::StatusOr<onestop::v1::Dossier> Create(const storage::CreateDossierWrite& write) override;
  void CreateAsync(storage::CreateDossierWrite write, WriteDone done) override;
  // Adds after − before. Errors: the base store's (the fallback Get's
  // NOT_FOUND for an unknown dossier).
  absl::StatusOr<onestop::v1::Dossier> Update(const storage::UpdateDossierWrite& write) override;
  void UpdateAsync(storage::UpdateDossierWrite write, WriteDone done) override;
  // Forwarded: UpdateAsync reads only for a `before` that is not the
  // expected version, which DossierManager never sends (it checks the etag
  // against the dossier it read first).
  bool QueuesAsyncWrites() const override { return base().QueuesAsyncWrites(); }
  // Forwarded: this decorator does not change Get.
  std::optional<onestop::v1::Dossier> GetFromMemory(const std::string& code) override {
    return base().GetFromMemory(code);
  }
  // Adds each imported dossier's whole contribution (from nothing to its
  // final state, as Create does) to its record's counter_deltas; the store
  // applies them only for records it imports. Errors: the base store's.
  absl::StatusOr<std::vector<absl::Status>> ImportDossiers(
      std::vector<storage::ImportDossierWrite> writes) override;

 private:
  // The dossier to diff against: write.before if it is the current
  // version, else one read into `fetched`; null if the write is stale (it
  // fails with ABORTED, adding nothing). The read's errors.
  absl::StatusOr<const onestop::v1::Dossier*> DiffBase(
      const storage::UpdateDossierWrite& write, std::unique_ptr<onestop::v1::Dossier>& fetched);
  // Adds after − before to write.counter_deltas and sets write.before.
  void AddUpdateContribution(const onestop::v1::Dossier& before,
                             storage::UpdateDossierWrite& write);

  const std::function<std::shared_ptr<const core::Catalogue>()> catalogue_;
};

}  // namespace onestop::service

#endif  // ONESTOP_SERVER_SERVICE_AGGREGATING_DOSSIER_STORE_H_
