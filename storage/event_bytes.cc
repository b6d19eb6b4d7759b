#include "storage/event_bytes.h"

#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/wire_format_lite.h"

namespace onestop::storage {
namespace {

using ::google::protobuf::internal::WireFormatLite;

// The wire format's field numbers of DossierEvent (proto/onestop/v1/dossier.proto).
constexpr int kEventRevisionField = 1;
constexpr int kEventDossierField = 4;
constexpr int kEventEntryField = 5;

void AppendLengthDelimited(int field, absl::string_view bytes, std::string& out) {
  google::protobuf::io::StringOutputStream stream(&out);
  google::protobuf::io::CodedOutputStream coded(&stream);
  coded.WriteTag(WireFormatLite::MakeTag(field, WireFormatLite::WIRETYPE_LENGTH_DELIMITED));
  coded.WriteVarint32(static_cast<uint32_t>(bytes.size()));
  coded.WriteRaw(bytes.data(), static_cast<int>(bytes.size()));
}

}  // namespace

std::string EventBytesWithoutRevision(absl::string_view dossier_bytes,
                                      const onestop::v1::HistoryEntry& entry,
                                      absl::string_view entry_bytes,
                                      onestop::v1::ActionKind action) {
  // Fields 2 (time) and 3 (action) as the message serializes them, then 4
  // and 5.
  onestop::v1::DossierEvent head;
  if (entry.has_time()) *head.mutable_time() = entry.time();
  head.set_action(action);
  std::string out = head.SerializeAsString();
  out.reserve(out.size() + dossier_bytes.size() + entry_bytes.size() + 16);
  AppendLengthDelimited(kEventDossierField, dossier_bytes, out);
  AppendLengthDelimited(kEventEntryField, entry_bytes, out);
  return out;
}

void PrependRevision(int64_t revision, absl::string_view without_revision, std::string& out) {
  out.clear();
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.WriteTag(WireFormatLite::MakeTag(kEventRevisionField, WireFormatLite::WIRETYPE_VARINT));
    coded.WriteVarint64(static_cast<uint64_t>(revision));
  }
  out.append(without_revision.data(), without_revision.size());
}

}  // namespace onestop::storage
