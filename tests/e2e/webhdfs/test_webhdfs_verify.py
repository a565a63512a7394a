"""HDFS checksums in copies (issue 5; spec/distcp.md Part A 4 and 5), against the WebHDFS TEST
SERVER (tests/webhdfs/webhdfs_server.py, which computes GETFILECHECKSUM with its own code):
  - post-copy verification: the MD5-of-MD5-of-CRC32C computed while the bytes stream is
    compared with GETFILECHECKSUM of the written temp file before it is committed (local ->
    HDFS) and with the source's (HDFS -> local); data damaged in transit (the server's
    "corrupt" fault) fails the file and nothing appears under its name; -skipcrccheck turns the
    check off;
  - -update with equal sizes: HDFS <-> HDFS files are compared by their checksums (a same-sized
    change is copied even when the target is newer); --checksum compares a local file with an
    HDFS file reading only the local side."""
import json
import os
import urllib.request

import pytest

from conftest import counters, make_tree, run

from webhdfsfix import server_fixture, uri  # noqa: E402

FAST = {"DISTCP_WEBHDFS_RETRY_BASE_MS": "1"}


server = server_fixture("verify-root", block_size=1048576, max_seconds=600)


def ctl(info, method, what, body=None):
    req = urllib.request.Request("http://127.0.0.1:%d/_testserver/%s" % (info["nn_port"], what),
                                 method=method,
                                 data=json.dumps(body).encode() if body is not None else None)
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read() or b"{}")


@pytest.fixture
def srv(server):
    root, info = server
    ctl(info, "DELETE", "faults")
    ctl(info, "DELETE", "log")
    yield root, info
    ctl(info, "DELETE", "faults")


u = uri


def reqs(info, op):
    return [r for r in ctl(info, "GET", "log")["requests"] if r["op"] == op]


SPEC = {"a": 3000, "d": {"b": 2621440 + 5, "c": "x"}, "empty": ""}


def test_upload_verified_before_commit(srv, tmp_path):
    root, info = srv
    src = make_tree(str(tmp_path / "src"), SPEC)
    run(src, u(info, "/up"), check=0)
    sums = reqs(info, "GETFILECHECKSUM")
    nn = [r for r in sums if r["role"] == "nn"]
    # one per file, asked of the temp file before the rename made it visible
    assert len(nn) == 4 and all(".distcp.tmp." in r["path"] for r in nn), nn
    for rel in ("a", "d/b", "d/c", "empty"):
        with open(os.path.join(src, rel), "rb") as f, open(root / "up" / rel, "rb") as g:
            assert f.read() == g.read()


def test_upload_corrupted_in_transit_fails(srv, tmp_path):
    root, info = srv
    src = make_tree(str(tmp_path / "src"), {"f": 5000})
    ctl(info, "POST", "faults", {"op": "CREATE", "role": "dn", "path": "/bad", "count": -1,
                                 "kind": "corrupt"})
    p = run(src, u(info, "/bad"), check=25, env=FAST)
    assert "Checksum mismatch between %s/f and /bad/f" % src in p.err, p.err
    assert "MD5-of-0MD5-of-512CRC32C" in p.err
    assert not (root / "bad" / "f").exists()
    assert not (root / "bad").exists() or os.listdir(root / "bad") == []
    # -skipcrccheck: no verification (Hadoop's meaning), the damaged copy is not detected
    ctl(info, "DELETE", "log")
    run("-update", "-skipcrccheck", src, u(info, "/bad"), check=0, env=FAST)
    assert not reqs(info, "GETFILECHECKSUM")
    assert (root / "bad" / "f").read_bytes() != open(os.path.join(src, "f"), "rb").read()


def test_download_verified_against_source(srv, tmp_path):
    root, info = srv
    src = make_tree(str(tmp_path / "src"), {"g": 70000, "h": "hello"})
    run(src, u(info, "/down"), check=0)
    ctl(info, "DELETE", "log")
    out = tmp_path / "out"
    run(u(info, "/down"), str(out), check=0)
    assert (out / "g").read_bytes() == open(os.path.join(src, "g"), "rb").read()
    assert len([r for r in reqs(info, "GETFILECHECKSUM") if r["role"] == "nn"]) == 2
    # the DataNode damages what it sends: the copy fails, nothing under the name
    ctl(info, "POST", "faults", {"op": "OPEN", "role": "dn", "path": "/down/g", "count": -1,
                                 "kind": "corrupt"})
    out2 = tmp_path / "out2"
    p = run(u(info, "/down"), str(out2), check=25, env=FAST)
    assert "Checksum mismatch between /down/g and %s/g" % out2 in p.err, p.err
    assert "the source reports" in p.err
    assert not (out2 / "g").exists()


def test_update_hdfs_to_hdfs_by_checksum(srv, tmp_path):
    root, info = srv
    src = make_tree(str(tmp_path / "src"), {"same": 4000, "changed": 4000})
    run(src, u(info, "/A"), check=0)
    run(u(info, "/A"), u(info, "/B"), check=0)
    # a same-sized change in the target, which is also newer: only a checksum tells
    p = root / "B" / "changed"
    data = bytearray(p.read_bytes())
    data[100] ^= 1
    p.write_bytes(bytes(data))
    os.utime(p, (2000000000, 2000000000))
    r = run("-update", u(info, "/A"), u(info, "/B"), check=0)
    c = counters(r)
    assert c["Files Copied"] == 1 and c["Files Skipped"] == 1, r.err
    assert (root / "B" / "changed").read_bytes() == (root / "A" / "changed").read_bytes()
    r = run("-update", u(info, "/A"), u(info, "/B"), check=0)
    assert counters(r)["Files Copied"] == 0
    # -skipcrccheck: sizes only
    data = bytearray(p.read_bytes())
    data[7] ^= 1
    p.write_bytes(bytes(data))
    r = run("-update", "-skipcrccheck", u(info, "/A"), u(info, "/B"), check=0)
    assert counters(r)["Files Copied"] == 0


def test_update_forced_checksum_local_vs_hdfs(srv, tmp_path):
    root, info = srv
    src = make_tree(str(tmp_path / "src"), {"f": 9000, "g": 9000})
    run(src, u(info, "/F"), check=0)
    p = root / "F" / "f"
    data = bytearray(p.read_bytes())
    data[0] ^= 1
    p.write_bytes(bytes(data))
    os.utime(p, (2000000000, 2000000000))      # newer: the mtime rule would skip it
    ctl(info, "DELETE", "log")
    r = run("-update", "--checksum", src, u(info, "/F"), check=0)
    c = counters(r)
    assert c["Files Copied"] == 1 and c["Files Skipped"] == 1, r.err
    assert p.read_bytes() == open(os.path.join(src, "f"), "rb").read()
    # the HDFS side was compared by GETFILECHECKSUM, never read back
    assert not [x for x in reqs(info, "OPEN")]
    targets = {x["path"] for x in reqs(info, "GETFILECHECKSUM") if x["role"] == "nn"}
    assert {"/F/f", "/F/g"} <= targets
