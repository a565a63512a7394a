#!/usr/bin/python3
"""bench.py - distcp side by side with the copy tools it replaces.

Generates deterministic workloads, runs distcp and every peer found on the
machine (cp -a, rsync -a, rclone, fpsync) on each, one untimed warm-up then
--runs timed runs (median reported), each timed together with a final `sync`,
checks every result, and prints a table of median time, files/s, MB/s, peak
RSS and distcp's speed ratio to each peer.

Workloads (the shared notes' definitions, generated here with our own code):
  small  50,000 files of 1-16 KiB in 500 leaf directories (~415 MiB)
  large  8 files of 512 MiB of incompressible data
  huge   one file of 4 GiB (all workers copy it at once, in chunks)
  inc    the small tree already copied; 1% of the files rewritten (new size,
         mtime +10 s) and 1% deleted at the source; sync with delete.
         Reported as files checked per second.

Usage (as root for nothing; put --dir on a journaled file system: on this
project's VMs `/` is ext4 without a journal, where file creation collapses
after a large delete — see the README's benchmark section):
  bench/bench.py --dir /mnt/bench [--workloads small,large,inc] [--runs 3]
                 [--small-files 50000] [--large-files 8] [--large-mib 512]
                 [--distcp build/distcp] [--baseline old/distcp] [--markdown results.md]

Benchmarks stay out of the test suite: numbers on a shared 2-core VM are
noisy, so only ratios measured in the same run mean anything.
"""
import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ---------------------------------------------------------------- workloads

def gen_small(root, nfiles, ndirs, seed):
    r = random.Random(seed)
    top = 20
    sub = max(1, ndirs // top)
    leaves = [os.path.join(root, "d%02d" % t, "s%02d" % s) for t in range(top) for s in range(sub)]
    for d in leaves:
        os.makedirs(d, exist_ok=True)
    per, extra = divmod(nfiles, len(leaves))
    total = 0
    for i, d in enumerate(leaves):
        for j in range(per + (1 if i < extra else 0)):
            size = r.randint(1024, 16384)
            with open(os.path.join(d, "f%04d.dat" % j), "wb") as f:
                f.write(r.randbytes(size))
            total += size
    return total


def gen_large(root, nfiles, mib, seed):
    os.makedirs(root, exist_ok=True)
    for i in range(nfiles):
        r = random.Random(seed * 1000 + i)
        with open(os.path.join(root, "f%d.bin" % i), "wb") as f:
            for _ in range(mib // 4):
                f.write(r.randbytes(4 << 20))


def gen_inc(base, small, seed):
    """inc/dst-base = copy of small; inc/src = small with 1% rewritten, 1% deleted."""
    inc = os.path.join(base, "inc")
    shutil.rmtree(inc, ignore_errors=True)
    os.makedirs(inc)
    sh(["cp", "-a", small, os.path.join(inc, "dst-base")])
    sh(["cp", "-a", small, os.path.join(inc, "src")])
    files = sorted(walk_files(os.path.join(inc, "src")))
    r = random.Random(seed + 7)
    picked = r.sample(files, len(files) // 50)
    rewrite, delete = picked[: len(picked) // 2], picked[len(picked) // 2:]
    for p in rewrite:
        st = os.stat(p)
        with open(p, "wb") as f:
            f.write(r.randbytes(r.randint(1024, 16384)))
        os.utime(p, (st.st_atime, st.st_mtime + 10))
    for p in delete:
        os.unlink(p)


def walk_files(root):
    for dp, _, fns in os.walk(root):
        for f in fns:
            yield os.path.join(dp, f)


def tree_stats(root):
    n = b = 0
    for p in walk_files(root):
        n += 1
        b += os.lstat(p).st_size
    return n, b


def ensure_workloads(base, args, wanted):
    """Generate once; a stamp file records the parameters."""
    os.makedirs(base, exist_ok=True)
    stamp = os.path.join(base, "stamp.json")
    params = {"small": [args.small_files, 500, args.seed],
              "large": [args.large_files, args.large_mib, args.seed],
              "huge": [1, args.huge_mib, args.seed]}
    have = {}
    if os.path.exists(stamp):
        with open(stamp) as f:
            have = json.load(f)
    small = os.path.join(base, "small")
    if ("small" in wanted or "inc" in wanted) and have.get("small") != params["small"]:
        shutil.rmtree(small, ignore_errors=True)
        log("generating small: %d files" % args.small_files)
        gen_small(small, args.small_files, 500, args.seed)
        have["small"] = params["small"]
        have.pop("inc", None)
    if "large" in wanted and have.get("large") != params["large"]:
        shutil.rmtree(os.path.join(base, "large"), ignore_errors=True)
        log("generating large: %d x %d MiB" % (args.large_files, args.large_mib))
        gen_large(os.path.join(base, "large"), args.large_files, args.large_mib, args.seed)
        have["large"] = params["large"]
    if "huge" in wanted and have.get("huge") != params["huge"]:
        shutil.rmtree(os.path.join(base, "huge"), ignore_errors=True)
        log("generating huge: 1 x %d MiB" % args.huge_mib)
        gen_large(os.path.join(base, "huge"), 1, args.huge_mib, args.seed + 1)
        have["huge"] = params["huge"]
    if "inc" in wanted and have.get("inc") != params["small"]:
        log("generating inc (from small)")
        gen_inc(base, small, args.seed)
        have["inc"] = params["small"]
    with open(stamp, "w") as f:
        json.dump(have, f)
    sh(["sync"])


# ---------------------------------------------------------------- running

def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


def sh(cmd, **kw):
    subprocess.run(cmd, check=True, **kw)


def timed(cmd, env=None):
    """Run cmd then sync; returns (seconds, peak RSS KiB, returncode, stderr tail).
    Peak RSS comes from GNU time (%M): a child forked from this Python process
    would report Python's own size."""
    marker = "BENCH-MAXRSS-KIB="
    t0 = time.monotonic()
    p = subprocess.run(["/usr/bin/time", "-f", marker + "%M", *cmd], stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, env=env)
    subprocess.run(["sync"], check=True)
    secs = time.monotonic() - t0
    err = p.stderr.decode("utf-8", "replace")
    kib = 0
    for line in err.splitlines():
        if line.startswith(marker):
            kib = int(line[len(marker):])
    return secs, kib, p.returncode, err[-2000:]


def check_same(src, dst):
    """Content check independent of metadata: rsync by checksum lists nothing."""
    p = subprocess.run(["rsync", "-n", "-i", "-r", "-c", "-l", "--delete", src + "/", dst + "/"],
                       capture_output=True, text=True)
    if p.returncode != 0 or p.stdout.strip():
        return "MISMATCH: " + (p.stdout.strip().splitlines() or [p.stderr.strip()])[0]
    return "ok"


def tools(distcp, mode, present, baseline=None):
    """(name, argv builder) for each tool; mode is 'copy' or 'sync'. baseline:
    another distcp binary (e.g. the build before a change), run as a peer
    named "distcp (baseline)" with the same arguments."""
    t = []
    if mode == "copy":
        t.append(("distcp", lambda s, d: [distcp, "-pugpt", s, d]))
        if baseline:
            t.append(("distcp (baseline)", lambda s, d: [baseline, "-pugpt", s, d]))
        t.append(("cp -a", lambda s, d: ["cp", "-a", s, d]))
        if "rsync" in present:
            t.append(("rsync -a", lambda s, d: ["rsync", "-a", s + "/", d + "/"]))
        if "rclone" in present:
            t.append(("rclone copy", lambda s, d: ["rclone", "copy", "--ignore-checksum", s, d]))
        if "fpsync" in present:
            t.append(("fpsync -n 2", lambda s, d: ["fpsync", "-n", "2", s + "/", d + "/"]))
    else:
        t.append(("distcp", lambda s, d: [distcp, "-update", "-delete", "-pugpt", s, d]))
        if baseline:
            t.append(("distcp (baseline)",
                      lambda s, d: [baseline, "-update", "-delete", "-pugpt", s, d]))
        if "rsync" in present:
            t.append(("rsync -a --delete", lambda s, d: ["rsync", "-a", "--delete", s + "/", d + "/"]))
        if "rclone" in present:
            t.append(("rclone sync", lambda s, d: ["rclone", "sync", s, d]))
        if "fpsync" in present:
            t.append(("fpsync -n 2 -E", lambda s, d: ["fpsync", "-n", "2", "-E", s + "/", d + "/"]))
    return t


def run_workload(name, base, scratch, args, present):
    if name == "inc":
        src = os.path.join(base, "inc", "src")
        reset_from = os.path.join(base, "inc", "dst-base")
        mode = "sync"
    else:
        src = os.path.join(base, name)
        reset_from = None
        mode = "copy"
    nfiles, nbytes = tree_stats(src)
    rows = []
    env = dict(os.environ)
    env.pop("AWS_CA_BUNDLE", None)      # rclone's S3 backend trips on it (notes)
    for tname, argv in tools(args.distcp, mode, present, args.baseline):
        dst = os.path.join(scratch, "dst")
        times, rss = [], []
        result = "ok"
        for i in range(args.runs + 1):          # run 0 is the warm-up
            shutil.rmtree(dst, ignore_errors=True)
            if reset_from:
                sh(["cp", "-a", reset_from, dst])
            elif tname.startswith("fpsync"):
                os.makedirs(dst)
            sh(["sync"])
            secs, kib, rc, err = timed(argv(src, dst), env=env)
            if rc != 0:
                result = "FAILED (exit %d): %s" % (rc, err.strip().splitlines()[-1] if err.strip() else "")
                break
            if i > 0:
                times.append(secs)
                rss.append(kib)
        if result == "ok":
            result = check_same(src, dst)
        shutil.rmtree(dst, ignore_errors=True)
        med = statistics.median(times) if times else float("nan")
        rows.append({"workload": name, "tool": tname, "seconds": med, "runs": times,
                     "files": nfiles, "bytes": nbytes,
                     "files_per_s": nfiles / med if times else 0,
                     "mb_per_s": nbytes / 1e6 / med if times else 0,
                     "rss_mib": max(rss) / 1024 if rss else 0, "check": result})
        log("%-6s %-18s median %.2f s %s" % (name, tname, med, result))
    d = next((r for r in rows if r["tool"] == "distcp"), None)
    for r in rows:
        r["ratio"] = (r["seconds"] / d["seconds"]) if d and d["seconds"] and r["seconds"] == r["seconds"] else None
    return rows


def table(rows, markdown):
    hdr = ["workload", "tool", "median s", "files/s", "MB/s", "peak RSS MiB", "distcp speed ×", "check"]
    lines = []
    fmt = (lambda cells: "| " + " | ".join(cells) + " |") if markdown else \
        (lambda cells: "  ".join("%-12s" % c if i != 1 else "%-18s" % c for i, c in enumerate(cells)))
    lines.append(fmt(hdr))
    if markdown:
        lines.append("|" + "---|" * len(hdr))
    for r in rows:
        unit_fs = "%.0f" % r["files_per_s"]
        lines.append(fmt([r["workload"], r["tool"], "%.2f" % r["seconds"], unit_fs,
                          "%.0f" % r["mb_per_s"], "%.1f" % r["rss_mib"],
                          "-" if r["tool"] == "distcp" or r["ratio"] is None else "%.2f" % r["ratio"],
                          r["check"]]))
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", required=True, help="where workloads and copies go")
    ap.add_argument("--workloads", default="small,large,huge,inc")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--small-files", type=int, default=50000)
    ap.add_argument("--large-files", type=int, default=8)
    ap.add_argument("--large-mib", type=int, default=512)
    ap.add_argument("--huge-mib", type=int, default=4096)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--distcp", default=os.path.join(ROOT, "build", "distcp"))
    ap.add_argument("--peers", default="rsync,rclone,fpsync")
    ap.add_argument("--baseline", help="another distcp binary run side by side (before/after a "
                    "change: its ratio above 1 means the change made distcp faster)")
    ap.add_argument("--markdown", help="also write the table as Markdown to this file")
    args = ap.parse_args()
    if args.baseline and not os.access(args.baseline, os.X_OK):
        sys.exit("bench: no baseline binary at %s" % args.baseline)
    if not os.access(args.distcp, os.X_OK):
        sys.exit("bench: %s not built (bash scripts/build.sh build)" % args.distcp)
    wanted = [w for w in args.workloads.split(",") if w]
    present = {p for p in args.peers.split(",") if p and shutil.which(p)}
    if "rsync" not in present:
        sys.exit("bench: rsync is needed to check results (apt-get install rsync)")
    if not os.access("/usr/bin/time", os.X_OK):
        sys.exit("bench: GNU time is needed for peak RSS (apt-get install time)")
    base = os.path.join(args.dir, "workloads")
    scratch = os.path.join(args.dir, "scratch")
    os.makedirs(scratch, exist_ok=True)
    ensure_workloads(base, args, wanted)
    rows = []
    for w in wanted:
        rows += run_workload(w, base, scratch, args, present)
    print(table(rows, False))
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(table(rows, True) + "\n")
    bad = [r for r in rows if r["check"] != "ok" and r["tool"] == "distcp"]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
