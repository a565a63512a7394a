#!/usr/bin/env bash
# quickstart.sh - on a fresh Debian 12 machine: install what is missing, build,
# generate a sample tree and copy it with distcp, printing the job summary.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh build -DDISTCP_TESTING=OFF
sample=${SAMPLE_DIR:-.sample}
rm -rf "$sample"
mkdir -p "$sample/src"
/usr/bin/python3 - "$sample/src" <<'PY'
import os, random, sys
root = sys.argv[1]; r = random.Random(7)
for d in range(20):
    dd = os.path.join(root, "dir%02d" % d); os.makedirs(dd)
    for f in range(100):
        with open(os.path.join(dd, "file%03d.dat" % f), "wb") as fh:
            fh.write(r.randbytes(r.randint(0, 16384)))
with open(os.path.join(root, "big.bin"), "wb") as fh:
    for _ in range(16):
        fh.write(r.randbytes(4 << 20))
os.makedirs(os.path.join(root, "empty-dir"))
print("sample: 2,000 small files in 20 directories, one 64 MiB file, one empty directory")
PY
echo "+ build/distcp -update $sample/src $sample/dst"
build/distcp -update "$sample/src" "$sample/dst"
if diff -r "$sample/src" "$sample/dst" >/dev/null; then
  echo "quickstart: the copy in $sample/dst is identical to $sample/src"
else
  echo "quickstart: the copy differs from the source!" >&2; exit 1
fi
