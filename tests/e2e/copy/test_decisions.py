"""End-to-end tests of the per-file decision (create / skip / copy / append)
and of the counters: spec B §5 (§5.1 action table, §5.2 counters), with the
-update comparison of Part A 4 as pinned down by the e2e contract (the digest
distcp records in the target's xattr `user.distcp.digest`, valid only while
size+mtime match; otherwise Hadoop 3.4's mtime rule; `--checksum` forces a
content comparison; `-skipcrccheck` = length and mtime rule only).

Mtime relations: where no digest is involved the tests set mtimes explicitly
with os.utime; where digests are involved (changing an mtime would invalidate
the digest) files are written in sequence with a short sleep in between and
the premise (which file is newer) is asserted before distcp runs.
"""
import os
import random
import time

import pytest

from conftest import counters, make_tree, run, tree

DIGEST = "user.distcp.digest"


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


def shift_mtime(path, seconds):
    """Move a file's mtime by `seconds` (negative = older)."""
    st = os.stat(path)
    ns = st.st_mtime_ns + int(seconds * 1e9)
    os.utime(path, ns=(ns, ns))


def has_digest(path):
    try:
        return len(os.getxattr(path, DIGEST)) > 0
    except OSError:
        return False


def tick():
    """Let the clock advance so that the next file written gets a later mtime
    (ext4 timestamps come from the coarse kernel clock)."""
    time.sleep(0.05)


def read_log(d):
    """All non-empty lines of all files under a -log directory."""
    lines = []
    for dp, _, fns in os.walk(d):
        for fn in fns:
            with open(os.path.join(dp, fn), "r", encoding="utf-8", errors="replace") as f:
                lines += [ln.rstrip("\n") for ln in f if ln.strip()]
    return lines


def distcp_write(tmp, data, dest):
    """Have distcp itself write `dest` (so it carries a digest xattr), from a
    scratch source file holding `data`."""
    scratch = os.path.join(tmp, "scratch%d" % random.randrange(1 << 30))
    wr(os.path.join(scratch, "x"), data)
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    run(os.path.join(scratch, "x"), dest, check=0)
    assert rd(dest) == data
    return dest


def mt(path):
    return os.stat(path).st_mtime_ns


# ---------------------------------------------------------------- §5.1 table

@pytest.mark.parametrize("mode", [[], ["-update"], ["-overwrite"], ["-update", "-append"]],
                         ids=["default", "update", "overwrite", "update-append"])
def test_absent_target_is_copied_in_every_mode(tmp, mode):
    """spec B §5.1 row 'absent | any | COPY'."""
    src = make_tree(tmp / "src", {"a.txt": 1000, "d": {"b.bin": 3000}})
    dst = tmp / "dst"
    os.makedirs(dst)
    # a solitary file into an existing directory lands at dst/<name> in every mode
    p = run(*mode, src / "a.txt", dst, check=0)
    c = counters(p)
    assert rd(dst / "a.txt") == rd(src / "a.txt")
    assert c["Files Copied"] == 1
    assert c["Files Skipped"] == 0
    assert c["Bytes Copied"] == 1000
    assert c["Bytes Expected"] == 1000


def test_default_mode_skips_existing_file_unconditionally(tmp):
    """spec B §5.1: default mode (no -update/-overwrite) skips a present target
    file without any size or checksum comparison, even when it differs in size
    and content and is older than the source."""
    src = make_tree(tmp / "src", {"a.txt": 100})
    dst = tmp / "dst"
    wr(str(dst / "a.txt"), b"old!!!!")
    shift_mtime(dst / "a.txt", -10000)
    p = run(src / "a.txt", dst, check=0)
    c = counters(p)
    assert rd(dst / "a.txt") == b"old!!!!"
    assert c["Files Skipped"] == 1
    assert c["Files Copied"] == 0
    assert c["Bytes Skipped"] == 100
    assert c["Bytes Copied"] == 0


def test_default_mode_skips_existing_file_in_directory_copy(tmp):
    """spec B §5.1 + §3: a directory copied into an existing directory lands in
    dst/<name>; a file already present there is skipped even if different;
    missing ones are copied."""
    src = make_tree(tmp / "src", {"a.txt": 100, "b.txt": 50})
    dst = tmp / "dst"
    wr(str(dst / "src" / "a.txt"), b"different")
    p = run(src, dst, check=0)
    c = counters(p)
    assert rd(dst / "src" / "a.txt") == b"different"
    assert rd(dst / "src" / "b.txt") == rd(src / "b.txt")
    assert c["Files Skipped"] == 1
    assert c["Files Copied"] == 1
    assert c["Bytes Skipped"] == 100
    assert c["Bytes Copied"] == 50


def test_overwrite_recopies_identical_newer_target(tmp):
    """spec B §5.1 row 'present | overwrite mode | COPY (full rewrite)'."""
    src = make_tree(tmp / "src", {"a.txt": 2000, "d": {"b": 10}})
    dst = tmp / "dst"
    wr(str(dst / "a.txt"), rd(src / "a.txt"))
    wr(str(dst / "d" / "b"), rd(src / "d" / "b"))
    shift_mtime(dst / "a.txt", 10000)
    p = run("-overwrite", src, dst, check=0)
    c = counters(p)
    assert tree(dst) == tree(src)
    assert c["Files Copied"] == 2
    assert c["Files Skipped"] == 0
    assert c["Bytes Copied"] == 2010


@pytest.mark.parametrize("mode", [[], ["-update"]], ids=["default", "update"])
def test_single_file_to_existing_file_is_always_recopied(tmp, mode):
    """spec B §5.1: 'overwrite mode' also when the target given on the command
    line is an existing file (TestCopyMapper.testSingleFileCopy): identical,
    newer target is re-copied even in default mode and with -update."""
    src = make_tree(tmp / "src", {"a.txt": 500})
    dst = tmp / "dst"
    wr(str(dst / "out.txt"), rd(src / "a.txt"))
    shift_mtime(dst / "out.txt", 10000)
    p = run(*mode, src / "a.txt", dst / "out.txt", check=0)
    c = counters(p)
    assert rd(dst / "out.txt") == rd(src / "a.txt")
    assert c["Files Copied"] == 1
    assert c["Files Skipped"] == 0
    assert c["Bytes Copied"] == 500
    # overwriting a changed target through the file path works too
    wr(str(dst / "out.txt"), b"xyz")
    p = run(*mode, src / "a.txt", dst / "out.txt", check=0)
    assert rd(dst / "out.txt") == rd(src / "a.txt")
    assert counters(p)["Files Copied"] == 1


def test_single_file_into_parent_dir_is_skipped_with_update(tmp):
    """spec B §5.1 (TestCopyMapper.testSingleFileCopy, other half): when the
    target root is the parent directory the same file is skipped by -update."""
    src = make_tree(tmp / "src", {"a.txt": 500})
    dst = tmp / "dst"
    wr(str(dst / "a.txt"), rd(src / "a.txt"))
    shift_mtime(dst / "a.txt", 10000)
    p = run("-update", src / "a.txt", dst, check=0)
    c = counters(p)
    assert c["Files Skipped"] == 1
    assert c["Files Copied"] == 0
    assert c["Bytes Skipped"] == 500


# ---------------------------------------------------------------- -update, digests

def test_written_file_carries_digest_xattr(tmp):
    """Part A 4 / e2e contract: distcp records a content digest in the target's
    xattr user.distcp.digest when it writes a file."""
    src = make_tree(tmp / "src", {"a": 4096, "e": b""})
    dst = tmp / "dst"
    run(src, dst, check=0)
    assert has_digest(dst / "a")
    # the source is only read, never annotated with a digest by a plain copy
    # unless distcp chooses to record one; either is allowed, so no assertion.


def test_update_same_size_same_digest_is_skipped_even_if_target_older(tmp):
    """Part A 4: same size and equal recorded digests → skip, even where the
    mtime rule alone (target older than source) would copy."""
    data = rnd(4096, 1)
    t = distcp_write(tmp, data, str(tmp / "dst" / "f"))
    tick()
    s = distcp_write(tmp, data, str(tmp / "src" / "f"))
    assert has_digest(t) and has_digest(s)
    assert mt(t) < mt(s), "premise: target older than source"
    ino = os.stat(t).st_ino
    p = run("-update", tmp / "src", tmp / "dst", check=0)
    c = counters(p)
    assert c["Files Skipped"] == 1
    assert c["Files Copied"] == 0
    assert c["Bytes Skipped"] == 4096
    assert os.stat(t).st_ino == ino


def test_update_same_size_different_digest_is_copied_even_if_target_newer(tmp):
    """Part A 4: same size, both digests recorded and different → copy, even
    where the mtime rule alone (target newer) would skip."""
    s = distcp_write(tmp, rnd(4096, 2), str(tmp / "src" / "f"))
    tick()
    t = distcp_write(tmp, rnd(4096, 3), str(tmp / "dst" / "f"))
    assert has_digest(t) and has_digest(s)
    assert mt(t) > mt(s), "premise: target newer than source"
    p = run("-update", tmp / "src", tmp / "dst", check=0)
    c = counters(p)
    assert rd(t) == rd(s)
    assert c["Files Copied"] == 1
    assert c["Files Skipped"] == 0
    assert c["Bytes Copied"] == 4096


def test_update_source_rewritten_same_size_is_copied(tmp):
    """spec B §5.1 / Part A 4: target written by distcp earlier, then the source
    rewritten with different bytes of the same size → copied."""
    src = make_tree(tmp / "src", {"f": rnd(4096, 4)})
    dst = tmp / "dst"
    run(src, dst, check=0)
    assert has_digest(dst / "f")
    tick()
    wr(str(src / "f"), rnd(4096, 5))
    p = run("-update", src, dst, check=0)
    c = counters(p)
    assert rd(dst / "f") == rd(src / "f")
    assert c["Files Copied"] == 1
    assert c["Bytes Copied"] == 4096
    # and now that they match, a further -update skips
    p = run("-update", src, dst, check=0)
    assert counters(p)["Files Skipped"] == 1
    assert counters(p)["Files Copied"] == 0


def test_update_stale_target_digest_is_not_trusted(tmp):
    """Part A 4: the recorded digest is valid only while size+mtime match. The
    target was written by distcp (digest of D), then changed in place to other
    bytes of the same size and made older than the source: its stale digest
    still equals the source's, but it must not be trusted → copy."""
    data = rnd(4096, 6)
    t = distcp_write(tmp, data, str(tmp / "dst" / "f"))
    tick()
    s = distcp_write(tmp, data, str(tmp / "src" / "f"))
    with open(t, "r+b") as f:          # same inode, same size, xattr kept
        f.write(rnd(4096, 7))
    os.utime(t, ns=(mt(s) - 10**12, mt(s) - 10**12))
    assert has_digest(t)
    p = run("-update", tmp / "src", tmp / "dst", check=0)
    c = counters(p)
    assert rd(t) == data
    assert c["Files Copied"] == 1


# ---------------------------------------------------------------- -update, no digests

def _pair(tmp, sdata, tdata, target_age):
    """src/f and dst/f written by Python (no digests); target mtime moved by
    target_age seconds relative to the source's."""
    s = str(tmp / "src" / "f")
    t = str(tmp / "dst" / "f")
    wr(s, sdata)
    wr(t, tdata)
    base = mt(s)
    ns = base + int(target_age * 1e9)
    os.utime(t, ns=(ns, ns))
    assert not has_digest(s) and not has_digest(t)
    return s, t


def test_update_no_digest_same_size_target_older_is_copied(tmp):
    """Part A 4 / HADOOP-18596: same size, no digests, target older → copy."""
    s, t = _pair(tmp, rnd(1000, 8), rnd(1000, 9), -100)
    p = run("-update", tmp / "src", tmp / "dst", check=0)
    c = counters(p)
    assert rd(t) == rd(s)
    assert c["Files Copied"] == 1
    assert c["Bytes Copied"] == 1000


def test_update_no_digest_same_size_target_newer_is_skipped(tmp):
    """Part A 4 / HADOOP-18596: same size, no digests, target newer → skip,
    even though the bytes differ (only --checksum would notice)."""
    s, t = _pair(tmp, rnd(1000, 10), rnd(1000, 11), +100)
    before = rd(t)
    p = run("-update", tmp / "src", tmp / "dst", check=0)
    c = counters(p)
    assert rd(t) == before
    assert c["Files Skipped"] == 1
    assert c["Files Copied"] == 0
    assert c["Bytes Skipped"] == 1000


def test_update_no_digest_same_size_same_mtime_is_skipped(tmp):
    """Part A 4: the rule is 'copy if target mtime < source mtime'; equal
    mtimes → skip."""
    s, t = _pair(tmp, rnd(1000, 12), rnd(1000, 12), 0)
    p = run("-update", tmp / "src", tmp / "dst", check=0)
    assert counters(p)["Files Skipped"] == 1


@pytest.mark.parametrize("target_age", [-100, +100], ids=["target-older", "target-newer"])
@pytest.mark.parametrize("tlen", [999, 1001, 0])
def test_update_different_length_is_copied(tmp, target_age, tlen):
    """spec B §5.1: different length → never skippable → copy (whatever the
    mtimes say)."""
    s, t = _pair(tmp, rnd(1000, 13), rnd(tlen, 14), target_age)
    p = run("-update", tmp / "src", tmp / "dst", check=0)
    c = counters(p)
    assert rd(t) == rd(s)
    assert c["Files Copied"] == 1
    assert c["Bytes Copied"] == 1000
    assert c["Bytes Expected"] == 1000


def test_update_zero_length_files(tmp):
    """spec B §5.1 note: zero-length files of equal length are skipped unless
    the mtime rule says the source is newer."""
    _pair(tmp, b"", b"", +100)
    p = run("-update", tmp / "src", tmp / "dst", check=0)
    assert counters(p)["Files Skipped"] == 1
    os.utime(tmp / "dst" / "f", ns=(mt(tmp / "src" / "f") - 10**11,) * 2)
    p = run("-update", tmp / "src", tmp / "dst", check=0)
    assert counters(p)["Files Copied"] == 1
    assert rd(tmp / "dst" / "f") == b""


# ---------------------------------------------------------------- --checksum

def test_checksum_catches_same_size_newer_target_with_other_bytes(tmp):
    """e2e contract: --checksum forces a full content comparison: same size,
    target newer, different bytes → copy (plain -update would skip)."""
    s, t = _pair(tmp, rnd(5000, 15), rnd(5000, 16), +100)
    p = run("-update", tmp / "src", tmp / "dst", check=0)
    assert counters(p)["Files Skipped"] == 1
    p = run("-update", "--checksum", tmp / "src", tmp / "dst", check=0)
    c = counters(p)
    assert rd(t) == rd(s)
    assert c["Files Copied"] == 1
    assert c["Bytes Copied"] == 5000


def test_checksum_skips_identical_bytes_even_if_target_older(tmp):
    """e2e contract: with --checksum, identical content → skip, even where the
    mtime rule (target older) alone would copy."""
    data = rnd(5000, 17)
    s, t = _pair(tmp, data, data, -100)
    ino = os.stat(t).st_ino
    p = run("-update", "--checksum", tmp / "src", tmp / "dst", check=0)
    c = counters(p)
    assert c["Files Skipped"] == 1
    assert c["Files Copied"] == 0
    assert os.stat(t).st_ino == ino


# ---------------------------------------------------------------- -skipcrccheck

def test_skipcrccheck_ignores_differing_digests(tmp):
    """spec B §5.1 + e2e contract: -skipcrccheck → length and mtime rule only:
    same size, target newer, differing recorded digests → skip."""
    s = distcp_write(tmp, rnd(4096, 18), str(tmp / "src" / "f"))
    tick()
    t = distcp_write(tmp, rnd(4096, 19), str(tmp / "dst" / "f"))
    assert mt(t) > mt(s)
    before = rd(t)
    p = run("-update", "-skipcrccheck", tmp / "src", tmp / "dst", check=0)
    c = counters(p)
    assert rd(t) == before
    assert c["Files Skipped"] == 1
    assert c["Files Copied"] == 0


def test_skipcrccheck_still_copies_different_length(tmp):
    """spec B §5.1: -skipcrccheck does not disable the length test."""
    s, t = _pair(tmp, rnd(3000, 20), rnd(2999, 21), +100)
    p = run("-update", "-skipcrccheck", tmp / "src", tmp / "dst", check=0)
    assert rd(t) == rd(s)
    assert counters(p)["Files Copied"] == 1


def test_skipcrccheck_without_update_copies(tmp):
    """spec B §1.3 (not validated): -skipcrccheck without -update is accepted
    and only disables post-copy verification."""
    src = make_tree(tmp / "src", {"a": 3000, "d": {"b": 10}})
    run("-skipcrccheck", src, tmp / "dst", check=0)
    assert tree(tmp / "dst") == tree(src)


# ---------------------------------------------------------------- -append

def test_append_prefix_target_writes_only_the_tail(tmp):
    """spec B §5.1 APPEND row, §5.2 BYTESCOPIED = appended tail, §6.3 (the
    existing target is appended to: same inode)."""
    data = rnd(3000, 22)
    s, t = _pair(tmp, data, data[:1000], -100)
    ino = os.stat(t).st_ino
    p = run("-update", "-append", tmp / "src", tmp / "dst", check=0)
    c = counters(p)
    assert rd(t) == data
    assert os.stat(t).st_ino == ino
    assert c["Files Copied"] == 1
    assert c["Bytes Copied"] == 2000
    assert c["Bytes Expected"] == 3000
    # no temp file was used/left
    assert not [n for n in os.listdir(tmp / "dst") if n.startswith(".distcp.tmp")]


def test_append_with_non_prefix_target_rewrites(tmp):
    """spec B §5.1: -append when the target is shorter but not a prefix (one
    byte differs) → full rewrite (Bytes Copied = full length)."""
    data = rnd(3000, 23)
    bad = bytearray(data[:1000])
    bad[500] ^= 0xFF
    s, t = _pair(tmp, data, bytes(bad), -100)
    p = run("-update", "-append", tmp / "src", tmp / "dst", check=0)
    c = counters(p)
    assert rd(t) == data
    assert c["Files Copied"] == 1
    assert c["Bytes Copied"] == 3000


def test_append_with_longer_target_rewrites(tmp):
    """spec B §5.1: -append where the source is shorter than the target (even
    when the source is a prefix of it) → full rewrite."""
    data = rnd(3000, 24)
    s, t = _pair(tmp, data[:1000], data, -100)
    p = run("-update", "-append", tmp / "src", tmp / "dst", check=0)
    c = counters(p)
    assert rd(t) == data[:1000]
    assert c["Files Copied"] == 1
    assert c["Bytes Copied"] == 1000


def test_append_with_empty_target_copies_everything(tmp):
    """spec B §5.1: an empty target is a (trivial) prefix; all bytes copied."""
    data = rnd(2000, 25)
    s, t = _pair(tmp, data, b"", -100)
    p = run("-update", "-append", tmp / "src", tmp / "dst", check=0)
    c = counters(p)
    assert rd(t) == data
    assert c["Files Copied"] == 1
    assert c["Bytes Copied"] == 2000


def test_append_with_skipcrccheck_is_rejected(tmp):
    """spec B §1.3 rule 14: 'Append is disallowed when skipping CRC'."""
    make_tree(tmp / "src", {"a": 10})
    p = run("-update", "-append", "-skipcrccheck", tmp / "src", tmp / "dst", check=255)
    assert "Append is disallowed when skipping CRC" in p.err
    assert not os.path.exists(tmp / "dst")


# ---------------------------------------------------------------- §5.1 doc example

def _doc_example(tmp):
    """Doc example of spec B §5.1: source first/1 (32), first/2 (32),
    second/10 (64), second/20 (32); target 1 (32, same bytes), 10 (32, a
    prefix of source 10), 20 (64)."""
    s10 = rnd(64, 31)
    make_tree(tmp / "first", {"1": rnd(32, 30), "2": rnd(32, 32)})
    make_tree(tmp / "second", {"10": s10, "20": rnd(32, 33)})
    tick()
    make_tree(tmp / "target", {"1": rd(tmp / "first" / "1"), "10": s10[:32],
                               "20": rnd(64, 34)})
    # the unchanged file is newer on the target (no digests: mtime rule skips)
    shift_mtime(tmp / "target" / "1", 100)
    return tmp / "first", tmp / "second", tmp / "target"


def _expected_tree(tmp):
    return {"1": rd(tmp / "first" / "1"), "2": rd(tmp / "first" / "2"),
            "10": rd(tmp / "second" / "10"), "20": rd(tmp / "second" / "20")}


def test_doc_example_update(tmp):
    """spec B §5.1 doc example, -update: 1 skipped, 2 copied, 10 and 20 rewritten."""
    first, second, target = _doc_example(tmp)
    ino1 = os.stat(target / "1").st_ino
    p = run("-update", first, second, target, check=0)
    c = counters(p)
    assert tree(target) == _expected_tree(tmp)
    assert os.stat(target / "1").st_ino == ino1
    assert c["Files Skipped"] == 1
    assert c["Files Copied"] == 3
    assert c["Bytes Skipped"] == 32
    assert c["Bytes Copied"] == 32 + 64 + 32
    assert c["Bytes Expected"] == 32 + 64 + 32


def test_doc_example_overwrite(tmp):
    """spec B §5.1 doc example, -overwrite: 1 is rewritten too."""
    first, second, target = _doc_example(tmp)
    p = run("-overwrite", first, second, target, check=0)
    c = counters(p)
    assert tree(target) == _expected_tree(tmp)
    assert c["Files Skipped"] == 0
    assert c["Files Copied"] == 4
    assert c["Bytes Copied"] == 32 + 32 + 64 + 32


def test_doc_example_update_append(tmp):
    """spec B §5.1 doc example, -update -append (per the code): 10 (source
    longer, prefix equal) is appended (32 B tail), 20 (source shorter) is
    rewritten, 2 copied, 1 skipped."""
    first, second, target = _doc_example(tmp)
    ino10 = os.stat(target / "10").st_ino
    p = run("-update", "-append", first, second, target, check=0)
    c = counters(p)
    assert tree(target) == _expected_tree(tmp)
    assert os.stat(target / "10").st_ino == ino10
    assert c["Files Skipped"] == 1
    assert c["Files Copied"] == 3
    assert c["Bytes Copied"] == 32 + 32 + 32      # 2 + tail of 10 + 20
    assert c["Bytes Expected"] == 32 + 64 + 32


# ---------------------------------------------------------------- §5.2 counters

SEVEN_DIRS = {
    "d1": {"d2": {"d3": {"file1": 1024}}},
    "e1": {"e2": {"file2": 1024}},
    "f1": {"f2": {}},
}


def test_counters_testcopymapper_example(tmp):
    """spec B §5.2 example (TestCopyMapper): 7 directories and 2 files of
    1024 B; first pass COPY=2, DIR_COPY=7, BYTESCOPIED=2048; second pass with
    -update SKIP=2 and every -log line starts with 'SKIP:'; directories are
    never skipped (DIR_COPY=7 again); after appending 2048 B to each source
    file, -update -append gives COPY=2, BYTESCOPIED=4096."""
    src = make_tree(tmp / "src", SEVEN_DIRS)
    dst = tmp / "dst"
    os.makedirs(dst)
    # -update into an existing target: the root entry is not listed (§3 rule 3)
    p = run("-update", src, dst, check=0)
    c = counters(p)
    assert tree(dst) == tree(src)
    assert c["Files Copied"] == 2
    assert c["Directories Copied"] == 7
    assert c["Bytes Copied"] == 2048
    assert c["Bytes Expected"] == 2048
    assert c["Files Skipped"] == 0
    assert c["Files Failed"] == 0

    logd = tmp / "log2"
    p = run("-update", "-log", logd, src, dst, check=0)
    c = counters(p)
    assert c["Files Skipped"] == 2
    assert c["Files Copied"] == 0
    assert c["Bytes Skipped"] == 2048
    assert c["Bytes Copied"] == 0
    assert c["Directories Copied"] == 7
    lines = read_log(logd)
    assert len(lines) == 2, lines
    assert all(ln.startswith("SKIP:") for ln in lines), lines

    tick()
    for f in (src / "d1" / "d2" / "d3" / "file1", src / "e1" / "e2" / "file2"):
        with open(f, "ab") as fh:
            fh.write(rnd(2048, 40))
    p = run("-update", "-append", src, dst, check=0)
    c = counters(p)
    assert tree(dst) == tree(src)
    assert c["Files Copied"] == 2
    assert c["Bytes Copied"] == 4096
    assert c["Bytes Expected"] == 2 * 3072
    assert c["Directories Copied"] == 7


def test_directories_counted_when_target_missing(tmp):
    """spec B §3 rule 4 + §5.2: without -update the root entry is listed too,
    so a copy to a missing target counts 7 + 1 directories."""
    src = make_tree(tmp / "src", SEVEN_DIRS)
    p = run(src, tmp / "dst", check=0)
    c = counters(p)
    assert tree(tmp / "dst") == tree(src)
    assert c["Directories Copied"] == 8
    assert c["Files Copied"] == 2
    # all counters present in the summary
    for k in ("Bytes Copied", "Bytes Expected", "Bytes Failed", "Bytes Skipped",
              "Directories Copied", "Files Copied", "Files Deleted", "Files Failed",
              "Files Skipped"):
        assert k in c, (k, p.err)


def test_json_counters_match_summary(tmp):
    """e2e contract --json: the counters object uses Hadoop's counter names and
    agrees with the text summary."""
    import json
    src = make_tree(tmp / "src", SEVEN_DIRS)
    dst = tmp / "dst"
    os.makedirs(dst)
    p = run("-update", "--json", src, dst, check=0)
    j = json.loads(p.out)
    assert j["status"] == "SUCCEEDED"
    assert j["exit_code"] == 0
    k = j["counters"]
    assert k["COPY"] == 2 and k["DIR_COPY"] == 7 and k["BYTESCOPIED"] == 2048
    assert k["SKIP"] == 0 and k["FAIL"] == 0 and k["BYTESEXPECTED"] == 2048
    p = run("-update", "--json", src, dst, check=0)
    k = json.loads(p.out)["counters"]
    assert k["SKIP"] == 2 and k["COPY"] == 0 and k["BYTESSKIPPED"] == 2048


# ---------------------------------------------------------------- type conflicts

@pytest.mark.parametrize("ignore", [False, True], ids=["plain", "with-i"])
@pytest.mark.parametrize("mode", [["-update"], ["-overwrite"], []],
                         ids=["update", "overwrite", "default"])
def test_target_dir_where_source_is_file(tmp, ignore, mode):
    """spec B §5 step 3: target is a directory where the source is a file →
    "Can't replace" error, exit 25, not ignorable by -i."""
    src = make_tree(tmp / "src", {"x": 100, "ok": 10})
    dst = tmp / "dst"
    base = dst if mode else dst / "src"
    make_tree(base, {"x": {"inner": "keep"}})
    args = mode + (["-i"] if ignore else [])
    p = run(*args, src, dst, check=25)
    assert "Can't replace" in p.err, p.err
    assert os.path.isdir(base / "x")
    assert rd(base / "x" / "inner") == b"keep"


@pytest.mark.parametrize("ignore", [False, True], ids=["plain", "with-i"])
@pytest.mark.parametrize("mode", [["-update"], ["-overwrite"], []],
                         ids=["update", "overwrite", "default"])
def test_target_file_where_source_is_dir(tmp, ignore, mode):
    """spec B §5 step 3: target is a file where the source is a directory →
    "Can't replace" error, exit 25, not ignorable by -i."""
    src = make_tree(tmp / "src", {"x": {"f": 100}, "ok": 10})
    dst = tmp / "dst"
    base = dst if mode else dst / "src"
    make_tree(base, {"x": "i am a file"})
    args = mode + (["-i"] if ignore else [])
    p = run(*args, src, dst, check=25)
    assert "Can't replace" in p.err, p.err
    assert rd(base / "x") == b"i am a file"


def test_existing_directories_are_never_skipped(tmp):
    """spec B §5 step 4: a directory entry whose target exists is processed
    (DIR_COPY += 1), never counted as skipped; its contents are merged."""
    src = make_tree(tmp / "src", {"a": {"b": {"f": 5}}, "c": {}})
    dst = tmp / "dst"
    make_tree(dst, {"a": {"b": {}, "old": "x"}, "c": {}})
    p = run("-update", src, dst, check=0)
    c = counters(p)
    assert c["Directories Copied"] == 3
    assert c["Files Skipped"] == 0
    assert c["Files Copied"] == 1
    assert rd(dst / "a" / "old") == b"x"
    assert rd(dst / "a" / "b" / "f") == rd(src / "a" / "b" / "f")
