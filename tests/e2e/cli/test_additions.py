"""End-to-end tests of the Part A 6/7/9 additions as pinned down by the e2e
contract: --dry-run (nothing changed anywhere; action lines on stdout; counters
equal to the real run's), --json (one object on stdout, on success and on
failure), --exclude (qualified or plain path, repeatable, also guards -delete),
no progress text when stderr is not a terminal, and the clear refusals of
-diff/-rdiff (Part A 9, not implemented yet) and -async (Part A 7, not yet).

The -update comparison of Part A 4 is covered by test_decisions.py.
"""
import hashlib
import json
import os
import time
import re
import stat

import pytest

from conftest import counters, faulty, listing, make_tree, read_fault, run, tree

COUNTER_NAMES = ["Files Copied", "Files Skipped", "Directories Copied",
                 "Files Deleted", "Bytes Copied", "Bytes Expected",
                 "Bytes Skipped"]
JSON_COUNTERS = {"COPY", "SKIP", "FAIL", "DIR_COPY", "BYTESCOPIED",
                 "BYTESEXPECTED", "BYTESSKIPPED", "BYTESFAILED", "DELETED"}


def snapshot(root):
    """Everything observable about a tree (lstat-based, links not followed):
    type, mode, owner, size, mtime, ctime, xattrs, content hash / link text."""
    res = {}

    def rec(p, rel):
        st = os.lstat(p)
        try:
            xa = tuple(sorted((k, os.getxattr(p, k, follow_symlinks=False))
                              for k in os.listxattr(p, follow_symlinks=False)))
        except OSError:
            xa = ()
        ent = (stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), st.st_uid,
               st.st_gid, st.st_size, st.st_mtime_ns, st.st_ctime_ns, xa)
        if stat.S_ISLNK(st.st_mode):
            ent += (os.readlink(p),)
        elif stat.S_ISREG(st.st_mode):
            with open(p, "rb") as f:
                ent += (hashlib.sha256(f.read()).hexdigest(),)
        res[rel] = ent
        if stat.S_ISDIR(st.st_mode):
            for n in sorted(os.listdir(p)):
                rec(os.path.join(p, n), rel + "/" + n)
    rec(str(root), "")
    return res


def assert_same(before, after):
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    assert not changed, f"changed entries: {changed[:20]}"


def actions(out):
    """Dry-run action lines from stdout, grouped by verb."""
    acts = {"COPY": set(), "SKIP": set(), "MKDIR": set(), "DELETE": set()}
    n = 0
    for line in out.splitlines():
        verb = line.split(" ", 1)[0]
        if verb in acts:
            acts[verb].add(line.rstrip())
            n += 1
    return acts, n


def sel(c):
    return {k: c.get(k, 0) for k in COUNTER_NAMES}


# ------------------------------------------------------------------ dry run

def _old(root):
    """Make every source entry look old (so target twins are newer)."""
    for dp, dns, fns in os.walk(root, topdown=False):
        for n in fns + dns:
            os.utime(os.path.join(dp, n), (1_000_000_000, 1_000_000_000))
    os.utime(root, (1_000_000_000, 1_000_000_000))


def test_dry_run_copy(tmp):
    """Part A 6 / e2e contract --dry-run: a plain copy to a missing target:
    nothing is created (not even the target dir), the source is untouched;
    stdout lists COPY/MKDIR lines; the counters equal the real run's."""
    src = make_tree(tmp / "src", {"a": 100, "d": {"b": 2000, "e": {}}, "z": b""})
    dst = tmp / "dst"
    before = snapshot(tmp)
    p = run("--dry-run", src, dst, check=0)
    assert_same(before, snapshot(tmp))
    assert not os.path.lexists(dst)
    acts, _ = actions(p.out)
    assert acts["COPY"] == {f"COPY {src}/{r} -> {dst}/{r}" for r in ["a", "d/b", "z"]}
    assert acts["MKDIR"] == {f"MKDIR {dst}", f"MKDIR {dst}/d", f"MKDIR {dst}/d/e"}
    assert acts["SKIP"] == set() and acts["DELETE"] == set()
    dry = sel(counters(p))
    assert dry["Files Copied"] == 3 and dry["Bytes Copied"] == 2100, p.err
    real = run(src, dst, check=0)
    assert tree(dst) == tree(src)
    assert sel(counters(real)) == dry
    assert dry["Directories Copied"] == len(acts["MKDIR"])


def _update_setup(tmp):
    src = make_tree(tmp / "src", {
        "same": 300, "differ": 400, "d": {"new": 50, "same2": 60}, "e": {}})
    _old(src)
    dst = make_tree(tmp / "dst", {"d": {}})
    with open(src / "same", "rb") as f:
        data = f.read()
    with open(dst / "same", "wb") as f:
        f.write(data)
    with open(src / "d" / "same2", "rb") as f:
        data = f.read()
    with open(dst / "d" / "same2", "wb") as f:
        f.write(data)
    with open(dst / "differ", "wb") as f:
        f.write(b"short")
    return src, dst


def test_dry_run_update(tmp):
    """Part A 6 --dry-run with -update: nothing changes anywhere (full
    snapshot incl. mtimes and ctimes); COPY for missing/different files, SKIP
    for identical ones (target newer), MKDIR for a missing directory (no root
    entry with -update); then the real run does and counts exactly that."""
    src, dst = _update_setup(tmp)
    before = snapshot(tmp)
    p = run("--dry-run", "-update", src, dst, check=0)
    assert_same(before, snapshot(tmp))
    acts, _ = actions(p.out)
    assert acts["COPY"] == {f"COPY {src}/{r} -> {dst}/{r}" for r in ["differ", "d/new"]}
    assert acts["SKIP"] == {f"SKIP {src}/{r} -> {dst}/{r}" for r in ["same", "d/same2"]}
    # e missing -> MKDIR; d exists already: listing it is optional (it is
    # still a processed directory entry, counted in Directories Copied)
    assert {f"MKDIR {dst}/e"} <= acts["MKDIR"] <= {f"MKDIR {dst}/d", f"MKDIR {dst}/e"}
    assert acts["DELETE"] == set()
    dry = sel(counters(p))
    assert (dry["Files Copied"], dry["Files Skipped"]) == (2, 2), p.err
    assert dry["Directories Copied"] == 2, p.err
    assert (dry["Bytes Copied"], dry["Bytes Skipped"]) == (450, 360), p.err
    real = run("-update", src, dst, check=0)
    assert sel(counters(real)) == dry
    assert tree(dst) == tree(src)


def test_dry_run_update_delete(tmp):
    """Part A 6 --dry-run with -update -delete: DELETE lines for the extra
    target entries (a directory once, its children not listed); nothing is
    deleted; the real run then deletes and counts the same."""
    src, dst = _update_setup(tmp)
    make_tree(dst, {"x": 5, "gone": {"g1": 1, "g2": {"g3": 2}}, "d": {"y": 3}})
    before = snapshot(tmp)
    p = run("--dry-run", "-update", "-delete", src, dst, check=0)
    assert_same(before, snapshot(tmp))
    acts, _ = actions(p.out)
    assert acts["DELETE"] == {f"DELETE {dst}/x", f"DELETE {dst}/gone", f"DELETE {dst}/d/y"}
    assert acts["COPY"] == {f"COPY {src}/{r} -> {dst}/{r}" for r in ["differ", "d/new"]}
    assert acts["SKIP"] == {f"SKIP {src}/{r} -> {dst}/{r}" for r in ["same", "d/same2"]}
    dry = sel(counters(p))
    assert dry["Files Deleted"] == 3, p.err
    real = run("-update", "-delete", src, dst, check=0)
    assert sel(counters(real)) == dry
    assert tree(dst) == tree(src)


def test_dry_run_overwrite_existing_target(tmp):
    """Part A 6 --dry-run without -update into an existing target directory:
    the source lands under dst/<name>; nothing is created."""
    src = make_tree(tmp / "src", {"a": 10})
    dst = make_tree(tmp / "dst", {})
    before = snapshot(tmp)
    p = run("--dry-run", src, dst, check=0)
    assert_same(before, snapshot(tmp))
    acts, _ = actions(p.out)
    assert acts["COPY"] == {f"COPY {src}/a -> {dst}/src/a"}
    assert acts["MKDIR"] == {f"MKDIR {dst}/src"}


# --------------------------------------------------------------------- json

def _check_json_shape(p):
    doc = json.loads(p.stdout)  # the whole stdout: exactly one JSON value
    assert isinstance(doc, dict), doc
    for k in ("status", "exit_code", "dry_run", "duration_seconds", "counters", "errors"):
        assert k in doc, (k, doc)
    assert doc["status"] in ("SUCCEEDED", "FAILED")
    assert doc["exit_code"] == p.returncode
    assert isinstance(doc["dry_run"], bool)
    assert isinstance(doc["duration_seconds"], (int, float)) \
        and not isinstance(doc["duration_seconds"], bool)
    assert doc["duration_seconds"] >= 0
    assert JSON_COUNTERS <= set(doc["counters"]), doc["counters"]
    for k in JSON_COUNTERS:
        assert isinstance(doc["counters"][k], int), (k, doc["counters"])
    assert isinstance(doc["errors"], list)
    assert all(isinstance(e, str) for e in doc["errors"])
    return doc


def test_json_success(tmp):
    """Part A 6 / e2e contract --json: one object on stdout, SUCCEEDED, exit
    code 0, counters by Hadoop counter names, no errors."""
    src = make_tree(tmp / "src", {"a": 100, "d": {"b": 28}})
    dst = tmp / "dst"
    p = run("--json", src, dst, check=0)
    doc = _check_json_shape(p)
    assert doc["status"] == "SUCCEEDED" and doc["exit_code"] == 0
    assert doc["dry_run"] is False
    c = doc["counters"]
    assert (c["COPY"], c["SKIP"], c["FAIL"], c["DELETED"]) == (2, 0, 0, 0)
    assert (c["BYTESCOPIED"], c["BYTESEXPECTED"], c["BYTESSKIPPED"], c["BYTESFAILED"]) \
        == (128, 128, 0, 0)
    assert c["DIR_COPY"] == 2
    assert doc["errors"] == []
    assert tree(dst) == tree(src)


def test_json_update_delete_counts(tmp):
    """--json counters for -update -delete: SKIP and DELETED."""
    src = make_tree(tmp / "src", {"a": 100})
    _old(src)
    dst = make_tree(tmp / "dst", {"x": 1})
    with open(src / "a", "rb") as f, open(dst / "a", "wb") as g:
        g.write(f.read())
    p = run("--json", "-update", "-delete", src, dst, check=0)
    doc = _check_json_shape(p)
    c = doc["counters"]
    assert (c["COPY"], c["SKIP"], c["DELETED"], c["BYTESSKIPPED"]) == (0, 1, 1, 100)


def test_json_copy_failure(tmp):
    """--json on a copy failure (a read fault through faulty+file://): FAILED,
    exit_code 25, the error names the file; still exactly one object."""
    src = make_tree(tmp / "src", {"good": 10, "bad.bin": 20})
    dst = tmp / "dst"
    p = run("--json", *read_fault("bad.bin"), faulty(src), dst, check=25)
    doc = _check_json_shape(p)
    assert doc["status"] == "FAILED" and doc["exit_code"] == 25
    assert doc["errors"], doc
    assert any("bad.bin" in e for e in doc["errors"]), doc["errors"]


def test_json_ignored_failure(tmp):
    """--json with -i: the ignored read failure is counted (FAIL, BYTESFAILED)
    and the run succeeds."""
    src = make_tree(tmp / "src", {"good": 10, "bad.bin": 20})
    dst = tmp / "dst"
    p = run("--json", "-i", *read_fault("bad.bin"), faulty(src), dst, check=0)
    doc = _check_json_shape(p)
    assert doc["status"] == "SUCCEEDED"
    c = doc["counters"]
    assert (c["COPY"], c["FAIL"], c["BYTESFAILED"]) == (1, 1, 20)


def test_json_listing_failure(tmp):
    """--json when a source does not exist (InvalidInput, exit 255): FAILED
    with exit_code 255 and an error naming the path."""
    dst = tmp / "dst"
    missing = tmp / "no_such_src"
    p = run("--json", missing, dst, check=255)
    doc = _check_json_shape(p)
    assert doc["status"] == "FAILED" and doc["exit_code"] == 255
    assert any("no_such_src" in e for e in doc["errors"]), doc["errors"]
    assert not os.path.lexists(dst)


# ------------------------------------------------------------------ exclude

def _ex_src(tmp):
    return make_tree(tmp / "src", {"a.txt": 1, "b.log": 2,
                                   "d": {"c.log": 3, "e.txt": 4}})


def test_exclude_regex(tmp):
    """Part A 6 / e2e contract --exclude REGEX acts like a -filters line
    (full match)."""
    src = _ex_src(tmp)
    dst = tmp / "dst"
    run("--exclude", r".*\.log", src, dst, check=0)
    assert listing(dst) == ["a.txt", "d/", "d/e.txt"]


def test_exclude_full_match_only(tmp):
    """--exclude needs a full match: a pattern matching only part of the path
    excludes nothing."""
    src = _ex_src(tmp)
    dst = tmp / "dst"
    run("--exclude", "log", src, dst, check=0)
    assert listing(dst) == listing(src)


def test_exclude_repeatable_plain_and_qualified(tmp):
    """--exclude is repeatable; a pattern may match the plain absolute path
    or the qualified form file:/abs/path."""
    src = _ex_src(tmp)
    dst = tmp / "dst"
    run("--exclude", re.escape(str(src)) + r"/d(/.*)?",
        "--exclude", "file:" + re.escape(str(src)) + r"/b\.log",
        src, dst, check=0)
    assert listing(dst) == ["a.txt"]


def test_exclude_with_filters_file(tmp):
    """--exclude and -filters combine (union of patterns)."""
    src = _ex_src(tmp)
    flt = tmp / "filters.txt"
    flt.write_text(".*\\.txt\n")
    dst = tmp / "dst"
    run("-filters", flt, "--exclude", r".*/c\.log", src, dst, check=0)
    assert listing(dst) == ["b.log", "d/"]


def test_exclude_guards_delete(tmp):
    """e2e contract: filters also apply to the target listing for -delete: a
    target entry whose own path matches is never deleted; others are."""
    src = _ex_src(tmp)
    dst = make_tree(tmp / "dst", {"keep.log": 9, "gone.txt": 8, "b.log": 7})
    p = run("-update", "-delete", "--exclude", r".*\.log", src, dst, check=0)
    assert listing(dst) == ["a.txt", "b.log", "d/", "d/e.txt", "keep.log"]
    with open(dst / "b.log", "rb") as f:
        assert len(f.read()) == 7  # excluded source file was not copied
    assert counters(p).get("Files Deleted") == 1, p.err


# ----------------------------------------------------------------- progress

def test_no_progress_when_stderr_not_tty(tmp):
    """e2e contract: the progress line appears only on a terminal; with stderr
    a pipe no "\\r" progress text appears (run lasts ~2 s, -bandwidth 4)."""
    src = make_tree(tmp / "src", {"big": 8 << 20, "d": {f"f{i}": 10 for i in range(50)}})
    p = run("-bandwidth", "4", "-m", "1", src, tmp / "dst", check=0)
    assert "\r" not in p.err
    assert "\r" not in p.out
    p = run("--no-progress", src, tmp / "dst2", check=0)
    assert "\r" not in p.err


# ------------------------------------------------------------ not available

@pytest.mark.parametrize("opt", [["-diff", "s1", "s2"], ["-rdiff", "s2", "s1"]])
def test_diff_rdiff_fail_clearly(tmp, opt):
    """Part A 9 / e2e contract: -diff/-rdiff are validated but running them
    fails with a message that snapshot-diff sync is not available yet, exit
    255; nothing is copied (never a silent full copy)."""
    src = make_tree(tmp / "src", {"a": 10, "d": {"b": 20}})
    dst = make_tree(tmp / "dst", {"old": 1})
    before = snapshot(tmp)
    p = run("-update", *opt, src, dst, check=255)
    err = p.err.lower()
    assert "snapshot" in err and "not available" in err, p.err
    assert_same(before, snapshot(tmp))


def test_async_returns_job_id(tmp):
    """Part A 7: -async returns the job id at once (exit 0); the job runs
    detached and finishes the copy (the job commands: test_jobs.py)."""
    src = make_tree(tmp / "src", {"a": 10})
    dst = tmp / "dst"
    p = run("-async", src, dst, check=0)
    jid = p.out.strip()
    assert jid.isdigit(), p.out
    for _ in range(200):
        if run("job", "state", jid).out.strip() == "SUCCEEDED":
            break
        time.sleep(0.05)
    assert run("job", "state", jid).out.strip() == "SUCCEEDED"
    assert tree(dst) == tree(src)
