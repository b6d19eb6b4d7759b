#include "tests/reliability/store_checker.h"

#include <sqlite3.h>

#include <set>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/message_differencer.h"

namespace onestop::testing {
namespace {

using onestop::v1::Dossier;
using onestop::v1::DossierEvent;

// Splits "PREFIX-NNNN" at the last '-'.
bool SplitCode(const std::string& code, std::string* prefix, int64_t* sequence) {
  const size_t dash = code.rfind('-');
  if (dash == std::string::npos) return false;
  *prefix = code.substr(0, dash + 1);
  return absl::SimpleAtoi(code.substr(dash + 1), sequence);
}

}  // namespace

absl::StatusOr<StoreSnapshot> ReadSnapshot(storage::DossierStore& store) {
  StoreSnapshot snapshot;
  storage::DossierQuery query;
  query.page_size = 500;
  while (true) {
    absl::StatusOr<storage::DossierPage> page = store.List(query);
    if (!page.ok()) return page.status();
    for (const Dossier& listed : page->dossiers) {
      absl::StatusOr<Dossier> full = store.Get(listed.code());
      if (!full.ok()) return full.status();
      if (!snapshot.dossiers.emplace(listed.code(), *std::move(full)).second) {
        return absl::InternalError(absl::StrCat("List returned ", listed.code(), " twice"));
      }
    }
    if (!page->more) break;
    query.before_position = page->last_position;
  }
  absl::StatusOr<int64_t> first = store.FirstRevision();
  if (!first.ok()) return first.status();
  absl::StatusOr<int64_t> last = store.LastRevision();
  if (!last.ok()) return last.status();
  snapshot.first_revision = *first;
  snapshot.last_revision = *last;
  int64_t after = 0;
  while (true) {
    absl::StatusOr<std::vector<DossierEvent>> batch = store.ReadEvents(after, 1000);
    if (!batch.ok()) return batch.status();
    if (batch->empty()) break;
    after = batch->back().revision();
    for (DossierEvent& event : *batch) snapshot.events.push_back(std::move(event));
  }
  return snapshot;
}

std::vector<std::string> CheckInvariants(const StoreSnapshot& snapshot) {
  std::vector<std::string> problems;
  int64_t history_total = 0;
  std::map<std::string, std::set<int64_t>> sequences_by_prefix;
  for (const auto& [code, dossier] : snapshot.dossiers) {
    const int n = dossier.history_size();
    history_total += n;
    if (n != dossier.etag()) {
      problems.push_back(absl::StrCat(code, ": ", n, " history entries but etag ", dossier.etag()));
    }
    for (int i = 0; i < n; ++i) {
      if (dossier.history(i).sequence() != i + 1) {
        problems.push_back(absl::StrCat(code, ": history[", i, "] has sequence ",
                                        dossier.history(i).sequence()));
      }
    }
    if (n == 0) {
      problems.push_back(absl::StrCat(code, ": no history"));
    } else {
      const auto& last = dossier.history(n - 1);
      if (last.to_status() != dossier.status()) {
        problems.push_back(absl::StrCat(code, ": status ", dossier.status(),
                                        " but the last history entry goes to ",
                                        last.to_status()));
      }
      if (last.holder_agency_code() != dossier.holder_agency_code()) {
        problems.push_back(absl::StrCat(code, ": holder ", dossier.holder_agency_code(),
                                        " but the last history entry says ",
                                        last.holder_agency_code()));
      }
    }
    std::string prefix;
    int64_t sequence = 0;
    if (!SplitCode(code, &prefix, &sequence)) {
      problems.push_back(absl::StrCat("malformed code ", code));
    } else if (!sequences_by_prefix[prefix].insert(sequence).second) {
      problems.push_back(absl::StrCat("sequence ", sequence, " issued twice for ", prefix));
    }
  }
  for (const auto& [prefix, sequences] : sequences_by_prefix) {
    // A std::set is sorted and unique: 1..N iff it starts at 1 and ends at N.
    if (*sequences.begin() != 1 || *sequences.rbegin() != static_cast<int64_t>(sequences.size())) {
      problems.push_back(absl::StrCat("codes for ", prefix, " are not 1..", sequences.size(),
                                      " (from ", *sequences.begin(), " to ",
                                      *sequences.rbegin(), ")"));
    }
  }

  if (snapshot.first_revision != 1 && !snapshot.events.empty()) {
    problems.push_back(absl::StrCat("first revision is ", snapshot.first_revision));
  }
  if (static_cast<int64_t>(snapshot.events.size()) != snapshot.last_revision) {
    problems.push_back(absl::StrCat(snapshot.events.size(), " events but last revision ",
                                    snapshot.last_revision));
  }
  if (static_cast<int64_t>(snapshot.events.size()) != history_total) {
    problems.push_back(absl::StrCat(snapshot.events.size(), " events but ", history_total,
                                    " history entries"));
  }
  std::map<std::string, int> events_per_dossier;
  for (size_t i = 0; i < snapshot.events.size(); ++i) {
    const DossierEvent& event = snapshot.events[i];
    if (event.revision() != static_cast<int64_t>(i) + 1) {
      problems.push_back(absl::StrCat("event #", i + 1, " has revision ", event.revision()));
      break;
    }
    const std::string& code = event.dossier().code();
    const int ordinal = ++events_per_dossier[code];
    auto it = snapshot.dossiers.find(code);
    if (it == snapshot.dossiers.end()) {
      problems.push_back(absl::StrCat("event ", event.revision(), " names unknown dossier ", code));
      continue;
    }
    if (ordinal > it->second.history_size()) {
      problems.push_back(absl::StrCat("event ", event.revision(), ": more events than history for ",
                                      code));
      continue;
    }
    if (!google::protobuf::util::MessageDifferencer::Equals(event.entry(),
                                                            it->second.history(ordinal - 1))) {
      problems.push_back(absl::StrCat("event ", event.revision(), " differs from history entry ",
                                      ordinal, " of ", code));
    }
    if (event.dossier().etag() != ordinal) {
      problems.push_back(absl::StrCat("event ", event.revision(), " of ", code, " carries etag ",
                                      event.dossier().etag(), ", expected ", ordinal));
    }
  }
  for (const auto& [code, dossier] : snapshot.dossiers) {
    if (events_per_dossier[code] != dossier.history_size()) {
      problems.push_back(absl::StrCat(code, ": ", events_per_dossier[code], " events for ",
                                      dossier.history_size(), " history entries"));
    }
  }
  return problems;
}

absl::StatusOr<std::string> SqliteIntegrityCheck(const std::string& path) {
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    return absl::InternalError(absl::StrCat("cannot open ", path, ": ", message));
  }
  std::string result;
  sqlite3_stmt* stmt = nullptr;
  int step = sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &stmt, nullptr);
  if (step == SQLITE_OK) {
    while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
      if (!result.empty()) result += "\n";
      result += reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    }
  }
  std::string error = step == SQLITE_DONE ? "" : sqlite3_errmsg(db);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  if (!error.empty()) {
    return absl::InternalError(absl::StrCat("integrity_check on ", path, ": ", error));
  }
  return result;
}

}  // namespace onestop::testing
