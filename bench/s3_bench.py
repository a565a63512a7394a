#!/usr/bin/python3
"""s3_bench.py - distcp's S3 upload and download side by side with awscli and rclone on
the same local S3-compatible server (s3rver from tests/s3, started and stopped here, on
127.0.0.1).

Workloads (generated deterministically under --dir):
  small  --small-files files of 1-16 KiB in 100 directories (default 5,000)
  large  --large-files files of --large-mib MiB of incompressible data (default 2 x 256)
Directions:
  up     local -> s3://bucket/<fresh prefix>/   (distcp; aws s3 cp --recursive; rclone copy)
  down   s3 -> a fresh local directory          (the same three), from one uploaded copy
Each (workload, direction, tool): one untimed warm-up, then --runs timed runs (median),
each checked (uploads: object count and bytes; downloads: every file's SHA-1). The table
gives median seconds, files/s, MB/s and the peer's time divided by distcp's ("distcp x":
above 1 means distcp is faster).

Usage:  bench/s3_bench.py [--dir /tmp/s3bench] [--runs 3] [--workloads small,large]
                          [--small-files 5000] [--large-files 2] [--large-mib 256]
                          [--distcp build/distcp] [--server s3rver|moto]
A benchmark, not a test: numbers on a shared 2-core VM are noisy; only ratios from the
same run mean anything. The server is the bottleneck for small files (s3rver is one
Node.js process writing every object to disk).
"""
import argparse
import hashlib
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "s3"))
import s3server as S  # noqa: E402

AWS = "/usr/bin/aws"
RCLONE = shutil.which("rclone") or "/usr/bin/rclone"


def gen(root, wl, a):
    if os.path.isdir(root):
        return
    r = random.Random(42)
    os.makedirs(root)
    if wl == "small":
        for i in range(a.small_files):
            d = os.path.join(root, "d%03d" % (i % 100))
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, "f%06d" % i), "wb") as f:
                f.write(r.randbytes(r.randint(1024, 16384)))
    else:
        for i in range(a.large_files):
            with open(os.path.join(root, "big%d.bin" % i), "wb") as f:
                for _ in range(a.large_mib):
                    f.write(os.urandom(1 << 20))


def tree_sums(root):
    out = {}
    for dp, ds, fs in os.walk(root):
        for f in fs:
            p = os.path.join(dp, f)
            h = hashlib.sha1()
            with open(p, "rb") as fh:
                for b in iter(lambda: fh.read(1 << 20), b""):
                    h.update(b)
            out[os.path.relpath(p, root)] = h.hexdigest()
    return out


class Tools:
    def __init__(self, info, a, home):
        self.info, self.a = info, a
        base = dict(os.environ)
        for k in ("AWS_CA_BUNDLE", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
            base.pop(k, None)
        base.update({"HOME": home, "AWS_ACCESS_KEY_ID": info["key"],
                     "AWS_SECRET_ACCESS_KEY": info["secret"], "AWS_REGION": "us-east-1",
                     "AWS_CONFIG_FILE": os.path.join(home, "none"),
                     "AWS_SHARED_CREDENTIALS_FILE": os.path.join(home, "none")})
        self.env = base
        self.rc_env = dict(base, RCLONE_CONFIG_B_TYPE="s3", RCLONE_CONFIG_B_PROVIDER="Other",
                           RCLONE_CONFIG_B_ACCESS_KEY_ID=info["key"],
                           RCLONE_CONFIG_B_SECRET_ACCESS_KEY=info["secret"],
                           RCLONE_CONFIG_B_ENDPOINT=info["endpoint"],
                           RCLONE_CONFIG_B_REGION="us-east-1",
                           RCLONE_CONFIG_B_FORCE_PATH_STYLE="true")
        self.b = info["bucket"]

    def available(self):
        t = ["distcp"]
        if os.path.exists(AWS):
            t.append("aws")
        if os.path.exists(RCLONE):
            t.append("rclone")
        return t

    def cmd(self, tool, direction, local, prefix):
        ep = self.info["endpoint"]
        if tool == "distcp":
            uri = "s3a://%s/%s" % (self.b, prefix)
            args = [self.a.distcp, "-D", "fs.s3a.endpoint=" + ep]
            return (args + [local, uri] if direction == "up" else args + [uri, local]), self.env
        if tool == "aws":
            uri = "s3://%s/%s" % (self.b, prefix)
            args = [AWS, "--endpoint-url", ep, "s3", "cp", "--recursive", "--only-show-errors"]
            return (args + [local, uri] if direction == "up" else args + [uri, local]), self.env
        uri = "B:%s/%s" % (self.b, prefix)
        args = [RCLONE, "copy", "--transfers", "8", "--checkers", "8", "--s3-no-check-bucket"]
        return (args + [local, uri] if direction == "up" else args + [uri, local]), self.rc_env

    def summary(self, prefix):
        p = subprocess.run([AWS, "--endpoint-url", self.info["endpoint"], "s3api",
                            "list-objects-v2", "--bucket", self.b, "--prefix", prefix + "/"],
                           capture_output=True, env=self.env, check=True)
        objs = json.loads(p.stdout or b"{}").get("Contents", [])
        objs = [o for o in objs if not o["Key"].endswith("/")]
        return len(objs), sum(o["Size"] for o in objs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", default="/tmp/s3bench")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--workloads", default="small,large")
    ap.add_argument("--small-files", type=int, default=5000)
    ap.add_argument("--large-files", type=int, default=2)
    ap.add_argument("--large-mib", type=int, default=256)
    ap.add_argument("--distcp", default=os.path.join(ROOT, "build", "distcp"))
    ap.add_argument("--server", default="s3rver")
    a = ap.parse_args()
    os.makedirs(a.dir, exist_ok=True)
    home = os.path.join(a.dir, "home")
    os.makedirs(home, exist_ok=True)
    proc, info = S.spawn(a.server, os.path.join(a.dir, "server-%d" % os.getpid()))
    rows = []
    try:
        t = Tools(info, a, home)
        tools = t.available()
        seq = 0
        for wl in a.workloads.split(","):
            src = os.path.join(a.dir, "src-" + wl)
            gen(src, wl, a)
            want = tree_sums(src)
            nfiles, nbytes = len(want), sum(os.path.getsize(os.path.join(src, k)) for k in want)
            # one copy to download from, uploaded by distcp
            seed = "seed-" + wl
            cmd, env = t.cmd("distcp", "up", src, seed)
            subprocess.run(cmd, env=env, check=True, capture_output=True)
            for direction in ("up", "down"):
                base = None
                for tool in tools:
                    times = []
                    for i in range(a.runs + 1):
                        seq += 1
                        prefix = "%s-%s-%s-%d" % (tool, wl, direction, seq)
                        local = os.path.join(a.dir, "dst-" + prefix)
                        if direction == "up":
                            cmd, env = t.cmd(tool, "up", src, prefix)
                        else:
                            cmd, env = t.cmd(tool, "down", local, seed)
                        t0 = time.monotonic()
                        p = subprocess.run(cmd, env=env, capture_output=True)
                        subprocess.run(["sync"])
                        dt = time.monotonic() - t0
                        if p.returncode != 0:
                            sys.exit("%s %s %s failed: %s" % (tool, wl, direction,
                                                              p.stderr.decode()[-500:]))
                        if direction == "up":
                            got = t.summary(prefix)
                            if got != (nfiles, nbytes):
                                sys.exit("%s upload of %s wrong: %r objects/bytes, want %r" %
                                         (tool, wl, got, (nfiles, nbytes)))
                        else:
                            if tree_sums(local) != want:
                                sys.exit("%s download of %s differs" % (tool, wl))
                            shutil.rmtree(local)
                        if i:
                            times.append(dt)
                    med = statistics.median(times)
                    if tool == "distcp":
                        base = med
                    rows.append((wl, direction, tool, med, nfiles / med, nbytes / med / 1e6,
                                 med / base if base else None))
                    print("%-6s %-4s %-7s %8.2f s" % (wl, direction, tool, med), flush=True)
    finally:
        S.stop(proc)
    print()
    print("| workload | direction | tool | median s | files/s | MB/s | distcp x |")
    print("|---|---|---|---|---|---|---|")
    for wl, d, tool, med, fps, mbs, ratio in rows:
        print("| %s | %s | %s | %.2f | %.0f | %.1f | %s |" % (
            wl, d, tool, med, fps, mbs, "-" if tool == "distcp" else "%.2f" % ratio))


if __name__ == "__main__":
    main()
