// Bulk import of historical dossiers (issue #8, docs/IMPORT.md): the pure
// checks one imported record must pass before the store writes it as it
// is, with its original code and full history. Values in, values out.
#ifndef ONESTOP_SERVER_CORE_IMPORT_H_
#define ONESTOP_SERVER_CORE_IMPORT_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "onestop/v1/dossier.pb.h"
#include "server/core/catalogue.h"

namespace onestop::core {

// Most dossiers one ImportDossiersRequest may carry.
inline constexpr int kMaxImportBatch = 1000;
// Most history entries one imported dossier may carry.
inline constexpr int kMaxImportHistory = 1000;
// Most digits of an imported code's sequence (fits an int64).
inline constexpr int kMaxCodeSequenceDigits = 18;

// An imported code split at its last '-': "000.31.01.H15-190305-0042" is
// prefix "000.31.01.H15-190305-" (the code_sequences key, as issued codes
// use it) and sequence 42.
struct ImportCode {
  std::string prefix;
  int64_t sequence = 0;
};

// Splits `code`. INVALID_ARGUMENT (field "code") if it is empty, longer
// than kMaxCodeBytes, not valid UTF-8, has control characters, or is not
// `<prefix>-<1..18 ASCII digits>` with a non-empty prefix.
absl::StatusOr<ImportCode> ParseImportCode(absl::string_view code);

// A record ready for DossierStore::ImportDossiers.
struct PreparedImport {
  // The record with etag = history size, portal_status_code = status and
  // the derived read-time fields (timeliness, slip) cleared.
  onestop::v1::Dossier dossier;
  ImportCode code;
};

// Validates one imported record against `catalogue`:
//  - code as ParseImportCode;
//  - history: 1..kMaxImportHistory entries, sequences 1..n in order, each
//    with a time (never earlier than the previous entry's), a lifecycle
//    action (not ACTION_KIND_IMPORT) and a valid, specified to_status; the
//    last entry's to_status is the dossier's status; actor and holder
//    within the code/name limits, note within the text limit;
//  - etag 0 or the number of history entries;
//  - status and channel valid and specified;
//  - procedure_code and receiving_agency_code known to the catalogue
//    (NOT_FOUND otherwise); the receiving agency existed on the local day
//    of submitted_time (the first entry's time when unset):
//    FAILED_PRECONDITION otherwise, so an agency merged away in 2025 is
//    fine for a dossier received before;
//  - texts as for SubmitDossier (applicant, summary, documents) and the
//    free texts of closing, decision and supplements within kMaxTextBytes;
//  - every instant set on the dossier or its history between 1900-01-02
//    and 9999-12-30 (the report counters' days);
//  - no components (their bytes are not part of an import; attach them
//    afterwards with UploadComponent).
// Errors are INVALID_ARGUMENT (naming the field, e.g. "history[2].time")
// unless said otherwise; messages are for the clerk fixing the file.
// `record` is taken by value and moved into the result (no copy of a
// dossier with its history on the bulk path).
absl::StatusOr<PreparedImport> PrepareImport(onestop::v1::Dossier record,
                                             const Catalogue& catalogue);

}  // namespace onestop::core

#endif  // ONESTOP_SERVER_CORE_IMPORT_H_
