// The precompiled header of every onestop_add_test binary: the heavy
// third-party headers most tests include (gRPC, GoogleTest, the generated
// service stubs, Abseil). Parsing them is most of a test's compile time;
// built once per build directory and reused (tests/CMakeLists.txt,
// ONESTOP_TEST_PCH), they cut CI's build. Project headers stay out: they
// change often, and each change would rebuild the header and every test.
// Tests still include what they use; this only makes that cheaper.
#ifndef ONESTOP_TESTS_TESTING_TEST_PCH_H_
#define ONESTOP_TESTS_TESTING_TEST_PCH_H_

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "onestop/v1/dossier_service.grpc.pb.h"

#endif  // ONESTOP_TESTS_TESTING_TEST_PCH_H_
