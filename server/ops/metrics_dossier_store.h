// MetricsDossierStore: a DossierStore decorator that times the writes, the
// calls that commit a transaction (Create, Update, ImportDossiers):
//
//   onestop_storage_write_seconds{op="create|update",outcome="ok|CODE"}  histogram
//   onestop_storage_import_seconds{outcome="ok|CODE"}                    histogram
//   onestop_storage_imported_dossiers_total{outcome="imported|already_present|failed"}  counter
//
// An import is one observation per call (a request of up to 1,000
// dossiers in one transaction, tens of milliseconds): a histogram of its
// own, so that it does not move the commit latency of the desks' writes
// that alerts watch. The counter adds up the records by their own results.
//
// The outcome is "ok" or the absl status code's name (e.g. "ABORTED" for a
// stale etag, "UNAVAILABLE" for a busy database). Reads are not timed: the
// gRPC latency covers them. Batch sizes of a group commit are the backend's
// to report (SQLite: onestop_storage_commit_*, server/ops/storage_backend.cc).
//
// Ownership: does not own the base store or the registry; both must
// outlive this object.
// Thread safety: as the wrapped store.
#ifndef ONESTOP_SERVER_OPS_METRICS_DOSSIER_STORE_H_
#define ONESTOP_SERVER_OPS_METRICS_DOSSIER_STORE_H_

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "server/ops/metrics.h"
#include "storage/forwarding_dossier_store.h"

namespace onestop::ops {

class MetricsDossierStore final : public storage::ForwardingDossierStore {
 public:
  // Registers the families in `registry` and wraps `base` (neither owned,
  // both non-null). ALREADY_EXISTS if a family is already registered.
  static absl::StatusOr<std::unique_ptr<MetricsDossierStore>> Wrap(
      storage::DossierStore* base, MetricsRegistry* registry);

  absl::StatusOr<onestop::v1::Dossier> Create(
      const storage::CreateDossierWrite& write) override;
  // Times from the call to the answer (the commit), like Create.
  void CreateAsync(storage::CreateDossierWrite write, WriteDone done) override;
  void UpdateAsync(storage::UpdateDossierWrite write, WriteDone done) override;
  bool QueuesAsyncWrites() const override { return base().QueuesAsyncWrites(); }
  // Forwarded: this decorator does not change Get.
  std::optional<onestop::v1::Dossier> GetFromMemory(const std::string& code) override {
    return base().GetFromMemory(code);
  }
  absl::StatusOr<onestop::v1::Dossier> Update(
      const storage::UpdateDossierWrite& write) override;
  absl::StatusOr<std::vector<absl::Status>> ImportDossiers(
      std::vector<storage::ImportDossierWrite> writes) override;

 private:
  MetricsDossierStore(storage::DossierStore* base, HistogramFamily* writes,
                      HistogramFamily* imports, CounterFamily* imported)
      : ForwardingDossierStore(base),
        writes_(writes),
        imports_(imports),
        imported_(imported),
        created_ok_(writes->Child({"create", "ok"})),
        updated_ok_(writes->Child({"update", "ok"})) {}
  // Times a write into `ok` if it succeeded, else by its error code.
  void ObserveWrite(const char* op, HistogramChild* ok, const absl::Status& status,
                    double seconds);
  // `done` after observing the time from now to the answer.
  WriteDone TimedThen(const char* op, HistogramChild* ok, WriteDone done);

  HistogramFamily* const writes_;
  HistogramFamily* const imports_;
  CounterFamily* const imported_;
  // The successful writes' series, resolved once (the per-write path takes
  // no lock of the family).
  HistogramChild* const created_ok_;
  HistogramChild* const updated_ok_;
};

}  // namespace onestop::ops

#endif  // ONESTOP_SERVER_OPS_METRICS_DOSSIER_STORE_H_
