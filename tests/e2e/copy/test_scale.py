"""Scale test: a 50,000-file tree (50 directories x 1000 small files of
0-2 KiB) copied correctly in each mode: default, -update (a second run copies
nothing), -overwrite, -update -delete after deleting/modifying/adding source
files, and -atomic. Spec B §3 (paths), §5 (decisions and counters), §6.8
(-atomic), §8 (-delete); e2e contract counter semantics.

Budget: the whole file should stay under ~3 minutes on 2 cores (-m 4). The
source is generated once per module with os.write; expected trees are kept
as {relative path: sha1} so verification reads only the target. The tests
share one distcp-written copy (see the `big` fixture) and run in file order;
the last one changes the shared source.
"""
import hashlib
import os
import random
import shutil
import time

import pytest

from conftest import counters, run

NDIRS = 50
NFILES = 1000
TOTAL = NDIRS * NFILES
M = "4"


def _gen(root, seed=1):
    """Create the tree; return ({rel: sha1 | "dir"}, total bytes)."""
    rnd = random.Random(seed)
    pool = rnd.randbytes(1 << 22)
    os.mkdir(root)
    exp = {}
    total = 0
    for d in range(NDIRS):
        dn = f"d{d:02d}"
        os.mkdir(os.path.join(root, dn))
        exp[dn] = "dir"
        for i in range(NFILES):
            size = rnd.randrange(0, 2049)
            off = rnd.randrange(0, len(pool) - size)
            data = pool[off:off + size]
            rel = f"{dn}/f{i:04d}"
            fd = os.open(os.path.join(root, rel), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            os.write(fd, data)
            os.close(fd)
            exp[rel] = hashlib.sha1(data).hexdigest()
            total += size
    return exp, total


def _digest_tree(root):
    out = {}
    for dp, dns, fns in os.walk(root):
        rel = os.path.relpath(dp, root)
        for d in dns:
            out[os.path.normpath(os.path.join(rel, d))] = "dir"
        for f in fns:
            with open(os.path.join(dp, f), "rb") as fh:
                out[os.path.normpath(os.path.join(rel, f))] = hashlib.sha1(fh.read()).hexdigest()
    return out


def _verify(dst, exp):
    got = _digest_tree(dst)
    missing = sorted(set(exp) - set(got))
    extra = sorted(set(got) - set(exp))
    wrong = sorted(k for k in set(exp) & set(got) if exp[k] != got[k])
    assert not (missing or extra or wrong), \
        f"missing {len(missing)} {missing[:5]}, extra {len(extra)} {extra[:5]}, " \
        f"wrong {len(wrong)} {wrong[:5]}"


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    """Module state: the generated source, its expected digests and total
    size, and (once a test made it) a distcp-written copy in "dst". The tests
    share these trees to keep the file within its time budget (the disk of
    the test VM is slow for metadata); each test still works when run alone
    (ensure_copied makes the copy if an earlier test did not)."""
    base = tmp_path_factory.mktemp("scale")
    src = base / "src"
    exp, total = _gen(src)
    return {"base": base, "src": src, "exp": exp, "total": total}


def ensure_copied(st):
    if "dst" not in st:
        dst = st["base"] / "dst"
        run("-m", M, st["src"], dst, check=0)
        _verify(dst, st["exp"])
        st["dst"] = dst
    return st["dst"]


def test_default_copy(big):
    """spec B §3/§5.2: default copy of 50,000 files to a missing target: the
    contents land in the target (root + 50 dirs counted), every byte right."""
    dst = big["base"] / "dst"
    p = run("-m", M, big["src"], dst, check=0)
    c = counters(p)
    assert c.get("Files Copied") == TOTAL, p.err
    assert c.get("Directories Copied") == NDIRS + 1, p.err
    assert c.get("Bytes Copied") == big["total"], p.err
    _verify(dst, big["exp"])
    big["dst"] = dst


def test_second_update_copies_nothing(big):
    """spec B §5.1/§5.2: -update over an identical, distcp-written target:
    Files Copied=0, Files Skipped=50000."""
    dst = ensure_copied(big)
    p = run("-update", "-m", M, big["src"], dst, check=0)
    c = counters(p)
    assert c.get("Files Copied") == 0, p.err
    assert c.get("Files Skipped") == TOTAL, p.err
    assert c.get("Bytes Skipped") == big["total"], p.err
    assert c.get("Directories Copied") == NDIRS, p.err  # no root entry
    _verify(dst, big["exp"])


def test_overwrite(big):
    """spec B §5.1: -overwrite re-copies every existing file; corrupted and
    missing target files are fixed."""
    dst = ensure_copied(big)
    for d in range(0, NDIRS, 5):
        with open(dst / f"d{d:02d}" / "f0001", "wb") as f:
            f.write(b"corrupt")
        os.unlink(dst / f"d{d:02d}" / "f0002")
    p = run("-overwrite", "-m", M, big["src"], dst, check=0)
    c = counters(p)
    assert c.get("Files Copied") == TOTAL, p.err
    assert c.get("Files Skipped", 0) == 0, p.err
    assert c.get("Bytes Copied") == big["total"], p.err
    _verify(dst, big["exp"])


def test_atomic(big):
    """spec B §6.8: -atomic copies into a ._WIP_ sibling and renames it to the
    (missing) target at commit; nothing is left behind next to it."""
    parent = big["base"] / "atomic"
    os.mkdir(parent)
    dst = parent / "dst"
    p = run("-atomic", "-m", M, big["src"], dst, check=0)
    c = counters(p)
    assert c.get("Files Copied") == TOTAL, p.err
    _verify(dst, big["exp"])
    assert os.listdir(parent) == ["dst"]


def test_update_delete_after_changes(big):
    """spec B §5.1 (-update: size change -> copy, same size with newer source
    -> copy, unchanged -> skip) and §8.1 (-delete: a removed source directory
    counts 1 deletion, removed files 1 each) at 50,000 files.
    Runs last: it changes the shared source."""
    dst = ensure_copied(big)
    src = big["src"]
    rnd = random.Random(7)
    shutil.rmtree(src / "d07")
    others = [f"d{d:02d}/f{i:04d}" for d in range(NDIRS) if d != 7 for i in range(NFILES)]
    picked = rnd.sample(others, 1000)
    deleted, grown, same_size = picked[:500], picked[500:800], picked[800:]
    for rel in deleted:
        os.unlink(src / rel)
    for rel in grown:
        with open(src / rel, "ab") as f:
            f.write(b"+grown")
    future = time.time() + 100
    n_same = 0
    for rel in same_size:
        size = os.path.getsize(src / rel)
        if size == 0:
            # empty file: give it content (a size change) instead
            with open(src / rel, "wb") as f:
                f.write(b"was empty")
        else:
            with open(src / rel, "r+b") as f:
                data = f.read()
                f.seek(0)
                f.write(bytes(b ^ 0xFF for b in data))
            os.utime(src / rel, (future, future))
            n_same += 1
    os.mkdir(src / "dnew")
    for i in range(60):
        with open(src / "dnew" / f"n{i}", "wb") as f:
            f.write(b"new %d" % i)
    for i in range(40):
        with open(src / "d00" / f"new{i}", "wb") as f:
            f.write(b"new in d00 %d" % i)
    assert n_same > 150
    exp = _digest_tree(src)
    big["exp"] = exp
    p = run("-update", "-delete", "-m", M, src, dst, check=0)
    c = counters(p)
    assert c.get("Files Copied") == 300 + 200 + 100, p.err
    assert c.get("Files Skipped") == TOTAL - NFILES - 500 - 300 - 200, p.err
    assert c.get("Files Deleted") == 1 + 500, p.err
    assert c.get("Directories Copied") == NDIRS - 1 + 1, p.err
    _verify(dst, exp)
