// Shared by the DossierStore backends for ImportDossiers (issue #8): the
// store-level checks of one import record, its stored body, its change-feed
// event and the "identical or different" decision for a code already
// stored. Pure functions over the proto messages.
#ifndef ONESTOP_STORAGE_IMPORT_RECORDS_H_
#define ONESTOP_STORAGE_IMPORT_RECORDS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "onestop/v1/dossier.pb.h"
#include "storage/dossier_store.h"

namespace onestop::storage {

// INVALID_ARGUMENT for the malformed records DossierStore::ImportDossiers
// lists (empty code, code not prefix + digits of code_sequence's prefix,
// empty history, sequences not 1..n, etag ≠ history size, bad deltas).
absl::Status ValidateImportWrite(const ImportDossierWrite& write);

// The dossier as stored in the body column: without history and derived
// fields.
onestop::v1::Dossier ImportedBody(const onestop::v1::Dossier& dossier);

// The import's one change-feed event (revision left 0 for the backend):
// ACTION_KIND_IMPORT, `body` as the dossier, the last history entry and
// its time. From serializations a store already has, the same bytes are
// EventBytesWithoutRevision(body bytes, last, last bytes,
// ACTION_KIND_IMPORT) (storage/event_bytes.h).
onestop::v1::DossierEvent ImportEvent(const onestop::v1::Dossier& body,
                                      const onestop::v1::HistoryEntry& last);

// What is stored under the code: etag, serialized body, serialized history
// entries in sequence order.
struct StoredImportView {
  int64_t etag = 0;
  std::string body;
  std::vector<std::string> history;
};

// ALREADY_EXISTS if `stored` is byte-for-byte what importing `write` would
// store (`body` = ImportedBody(write.dossier) serialized), else
// FAILED_PRECONDITION naming the stored version. Never OK.
absl::Status CompareWithStored(const ImportDossierWrite& write, const std::string& body,
                               const StoredImportView& stored);

}  // namespace onestop::storage

#endif  // ONESTOP_STORAGE_IMPORT_RECORDS_H_
