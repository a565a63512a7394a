"""End-to-end tests of the synthetic read-only store gen:// (src/backend/gen/gen.c,
a store for benchmarks and tests): the tree shape, sizes, times and byte
pattern it promises (recomputed here in Python), reads at an offset (-append),
a dry-run compare of a tree with itself, the read-only refusal (exit 25) and
malformed specs (exit 255). Fast: small trees only.
"""
import json
import os

import pytest

from conftest import run

MASK = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15
MTIME0 = 1600000000


def mix(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


def file_key(seed, index):
    return mix(mix(seed) ^ index)


def file_size(seed, index, size, rand):
    return file_key(seed, index) % (size + 1) if rand else size


def content(seed, index, size):
    key = file_key(seed, index)
    words = (size + 7) // 8
    data = b"".join(mix((key + (k + 1) * GOLDEN) & MASK).to_bytes(8, "little")
                    for k in range(words))
    return data[:size]


def model(files, fanout, pad=0):
    """{relative path: file index, or None for a directory} as gen.c defines it."""
    nblocks = -(-files // fanout)
    depth, cap = 0, 1
    while cap < nblocks:
        cap *= fanout
        depth += 1
    dw = len(str(fanout - 1))
    fw = len(str(max(files - 1, 0)))
    filler = "".join(chr(ord("a") + i % 26) for i in range(pad))
    out = {}
    for i in range(files):
        b, digs = i // fanout, []
        for _ in range(depth):
            digs.append(b % fanout)
            b //= fanout
        dirs = [f"d{d:0{dw}d}" for d in reversed(digs)]
        for k in range(1, depth + 1):
            out["/".join(dirs[:k])] = None
        out["/".join(dirs + [f"f{filler}{i:0{fw}d}"])] = i
    return out


def walk(root):
    res = {}
    for dp, dns, fns in os.walk(root):
        rel = os.path.relpath(dp, root)
        for n in dns + fns:
            res[os.path.normpath(os.path.join(rel, n))] = os.path.join(dp, n)
    return res


@pytest.mark.parametrize("files,fanout,size,rand,seed,pad", [
    (2500, 100, 3000, True, 5, 0),    # one level of directories
    (2345, 10, 37, False, 1, 0),      # three levels, a partial last subtree, size not a multiple of 8
    (7, 1000, 9, True, 123, 30),      # all files in the root, padded names
])
def test_copy_matches_model(tmp, files, fanout, size, rand, seed, pad):
    spec = f"files={files},fanout={fanout},size={'rand:' if rand else ''}{size},seed={seed}"
    if pad:
        spec += f",pad={pad}"
    dst = tmp / "dst"
    run("-pt", f"gen://{spec}/", dst, check=0)
    exp = model(files, fanout, pad)
    got = walk(dst)
    assert sorted(got) == sorted(exp)
    for rel, idx in exp.items():
        st = os.stat(got[rel])
        if idx is None:
            assert os.path.isdir(got[rel])
            continue
        assert st.st_size == file_size(seed, idx, size, rand), rel
        assert st.st_mtime_ns == (MTIME0 + idx) * 10**9, rel
    # the byte pattern of a few files, first and last included
    for idx in sorted({0, 1, files // 2, files - 1}):
        rel = next(r for r, i in exp.items() if i == idx)
        with open(got[rel], "rb") as f:
            assert f.read() == content(seed, idx, file_size(seed, idx, size, rand)), rel


def test_read_at_offset(tmp):
    """-update -append reads the missing tail from an unaligned offset."""
    spec = "files=20,fanout=10,size=10000,seed=9"
    dst = tmp / "dst"
    run(f"gen://{spec}/", dst, check=0)
    p = dst / "d1" / "f13"
    whole = content(9, 13, 10000)
    assert p.read_bytes() == whole
    with open(p, "r+b") as f:
        f.truncate(1237)
    run("-update", "-append", f"gen://{spec}/", dst, check=0)
    assert p.read_bytes() == whole


def test_single_file_source(tmp):
    run("gen://files=300,fanout=100,size=rand:500,seed=2/d02/f250", tmp / "one", check=0)
    assert (tmp / "one").read_bytes() == content(2, 250, file_size(2, 250, 500, True))


def test_two_copies_identical(tmp):
    spec = "gen://files=500,fanout=50,size=rand:100,seed=77/"
    run(spec, tmp / "a", check=0)
    run(spec, tmp / "b", check=0)
    a, b = walk(tmp / "a"), walk(tmp / "b")
    assert sorted(a) == sorted(b)
    for rel, p in a.items():
        if os.path.isfile(p):
            assert open(p, "rb").read() == open(b[rel], "rb").read()


def test_dry_run_compare_with_itself():
    spec = "gen://files=2500,fanout=100,size=4096,seed=1/"
    p = run("--dry-run", "--json", "-update", "-delete", spec, spec, check=0)
    c = json.loads(p.stdout)["counters"]
    assert c["SKIP"] == 2500 and c["COPY"] == 0 and c["DELETED"] == 0


def test_dry_run_delete_counts():
    """Padded names differ: every target file is missing at the source."""
    src = "gen://files=300,fanout=100,size=1,pad=1/"
    dst = "gen://files=300,fanout=100,size=1/"
    p = run("--dry-run", "--json", "-update", "-delete", src, dst, check=0)
    c = json.loads(p.stdout)["counters"]
    assert c["COPY"] == 300 and c["DELETED"] == 300


def test_write_refused(tmp):
    src = tmp / "src"
    src.mkdir()
    (src / "a").write_bytes(b"x")
    p = run(src, "gen://files=10/x", check=25)
    assert "read-only" in p.err and "gen://files=10" in p.err
    p = run(src / "a", "gen://files=10/f1", check=25)
    assert "read-only" in p.err


@pytest.mark.parametrize("spec", [
    "files=abc", "fanout=10", "files=10,bogus=1", "files=10,files=11",
    "files=10,fanout=1", "files=1000000001", "files=10,", "files=10,size=rand:",
    "files=10,pad=201", "",
])
def test_bad_spec(tmp, spec):
    p = run(f"gen://{spec}/", tmp / "dst", check=255)
    assert f"gen://{spec}" in p.err
    assert not (tmp / "dst").exists()


def test_missing_path(tmp):
    for path in ["/d00/f0100", "/d1", "/d00/f0000/x", "/f0000"]:
        p = run(f"gen://files=200,fanout=100{path}", tmp / "dst", check=255)
        assert "doesn't exist" in p.err, path
