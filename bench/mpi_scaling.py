#!/usr/bin/python3
"""mpi_scaling.py - how the MPI mode scales: a small-file and a large-file copy,
and the listing of a many-directory tree, with the threaded run and with
`mpirun -np N` for N = 1, 2, 4 on this machine (oversubscribed; TCP/shared
memory on lo). Not part of the test suite.

For every workload and layout: one untimed warm-up, then --runs timed runs
(the target removed before each, `distcp ... && sync` timed), the result
checked against the source (`diff -rq`), the median reported with files/s,
MB/s and the ratio to the threaded run measured in the same invocation.
-m is the same job-wide cap in every layout (--maps), so the layouts differ
only in how workers are spread over processes.

Workloads (deterministic):
  small  --small-files files of 1-16 KiB in 100-file directories
  large  --large-files files of --large-mib MiB of incompressible data
  list   --list-dirs directories (three levels: 20 x 20 x rest) of 4 tiny
         files each, listed and planned with --dry-run (no copy: the
         listing is distributed over the ranks, see README "MPI mode");
         files/s counts listed entries; "start s" is the median of the
         same launcher running `distcp --version` (mpirun's own start-up and
         end), and "net s" = median - start s, the listing and planning
  one    one file of --one-mib MiB: copied in chunks (64 MiB, DISTCP_CHUNK_MB),
         which under MPI go to every rank (src/mpi/mpi_chunk.c)

For the large and one workloads under MPI, one more (untimed) run with -v -log
counts the chunks each rank copied (CHUNK_COPIED lines): the split.
--only small,large,one,list picks workloads.

Put --dir on a journaled file system (bench/benchfs.sh up DIR): `/` on the
project's VMs is ext4 without a journal, where file creation collapses for
minutes after a large delete and every "delete the target, copy again" run
measures that instead.

  bench/mpi_scaling.py --dir /mnt/bench [--runs 3] [--small-files 20000]
                       [--large-files 4] [--large-mib 256] [--one-mib 1024] [--maps 8]
                       [--list-dirs 8000] [--only small,large,one,list]
                       [--distcp build/distcp]
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
MPI_ENV = {
    "OMPI_ALLOW_RUN_AS_ROOT": "1",
    "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
    "OMPI_MCA_rmaps_base_oversubscribe": "1",
    "OMPI_MCA_btl": "self,vader,tcp",
    "OMPI_MCA_btl_tcp_if_include": "lo",
    "OMPI_MCA_oob_tcp_if_include": "lo",
    # ranks that wait yield the CPU (as when oversubscribed) also at -np 2 on
    # 2 cores: on a shared machine busy-polling ranks starve everything else
    "OMPI_MCA_mpi_yield_when_idle": "1",
}


def gen_small(root, n):
    rnd = random.Random(7)
    for i in range(n):
        d = os.path.join(root, "d%04d" % (i // 100))
        if i % 100 == 0:
            os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "f%05d" % i), "wb") as f:
            f.write(rnd.randbytes(rnd.randint(1024, 16384)))


def gen_large(root, n, mib):
    os.makedirs(root, exist_ok=True)
    rnd = random.Random(11)
    block = rnd.randbytes(1 << 20)
    for i in range(n):
        with open(os.path.join(root, "big%02d" % i), "wb") as f:
            for k in range(mib):
                # vary each MiB so nothing dedups or compresses
                f.write(k.to_bytes(8, "little") + block[8:])


def gen_dirs(root, ndirs):
    for i in range(ndirs):
        d = os.path.join(root, "a%02d" % (i % 20), "b%02d" % (i // 20 % 20), "c%05d" % i)
        os.makedirs(d, exist_ok=True)
        for k in range(4):
            with open(os.path.join(d, "f%d" % k), "wb") as f:
                f.write(b"x" * (i % 97 + k))


def tree_size(root):
    files = total = 0
    for dp, _, fs in os.walk(root):
        for n in fs:
            files += 1
            total += os.path.getsize(os.path.join(dp, n))
    return files, total


def list_entries(root):
    n = 0
    for _, ds, fs in os.walk(root):
        n += len(ds) + len(fs)
    return n


def chunk_split(cmd, dst, env, logdir):
    """Chunks copied per rank in one -v -log run, as "r0:n r1:n ..."."""
    shutil.rmtree(dst, ignore_errors=True)
    shutil.rmtree(logdir, ignore_errors=True)
    p = subprocess.run(cmd[:-2] + ["-v", "-log", logdir] + cmd[-2:], env=env,
                       capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit("failed (%d): %s\n%s" % (p.returncode, " ".join(cmd), p.stderr[-2000:]))
    per = {}
    for n in os.listdir(logdir):
        with open(os.path.join(logdir, n)) as f:
            for line in f:
                if line.startswith("CHUNK_COPIED: "):
                    r = int(line.rsplit("rank=", 1)[1])
                    per[r] = per.get(r, 0) + 1
    shutil.rmtree(logdir, ignore_errors=True)
    return " ".join("r%d:%d" % (r, per[r]) for r in sorted(per)) or "not split"


def one_run(cmd, dst, env):
    shutil.rmtree(dst, ignore_errors=True)
    subprocess.run(["sync"], check=True)
    t0 = time.monotonic()
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    subprocess.run(["sync"], check=True)
    dt = time.monotonic() - t0
    if p.returncode != 0:
        sys.exit("failed (%d): %s\n%s" % (p.returncode, " ".join(cmd), p.stderr[-2000:]))
    return dt


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--small-files", type=int, default=20000)
    ap.add_argument("--large-files", type=int, default=4)
    ap.add_argument("--large-mib", type=int, default=256)
    ap.add_argument("--one-mib", type=int, default=1024)
    ap.add_argument("--maps", type=int, default=8)
    ap.add_argument("--list-dirs", type=int, default=8000)
    ap.add_argument("--only", default="small,large,one,list")
    ap.add_argument("--ranks", default="1,2,4")
    ap.add_argument("--distcp", default=os.path.join(ROOT, "build", "distcp"))
    a = ap.parse_args()
    mpirun = shutil.which("mpirun")
    if not mpirun:
        sys.exit("mpirun not found (scripts/setup.sh installs openmpi-bin)")
    env = dict(os.environ, **MPI_ENV)
    env.pop("DISTCP_PROGRESS", None)
    work = os.path.abspath(a.dir)
    only = a.only.split(",")
    srcs = {w: os.path.join(work, "src-" + w) for w in ("small", "large", "one", "list")
            if w in only}
    if "small" in srcs and not os.path.isdir(srcs["small"]):
        gen_small(srcs["small"], a.small_files)
    if "large" in srcs and not os.path.isdir(srcs["large"]):
        gen_large(srcs["large"], a.large_files, a.large_mib)
    if "one" in srcs and not os.path.isdir(srcs["one"]):
        gen_large(srcs["one"], 1, a.one_mib)
    if "list" in srcs and not os.path.isdir(srcs["list"]):
        gen_dirs(srcs["list"], a.list_dirs)
    layouts = [("threaded", [a.distcp])]
    for n in a.ranks.split(","):
        layouts.append(("mpi -np %s" % n, [mpirun, "-np", n, a.distcp]))
    print("| workload | layout | median s | files/s | MB/s | vs threaded | start s | net s | chunks by rank |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for wl, src in srcs.items():
        files, size = tree_size(src)
        dst = os.path.join(work, "dst")
        base = None
        if wl == "list":
            files, size = list_entries(src), 0
        for name, pre in layouts:
            cmd = [*pre, "-m", str(a.maps), src, dst]
            if wl == "list":
                # --json: no line per entry (through mpirun's output forwarding,
                # 100,000s of lines cost more than the listing)
                cmd = [*pre, "--job-store", "none", "--dry-run", "--json", "-m", str(a.maps), src, dst]
            one_run(cmd, dst, env)                       # warm-up
            if wl == "list":
                # the plan's totals are the same in every layout
                p = subprocess.run(cmd, env=env, capture_output=True, text=True)
                js = [json.loads(x) for x in p.stdout.splitlines() if x.startswith("{")]
                c = js[0]["counters"] if js else None
                if c:
                    c = {k: v for k, v in c.items() if k not in ("BANDWIDTH_IN_BYTES", "SLEEP_TIME_MS")}
                if not c or (name != "threaded" and c != ref):
                    sys.exit("the dry run's plan differs (%s): %s" % (name, p.stdout[-2000:]))
                ref = c
            else:
                p = subprocess.run(["diff", "-rq", src, dst], capture_output=True, text=True)
                if p.returncode != 0:
                    sys.exit("result differs from the source (%s): %s" % (name, p.stdout[:2000]))
            times = [one_run(cmd, dst, env) for _ in range(a.runs)]
            med = statistics.median(times)
            base = base or med
            start = statistics.median(one_run([*pre, "--version"], dst, env) for _ in range(a.runs))
            split = "-"
            if wl in ("large", "one") and pre[0] == mpirun:
                split = chunk_split(cmd, dst, env, os.path.join(work, "chunk-log"))
            print("| %s | %s | %.2f | %.0f | %.0f | %.2fx | %.2f | %.2f | %s |" % (
                wl, name, med, files / med, size / med / 1e6, base / med, start, med - start,
                split), flush=True)
        shutil.rmtree(dst, ignore_errors=True)


if __name__ == "__main__":
    main()
