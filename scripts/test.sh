#!/usr/bin/env bash
# test.sh - the whole test suite: install what is missing, build the test build
# (-DDISTCP_TESTING=ON: test-only backends and hooks) normally and with
# ASan+UBSan, run ctest (unit tests, backend conformance, end-to-end, lint) on
# both (the slow scale tests once, in the release pass), print the ten slowest
# tests of each pass and one closing line.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
jobs=$(nproc)
echo "== build (release, test build: -DDISTCP_TESTING=ON, -Werror)"
bash scripts/build.sh build-test -DDISTCP_TESTING=ON
echo "== ctest (release)"
(cd build-test && ctest --output-on-failure -j "$jobs" | tee ctest.out)
echo "== build (ASan+UBSan, -Werror)"
bash scripts/build.sh build-asan -DDISTCP_TESTING=ON -DDISTCP_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
echo "== ctest (ASan+UBSan)"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# the scale tests (label "scale") ran in the release pass; not again under ASan
(cd build-asan && DISTCP_SANITIZED=1 ctest --output-on-failure -j "$jobs" -LE scale | tee ctest.out)
slowest() {  # the ten slowest tests of a ctest run, from its summary lines
  echo "== ten slowest tests ($1)"
  grep -E '^ *[0-9]+/[0-9]+ Test +#' "$1/ctest.out" |
    sed -E 's/.*Test +#[0-9]+: ([^ ]+) .* ([0-9.]+) sec.*/\2 \1/' | sort -rn | head -10 |
    awk '{ printf "  %8.1f s  %s\n", $1, $2 }'
}
slowest build-test
slowest build-asan
# one closing line over both runs (ctest's own "N tests failed out of M" per run is above)
tot=0; failed=0
for d in build-test build-asan; do
  l=$(grep -E 'tests passed, [0-9]+ tests? failed out of [0-9]+' "$d/ctest.out" | tail -1)
  f=$(echo "$l" | sed -E 's/.*passed, ([0-9]+) tests? failed out of ([0-9]+).*/\1/')
  n=$(echo "$l" | sed -E 's/.*failed out of ([0-9]+).*/\1/')
  tot=$((tot + n)); failed=$((failed + f))
done
echo "tests: $((tot - failed)) passed, $failed failed"
