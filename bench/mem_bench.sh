#!/usr/bin/env bash
# mem_bench.sh [N...] - peak memory and speed of listing + comparing N entries
# (issue 3: 10 million entries under 1 GiB peak RSS, 1 million under 256 MiB).
#
# For each N (default: 1000000 10000000) it runs
#   distcp --dry-run --json -update -delete gen://files=N,.../ gen://files=N,.../
# i.e. source and target are the same synthetic tree (gen://, nothing on
# disk): both sides are listed, the listing is sorted (spilling sorted runs to
# $TMPDIR beyond DISTCP_SORT_MEM_MB, default 128), compared in lock step (every
# target file is stat'ed) and every file is SKIPped. It measures wall time and
# peak RSS with /usr/bin/time, checks the JSON counters (SKIP == N, COPY == 0,
# DELETED == 0) and prints a table. Exit status 1 if any run FAILs.
#
# Environment: DISTCP_BIN (default build/distcp), GEN_SPEC (extra spec keys,
# default "fanout=1000,size=4096,seed=1"), DISTCP_SORT_MEM_MB (passed through),
# TMPDIR (the spill runs go to a fresh directory under it, removed afterwards).
# Needs no root.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${DISTCP_BIN:-build/distcp}
SPEC=${GEN_SPEC:-fanout=1000,size=4096,seed=1}
TIME=/usr/bin/time
[ -x "$BIN" ] || { echo "mem_bench: no binary at $BIN (run scripts/build.sh)" >&2; exit 2; }
[ -x "$TIME" ] || { echo "mem_bench: $TIME missing (apt-get install time)" >&2; exit 2; }
[ $# -gt 0 ] || set -- 1000000 10000000

work=$(mktemp -d "${TMPDIR:-/tmp}/mem_bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Peak-RSS target in MiB for N entries.
target_mib() {
    local n=$1
    if [ "$n" -le 1000000 ]; then echo 256
    elif [ "$n" -le 10000000 ]; then echo 1024
    else echo $(( (n + 9999999) / 10000000 * 1024 )); fi
}

rows=()
fail=0
for n in "$@"; do
    case $n in ''|*[!0-9]*) echo "mem_bench: '$n' is not a number" >&2; exit 2;; esac
    uri="gen://files=$n,$SPEC/"
    mkdir -p "$work/tmp"
    echo "mem_bench: N=$n: $BIN --dry-run --json -update -delete $uri $uri" >&2
    rc=0
    TMPDIR="$work/tmp" "$TIME" -f '%e %M' -o "$work/time" \
        "$BIN" --dry-run --json -update -delete "$uri" "$uri" \
        >"$work/out.json" 2>"$work/err" || rc=$?
    rm -rf "$work/tmp"
    read -r secs kib < <(tail -n 1 "$work/time")
    tgt=$(target_mib "$n")
    row=$(python3 - "$n" "$rc" "$secs" "$kib" "$tgt" "$work/out.json" <<'EOF'
import json, sys
n, rc, secs, kib, tgt, path = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), \
    int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
why = []
try:
    with open(path) as f:
        c = json.load(f)["counters"]
    if c.get("SKIP") != n: why.append(f"SKIP={c.get('SKIP')}")
    if c.get("COPY") != 0: why.append(f"COPY={c.get('COPY')}")
    if c.get("DELETED") != 0: why.append(f"DELETED={c.get('DELETED')}")
except (OSError, ValueError, KeyError) as e:
    why.append(f"no JSON counters ({e.__class__.__name__})")
if rc != 0: why.append(f"exit {rc}")
mib = kib / 1024
if mib > tgt: why.append("RSS over target")
rate = n / secs if secs > 0 else float("inf")
verdict = "PASS" if not why else "FAIL (" + ", ".join(why) + ")"
print(f"{n:>11,} {secs:>9.2f} {rate:>12,.0f} {mib:>14.1f} {tgt:>11} {verdict}")
EOF
)
    rows+=("$row")
    case $row in *FAIL*) fail=1; sed -n '1,20p' "$work/err" >&2;; esac
done

printf '%11s %9s %12s %14s %11s %s\n' entries seconds entries/s "peak RSS MiB" "target MiB" result
printf '%s\n' "${rows[@]}"
exit $fail
