"""End-to-end tests of the WebHDFS backend (src/backend/webhdfs/webhdfs.c) against the
WebHDFS TEST SERVER (tests/webhdfs/webhdfs_server.py, NameNode + DataNode on loopback):
  (the backend conformance suite against this server is ctest's conformance.webhdfs,
  tests/conformance/run_with_server.py; its HA, HttpFS, Knox and TLS runs stay in
  test_webhdfs_modes.py)
  - distcp copies a small local tree to webhdfs://127.0.0.1:<port>/dst and back, bytes compared
    (on the server's disk and after the round trip), empty directories included;
  - -pt / -pp keep mtime and permission on the way in.
One server per module (its namespace lives under a pytest tmp dir)."""
import os

import pytest

from conftest import counters, make_tree, run, tree

from webhdfsfix import server_fixture, uri  # noqa: E402


server = server_fixture("webhdfs-root", max_seconds=900)




SPEC = {
    "a.txt": "hello webhdfs\n",
    "empty.bin": b"",
    "big.bin": 3 * 1024 * 1024 + 17,
    "dir": {"x": 4097, "sub": {"y": "why", "z": 100000}},
    "void": {},
    "odd name %+;#": "escaped\n",
}


def test_copy_roundtrip(server, tmp_path):
    root, info = server
    src = make_tree(str(tmp_path / "src"), SPEC)
    run(src, uri(info, "/roundtrip"), check=0)
    # what the server stored (its namespace is a plain directory on disk)
    assert tree(str(root / "roundtrip")) == tree(src)
    back = str(tmp_path / "back")
    run(uri(info, "/roundtrip"), back, check=0)
    assert tree(back) == tree(src)
    # no temp files left behind on the store
    for dirpath, dirs, files in os.walk(str(root / "roundtrip")):
        assert not [n for n in dirs + files if ".distcp.tmp." in n], dirpath


def test_update_skips_same(server, tmp_path):
    root, info = server
    src = make_tree(str(tmp_path / "src"), {"f1": 1000, "d": {"f2": "two"}})
    run(src, uri(info, "/upd"), check=0)
    p = run("-update", src, uri(info, "/upd"), check=0)
    assert "Files Copied=0" in p.out + p.err
    assert tree(str(root / "upd")) == tree(src)


def test_preserve_times_and_mode(server, tmp_path):
    root, info = server
    src = make_tree(str(tmp_path / "src"), {"f": "data", "d": {"g": "gg"}})
    os.chmod(os.path.join(src, "f"), 0o640)
    os.utime(os.path.join(src, "f"), ns=(1400000000_000_000_000, 1500000000_123_000_000))
    run("-ptp", src, uri(info, "/pres"), check=0)
    st = os.stat(str(root / "pres" / "f"))
    assert st.st_mtime_ns // 1_000_000 == 1500000000_123
    back = str(tmp_path / "back")
    run("-ptp", uri(info, "/pres"), back, check=0)
    bst = os.stat(os.path.join(back, "f"))
    assert bst.st_mtime_ns == 1500000000_123_000_000
    assert bst.st_mode & 0o7777 == 0o640


def test_preserve_xattr(server, tmp_path):
    root, info = server
    src = make_tree(str(tmp_path / "src"), {"f": "x"})
    try:
        os.setxattr(os.path.join(src, "f"), "user.color", b"blue\x00green")
    except OSError:
        pytest.skip("the temp file system refuses user xattrs")
    run("-px", src, uri(info, "/xat"), check=0)
    back = str(tmp_path / "back")
    run("-px", uri(info, "/xat"), back, check=0)
    assert os.getxattr(os.path.join(back, "f"), "user.color") == b"blue\x00green"


def test_update_append(server, tmp_path):
    root, info = server
    src = make_tree(str(tmp_path / "src"), {"f": 100000})
    run(src, uri(info, "/app"), check=0)
    with open(os.path.join(src, "f"), "ab") as f:
        f.write(os.urandom(50000))
    p = run("-update", "-append", src, uri(info, "/app"), check=0)
    assert "Bytes Copied=50000" in p.out + p.err
    assert tree(str(root / "app")) == tree(src)


def test_update_after_pt_with_sub_ms_mtimes(server, tmp_path):
    """Part A 4 / issue 5: HDFS keeps mtimes in milliseconds. After a -pt copy
    of files whose mtimes have sub-millisecond parts, a second -update copies
    nothing (the engine compares mtimes at the coarser store's precision) and
    a really newer source is still copied."""
    root, info = server
    src = make_tree(str(tmp_path / "src"), {"a": "alpha", "b": "beta", "d": {"c": "gamma"}})
    for i, f in enumerate(("a", "b", "d/c")):
        os.utime(os.path.join(src, f), ns=(1500000000_000_000_000, 1500000000_123_456_789 + i))
    run("-update", "-pt", src, uri(info, "/subms"), check=0)
    p = run("-update", "-pt", src, uri(info, "/subms"), check=0)
    c = counters(p)
    assert c["Files Copied"] == 0 and c["Files Skipped"] == 3, c
    # a change of 2 ms is newer at millisecond precision too
    os.utime(os.path.join(src, "a"), ns=(1500000000_000_000_000, 1500000000_125_456_789))
    with open(os.path.join(src, "a"), "w") as f:
        f.write("ALPHA")
    os.utime(os.path.join(src, "a"), ns=(1500000000_000_000_000, 1500000000_125_456_789))
    p = run("-update", "-pt", src, uri(info, "/subms"), check=0)
    assert counters(p)["Files Copied"] == 1
    assert (root / "subms" / "a").read_text() == "ALPHA"
