"""-blocksperchunk on HDFS (spec/distcp.md B §6.9; issue 5) against the WebHDFS TEST SERVER
(tests/webhdfs/webhdfs_server.py): a file of more than N blocks is copied by several workers as
separate part files beside the temp, CONCATenated in offset order, then renamed, as Hadoop does;
the result is byte-identical, no part file is left behind, and without -blocksperchunk nothing is
split (HDFS files keep regular blocks)."""
import json
import os
import urllib.request


from conftest import run

from webhdfsfix import server_fixture, uri  # noqa: E402


server = server_fixture("chunk-root", block_size=1048576, max_seconds=600)


u = uri


def ctl(info, method, what):
    req = urllib.request.Request("http://127.0.0.1:%d/_testserver/%s" % (info["nn_port"], what),
                                 method=method)
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read() or b"{}")


def ops(info, op):
    return [r for r in ctl(info, "GET", "log")["requests"] if r["op"] == op]


def test_blocksperchunk_hdfs_to_hdfs(server, tmp_path):
    root, info = server
    data = os.urandom(7 * 1048576 + 12345)            # 8 blocks of 1 MiB
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "big").write_bytes(data)
    (tmp_path / "src" / "small").write_bytes(b"x" * 1000)
    # the source on HDFS keeps the server's 1 MiB blocks
    run(str(tmp_path / "src"), u(info, "/bc/src"), check=0)
    ctl(info, "DELETE", "log")
    # 4 chunks of 2 blocks, throttled (1 MB/s per worker) so that they are usually in flight
    # together. Which worker takes which chunk is up to the scheduler: a chunk that starts where
    # a finished stream ends just continues it, others become parts. (Parts written out of order
    # and CONCATenated are checked deterministically by the conformance suite's
    # t_parallel_write, which runs against this backend.)
    p = run("-blocksperchunk", "2", "-m", "4", "-bandwidth", "1", u(info, "/bc/src"),
            u(info, "/bc/dst"), check=0)
    assert (root / "bc" / "dst" / "big").read_bytes() == data
    assert (root / "bc" / "dst" / "small").read_bytes() == b"x" * 1000
    assert sorted(os.listdir(root / "bc" / "dst")) == ["big", "small"]   # no part left
    concats = [r for r in ops(info, "CONCAT") if r["status"] == 200]
    parts = {r["path"] for r in ops(info, "CREATE") if ".part." in r["path"]}
    assert bool(parts) == bool(concats), (parts, concats)
    assert all(r["path"].startswith("/bc/dst/.distcp.tmp.") for r in concats), concats
    assert all(p.startswith("/bc/dst/.distcp.tmp.") for p in parts), parts
    # -update afterwards: nothing to copy
    p = run("-update", "-blocksperchunk", "2", u(info, "/bc/src"), u(info, "/bc/dst"), check=0)
    assert "Files Copied=0" in p.err


def test_local_to_hdfs_not_split_without_option(server, tmp_path):
    """Files are split for HDFS only with -blocksperchunk (B §6.9), whatever their size."""
    root, info = server
    (tmp_path / "s").mkdir()
    data = os.urandom(3 * 1048576)
    (tmp_path / "s" / "f").write_bytes(data)
    ctl(info, "DELETE", "log")
    run(str(tmp_path / "s"), u(info, "/nosplit"), check=0,
        env={"DISTCP_CHUNK_MIN_MB": "1", "DISTCP_CHUNK_MB": "1"})
    assert (root / "nosplit" / "f").read_bytes() == data
    assert not ops(info, "CONCAT")


def test_blocksperchunk_concat_failure_leaves_nothing(server, tmp_path):
    root, info = server
    data = os.urandom(5 * 1048576 + 7)
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "f").write_bytes(data)
    run(str(tmp_path / "s"), u(info, "/cf/src"), check=0)
    req = urllib.request.Request(
        "http://127.0.0.1:%d/_testserver/faults" % info["nn_port"], method="POST",
        data=json.dumps({"op": "CONCAT", "count": -1, "kind": "exception",
                         "exception": "IOException", "message": "injected concat failure"}).encode())
    urllib.request.urlopen(req, timeout=10).read()
    try:
        # the chunks are spread over workers by the scheduler (see above): try until a run
        # made parts, whose CONCAT then fails
        for attempt in range(4):
            ctl(info, "DELETE", "log")
            p = run("-blocksperchunk", "1", "-m", "4", "-bandwidth", "1", u(info, "/cf/src"),
                    u(info, "/cf/dst%d" % attempt), env={"DISTCP_WEBHDFS_RETRY_BASE_MS": "1"})
            if ops(info, "CONCAT"):
                break
            assert p.returncode == 0, p.err
        else:
            raise AssertionError("4 runs with 4 throttled workers never wrote parts")
        assert p.returncode == 25, p.err
        assert "injected concat failure" in p.err
        d = root / "cf" / ("dst%d" % attempt)
        left = os.listdir(d) if d.exists() else []
        assert left == [], left
    finally:
        ctl(info, "DELETE", "faults")
