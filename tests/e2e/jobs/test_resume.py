"""Issue 6 (jobs), Part A 7: crash-safe resume. A 20,000-file job is killed
with SIGKILL (kill -9) at several points (while listing, while copying,
while committing), then `distcp job resume ID` finishes it:
  * the target ends byte-identical to the source,
  * no temp files are left,
  * no file recorded finished in the journal is written again (checked by
    inode: distcp writes a new file under a new inode and links it in, so a
    rewrite changes the inode), and the counters add up.

The job is stopped at an exact point by the test hook DISTCP_TEST_PAUSE
(the job writes DISTCP_TEST_PAUSE_FILE and sleeps there); the test then
kills it from outside with SIGKILL, as a user or the OOM killer would.
"""
import os
import signal
import subprocess
import time

import pytest

from conftest import distcp_bin, run

NDIRS, NFILES = 100, 200          # 20,000 files


@pytest.fixture(scope="module")
def big_src(tmp_path_factory):
    root = tmp_path_factory.mktemp("big") / "src"
    for d in range(NDIRS):
        os.makedirs(root / f"d{d:03}")
        for i in range(NFILES):
            with open(root / f"d{d:03}" / f"f{i:03}", "wb") as f:
                f.write(os.urandom(32 + (d * 7 + i) % 200))
    return root


def snapshot(root):
    """{relative path: (inode, bytes)} of every file under root."""
    out = {}
    for dp, dns, fns in os.walk(root):
        for fn in fns:
            p = os.path.join(dp, fn)
            with open(p, "rb") as f:
                out[os.path.relpath(p, root)] = (os.stat(p).st_ino, f.read())
    return out


def contents(root):
    return {k: v[1] for k, v in snapshot(root).items()}


def temp_files(root):
    return [os.path.join(dp, f) for dp, _, fns in os.walk(root) for f in fns if ".distcp.tmp" in f]


def start_paused(args, point, tmp, extra_env=None):
    pause = tmp / "paused"
    env = dict(os.environ, DISTCP_TEST_PAUSE=point, DISTCP_TEST_PAUSE_FILE=str(pause),
               DISTCP_JOURNAL_INTERVAL_MS="200")
    env.pop("DISTCP_PROGRESS", None)
    if extra_env:
        env.update(extra_env)
    p = subprocess.Popen([distcp_bin(), *map(str, args)], env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    for _ in range(600):
        if pause.exists() and pause.read_text().strip():
            break
        if p.poll() is not None:
            raise AssertionError(f"job ended before the pause point: {p.communicate()}")
        time.sleep(0.05)
    else:
        p.kill()
        raise AssertionError("job never reached the pause point " + point)
    return p


def job_id_of(p_stderr):
    for line in p_stderr.splitlines():
        if line.startswith("distcp: job ") and ", run " in line:
            return line.split()[2].rstrip(",")
    raise AssertionError("no job id in: " + p_stderr)


def journal_path(jid):
    return os.path.join(os.environ["XDG_STATE_HOME"], "distcp", "jobs", jid, "journal")


def wait_journal(jid, min_bytes=16 + 8):
    """The journal is flushed in batches; wait for the first one (the test is
    about files recorded finished, so there must be some)."""
    for _ in range(600):
        p = journal_path(jid)
        if os.path.exists(p) and os.path.getsize(p) >= min_bytes:
            return
        time.sleep(0.05)
    raise AssertionError("the journal was never written")


def kill9(p):
    os.kill(p.pid, signal.SIGKILL)
    _, err = p.communicate(timeout=30)
    return err.decode()


def report_rows(jid, run_no, kind="listing"):
    import csv
    import io
    r = run("job", "report", jid, "--type", kind, "--run", run_no, check=0)
    return list(csv.DictReader(io.StringIO(r.out)))


@pytest.mark.parametrize("writer", ["tmpfile", "named-temp"])
def test_kill_while_copying_then_resume(big_src, tmp_path, writer):
    """Killed mid-copy: resume copies only what was not recorded finished."""
    dst = tmp_path / "dst"
    env = {"DISTCP_NO_TMPFILE": "1"} if writer == "named-temp" else None
    p = start_paused(["-update", big_src, dst], "copying:8000", tmp_path, env)
    err = ""
    try:
        # the newest job in the store is ours (tests run one at a time)
        out = run("job", "list", "--json", check=0).out
        import json
        jobs = json.loads(out)
        jid = str(jobs[0]["id"])
        assert jobs[0]["state"] == "COPYING"
        wait_journal(jid)
        time.sleep(0.5)          # one more flush after the pause
        before = snapshot(dst)
    finally:
        err = kill9(p)
    assert job_id_of(err) == jid
    assert run("job", "state", jid, check=0).out.strip() == "KILLED"
    assert 0 < len(before) < NDIRS * NFILES

    # a torn last batch (a crash mid-write) is ignored, not trusted
    with open(journal_path(jid), "ab") as f:
        f.write(b"DCJB" + os.urandom(40))
    r = run("job", "resume", jid, check=0)
    assert "resuming" in r.err
    assert run("job", "state", jid, check=0).out.strip() == "SUCCEEDED"
    assert contents(dst) == contents(big_src)
    assert temp_files(dst) == []
    after = snapshot(dst)

    rows = report_rows(jid, 2)
    done_earlier = {row["path"] for row in rows if row["action"] == "DONE_EARLIER" and row["type"] == "file"}
    copied = {row["path"] for row in rows if row["action"] == "COPIED"}
    assert done_earlier, "the journal recorded nothing"
    assert not (done_earlier & copied)
    for path in done_earlier:
        rel = os.path.relpath(path, big_src)
        # recorded finished before the kill: present then, never written again
        assert rel in before, rel
        assert after[rel][0] == before[rel][0], f"{rel} was written again after it was recorded finished"
    # every file is accounted for exactly once across the two runs
    assert len(done_earlier) + len(copied) == NDIRS * NFILES
    st = __import__("json").loads(run("job", "status", jid, "--json", check=0).out)
    assert st["runs"] == 2 and st["run_history"][0]["state"] == "KILLED"
    assert st["counters"]["COPY"] == len(copied)


def test_kill_while_listing_then_resume(big_src, tmp_path):
    """Killed during the listing: nothing was planned or written; resume lists
    again and copies everything."""
    dst = tmp_path / "dst"
    p = start_paused([big_src, dst], "listing:5000", tmp_path)
    err = kill9(p)
    jid = job_id_of(err)
    assert run("job", "state", jid, check=0).out.strip() == "KILLED"
    assert not dst.exists()
    r = run("job", "resume", jid, check=0)
    assert "resuming" in r.err
    assert contents(dst) == contents(big_src)
    assert temp_files(dst) == []
    assert run("job", "state", jid, check=0).out.strip() == "SUCCEEDED"


def test_kill_while_committing_then_resume(big_src, tmp_path):
    """Killed after the copy, before -delete ran: resume copies nothing again
    and finishes the deletions."""
    dst = tmp_path / "dst"
    run("-update", big_src, dst, check=0)
    # the target drifts: extra files to delete, one changed file to copy
    os.makedirs(dst / "extra")
    (dst / "extra" / "x").write_bytes(b"x")
    (dst / "stale").write_bytes(b"old")
    (big_src / "d000" / "f000").write_bytes(b"changed at the source")
    try:
        p = start_paused(["-update", "-delete", big_src, dst], "committing:1", tmp_path)
        before = snapshot(dst)
        err = kill9(p)
        jid = job_id_of(err)
        assert (dst / "stale").exists(), "deleted before the commit phase"
        assert run("job", "state", jid, check=0).out.strip() == "KILLED"
        r = run("job", "resume", jid, check=0)
        assert run("job", "state", jid, check=0).out.strip() == "SUCCEEDED"
        assert contents(dst) == contents(big_src)
        assert not (dst / "stale").exists() and not (dst / "extra").exists()
        after = snapshot(dst)
        # everything was finished before the kill: nothing is written again
        assert all(after[k][0] == before[k][0] for k in after), "a finished file was rewritten"
        rows = report_rows(jid, 2, "status")
        assert not [x for x in rows if x["status"] == "COPIED"]
        assert {os.path.basename(x["target"]) for x in rows if x["status"] == "DELETED"} == {"extra", "stale"}
        assert "Files Copied=0" in r.err
    finally:
        (big_src / "d000" / "f000").write_bytes(os.urandom(32))


def test_resume_refuses_running_and_finished(big_src, tmp_path):
    """A job that runs cannot be resumed twice; a finished one has nothing to do."""
    dst = tmp_path / "dst"
    p = start_paused([big_src, dst], "copying:100", tmp_path)
    try:
        import json
        jid = str(json.loads(run("job", "list", "--json", check=0).out)[0]["id"])
        r = run("job", "resume", jid, check=255)
        assert "cancel it first" in r.err
    finally:
        kill9(p)
    run("job", "resume", jid, check=0)
    r = run("job", "resume", jid, check=0)
    assert "nothing to resume" in r.out


def test_kill_atomic_job_then_resume(big_src, tmp_path):
    """-atomic: killed mid-copy, nothing is visible at the target; resume
    reuses the same work dir and commits it all at once."""
    dst = tmp_path / "dst"
    p = start_paused(["-atomic", big_src, dst], "copying:3000", tmp_path)
    err = kill9(p)
    jid = job_id_of(err)
    assert not dst.exists()
    wips = [d for d in os.listdir(tmp_path) if d.startswith("._WIP_")]
    assert len(wips) == 1
    run("job", "resume", jid, check=0)
    assert contents(dst) == contents(big_src)
    assert [d for d in os.listdir(tmp_path) if d.startswith("._WIP_")] == []
