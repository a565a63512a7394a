#!/usr/bin/env bash
# test.sh - the whole test suite: install what is missing, build normally and
# with ASan+UBSan, run ctest (unit tests, backend conformance, end-to-end) on both.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
jobs=$(nproc)
echo "== build (release, -Werror)"
bash scripts/build.sh build
echo "== ctest (release)"
(cd build && ctest --output-on-failure -j "$jobs")
echo "== build (ASan+UBSan, -Werror)"
bash scripts/build.sh build-asan -DDISTCP_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
echo "== ctest (ASan+UBSan)"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
(cd build-asan && DISTCP_SANITIZED=1 ctest --output-on-failure -j "$jobs")
