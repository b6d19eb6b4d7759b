#include "server/service/aggregating_dossier_store.h"

#include <iterator>
#include <utility>

namespace onestop::service {

static_assert(core::kReportSlots == storage::kCounterSlots,
              "the core's report slots are the store's counter slots");
static_assert(core::kEarliestReportDay == storage::kEarliestCounterDay);

std::vector<storage::CounterDelta> ToCounterDeltas(std::vector<core::SeriesDelta> deltas) {
  std::vector<storage::CounterDelta> out;
  out.reserve(deltas.size());
  for (core::SeriesDelta& d : deltas) {
    storage::CounterDelta& c = out.emplace_back();
    c.series = std::move(d.series);
    c.day = d.day;
    c.values = d.values;
  }
  return out;
}

absl::StatusOr<onestop::v1::Dossier> AggregatingDossierStore::Create(
    const storage::CreateDossierWrite& write) {
  storage::CreateDossierWrite with_counters = write;
  for (storage::CounterDelta& d :
       ToCounterDeltas(core::ContributionChange(nullptr, write.dossier, *catalogue_()))) {
    with_counters.counter_deltas.push_back(std::move(d));
  }
  return base().Create(with_counters);
}

absl::StatusOr<onestop::v1::Dossier> AggregatingDossierStore::Update(
    const storage::UpdateDossierWrite& write) {
  onestop::v1::Dossier fetched;
  const onestop::v1::Dossier* before = write.before;
  if (before == nullptr || before->code() != write.dossier.code() ||
      before->etag() != write.expected_etag) {
    absl::StatusOr<onestop::v1::Dossier> current = base().Get(write.dossier.code());
    if (!current.ok()) return current.status();
    if (current->etag() != write.expected_etag) {
      // Stale: the conditional write fails with ABORTED and adds nothing.
      return base().Update(write);
    }
    fetched = *std::move(current);
    before = &fetched;
  }
  storage::UpdateDossierWrite with_counters = write;
  with_counters.before = before;  // its etag is expected_etag: checked above
  for (storage::CounterDelta& d :
       ToCounterDeltas(core::ContributionChange(before, write.dossier, *catalogue_()))) {
    with_counters.counter_deltas.push_back(std::move(d));
  }
  return base().Update(with_counters);
}

absl::StatusOr<std::vector<absl::Status>> AggregatingDossierStore::ImportDossiers(
    std::vector<storage::ImportDossierWrite> writes) {
  const std::shared_ptr<const core::Catalogue> catalogue = catalogue_();
  for (storage::ImportDossierWrite& write : writes) {
    std::vector<storage::CounterDelta> contribution =
        ToCounterDeltas(core::ContributionChange(nullptr, write.dossier, *catalogue));
    write.counter_deltas.insert(write.counter_deltas.end(),
                                std::make_move_iterator(contribution.begin()),
                                std::make_move_iterator(contribution.end()));
  }
  return base().ImportDossiers(std::move(writes));
}

}  // namespace onestop::service
