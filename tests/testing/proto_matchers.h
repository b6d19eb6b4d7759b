// gMock matchers for protobuf messages.
#ifndef ONESTOP_TESTS_TESTING_PROTO_MATCHERS_H_
#define ONESTOP_TESTS_TESTING_PROTO_MATCHERS_H_

#include <string>

#include <gmock/gmock.h>
#include <google/protobuf/util/message_differencer.h>

namespace onestop::testing {

// The argument equals `expected` field by field (MessageDifferencer); a
// mismatch explains which fields differ.
MATCHER_P(EqualsProto, expected, "equals " + expected.ShortDebugString()) {
  std::string diff;
  google::protobuf::util::MessageDifferencer differencer;
  differencer.ReportDifferencesToString(&diff);
  if (differencer.Compare(expected, arg)) return true;
  *result_listener << "which differs: " << diff;
  return false;
}

}  // namespace onestop::testing

#endif  // ONESTOP_TESTS_TESTING_PROTO_MATCHERS_H_
