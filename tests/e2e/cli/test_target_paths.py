"""End-to-end tests of target path computation: spec B §3 (the summary table,
root-entry omission under -update/-overwrite) and §3.1 (duplicate target keys
-> exit 254, nothing copied; filtered-out paths cannot collide).

The table row for copying the file-system root `/` is not exercised (copying
the whole machine is not a test one can run).
"""
import os
import time

import pytest

from conftest import run, make_tree, tree, listing, counters

F = b"F-content"
OLD = b"OLDOLDOLD"  # same length as F, so only "file target => overwrite" replaces it

SRC = {
    "f": F.decode(),
    "D": {"d1": {"x": "xx"}, "y": "yy"},
    "a": "A", "b": "BB", "c": "CCC",
    "D1": {"p": "1", "s1": {"q": "q"}},
    "D2": {"r": "2", "s2": {"q2": "q2"}},
}

SOURCES = {
    "one-file": ["f"],
    "one-dir": ["D"],
    "files": ["a", "b", "c"],
    "dirs": ["D1", "D2"],
}
MODES = {"plain": [], "update": ["-update"], "overwrite": ["-overwrite"]}


def merged(*dicts):
    out = {}
    for d in dicts:
        out.update(d)
    return out


def expected(s, sources, target, mode):
    """What spec B §3's summary table says the target holds; None = rejected
    (B §2.3), or bytes for a file target."""
    u = mode != "plain"
    if sources == "one-file":
        return F if target in ("missing", "file") else {"f": F}
    if target == "file":
        return None
    if sources == "one-dir":
        if target == "missing" or u:
            return tree(s / "D")
        return {"D": tree(s / "D")}
    if sources == "files":
        return {n: tree(s)[n] for n in ("a", "b", "c")}
    # several dirs
    if u:
        return merged(tree(s / "D1"), tree(s / "D2"))
    return {"D1": tree(s / "D1"), "D2": tree(s / "D2")}


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("target", ["missing", "file", "dir"])
@pytest.mark.parametrize("sources", list(SOURCES))
def test_summary_table(tmp, sources, target, mode):
    """spec B §3 summary table (and §2.3 for the rejected file-target cells):
    {one file, one dir, several files, several dirs} x {missing, existing file,
    existing dir} x {no flag, -update, -overwrite}."""
    s = make_tree(tmp / "s", SRC)
    t = tmp / "t"
    if target == "dir":
        make_tree(t, {})
    elif target == "file":
        t.write_bytes(OLD)
        future = time.time() + 3600
        os.utime(t, (future, future))  # newer than the source: -update must not skip
    want = expected(s, sources, target, mode)
    p = run(*MODES[mode], *[s / n for n in SOURCES[sources]], t)
    if want is None:
        assert p.returncode == 255, p.err
        if sources == "one-dir":
            assert "Cannot copy" in p.err and "which is not a file" in p.err, p.err
        else:
            assert "Multiple source being copied to a file" in p.err, p.err
        assert t.read_bytes() == OLD
        return
    assert p.returncode == 0, p.err
    if isinstance(want, bytes):
        assert t.is_file()
        assert t.read_bytes() == want
    else:
        assert tree(t) == want
    assert tree(s) == tree(make_tree(tmp / "ref", SRC))  # source untouched


@pytest.mark.parametrize("mode", ["plain", "update"])
def test_file_and_dir_sources(tmp, mode):
    """spec B §3 rule 2: a file among several sources always lands as
    target/<name> (even with -update); the dir follows the mode."""
    s = make_tree(tmp / "s", SRC)
    run(*MODES[mode], s / "f", s / "D", tmp / "t", check=0)
    if mode == "update":
        assert tree(tmp / "t") == merged({"f": F}, tree(s / "D"))
    else:
        assert tree(tmp / "t") == {"f": F, "D": tree(s / "D")}


# --------------------------------------------------------------------------
# §3 rules 3-4: root entry omission
# --------------------------------------------------------------------------

@pytest.mark.parametrize("flag", ["-update", "-overwrite"])
def test_update_empty_dir_to_missing_target_lists_nothing(tmp, flag):
    """spec B §3 rule 3 edge: -update/-overwrite of a single empty dir to a
    missing target lists nothing, so the target dir is not created; exit 0."""
    make_tree(tmp / "empty", {})
    run(flag, tmp / "empty", tmp / "t", check=0)
    assert not os.path.exists(tmp / "t")


def test_plain_empty_dir_to_missing_target_created(tmp):
    """spec B §3 rule 4: without -update the root entry is listed: the empty
    target dir is created."""
    make_tree(tmp / "empty", {})
    run(tmp / "empty", tmp / "t", check=0)
    assert os.path.isdir(tmp / "t")
    assert os.listdir(tmp / "t") == []


def test_update_root_lists_root(tmp):
    """spec B §3 rule 3: with -updateRoot the root entry is listed and created."""
    make_tree(tmp / "empty", {})
    run("-update", "-updateRoot", tmp / "empty", tmp / "t", check=0)
    assert os.path.isdir(tmp / "t")


@pytest.mark.parametrize("opts,dirs", [([], 2), (["-update"], 1), (["-overwrite"], 1),
                                       (["-update", "-updateRoot"], 2)],
                         ids=["plain", "update", "overwrite", "updateRoot"])
def test_root_entry_counted_only_when_listed(tmp, opts, dirs):
    """spec B §3 rules 3-4 + §5.2: the root entry is a listed directory (DIR_COPY
    'Directories Copied') only without -update/-overwrite or with -updateRoot."""
    make_tree(tmp / "D", {"d1": {"x": "xx"}, "y": "yy"})
    p = run(*opts, tmp / "D", tmp / "t", check=0)
    assert listing(tmp / "t") == ["d1/", "d1/x", "y"]
    assert counters(p)["Directories Copied"] == dirs


# --------------------------------------------------------------------------
# §3.1 duplicates
# --------------------------------------------------------------------------

SENTINEL = {"keep": "k", "sub": {"z": "zz"}}


def prepare_target(tmp, exists):
    t = tmp / "t"
    if exists:
        make_tree(t, SENTINEL)
    return t


def assert_dup_aborted(p, t, existed):
    assert p.returncode == 254, f"exit {p.returncode}\n{p.err}"
    assert "would cause duplicates" in p.err
    if existed:
        assert tree(t) == tree(make_tree(t.parent / "sentinel-ref", SENTINEL))
    else:
        assert not os.path.exists(t)


@pytest.mark.parametrize("exists", [True, False], ids=["target-exists", "target-missing"])
@pytest.mark.parametrize("kind", ["file", "dir"])
@pytest.mark.parametrize("flag", ["-update", "-overwrite"])
def test_dup_two_dirs_same_child(tmp, flag, kind, exists):
    """spec B §3.1: with -update/-overwrite two source dirs that both contain
    'x' (a file, or a sub-directory!) both map to /x -> exit 254, nothing copied."""
    x1 = "one" if kind == "file" else {"i": "1"}
    x2 = "two" if kind == "file" else {"j": "2"}
    make_tree(tmp / "D1", {"x": x1, "u1": "u"})
    make_tree(tmp / "D2", {"x": x2, "u2": "u"})
    t = prepare_target(tmp, exists)
    p = run(flag, tmp / "D1", tmp / "D2", t)
    assert_dup_aborted(p, t, exists)


@pytest.mark.parametrize("exists", [True, False], ids=["target-exists", "target-missing"])
def test_dup_glob_same_file_name(tmp, exists):
    """spec B §3.1: glob in/*/* matching in/a/1.txt and in/b/1.txt -> both map
    to /1.txt (no -update needed) -> 254, nothing copied."""
    make_tree(tmp / "in", {"a": {"1.txt": "a"}, "b": {"1.txt": "b"}})
    t = prepare_target(tmp, exists)
    p = run(str(tmp / "in" / "*" / "*"), t)
    assert_dup_aborted(p, t, exists)


@pytest.mark.parametrize("exists", [True, False], ids=["target-exists", "target-missing"])
def test_dup_same_dir_name(tmp, exists):
    """spec B §3.1: sources /a/d and /b/d without -update both map to /d -> 254."""
    make_tree(tmp / "a" / "d", {"f1": "1"})
    make_tree(tmp / "b" / "d", {"f2": "2"})
    t = prepare_target(tmp, exists)
    p = run(tmp / "a" / "d", tmp / "b" / "d", t)
    assert_dup_aborted(p, t, exists)


def test_filtered_paths_cannot_collide_glob(tmp):
    """spec B §3.1 + §4: filtered-out paths are not listed and cannot collide."""
    make_tree(tmp / "in", {"a": {"1.txt": "a"}, "b": {"1.txt": "b"}})
    (tmp / "filters").write_text(".*/b/1\\.txt\n")
    run("-filters", tmp / "filters", str(tmp / "in" / "*" / "*"), tmp / "t", check=0)
    assert tree(tmp / "t") == {"1.txt": b"a"}


def test_filtered_paths_cannot_collide_update(tmp):
    """spec B §3.1 + §4: -update with D1/x and D2/x, D2/x excluded -> no collision."""
    make_tree(tmp / "D1", {"x": "one"})
    make_tree(tmp / "D2", {"x": "two", "y": "y"})
    (tmp / "filters").write_text(".*/D2/x\n")
    run("-update", "-filters", tmp / "filters", tmp / "D1", tmp / "D2", tmp / "t", check=0)
    assert tree(tmp / "t") == {"x": b"one", "y": b"y"}


def test_filtered_paths_cannot_collide_dirs(tmp):
    """spec B §3.1 + §4: /a/d and /b/d with /b/d's whole subtree excluded -> no collision."""
    make_tree(tmp / "a" / "d", {"f1": "1"})
    make_tree(tmp / "b" / "d", {"f2": "2"})
    (tmp / "filters").write_text(".*/b/d(/.*)?\n")
    run("-filters", tmp / "filters", tmp / "a" / "d", tmp / "b" / "d", tmp / "t", check=0)
    assert tree(tmp / "t") == {"d": {"f1": b"1"}}
