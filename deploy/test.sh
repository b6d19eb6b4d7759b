#!/usr/bin/env bash
# Installs what is missing, builds, and runs the test stages (.ci/run calls
# this and nothing else):
#   unit   the normal build (build/) and every ctest in it
#   asan   an ASan + UBSan build (build-address/) of the unit, config,
#          storage, service, reliability and corpus-replay tests (not the
#          CLI and e2e tests, to keep CI short), run by ctest; any report
#          fails the run (UBSan does not recover)
#   fuzz   a clang-14 libFuzzer build (build-fuzz/) running each fuzz target
#          for ONESTOP_FUZZ_SECONDS (default 20) over its committed corpus
#
#   ./deploy/test.sh                          # all stages
#   ONESTOP_TEST_STAGES=unit ./deploy/test.sh # only some: unit,asan,fuzz
#   ONESTOP_SANITIZE=thread ./deploy/test.sh  # one sanitized build of
#                                             # everything (thread|address);
#                                             # see docs/RELIABILITY.md for TSan
# Knobs: ONESTOP_CRASH_CYCLES (crash test kills, default 20; 6 under ASan),
# ONESTOP_CRASH_SEED, ONESTOP_FUZZ_SECONDS.
set -euo pipefail
cd "$(dirname "$0")/.."
source deploy/deps.sh

stages="${ONESTOP_TEST_STAGES:-unit,asan,fuzz}"
# Line tables only (-g1): enough for sanitizer reports, crash backtraces
# and perf, at a fifth of full debug info's object size and less compile
# time (README, "Building by hand"). ONESTOP_TEST_DEBUG_FLAGS overrides.
debug_flags="${ONESTOP_TEST_DEBUG_FLAGS:--O2 -g1 -DNDEBUG}"
has_stage() { [[ ",$stages," == *",$1,"* ]]; }
stamp() { echo "== $(date +%H:%M:%S) $*"; }
jobs="$(nproc)"

onestop_install_deps
if has_stage fuzz; then onestop_install_deps "${ONESTOP_FUZZ_PACKAGES[@]}"; fi

# A single sanitized build of everything, as before the stages existed.
if [ -n "${ONESTOP_SANITIZE:-}" ]; then
  build_dir="build-$ONESTOP_SANITIZE"
  onestop_build "$build_dir" "-DONESTOP_SANITIZE=$ONESTOP_SANITIZE" \
    "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=$debug_flags"
  if [ "$ONESTOP_SANITIZE" = thread ]; then
    export TSAN_OPTIONS="suppressions=$PWD/tests/tsan.supp halt_on_error=1 ${TSAN_OPTIONS:-}"
  fi
  cd "$build_dir"
  ctest --output-on-failure -j "$jobs" --timeout 600
  exit 0
fi

if has_stage unit; then
  stamp "unit: build/"
  onestop_build build "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=$debug_flags"
  (cd build && ctest --output-on-failure -j "$jobs" --timeout 600)
fi

if has_stage asan; then
  stamp "asan: build-address/"
  cmake -S . -B build-address -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DONESTOP_SANITIZE=address "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=$debug_flags" >/dev/null
  # The unit, storage, service and reliability tests (not the CLI, e2e,
  # packaging or the slow article replay): the code paths a sanitizer can
  # find something in, within the CI budget. The list is explicit so a new
  # test is added here on purpose.
  asan_tests=(
    clock_test log_test
    calendar_test deadline_test catalogue_test validation_test workflow_test route_test
    report_test config_loader_test
    sqlite_dossier_store_test
    dossier_service_test time_law_service_test feed_service_test report_service_test
    error_details_test status_mapping_test
    fault_injection_test hostile_input_test corpus_replay_test
    authorization_test security_store_test auth_units_test daemon_matrix_test
    sqlite_group_commit_test documents_core_test handoff_test import_metrics_test
    pg_util_test postgres_dossier_store_test import_test import_service_test
  )
  cmake --build build-address -j "$jobs" --target "${asan_tests[@]}"
  regex="^($(IFS='|'; echo "${asan_tests[*]}"))\$"
  (
    cd build-address
    export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:${ASAN_OPTIONS:-}"
    export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"
    export ONESTOP_CRASH_CYCLES="${ONESTOP_CRASH_CYCLES:-6}"
    ctest --output-on-failure -j "$jobs" --timeout 900 -R "$regex"
  )
fi

if has_stage fuzz; then
  stamp "fuzz: build-fuzz/ (clang-14 + libFuzzer + ASan/UBSan)"
  targets=(submit_action config page_token)
  cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_COMPILER=clang++-14 -DONESTOP_SANITIZE=address \
    -DCMAKE_CXX_FLAGS=-fsanitize=fuzzer-no-link -DONESTOP_FUZZ=ON \
    "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=$debug_flags" >/dev/null
  cmake --build build-fuzz -j "$jobs" --target "${targets[@]/%/_fuzzer}"
  seconds="${ONESTOP_FUZZ_SECONDS:-15}"
  for target in "${targets[@]}"; do
    stamp "fuzz: ${target}_fuzzer for ${seconds}s"
    # New inputs go to a scratch directory, never into the source tree.
    scratch="build-fuzz/fuzz-work/$target"
    artifacts="build-fuzz/fuzz-artifacts/$target/"
    rm -rf "$scratch"
    mkdir -p "$scratch" "$artifacts"
    if ! UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
        "build-fuzz/tests/fuzz/${target}_fuzzer" -max_total_time="$seconds" -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$artifacts" \
        "$scratch" "tests/fuzz/corpus/$target" 2>"build-fuzz/fuzz-$target.log"; then
      tail -n 60 "build-fuzz/fuzz-$target.log" >&2
      echo "fuzz: ${target}_fuzzer failed; the input is in $artifacts." >&2
      echo "Copy it into tests/fuzz/corpus/$target/ so corpus_replay_test keeps it." >&2
      exit 1
    fi
    grep -E "^stat::number_of_executed_units|^stat::new_units_added" \
      "build-fuzz/fuzz-$target.log" || true
  done
fi
stamp "done"
