"""End-to-end tests of exclusion filters: spec B §4 (-filters file, full-match
semantics, no pruning of traversal, filters on the -delete target listing),
the e2e contract's additions (--exclude, -D distcp.exclude-file-regex, both
the "file:/abs" and the plain "/abs" form matched, unreadable filters file is
an error) and B §12 (bad regex / unreadable filters file -> 25).
"""
import os
import re
import shutil
import tempfile

import pytest

from conftest import run, make_tree, tree, listing


@pytest.fixture
def plain():
    """A scratch dir whose absolute path does not contain 'test' (pytest's
    tmp_path always does, which would make the Hadoop example's '.*test.*'
    exclude everything). Removed afterwards."""
    for _ in range(20):
        d = tempfile.mkdtemp(prefix="dcpflt-", dir="/tmp")
        if "test" not in d:
            break
        os.rmdir(d)
    else:
        pytest.skip("could not make a scratch dir without 'test' in its path")
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def lit(path):
    """A regex matching the path literally."""
    return re.escape(str(path))


def write_filters(path, *lines):
    with open(path, "w") as f:
        f.write("".join(line + "\n" for line in lines))
    return path


def has_error_line(p, *needles):
    return any(line.startswith("distcp: ") and all(n in line for n in needles)
               for line in p.err.splitlines())


BASIC = {"a.txt": "a", "b.txt": "b", "c.tmp": "c", "sub": {"d.txt": "d", "e.tmp": "e"}}


# --------------------------------------------------------------------------
# spec B §4: the TestRegexCopyFilter example, as a real copy
# --------------------------------------------------------------------------

def test_hadoop_example(plain):
    """spec B §4 [TestRegexCopyFilter]: patterns '.*test.*', '<src>/user/b.*',
    '.*_SUCCESS' keep only user/foo/bar and mapred/.staging_job among the files."""
    src = os.path.join(plain, "src")
    make_tree(src, {
        "user": {"bar": "1", "foo": {"_SUCCESS": "", "bar": "2"}},
        "hive": {"test_data": "3"},
        "test": "4",
        "mapred": {".staging_job": "5"},
    })
    flt = write_filters(os.path.join(plain, "filters"),
                        ".*test.*", lit(src) + "/user/b.*", ".*_SUCCESS")
    tgt = os.path.join(plain, "tgt")
    run("-filters", flt, src, tgt, check=0)
    assert listing(tgt) == ["hive/", "mapred/", "mapred/.staging_job",
                            "user/", "user/foo/", "user/foo/bar"]
    assert tree(tgt)["user"]["foo"]["bar"] == b"2"


def test_match_everything(tmp):
    """spec B §4: '.*' excludes everything: no file is copied."""
    make_tree(tmp / "src", BASIC)
    flt = write_filters(tmp / "filters", ".*")
    run("-filters", flt, tmp / "src", tmp / "tgt", check=0)
    if os.path.exists(tmp / "tgt"):
        assert listing(tmp / "tgt") == []


# --------------------------------------------------------------------------
# full-match semantics
# --------------------------------------------------------------------------

@pytest.mark.parametrize("pattern", ["user", "bar", "a\\.txt", "sub", "src/a\\.txt"])
def test_partial_match_excludes_nothing(tmp, pattern):
    """spec B §4: matching is a full match (Java matches()), so a pattern that
    matches only part of a path excludes nothing."""
    make_tree(tmp / "src", merged(BASIC, {"user": {"bar": "x"}}))
    flt = write_filters(tmp / "filters", pattern)
    run("-filters", flt, tmp / "src", tmp / "tgt", check=0)
    assert tree(tmp / "tgt") == tree(tmp / "src")


def test_full_match_excludes(tmp):
    """spec B §4: '.*\\.tmp' fully matches the .tmp paths and only those."""
    make_tree(tmp / "src", BASIC)
    flt = write_filters(tmp / "filters", ".*\\.tmp")
    run("-filters", flt, tmp / "src", tmp / "tgt", check=0)
    assert listing(tmp / "tgt") == ["a.txt", "b.txt", "sub/", "sub/d.txt"]


def test_any_pattern_excludes_and_empty_lines_harmless(tmp):
    """spec B §4: a path is excluded if ANY pattern matches; an empty line in
    the filters file matches only the empty string (harmless)."""
    make_tree(tmp / "src", BASIC)
    flt = write_filters(tmp / "filters", "", ".*/a\\.txt", "", ".*\\.tmp", "")
    run("-filters", flt, tmp / "src", tmp / "tgt", check=0)
    assert listing(tmp / "tgt") == ["b.txt", "sub/", "sub/d.txt"]


def merged(*dicts):
    out = {}
    for d in dicts:
        out.update(d)
    return out


# --------------------------------------------------------------------------
# directory patterns and subtrees
# --------------------------------------------------------------------------

TMPDIR_TREE = {"keep.txt": "k", "tmpdir": {"f": "1", "deep": {"g": "2"}}}


def test_dir_pattern_does_not_prune(tmp):
    """spec B §4 bullet 3: excluding a directory entry ('.*/tmpdir') does not
    exclude its children; they are copied and their parents created."""
    make_tree(tmp / "src", TMPDIR_TREE)
    flt = write_filters(tmp / "filters", ".*/tmpdir")
    run("-filters", flt, tmp / "src", tmp / "tgt", check=0)
    assert tree(tmp / "tgt") == tree(tmp / "src")


@pytest.mark.parametrize("pattern", [".*/tmpdir(/.*)?", ".*tmpdir.*"])
def test_subtree_exclusion(tmp, pattern):
    """spec B §4 bullet 3: '.*/tmpdir(/.*)?' (or '.*tmpdir.*') excludes the subtree."""
    make_tree(tmp / "src", TMPDIR_TREE)
    flt = write_filters(tmp / "filters", pattern)
    run("-filters", flt, tmp / "src", tmp / "tgt", check=0)
    assert listing(tmp / "tgt") == ["keep.txt"]


# --------------------------------------------------------------------------
# e2e contract: qualified ("file:/abs") and plain ("/abs") forms
# --------------------------------------------------------------------------

def test_qualified_and_plain_forms(tmp):
    """e2e contract / spec B §4: a pattern written for Hadoop ('file:/abs/...')
    and a plain absolute one ('/abs/...') both exclude."""
    src = make_tree(tmp / "src", BASIC)
    flt = write_filters(tmp / "filters",
                        "file:" + lit(src) + "/a\\.txt",
                        lit(src) + "/b\\.txt")
    run("-filters", flt, src, tmp / "tgt", check=0)
    assert listing(tmp / "tgt") == ["c.tmp", "sub/", "sub/d.txt", "sub/e.tmp"]


def test_hadoop_style_scheme_wildcard(tmp):
    """spec B §4: patterns normally need a leading '.*' because the string is
    the qualified path; 'file:.*/sub/.*' therefore works."""
    make_tree(tmp / "src", BASIC)
    flt = write_filters(tmp / "filters", "file:.*/sub/.*")
    run("-filters", flt, tmp / "src", tmp / "tgt", check=0)
    assert listing(tmp / "tgt") == ["a.txt", "b.txt", "c.tmp", "sub/"]


# --------------------------------------------------------------------------
# --exclude and -D distcp.exclude-file-regex (Part A 6, e2e contract)
# --------------------------------------------------------------------------

def test_exclude_option_repeatable(tmp):
    """Part A 6: --exclude REGEX (repeatable) acts like a -filters line."""
    make_tree(tmp / "src", BASIC)
    run("--exclude", ".*\\.tmp", "--exclude", ".*/a\\.txt",
        tmp / "src", tmp / "tgt", check=0)
    assert listing(tmp / "tgt") == ["b.txt", "sub/", "sub/d.txt"]


def test_exclude_combined_with_filters_file(tmp):
    """Part A 6: --exclude adds to the patterns of a -filters file."""
    make_tree(tmp / "src", BASIC)
    flt = write_filters(tmp / "filters", ".*\\.tmp")
    run("-filters", flt, "--exclude", ".*/b\\.txt", tmp / "src", tmp / "tgt", check=0)
    assert listing(tmp / "tgt") == ["a.txt", "sub/", "sub/d.txt"]


def test_exclude_full_match(tmp):
    """Part A 6 + spec B §4: --exclude is a full match too."""
    make_tree(tmp / "src", BASIC)
    run("--exclude", "tmp", tmp / "src", tmp / "tgt", check=0)
    assert tree(tmp / "tgt") == tree(tmp / "src")


def test_D_exclude_file_regex(tmp):
    """spec B §4/§11: -D distcp.exclude-file-regex=RE excludes matching paths."""
    make_tree(tmp / "src", BASIC)
    run("-D", "distcp.exclude-file-regex=.*\\.tmp", tmp / "src", tmp / "tgt", check=0)
    assert listing(tmp / "tgt") == ["a.txt", "b.txt", "sub/", "sub/d.txt"]


# --------------------------------------------------------------------------
# errors: malformed regex, unreadable filters file (B §12: 25)
# --------------------------------------------------------------------------

def test_malformed_regex_in_filters_file(tmp):
    """spec B §4 / §12: a malformed regex fails the run, exit 25, regex named;
    nothing copied."""
    make_tree(tmp / "src", BASIC)
    flt = write_filters(tmp / "filters", ".*\\.tmp", "foo(bar")
    p = run("-filters", flt, tmp / "src", tmp / "tgt", check=25)
    assert has_error_line(p, "foo(bar"), p.err
    assert not os.path.exists(tmp / "tgt")


def test_malformed_regex_exclude_option(tmp):
    """Part A 6 + spec B §12: a malformed --exclude regex -> 25, regex named."""
    make_tree(tmp / "src", BASIC)
    p = run("--exclude", "[unclosed", tmp / "src", tmp / "tgt", check=25)
    assert has_error_line(p, "[unclosed"), p.err
    assert not os.path.exists(tmp / "tgt")


def test_malformed_regex_D(tmp):
    """spec B §4/§12: a malformed -D distcp.exclude-file-regex -> 25, regex named."""
    make_tree(tmp / "src", BASIC)
    p = run("-D", "distcp.exclude-file-regex=a(b", tmp / "src", tmp / "tgt", check=25)
    assert has_error_line(p, "a(b"), p.err
    assert not os.path.exists(tmp / "tgt")


@pytest.mark.parametrize("kind", ["missing", "directory"])
def test_unreadable_filters_file(tmp, kind):
    """e2e contract (deliberate deviation from Hadoop, which ignores it): an
    unreadable -filters file -> exit 25, path named, nothing copied."""
    make_tree(tmp / "src", BASIC)
    flt = tmp / "theflt"
    if kind == "directory":
        make_tree(flt, {})
    p = run("-filters", flt, tmp / "src", tmp / "tgt", check=25)
    assert has_error_line(p, "theflt"), p.err
    assert not os.path.exists(tmp / "tgt")


# --------------------------------------------------------------------------
# spec B §4 bullet 4: filters on the target listing for -delete
# --------------------------------------------------------------------------

def test_delete_keeps_target_entries_matching_filter(tmp):
    """spec B §4 bullet 4 / §8.1: a target entry whose own path matches a filter
    is never deleted by -delete; other extra entries are."""
    make_tree(tmp / "src", {"a.txt": "new a", "b.txt": "b"})
    make_tree(tmp / "tgt", {"a.txt": "a", "junk.txt": "j", "keep.log": "l",
                            "sub": {"x.log": "x", "y.txt": "y"}})
    make_tree(tmp / "src" / "sub", {})
    flt = write_filters(tmp / "filters", ".*\\.log")
    run("-update", "-delete", "-filters", flt, tmp / "src", tmp / "tgt", check=0)
    assert tree(tmp / "tgt") == {"a.txt": b"new a", "b.txt": b"b", "keep.log": b"l",
                                 "sub": {"x.log": b"x"}}


def test_delete_removes_twin_of_filtered_source(tmp):
    """spec B §4 bullet 4: a source file excluded by a pattern naming the source
    dir, whose target twin does not match, IS deleted from the target."""
    src = make_tree(tmp / "srcdir", {"a.txt": "a", "secret.txt": "s"})
    make_tree(tmp / "tgt", {"secret.txt": "old secret"})
    flt = write_filters(tmp / "filters", lit(src) + "/secret\\.txt")
    run("-update", "-delete", "-filters", flt, src, tmp / "tgt", check=0)
    assert tree(tmp / "tgt") == {"a.txt": b"a"}


def test_delete_keeps_twin_matching_filter(tmp):
    """spec B §4 bullet 4: when the pattern matches the target twin too, the
    twin is neither copied over nor deleted."""
    src = make_tree(tmp / "srcdir", {"a.txt": "a", "secret.txt": "s"})
    make_tree(tmp / "tgt", {"secret.txt": "old secret"})
    flt = write_filters(tmp / "filters", ".*/secret\\.txt")
    run("-update", "-delete", "-filters", flt, src, tmp / "tgt", check=0)
    assert tree(tmp / "tgt") == {"a.txt": b"a", "secret.txt": b"old secret"}


def test_delete_with_exclude_option(tmp):
    """Part A 6 + spec B §4 bullet 4: --exclude protects target entries from -delete too."""
    make_tree(tmp / "src", {"a.txt": "a"})
    make_tree(tmp / "tgt", {"local.cfg": "c", "extra.txt": "e"})
    run("-update", "-delete", "--exclude", ".*\\.cfg", tmp / "src", tmp / "tgt", check=0)
    assert tree(tmp / "tgt") == {"a.txt": b"a", "local.cfg": b"c"}
