#include "storage/import_records.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "storage/counter_buckets.h"

namespace onestop::storage {

using ::onestop::v1::Dossier;
using ::onestop::v1::DossierEvent;
using ::onestop::v1::HistoryEntry;

absl::Status ValidateImportWrite(const ImportDossierWrite& write) {
  const Dossier& d = write.dossier;
  if (d.code().empty()) {
    return absl::InvalidArgumentError("an imported dossier needs its original code");
  }
  int64_t number = -1;
  if (write.code_prefix.empty() || !absl::StartsWith(d.code(), write.code_prefix) ||
      !absl::SimpleAtoi(absl::string_view(d.code()).substr(write.code_prefix.size()), &number) ||
      number != write.code_sequence || write.code_sequence < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "imported code ", d.code(), " is not its prefix \"", write.code_prefix,
        "\" followed by the number ", write.code_sequence));
  }
  if (d.history_size() == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("imported dossier ", d.code(), " has no history"));
  }
  for (int i = 0; i < d.history_size(); ++i) {
    if (d.history(i).sequence() != i + 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("imported dossier ", d.code(), ": history entry ", i + 1, " has sequence ",
                       d.history(i).sequence()));
    }
  }
  if (d.etag() != d.history_size()) {
    return absl::InvalidArgumentError(absl::StrCat("imported dossier ", d.code(), " has etag ",
                                                   d.etag(), " but ", d.history_size(),
                                                   " history entries"));
  }
  return ValidateCounterDeltas(write.counter_deltas);
}

Dossier ImportedBody(const Dossier& dossier) {
  Dossier body = dossier;
  body.clear_history();
  body.clear_timeliness();
  body.clear_slip();
  return body;
}

DossierEvent ImportEvent(const Dossier& body, const HistoryEntry& last) {
  DossierEvent event;
  if (last.has_time()) *event.mutable_time() = last.time();
  event.set_action(onestop::v1::ACTION_KIND_IMPORT);
  *event.mutable_dossier() = body;
  event.mutable_dossier()->clear_history();
  *event.mutable_entry() = last;
  return event;
}

absl::Status CompareWithStored(const ImportDossierWrite& write, const std::string& body,
                               const StoredImportView& stored) {
  const Dossier& d = write.dossier;
  bool same = stored.etag == d.etag() && stored.body == body &&
              static_cast<int>(stored.history.size()) == d.history_size();
  for (int i = 0; same && i < d.history_size(); ++i) {
    same = stored.history[static_cast<size_t>(i)] == d.history(i).SerializeAsString();
  }
  if (same) {
    return absl::AlreadyExistsError(
        absl::StrCat("dossier ", d.code(), " was already imported with the same content; skipped"));
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "a different dossier with code ", d.code(), " is already stored (version ", stored.etag,
      ", ", stored.history.size(),
      " history entries); it was kept as it is: check which system's record is right"));
}

}  // namespace onestop::storage
