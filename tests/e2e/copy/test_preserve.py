"""End-to-end tests of attribute preservation, spec B §7 (-p letters), plus the
target-root rule of B §3 rule 3 (-updateRoot) and the r/b/c "not applicable"
note of the e2e contract.

The source tree gets distinct owners, groups, modes (one sticky directory),
whole-second mtimes, user.* xattrs and POSIX ACLs (one directory with a default
ACL). Every letter u g p t x a is checked on newly copied files, on skipped
files (-update, target older-looking content twins made by the test) and on
directories (applied at commit). Tests run as root, so chown to any uid works.
The umask is pinned to 022 so "default mode" means 0644 / 0755.
"""
import os
import stat
import subprocess
import time

import pytest

from conftest import counters, make_tree, run

DIGEST_PREFIX = "user.distcp."

# relative path -> (mode, uid, gid, mtime seconds); "" is the source root.
ATTRS = {
    "": (0o750, 1111, 2222, 1_000_000_000),
    "a": (0o600, 1234, 2345, 1_000_100_000),
    "x.sh": (0o755, 1236, 2347, 1_000_200_000),
    "empty": (0o640, 1237, 2348, 1_000_300_000),
    "d": (0o711, 1235, 2346, 1_000_400_000),
    "d/b": (0o604, 1238, 2349, 1_000_500_000),
    "d/e": (0o1777, 1239, 2350, 1_000_600_000),
}
FILES = ["a", "x.sh", "empty", "d/b"]
DIRS = ["", "d", "d/e"]
ATIME_OFFSET = 7  # source atime = mtime + 7 s (distinct from mtime)
XATTRS = {"a": {"user.k1": b"v1"}, "d/b": {"user.k2": b"bin\x00\xff"},
          "d": {"user.dk": b"dv"}}


@pytest.fixture(autouse=True)
def _umask():
    old = os.umask(0o022)
    yield
    os.umask(old)


def j(root, rel):
    return os.path.join(str(root), rel) if rel else str(root)


def getfacl(p):
    return subprocess.run(["getfacl", "-cnpE", "--", str(p)], check=True,
                          capture_output=True, text=True).stdout


def setfacl(p, *args):
    subprocess.run(["setfacl", *args, "--", str(p)], check=True)


def has_extended_acl(p):
    txt = getfacl(p)
    return "mask::" in txt or "default:" in txt


def user_xattrs(p):
    """user.* xattrs, excluding distcp's own bookkeeping (user.distcp.*)."""
    out = {}
    for k in os.listxattr(p, follow_symlinks=False):
        if k.startswith("user.") and not k.startswith(DIGEST_PREFIX):
            out[k] = os.getxattr(p, k, follow_symlinks=False)
    return out


def build_src(tmp):
    src = tmp / "src"
    make_tree(src, {"a": 1000, "x.sh": 300, "empty": b"", "d": {"b": 500, "e": {}}})
    for rel, (mode, uid, gid, _) in ATTRS.items():
        os.chown(j(src, rel), uid, gid)
        os.chmod(j(src, rel), mode)
    setfacl(j(src, "a"), "-m", "u:1500:r--,g:1600:rw-")
    setfacl(j(src, "d"), "-m", "u:1501:rwx")
    setfacl(j(src, "d"), "-d", "-m", "u:1502:r-x")
    for rel, xa in XATTRS.items():
        for k, v in xa.items():
            os.setxattr(j(src, rel), k, v)
    set_times(src)
    return src


def set_times(src):
    """Times last, deepest first (utime on a child does not touch the parent)."""
    for rel in sorted(ATTRS, key=lambda r: -len(r)):
        mt = ATTRS[rel][3]
        os.utime(j(src, rel), (mt + ATIME_OFFSET, mt))


def make_plain_twin(src, dst):
    """Same names and contents as src, but default attributes and mtime now.
    Reading the source moved its atimes: they are set back afterwards."""
    os.makedirs(dst)
    for rel in DIRS[1:]:
        os.makedirs(j(dst, rel), exist_ok=True)
    for rel in FILES:
        with open(j(src, rel), "rb") as f, open(j(dst, rel), "wb") as g:
            g.write(f.read())
    set_times(src)


def attr(letter, p):
    st = os.lstat(p)
    if letter == "u":
        return st.st_uid
    if letter == "g":
        return st.st_gid
    if letter == "p":
        return stat.S_IMODE(st.st_mode)
    if letter == "t":
        return st.st_mtime_ns
    if letter == "x":
        return user_xattrs(p)
    if letter == "a":
        return getfacl(p)
    raise AssertionError(letter)


def assert_not_preserved(letters, src, dst, rels, t0):
    """Attributes whose letter is absent must have the copier's defaults."""
    for rel in rels:
        d = j(dst, rel)
        st = os.lstat(d)
        isdir = stat.S_ISDIR(st.st_mode)
        if "p" not in letters and "a" not in letters:
            want = 0o755 if isdir else 0o644
            assert stat.S_IMODE(st.st_mode) == want, (rel, oct(st.st_mode))
        if "u" not in letters:
            assert st.st_uid == 0, rel
        if "g" not in letters:
            assert st.st_gid == 0, rel
        if "t" not in letters:
            assert st.st_mtime >= t0 - 2, (rel, st.st_mtime, t0)
        if "x" not in letters:
            for k in XATTRS.get(rel, {}):
                assert k not in os.listxattr(d), (rel, k)
        if "a" not in letters:
            assert not has_extended_acl(d), (rel, getfacl(d))


# ------------------------------------------------------------------ letters

@pytest.mark.parametrize("letter", list("ugptxa"))
def test_letter_on_copied_files_and_dirs(tmp, letter):
    """spec B §7: -p<letter> applies that attribute to newly copied files
    (copy phase) and to every directory including the target root (commit;
    no -update, so the root entry key "" is listed, B §3 rule 4); the other
    attributes keep the copier's defaults."""
    src = build_src(tmp)
    dst = tmp / "dst"
    t0 = time.time()
    p = run("-p" + letter, src, dst, check=0)
    c = counters(p)
    assert c.get("Files Copied") == len(FILES), p.err
    for rel in FILES + DIRS:
        assert attr(letter, j(dst, rel)) == attr(letter, j(src, rel)), (letter, rel)
    assert_not_preserved(letter, src, dst, FILES + DIRS, t0)


@pytest.mark.parametrize("letter", list("ugptxa"))
def test_letter_on_skipped_files_and_dirs(tmp, letter):
    """spec B §5.1 note + §7: attributes are applied to the target also when
    the file is skipped (-update, same content, target newer so the mtime rule
    skips); directories get them at commit; the target root (key "") is not
    touched with -update (no -updateRoot)."""
    src = build_src(tmp)
    dst = tmp / "dst"
    make_plain_twin(src, dst)
    root_before = attr(letter, dst)
    p = run("-update", "-p" + letter, src, dst, check=0)
    c = counters(p)
    assert c.get("Files Skipped") == len(FILES), p.err
    assert c.get("Files Copied") == 0, p.err
    for rel in FILES + DIRS[1:]:
        assert attr(letter, j(dst, rel)) == attr(letter, j(src, rel)), (letter, rel)
    assert attr(letter, dst) == root_before
    if letter == "t":
        # t = modification + access time; skipped source files are not read,
        # so their atime is still the one the test set.
        for rel in FILES:
            assert os.lstat(j(dst, rel)).st_atime == ATTRS[rel][3] + ATIME_OFFSET, rel


def test_directories_get_permissions_at_commit(tmp):
    """spec B §7 [testPreserveStatus]: source dirs 0777, existing target dirs
    0700 -> 0777 after commit; the target root keeps its own mode with -update."""
    src = tmp / "src"
    make_tree(src, {"d1": {"f": 10, "d2": {"g": 20}}, "d3": {}})
    dst = tmp / "dst"
    make_tree(dst, {"d1": {"d2": {}}, "d3": {}})
    for rel in ["d1", "d1/d2", "d3"]:
        os.chmod(j(src, rel), 0o777)
        os.chmod(j(dst, rel), 0o700)
    os.chmod(src, 0o777)
    os.chmod(dst, 0o700)
    run("-update", "-pp", src, dst, check=0)
    for rel in ["d1", "d1/d2", "d3"]:
        assert stat.S_IMODE(os.stat(j(dst, rel)).st_mode) == 0o777, rel
    assert stat.S_IMODE(os.stat(dst).st_mode) == 0o700


def test_no_p_preserves_nothing(tmp):
    """spec B §7: without -p nothing is preserved: files 0644 (umask 022),
    dirs 0755, owner root, mtime now, no xattrs, no ACLs."""
    src = build_src(tmp)
    dst = tmp / "dst"
    t0 = time.time()
    run(src, dst, check=0)
    assert_not_preserved("", src, dst, FILES + DIRS, t0)


def test_bare_p_is_rbugpct(tmp):
    """spec B §1.2/§7: bare -p = rbugpct: owner, group, permissions and times
    kept (files and dirs, root included without -update); xattrs and ACLs not."""
    src = build_src(tmp)
    dst = tmp / "dst"
    p = run("-p", src, dst, check=0)
    for rel in FILES + DIRS:
        for letter in "ugpt":
            assert attr(letter, j(dst, rel)) == attr(letter, j(src, rel)), (letter, rel)
        for k in XATTRS.get(rel, {}):
            assert k not in os.listxattr(j(dst, rel)), (rel, k)
        assert not has_extended_acl(j(dst, rel)), rel
    assert p.err.lower().count("not applicable") <= 1, p.err


def test_all_letters(tmp):
    """spec B §7: -prbugpcaxt preserves everything applicable at once."""
    src = build_src(tmp)
    dst = tmp / "dst"
    run("-prbugpcaxt", src, dst, check=0)
    for rel in FILES + DIRS:
        for letter in "ugptxa":
            assert attr(letter, j(dst, rel)) == attr(letter, j(src, rel)), (letter, rel)


def test_px_copies_user_xattrs(tmp):
    """spec B §7: -px copies user.* xattrs of files and directories
    (binary values included)."""
    src = build_src(tmp)
    dst = tmp / "dst"
    run("-px", src, dst, check=0)
    for rel, xa in XATTRS.items():
        got = user_xattrs(j(dst, rel))
        for k, v in xa.items():
            assert got.get(k) == v, (rel, k, got)


def test_pa_copies_acls_including_default_acl(tmp):
    """spec B §7: -pa copies POSIX ACLs (access ACL of a file, access and
    default ACL of a directory) and, with them, the permission bits."""
    src = build_src(tmp)
    dst = tmp / "dst"
    run("-pa", src, dst, check=0)
    assert "user:1500:r--" in getfacl(j(dst, "a"))
    assert "group:1600:rw-" in getfacl(j(dst, "a"))
    txt = getfacl(j(dst, "d"))
    assert "user:1501:rwx" in txt and "default:user:1502:r-x" in txt, txt
    for rel in FILES + DIRS:
        assert getfacl(j(dst, rel)) == getfacl(j(src, rel)), rel


@pytest.mark.parametrize("opt", ["-pr", "-pb", "-pc", "-prbc"])
def test_rbc_accepted_not_applicable(tmp, opt):
    """e2e contract / spec B §7: r, b, c are accepted on a local store and
    reported once on stderr as not applicable; exit 0, data copied."""
    src = tmp / "src"
    make_tree(src, {"f": 100})
    dst = tmp / "dst"
    p = run(opt, src, dst, check=0)
    assert p.err.lower().count("not applicable") == 1, p.err
    with open(src / "f", "rb") as f, open(dst / "f", "rb") as g:
        assert f.read() == g.read()


# ------------------------------------------------------------- target root

def _root_tree(tmp):
    src = tmp / "src"
    make_tree(src, {"f": 100, "d": {"g": 10}})
    os.utime(src / "f", (1_100_000_000, 1_100_000_000))
    os.utime(src / "d" / "g", (1_100_000_000, 1_100_000_000))
    os.utime(src / "d", (1_100_000_000, 1_100_000_000))
    os.chown(src, 1111, 2222)
    os.chmod(src, 0o750)
    os.utime(src, (1_200_000_000, 1_200_000_000))
    return src


@pytest.mark.parametrize("existing", [False, True])
def test_update_without_updateroot_leaves_target_root(tmp, existing):
    """spec B §3 rule 3 / §7 [TestDistCpSystem.testUpdateRoot]:
    `-p -update src dest1` -> dest1's owner and mtime differ from src's
    (the root entry is not listed, so it gets no attributes)."""
    src = _root_tree(tmp)
    dst = tmp / "dest1"
    if existing:
        os.mkdir(dst, 0o700)
        os.chmod(dst, 0o700)
    run("-p", "-update", src, dst, check=0)
    s, d = os.stat(src), os.stat(dst)
    assert d.st_uid != s.st_uid
    assert d.st_gid != s.st_gid
    assert d.st_mtime_ns != s.st_mtime_ns
    if existing:
        assert stat.S_IMODE(d.st_mode) == 0o700
    # the children did get their attributes
    assert os.stat(dst / "f").st_mtime == 1_100_000_000
    assert os.stat(dst / "d").st_mtime == 1_100_000_000


@pytest.mark.parametrize("existing", [False, True])
def test_update_with_updateroot_sets_target_root(tmp, existing):
    """spec B §1.2 -updateRoot / §3 rule 3 [testUpdateRoot]:
    `-p -update -updateRoot src dest2` -> dest2's owner, group, mode and
    mtime equal src's."""
    src = _root_tree(tmp)
    dst = tmp / "dest2"
    if existing:
        os.mkdir(dst)
        os.chmod(dst, 0o700)
    run("-p", "-update", "-updateRoot", src, dst, check=0)
    s, d = os.stat(src), os.stat(dst)
    assert (d.st_uid, d.st_gid) == (1111, 2222)
    assert stat.S_IMODE(d.st_mode) == 0o750
    assert d.st_mtime_ns == s.st_mtime_ns


def test_pub_update_existing_target_keeps_root_owner(tmp):
    """spec B §7 example: -pub -update into an existing target: children get
    the source owners, the target root keeps its own owner."""
    src = tmp / "srcdat"
    make_tree(src, {"a": 10, "b": {"c": 20}})
    for rel, uid in [("", 1000), ("a", 1001), ("b", 1002), ("b/c", 1003)]:
        os.chown(j(src, rel), uid, 0)
    dst = tmp / "dstdat"
    os.mkdir(dst)
    run("-pub", "-update", src, dst, check=0)
    assert os.stat(dst).st_uid == 0
    for rel, uid in [("a", 1001), ("b", 1002), ("b/c", 1003)]:
        assert os.stat(j(dst, rel)).st_uid == uid, rel


def test_pub_existing_target_no_update(tmp):
    """spec B §7 example: -pub srcdat dstdat with dstdat existing ->
    dstdat/srcdat/... with owners u0..u3; with dstdat missing -> dstdat (u0),
    dstdat/a (u1), ..."""
    src = tmp / "srcdat"
    make_tree(src, {"a": 10, "b": {"c": 20}})
    owners = [("", 1000), ("a", 1001), ("b", 1002), ("b/c", 1003)]
    for rel, uid in owners:
        os.chown(j(src, rel), uid, 0)
    dst = tmp / "dstdat"
    os.mkdir(dst)
    run("-pub", src, dst, check=0)
    for rel, uid in owners:
        assert os.stat(j(dst / "srcdat", rel)).st_uid == uid, rel
    dst2 = tmp / "dstdat2"
    run("-pub", src, dst2, check=0)
    for rel, uid in owners:
        assert os.stat(j(dst2, rel)).st_uid == uid, rel


# ---------------------------------------------------------------- re-runs

def test_rerun_identical_attributes_changes_nothing(tmp):
    """spec B §7 [testSkipCopyNoPerms]: owner/group set only if different,
    permissions only if different; times equal too: a second -update -pugpt
    run skips every file and leaves the targets' ctime untouched."""
    src = build_src(tmp)
    dst = tmp / "dst"
    run("-update", "-pugpt", src, dst, check=0)
    # The first run read the source files (atime moved); make the source's
    # atime equal to what the target received so all attributes are equal.
    for rel in FILES:
        s, d = os.lstat(j(src, rel)), os.lstat(j(dst, rel))
        os.utime(j(src, rel), ns=(d.st_atime_ns, s.st_mtime_ns))
    before = {rel: os.lstat(j(dst, rel)) for rel in FILES}
    time.sleep(0.05)
    p = run("-update", "-pugpt", src, dst, check=0)
    c = counters(p)
    assert c.get("Files Skipped") == len(FILES), p.err
    assert c.get("Files Copied") == 0, p.err
    for rel in FILES:
        a, b = before[rel], os.lstat(j(dst, rel))
        assert b.st_ctime_ns == a.st_ctime_ns, f"{rel}: attributes were re-applied"
        assert (b.st_uid, b.st_gid, b.st_mode, b.st_mtime_ns) == \
               (a.st_uid, a.st_gid, a.st_mode, a.st_mtime_ns), rel


def test_dir_mtimes_preserved_with_delete(tmp):
    """spec B §7/§8.2 (HDFS-14621, testPreserveTimeWithDeleteMiss): directory
    attributes are applied after -delete, so removing children does not
    disturb the preserved directory mtimes."""
    src = tmp / "src"
    make_tree(src, {"d": {"a": 10, "sub": {"b": 20}}})
    for rel, t in [("d/a", 1_000_000_000), ("d/sub/b", 1_000_000_100),
                   ("d/sub", 1_000_000_200), ("d", 1_000_000_300)]:
        os.utime(j(src, rel), (t, t))
    dst = tmp / "dst"
    make_tree(dst, {"d": {"x": 5, "sub": {"y": {"z": 3}}}})
    p = run("-update", "-delete", "-pt", src, dst, check=0)
    assert not os.path.lexists(dst / "d" / "x")
    assert not os.path.lexists(dst / "d" / "sub" / "y")
    assert counters(p).get("Files Deleted") == 2, p.err
    for rel in ["d", "d/sub", "d/a", "d/sub/b"]:
        assert os.stat(j(dst, rel)).st_mtime_ns == os.stat(j(src, rel)).st_mtime_ns, rel


def test_chown_preserved_through_copy_of_other_files(tmp):
    """spec B §7: -pug on a target whose files exist with other owners and
    different content: the copied (not skipped) files end with the source's
    owner and group."""
    src = tmp / "src"
    make_tree(src, {"f": 100, "g": 200})
    os.chown(src / "f", 4321, 5432)
    os.chown(src / "g", 4322, 5433)
    dst = tmp / "dst"
    make_tree(dst, {"f": 7, "g": 9})
    p = run("-update", "-pug", src, dst, check=0)
    assert counters(p).get("Files Copied") == 2, p.err
    assert (os.stat(dst / "f").st_uid, os.stat(dst / "f").st_gid) == (4321, 5432)
    assert (os.stat(dst / "g").st_uid, os.stat(dst / "g").st_gid) == (4322, 5433)
