"""Multipart uploads a killed run leaves open (issue 4): the job records each upload
(jobs/<id>/pending, fsync'ed before its first part goes out) and `job resume` / `job clean`
abort every one still open, through the S3 backend's abort_pending (AbortMultipartUpload).

A job copying a 30 MB file with one worker is stopped by the test hook
DISTCP_TEST_PAUSE=writing:20 once 20 MiB went through (two 8 MiB parts uploaded), then killed
with SIGKILL. Runs once per server found (tests/s3/s3server.py):
  - moto_server has ListMultipartUploads and AbortMultipartUpload: the recorded upload is
    listed after the kill (with its parts) and gone after resume / clean;
  - s3rver has neither: its state dir shows the upload's parts after the kill; resume says
    in the job log and on stderr that the server cannot abort it (the parts stay: s3rver has
    no way to remove them) and closes the record.
In both cases the resumed target is byte-identical (read back by distcp)."""
import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from conftest import ROOT, distcp_bin, make_tree, run, tree

sys.path.insert(0, os.path.join(ROOT, "tests", "s3"))
import s3server as S  # noqa: E402
import s3fix  # noqa: E402
from s3fix import s3  # noqa: E402

KINDS = S.kinds()
AWS = "/usr/bin/aws"
pytestmark = pytest.mark.skipif(not KINDS, reason="no S3 test server (run scripts/setup.sh "
                                "for s3rver; moto_server not on PATH)")
BIG = 30 * 1000 * 1000 + 7


server = s3fix.server_fixture("s3p-")


JOBS = {}   # job id -> its job store's directory (each test has a store of its own)


def jenv(info, tmp_path, **extra):
    """The server's variables and a job store of the test's own (a `job clean --state
    KILLED` must not touch other tests' jobs)."""
    e = dict(info["env"], DISTCP_JOB_STORE=str(tmp_path / "store" / "jobs.db"))
    e.update(extra)
    return e


def job_dir(jid):
    return os.path.join(JOBS[jid], "jobs", jid)


def start_and_kill(info, tmp_path, src, dst):
    """Run distcp until the pause point mid-file, kill -9 it; returns the job id."""
    pause = tmp_path / "paused"
    env = dict(os.environ, DISTCP_TEST_PAUSE="writing:20", DISTCP_TEST_PAUSE_FILE=str(pause),
               **jenv(info, tmp_path))
    env.pop("DISTCP_PROGRESS", None)
    p = subprocess.Popen([distcp_bin(), "-m", "1", src, dst], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    for _ in range(1200):
        if pause.exists() and pause.read_text().strip():
            break
        if p.poll() is not None:
            raise AssertionError("job ended before the pause point: %r" % (p.communicate(),))
        time.sleep(0.05)
    else:
        p.kill()
        raise AssertionError("the job never reached the pause point")
    os.kill(p.pid, signal.SIGKILL)
    _, err = p.communicate(timeout=30)
    m = re.search(r"distcp: job (\d+), run 1", err.decode())
    assert m, err
    JOBS[m.group(1)] = str(tmp_path / "store")
    return m.group(1)


def open_uploads(jid):
    """{upload id: key} recorded open in the job's pending file."""
    opened = {}
    with open(os.path.join(job_dir(jid), "pending")) as f:
        for line in f:
            kind, store, token = line.rstrip("\n").split(" ")
            token = re.sub("%([0-9A-F]{2})", lambda m: chr(int(m.group(1), 16)), token)
            uid, key = token.split(" ", 1)
            if kind == "open":
                opened[uid] = key
            else:
                opened.pop(uid, None)
    return opened


def aws(info, tmp_path, *args):
    return json.loads(s3fix.aws(info, tmp_path, *args).stdout or b"{}")


def server_uploads(info, tmp_path):
    """{upload id: number of parts} the server holds (moto: the S3 API; s3rver: its state
    dir, since it has no ListMultipartUploads)."""
    if info["kind"] == "moto":
        ups = aws(info, tmp_path, "s3api", "list-multipart-uploads",
                  "--bucket", info["bucket"]).get("Uploads", [])
        out = {}
        for u in ups:
            parts = aws(info, tmp_path, "s3api", "list-parts", "--bucket", info["bucket"],
                        "--key", u["Key"], "--upload-id", u["UploadId"]).get("Parts", [])
            out[u["UploadId"]] = len(parts)
        return out
    d = os.path.join(info["state"], "data", info["bucket"], "._S3rver_uploads")
    if not os.path.isdir(d):
        return {}
    return {u: len([n for n in os.listdir(os.path.join(d, u)) if n.isdigit()])
            for u in os.listdir(d)}


def check_killed_state(info, tmp_path, jid, prefix):
    opened = open_uploads(jid)
    assert len(opened) == 1, opened
    uid, key = next(iter(opened.items()))
    assert key == prefix.lstrip("/") + "/big.bin", key
    held = server_uploads(info, tmp_path)
    if info["kind"] == "moto" or os.path.isdir(os.path.join(info["state"], "data")):
        assert held.get(uid, 0) >= 2, (uid, held)    # parts 1 and 2 went out before the kill
    return uid


def test_resume_aborts_upload_left_by_kill(server, tmp_path):
    info = server
    if info["kind"] == "moto" and not os.path.exists(AWS):
        pytest.skip("Debian's awscli (/usr/bin/aws) is needed to list moto's uploads")
    src = make_tree(str(tmp_path / "src"), {"big.bin": BIG, "a.txt": "small\n"})
    jid = start_and_kill(info, tmp_path, src, s3(info, "/pend1"))
    uid = check_killed_state(info, tmp_path, jid, "/pend1")
    r = run("job", "resume", jid, check=0, env=jenv(info, tmp_path))
    with open(os.path.join(job_dir(jid), "log")) as f:
        log = f.read()
    if info["kind"] == "moto":
        assert "aborted the open upload %s pend1/big.bin on s3a://%s" % (uid, info["bucket"]) \
            in log, log
        assert "aborted the open upload" in r.err, r.err
        assert uid not in server_uploads(info, tmp_path)
    else:
        # s3rver answers AbortMultipartUpload with 405 MethodNotAllowed: said, not retried
        assert "cannot abort the multipart upload %s of '/pend1/big.bin': the server does " \
            "not support AbortMultipartUpload" % uid in log, log
        assert "its parts stay on the server" in r.err, r.err
    assert open_uploads(jid) == {}          # nothing left for a later resume or clean
    back = str(tmp_path / "back")
    run(s3(info, "/pend1"), back, check=0, env=info["env"])
    assert tree(back) == tree(src)


def test_clean_aborts_upload_of_killed_job(server, tmp_path):
    info = server
    if info["kind"] == "moto" and not os.path.exists(AWS):
        pytest.skip("Debian's awscli (/usr/bin/aws) is needed to list moto's uploads")
    src = make_tree(str(tmp_path / "src"), {"big.bin": BIG})
    jid = start_and_kill(info, tmp_path, src, s3(info, "/pend2"))
    uid = check_killed_state(info, tmp_path, jid, "/pend2")
    assert run("job", "state", jid, check=0, env=jenv(info, tmp_path)).out.strip() == "KILLED"
    r = run("job", "clean", "--state", "KILLED", check=0, env=jenv(info, tmp_path))
    if info["kind"] == "moto":
        assert "job %s: aborted the open upload %s" % (jid, uid) in r.out, r.out
        assert uid not in server_uploads(info, tmp_path)
    else:
        assert "job %s: cannot abort the multipart upload %s" % (jid, uid) in r.out, r.out
    assert "removed job %s (KILLED)" % jid in r.out, r.out
    assert not os.path.exists(job_dir(jid))
    # nothing became visible under the key
    assert S.request(info, "HEAD", "/%s/pend2/big.bin" % info["bucket"]) == 404


def test_clean_keeps_job_when_server_is_gone(server, tmp_path):
    """An abort that fails for a reason worth retrying (no server) keeps the job and its
    record, so a later clean tries again; the record survives byte for byte."""
    info = server
    src = make_tree(str(tmp_path / "src"), {"big.bin": BIG})
    jid = start_and_kill(info, tmp_path, src, s3(info, "/pend3"))
    before = open_uploads(jid)
    assert len(before) == 1
    env = jenv(info, tmp_path, AWS_ENDPOINT_URL="http://127.0.0.1:%d" % S.free_port(),
               DISTCP_S3_RETRY_BASE_MS="1")
    r = run("job", "clean", "--state", "KILLED", env=env)
    assert r.returncode != 0
    assert "could not be aborted; the job is kept" in r.err, r.err
    assert "tried again later" in r.out, r.out
    assert open_uploads(jid) == before
    # with the server back, the same clean finishes
    r = run("job", "clean", "--state", "KILLED", check=0, env=jenv(info, tmp_path))
    assert "removed job %s (KILLED)" % jid in r.out, r.out
