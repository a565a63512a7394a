"""S3 scale test (issue 4's done-when), SLOW: about 2 minutes on 2 cores, most of it in the
test server. A 20,000-file tree (100 directories x 200 files of 0-2 KiB) makes the round
trip local -> s3a:// -> local with `-update -delete`, byte-identical; a second run in each
direction copies nothing; then 1% of the files change (new sizes), 1% are deleted and the
round trip brings both sides back in step.

Runs on every S3 test server present (issue 4 asks for both): s3rver (tests/s3, installed
by scripts/setup.sh) always; moto_server where it is on PATH (it is not a Debian package, so
CI runs s3rver only). Skipped when neither is installed."""
import hashlib
import os
import random
import sys

import pytest

from conftest import ROOT, counters, run

sys.path.insert(0, os.path.join(ROOT, "tests", "s3"))
import s3server as S  # noqa: E402
import s3fix  # noqa: E402

NDIRS, NFILES = 100, 200

pytestmark = pytest.mark.skipif(not S.kinds(), reason="no S3 test server is installed "
                                "(scripts/setup.sh installs s3rver into tests/s3)")


def digest_tree(root):
    out = {}
    for dirpath, dirs, files in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        for d in dirs:
            out[os.path.normpath(os.path.join(rel, d))] = "dir"
        for f in files:
            with open(os.path.join(dirpath, f), "rb") as fh:
                out[os.path.normpath(os.path.join(rel, f))] = hashlib.sha1(fh.read()).hexdigest()
    return out


server = s3fix.server_fixture("s3scale-")


def test_round_trip_20000_files(server, tmp_path):
    info = server
    env = info["env"]
    src = tmp_path / "src"
    r = random.Random(20000)
    for d in range(NDIRS):
        dp = src / ("d%03d" % d)
        dp.mkdir(parents=True)
        for f in range(NFILES):
            (dp / ("f%03d" % f)).write_bytes(r.randbytes(r.randint(0, 2048)))
    # S3 keeps whole-second times: sources written this very second would look newer
    # than their copies under the mtime rule, so date them back a minute
    t = os.stat(src).st_mtime_ns - 60 * 10**9
    for dirpath, dirs, files in os.walk(src):
        for f in files:
            os.utime(os.path.join(dirpath, f), ns=(t, t))
    uri = "s3a://%s/scale" % info["bucket"]
    back = tmp_path / "back"

    p = run("-update", "-delete", str(src), uri, check=0, env=env)
    assert counters(p)["Files Copied"] == NDIRS * NFILES
    p = run("-update", "-delete", uri, str(back), check=0, env=env)
    assert counters(p)["Files Copied"] == NDIRS * NFILES
    want = digest_tree(str(src))
    assert digest_tree(str(back)) == want

    p = run("-update", "-delete", str(src), uri, check=0, env=env)
    assert counters(p)["Files Copied"] == 0
    p = run("-update", "-delete", uri, str(back), check=0, env=env)
    assert counters(p)["Files Copied"] == 0

    # 1% rewritten with a new size, 1% deleted, at the source
    names = sorted(os.path.join(dp, f) for dp, ds, fs in os.walk(src) for f in fs)
    r.shuffle(names)
    for n in names[:200]:
        with open(n, "ab") as fh:
            fh.write(b"+changed")
    for n in names[200:400]:
        os.unlink(n)
    p = run("-update", "-delete", str(src), uri, check=0, env=env)
    c = counters(p)
    assert c["Files Copied"] == 200 and c["Files Deleted"] == 200, p.err
    p = run("-update", "-delete", uri, str(back), check=0, env=env)
    c = counters(p)
    assert c["Files Copied"] == 200 and c["Files Deleted"] == 200, p.err
    assert digest_tree(str(back)) == digest_tree(str(src))
