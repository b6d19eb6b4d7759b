#include "server/ops/metrics_dossier_store.h"

#include <chrono>
#include <string>
#include <utility>

#include "absl/status/status.h"

namespace onestop::ops {
namespace {

std::string Outcome(const absl::Status& status) {
  return status.ok() ? "ok" : absl::StatusCodeToString(status.code());
}

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

absl::StatusOr<std::unique_ptr<MetricsDossierStore>> MetricsDossierStore::Wrap(
    storage::DossierStore* base, MetricsRegistry* registry) {
  auto writes = registry->AddHistogram(
      "onestop_storage_write_seconds",
      "Time to commit one dossier write (create or update) to the database, in seconds.",
      {"op", "outcome"}, DefaultLatencyBuckets());
  if (!writes.ok()) return writes.status();
  auto imports = registry->AddHistogram(
      "onestop_storage_import_seconds",
      "Time to check and commit one ImportDossiers request (up to 1,000 dossiers), in seconds.",
      {"outcome"}, DefaultLatencyBuckets());
  if (!imports.ok()) return imports.status();
  auto imported = registry->AddCounter(
      "onestop_storage_imported_dossiers_total",
      "Records of ImportDossiers batches, by their result (imported, already_present, failed).",
      {"outcome"});
  if (!imported.ok()) return imported.status();
  return std::unique_ptr<MetricsDossierStore>(
      new MetricsDossierStore(base, *writes, *imports, *imported));
}

void MetricsDossierStore::ObserveWrite(const char* op, HistogramChild* ok,
                                       const absl::Status& status, double seconds) {
  if (status.ok()) {
    ok->Observe(seconds);
  } else {
    writes_->Observe({op, Outcome(status)}, seconds);
  }
}

absl::StatusOr<onestop::v1::Dossier> MetricsDossierStore::Create(
    const storage::CreateDossierWrite& write) {
  const auto start = std::chrono::steady_clock::now();
  auto result = ForwardingDossierStore::Create(write);
  ObserveWrite("create", created_ok_, result.status(), SecondsSince(start));
  return result;
}

storage::DossierStore::WriteDone MetricsDossierStore::TimedThen(const char* op,
                                                                HistogramChild* ok,
                                                                WriteDone done) {
  return [this, op, ok, start = std::chrono::steady_clock::now(),
          done = std::move(done)](absl::StatusOr<onestop::v1::Dossier> result) mutable {
    ObserveWrite(op, ok, result.status(), SecondsSince(start));
    std::move(done)(std::move(result));
  };
}

void MetricsDossierStore::CreateAsync(storage::CreateDossierWrite write, WriteDone done) {
  base().CreateAsync(std::move(write), TimedThen("create", created_ok_, std::move(done)));
}

void MetricsDossierStore::UpdateAsync(storage::UpdateDossierWrite write, WriteDone done) {
  base().UpdateAsync(std::move(write), TimedThen("update", updated_ok_, std::move(done)));
}

absl::StatusOr<onestop::v1::Dossier> MetricsDossierStore::Update(
    const storage::UpdateDossierWrite& write) {
  const auto start = std::chrono::steady_clock::now();
  auto result = ForwardingDossierStore::Update(write);
  ObserveWrite("update", updated_ok_, result.status(), SecondsSince(start));
  return result;
}

absl::StatusOr<std::vector<absl::Status>> MetricsDossierStore::ImportDossiers(
    std::vector<storage::ImportDossierWrite> writes) {
  const auto start = std::chrono::steady_clock::now();
  auto results = ForwardingDossierStore::ImportDossiers(std::move(writes));
  imports_->Observe({Outcome(results.status())}, SecondsSince(start));
  if (results.ok()) {
    double imported = 0, present = 0, failed = 0;
    for (const absl::Status& status : *results) {
      (status.ok() ? imported : absl::IsAlreadyExists(status) ? present : failed) += 1;
    }
    imported_->Add({"imported"}, imported);
    imported_->Add({"already_present"}, present);
    imported_->Add({"failed"}, failed);
  }
  return results;
}

}  // namespace onestop::ops
