// Conversions between google.protobuf.Timestamp and absl::Time, the one
// pair every layer uses. An unset Timestamp (0, 0) is the Unix epoch; use
// has_*() on the message to tell "unset".
#ifndef ONESTOP_SERVER_UTIL_PROTO_TIME_H_
#define ONESTOP_SERVER_UTIL_PROTO_TIME_H_

#include <google/protobuf/timestamp.pb.h>

#include "absl/time/time.h"

namespace onestop {

inline absl::Time FromProtoTime(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

inline google::protobuf::Timestamp ToProtoTime(absl::Time t) {
  google::protobuf::Timestamp ts;
  const int64_t seconds = absl::ToUnixSeconds(t);
  ts.set_seconds(seconds);
  ts.set_nanos(static_cast<int32_t>(
      absl::ToInt64Nanoseconds(t - absl::FromUnixSeconds(seconds))));
  return ts;
}

}  // namespace onestop

#endif  // ONESTOP_SERVER_UTIL_PROTO_TIME_H_
