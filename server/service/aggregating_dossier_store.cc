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

namespace {

// Appends `more` to `deltas` (usually empty: then it is a move).
void AppendDeltas(std::vector<storage::CounterDelta> more,
                  std::vector<storage::CounterDelta>& deltas) {
  if (deltas.empty()) {
    deltas = std::move(more);
    return;
  }
  deltas.reserve(deltas.size() + more.size());
  for (storage::CounterDelta& d : more) deltas.push_back(std::move(d));
}

// Adds the new dossier's whole contribution to `write`'s counter deltas.
void AddCreateContribution(const core::Catalogue& catalogue, storage::CreateDossierWrite& write) {
  AppendDeltas(ToCounterDeltas(core::ContributionChange(nullptr, write.dossier, catalogue)),
               write.counter_deltas);
}

}  // namespace

absl::StatusOr<onestop::v1::Dossier> AggregatingDossierStore::Create(
    const storage::CreateDossierWrite& write) {
  storage::CreateDossierWrite with_counters = write;
  AddCreateContribution(*catalogue_(), with_counters);
  return base().Create(with_counters);
}

void AggregatingDossierStore::CreateAsync(storage::CreateDossierWrite write, WriteDone done) {
  AddCreateContribution(*catalogue_(), write);
  base().CreateAsync(std::move(write), std::move(done));
}

absl::StatusOr<const onestop::v1::Dossier*> AggregatingDossierStore::DiffBase(
    const storage::UpdateDossierWrite& write, std::unique_ptr<onestop::v1::Dossier>& fetched) {
  const onestop::v1::Dossier* before = write.before;
  if (before != nullptr && before->code() == write.dossier.code() &&
      before->etag() == write.expected_etag) {
    return before;
  }
  absl::StatusOr<onestop::v1::Dossier> current = base().Get(write.dossier.code());
  if (!current.ok()) return current.status();
  // Stale: the conditional write fails with ABORTED and adds nothing.
  if (current->etag() != write.expected_etag) return nullptr;
  fetched = std::make_unique<onestop::v1::Dossier>(*std::move(current));
  return fetched.get();
}

void AggregatingDossierStore::AddUpdateContribution(const onestop::v1::Dossier& before,
                                                    storage::UpdateDossierWrite& write) {
  write.before = &before;  // its etag is expected_etag: checked by DiffBase
  AppendDeltas(ToCounterDeltas(core::ContributionChange(&before, write.dossier, *catalogue_())),
               write.counter_deltas);
}

absl::StatusOr<onestop::v1::Dossier> AggregatingDossierStore::Update(
    const storage::UpdateDossierWrite& write) {
  std::unique_ptr<onestop::v1::Dossier> fetched;
  absl::StatusOr<const onestop::v1::Dossier*> before = DiffBase(write, fetched);
  if (!before.ok()) return before.status();
  if (*before == nullptr) return base().Update(write);
  storage::UpdateDossierWrite with_counters = write;
  AddUpdateContribution(**before, with_counters);
  return base().Update(with_counters);
}

void AggregatingDossierStore::UpdateAsync(storage::UpdateDossierWrite write, WriteDone done) {
  std::unique_ptr<onestop::v1::Dossier> fetched;
  absl::StatusOr<const onestop::v1::Dossier*> before = DiffBase(write, fetched);
  if (!before.ok()) return std::move(done)(before.status());
  if (*before != nullptr) AddUpdateContribution(**before, write);
  if (fetched != nullptr) {
    // write.before points into `fetched`: it lives until the answer.
    done = [fetched = std::move(fetched), done = std::move(done)](
               absl::StatusOr<onestop::v1::Dossier> result) mutable {
      std::move(done)(std::move(result));
    };
  }
  base().UpdateAsync(std::move(write), std::move(done));
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
