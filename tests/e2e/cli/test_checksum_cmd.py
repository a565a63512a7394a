"""`distcp checksum` (issue 5): prints each file's checksum as `hadoop fs -checksum` does
(path TAB algorithm TAB hex), computed from the bytes for local files and answered by
GETFILECHECKSUM on WebHDFS/HttpFS/Knox (the WebHDFS TEST SERVER, tests/webhdfs/webhdfs_server.py,
computes it with its own code, not distcp's).

The expected values are spec/protocols.md §2.4's worked examples (CRC32C, 512 bytes per CRC,
128 MiB blocks): "world\\n", the empty file, the first 5 bytes "world", 134217727 zero bytes
(one block) and 153600000 zero bytes (two blocks), plus §2.4's COMPOSITE value of "world\\n"."""
import os

import pytest

from conftest import run

from webhdfsfix import W, server_fixture  # noqa: E402

# protocols.md §2.4
WORKED = [
    ("world", b"world\n", "MD5-of-0MD5-of-512CRC32C",
     "000002000000000000000000a74dcf6d5ba98e50ae0182c9d5d886fe"),
    ("empty", b"", "MD5-of-0MD5-of-0CRC32",
     "00000000000000000000000070bc8f4b72a86921468bf8e8441dce51"),
    ("world5", b"world", "MD5-of-0MD5-of-512CRC32C",
     "00000200000000000000000005a157db1cc7549c82ec6f31f63fdb46"),
]
ZEROS = [
    ("zeros1", 134217727, "MD5-of-0MD5-of-512CRC32C",
     "0000020000000000000000001cf326bae8274fd824ec69ece3e4082f"),
    ("zeros2", 153600000, "MD5-of-262144MD5-of-512CRC32C",
     "0000020000000000000400007d04ac8132ad64988f7ba4d819cbde62"),
]


def lines(p):
    return [ln.split("\t") for ln in p.out.splitlines()]


@pytest.fixture(scope="module")
def examples(tmp_path_factory):
    d = tmp_path_factory.mktemp("ck-examples")
    for name, data, _, _ in WORKED:
        (d / name).write_bytes(data)
    for name, size, _, _ in ZEROS:
        with open(d / name, "wb") as f:
            f.truncate(size)  # sparse: reads as zeros
    return d


def test_worked_values_local(examples):
    """spec/protocols.md §2.4, every example file, in one call; output as hadoop fs -checksum."""
    paths = [str(examples / n) for n, *_ in WORKED + ZEROS]
    p = run("checksum", *paths, check=0)
    assert lines(p) == [[str(examples / n), alg, hx] for n, _, alg, hx in WORKED + ZEROS]
    assert p.err == ""


def test_composite_and_crc32_local(examples):
    w = str(examples / "world")
    p = run("checksum", "--combine-mode", "COMPOSITE_CRC", w, check=0)
    assert lines(p) == [[w, "COMPOSITE-CRC32C", "d4ad7373"]]          # §2.4
    p = run("checksum", "-D", "dfs.checksum.combine.mode=COMPOSITE_CRC", "--checksum-type",
            "CRC32", w, check=0)
    import zlib
    assert lines(p) == [[w, "COMPOSITE-CRC32", "%08x" % zlib.crc32(b"world\n")]]
    # a 2-block layout chosen on the command line: crcPerBlock = 1024/512 = 2
    big = examples / "big3k"
    big.write_bytes(bytes(range(256)) * 12)
    p = run("checksum", "--block-size", "1024", "-v", str(big), check=0)
    [[path, alg, hx, bs]] = lines(p)
    assert (path, alg, bs) == (str(big), "MD5-of-2MD5-of-512CRC32C", "BlockSize=1024")
    assert hx.startswith("00000200" "0000000000000002") and len(hx) == 56


def test_errors(examples, tmp_path):
    w = str(examples / "world")
    missing = str(tmp_path / "nope")
    p = run("checksum", missing, w, check=1)       # the good path is still printed
    assert lines(p) == [[w, "MD5-of-0MD5-of-512CRC32C", WORKED[0][3]]]
    assert "'%s'" % missing in p.err and "no such file" in p.err.lower()
    p = run("checksum", str(examples), check=1)
    assert "'%s'" % str(examples) in p.err and "is a directory" in p.err
    p = run("checksum", "--block-size", "1000", w, check=255)
    assert "not a multiple" in p.err
    p = run("checksum", "--combine-mode", "XOR", w, check=255)
    assert "bad value 'XOR'" in p.err
    p = run("checksum", "--frobnicate", w, check=255)
    assert "unknown option '--frobnicate'" in p.err
    p = run("checksum", check=255)
    assert "no path given" in p.err
    p = run("checksum", "--help", check=0)
    assert p.out.startswith("usage: distcp checksum")


hdfs = server_fixture("ck-hdfs", block_size=1048576, max_seconds=600)


def _ctl_log(info, method="GET"):
    import json
    import urllib.request
    req = urllib.request.Request("http://127.0.0.1:%d/_testserver/log" % info["nn_port"],
                                 method=method)
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read() or b"{}")


def test_webhdfs_native_equals_local(hdfs, examples, tmp_path):
    """GETFILECHECKSUM's answer (the server's own computation) equals distcp's computation from
    the bytes with the same layout; multi-block files included."""
    root, info = hdfs
    src = tmp_path / "src"
    src.mkdir()
    data = {"world": b"world\n", "empty": b"", "two_and_half": os.urandom(2621440 + 17)}
    for n, d in data.items():
        (src / n).write_bytes(d)
    run(str(src), "webhdfs://127.0.0.1:%d/ck" % info["nn_port"], check=0)
    _ctl_log(info, "DELETE")
    uris = ["webhdfs://127.0.0.1:%d/ck/%s" % (info["nn_port"], n) for n in data]
    p = run("checksum", "-v", *uris, check=0)
    native = lines(p)
    ops = [r["op"] for r in _ctl_log(info)["requests"]]
    assert ops.count("GETFILECHECKSUM") >= len(data)
    assert native[0][1:] == ["MD5-of-0MD5-of-512CRC32C", WORKED[0][3], "BlockSize=1048576"]
    assert native[1][1:3] == ["MD5-of-0MD5-of-0CRC32", WORKED[1][3]]
    assert native[2][1] == "MD5-of-2048MD5-of-512CRC32C"
    local = lines(run("checksum", "--block-size", "1048576",
                      *[str(src / n) for n in data], check=0))
    assert [x[1:3] for x in native] == [x[1:3] for x in local]
    # --compute reads the bytes instead, and gets the same
    _ctl_log(info, "DELETE")
    p = run("checksum", "--compute", *uris, check=0)
    assert [x[1:] for x in lines(p)] == [x[1:3] for x in native]
    ops = [r["op"] for r in _ctl_log(info)["requests"]]
    assert "GETFILECHECKSUM" not in ops and "OPEN" in ops
    # a mode WebHDFS does not answer (COMPOSITE) is computed from the bytes
    p = run("checksum", "--combine-mode", "COMPOSITE_CRC", uris[0], check=0)
    assert lines(p) == [[uris[0], "COMPOSITE-CRC32C", "d4ad7373"]]
    # missing file and a directory: named, exit 1
    p = run("checksum", "webhdfs://127.0.0.1:%d/ck/nope" % info["nn_port"], check=1)
    assert "/ck/nope" in p.err
    p = run("checksum", "webhdfs://127.0.0.1:%d/ck" % info["nn_port"], check=1)
    assert "is a directory" in p.err


@pytest.mark.parametrize("mode", ["httpfs", "knox"])
def test_gateways_native(mode, tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    opts = dict(mode=mode, checksum_type="CRC32", max_seconds=300)
    env = {}
    if mode == "knox":
        opts.update(basic_user=["alice:pw"], superuser="alice")
        env = {"DISTCP_WEBHDFS_USER": "alice", "DISTCP_WEBHDFS_PASSWORD": "pw"}
    proc, info = W.spawn(str(root), **opts)
    try:
        (root / "w").write_bytes(b"world\n")
        base = info["base_url"] if mode == "knox" else "webhdfs://127.0.0.1:%d" % info["nn_port"]
        p = run("checksum", base + "/w", check=0, env=env)
        [[_, alg, hx]] = lines(p)
        assert alg == "MD5-of-0MD5-of-512CRC32"     # the server's configured CRC type
        loc = tmp_path / "w"
        loc.write_bytes(b"world\n")
        p = run("checksum", "--checksum-type", "CRC32", str(loc), check=0)
        assert lines(p)[0][1:] == [alg, hx]
    finally:
        W.stop_process(proc)
