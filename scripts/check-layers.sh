#!/usr/bin/env bash
# check-layers.sh - the house rules a compiler cannot see (docs/layout.md):
#  1. includes only point down: util <- backend <- engine <- jobs <- cmd | server | mpi | plan
#     (main.c is above everything; test code is not checked);
#  2. no engine source names a backend (it asks capability bits instead);
#  3. no DISTCP_TEST_* variable is read outside the test build: the names
#     appear only in files compiled into the test build alone (testing/ and
#     the test-only backends), never in the product's sources;
#  4. each third-party header in its one module (sqlite3.h in jobs/, mpi.h in
#     mpi/, microhttpd.h in server/).
# Exit 0 when all hold, 1 with one line per breach. Run by ctest (lint.layers).
set -uo pipefail
cd "$(dirname "$0")/../src" || exit 2

rank() {
    case "$1" in
        util) echo 0 ;;
        backend) echo 1 ;;
        engine) echo 2 ;;
        jobs) echo 3 ;;
        cmd|server|mpi|plan) echo 4 ;;
        testing) echo 5 ;;
        *) echo 9 ;;
    esac
}

bad=0
say() { echo "check-layers: $*"; bad=1; }

# 1. includes point down (same layer is fine; edges do not include each other)
while IFS= read -r f; do
    from=${f%%/*}
    [ "$from" = "$f" ] && continue          # main.c
    rf=$(rank "$from")
    while IFS= read -r line; do
        inc=${line#*\"}; inc=${inc%%\"*}
        to=${inc%%/*}
        [ "$to" = "$inc" ] && continue      # same-directory include
        rt=$(rank "$to")
        [ "$rt" = 9 ] && continue
        if [ "$rt" -gt "$rf" ] || { [ "$rt" = "$rf" ] && [ "$rt" = 4 ] && [ "$to" != "$from" ]; }; then
            say "$f includes \"$inc\": $from may not include $to (layers only point down)"
        fi
    done < <(grep -E '^[[:space:]]*#[[:space:]]*include[[:space:]]+"' "$f")
done < <(find . -name '*.[ch]' | sed 's#^\./##' | sort)

# 2. the engine never names a backend
while IFS= read -r hit; do
    say "engine names a backend: $hit"
done < <(grep -nE '"(local|mem|s3|webhdfs|gen|faulty|azure)"|backend_(local|mem|s3|webhdfs|gen|faulty)\b' engine/*.[ch])

# 3. test hooks only in the test build's own files
while IFS= read -r hit; do
    say "test hook outside the test build: $hit"
done < <(grep -rnE 'DISTCP_(TEST_[A-Z_]+|MEM_FAIL)' --include='*.[ch]' . | sed 's#^\./##' |
         grep -vE '^(testing/|backend/mem/|backend/faulty/)')

# 4. third-party headers in their one module
chk_hdr() {  # header allowed-dir
    while IFS= read -r hit; do
        case "$hit" in "$2"/*) ;; *) say "$1 outside $2/: $hit" ;; esac
    done < <(grep -rnE "#[[:space:]]*include[[:space:]]+<$1>" --include='*.[ch]' . | sed 's#^\./##')
}
chk_hdr sqlite3.h jobs
chk_hdr mpi.h mpi
chk_hdr microhttpd.h server

[ $bad = 0 ] && echo "check-layers: ok (includes point down, engine names no backend, test hooks in the test build only)"
exit $bad
