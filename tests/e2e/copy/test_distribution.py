"""End-to-end tests of the work-distribution options: spec B §10 (-m,
-strategy, -numListstatusThreads, -useiterator), §6.4 (-copybuffersize,
-bandwidth) and §1.2 (value clamping). "Only performance is affected, never the
result": every combination must produce the same tree and the same counters.

Timing assertions are lower bounds with a wide margin only (a throttled copy
cannot be much faster than the limit allows); nothing asserts an upper bound.
"""
import math
import os
import random
import time

import pytest

from conftest import counters, make_tree, run, tree

MiB = 1 << 20

# The counters the e2e contract names (others, e.g. a bandwidth figure, may
# legitimately vary from run to run).
JOB_COUNTERS = ("Bytes Copied", "Bytes Expected", "Bytes Failed", "Bytes Skipped",
                "Directories Copied", "Files Copied", "Files Deleted", "Files Failed",
                "Files Skipped")


def job_counters_of(c):
    return {k: c.get(k) for k in JOB_COUNTERS}


def job_counters(p):
    return job_counters_of(counters(p))


def rnd(n, seed):
    return random.Random(seed).randbytes(n)


def rd(path):
    with open(path, "rb") as f:
        return f.read()


def _spec_tree():
    """~80 files in nested dirs: sizes 0..20000 B, empty files and dirs."""
    r = random.Random(42)
    spec = {}
    for i in range(6):
        d = spec.setdefault("dir%d" % i, {})
        for j in range(8):
            d["f%d" % j] = rnd(r.choice([0, 1, 17, 4096, 8192, 8193, 20000]), i * 100 + j)
        sub = d.setdefault("sub", {})
        for j in range(4):
            sub["g%d" % j] = rnd(r.randrange(0, 9000), 1000 + i * 10 + j)
        sub["deeper"] = {"x": {"y": {"z.bin": rnd(12345, 5000 + i)}}}
        d["empty_dir"] = {}
    for j in range(10):
        spec["top%d" % j] = rnd(r.randrange(0, 3000), 7000 + j)
    spec["emptyfile"] = b""
    spec["lonely_empty_dir"] = {}
    return spec


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """Source tree and the counters of a plain copy with default options."""
    root = tmp_path_factory.mktemp("dist")
    src = make_tree(root / "src", _spec_tree())
    p = run(src, root / "baseline", check=0)
    assert tree(root / "baseline") == tree(src)
    c = counters(p)
    assert all(k in c for k in JOB_COUNTERS), p.err
    assert c["Files Copied"] > 0 and c["Files Skipped"] == 0
    return root, src, c


VARIANTS = [
    ["-m", "1"],
    ["-m", "50"],
    ["-m", "0"],                     # < 1 → 1
    ["-strategy", "dynamic"],
    ["-strategy", "dynamic", "-m", "1"],
    ["-strategy", "dynamic", "-m", "3"],
    ["-strategy", "dynamic", "-m", "200"],   # ratio 2 × 200 = 400: tolerable
    ["-strategy", "uniformsize"],
    ["-strategy", "uniformsize", "-m", "7"],
    ["-strategy", "bogus"],          # unknown name: silent fallback to uniformsize
    ["-strategy", "static"],
    ["-copybuffersize", "1"],
    ["-copybuffersize", "1048576"],
    ["-copybuffersize", "0"],        # ≤ 0 → 8192
    ["-useiterator"],
    ["-numListstatusThreads", "1"],
    ["-numListstatusThreads", "8"],
    ["-numListstatusThreads", "40"],
    ["-numListstatusThreads", "100"],   # > 40 → 40
    ["-numListstatusThreads", "0"],     # ≤ 0 → default
    ["-useiterator", "-numListstatusThreads", "8"],
    ["-m", "50", "-strategy", "dynamic", "-numListstatusThreads", "8", "-copybuffersize", "1"],
    ["-m", "1", "-strategy", "uniformsize", "-useiterator", "-copybuffersize", "1048576"],
    ["-m", "2", "-strategy", "dynamic", "-numListstatusThreads", "40", "-copybuffersize", "3"],
    ["-m", "50", "-strategy", "bogus", "-useiterator", "-copybuffersize", "65536"],
    ["-m", "1", "-strategy", "dynamic", "-numListstatusThreads", "40", "-useiterator"],
    ["-D", "distcp.simplelisting.randomize.files=false", "-m", "4"],
    ["-D", "distcp.liststatus.threads=8", "-D", "distcp.copy.buffer.size=7"],
]


@pytest.mark.parametrize("opts", VARIANTS, ids=[" ".join(v) for v in VARIANTS])
def test_distribution_options_do_not_change_the_result(base, tmp, opts):
    """spec B §10: every -m / -strategy / listing-thread / iterator / buffer
    combination produces an identical tree and identical counters."""
    root, src, c0 = base
    dst = tmp / "dst"
    p = run(*opts, src, dst, check=0)
    assert "Invalid arguments" not in p.err
    assert tree(dst) == tree(src)
    assert job_counters(p) == job_counters_of(c0), (opts, p.err)


@pytest.mark.parametrize("opts", [
    ["-strategy", "dynamic", "-m", "50"],
    ["-strategy", "uniformsize", "-m", "3", "-numListstatusThreads", "8"],
    ["-useiterator", "-m", "1"],
], ids=["dynamic-m50", "uniform-m3-lt8", "iterator-m1"])
def test_update_rerun_skips_everything(base, tmp, opts):
    """spec B §10 + §5: the -update decision does not depend on the
    distribution: a rerun skips every file, counts every directory."""
    root, src, c0 = base
    dst = tmp / "dst"
    os.makedirs(dst)
    p1 = run("-update", *opts, src, dst, check=0)
    c1 = counters(p1)
    assert tree(dst) == tree(src)
    assert c1["Files Copied"] == c0["Files Copied"]
    # -update into an existing target does not list the root entry (§3 rule 3)
    assert c1["Directories Copied"] == c0["Directories Copied"] - 1
    p2 = run("-update", *opts, src, dst, check=0)
    c2 = counters(p2)
    assert c2["Files Copied"] == 0
    assert c2["Files Skipped"] == c0["Files Copied"]
    assert c2["Bytes Skipped"] == c0["Bytes Copied"]
    assert c2["Directories Copied"] == c1["Directories Copied"]
    assert tree(dst) == tree(src)


# ---------------------------------------------------------------- dynamic chunk limit

def _split_ratio(m, records):
    """spec B §10 dynamic split ratio."""
    if m == 1:
        return 1
    if m > 100:
        return 2
    p = math.ceil(100 / m)
    return 2 if math.ceil(records / (m * p)) < 5 else p


def test_dynamic_chunk_formula_cases():
    """Sanity of the cases used below, from the spec B §10 formula: -m 201 is
    the smallest -m whose ratio × m exceeds 400 (for any record count); no
    -m ≤ 200 does."""
    for records in (1, 5, 100, 10000, 10**6):
        assert all(_split_ratio(m, records) * m <= 400 for m in range(1, 201))
        assert _split_ratio(201, records) * 201 == 402


@pytest.mark.parametrize("m", ["201", "1000"])
def test_dynamic_too_many_chunks_fails(tmp, m):
    """spec B §10 / §12: -strategy dynamic with -m > 200 → ratio 2 × m > 400 →
    "Too many chunks created with splitRatio:2, numMaps:<m>. ..." exit 25,
    before any file is copied."""
    src = make_tree(tmp / "src", {"a": 100, "d": {"b": 10}})
    dst = tmp / "dst"
    p = run("-strategy", "dynamic", "-m", m, src, dst, check=25)
    assert "Too many chunks created" in p.err, p.err
    assert "splitRatio:2" in p.err and ("numMaps:" + m) in p.err, p.err
    assert not os.path.exists(dst / "a")
    assert not os.path.exists(dst / "d" / "b")


def test_uniformsize_has_no_chunk_limit(tmp):
    """spec B §10: the chunk limit belongs to the dynamic strategy only."""
    src = make_tree(tmp / "src", {"a": 100, "d": {"b": 10}})
    for strat in ("uniformsize", "bogus"):
        dst = tmp / ("dst-" + strat)
        run("-strategy", strat, "-m", "201", src, dst, check=0)
        assert tree(dst) == tree(src)


def test_unknown_strategy_falls_back_silently(tmp):
    """spec B §1.2 / §10: an unknown -strategy name silently falls back to
    uniform size: success, no complaint about the name."""
    src = make_tree(tmp / "src", {"a": 1000, "b": 2000})
    p = run("-strategy", "bogus", src, tmp / "dst", check=0)
    assert tree(tmp / "dst") == tree(src)
    assert "bogus" not in p.err
    assert "Invalid arguments" not in p.err


# ---------------------------------------------------------------- -bandwidth

@pytest.mark.parametrize("size_mib,bw", [(3, "1"), (1.5, "0.5")], ids=["1MiBps", "0.5MiBps"])
def test_bandwidth_is_a_lower_bound_on_time(tmp, size_mib, bw):
    """spec B §6.4: -bandwidth caps each task's read rate in MiB/s (fractions
    allowed). A 3 s copy at the limit must not finish in less than half of
    that; the copy is correct."""
    n = int(size_mib * MiB)
    src = make_tree(tmp / "src", {"f": rnd(n, 1)})
    t0 = time.monotonic()
    run("-bandwidth", bw, src, tmp / "dst", check=0)
    elapsed = time.monotonic() - t0
    assert rd(tmp / "dst" / "f") == rd(src / "f")
    ideal = size_mib / float(bw)
    assert elapsed >= 0.5 * ideal, f"{n} B at {bw} MiB/s took only {elapsed:.2f} s"


def test_bandwidth_is_per_task(tmp):
    """spec B §1.2: the limit is per task, so two files on two tasks together
    may move at twice the rate; the result is correct either way (only a
    lower bound is asserted: one file's share)."""
    src = make_tree(tmp / "src", {"a": rnd(MiB, 2), "b": rnd(MiB, 3)})
    t0 = time.monotonic()
    run("-m", "2", "-bandwidth", "1", src, tmp / "dst", check=0)
    elapsed = time.monotonic() - t0
    assert tree(tmp / "dst") == tree(src)
    assert elapsed >= 0.5


@pytest.mark.parametrize("bad", ["0", "-1", "abc"])
def test_bandwidth_invalid_values_rejected(tmp, bad):
    """spec B §1.3 rule 6: bandwidth must be a number > 0."""
    make_tree(tmp / "src", {"a": 1})
    p = run("-bandwidth", bad, tmp / "src", tmp / "dst", check=255)
    assert "Invalid arguments" in p.err
    assert "andwidth" in p.err
    assert not os.path.exists(tmp / "dst")


@pytest.mark.parametrize("opt,msg", [
    ("-m", "Number of maps is invalid"),
    ("-numListstatusThreads", "Number of liststatus threads is invalid"),
    ("-copybuffersize", "copyBufferSize is invalid"),
    ("-blocksperchunk", "blocksPerChunk is invalid"),
])
def test_non_integer_values_rejected(tmp, opt, msg):
    """spec B §1.3 rule 6: non-integer values are rejected with Hadoop's text."""
    make_tree(tmp / "src", {"a": 1})
    p = run(opt, "x1", tmp / "src", tmp / "dst", check=255)
    assert msg in p.err, p.err
