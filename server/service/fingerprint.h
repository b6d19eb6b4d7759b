// The idempotency fingerprint of a request: what a retry with the same
// request_id must repeat exactly (DossierManager compares it with the
// recorded one).
#ifndef ONESTOP_SERVER_SERVICE_FINGERPRINT_H_
#define ONESTOP_SERVER_SERVICE_FINGERPRINT_H_

#include <string>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include "absl/strings/string_view.h"

namespace onestop::service {

// The method name and the deterministic serialization of `request` without
// its request_id. `Request` is a message with a `request_id` field. Empty
// for a request without a request_id: nothing is recorded or compared then,
// and most calls (every benchmark submit) skip the copy and serialization.
template <typename Request>
std::string Fingerprint(absl::string_view method, const Request& request) {
  if (request.request_id().empty()) return std::string();
  Request copy = request;
  copy.clear_request_id();
  std::string bytes(method);
  bytes.push_back('\n');
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    copy.SerializeToCodedStream(&coded);
  }
  return bytes;
}

}  // namespace onestop::service

#endif  // ONESTOP_SERVER_SERVICE_FINGERPRINT_H_
