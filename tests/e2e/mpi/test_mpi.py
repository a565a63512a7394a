"""End-to-end tests of the MPI mode (src/mpi, issue 7): `mpirun -np N distcp ...` on
127.0.0.1 (oversubscribed, TCP/shared memory on lo only) must give the same result as
the threaded run of the same command: the same target tree, exit code, counters and
--json errors, with the summary printed once (by rank 0).
  - trees (files of many sizes, empty dirs, symlinks, enough files for many batches),
    -update, -update -delete, -i with read failures, a fatal failure, a dry run, bad
    arguments: 1, 2 and 4 ranks, both strategies, compared with the threaded run;
  - the work really spreads: -log part files of every rank hold copies (uniformsize);
    -m is split over the ranks (-m 2 on 4 ranks: two workers in the whole job);
  - a rank that fails: its files are reported as failures (-i counts them, rank 0
    prints them); a rank that cannot start fails the job with a message naming it;
    a rank killed mid-copy ends the job (mpirun), leaves no partial file, and
    -update then finishes the copy.
Skips (saying why) when mpirun is missing or distcp was built without MPI."""
import json
import os
import shutil
import signal
import subprocess
import time

import pytest

from conftest import ROOT, distcp_bin, faulty, make_tree, read_fault, run, tree

MPIRUN = shutil.which("mpirun")
MPI_ENV = {
    "OMPI_ALLOW_RUN_AS_ROOT": "1",
    "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
    "OMPI_MCA_rmaps_base_oversubscribe": "1",
    "OMPI_MCA_btl": "self,vader,tcp",
    "OMPI_MCA_btl_tcp_if_include": "lo",
    "OMPI_MCA_oob_tcp_if_include": "lo",
    # Open MPI's own allocations live until exit; they are not distcp's leaks
    "LSAN_OPTIONS": "suppressions=" + os.path.join(ROOT, "tests", "mpi", "lsan.supp"),
}


def asan_full_stacks(e):
    """Sanitized builds: Open MPI's libraries have no frame pointers, so only
    full unwinding lets the suppressions (tests/mpi/lsan.supp) see that a
    leak is Open MPI's."""
    if "ASAN_OPTIONS" in e:
        e["ASAN_OPTIONS"] += ":fast_unwind_on_malloc=0"


def mpirun(np, *args, env=None, check=None, apps=None, timeout=180):
    """Run distcp under mpirun with np ranks (or the MPMD app contexts `apps`,
    each a list of words before distcp's args)."""
    e = dict(os.environ)
    e.pop("DISTCP_PROGRESS", None)
    e.update(MPI_ENV)
    if env:
        e.update(env)
    asan_full_stacks(e)
    args = [str(a) for a in args]
    if apps:
        cmd = [MPIRUN]
        for i, pre in enumerate(apps):
            if i:
                cmd.append(":")
            cmd += ["-np", "1", *pre, distcp_bin(), *args]
    else:
        cmd = [MPIRUN, "-np", str(np), distcp_bin(), *args]
    p = subprocess.run(cmd, capture_output=True, env=e, timeout=timeout)
    p.out = p.stdout.decode("utf-8", "replace")
    p.err = p.stderr.decode("utf-8", "replace")
    if check is not None:
        assert p.returncode == check, (
            f"exit {p.returncode} != {check}\ncmd: {cmd}\nstdout:\n{p.out}\nstderr:\n{p.err}")
    return p


@pytest.fixture(scope="module", autouse=True)
def mpi_build():
    if not MPIRUN:
        pytest.skip("mpirun is not installed (scripts/setup.sh installs openmpi-bin)")
    p = mpirun(2, "--version")
    if p.returncode != 0 and "built without MPI" in p.err:
        pytest.skip("distcp was built without MPI (DISTCP_MPI=OFF or no MPI compiler found)")
    assert p.returncode == 0, p.err
    assert p.out.count("distcp ") == 1, "only rank 0 prints: " + p.out


def js(p):
    lines = [line for line in p.out.splitlines() if line.startswith("{")]
    assert len(lines) == 1, "one JSON record, from rank 0:\n" + p.out + p.err
    return json.loads(lines[0])


def comparable(d):
    c = dict(d["counters"])
    for k in ("BANDWIDTH_IN_BYTES", "SLEEP_TIME_MS"):
        c.pop(k)
    out = {"status": d["status"], "exit_code": d["exit_code"], "counters": c,
           "errors": sorted(d["errors"]), "errors_total": d["errors_total"]}
    if d["errors_total"] > len(d["errors"]):
        del out["errors"]    # only the first 100 are kept: which ones depends on timing
    return out


SPEC = {
    "a": {"x.txt": "hello", "y.bin": 100000, "e": {}, "deep": {"z": {"w": 5000}}},
    "big.bin": 3 * 1024 * 1024,
    "empty": b"",
    "many": {"d%02d" % i: {"f%03d" % k: 10 + k for k in range(30)} for i in range(20)},
}


def build(tmp, spec=SPEC):
    src = make_tree(str(tmp / "src"), spec)
    os.symlink("a/x.txt", os.path.join(src, "link"))
    return src


def both(tmp, name, np, args, prepare=None, env=None, strategy="uniformsize"):
    """Run the same job threaded and under MPI on identical copies of the
    target; return (threaded, mpi) processes and target dirs."""
    out = []
    for mode in ("thr", "mpi"):
        dst = str(tmp / f"{name}-{mode}")
        if prepare:
            prepare(dst)
        full = ["-strategy", strategy, "--json", *args(dst)]
        if mode == "thr":
            p = run(*full, env=env)
        else:
            p = mpirun(np, *full, env=env)
        out.append((p, dst))
    return out


@pytest.mark.parametrize("np", [1, 2, 4])
@pytest.mark.parametrize("strategy", ["uniformsize", "dynamic"])
def test_tree_same_as_threaded(tmp_path, np, strategy):
    src = build(tmp_path)
    (t, td), (m, md) = both(tmp_path, "tree", np, lambda d: ["-m", "8", src, d], strategy=strategy)
    assert t.returncode == m.returncode == 0, m.err
    assert comparable(js(m)) == comparable(js(t))
    assert tree(md) == tree(td) == tree(src)
    assert m.err.count("DistCp Counters") == 1


@pytest.mark.parametrize("np", [1, 2, 4])
def test_update_and_delete_same_as_threaded(tmp_path, np):
    src = build(tmp_path)

    def prepare(dst):
        run(src, dst, check=0)
        with open(os.path.join(dst, "a", "x.txt"), "w") as f:
            f.write("changed, and longer")          # differs: copied again
        os.remove(os.path.join(dst, "many", "d03", "f007"))   # missing: copied
        os.makedirs(os.path.join(dst, "extra"))
        with open(os.path.join(dst, "extra", "old"), "w") as f:
            f.write("only at the target")          # -delete removes it

    (t, td), (m, md) = both(tmp_path, "upd", np, lambda d: ["-update", src, d], prepare=prepare)
    assert t.returncode == m.returncode == 0, m.err
    assert comparable(js(m)) == comparable(js(t))
    assert js(m)["counters"]["COPY"] == 2
    assert tree(md) == tree(td)
    (t, td), (m, md) = both(tmp_path, "del", np, lambda d: ["-update", "-delete", src, d],
                            prepare=prepare)
    assert t.returncode == m.returncode == 0, m.err
    assert comparable(js(m)) == comparable(js(t))
    assert js(m)["counters"]["DELETED"] >= 1
    assert tree(md) == tree(td) == tree(src)


@pytest.mark.parametrize("np", [1, 2, 4])
def test_ignored_failures_same_as_threaded(tmp_path, np):
    src = build(tmp_path)
    fault = read_fault("/f00")    # f000..f009 of every many/dNN
    (t, td), (m, md) = both(tmp_path, "ign", np,
                            lambda d: ["-i", "-m", "8", *fault, faulty(src), d],
                            strategy="dynamic")
    assert t.returncode == m.returncode == 0, m.err
    assert comparable(js(m)) == comparable(js(t))
    assert js(m)["counters"]["FAIL"] == 200
    assert tree(md) == tree(td)
    # every failure printed once, by rank 0; the same ones as threaded
    def msgs(p):
        return sorted(line for line in p.err.splitlines() if "ignoring failure (-i)" in line)
    assert len(msgs(m)) == 200 and msgs(m) == msgs(t)


@pytest.mark.parametrize("np", [2, 4])
def test_fatal_failure_same_exit(tmp_path, np):
    src = build(tmp_path)
    fault = read_fault("deep/z/w")
    (t, td), (m, md) = both(tmp_path, "fatal", np, lambda d: ["-m", "8", *fault, faulty(src), d])
    assert t.returncode == m.returncode == 25, m.err
    assert js(m)["status"] == "FAILED"
    assert "File copy failed: " + os.path.join(src, "a/deep/z/w") in m.err
    assert m.err.count("job FAILED") == 1
    assert not os.path.exists(os.path.join(md, "a", "deep", "z", "w"))


@pytest.mark.parametrize("np", [1, 4])
def test_dry_run_same_as_threaded(tmp_path, np):
    src = build(tmp_path)
    t = run("--dry-run", src, str(tmp_path / "dt"), check=0)
    m = mpirun(np, "--dry-run", src, str(tmp_path / "dt"), check=0)
    assert sorted(m.out.splitlines()) == sorted(t.out.splitlines())
    assert not os.path.exists(tmp_path / "dt")


@pytest.mark.parametrize("np", [1, 3])
def test_bad_input_same_exit_once(tmp_path, np):
    t = run("-m", "notanumber", "/a", "/b")
    m = mpirun(np, "-m", "notanumber", "/a", "/b")
    assert m.returncode == t.returncode == 255
    assert m.err.count("Invalid arguments") == 1
    missing = str(tmp_path / "nope")
    t = run(missing, str(tmp_path / "t1"))
    m = mpirun(np, missing, str(tmp_path / "t2"))
    assert m.returncode == t.returncode != 0
    assert m.err.count(missing) == t.err.count(missing) >= 1
    assert not os.path.exists(tmp_path / "t2")


def log_counts(logdir):
    out = {}
    for n in sorted(os.listdir(logdir)):
        with open(os.path.join(logdir, n)) as f:
            out[int(n.split("-")[-1])] = sum(1 for line in f if line.startswith("FILE_COPIED"))
    return out


def test_work_spreads_over_ranks(tmp_path):
    # 1200 files: 5 batches of 256 entries, at least one for each of 4 ranks
    src = make_tree(str(tmp_path / "src"), {"d%02d" % i: {"f%03d" % k: 10 + k for k in range(30)}
                                            for i in range(40)})
    log = str(tmp_path / "log")
    m = mpirun(4, "-v", "-m", "8", "-log", log, "--json", src, str(tmp_path / "d"), check=0)
    counts = log_counts(log)
    assert sum(counts.values()) == js(m)["counters"]["COPY"] == 1200
    # -m 8 over 4 ranks: workers 2r and 2r+1 belong to rank r; uniformsize gives
    # every rank a byte-balanced share
    per_rank = [counts.get(2 * r, 0) + counts.get(2 * r + 1, 0) for r in range(4)]
    assert all(n > 0 for n in per_rank), per_rank


def test_m_caps_the_whole_job(tmp_path):
    src = build(tmp_path)
    log = str(tmp_path / "log")
    mpirun(4, "-v", "-m", "2", "-log", log, src, str(tmp_path / "d"), check=0)
    assert sorted(os.listdir(log)) == ["part-m-00000", "part-m-00001"]
    assert sum(log_counts(log).values()) == 605     # every file but the symlink
    assert tree(str(tmp_path / "d")) == tree(src)


def test_failing_rank_work_reported(tmp_path):
    """Rank 1 cannot read any source file: with -i its files are counted
    failed (and named by rank 0), the others' are copied."""
    src = build(tmp_path)
    dst = str(tmp_path / "d")
    m = mpirun(0, "-i", "-m", "4", "--json", faulty(src), dst, check=0,
               apps=[[], ["env", "DISTCP_FAULTY_RULES=open_read:*:err=ACCESS"]])
    c = js(m)["counters"]
    assert c["FAIL"] > 0 and c["COPY"] > 0 and c["COPY"] + c["FAIL"] == 606
    assert m.err.count("ignoring failure (-i)") == c["FAIL"]
    assert js(m)["errors_total"] == c["FAIL"]


def test_rank_that_cannot_start_fails_the_job(tmp_path):
    src = build(tmp_path)
    dst = str(tmp_path / "d")
    m = mpirun(0, src, dst, apps=[[], ["env", "TMPDIR=" + str(tmp_path / "no-such-dir")]])
    assert m.returncode == 25, m.err
    assert "rank 1 on " in m.err and "cannot create the private work area" in m.err
    assert not os.path.exists(dst)


def rank_pid(rank, binary, marker):
    """The pid of the process running `binary` as MPI rank `rank` with `marker`
    (this test's own path) among its arguments, or None: ctest runs other MPI
    tests at the same time, and their ranks must not be touched."""
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                argv = f.read().split(b"\0")
            argv0 = argv[0].decode()
            with open("/proc/%s/environ" % pid, "rb") as f:
                env = f.read().split(b"\0")
        except OSError:
            continue
        if argv0 == binary and ("OMPI_COMM_WORLD_RANK=%d" % rank).encode() in env and \
                marker.encode() in argv:
            return int(pid)
    return None


def test_killed_rank_ends_job_and_update_finishes(tmp_path):
    """A rank killed mid-copy: mpirun ends the job with a failure, the target
    holds only complete files (temp + rename), and -update finishes the copy."""
    src = make_tree(str(tmp_path / "src"), {"d%d" % i: {"f%02d" % k: 150000 + k for k in range(30)}
                                            for i in range(10)})
    dst = str(tmp_path / "d")
    e = dict(os.environ, **MPI_ENV)
    asan_full_stacks(e)
    # -bandwidth 1 MiB/s per worker: the copy takes seconds, time to kill rank 1
    p = subprocess.Popen([MPIRUN, "-np", "3", distcp_bin(), "-bandwidth", "1", "-m", "6", src, dst],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=e)
    try:
        deadline = time.time() + 60
        victim = None
        while time.time() < deadline and p.poll() is None:
            victim = victim or rank_pid(1, distcp_bin(), dst)
            copied = sum(len(fs) for _, _, fs in os.walk(dst)) if os.path.isdir(dst) else 0
            if victim and copied > 0:
                break
            time.sleep(0.05)
        assert victim and p.poll() is None, "the copy ended before rank 1 could be killed"
        os.kill(victim, signal.SIGKILL)
        p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate()
    assert p.returncode != 0
    src_tree, dst_tree = tree(src), tree(dst)
    for d, files in dst_tree.items():
        for name, data in files.items():
            assert data == src_tree[d][name], "partial file %s/%s" % (d, name)
    m = mpirun(3, "-update", "-m", "6", "--json", src, dst, check=0)
    assert tree(dst) == src_tree
    assert js(m)["counters"]["COPY"] + js(m)["counters"]["SKIP"] == 300


def test_webhdfs_roundtrip_same_as_threaded(tmp_path):
    """Every rank talks to the store itself: local -> webhdfs:// with 3 ranks
    (against the WebHDFS TEST SERVER), then back, byte-identical, with the
    counters of the threaded upload."""
    from webhdfsfix import served, uri
    src = build(tmp_path)
    os.remove(os.path.join(src, "link"))     # HDFS over REST: no symbolic links
    root = tmp_path / "hdfs"
    root.mkdir()
    with served(root) as info:
        base = uri(info, "")
        m = mpirun(3, "-m", "6", "--json", src, base + "/mpi", check=0)
        t = run("-m", "6", "--json", src, base + "/thr", check=0)
        assert comparable(js(m)) == comparable(js(t))
        back = str(tmp_path / "back")
        mpirun(2, base + "/mpi", back, check=0)
        assert tree(back) == tree(src)


# ------------------------------------------------ big files split across ranks

# chunk_for (copy.c): files of at least DISTCP_CHUNK_MIN_MB and over their
# fair share of the job are copied in chunks of DISTCP_CHUNK_MB; under MPI the
# chunks of a shared writer go to every rank (src/mpi/mpi_chunk.c)
CHUNK_ENV = {"DISTCP_CHUNK_MB": "1", "DISTCP_CHUNK_MIN_MB": "1"}
# One worker per rank, each throttled (-bandwidth, MB/s per worker): a chunk
# takes tens of milliseconds, so the owner's rank cannot run all of a file's
# chunks before the other ranks (which have no batch of their own, or hold
# one) ask for work; rank 0 hands chunk tasks to asking ranks first.
def chunk_opts(np, mbps=20):
    return ["-m", str(np), "-bandwidth", str(mbps)]
MIB = 1024 * 1024
BIG_SIZES = {"big/b0.bin": 16 * MIB + 1000, "big/b1.bin": 7 * MIB, "edge.bin": 4 * MIB}
BIG_SPEC = {
    "big": {"b0.bin": BIG_SIZES["big/b0.bin"], "b1.bin": BIG_SIZES["big/b1.bin"]},
    "small": {"s%02d" % k: 100 + k for k in range(20)},
    "edge.bin": BIG_SIZES["edge.bin"],  # a whole number of chunks
}


def split_files(sizes, total, workers):
    """The files chunk_for splits: at least DISTCP_CHUNK_MIN_MB and over
    their fair share of the job."""
    return {k: v for k, v in sizes.items() if v >= MIB and v > total // workers}


def chunk_lines(logdir):
    """{source: {chunk index: [ranks that wrote it]}} from the -v -log lines."""
    out = {}
    for n in sorted(os.listdir(logdir)):
        with open(os.path.join(logdir, n)) as f:
            for line in f:
                if not line.startswith("CHUNK_COPIED: "):
                    continue
                kv = dict(x.split("=", 1) for x in line[len("CHUNK_COPIED: "):].strip().split(", "))
                out.setdefault(kv["source"], {}).setdefault(int(kv["chunk"]), []).append(
                    int(kv["rank"]))
    return out


def no_temp_files(root):
    left = [os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs if ".distcp.tmp" in f]
    assert not left, left


def check_chunks(logdir, src, sizes, chunk, np):
    """Every chunk of every big file written exactly once, and the chunks of
    at least one file written by more than one rank."""
    lines = chunk_lines(logdir)
    split = {}
    for rel, size in sizes.items():
        n = (size + chunk - 1) // chunk
        got = lines.get(os.path.join(src, rel))
        assert got is not None, "no chunk lines for %s: %s" % (rel, sorted(lines))
        assert sorted(got) == list(range(n)), (rel, sorted(got))
        assert all(len(r) == 1 for r in got.values()), (rel, got)
        assert all(0 <= r[0] < np for r in got.values())
        split[rel] = sorted({r[0] for r in got.values()})
    if np > 1:
        assert any(len(r) > 1 for r in split.values()), \
            "no file was written by several ranks: %s" % split
    return split


@pytest.mark.parametrize("np", [1, 2, 4])
def test_big_files_split_across_ranks(tmp_path, np):
    """np ranks of one worker each (1 rank: 4 workers, the chunks go through
    rank 0's own chunk queue): the same result as the threaded run, every
    chunk copied once, and a file's chunks copied by several ranks."""
    workers = np if np > 1 else 4
    src = make_tree(str(tmp_path / "src"), BIG_SPEC)
    dm, dt = str(tmp_path / "mpi"), str(tmp_path / "thr")
    log = str(tmp_path / "log")
    m = mpirun(np, "-v", "-log", log, *chunk_opts(workers), "--json", src, dm, env=CHUNK_ENV,
               check=0)
    t = run(*chunk_opts(workers), "--json", src, dt, env=CHUNK_ENV, check=0)
    assert comparable(js(m)) == comparable(js(t))
    assert tree(dm) == tree(dt) == tree(src)
    no_temp_files(dm)
    sizes = split_files(BIG_SIZES, js(t)["counters"]["BYTESCOPIED"], workers)
    assert "big/b0.bin" in sizes
    check_chunks(log, src, sizes, MIB, np)
    # every file is in the log once, also those finished by a receipt
    assert sum(log_counts(log).values()) == js(m)["counters"]["COPY"] == 23
    # only those files were split
    assert sorted(chunk_lines(log)) == sorted(os.path.join(src, k) for k in sizes)


def test_rank_failing_mid_chunk_leaves_no_file(tmp_path):
    """Rank 1 fails every chunk it copies after writing half of it: the job
    fails naming the file, the rank and the chunk; the files those chunks
    belong to are not under their final names, no temp file is left, every
    file that is there is complete; a rerun finishes the copy."""
    src = make_tree(str(tmp_path / "src"), BIG_SPEC)
    dst = str(tmp_path / "d")
    m = mpirun(0, *chunk_opts(2), "--json", src, dst, env=CHUNK_ENV,
               apps=[[], ["env", "DISTCP_TEST_FAIL_CHUNK=1"]])
    assert m.returncode == 25, m.out + m.err
    assert "test fault DISTCP_TEST_FAIL_CHUNK on rank 1" in m.err, m.err
    failed = {line.split(" --> ")[0].split("File copy failed: ")[1]
              for line in m.err.splitlines() if "DISTCP_TEST_FAIL_CHUNK" in line}
    assert failed
    for s in failed:
        assert not os.path.exists(os.path.join(dst, os.path.relpath(s, src))), s
    no_temp_files(dst)
    st = tree(src)

    def subset(have, want, at):
        for name, v in have.items():
            if isinstance(v, dict):
                subset(v, want[name], at + "/" + name)
            else:
                assert v == want[name], "partial file %s/%s" % (at, name)
    subset(tree(dst), st, "")
    mpirun(2, "-update", "-m", "4", src, dst, env=CHUNK_ENV, check=0)
    assert tree(dst) == st


@pytest.fixture(scope="module")
def s3info(tmp_path_factory):
    import sys
    sys.path.insert(0, os.path.join(ROOT, "tests", "s3"))
    import s3server as S
    if "s3rver" not in S.kinds():
        pytest.skip("s3rver is not installed (scripts/setup.sh installs it into tests/s3)")
    proc, info = S.spawn("s3rver", str(tmp_path_factory.mktemp("s3-mpichunk")))
    try:
        yield info
    finally:
        S.stop(proc)


@pytest.mark.parametrize("np", [2, 4])
def test_big_files_split_across_ranks_to_s3(tmp_path, s3info, np):
    """Local -> S3: the owner starts the multipart upload, other ranks upload
    parts of it and send back their ETags; chunks are whole 8 MiB parts."""
    info = s3info
    env = {k: v for k, v in info["env"].items() if k != "AWS_ENDPOINT_URL"}
    env.update(CHUNK_ENV)
    d = ["-D", "fs.s3a.endpoint=" + info["endpoint"]]
    all_sizes = {"b0.bin": 40 * MIB + 123, "b1.bin": 9 * MIB}   # b0: 5 parts and 123 bytes
    spec = dict(all_sizes, small={"s%d" % k: 50 + k for k in range(5)})
    src = make_tree(str(tmp_path / "src"), spec)
    log = str(tmp_path / "log")
    url = "s3a://%s/chunks%d" % (info["bucket"], np)
    m = mpirun(np, *d, "-v", "-log", log, *chunk_opts(np, 40), "--json", src, url + "/mpi",
               env=env, check=0)
    t = run(*d, *chunk_opts(np, 40), "--json", src, url + "/thr", env=env, check=0)
    assert comparable(js(m)) == comparable(js(t))
    back = str(tmp_path / "back")
    run(*d, url + "/mpi", back, env=env, check=0)
    assert tree(back) == tree(src)
    sizes = split_files(all_sizes, js(t)["counters"]["BYTESCOPIED"], np)
    assert list(sizes) == ["b0.bin"]
    check_chunks(log, src, sizes, 8 * MIB, np)
