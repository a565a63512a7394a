"""-p attributes on S3 (issue 4): with -pugpt and an S3 target, owner, group, permission and
mtime are recorded as object metadata (x-amz-meta-distcp-uid/-gid or -owner/-group, -mode,
-mtime), and restored by a copy from S3 back to a local target with -p; S3 -> S3 keeps them.
Runs once per server found (tests/s3/s3server.py: s3rver always, moto_server where present).
  - local -> S3 -> local with -pugpt: modes and mtimes (ns) round-trip, owner and group too
    when the test runs as root (files chowned to a non-root uid/gid first); a multipart-sized
    file included (its metadata travels with the commit's self-copy);
  - awscli (Debian's /usr/bin/aws, where installed) sees the metadata keys;
  - -update -pugpt: a second run copies nothing; a mode changed at the source travels to the
    object's metadata (skipped file, setattr) and back to a local copy;
  - S3 -> S3 (server-side copy on one server) with -p keeps the attributes;
  - objects without distcp metadata copy back with -pugpt without error, restoring no mode."""
import json
import os
import subprocess
import sys

import pytest

from conftest import ROOT, make_tree, run, tree

sys.path.insert(0, os.path.join(ROOT, "tests", "s3"))
import s3server as S  # noqa: E402
import s3fix  # noqa: E402
from s3fix import s3  # noqa: E402

KINDS = S.kinds()
AWS = "/usr/bin/aws"
pytestmark = pytest.mark.skipif(not KINDS, reason="no S3 test server (run scripts/setup.sh "
                                "for s3rver; moto_server not on PATH)")
ROOTUSER = os.geteuid() == 0
MODES = {"a.txt": 0o600, "run.sh": 0o755, "d/b.bin": 0o640, "d/e/c": 0o444, "big.bin": 0o604}


server = s3fix.server_fixture("s3a-")


def make_src(root):
    src = make_tree(root, {"a.txt": "alpha\n", "run.sh": "#!/bin/sh\n", "big.bin":
                           9 * 1024 * 1024 + 5, "d": {"b.bin": 5000, "e": {"c": "c"}}})
    for i, (rel, mode) in enumerate(sorted(MODES.items())):
        p = os.path.join(src, rel)
        os.chmod(p, mode)
        t = 1600000000 * 10**9 + 123456789 + i * 10**9     # sub-second part kept
        os.utime(p, ns=(t, t))
        if ROOTUSER:
            os.chown(p, 4321 + i, 5432 + i)
    return src


def attrs(root):
    out = {}
    for rel in MODES:
        st = os.stat(os.path.join(root, rel))
        out[rel] = (st.st_mode & 0o7777, st.st_mtime_ns) + \
            ((st.st_uid, st.st_gid) if ROOTUSER else ())
    return out


def head_meta(info, tmp_path, key):
    home = tmp_path / "awshome"
    home.mkdir(exist_ok=True)
    e = dict(os.environ, HOME=str(home), AWS_ACCESS_KEY_ID=info["key"],
             AWS_SECRET_ACCESS_KEY=info["secret"], AWS_REGION="us-east-1",
             AWS_CONFIG_FILE=str(home / "none"), AWS_SHARED_CREDENTIALS_FILE=str(home / "none"),
             AWS_PAGER="")
    for k in ("AWS_CA_BUNDLE", "AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        e.pop(k, None)
    p = subprocess.run([AWS, "--endpoint-url", info["endpoint"], "--no-cli-pager", "s3api",
                        "head-object", "--bucket", info["bucket"], "--key", key],
                       capture_output=True, env=e, timeout=120)
    assert p.returncode == 0, p.stderr.decode("utf-8", "replace")
    return json.loads(p.stdout)["Metadata"]


def test_roundtrip_pugpt(server, tmp_path):
    info = server
    src = make_src(str(tmp_path / "src"))
    run("-pugpt", src, s3(info, "/pp"), check=0, env=info["env"])
    back = str(tmp_path / "back")
    run("-pugpt", s3(info, "/pp"), back, check=0, env=info["env"])
    assert tree(back) == tree(src)
    assert attrs(back) == attrs(src)
    if os.path.exists(AWS):
        for rel in ("a.txt", "big.bin"):
            m = head_meta(info, tmp_path, "pp/" + rel)
            st = os.stat(os.path.join(src, rel))
            assert m.get("distcp-mode") == "%04o" % (st.st_mode & 0o7777), m
            assert m.get("distcp-mtime") == str(st.st_mtime_ns), m
            assert m.get("distcp-uid") == str(st.st_uid), m
            assert m.get("distcp-gid") == str(st.st_gid), m
    # without -p nothing is applied: the copy has fresh times
    plain = str(tmp_path / "plain")
    run(s3(info, "/pp"), plain, check=0, env=info["env"])
    assert os.stat(os.path.join(plain, "a.txt")).st_mtime_ns != \
        os.stat(os.path.join(src, "a.txt")).st_mtime_ns


def test_update_carries_changed_mode(server, tmp_path):
    info = server
    src = make_src(str(tmp_path / "src"))
    back = str(tmp_path / "back")
    run("-update", "-pugpt", src, s3(info, "/pu"), check=0, env=info["env"])
    run("-update", "-pugpt", s3(info, "/pu"), back, check=0, env=info["env"])
    p = run("-update", "-pugpt", src, s3(info, "/pu"), check=0, env=info["env"])
    assert "Files Copied=0" in p.err, p.err
    os.chmod(os.path.join(src, "a.txt"), 0o640)
    p = run("-update", "-pugpt", src, s3(info, "/pu"), check=0, env=info["env"])
    assert "Files Copied=0" in p.err, p.err            # the data did not change
    p = run("-update", "-pugpt", s3(info, "/pu"), back, check=0, env=info["env"])
    assert "Files Copied=0" in p.err, p.err
    assert os.stat(os.path.join(back, "a.txt")).st_mode & 0o7777 == 0o640
    assert attrs(back) == attrs(src)
    assert tree(back) == tree(src)


def test_s3_to_s3_keeps_attributes(server, tmp_path):
    info = server
    src = make_src(str(tmp_path / "src"))
    run("-pugpt", src, s3(info, "/ss1"), check=0, env=info["env"])
    run("-pugpt", s3(info, "/ss1"), s3(info, "/ss2"), check=0, env=info["env"])
    back = str(tmp_path / "back")
    run("-pugpt", s3(info, "/ss2"), back, check=0, env=info["env"])
    assert tree(back) == tree(src)
    assert attrs(back) == attrs(src)


def test_objects_without_metadata(server, tmp_path):
    info = server
    src = make_tree(str(tmp_path / "src"), {"n1": "one", "d": {"n2": 3000}})
    run(src, s3(info, "/nometa"), check=0, env=info["env"])
    back = str(tmp_path / "back")
    old = os.umask(0o027)
    try:
        p = run("-pugpt", s3(info, "/nometa"), back, check=0, env=info["env"])
    finally:
        os.umask(old)
    assert "Files Failed=0" in p.err, p.err
    assert tree(back) == tree(src)
    # no mode recorded: the file keeps the mode it was created with (0666 & ~umask), not
    # the 0666 a listing shows for every object
    assert os.stat(os.path.join(back, "n1")).st_mode & 0o7777 == 0o640
    if ROOTUSER:
        # no owner recorded: nothing to restore, the copy stays the writer's
        assert os.stat(os.path.join(back, "n1")).st_uid == 0
