"""End-to-end tests of source expansion and input checks: spec B §2.1
(globs, missing sources, relative paths, trailing slashes), §2.2 (-f source
list), §2.3 (input checks before listing) and the exit statuses of B §12 they
produce (255 for InvalidInput, 25 for an unreadable or bad -f list).
"""
import os

import pytest

from conftest import run, make_tree, tree, listing

USAGE = "usage: distcp OPTIONS [source_path...] <target_path>"

FILES = {
    "a1.txt": "a1", "a2.txt": "a2", "b1.txt": "b1", "c1.txt": "c1", "d1.txt": "d1",
    "star*.txt": "literal star", "starX.txt": "starX",
    "br[1].txt": "literal bracket", "br1.txt": "br1",
}


@pytest.fixture
def src(tmp):
    make_tree(tmp / "in", FILES)
    make_tree(tmp / "out", {})
    return tmp


def has_error_line(p, *needles):
    return any(line.startswith("distcp: ") and all(n in line for n in needles)
               for line in p.err.splitlines())


# --------------------------------------------------------------------------
# §2.1 globs
# --------------------------------------------------------------------------

GLOBS = [
    ("star", "in/a*", ["a1.txt", "a2.txt"]),
    ("question", "in/?1.txt", ["a1.txt", "b1.txt", "c1.txt", "d1.txt"]),
    ("range", "in/[a-c]1.txt", ["a1.txt", "b1.txt", "c1.txt"]),
    ("set", "in/[ab]1.txt", ["a1.txt", "b1.txt"]),
    ("negated", "in/[^a]1.txt", ["b1.txt", "c1.txt", "d1.txt"]),
    ("braces", "in/{a,c}1.txt", ["a1.txt", "c1.txt"]),
    ("unescaped-star", "in/star*.txt", ["star*.txt", "starX.txt"]),
    ("escaped-star", "in/star\\*.txt", ["star*.txt"]),
    ("unescaped-bracket", "in/br[1].txt", ["br1.txt"]),
    ("escaped-bracket", "in/br\\[1\\].txt", ["br[1].txt"]),
]


@pytest.mark.parametrize("pattern,expect", [g[1:] for g in GLOBS], ids=[g[0] for g in GLOBS])
def test_glob_absolute(src, pattern, expect):
    """spec B §2.1: each source is expanded as a Hadoop glob (*, ?, [a-c], [^a],
    {a,b}, backslash escape); the matches are the sources."""
    run(str(src / pattern), src / "out", check=0)
    assert listing(src / "out") == expect
    for name in expect:
        assert (src / "out" / name).read_text() == FILES[name]


def test_glob_relative_to_cwd(src):
    """spec B §2.1: a relative glob resolves against the working directory."""
    run("in/{a,b}1.txt", "out", cwd=src, check=0)
    assert listing(src / "out") == ["a1.txt", "b1.txt"]


def test_glob_expanded_count_decides_path_semantics(tmp):
    """spec B §2.1 + §3: the expanded count is what counts. A glob matching two
    dirs copies them as target/<name>; one matching one dir copies its contents
    (target missing)."""
    make_tree(tmp / "in", {"d1": {"f1": "1"}, "d2": {"f2": "2"}, "e1": {"g": "3"}})
    run(tmp / "in" / "d*", tmp / "two", check=0)
    assert listing(tmp / "two") == ["d1/", "d1/f1", "d2/", "d2/f2"]
    run(tmp / "in" / "e*", tmp / "one", check=0)
    assert listing(tmp / "one") == ["g"]


@pytest.mark.parametrize("extra", [False, True], ids=["alone", "with-good-source"])
def test_glob_matching_nothing(src, extra):
    """spec B §2.1 / §12: a glob that matches nothing -> '<path> doesn't exist', exit 255,
    nothing copied."""
    args = [src / "in" / "a1.txt"] if extra else []
    p = run(*args, str(src / "in" / "zz*.none"), src / "new", check=255)
    assert "doesn't exist" in p.err
    assert "zz*.none" in p.err
    assert not os.path.exists(src / "new")


@pytest.mark.parametrize("extra", [False, True], ids=["alone", "with-good-source"])
def test_missing_literal_source(src, extra):
    """spec B §2.1 / §2.3 / §12: a missing source -> exit 255, the path named, nothing copied."""
    args = [src / "in" / "a1.txt"] if extra else []
    p = run(*args, src / "in" / "nosuchfile", src / "new", check=255)
    assert "nosuchfile" in p.err
    assert "doesn't exist" in p.err
    assert not os.path.exists(src / "new")


# --------------------------------------------------------------------------
# §2.1 relative paths and trailing slashes
# --------------------------------------------------------------------------

def test_relative_source_and_target(tmp):
    """spec B §2.1: relative source and target paths resolve against the cwd."""
    make_tree(tmp / "src", {"f": "1", "d": {"g": "2"}})
    run("src", "dst", cwd=tmp, check=0)
    assert tree(tmp / "dst") == tree(tmp / "src")
    run("src/f", "single", cwd=tmp, check=0)
    assert (tmp / "single").read_text() == "1"


def test_relative_dotdot(tmp):
    """spec B §2.1: '..' in a relative path resolves against the cwd too."""
    make_tree(tmp / "src", {"f": "1"})
    make_tree(tmp / "work", {})
    run("../src", "../dst", cwd=tmp / "work", check=0)
    assert listing(tmp / "dst") == ["f"]


@pytest.mark.parametrize("target_exists", [False, True], ids=["target-missing", "target-exists"])
def test_trailing_slash_equivalent(tmp, target_exists):
    """spec B §2.1: '/src/' is the same as '/src' (no rsync-style meaning)."""
    make_tree(tmp / "src", {"f": "1", "d": {"g": "2"}})
    if target_exists:
        make_tree(tmp / "t1", {})
        make_tree(tmp / "t2", {})
    run(tmp / "src", tmp / "t1", check=0)
    run(str(tmp / "src") + "/", tmp / "t2", check=0)
    assert tree(tmp / "t1") == tree(tmp / "t2")
    if target_exists:
        assert listing(tmp / "t2") == ["src/", "src/d/", "src/d/g", "src/f"]
    else:
        assert listing(tmp / "t2") == ["d/", "d/g", "f"]


def test_trailing_slash_on_target(tmp):
    """spec B §2.1: a trailing slash on the target changes nothing either."""
    make_tree(tmp / "src", {"f": "1"})
    run(tmp / "src", str(tmp / "t") + "/", check=0)
    assert listing(tmp / "t") == ["f"]


# --------------------------------------------------------------------------
# §2.2 -f source list
# --------------------------------------------------------------------------

def test_source_list_forms(src):
    """spec B §2.2: -f lines are globbed; absolute, relative (cwd) and file: URIs work."""
    ab = str(src / "in")
    (src / "list").write_text(
        f"{ab}/a1.txt\n"
        "in/b?.txt\n"
        f"file://{ab}/c1.txt\n"
        f"file:{ab}/d1.txt\n")
    run("-f", src / "list", "out", cwd=src, check=0)
    assert listing(src / "out") == ["a1.txt", "b1.txt", "c1.txt", "d1.txt"]
    assert (src / "out" / "c1.txt").read_text() == "c1"


def test_source_list_as_uri(src):
    """spec B §1.2: -f takes a URI; a file:// URI of the list works."""
    (src / "list").write_text(f"{src}/in/a1.txt\n{src}/in/a2.txt\n")
    run("-f", f"file://{src}/list", src / "out", check=0)
    assert listing(src / "out") == ["a1.txt", "a2.txt"]


def test_source_list_single_dir_same_as_command_line(tmp):
    """spec B §2.2: a list with one directory behaves like that directory on the
    command line (target missing -> its contents)."""
    make_tree(tmp / "src", {"f": "1", "d": {"g": "2"}})
    (tmp / "list").write_text(f"{tmp}/src\n")
    run("-f", tmp / "list", tmp / "t1", check=0)
    run(tmp / "src", tmp / "t2", check=0)
    assert tree(tmp / "t1") == tree(tmp / "t2") == tree(tmp / "src")


def test_source_list_with_positional_sources(src):
    """spec B §1.3 rule 2: -f together with positional sources is rejected, 255."""
    (src / "list").write_text(f"{src}/in/a1.txt\n")
    p = run(src / "in" / "b1.txt", "-f", src / "list", src / "new", check=255)
    assert "Invalid arguments: Both source file listing and source paths present" in p.err
    assert USAGE in p.err
    assert not os.path.exists(src / "new")


@pytest.mark.parametrize("kind", ["missing", "directory"])
def test_source_list_unreadable(tmp, kind):
    """spec B §12 / e2e contract: an unreadable -f file -> exit 25, path named."""
    make_tree(tmp / "src", {"f": "1"})
    lst = tmp / "thelist"
    if kind == "directory":
        make_tree(lst, {})
    p = run("-f", lst, tmp / "new", check=25)
    assert has_error_line(p, "thelist"), p.err
    assert not os.path.exists(tmp / "new")


def test_source_list_empty_line_fails(src):
    """spec B §2.2: an empty line in the -f file fails the run (Hadoop: 'Can not
    create a Path from an empty string', generic failure -> 25); nothing copied."""
    (src / "list").write_text(f"{src}/in/a1.txt\n\n{src}/in/b1.txt\n")
    p = run("-f", src / "list", src / "new", check=25)
    assert p.err.strip()
    assert not os.path.exists(src / "new")


def test_source_list_lines_not_trimmed(src):
    """spec B §2.2: lines are used verbatim, not trimmed: 'a1.txt ' (trailing
    space) is a different, missing path -> doesn't exist, 255."""
    (src / "list").write_text(f"{src}/in/a1.txt \n")
    p = run("-f", src / "list", src / "new", check=255)
    assert "doesn't exist" in p.err
    assert not os.path.exists(src / "new")


def test_source_list_missing_entry(src):
    """spec B §2.2 + §2.1: a list line naming a missing path -> 255, path named."""
    (src / "list").write_text(f"{src}/in/a1.txt\n{src}/in/ghost.txt\n")
    p = run("-f", src / "list", src / "new", check=255)
    assert "ghost.txt" in p.err
    assert not os.path.exists(src / "new")


# --------------------------------------------------------------------------
# §2.3 input checks
# --------------------------------------------------------------------------

@pytest.mark.parametrize("how", ["two-literals", "glob"])
def test_multiple_sources_to_file(src, how):
    """spec B §2.3: target is an existing file and there are several (expanded)
    sources -> 'Multiple source being copied to a file: <t>', 255, target intact."""
    (src / "tfile").write_text("keep")
    if how == "glob":
        sources = [str(src / "in" / "a?.txt")]
    else:
        sources = [src / "in" / "a1.txt", src / "in" / "b1.txt"]
    p = run(*sources, src / "tfile", check=255)
    assert "Multiple source being copied to a file" in p.err
    assert "tfile" in p.err
    assert (src / "tfile").read_text() == "keep"


def test_dir_to_existing_file(tmp):
    """spec B §2.3: a directory source with an existing file target ->
    'Cannot copy <s>, which is not a file to <t>', 255, target intact."""
    make_tree(tmp / "srcdir", {"f": "1"})
    (tmp / "tfile").write_text("keep")
    p = run(tmp / "srcdir", tmp / "tfile", check=255)
    assert "Cannot copy" in p.err
    assert "which is not a file" in p.err
    assert "srcdir" in p.err
    assert (tmp / "tfile").read_text() == "keep"


def test_single_file_to_existing_file_allowed(tmp):
    """spec B §2.3: exactly one file source to an existing file is fine (replaced)."""
    (tmp / "s").write_text("new")
    (tmp / "tfile").write_text("old")
    run(tmp / "s", tmp / "tfile", check=0)
    assert (tmp / "tfile").read_text() == "new"


@pytest.mark.parametrize("target_kind", ["dir", "file"])
def test_atomic_existing_target(tmp, target_kind):
    """spec B §2.3: -atomic with an existing target -> 'Target path for
    atomic-commit already exists', 255, target untouched, no work dir left."""
    if target_kind == "dir":
        make_tree(tmp / "src", {"f": "1"})
        make_tree(tmp / "tgt", {"old": "o"})
    else:
        (tmp / "src").write_text("new")  # a file, so only the atomic check applies
        (tmp / "tgt").write_text("old")
    p = run("-atomic", tmp / "src", tmp / "tgt", check=255)
    assert "Target path for atomic-commit already exists" in p.err
    if target_kind == "dir":
        assert tree(tmp / "tgt") == {"old": b"o"}
    else:
        assert (tmp / "tgt").read_text() == "old"
    assert sorted(os.listdir(tmp)) == ["src", "tgt"]


def test_atomic_missing_target_ok(tmp):
    """spec B §2.3 counterpart: -atomic with a missing target copies (contents mode)."""
    make_tree(tmp / "src", {"f": "1", "d": {"g": "2"}})
    run("-atomic", tmp / "src", tmp / "tgt", check=0)
    assert tree(tmp / "tgt") == tree(tmp / "src")
    assert sorted(os.listdir(tmp)) == ["src", "tgt"]
