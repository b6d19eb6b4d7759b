// What this binary is: version, source revision, build type and compiler,
// fixed when CMake configured the build. Printed by `onestopd --version`,
// logged at start-up and exported as the onestop_build_info metric.
// Thread safety: immutable; safe from any thread.
#ifndef ONESTOP_SERVER_OPS_BUILD_INFO_H_
#define ONESTOP_SERVER_OPS_BUILD_INFO_H_

#include <string>

namespace onestop::ops {

struct BuildInfo {
  // The CMake project VERSION, e.g. "0.1.0".
  std::string version;
  // `git describe --always --dirty` at configure time, or "unknown" when
  // built outside a git checkout (e.g. from a source package).
  std::string revision;
  // CMAKE_BUILD_TYPE, e.g. "RelWithDebInfo".
  std::string build_type;
  // Compiler id and version, e.g. "GNU 12.2.0".
  std::string compiler;
};

// This binary's build information.
const BuildInfo& GetBuildInfo();

// One line: "PROGRAM VERSION (revision R, BUILD_TYPE, COMPILER)".
std::string VersionLine(const std::string& program);

}  // namespace onestop::ops

#endif  // ONESTOP_SERVER_OPS_BUILD_INFO_H_
