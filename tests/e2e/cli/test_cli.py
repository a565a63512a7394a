"""End-to-end tests of the command line: spec B §1 (syntax, option table,
validation rules 1-17), B §12 (exit statuses) and Part A 1-3 (options
anywhere, unknown options rejected, Hadoop's exit statuses documented in
--help).

Every test builds its own tree in tmp_path and runs the real binary.
"""
import errno
import os
import re
import shutil
import time

import pytest

from conftest import run, make_tree, tree, listing, counters, faulty, read_fault

USAGE = "usage: distcp OPTIONS [source_path...] <target_path>"


def assert_invalid(p, msg=None):
    """spec B §1.3 / e2e contract: 'Invalid arguments: <msg>' + usage, exit 255."""
    assert p.returncode == 255, f"exit {p.returncode}\nstdout:\n{p.out}\nstderr:\n{p.err}"
    if msg is None:
        assert "Invalid arguments" in p.err, p.err
    else:
        assert "Invalid arguments: " + msg in p.err, p.err
    assert USAGE in p.err, p.err
    assert p.err.index("Invalid arguments") < p.err.index(USAGE), p.err


@pytest.fixture
def env(tmp):
    """A source dir S (two files, one sub-dir), a missing target T, a -f list
    file L naming S, and a spare path W."""
    src = make_tree(tmp / "src", {"f": "data", "d": {"g": "gg"}})
    lst = tmp / "list.txt"
    lst.write_text(str(src) + "\n")
    return {"S": str(src), "T": str(tmp / "tgt"), "L": str(lst), "W": str(tmp / "work")}


def subst(args, env):
    return [env.get(a[1:-1], a) if a.startswith("{") and a.endswith("}") else a
            for a in args]


# --------------------------------------------------------------------------
# spec B §1.3: validation rules 1-17, Hadoop's message text, exit 255
# --------------------------------------------------------------------------

M8 = ("-delete and -diff/-rdiff are mutually exclusive. "
      "The -delete option will be ignored.")
M5 = "Must provide both the starting and ending snapshot names"

RULES = [
    # rule 1: only -f, no target
    ("r1", ["-f", "{L}"], "Target path not specified"),
    # rule 2: -f and positional sources
    ("r2", ["-f", "{L}", "{S}", "{T}"],
     "Both source file listing and source paths present"),
    ("r2-f-after", ["{S}", "-f", "{L}", "{T}"],
     "Both source file listing and source paths present"),
    # rule 3: one positional only
    ("r3", ["{T}"], "Neither source file listing nor source paths present"),
    ("r3-with-option", ["-update", "{T}"],
     "Neither source file listing nor source paths present"),
    # rule 4: option argument missing / followed by another option
    ("r4-followed-by-option", ["-m", "-f", "{L}", "{T}"], "Unable to parse arguments"),
    ("r4-at-end", ["{S}", "{T}", "-log"], "Unable to parse arguments"),
    ("r4-filters-at-end", ["{S}", "{T}", "-filters"], "Unable to parse arguments"),
    # rule 5: -diff/-rdiff with fewer than two names or a blank name
    ("r5-diff-one", ["-diff", "s1", "-update", "{S}", "{T}"], M5),
    ("r5-rdiff-one", ["-rdiff", "s2", "-update", "{S}", "{T}"], M5),
    ("r5-diff-blank", ["-update", "-diff", "s1", " ", "{S}", "{T}"], M5),
    # rule 6: numeric errors
    ("r6-maps", ["-m", "abc", "{S}", "{T}"], "Number of maps is invalid: abc"),
    ("r6-maps-float", ["-m", "1.5", "{S}", "{T}"], "Number of maps is invalid: 1.5"),
    ("r6-maps-attached", ["-mabc", "{S}", "{T}"], "Number of maps is invalid: abc"),
    ("r6-lsthreads", ["-numListstatusThreads", "x1", "{S}", "{T}"],
     "Number of liststatus threads is invalid: x1"),
    ("r6-bpc", ["-blocksperchunk", "many", "{S}", "{T}"], "blocksPerChunk is invalid: many"),
    ("r6-cbs", ["-copybuffersize", "12k", "{S}", "{T}"], "copyBufferSize is invalid: 12k"),
    ("r6-bw", ["-bandwidth", "fast", "{S}", "{T}"], "Bandwidth specified is invalid: fast"),
    # rule 7: unknown -p letter
    ("r7", ["-pz", "{S}", "{T}"], "No attribute for z"),
    ("r7-after-good", ["-pugq", "{S}", "{T}"], "No attribute for q"),
    # rule 8: -delete with -diff/-rdiff (checked before rules 11 and 15)
    ("r8-diff", ["-update", "-delete", "-diff", "s1", "s2", "{S}", "{T}"], M8),
    ("r8-rdiff", ["-update", "-delete", "-rdiff", "s2", "s1", "{S}", "{T}"], M8),
    ("r8-before-r11", ["-diff", "s1", "s2", "-delete", "{S}", "{T}"], M8),
    # rule 9
    ("r9", ["-tmp", "{W}", "{S}", "{T}"],
     "-tmp work-path can only be specified along with -atomic"),
    # rule 10
    ("r10", ["-atomic", "-update", "{S}", "{T}"],
     "Atomic commit can't be used with sync folder or overwrite options"),
    # rule 11
    ("r11", ["-delete", "{S}", "{T}"],
     "Delete missing is applicable only with update or overwrite options"),
    ("r11-option-last", ["{S}", "{T}", "-delete"],
     "Delete missing is applicable only with update or overwrite options"),
    # rule 12
    ("r12", ["-overwrite", "-update", "{S}", "{T}"],
     "Overwrite and update options are mutually exclusive"),
    # rule 13
    ("r13", ["-append", "{S}", "{T}"], "Append is valid only with update options"),
    ("r13-with-overwrite", ["-overwrite", "-append", "{S}", "{T}"],
     "Append is valid only with update options"),
    # rule 14
    ("r14", ["-update", "-append", "-skipcrccheck", "{S}", "{T}"],
     "Append is disallowed when skipping CRC"),
    # rule 15
    ("r15-diff", ["-diff", "s1", "s2", "{S}", "{T}"],
     "-diff/-rdiff is valid only with -update option"),
    ("r15-rdiff", ["-rdiff", "s2", "s1", "{S}", "{T}"],
     "-diff/-rdiff is valid only with -update option"),
    # rule 16
    ("r16", ["-update", "-diff", "s1", "s2", "-rdiff", "s2", "s1", "{S}", "{T}"],
     "-diff and -rdiff are mutually exclusive"),
    # rule 17
    ("r17", ["-v", "{S}", "{T}"], "-v is valid only with -log option"),
    ("r17-option-last", ["{S}", "{T}", "-v"], "-v is valid only with -log option"),
]


@pytest.mark.parametrize("args,msg", [r[1:] for r in RULES], ids=[r[0] for r in RULES])
def test_validation_rule(env, args, msg):
    """spec B §1.3 rules 1-17 (and B §12: invalid arguments -> 255): Hadoop's
    message after 'Invalid arguments: ', the usage text, nothing created."""
    before = tree(env["S"])
    p = run(*subst(args, env))
    assert_invalid(p, msg)
    assert not os.path.exists(env["T"])
    assert not os.path.exists(env["W"])
    assert tree(env["S"]) == before


def test_bandwidth_not_positive(env):
    """spec B §1.3 rule 6: bandwidth <= 0 -> 'Bandwidth X is invalid (should be > 0)'."""
    p = run("-bandwidth", "0", env["S"], env["T"])
    assert_invalid(p)
    assert re.search(r"Invalid arguments: Bandwidth \S+ is invalid \(should be > 0\)", p.err), p.err
    assert not os.path.exists(env["T"])


# --------------------------------------------------------------------------
# spec B §1.1 general syntax, Part A 1 and 2
# --------------------------------------------------------------------------

def test_no_arguments_prints_usage(tmp):
    """spec B §1.1: no arguments at all -> usage, exit 255 (Hadoop's -1)."""
    p = run(cwd=tmp)
    assert p.returncode == 255, p.err
    assert USAGE in p.err
    assert os.listdir(tmp) == []


@pytest.mark.parametrize("opt", ["--frobnicate", "-xyz", "-Update", "-mapredSslConf",
                                 "--no-such-option=1"])
def test_unknown_option_rejected(tmp, opt):
    """Part A 2: unknown options (also wrong case, B §1.1 'case-sensitive';
    -mapredSslConf was removed in 3.x) -> Invalid arguments + usage, 255."""
    make_tree(tmp / "src", {"f": "x"})
    p = run(opt, tmp / "src", tmp / "tgt", cwd=tmp)
    assert_invalid(p)
    assert not os.path.exists(tmp / "tgt")
    assert sorted(os.listdir(tmp)) == ["src"]


def test_unknown_option_after_positionals_rejected(tmp):
    """Part A 1 + 2: an unknown option after the paths is still an option, and rejected."""
    make_tree(tmp / "src", {"f": "x"})
    p = run(tmp / "src", tmp / "tgt", "-xyz", cwd=tmp)
    assert_invalid(p)
    assert sorted(os.listdir(tmp)) == ["src"]


def test_options_after_positionals(tmp):
    """Part A 1: `distcp /a /b -update` sets -update (contents of a merged into
    the existing b) instead of copying a and b into a target named '-update'."""
    make_tree(tmp / "a", {"x": "1", "sub": {"y": "2"}})
    make_tree(tmp / "b", {"old": "o"})
    run(tmp / "a", tmp / "b", "-update", cwd=tmp, check=0)
    assert listing(tmp / "b") == ["old", "sub/", "sub/y", "x"]
    assert not os.path.lexists(tmp / "-update")
    assert not os.path.lexists(tmp / "b" / "-update")
    assert not os.path.lexists(tmp / "b" / "a")


def test_option_between_sources(tmp):
    """Part A 1: an option between two sources applies (-update merges the
    contents of both directories into the target, B §3 table)."""
    make_tree(tmp / "D1", {"p": "1"})
    make_tree(tmp / "D2", {"r": "2"})
    run(tmp / "D1", "-update", tmp / "D2", tmp / "out", cwd=tmp, check=0)
    assert listing(tmp / "out") == ["p", "r"]


def test_option_value_after_positionals(tmp):
    """Part A 1: an option with a value may follow the paths (-log DIR)."""
    make_tree(tmp / "src", {"f": "x"})
    run(tmp / "src", tmp / "out", "-log", tmp / "logs", check=0)
    assert listing(tmp / "out") == ["f"]
    assert os.path.isdir(tmp / "logs")


def test_double_dash_ends_options_source(tmp):
    """Part A 1: `--` ends options, so a source whose name starts with '-' can be copied."""
    (tmp / "-weird").write_bytes(b"minus")
    run("--", "-weird", "out", cwd=tmp, check=0)
    assert (tmp / "out").read_bytes() == b"minus"


def test_double_dash_ends_options_with_options_before(tmp):
    """Part A 1: options before `--` still count; a '-' directory after it is a path."""
    make_tree(tmp / "-dir", {"f": "1"})
    make_tree(tmp / "out", {})
    run("-update", "--", "-dir", "out", cwd=tmp, check=0)
    assert listing(tmp / "out") == ["f"]  # -update: contents mode


def test_double_dash_target_named_like_option(tmp):
    """Part A 1: after `--` even '-update' is a plain path (here: the target)."""
    make_tree(tmp / "src", {"f": "1"})
    run("src", "--", "-update", cwd=tmp, check=0)
    assert listing(tmp / "-update") == ["f"]


def test_double_dash_long_names(tmp):
    """spec B §1.1: long options also take a double dash (--update,
    --numListstatusThreads 12) with the same meaning."""
    make_tree(tmp / "src", {"x": "1"})
    make_tree(tmp / "out", {"old": "o"})
    run("--update", "--numListstatusThreads", "12", tmp / "src", tmp / "out", check=0)
    assert listing(tmp / "out") == ["old", "x"]  # contents mode, not out/src


def test_double_dash_delete(tmp):
    """spec B §1.1: --update --delete behave as -update -delete."""
    make_tree(tmp / "src", {"x": "1"})
    make_tree(tmp / "out", {"extra": "e"})
    run("--update", "--delete", tmp / "src", tmp / "out", check=0)
    assert listing(tmp / "out") == ["x"]


def test_bare_p_then_separate_token_is_source(tmp):
    """spec B §1.1: a bare -p means -prbugpct and never takes the next token:
    `-p ugp tgt` copies the directory 'ugp' (times preserved by 't')."""
    make_tree(tmp / "ugp", {"f": "hello"})
    old = time.time() - 86400 * 30
    os.utime(tmp / "ugp" / "f", (old, old))
    run("-p", "ugp", "tgt", cwd=tmp, check=0)
    assert tree(tmp / "tgt") == {"f": b"hello"}
    assert abs(os.stat(tmp / "tgt" / "f").st_mtime - old) < 1


def test_p_letters_attached(tmp):
    """spec B §1.1/§1.2: -p letters attached (-pugp) are parsed; 'p' keeps the mode."""
    make_tree(tmp / "src", {"f": "x"})
    os.chmod(tmp / "src" / "f", 0o600)
    run("-pugp", tmp / "src", tmp / "out", check=0)
    assert os.stat(tmp / "out" / "f").st_mode & 0o7777 == 0o600


def test_p_letters_case_insensitive_and_repeated(tmp):
    """spec B §1.2: -p letters are case-insensitive and may repeat."""
    make_tree(tmp / "src", {"f": "x"})
    os.chmod(tmp / "src" / "f", 0o640)
    run("-pPpUgT", tmp / "src", tmp / "out", check=0)
    assert os.stat(tmp / "out" / "f").st_mode & 0o7777 == 0o640


# --------------------------------------------------------------------------
# spec B §1.2 value rules: clamps, defaults, accepted forms
# --------------------------------------------------------------------------

ACCEPTED = [
    ("m-attached", ["-m10"]),
    ("m-zero-clamped", ["-m", "0"]),
    ("m-negative-attached", ["-m-3"]),
    ("m-trimmed", ["-m", " 7 "]),
    ("lst-over-40", ["-numListstatusThreads", "100"]),
    ("lst-zero", ["-numListstatusThreads", "0"]),
    ("bpc-zero", ["-blocksperchunk", "0"]),
    ("cbs-zero", ["-copybuffersize", "0"]),
    ("cbs-big", ["-copybuffersize", "65536"]),
    ("bw-fraction", ["-bandwidth", "0.5"]),
    ("strategy-dynamic", ["-strategy", "dynamic"]),
    ("strategy-unknown-falls-back", ["-strategy", "nosuchstrategy"]),
    ("useiterator", ["-useiterator"]),
    ("direct", ["-direct"]),
    ("skipcrc-without-update", ["-skipcrccheck"]),
    ("updateroot-without-update", ["-updateRoot"]),
    ("atomic-overwrite", ["-atomic", "-overwrite"]),
    ("i", ["-i"]),
]


@pytest.mark.parametrize("opts", [a[1] for a in ACCEPTED], ids=[a[0] for a in ACCEPTED])
def test_accepted_values(env, opts):
    """spec B §1.2 / §1.3 'not validated': these values are accepted (clamped
    or defaulted) and the copy runs normally, exit 0."""
    run(*opts, env["S"], env["T"], check=0)
    assert tree(env["T"]) == tree(env["S"])


def test_trimmed_source_path(tmp):
    """spec B §1.1: paths given on the command line are trimmed of surrounding whitespace."""
    make_tree(tmp / "src", {"f": "1"})
    run(" src ", " out ", cwd=tmp, check=0)
    assert listing(tmp / "out") == ["f"]
    assert sorted(os.listdir(tmp)) == ["out", "src"]


@pytest.mark.parametrize("opt", ["-filelimit", "-sizelimit"])
@pytest.mark.parametrize("val", ["5", "abc"])
def test_deprecated_limits(env, opt, val):
    """spec B §1.2: -filelimit/-sizelimit are accepted and ignored with a
    warning '<name> is a deprecated option. Ignoring.' (value not checked)."""
    p = run(opt, val, env["S"], env["T"], check=0)
    assert f"{opt[1:]} is a deprecated option. Ignoring." in p.err
    assert tree(env["T"]) == tree(env["S"])  # not limited


# --------------------------------------------------------------------------
# --help / --version (Part A 3)
# --------------------------------------------------------------------------

HELP_OPTIONS = [
    "i", "p", "update", "overwrite", "append", "delete", "updateRoot", "diff", "rdiff",
    "f", "filters", "atomic", "tmp", "log", "v", "m", "strategy", "bandwidth",
    "numListstatusThreads", "useiterator", "skipcrccheck", "blocksperchunk",
    "copybuffersize", "direct", "xtrack", "async",
    # Part A 6 additions named in the e2e contract
    "dry-run", "json", "checksum", "max-delete", "trash", "exclude", "progress",
    "no-progress",
]


def test_help_lists_every_option_and_exit_statuses():
    """Part A 3 + spec B §1.2: --help lists every option and documents the exit
    statuses 0, 255, 254, 253, 252, 25."""
    p = run("--help")
    assert p.returncode == 0, p.err
    text = p.out + p.err
    assert USAGE in text
    missing = [o for o in HELP_OPTIONS
               if not re.search(r"(?<![\w-])--?" + re.escape(o) + r"(?![A-Za-z-])", text)]
    assert not missing, f"options not in --help: {missing}\n{text}"
    for code in ("0", "255", "254", "253", "252", "25"):
        assert re.search(r"(?<![\w.-])" + code + r"(?![\w.])", text), \
            f"exit status {code} not documented\n{text}"


def test_version():
    """--version prints a version and exits 0 without copying anything."""
    p = run("--version")
    assert p.returncode == 0, p.err
    assert re.search(r"\d+\.\d+", p.out + p.err)
    assert "usage:" not in p.err


# --------------------------------------------------------------------------
# spec B §12 exit statuses (those not covered by other files)
# --------------------------------------------------------------------------

def test_exit_0_success_counters(tmp):
    """spec B §12: success -> 0; counters summary present (e2e contract)."""
    make_tree(tmp / "src", {"a": 1024, "d": {"b": 1024}})
    p = run(tmp / "src", tmp / "out", check=0)
    c = counters(p)
    assert c["Files Copied"] == 2
    assert c["Bytes Copied"] == 2048
    assert c["Files Failed"] == 0


def test_exit_0_with_ignored_failure(tmp):
    """spec B §12 / §6.6: with -i an ignored read failure still exits 0."""
    make_tree(tmp / "src", {"good": "g", "badfile": "b"})
    p = run("-i", *read_fault("badfile"), faulty(tmp / "src"), tmp / "out", check=0)
    assert listing(tmp / "out") == ["good"]
    assert counters(p)["Files Failed"] == 1


def test_exit_25_copy_failure(tmp):
    """spec B §12: a non-ignored copy failure -> 25; the error line names the path."""
    make_tree(tmp / "src", {"good": "g", "badfile": "b"})
    p = run(*read_fault("badfile"), faulty(tmp / "src"), tmp / "out", check=25)
    assert any(line.startswith("distcp: ") and "badfile" in line
               for line in p.err.splitlines()), p.err


def _dir_without_user_xattrs():
    for d in ("/dev/shm", "/run", "/var/tmp"):
        probe = os.path.join(d, f".distcp-xattr-probe-{os.getpid()}")
        try:
            open(probe, "w").close()
        except OSError:
            continue
        try:
            os.setxattr(probe, "user.probe", b"1")
        except OSError as e:
            if e.errno in (errno.EOPNOTSUPP, errno.ENOTSUP):
                return d
        finally:
            os.unlink(probe)
    return None


def test_exit_252_xattrs_unsupported(tmp):
    """spec B §12 / §2.3: -px to a store without xattr support -> 252.
    Skipped when this machine has no such file system."""
    d = _dir_without_user_xattrs()
    if d is None:
        pytest.skip("no file system without user xattr support available")
    make_tree(tmp / "src", {"f": "x"})
    tgt = os.path.join(d, f"distcp-e2e-{os.getpid()}")
    try:
        p = run("-px", tmp / "src", tgt)
        assert p.returncode == 252, p.err
    finally:
        shutil.rmtree(tgt, ignore_errors=True)
