#include "server/ops/metrics_dossier_store.h"

#include <chrono>
#include <string>

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
  return std::unique_ptr<MetricsDossierStore>(new MetricsDossierStore(base, *writes));
}

absl::StatusOr<onestop::v1::Dossier> MetricsDossierStore::Create(
    const storage::CreateDossierWrite& write) {
  const auto start = std::chrono::steady_clock::now();
  auto result = ForwardingDossierStore::Create(write);
  writes_->Observe({"create", Outcome(result.status())}, SecondsSince(start));
  return result;
}

absl::StatusOr<onestop::v1::Dossier> MetricsDossierStore::Update(
    const storage::UpdateDossierWrite& write) {
  const auto start = std::chrono::steady_clock::now();
  auto result = ForwardingDossierStore::Update(write);
  writes_->Observe({"update", Outcome(result.status())}, SecondsSince(start));
  return result;
}

}  // namespace onestop::ops
