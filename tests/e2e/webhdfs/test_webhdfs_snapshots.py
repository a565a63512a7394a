"""Reading HDFS snapshots (issue 5): a copy from webhdfs://.../<dir>/.snapshot/<name> gets the
tree as it was when the snapshot was taken, while the live directory has moved on. Against the
WebHDFS TEST SERVER (tests/webhdfs/webhdfs_server.py). The snapshot operations themselves
(create, delete, rename, diff, list) are exercised by the conformance suite (t_snapshot.c) in
test_webhdfs_conformance.py and test_webhdfs_modes.py."""
import json
import os
import urllib.request

from conftest import make_tree, run, tree

from webhdfsfix import W  # noqa: E402


def rest(info, method, path, op, **params):
    q = "".join("&%s=%s" % kv for kv in params.items())
    url = "http://127.0.0.1:%d/webhdfs/v1%s?op=%s&user.name=root%s" % (
        info["nn_port"], path, op, q)
    with urllib.request.urlopen(urllib.request.Request(url, method=method), timeout=10) as r:
        body = r.read()
    return json.loads(body) if body else None


def test_copy_from_snapshot(tmp_path):
    hroot = tmp_path / "hdfs"
    hroot.mkdir()
    proc, info = W.spawn(str(hroot), max_seconds=300)
    try:
        base = "webhdfs://127.0.0.1:%d" % info["nn_port"]
        src = make_tree(str(tmp_path / "src"), {"a": "first a", "d": {"b": 3000}})
        before = tree(src)
        run(src, base + "/data", check=0)
        rest(info, "PUT", "/data", "ALLOWSNAPSHOT")
        assert rest(info, "PUT", "/data", "CREATESNAPSHOT", snapshotname="s1") == \
            {"Path": "/data/.snapshot/s1"}
        # the live tree moves on
        with open(os.path.join(src, "a"), "w") as f:
            f.write("second a, longer")
        os.unlink(os.path.join(src, "d", "b"))
        run("-update", "-delete", src, base + "/data", check=0)
        assert tree(str(hroot / "data")) == tree(src)
        # the snapshot still reads as before, through the ordinary read path
        out = tmp_path / "out"
        run(base + "/data/.snapshot/s1", str(out), check=0)
        assert tree(str(out)) == before
        p = run("-update", base + "/data/.snapshot/s1", str(out), check=0)
        assert "Files Copied=0" in p.err
    finally:
        W.stop_process(proc)
