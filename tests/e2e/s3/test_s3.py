"""End-to-end tests of the S3 backend (src/backend/s3) against real S3-compatible servers on
127.0.0.1 started by tests/s3/s3server.py: s3rver (npm, installed by scripts/setup.sh into
tests/s3/node_modules) and moto_server where it is on PATH. Each test runs once per server
found; with neither, the module skips.
  (the backend conformance suite against these servers is ctest's conformance.s3,
  tests/conformance/run_with_server.py)
  - local tree -> s3a://bucket/dst -> local, byte-identical (multipart-sized file included,
    empty directory kept as a marker), endpoint given with -D fs.s3a.endpoint;
  - -update: a second run copies nothing; -update -delete removes extra objects on S3;
  - a missing bucket and wrong credentials fail clearly, with nothing written;
  - keys that cannot be files ("..", "//") are refused per file, nothing escapes the target."""
import os
import sys

import pytest

from conftest import counters, ROOT, make_tree, run, tree

sys.path.insert(0, os.path.join(ROOT, "tests", "s3"))
import s3server as S  # noqa: E402
import s3fix  # noqa: E402
from s3fix import s3  # noqa: E402

KINDS = S.kinds()
pytestmark = pytest.mark.skipif(not KINDS, reason="no S3 test server (run scripts/setup.sh "
                                "for s3rver; moto_server not on PATH)")


server = s3fix.server_fixture("s3-")


def env_of(info, **extra):
    e = dict(info["env"])
    e.update(extra)
    return e


def d_endpoint(info):
    return ["-D", "fs.s3a.endpoint=" + info["endpoint"]]


SPEC = {
    "a.txt": "hello s3\n",
    "empty.bin": b"",
    "big.bin": 9 * 1024 * 1024 + 17,     # over one 8 MiB part: multipart upload
    "dir": {"x": 4097, "sub": {"y": "why", "z": 100000}},
    "void": {},
    "odd name %+;#=&": "escaped\n",
}


def test_roundtrip(server, tmp_path):
    info = server
    env = {k: v for k, v in info["env"].items() if k != "AWS_ENDPOINT_URL"}
    src = make_tree(str(tmp_path / "src"), SPEC)
    run(*d_endpoint(info), src, s3(info, "/rt"), check=0, env=env)
    back = str(tmp_path / "back")
    run(*d_endpoint(info), s3(info, "/rt"), back, check=0, env=env)
    assert tree(back) == tree(src)


def old_times(root):
    t = os.stat(root).st_mtime_ns - 60 * 10**9
    for dirpath, dirs, files in os.walk(root):
        for n in files:
            os.utime(os.path.join(dirpath, n), ns=(t, t))


def test_update_then_nothing(server, tmp_path):
    info = server
    src = make_tree(str(tmp_path / "src"), {"f1": 1000, "d": {"f2": "two", "f3": 70000}})
    # S3 keeps whole-second upload times: sources written in this very second would look
    # newer than their copies (the -update mtime rule), so date them a minute back
    old_times(src)
    run("-update", src, s3(info, "/upd"), check=0, env=info["env"])
    p = run("-update", src, s3(info, "/upd"), check=0, env=info["env"])
    assert "Files Copied=0" in p.out + p.err
    # and back: a second S3 -> local run copies nothing either
    back = str(tmp_path / "back")
    run("-update", s3(info, "/upd"), back, check=0, env=info["env"])
    p = run("-update", s3(info, "/upd"), back, check=0, env=info["env"])
    assert "Files Copied=0" in p.out + p.err
    assert tree(back) == tree(src)


def test_delete_extra(server, tmp_path):
    info = server
    src = make_tree(str(tmp_path / "src"), {"keep": "k", "d": {"keep2": "kk"}})
    run(src, s3(info, "/del"), check=0, env=info["env"])
    extra = make_tree(str(tmp_path / "extra"), {"gone": "g", "d": {"gone2": "x"},
                                                "gdir": {"deep": {"z": "z"}}})
    run("-update", extra, s3(info, "/del"), check=0, env=info["env"])
    p = run("-update", "-delete", src, s3(info, "/del"), check=0, env=info["env"])
    assert "Files Deleted=" in p.out + p.err
    back = str(tmp_path / "back")
    run(s3(info, "/del"), back, check=0, env=info["env"])
    assert tree(back) == tree(src)


def test_missing_bucket(server, tmp_path):
    info = server
    src = make_tree(str(tmp_path / "src"), {"f": "x"})
    p = run(src, "s3a://no-such-bucket-here/dst", env=info["env"])
    assert p.returncode != 0
    assert "no-such-bucket-here" in p.err and "does not exist" in p.err, p.err


def test_wrong_credentials(server, tmp_path):
    info = server
    if info["kind"] == "moto":
        pytest.skip("moto accepts any credentials")
    # s3rver checks the access key id (not the signature's secret)
    src = make_tree(str(tmp_path / "src"), {"f": "x"})
    secret = "wrong-secret-do-not-print"
    p = run(src, s3(info, "/creds"),
            env=env_of(info, AWS_ACCESS_KEY_ID="WRONGKEY", AWS_SECRET_ACCESS_KEY=secret))
    assert p.returncode != 0
    assert secret not in p.out + p.err
    assert "403" in p.err and "credentials" in p.err, p.err
    p = run(s3(info, "/creds"), str(tmp_path / "x"), env=info["env"])
    assert p.returncode != 0       # nothing was written


def test_hostile_keys(server, tmp_path):
    """Issue 4: keys with ".." segments (and "//" where the server stores them)
    never become files outside the target. They are per-file failures: with -i
    counted (Files Failed) and skipped while the rest is copied; without -i the
    job fails naming the unsafe name."""
    info = server
    b = info["bucket"]
    assert S.request(info, "PUT", "/" + b + "/host/ok") == 200
    stored = S.request(info, "PUT", "/" + b + "/host/a/../../../escaped") == 200
    S.request(info, "PUT", "/" + b + "/host/b//c")   # s3rver cannot store it: 404
    out = tmp_path / "out"
    p = run(s3(info, "/host"), str(out / "strict"), env=info["env"])
    # s3rver normalises the key on PUT (it is never listed under host/);
    # moto keeps it as given, and then the listing must refuse it
    listed = p.returncode != 0
    if listed:
        assert p.returncode == 25, p.err
        assert "unsafe name" in p.err, p.err
    p = run("-i", s3(info, "/host"), str(out / "t"), env=info["env"])
    assert p.returncode == 0, p.err
    assert (out / "t" / "ok").exists()
    if listed:
        assert "unsafe name" in p.err, p.err
        assert counters(p)["Files Failed"] >= 1
    for dirpath, dirs, files in os.walk(str(tmp_path)):
        assert "escaped" not in files, dirpath
    assert stored
