"""The round trip of issue 5's done-when, shared by test_webhdfs_roundtrip*.py:
`distcp -update -delete -pugpt` local -> WebHDFS -> local through one mode of the WebHDFS TEST
SERVER (tests/webhdfs/webhdfs_server.py), byte-identical, with modes and (millisecond) mtimes
kept; a second run copies nothing; a change (one file rewritten with another size, one deleted,
one added) travels both ways with exactly those copies and deletions."""
import os
import random

from conftest import counters, run

from webhdfsfix import W  # noqa: E402

KNOX_USER, KNOX_PASS = "alice", "s3cret pw"
MODES = (0o644, 0o600, 0o640, 0o755)


def make_tree(root, n, seed=7):
    """n files of 0-2 KiB in 200-file directories with 3 subdirectories each, mixed modes,
    whole-millisecond mtimes (HDFS keeps ms), one empty directory."""
    r = random.Random(seed)
    for i in range(n):
        d = os.path.join(root, "d%03d" % (i // 200), "s%d" % (i % 3))
        os.makedirs(d, exist_ok=True)
        p = os.path.join(d, "f%05d" % i)
        with open(p, "wb") as f:
            f.write(r.randbytes(r.randrange(0, 2048)))
        os.chmod(p, MODES[r.randrange(4)])
        t = 1600000000_000_000_000 + r.randrange(0, 10**9) * 10**6
        os.utime(p, ns=(t, t))
    os.makedirs(os.path.join(root, "emptydir"), exist_ok=True)


def snapshot(root):
    """{relpath: (kind, bytes or None, mode, mtime in ms for files)}"""
    out = {}
    for dp, dns, fns in os.walk(root):
        for d in dns:
            p = os.path.join(dp, d)
            st = os.lstat(p)
            out[os.path.relpath(p, root)] = ("d", None, st.st_mode & 0o7777, None)
        for f in fns:
            p = os.path.join(dp, f)
            st = os.lstat(p)
            with open(p, "rb") as fh:
                data = fh.read()
            out[os.path.relpath(p, root)] = ("f", data, st.st_mode & 0o7777,
                                            st.st_mtime_ns // 10**6)
    return out


def assert_same(a, b, attrs=True):
    sa, sb = snapshot(a), snapshot(b)
    if not attrs:   # the server keeps permissions in memory, not on its disk
        sa = {k: v[:2] for k, v in sa.items()}
        sb = {k: v[:2] for k, v in sb.items()}
    assert sorted(sa) == sorted(sb), set(sa) ^ set(sb)
    bad = [k for k in sa if sa[k] != sb[k]]
    assert not bad, [(k, sa[k][0], sa[k][2:], sb[k][2:]) for k in bad[:5]]


def start(mode, root):
    opts = dict(mode=mode, max_seconds=1500)
    env = {}
    if mode == "knox":
        opts.update(basic_user=["%s:%s" % (KNOX_USER, KNOX_PASS)], superuser=KNOX_USER)
        env = {"DISTCP_WEBHDFS_USER": KNOX_USER, "DISTCP_WEBHDFS_PASSWORD": KNOX_PASS}
    proc, info = W.spawn(str(root), **opts)
    base = info["base_url"] if mode == "knox" else "webhdfs://127.0.0.1:%d" % info["nn_port"]
    return proc, base, env


def roundtrip(mode, n, tmp):
    hroot = tmp / "hdfs"
    hroot.mkdir()
    src, back = str(tmp / "src"), str(tmp / "back")
    make_tree(src, n)
    proc, base, env = start(mode, hroot)
    try:
        url = base + "/rt"
        up = ("-update", "-delete", "-pugpt", src, url)
        down = ("-update", "-delete", "-pugpt", url, back)
        c = counters(run(*up, check=0, env=env, timeout=1200))
        assert (c["Files Copied"], c["Files Skipped"]) == (n, 0), c
        assert_same(src, str(hroot / "rt"), attrs=False)  # the server's disk holds the bytes
        c = counters(run(*up, check=0, env=env, timeout=1200))
        assert (c["Files Copied"], c["Files Skipped"], c["Files Deleted"]) == (0, n, 0), c
        c = counters(run(*down, check=0, env=env, timeout=1200))
        assert c["Files Copied"] == n, c
        assert_same(src, back)
        c = counters(run(*down, check=0, env=env, timeout=1200))
        assert (c["Files Copied"], c["Files Skipped"], c["Files Deleted"]) == (0, n, 0), c
        # a change travels both ways: one rewritten (new size), one deleted, one added
        changed = os.path.join(src, "d000", "s0", "f00000")
        with open(changed, "wb") as f:
            f.write(b"changed" * 999)
        os.utime(changed, ns=(1700000000_000_000_000,) * 2)
        os.unlink(os.path.join(src, "d000", "s1", "f00001"))
        with open(os.path.join(src, "d000", "new"), "wb") as f:
            f.write(b"new file")
        os.utime(os.path.join(src, "d000", "new"), ns=(1700000000_000_000_000,) * 2)
        for args in (up, down):
            c = counters(run(*args, check=0, env=env, timeout=1200))
            assert (c["Files Copied"], c["Files Deleted"]) == (2, 1), (args, c)
        assert_same(src, back)
    finally:
        W.stop_process(proc)
