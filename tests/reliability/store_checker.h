// Invariant checks over a whole onestop database, shared by the crash and
// fault tests. They read through the DossierStore interface (so they hold
// for every backend) plus SQLite's own integrity check on the file.
#ifndef ONESTOP_TESTS_RELIABILITY_STORE_CHECKER_H_
#define ONESTOP_TESTS_RELIABILITY_STORE_CHECKER_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "onestop/v1/dossier.pb.h"
#include "storage/dossier_store.h"

namespace onestop::testing {

// Everything the store holds, read back in full.
struct StoreSnapshot {
  // By code, each with its full history.
  std::map<std::string, onestop::v1::Dossier> dossiers;
  // In revision order.
  std::vector<onestop::v1::DossierEvent> events;
  int64_t first_revision = 0;
  int64_t last_revision = 0;
};

// Reads every dossier (List pages, then Get each) and every event.
absl::StatusOr<StoreSnapshot> ReadSnapshot(storage::DossierStore& store);

// Checks the invariants every committed state must satisfy and returns one
// line per violation (empty = consistent):
// - each dossier: history sequences 1..n, n == etag, last entry's to_status
//   == status and holder == holder (no half-applied change);
// - events: revisions first..last contiguous, first == 1 (nothing compacted
//   in these tests), exactly one event per history entry (sum of history
//   sizes == number of events, and per dossier), each event equal to its
//   history entry;
// - codes unique and their sequences gap-free per prefix (1..N).
std::vector<std::string> CheckInvariants(const StoreSnapshot& snapshot);

// `PRAGMA integrity_check` on the SQLite file at `path`, opened read-only
// with the sqlite3 C API. Returns the check's output ("ok" when sound).
absl::StatusOr<std::string> SqliteIntegrityCheck(const std::string& path);

}  // namespace onestop::testing

#endif  // ONESTOP_TESTS_RELIABILITY_STORE_CHECKER_H_
