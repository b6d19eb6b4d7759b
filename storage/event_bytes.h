// A change-feed event's serialization assembled from bytes a store already
// has: the dossier's stored body and the history entry's serialization.
// Copying the dossier into a DossierEvent and serializing it again cost
// the SQLite writer a copy and a second serialization of every write.
#ifndef ONESTOP_STORAGE_EVENT_BYTES_H_
#define ONESTOP_STORAGE_EVENT_BYTES_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "onestop/v1/dossier.pb.h"

namespace onestop::storage {

// The serialization of the DossierEvent {time: entry's time, action:
// `action`, dossier: the message `dossier_bytes` serializes (a dossier
// without history), entry: `entry`} without its revision; `entry_bytes` is
// `entry` serialized. Fields come in the order SerializeAsString writes
// them, so the bytes are that event's, byte for byte.
std::string EventBytesWithoutRevision(absl::string_view dossier_bytes,
                                      const onestop::v1::HistoryEntry& entry,
                                      absl::string_view entry_bytes,
                                      onestop::v1::ActionKind action);

// Sets `out` to the event `without_revision` (from EventBytesWithoutRevision)
// with `revision` (> 0) prepended: byte for byte the serialization of that
// event with `revision` set (field 1, serialized first). `out` is reused so
// a writer appending many events allocates once.
void PrependRevision(int64_t revision, absl::string_view without_revision, std::string& out);

}  // namespace onestop::storage

#endif  // ONESTOP_STORAGE_EVENT_BYTES_H_
