// FaultInjectingDossierStore: a DossierStore decorator for tests that makes
// chosen calls fail with a chosen absl::Status, the way the real backend
// fails under SQLITE_BUSY (UNAVAILABLE), a full disk (RESOURCE_EXHAUSTED)
// or an I/O error (UNAVAILABLE). Every other call is forwarded unchanged.
//
//   storage::SqliteDossierStore real = …;
//   testing::FaultInjectingDossierStore store(&real);
//   store.FailNext(testing::StoreMethod::kUpdate, 2, testing::BusyError());
//   // the next two Update calls fail without reaching `real`
//   store.FailNth(testing::StoreMethod::kCreate, 3, testing::DiskFullError());
//   // the third Create from now fails; the first two go through
//   store.FailNext(testing::StoreMethod::kUpdate, 1, testing::BusyError(),
//                  testing::FaultTiming::kAfterForwarding);
//   // the next Update is committed by `real`, but its caller sees
//   // UNAVAILABLE (an acknowledgement lost on the way back)
//
// A fault is consumed by the call it fails. Faults for one method are kept
// in the order they were added, each with its own countdown of calls to
// let through first; the first fault whose countdown has reached zero
// fires.
//
// Thread safety: all methods, the DossierStore ones and the fault controls,
// may be called concurrently. `base` must outlive the decorator.
#ifndef ONESTOP_TESTS_TESTING_FAULT_INJECTING_DOSSIER_STORE_H_
#define ONESTOP_TESTS_TESTING_FAULT_INJECTING_DOSSIER_STORE_H_

#include <array>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "storage/dossier_store.h"

namespace onestop::testing {

// The DossierStore methods a fault can target.
enum class StoreMethod {
  kCreate,
  kUpdate,
  kGet,
  kList,
  kFindRequest,
  kReadEvents,
  kLastRevision,
  kFirstRevision,
  kCompactEvents,
};
inline constexpr int kStoreMethodCount = 9;

// Whether the failing call reaches the wrapped store.
enum class FaultTiming {
  // The call fails without reaching the base store: nothing happens.
  kBeforeForwarding,
  // The call is forwarded (and may commit); its result is replaced by the
  // fault's status. Models a reply lost after the commit.
  kAfterForwarding,
};

// Statuses shaped like the SQLite backend's (storage/sqlite/sqlite_util.cc).
absl::Status BusyError();      // UNAVAILABLE, as from SQLITE_BUSY
absl::Status DiskFullError();  // RESOURCE_EXHAUSTED, as from SQLITE_FULL
absl::Status IoError();        // UNAVAILABLE, as from SQLITE_IOERR

class FaultInjectingDossierStore final : public storage::DossierStore {
 public:
  explicit FaultInjectingDossierStore(storage::DossierStore* base);

  // The next `count` calls of `method` fail with `status` (not OK).
  void FailNext(StoreMethod method, int count, absl::Status status,
                FaultTiming timing = FaultTiming::kBeforeForwarding);
  // The `nth` call of `method` from now (1 = the next one) fails once with
  // `status`; the calls before it are forwarded.
  void FailNth(StoreMethod method, int nth, absl::Status status,
               FaultTiming timing = FaultTiming::kBeforeForwarding);
  // Removes every pending fault.
  void ClearFaults();

  // Calls of `method` made so far, and how many of them were failed.
  int64_t calls(StoreMethod method) const;
  int64_t injected(StoreMethod method) const;
  // Pending faults, all methods.
  int pending() const;

  absl::StatusOr<onestop::v1::Dossier> Create(const storage::CreateDossierWrite& write) override;
  absl::StatusOr<onestop::v1::Dossier> Update(const storage::UpdateDossierWrite& write) override;
  absl::StatusOr<onestop::v1::Dossier> Get(const std::string& code) override;
  absl::StatusOr<storage::DossierPage> List(const storage::DossierQuery& query) override;
  absl::StatusOr<std::optional<storage::RecordedRequest>> FindRequest(
      const std::string& request_id) override;
  absl::StatusOr<std::vector<onestop::v1::DossierEvent>> ReadEvents(int64_t after_revision,
                                                                    int limit) override;
  absl::StatusOr<int64_t> LastRevision() override;
  absl::StatusOr<int64_t> FirstRevision() override;
  absl::StatusOr<int64_t> CompactEvents(int64_t before_revision) override;
  // Forwarded without faults: report reads are not what these tests inject.
  absl::StatusOr<std::vector<storage::CounterSums>> SumCounters(
      const storage::CounterQuery& query) override {
    return base_->SumCounters(query);
  }
  // Forwarded without faults, like SumCounters (a metrics read).
  absl::StatusOr<storage::DossierCounts> CountDossiers(
      const storage::CountQuery& query) override {
    return base_->CountDossiers(query);
  }

 private:
  struct Fault {
    int skip = 0;  // calls to let through before this fault fires
    absl::Status status;
    FaultTiming timing = FaultTiming::kBeforeForwarding;
  };
  struct Decision {
    absl::Status status;  // OK = no fault
    FaultTiming timing = FaultTiming::kBeforeForwarding;
  };

  // Counts the call and consumes the fault it triggers, if any.
  Decision OnCall(StoreMethod method);

  // Runs `forward` under the fault decided for `method`.
  template <typename T, typename Forward>
  absl::StatusOr<T> Intercept(StoreMethod method, Forward forward);

  storage::DossierStore* const base_;
  mutable absl::Mutex mu_;
  std::array<std::deque<Fault>, kStoreMethodCount> faults_ ABSL_GUARDED_BY(mu_);
  std::array<int64_t, kStoreMethodCount> calls_ ABSL_GUARDED_BY(mu_){};
  std::array<int64_t, kStoreMethodCount> injected_ ABSL_GUARDED_BY(mu_){};
};

}  // namespace onestop::testing

#endif  // ONESTOP_TESTS_TESTING_FAULT_INJECTING_DOSSIER_STORE_H_
