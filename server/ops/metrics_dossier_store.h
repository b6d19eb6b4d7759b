// MetricsDossierStore: a DossierStore decorator that times the writes, the
// calls that commit a transaction (Create, Update):
//
//   onestop_storage_write_seconds{op="create|update",outcome="ok|CODE"}  histogram
//
// The outcome is "ok" or the absl status code's name (e.g. "ABORTED" for a
// stale etag, "UNAVAILABLE" for a busy database). Reads are not timed: the
// gRPC latency covers them. Batch sizes of a group commit are the backend's
// to report (pending: the SQLite store does not batch yet).
//
// Ownership: does not own the base store or the registry; both must
// outlive this object.
// Thread safety: as the wrapped store.
#ifndef ONESTOP_SERVER_OPS_METRICS_DOSSIER_STORE_H_
#define ONESTOP_SERVER_OPS_METRICS_DOSSIER_STORE_H_

#include <memory>

#include "absl/status/statusor.h"
#include "server/ops/metrics.h"
#include "storage/forwarding_dossier_store.h"

namespace onestop::ops {

class MetricsDossierStore final : public storage::ForwardingDossierStore {
 public:
  // Registers the histogram in `registry` and wraps `base` (neither owned,
  // both non-null). ALREADY_EXISTS if the histogram is already registered.
  static absl::StatusOr<std::unique_ptr<MetricsDossierStore>> Wrap(
      storage::DossierStore* base, MetricsRegistry* registry);

  absl::StatusOr<onestop::v1::Dossier> Create(
      const storage::CreateDossierWrite& write) override;
  absl::StatusOr<onestop::v1::Dossier> Update(
      const storage::UpdateDossierWrite& write) override;

 private:
  MetricsDossierStore(storage::DossierStore* base, HistogramFamily* writes)
      : ForwardingDossierStore(base), writes_(writes) {}

  HistogramFamily* const writes_;
};

}  // namespace onestop::ops

#endif  // ONESTOP_SERVER_OPS_METRICS_DOSSIER_STORE_H_
