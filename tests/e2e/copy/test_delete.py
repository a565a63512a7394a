"""End-to-end tests of -delete and -xtrack (spec B §8), the -delete validation
rule (B §1.3 rule 11), and the delete guard of Part A 6 / e2e contract
(--max-delete N, --trash DIR). Part A 8: -delete removes outright.

Counting rule (e2e contract): "Files Deleted" counts entries removed by
-delete; a deleted directory counts 1 and its children are not counted.
"""
import os
import re
import subprocess

import pytest

from conftest import counters, listing, make_tree, run, tree


def files(names, size=16):
    return {n: size + i for i, n in enumerate(names)}


# ------------------------------------------------------------- what is deleted

@pytest.mark.parametrize("mode", ["-update", "-overwrite"])
def test_interleaved_flat(tmp, mode):
    """spec B §8.1 [TestCopyCommitter.testDeleteMissingFlatInterleavedFiles]:
    source {1,3,4,5,7,8,9}, target {2,4,5,7,9,A} -> 2 and A deleted, target
    ends as {1,3,4,5,7,8,9}."""
    src = make_tree(tmp / "src", files("1345789"))
    dst = make_tree(tmp / "dst", {n: "old" for n in "24579A"})
    p = run(mode, "-delete", src, dst, check=0)
    assert listing(dst) == sorted("1345789")
    assert tree(dst) == tree(src)
    assert counters(p).get("Files Deleted") == 2, p.err


def test_directory_deleted_recursively_counts_one(tmp):
    """spec B §8.1 point 3 + e2e contract: an extra target directory is deleted
    with all its contents and counts 1; children are not deleted again."""
    src = make_tree(tmp / "src", {"keep": 10, "d": {"f": 5}})
    dst = make_tree(tmp / "dst", {
        "keep": 10,
        "x": {"y": {"z": 1, "w": {}}, "f1": 2, "f2": 3},
        "d": {"f": 5, "extra": {"deep": {"q": 1}}},
    })
    p = run("-update", "-delete", src, dst, check=0)
    assert listing(dst) == ["d/", "d/f", "keep"]
    assert counters(p).get("Files Deleted") == 2, p.err


@pytest.mark.parametrize("mode", ["-update", "-overwrite"])
def test_target_root_never_deleted(tmp, mode):
    """spec B §8.1 consequences: the target root itself is never deleted, even
    when the source is an empty directory and every target entry goes."""
    src = tmp / "src"
    os.mkdir(src)
    dst = make_tree(tmp / "dst", {"a": 1, "b": {"c": 2}, "e": {}})
    p = run(mode, "-delete", src, dst, check=0)
    assert os.path.isdir(dst)
    assert listing(dst) == []
    assert counters(p).get("Files Deleted") == 3, p.err


def test_multiple_sources_union(tmp):
    """spec B §8.1: multiple sources with -update -delete: the union of their
    contents is the reference set."""
    s1 = make_tree(tmp / "s1", {"a": 10, "d": {"x": 11}})
    s2 = make_tree(tmp / "s2", {"b": 12, "d2": {"y": 13}})
    dst = make_tree(tmp / "dst", {
        "a": 10, "b": 12, "c": 1,
        "d": {"x": 11, "z": 2},
        "d2": {"y": 13},
        "e": {"f": 3},
    })
    p = run("-update", "-delete", s1, s2, dst, check=0)
    assert listing(dst) == ["a", "b", "d/", "d/x", "d2/", "d2/y"]
    assert counters(p).get("Files Deleted") == 3, p.err


def test_only_keys_matter(tmp):
    """spec B §8.1: a target file whose key exists in the source is kept
    (whatever its content); nested extras are deleted at any depth."""
    src = make_tree(tmp / "src", {"a": {"b": {"c": 30}}})
    dst = make_tree(tmp / "dst", {"a": {"b": {"c": 30, "c2": 1}, "b2": 4}})
    p = run("-update", "-delete", src, dst, check=0)
    assert listing(dst) == ["a/", "a/b/", "a/b/c"]
    assert counters(p).get("Files Deleted") == 2, p.err


def test_delete_requires_update_or_overwrite(tmp):
    """spec B §1.3 rule 11: -delete without -update/-overwrite is rejected
    with Hadoop's message and the usage text, exit 255; nothing happens."""
    src = make_tree(tmp / "src", {"a": 10})
    dst = make_tree(tmp / "dst", {"extra": 1})
    p = run("-delete", src, dst, check=255)
    assert "Invalid arguments" in p.err
    assert "Delete missing is applicable only with update or overwrite options" in p.err
    assert "usage: distcp" in p.err
    assert listing(dst) == ["extra"]


def test_delete_removes_outright(tmp):
    """Part A 8: -delete removes outright (no trash unless --trash is given):
    nothing named like the deleted entry appears anywhere under the test dir."""
    src = make_tree(tmp / "src", {"a": 10})
    dst = make_tree(tmp / "dst", {"a": 10, "gone_marker_file": 7})
    run("-update", "-delete", src, dst, check=0)
    found = [dp for dp, dns, fns in os.walk(tmp) if "gone_marker_file" in fns + dns]
    assert found == []


# ------------------------------------------------------------ delete failure

@pytest.fixture
def immutable():
    """chattr +i makes a file undeletable even for root (ext4); undone at
    teardown so pytest can clean up."""
    made = []

    def mk(path):
        r = subprocess.run(["chattr", "+i", str(path)], capture_output=True)
        if r.returncode != 0:
            pytest.skip("chattr +i not available: " + r.stderr.decode())
        made.append(path)
    yield mk
    for p in made:
        subprocess.run(["chattr", "-i", str(p)], capture_output=True)


def test_delete_failure_fails_job(tmp, immutable):
    """spec B §8.1 point 5: a failed delete aborts the commit (exit 25) and
    the error names the path."""
    src = make_tree(tmp / "src", {"a": 10})
    dst = make_tree(tmp / "dst", {"locked": 3})
    immutable(dst / "locked")
    p = run("-update", "-delete", src, dst, check=25)
    assert os.path.exists(dst / "locked")
    assert "locked" in p.err
    assert any(line.startswith("distcp: ") for line in p.err.splitlines()), p.err


def test_delete_failure_ignored_with_i(tmp, immutable):
    """spec B §6.6/§8.1 point 5: with -i, delete failures are counted and the
    run continues; the other extras are deleted, exit 0."""
    src = make_tree(tmp / "src", {"a": 10})
    dst = make_tree(tmp / "dst", {"locked": 3, "other": 4, "z": {"q": 1}})
    immutable(dst / "locked")
    p = run("-i", "-update", "-delete", src, dst, check=0)
    assert listing(dst) == ["a", "locked"]
    assert counters(p).get("Files Deleted") == 2, p.err


# ----------------------------------------------------------------- -xtrack

def _keys(path):
    with open(path, "rb") as f:
        raw = f.read().decode()
    lines = [ln for ln in raw.split("\n") if ln != ""]
    return lines


def test_xtrack_writes_sorted_listings_and_deletes_nothing(tmp):
    """spec B §8.4: -xtrack DIR (no -delete/-atomic) writes source_sorted.seq
    and target_sorted.seq, one key per line, sorted, built as for -delete;
    nothing is deleted."""
    src = make_tree(tmp / "src", {"a": 10, "c": {"f": 3}, "b": {}})
    dst = make_tree(tmp / "dst", {"a": 10, "z": 1, "y": {"w": 2}})
    xt = tmp / "xt"
    os.mkdir(xt)
    p = run("-update", "-xtrack", xt, src, dst, check=0)
    assert counters(p).get("Files Deleted", 0) == 0
    assert os.path.exists(dst / "z") and os.path.exists(dst / "y" / "w")
    s = _keys(xt / "source_sorted.seq")
    t = _keys(xt / "target_sorted.seq")
    assert s == sorted(s), s
    assert t == sorted(t), t

    def norm(keys):
        return {k.lstrip("/") for k in keys} - {""}
    assert norm(s) == {"a", "b", "c", "c/f"}
    # target listed after the copy: the copied entries plus the extras
    assert norm(t) == {"a", "b", "c", "c/f", "y", "y/w", "z"}


# -------------------------------------------------------------- delete guard

def test_max_delete_refuses(tmp):
    """Part A 6 / e2e contract: --max-delete N with more than N deletions:
    nothing is deleted, exit 25, the message names both numbers."""
    src = make_tree(tmp / "src", {"a": 10})
    extras = {f"x{i}": i + 1 for i in range(7)}
    dst = make_tree(tmp / "dst", extras)
    p = run("-update", "-delete", "--max-delete", "4", src, dst, check=25)
    for n in extras:
        assert os.path.exists(dst / n), n
    msg = [ln for ln in p.err.splitlines() if ln.startswith("distcp: ")]
    assert msg, p.err
    num = r"(?<![\w/.-]){}(?![\w/])"
    assert any(re.search(num.format(7), ln) and re.search(num.format(4), ln)
               for ln in msg), p.err
    assert counters(p).get("Files Deleted", 0) == 0


def test_max_delete_zero_refuses_any(tmp):
    """Part A 6: --max-delete 0 refuses a single deletion."""
    src = make_tree(tmp / "src", {"a": 10})
    dst = make_tree(tmp / "dst", {"x1": 1})
    run("-update", "-delete", "--max-delete", "0", src, dst, check=25)
    assert os.path.exists(dst / "x1")


def test_max_delete_allows_at_limit(tmp):
    """Part A 6: --max-delete N with exactly N deletions goes ahead (a deleted
    directory counts 1, like Files Deleted)."""
    src = make_tree(tmp / "src", {"a": 10})
    dst = make_tree(tmp / "dst", {"x1": 1, "x2": 2, "d": {"f": 1, "g": 2}})
    p = run("-update", "-delete", "--max-delete", "3", src, dst, check=0)
    assert listing(dst) == ["a"]
    assert counters(p).get("Files Deleted") == 3, p.err


def test_max_delete_not_reached_without_extras(tmp):
    """Part A 6: a guard that is not exceeded does not affect the copy."""
    src = make_tree(tmp / "src", {"a": 10, "d": {"b": 3}})
    dst = tmp / "dst"
    run("-update", "-delete", "--max-delete", "0", src, dst, check=0)
    assert tree(dst) == tree(src)


def test_trash_moves_deleted_entries(tmp):
    """Part A 6 / e2e contract: --trash DIR moves entries -delete would remove
    under DIR, keeping their relative paths, instead of removing them."""
    src = make_tree(tmp / "src", {"a": "A", "d": {"b": "B"}})
    dst = make_tree(tmp / "dst", {
        "a": "a-old", "c": "cc", "d": {"b": "b-old", "z": "zz"}, "e": {"f": "ff", "g": {}}})
    trash = tmp / "trash"
    os.mkdir(trash)
    p = run("-update", "-delete", "--trash", trash, src, dst, check=0)
    assert tree(dst) == tree(src)
    assert counters(p).get("Files Deleted") == 3, p.err
    assert tree(trash) == {"c": b"cc", "d": {"z": b"zz"}, "e": {"f": b"ff", "g": {}}}
