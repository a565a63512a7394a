"""End-to-end tests of how files are written: spec B §6 (temp file + rename,
-direct, append, retries, -i, -log/-v, -atomic/-tmp, -blocksperchunk) and the
e2e contract's temp-file rules.

Observations *during* a copy use a large file slowed down with -bandwidth and a
watcher thread that polls the target. Only invariants are asserted ("whenever
the final name exists it has the full size"); "something was seen" assertions
are made only when the copy took long enough to make seeing it certain.

Not tested here (cannot be timed reliably from outside): a source file that
vanishes between listing and copy, and one that changes size during the copy.
"""
import os
import random
import re
import subprocess
import threading
import time

import pytest

from conftest import counters, distcp_bin, fault_rules, faulty, make_tree, read_fault, run, tree

# Faults go through the test build's faulty+file:// wrapper (docs/testing.md §3):
# READ_FAULT fails opening any source whose path holds "zqrfailzq", WRITE_FAULT
# creating any target file whose path holds "zqwfailzq" (both "Permission denied").
READ_FAULT = read_fault("zqrfailzq")
WRITE_FAULT = fault_rules("create:*zqwfailzq*:err=ACCESS")
MiB = 1 << 20


# ---------------------------------------------------------------- helpers

def rnd(n, seed):
    return random.Random(seed).randbytes(n)


def wr(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def rd(path):
    with open(path, "rb") as f:
        return f.read()


def temps_under(*roots):
    """All .distcp.tmp.* entries anywhere under the given roots."""
    found = []
    for r in roots:
        if not os.path.isdir(r):
            continue
        for dp, dns, fns in os.walk(r):
            for n in dns + fns:
                if n.startswith(".distcp.tmp"):
                    found.append(os.path.join(dp, n))
    return found


def read_log(d):
    lines = []
    for dp, _, fns in os.walk(d):
        for fn in fns:
            with open(os.path.join(dp, fn), "r", encoding="utf-8", errors="replace") as f:
                lines += [ln.rstrip("\n") for ln in f if ln.strip()]
    return lines


def qp(path):
    """Regex for a path in a log line: the absolute path, optionally in its
    qualified form (file:/abs or file:///abs)."""
    return r"(?:file:(?://)?)?" + re.escape(str(path))


def start(*args, env=None):
    e = dict(os.environ)
    e.pop("DISTCP_PROGRESS", None)
    if env:
        e.update(env)
    return subprocess.Popen([distcp_bin(), *[str(a) for a in args]],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=e)


class Watcher:
    """Polls `probe()` from a thread until stopped; probe results are kept
    with their time stamps (seconds since start)."""

    def __init__(self, probe, interval=0.002):
        self.probe = probe
        self.interval = interval
        self.samples = []
        self.errors = []
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._loop, daemon=True)
        self.t0 = time.monotonic()

    def _loop(self):
        while not self._stop.is_set():
            try:
                self.samples.append((time.monotonic() - self.t0, self.probe()))
            except Exception as ex:  # noqa: BLE001 - report in main thread
                self.errors.append(repr(ex))
            time.sleep(self.interval)

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *a):
        self._stop.set()
        self._t.join()


def listdir_safe(d):
    try:
        return os.listdir(d)
    except FileNotFoundError:
        return []


def size_or_none(p):
    try:
        return os.stat(p).st_size
    except FileNotFoundError:
        return None


def run_watched(args, probe, env=None):
    """Run distcp with a watcher; returns (returncode, stderr, samples, elapsed)."""
    with Watcher(probe) as w:
        p = start(*args, env=env)
        out, err = p.communicate(timeout=300)
        elapsed = time.monotonic() - w.t0
    assert not w.errors, w.errors
    return p.returncode, err.decode("utf-8", "replace"), w.samples, elapsed


# ---------------------------------------------------------------- temp files

def test_no_temp_file_after_success(tmp):
    """spec B §6.1 / e2e contract: the temp file is always removed; none remain
    after a successful run (tree copy, single file to file, -update rerun)."""
    src = make_tree(tmp / "src", {"a": 5000, "d": {"b": 100, "e": {"c": 0}}, "z": {}})
    run(src, tmp / "dst", check=0)
    assert tree(tmp / "dst") == tree(src)
    run(src / "a", tmp / "single", check=0)
    assert rd(tmp / "single") == rd(src / "a")
    wr(str(src / "d" / "b"), b"changed")
    run("-update", src, tmp / "dst", check=0)
    assert rd(tmp / "dst" / "d" / "b") == b"changed"
    assert temps_under(tmp) == []


@pytest.mark.parametrize("writer", ["unnamed", "named"])
def test_final_name_never_partial_and_temp_in_target_root(tmp, writer):
    """spec B §6.1: the final name either does not exist or has the full size.
    Named temp files (Hadoop's way, DISTCP_NO_TMPFILE=1) are .distcp.tmp.* in
    the top-level target directory, never in the file's own directory; the
    default writer (O_TMPFILE, linked at commit) shows no temp name at all."""
    named = writer == "named"
    env = {"DISTCP_NO_TMPFILE": "1"} if named else None
    size = 6 * MiB
    src = make_tree(tmp / "src", {"a": {"b": {"big": rnd(size, 1)}}})
    dst = tmp / "dst"
    final = dst / "a" / "b" / "big"

    def probe():
        return (size_or_none(final),
                [n for n in listdir_safe(dst) if n.startswith(".distcp.tmp")],
                [n for n in listdir_safe(dst / "a" / "b") if n.startswith(".distcp.tmp")])

    rc, err, samples, elapsed = run_watched(["-bandwidth", "3", src, dst], probe, env=env)
    assert rc == 0, err
    assert rd(final) == rd(src / "a" / "b" / "big")
    sizes = [s[1][0] for s in samples]
    assert all(v is None or v == size for v in sizes), sorted(set(sizes), key=str)
    assert not any(s[1][2] for s in samples), "temp file in the file's own directory"
    if elapsed >= 1.0:
        seen = any(s[1][1] for s in samples)
        if named:
            assert seen, "no .distcp.tmp.* seen in the target root"
        else:
            assert not seen, "a named temp file appeared with the unnamed writer"
    assert temps_under(tmp) == []


@pytest.mark.parametrize("writer", ["unnamed", "named"])
def test_single_file_to_file_temp_in_parent(tmp, writer):
    """spec B §6.1: a single file copied to a file path: the final name is never
    partial; a named temp file (DISTCP_NO_TMPFILE=1) lives in the target's parent."""
    named = writer == "named"
    env = {"DISTCP_NO_TMPFILE": "1"} if named else None
    size = 6 * MiB
    src = make_tree(tmp / "src", {"big": rnd(size, 2)})
    out = tmp / "out"
    os.makedirs(out)
    final = out / "copy.bin"
    wr(str(final), b"old content")   # existing file: overwritten (§5.1)

    def probe():
        return (size_or_none(final),
                [n for n in listdir_safe(out) if n.startswith(".distcp.tmp")])

    rc, err, samples, elapsed = run_watched(["-bandwidth", "3", src / "big", final], probe, env=env)
    assert rc == 0, err
    assert rd(final) == rd(src / "big")
    assert all(s[1][0] in (None, 11, size) for s in samples), \
        sorted(set(s[1][0] for s in samples), key=str)
    if elapsed >= 1.0 and named:
        assert any(s[1][1] for s in samples), "no .distcp.tmp.* seen in the target's parent"
    assert temps_under(tmp) == []


def test_no_temp_file_after_failure(tmp):
    """e2e contract: no temp file remains after a failed run, even when a large
    copy was in flight when another file failed."""
    src = make_tree(tmp / "src", {"big": rnd(6 * MiB, 3), "zqrfailzq.txt": 100})
    dst = tmp / "dst"
    p = run("-m", "2", "-bandwidth", "3", *READ_FAULT, faulty(src), dst, check=25)
    assert "zqrfailzq.txt" in p.err
    assert not os.path.exists(dst / "zqrfailzq.txt")
    if os.path.exists(dst / "big"):
        assert rd(dst / "big") == rd(src / "big")
    assert temps_under(tmp) == []


def test_stray_temp_of_killed_run_is_removed_by_next_run(tmp):
    """e2e contract: a temp file left by a killed run (its PID is dead) is
    removed by the next run on the same target."""
    size = 8 * MiB
    src = make_tree(tmp / "src", {"big": rnd(size, 4), "small": 10})
    dst = tmp / "dst"
    os.makedirs(dst)
    p = start("-update", "-m", "1", "-bandwidth", "2", src, dst)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not temps_under(dst) and p.poll() is None:
            time.sleep(0.005)
        if p.poll() is not None:
            pytest.skip("copy finished before a temp file could be observed")
        assert temps_under(dst), "no temp file appeared within 20 s"
    finally:
        if p.poll() is None:
            p.kill()
        p.communicate()
    stray = temps_under(dst)
    assert stray, "SIGKILL must leave the temp file behind (premise)"
    assert not os.path.exists(dst / "big") or os.path.getsize(dst / "big") == size
    run("-update", src, dst, check=0)
    assert temps_under(tmp) == [], stray
    assert tree(dst) == tree(src)


# ---------------------------------------------------------------- -direct

def test_direct_writes_straight_to_final_name(tmp):
    """spec B §6.2: -direct writes to the final path, no temp file: the final
    name appears early in the copy (not only at the end) and no .distcp.tmp.*
    is ever seen."""
    size = 6 * MiB
    src = make_tree(tmp / "src", {"big": rnd(size, 5)})
    dst = tmp / "dst"
    final = dst / "big"

    def probe():
        return (size_or_none(final),
                [n for n in listdir_safe(dst) if n.startswith(".distcp.tmp")])

    rc, err, samples, elapsed = run_watched(["-direct", "-bandwidth", "3", src, dst], probe)
    assert rc == 0, err
    assert rd(final) == rd(src / "big")
    assert not any(s[1][1] for s in samples), "temp file seen with -direct"
    if elapsed >= 1.0:
        first = [t for t, v in samples if v[0] is not None]
        assert first and first[0] < 0.6 * elapsed, \
            "final name appeared only at the end: not written directly"


def test_direct_tree_copy_and_overwrite(tmp):
    """spec B §6.2: -direct gives the same result as a normal copy, also when
    overwriting existing files."""
    src = make_tree(tmp / "src", {"a": 5000, "d": {"b": 10, "e": {}}, "z": b""})
    run("-direct", src, tmp / "dst", check=0)
    assert tree(tmp / "dst") == tree(src)
    wr(str(src / "a"), rnd(3000, 6))
    p = run("-direct", "-overwrite", src, tmp / "dst", check=0)
    assert tree(tmp / "dst") == tree(src)
    assert counters(p)["Files Copied"] == 3
    assert temps_under(tmp) == []


# ---------------------------------------------------------------- failures, retries, -i

def test_permanent_read_failure_fails_the_job(tmp):
    """spec B §6.5/§6.6/§12: a read failure that persists through the retries
    fails the job with exit 25 and an error naming the path and the cause;
    no target file, no temp file."""
    src = make_tree(tmp / "src", {"ok.txt": 100, "zqrfailzq.txt": 200})
    dst = tmp / "dst"
    p = run(*READ_FAULT, faulty(src), dst, check=25)
    lines = [ln for ln in p.err.splitlines() if ln.startswith("distcp: ")]
    hit = [ln for ln in lines if "zqrfailzq.txt" in ln]
    assert hit, p.err
    assert any("permission denied" in ln.lower() for ln in hit), p.err
    assert not os.path.exists(dst / "zqrfailzq.txt")
    assert temps_under(tmp) == []


def test_ignore_failures_counts_read_failures(tmp):
    """spec B §6.6: with -i a read failure is counted (Files Failed, Bytes
    Failed), logged as 'FAIL: <src> - <error>', produces no target file, the
    others are copied and the job succeeds (exit 0)."""
    src = make_tree(tmp / "src", {"ok.txt": 100, "d": {"zqrfailzq.bin": 300, "ok2": 7}})
    dst = tmp / "dst"
    logd = tmp / "logs"
    p = run("-i", "-log", logd, *READ_FAULT, faulty(src), dst, check=0)
    c = counters(p)
    assert c["Files Failed"] == 1
    assert c["Bytes Failed"] == 300
    assert c["Files Copied"] == 2
    assert c["Bytes Copied"] == 107
    assert not os.path.exists(dst / "d" / "zqrfailzq.bin")
    assert rd(dst / "ok.txt") == rd(src / "ok.txt")
    assert rd(dst / "d" / "ok2") == rd(src / "d" / "ok2")
    lines = read_log(logd)
    pat = re.compile("^FAIL: " + qp(src / "d" / "zqrfailzq.bin") + " - .+")
    assert [ln for ln in lines if pat.match(ln)], lines
    assert all(ln.startswith(("SKIP:", "FAIL:")) for ln in lines), lines
    assert temps_under(tmp) == []


def test_read_failure_without_i_exits_25(tmp):
    """spec B §6.6: without -i the same read failure fails the job (exit 25)."""
    src = make_tree(tmp / "src", {"ok.txt": 100, "d": {"zqrfailzq.bin": 300}})
    dst = tmp / "dst"
    run(*READ_FAULT, faulty(src), dst, check=25)
    assert not os.path.exists(dst / "d" / "zqrfailzq.bin")


@pytest.mark.parametrize("ignore", [False, True], ids=["plain", "with-i"])
def test_write_failure_is_never_ignored(tmp, ignore):
    """spec B §6.6: write-side failures are not ignorable, even with -i:
    exit 25. (The fault is injected for every target path containing the
    target root's name, so it hits the temp file and the final name alike.)"""
    src = make_tree(tmp / "src", {"a.txt": 100, "b.txt": 50})
    dst = tmp / "zqwfailzq"
    args = (["-i"] if ignore else []) + [src, dst]
    p = run(*WRITE_FAULT, *args[:-1], faulty(dst), check=25)
    assert any(ln.startswith("distcp: ") for ln in p.err.splitlines()), p.err
    assert not os.path.exists(dst / "a.txt")
    assert temps_under(tmp) == []


@pytest.mark.parametrize("ignore", [False, True], ids=["plain", "with-i"])
def test_write_failure_direct_is_never_ignored(tmp, ignore):
    """spec B §6.6 with -direct (the fault hits the final name itself)."""
    src = make_tree(tmp / "src", {"zqwfailzq.txt": 100, "b.txt": 50})
    dst = tmp / "dst"
    args = (["-i"] if ignore else []) + ["-direct", src, dst]
    run(*WRITE_FAULT, *args[:-1], faulty(dst), check=25)
    assert not os.path.exists(dst / "zqwfailzq.txt") or \
        os.path.getsize(dst / "zqwfailzq.txt") < 100


# ---------------------------------------------------------------- -log and -v

def _log_fixture(tmp):
    """src: new.txt (absent on target), same.txt (identical, target newer →
    SKIP), grown.txt (5 B on target → copied), zqrfailzq.txt (read fault)."""
    src = make_tree(tmp / "src", {"new.txt": rnd(10, 7), "same.txt": b"samesam",
                                  "grown.txt": rnd(20, 8), "zqrfailzq.txt": rnd(30, 9)})
    dst = tmp / "dst"
    make_tree(dst, {"same.txt": b"samesam", "grown.txt": b"12345"})
    st = os.stat(src / "same.txt")
    os.utime(dst / "same.txt", ns=(st.st_mtime_ns + 10**11,) * 2)
    return src, dst


def test_log_without_v_has_only_skip_and_fail_lines(tmp):
    """spec B §6.7: without -v the log has exactly one 'SKIP: <src>' per skipped
    file and one 'FAIL: <src> - <error>' per ignored failure, nothing for
    copied files or directories."""
    src, dst = _log_fixture(tmp)
    logd = tmp / "logs"
    p = run("-update", "-i", "-log", logd, *READ_FAULT, faulty(src), dst, check=0)
    c = counters(p)
    assert (c["Files Copied"], c["Files Skipped"], c["Files Failed"]) == (2, 1, 1)
    lines = read_log(logd)
    assert len(lines) == 2, lines
    assert [ln for ln in lines if re.fullmatch("SKIP: " + qp(src / "same.txt"), ln)], lines
    assert [ln for ln in lines
            if re.match("FAIL: " + qp(src / "zqrfailzq.txt") + " - .+", ln)], lines
    assert not [ln for ln in lines if ln.startswith("FILE_")], lines


def test_log_verbose_lines_exact_format(tmp):
    """spec B §6.7 / e2e contract: -v adds
    'FILE_COPIED: source=<src>, size=<len> --> target=<tgt>, size=<old target len or 0>'
    and 'FILE_SKIPPED: source=<src>, size=<len> --> target=<tgt>, size=<target len>'."""
    src, dst = _log_fixture(tmp)
    logd = tmp / "logs"
    run("-update", "-i", "-log", logd, "-v", *READ_FAULT, faulty(src), dst, check=0)
    lines = read_log(logd)

    def one(regex):
        m = [ln for ln in lines if re.fullmatch(regex, ln)]
        assert len(m) == 1, (regex, lines)

    one("FILE_COPIED: source=%s, size=10 --> target=%s, size=0"
        % (qp(src / "new.txt"), qp(dst / "new.txt")))
    one("FILE_COPIED: source=%s, size=20 --> target=%s, size=5"
        % (qp(src / "grown.txt"), qp(dst / "grown.txt")))
    one("FILE_SKIPPED: source=%s, size=7 --> target=%s, size=7"
        % (qp(src / "same.txt"), qp(dst / "same.txt")))
    one("SKIP: " + qp(src / "same.txt"))
    one("FAIL: " + qp(src / "zqrfailzq.txt") + " - .+")
    assert len([ln for ln in lines if ln.startswith("FILE_COPIED:")]) == 2, lines
    assert len([ln for ln in lines if ln.startswith("FILE_SKIPPED:")]) == 1, lines
    assert len(lines) == 5, lines


def test_v_without_log_is_rejected(tmp):
    """spec B §1.3 rule 17: '-v is valid only with -log option'."""
    make_tree(tmp / "src", {"a": 1})
    p = run("-v", tmp / "src", tmp / "dst", check=255)
    assert "-v is valid only with -log option" in p.err


# ---------------------------------------------------------------- -atomic / -tmp

def wips(d):
    return [n for n in listdir_safe(d) if n.startswith("._WIP_")]


def test_atomic_basic(tmp):
    """spec B §6.8: -atomic copies with missing-target path semantics and
    leaves no ._WIP_ directory behind."""
    src = make_tree(tmp / "src", {"a": 1000, "d": {"b": 10, "e": {}}})
    out = tmp / "out"
    os.makedirs(out)
    p = run("-atomic", src, out / "dst", check=0)
    assert tree(out / "dst") == tree(src)
    assert wips(out) == []
    assert counters(p)["Files Copied"] == 2
    assert temps_under(tmp) == []


def test_atomic_data_lands_only_at_the_end(tmp):
    """spec B §6.8: all copying goes into <parent>/._WIP_<name><n>; the target
    appears (complete) only at the commit rename; the work dir is gone after."""
    size = 6 * MiB
    src = make_tree(tmp / "src", {"small": 100, "d": {"big": rnd(size, 10)}})
    out = tmp / "out"
    os.makedirs(out)
    dst = out / "dst"

    def probe():
        return (os.path.exists(dst), size_or_none(dst / "d" / "big"),
                size_or_none(dst / "small"), wips(out))

    rc, err, samples, elapsed = run_watched(["-atomic", "-bandwidth", "3", src, dst], probe)
    assert rc == 0, err
    assert tree(dst) == tree(src)
    for _, (exists, big, small, _w) in samples:
        if exists:
            assert big == size and small == 100, "target visible before commit"
    if elapsed >= 1.0:
        seen = [w for _, v in samples for w in v[3]]
        assert seen, "no ._WIP_ work directory seen next to the target"
        assert all(w.startswith("._WIP_dst") for w in seen), seen
    assert wips(out) == []


def test_atomic_tmp_puts_work_dir_there(tmp):
    """spec B §6.8: -tmp DIR: the work directory is created in DIR, not next to
    the target; gone after the commit."""
    size = 6 * MiB
    src = make_tree(tmp / "src", {"big": rnd(size, 11)})
    out = tmp / "out"
    work = tmp / "work"
    os.makedirs(out)
    os.makedirs(work)
    dst = out / "dst"

    def probe():
        return wips(work), wips(out)

    rc, err, samples, elapsed = run_watched(
        ["-atomic", "-tmp", work, "-bandwidth", "3", src, dst], probe)
    assert rc == 0, err
    assert tree(dst) == tree(src)
    assert not any(s[1][1] for s in samples), "work dir created next to the target"
    if elapsed >= 1.0:
        assert any(s[1][0] for s in samples), "no ._WIP_ work directory seen in -tmp DIR"
    assert wips(work) == [] and wips(out) == []


def test_atomic_single_file(tmp):
    """spec B §6.8: single-file source with -atomic: the work path is the file
    itself, renamed to the target at commit."""
    src = make_tree(tmp / "src", {"f.bin": 4000})
    out = tmp / "out"
    os.makedirs(out)
    run("-atomic", src / "f.bin", out / "g.bin", check=0)
    assert rd(out / "g.bin") == rd(src / "f.bin")
    assert sorted(os.listdir(out)) == ["g.bin"]


def test_atomic_existing_target_rejected(tmp):
    """spec B §2.3 / §12: -atomic with an existing target → exit 255,
    nothing changed."""
    src = make_tree(tmp / "src", {"a": 10})
    dst = make_tree(tmp / "dst", {"keep": "k"})
    p = run("-atomic", src, dst, check=255)
    assert "atomic" in p.err.lower()
    assert tree(dst) == {"keep": b"k"}
    assert wips(tmp) == []


def test_atomic_failure_leaves_no_target(tmp):
    """spec B §0/§6.8: if the copy phase fails there is no atomic rename: the
    target does not appear at all."""
    src = make_tree(tmp / "src", {"a": 1000, "zqrfailzq": 10})
    out = tmp / "out"
    os.makedirs(out)
    run("-atomic", *READ_FAULT, faulty(src), out / "dst", check=25)
    assert not os.path.exists(out / "dst")
    assert temps_under(tmp) == []


def test_tmp_without_atomic_rejected(tmp):
    """spec B §1.3 rule 9."""
    make_tree(tmp / "src", {"a": 1})
    p = run("-tmp", tmp / "w", tmp / "src", tmp / "dst", check=255)
    assert "-tmp work-path can only be specified along with -atomic" in p.err


# ---------------------------------------------------------------- -blocksperchunk

def test_blocksperchunk_gives_identical_copy(tmp):
    """spec B §6.9: the observable result of -blocksperchunk is identical to a
    normal copy; no chunk side files remain."""
    big = rnd(64 * MiB, 12)
    src = make_tree(tmp / "src", {"big": big, "d": {"small": 1000, "empty": b""}})
    dst = tmp / "dst"
    p = run("-blocksperchunk", "1", src, dst, check=0)
    assert rd(dst / "big") == big
    assert rd(dst / "d" / "small") == rd(src / "d" / "small")
    assert rd(dst / "d" / "empty") == b""
    # (a chunked file may count once per chunk in Files Copied, as in Hadoop;
    # the bytes add up either way)
    assert counters(p)["Bytes Copied"] == 64 * MiB + 1000
    names = [n for _, _, fns in os.walk(tmp) for n in fns]
    assert not [n for n in names if "distcpSplit" in n], names
    assert temps_under(tmp) == []
    # and an -update rerun skips the chunked file as a whole
    p = run("-update", "-blocksperchunk", "1", src, dst, check=0)
    assert counters(p)["Files Copied"] == 0
    assert counters(p)["Bytes Copied"] == 0
    assert rd(dst / "big") == big


def test_blocksperchunk_forces_append_off(tmp):
    """spec B §1.3 side effects: -blocksperchunk > 0 forces -append off, so a
    prefix target is rewritten in full, not appended to."""
    data = rnd(3000, 13)
    src = make_tree(tmp / "src", {"f": data})
    dst = make_tree(tmp / "dst", {"f": data[:1000]})
    p = run("-update", "-append", "-blocksperchunk", "4", src, dst, check=0)
    assert rd(dst / "f") == data
    assert counters(p)["Bytes Copied"] == 3000
