"""The distributed listing of the MPI mode (src/mpi/mpi_list.c, issue 7): rank 0
lends directories to the other ranks, which list them through their own
backend client and send the children back; rank 0 runs them through the walk
its threads use. The result must be the threaded one:
  - the same target tree, counters and listing report (every entry, in plan
    order) as the threaded run, with 2 and 4 ranks, with and without filters;
  - the other ranks really list: with DISTCP_TEST_LIST_REMOTE_ONLY=1 rank 0
    starts no listing thread of its own, so every directory is listed by
    another rank, and `-v` / the job log say how many each listed;
  - a directory that cannot be listed on another rank gives the threaded
    run's message and exit code (a faulty+file:// source with a list rule: the tests run as
    root, which reads any directory, so the fault is injected);
  - WebHDFS sources are listed by the other ranks too (WebHDFS TEST SERVER);
    S3 sources stay on rank 0 (s3rver).
Skips like test_mpi.py when MPI is missing."""
import csv
import io
import json
import os
import re

import pytest

from conftest import fault_rules, faulty, make_tree, run, tree
from test_mpi import js, mpi_build, mpirun  # noqa: F401

SPEC = {
    "a": {"x.txt": "hello", "y.bin": 100000, "e": {}, "deep": {"z": {"w": 5000, "q": {"r": {}}}}},
    "big.bin": 1024 * 1024,
    "empty": b"",
    "many": {"d%02d" % i: {"f%03d" % k: 10 + k for k in range(20)} | {"s": {"t": {"u": 7}}}
             for i in range(20)},
}
REMOTE = {"DISTCP_TEST_LIST_REMOTE_ONLY": "1"}


def build(tmp):
    src = make_tree(str(tmp / "src"), SPEC)
    os.symlink("a/x.txt", os.path.join(src, "link"))
    return src


def ndirs(root):
    return sum(1 for _ in os.walk(root))


def comparable(d):
    c = dict(d["counters"])
    for k in ("BANDWIDTH_IN_BYTES", "SLEEP_TIME_MS"):
        c.pop(k)
    return {"status": d["status"], "exit_code": d["exit_code"], "counters": c,
            "errors": sorted(d["errors"])}


def listing_report(env, dst):
    jobs = json.loads(run("job", "list", "--json", env=env, check=0).out)
    assert len(jobs) == 1, jobs
    r = run("job", "report", str(jobs[0]["id"]), "--type", "listing", env=env, check=0)
    return [{k: v.replace(dst, "D") for k, v in row.items()} for row in csv.DictReader(io.StringIO(r.out))]


def listed_by_ranks(err):
    return {int(m.group(1)): int(m.group(2))
            for m in re.finditer(r"listing: rank (\d+) listed (\d+) directories", err)}


@pytest.mark.parametrize("np", [2, 4])
@pytest.mark.parametrize("remote_only", [False, True])
def test_listing_same_as_threaded(tmp_path, np, remote_only):
    src = build(tmp_path)
    out = {}
    for mode in ("thr", "mpi"):
        env = {"DISTCP_JOB_STORE": str(tmp_path / mode / "jobs.db")}
        dst = str(tmp_path / ("dst-" + mode))
        args = ["-v", "-log", str(tmp_path / ("log-" + mode)), "-m", "4", "--json", src, dst]
        if mode == "thr":
            p = run(*args, env=env, check=0)
        else:
            p = mpirun(np, *args, env=dict(env, **REMOTE) if remote_only else env, check=0)
        out[mode] = (p, dst, listing_report(env, dst))
    (t, td, tl), (m, md, ml) = out["thr"], out["mpi"]
    assert comparable(js(m)) == comparable(js(t))
    assert tree(md) == tree(td) == tree(src)
    assert ml == tl              # the plan, entry for entry, in order
    by = listed_by_ranks(m.err)
    assert sorted(by) == list(range(1, np)), m.err
    if remote_only:
        # rank 0 listed nothing itself: every directory went to another rank
        assert sum(by.values()) == ndirs(src)
    assert "listing: rank" not in t.err


@pytest.mark.parametrize("np", [2, 4])
def test_filters_same_as_threaded(tmp_path, np):
    src = build(tmp_path)
    flt = tmp_path / "filters"
    flt.write_text(".*/d0[3-5]/.*\n.*\\.bin$\n")
    (tmp_path / "pre").mkdir()
    results = []
    for mode in ("thr", "mpi"):
        dst = str(tmp_path / ("dst-" + mode))
        make_tree(dst, {"many": {"d04": {"old": "x"}}, "stale": "y"})
        args = ["-update", "-delete", "-filters", str(flt), "--json", src, dst]
        p = run(*args, check=0) if mode == "thr" else mpirun(np, *args, env=REMOTE, check=0)
        results.append((p, dst))
    (t, td), (m, md) = results
    assert comparable(js(m)) == comparable(js(t))
    assert tree(md) == tree(td)
    assert "big.bin" not in tree(md) and "old" in tree(md)["many"]["d04"]


@pytest.mark.parametrize("np", [2, 4])
def test_listing_failure_on_other_rank(tmp_path, np):
    """A directory that cannot be listed: the same message and exit code as
    threaded, printed once, nothing copied."""
    src = build(tmp_path)
    # every rank opens the source through the fault-injecting wrapper (docs/testing.md §3);
    # it keeps the local store's capabilities, so the listing is still distributed
    fault = fault_rules("list:*/many/d07:err=ACCESS")
    t = run(*fault, faulty(src), str(tmp_path / "dt"))
    m = mpirun(np, *fault, faulty(src), str(tmp_path / "dm"), env=REMOTE)
    assert t.returncode == m.returncode == 25, m.err

    def lines(p):
        return [x for x in p.err.splitlines() if "listing failed" in x]
    assert len(lines(m)) == 1 and lines(m) == lines(t), (m.err, t.err)
    assert "many/d07" in lines(m)[0] and "Permission denied" in lines(m)[0]
    assert not os.path.exists(tmp_path / "dm")


def test_s3_source_listed_by_rank0(tmp_path):
    """An S3 source is one flat, paged listing: it stays on rank 0 (no
    directory is lent, even with DISTCP_TEST_LIST_REMOTE_ONLY) and the result
    is the threaded one."""
    import sys
    from conftest import ROOT
    sys.path.insert(0, os.path.join(ROOT, "tests", "s3"))
    import s3server as S
    if "s3rver" not in S.kinds():
        pytest.skip("no s3rver (scripts/setup.sh installs it into tests/s3/node_modules)")
    proc, info = S.spawn("s3rver", str(tmp_path / "s3state"))
    try:
        env = {k: v for k, v in info["env"].items() if k != "AWS_ENDPOINT_URL"}
        d = ["-D", "fs.s3a.endpoint=" + info["endpoint"]]
        src = make_tree(str(tmp_path / "src"), {"a": {"x": "1", "b": {"y": 3000}},
                                                 "many": {"d%d" % i: {"f": "z" * i} for i in range(12)}})
        s3src = "s3a://%s/up" % info["bucket"]
        run(*d, src, s3src, env=env, check=0)
        t = run(*d, "--json", s3src, str(tmp_path / "t"), env=env, check=0)
        m = mpirun(2, *d, "-v", "-log", str(tmp_path / "log"), "--json", s3src, str(tmp_path / "m"),
                   env=dict(env, **REMOTE), check=0)
        assert "listing: rank" not in m.err, m.err
        assert comparable(js(m)) == comparable(js(t))
        assert tree(str(tmp_path / "m")) == tree(str(tmp_path / "t")) == tree(src)
    finally:
        S.stop(proc)


def test_webhdfs_source_listed_by_other_ranks(tmp_path):
    """WebHDFS sources are listed by every rank through its own client (the
    WebHDFS TEST SERVER): with rank 0 listing nothing itself the plan and the
    copy are the threaded ones."""
    from webhdfsfix import served, uri
    src = build(tmp_path)
    os.remove(os.path.join(src, "link"))     # HDFS over REST: no symbolic links
    root = tmp_path / "hdfs"
    root.mkdir()
    with served(root) as info:
        base = uri(info, "")
        run(src, base + "/up", check=0)
        t = run("--json", base + "/up", str(tmp_path / "t"), check=0)
        m = mpirun(3, "-v", "-log", str(tmp_path / "log"), "--json", base + "/up", str(tmp_path / "m"),
                   env=REMOTE, check=0)
        by = listed_by_ranks(m.err)
        assert sorted(by) == [1, 2] and sum(by.values()) == ndirs(src), m.err
        assert comparable(js(m)) == comparable(js(t))
        assert tree(str(tmp_path / "m")) == tree(str(tmp_path / "t")) == tree(src)
