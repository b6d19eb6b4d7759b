// libFuzzer target: onestop::fuzz::FuzzPageToken (see tests/fuzz/fuzz_entries.h).
//   page_token_fuzzer -max_total_time=20 tests/fuzz/corpus/page_token
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "tests/fuzz/fuzz_entries.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string problem =
      onestop::fuzz::FuzzPageToken(absl::string_view(reinterpret_cast<const char*>(data), size));
  if (!problem.empty()) {
    std::fprintf(stderr, "property violated: %s\n", problem.c_str());
    std::abort();
  }
  return 0;
}
