#include "tests/testing/fault_injecting_dossier_store.h"

#include <utility>

namespace onestop::testing {

absl::Status BusyError() {
  return absl::UnavailableError("database is busy during injected fault; retry (database is locked)");
}

absl::Status DiskFullError() {
  return absl::ResourceExhaustedError(
      "disk full during injected fault (database or disk is full)");
}

absl::Status IoError() {
  return absl::UnavailableError(
      "the database could not be read or written during injected fault (disk I/O error); "
      "nothing was changed: retry shortly, and if it persists the operator should check the "
      "disk (disk I/O error)");
}

FaultInjectingDossierStore::FaultInjectingDossierStore(storage::DossierStore* base)
    : base_(base) {}

void FaultInjectingDossierStore::FailNext(StoreMethod method, int count, absl::Status status,
                                          FaultTiming timing) {
  absl::MutexLock lock(&mu_);
  for (int i = 0; i < count; ++i) {
    faults_[static_cast<int>(method)].push_back(Fault{0, status, timing});
  }
}

void FaultInjectingDossierStore::FailNth(StoreMethod method, int nth, absl::Status status,
                                         FaultTiming timing) {
  absl::MutexLock lock(&mu_);
  faults_[static_cast<int>(method)].push_back(Fault{nth > 1 ? nth - 1 : 0, std::move(status),
                                                    timing});
}

void FaultInjectingDossierStore::ClearFaults() {
  absl::MutexLock lock(&mu_);
  for (auto& queue : faults_) queue.clear();
}

int64_t FaultInjectingDossierStore::calls(StoreMethod method) const {
  absl::MutexLock lock(&mu_);
  return calls_[static_cast<int>(method)];
}

int64_t FaultInjectingDossierStore::injected(StoreMethod method) const {
  absl::MutexLock lock(&mu_);
  return injected_[static_cast<int>(method)];
}

int FaultInjectingDossierStore::pending() const {
  absl::MutexLock lock(&mu_);
  int total = 0;
  for (const auto& queue : faults_) total += static_cast<int>(queue.size());
  return total;
}

FaultInjectingDossierStore::Decision FaultInjectingDossierStore::OnCall(StoreMethod method) {
  const int index = static_cast<int>(method);
  absl::MutexLock lock(&mu_);
  ++calls_[index];
  Decision decision;
  auto& queue = faults_[index];
  for (auto it = queue.begin(); it != queue.end(); ++it) {
    if (it->skip == 0) {
      decision = Decision{it->status, it->timing};
      queue.erase(it);
      ++injected_[index];
      break;
    }
  }
  // This call counts for every fault still waiting for its turn.
  for (Fault& fault : queue) {
    if (fault.skip > 0) --fault.skip;
  }
  return decision;
}

template <typename T, typename Forward>
absl::StatusOr<T> FaultInjectingDossierStore::Intercept(StoreMethod method, Forward forward) {
  const Decision decision = OnCall(method);
  if (decision.status.ok()) return forward();
  if (decision.timing == FaultTiming::kAfterForwarding) {
    // The base call's result, committed or not, is dropped.
    absl::StatusOr<T> ignored = forward();
    (void)ignored;
  }
  return decision.status;
}

absl::StatusOr<onestop::v1::Dossier> FaultInjectingDossierStore::Create(
    const storage::CreateDossierWrite& write) {
  return Intercept<onestop::v1::Dossier>(StoreMethod::kCreate,
                                         [&] { return base_->Create(write); });
}

absl::StatusOr<onestop::v1::Dossier> FaultInjectingDossierStore::Update(
    const storage::UpdateDossierWrite& write) {
  return Intercept<onestop::v1::Dossier>(StoreMethod::kUpdate,
                                         [&] { return base_->Update(write); });
}

absl::StatusOr<onestop::v1::Dossier> FaultInjectingDossierStore::Get(const std::string& code) {
  return Intercept<onestop::v1::Dossier>(StoreMethod::kGet, [&] { return base_->Get(code); });
}

absl::StatusOr<storage::DossierPage> FaultInjectingDossierStore::List(
    const storage::DossierQuery& query) {
  return Intercept<storage::DossierPage>(StoreMethod::kList, [&] { return base_->List(query); });
}

absl::StatusOr<std::optional<storage::RecordedRequest>> FaultInjectingDossierStore::FindRequest(
    const std::string& request_id) {
  return Intercept<std::optional<storage::RecordedRequest>>(
      StoreMethod::kFindRequest, [&] { return base_->FindRequest(request_id); });
}

absl::StatusOr<std::vector<onestop::v1::DossierEvent>> FaultInjectingDossierStore::ReadEvents(
    int64_t after_revision, int limit) {
  return Intercept<std::vector<onestop::v1::DossierEvent>>(
      StoreMethod::kReadEvents, [&] { return base_->ReadEvents(after_revision, limit); });
}

absl::StatusOr<int64_t> FaultInjectingDossierStore::LastRevision() {
  return Intercept<int64_t>(StoreMethod::kLastRevision, [&] { return base_->LastRevision(); });
}

absl::StatusOr<int64_t> FaultInjectingDossierStore::FirstRevision() {
  return Intercept<int64_t>(StoreMethod::kFirstRevision, [&] { return base_->FirstRevision(); });
}

absl::StatusOr<int64_t> FaultInjectingDossierStore::CompactEvents(int64_t before_revision) {
  return Intercept<int64_t>(StoreMethod::kCompactEvents,
                            [&] { return base_->CompactEvents(before_revision); });
}

}  // namespace onestop::testing
