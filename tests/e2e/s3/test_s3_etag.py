"""-update between two S3 locations compares ETags (issue 4, spec Part A 4) where distcp's own
digest is missing: equal single-part (MD5) ETags or identical multipart ETags mean "same",
different MD5 ETags mean "copy". Objects are written by Debian's awscli (/usr/bin/aws), so
they carry no distcp digest; runs once per server found (tests/s3/s3server.py).
  - a target object overwritten by awscli with other bytes of the same size (and so newer than
    its source: Hadoop's mtime rule alone would skip it) is copied again;
  - unchanged objects are skipped with the reason "same size and ETag"."""
import csv
import io
import os
import sys

import pytest

from conftest import ROOT, make_tree, run

sys.path.insert(0, os.path.join(ROOT, "tests", "s3"))
import s3server as S  # noqa: E402
import s3fix  # noqa: E402
from s3fix import s3  # noqa: E402

KINDS = S.kinds()
AWS = "/usr/bin/aws"
pytestmark = [
    pytest.mark.skipif(not KINDS, reason="no S3 test server (run scripts/setup.sh for "
                       "s3rver; moto_server not on PATH)"),
    pytest.mark.skipif(not os.path.exists(AWS), reason="Debian's awscli is not installed "
                       "(/usr/bin/aws; scripts/setup.sh installs it)")]


server = s3fix.server_fixture("s3e-")


def aws(info, tmp_path, *args):
    return s3fix.aws(info, tmp_path, *args).stdout.decode()


def get(info, tmp_path, key):
    out = tmp_path / "got"
    aws(info, tmp_path, "s3", "cp", "s3://%s/%s" % (info["bucket"], key), str(out))
    return out.read_bytes()


def test_update_compares_etags(server, tmp_path):
    info = server
    env = dict(info["env"], DISTCP_JOB_STORE=str(tmp_path / "store" / "jobs.db"))
    src = make_tree(str(tmp_path / "src"), {"a.txt": "hello\n", "b.txt": "world\n",
                                             "c.bin": 5000})
    aws(info, tmp_path, "s3", "cp", "--recursive", src, "s3://%s/e1" % info["bucket"])
    run("-update", s3(info, "/e1"), s3(info, "/e2"), check=0, env=env)
    # the target changes behind distcp's back: same size, other bytes, newer than its source
    other = tmp_path / "other"
    other.write_bytes(b"jello\n")
    aws(info, tmp_path, "s3", "cp", str(other), "s3://%s/e2/a.txt" % info["bucket"])
    p = run("-update", s3(info, "/e1"), s3(info, "/e2"), check=0, env=env)
    assert "Files Copied=1" in p.err and "Files Skipped=2" in p.err, p.err
    assert get(info, tmp_path, "e2/a.txt") == b"hello\n"
    # job 2 is the second run in this test's own store
    r = run("job", "report", "2", "--type", "status", "--format", "csv", check=0, env=env)
    rows = list(csv.DictReader(io.StringIO(r.out)))
    skipped = [row for row in rows if "SKIPPED" in row.values()]
    assert len(skipped) == 2, r.out
    for row in skipped:
        assert "same size and ETag" in ",".join(row.values()), row
