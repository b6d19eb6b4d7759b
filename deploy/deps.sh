#!/usr/bin/env bash
# Installs the Debian 12 packages onestop needs to build and test, if any is
# missing. Sourced by quickstart.sh and test.sh; safe to run repeatedly.
set -euo pipefail

ONESTOP_PACKAGES=(
  build-essential cmake ninja-build pkg-config
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev libsqlite3-dev libgtest-dev libgmock-dev libcli11-dev
  tzdata libcpp-httplib-dev python3 python3-grpcio python3-protobuf openssl
  golang-github-gogo-googleapis-dev libxlsxwriter-dev
  libpq-dev postgresql-15 nginx-light libtcmalloc-minimal4
)

# Only for the fuzz stage of deploy/test.sh (libFuzzer ships in
# libclang-rt-14-dev as libclang_rt.fuzzer).
ONESTOP_FUZZ_PACKAGES=(clang-14 libclang-rt-14-dev)

# Installs the given packages (default: ONESTOP_PACKAGES) that are missing.
onestop_install_deps() {
  local wanted=("$@")
  if [ ${#wanted[@]} -eq 0 ]; then wanted=("${ONESTOP_PACKAGES[@]}"); fi
  local missing=()
  for pkg in "${wanted[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$pkg")
    fi
  done
  if [ ${#missing[@]} -eq 0 ]; then
    return 0
  fi
  echo "Installing: ${missing[*]}"
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
}

# Configures and builds into $1 (default: build/) with extra CMake args.
# ONESTOP_BUILD_TARGETS (space-separated) limits the build to those targets.
onestop_build() {
  local build_dir="${1:-build}"
  shift || true
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
  local targets=()
  if [ -n "${ONESTOP_BUILD_TARGETS:-}" ]; then
    read -r -a targets <<<"$ONESTOP_BUILD_TARGETS"
    cmake --build "$build_dir" -j "$(nproc)" --target "${targets[@]}"
  else
    cmake --build "$build_dir" -j "$(nproc)"
  fi
}
