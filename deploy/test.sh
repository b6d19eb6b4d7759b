#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite.
#   ./deploy/test.sh                 # normal build, all tests
#   ONESTOP_SANITIZE=address ./deploy/test.sh   # ASan + UBSan build
#   ONESTOP_SANITIZE=thread  ./deploy/test.sh   # TSan build
set -euo pipefail
cd "$(dirname "$0")/.."
source deploy/deps.sh
onestop_install_deps

sanitize="${ONESTOP_SANITIZE:-}"
build_dir="build"
extra=()
if [ -n "$sanitize" ]; then
  build_dir="build-$sanitize"
  extra+=("-DONESTOP_SANITIZE=$sanitize")
fi
onestop_build "$build_dir" "${extra[@]}"
cd "$build_dir"
ctest --output-on-failure -j "$(nproc)" --timeout 600
