#include "server/ops/build_info.h"

#include "absl/strings/str_cat.h"

// Defined by server/ops/CMakeLists.txt on this file only.
#ifndef ONESTOP_VERSION
#error "ONESTOP_VERSION must be defined by the build"
#endif

namespace onestop::ops {

const BuildInfo& GetBuildInfo() {
  static const BuildInfo* const info = new BuildInfo{
      ONESTOP_VERSION, ONESTOP_REVISION, ONESTOP_BUILD_TYPE, ONESTOP_COMPILER};
  return *info;
}

std::string VersionLine(const std::string& program) {
  const BuildInfo& info = GetBuildInfo();
  return absl::StrCat(program, " ", info.version, " (revision ", info.revision, ", ",
                      info.build_type, ", ", info.compiler, ")");
}

}  // namespace onestop::ops
