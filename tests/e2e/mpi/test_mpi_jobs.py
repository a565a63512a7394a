"""The job record of an MPI run (issue 7 with issue 6): every rank's results
reach rank 0's job record (src/mpi/mpi_rows.c), so
  - `distcp job report ID` of an MPI job lists every file once, as the threaded
    job's report does, with the same counters;
  - an MPI job killed mid-copy (SIGKILL to mpirun and its ranks) resumes with
    `distcp job resume ID`: files any rank finished and recorded before the
    kill are DONE_EARLIER and never written again (same inode), the rest are
    copied, the target ends byte-identical;
  - a rank that fails has its work reported (FAILED rows of its files), and a
    resume finishes the job.
Each test uses a job store of its own (DISTCP_JOB_STORE): ctest runs other
MPI tests side by side. Skips like test_mpi.py when MPI is missing."""
import csv
import io
import json
import os
import signal
import subprocess
import time

import pytest

from conftest import distcp_bin, faulty, make_tree, run, tree
from test_mpi import MPI_ENV, MPIRUN, asan_full_stacks, js, mpi_build, mpirun, rank_pid  # noqa: F401


def store_env(tmp, name):
    return {"DISTCP_JOB_STORE": str(tmp / name / "jobs.db")}


def only_job(env):
    jobs = json.loads(run("job", "list", "--json", env=env, check=0).out)
    assert len(jobs) == 1, jobs
    return str(jobs[0]["id"])


def report(jid, env, run_no=1, kind="status"):
    r = run("job", "report", jid, "--type", kind, "--run", run_no, env=env, check=0)
    return list(csv.DictReader(io.StringIO(r.out)))


def comparable(d):
    c = dict(d["counters"])
    for k in ("BANDWIDTH_IN_BYTES", "SLEEP_TIME_MS"):
        c.pop(k)
    return c


SPEC = {
    "a": {"x.txt": "hello", "y.bin": 100000, "e": {}, "deep": {"z": {"w": 5000}}},
    "big.bin": 2 * 1024 * 1024,
    "empty": b"",
    "many": {"d%02d" % i: {"f%03d" % k: 10 + k for k in range(30)} for i in range(20)},
}


@pytest.mark.parametrize("np", [2, 4])
@pytest.mark.parametrize("strategy", ["uniformsize", "dynamic"])
def test_report_has_every_file_once(tmp_path, np, strategy):
    src = make_tree(str(tmp_path / "src"), SPEC)
    out = {}
    for mode in ("thr", "mpi"):
        env = store_env(tmp_path, mode)
        dst = str(tmp_path / ("dst-" + mode))
        args = ["-strategy", strategy, "-m", "8", "--json", src, dst]
        p = run(*args, env=env, check=0) if mode == "thr" else mpirun(np, *args, env=env, check=0)
        jid = only_job(env)
        rows = report(jid, env)
        paths = [r["path"] for r in rows]
        assert len(paths) == len(set(paths)), "a file reported twice"
        out[mode] = (comparable(js(p)), {(r["path"].replace(dst, "D"), r["target"].replace(dst, "D"),
                                          r["status"]) for r in rows}, env, jid)
    assert out["mpi"][0] == out["thr"][0]
    assert out["mpi"][1] == out["thr"][1]
    assert sum(1 for r in out["mpi"][1] if r[2] == "COPIED") == out["mpi"][0]["COPY"] == 605
    # uniformsize gives every rank batches: the rows of other ranks' workers
    # are there, in files of their own (rows.<k>.tsv, k = job-wide worker + 1;
    # -m 8: rank 0 runs workers 0..8/np-1); dynamic may leave them idle
    env, jid = out["mpi"][2], out["mpi"][3]
    rundir = os.path.join(os.path.dirname(env["DISTCP_JOB_STORE"]), "jobs", jid, "runs", "1")
    ks = [int(n.split(".")[1]) for n in os.listdir(rundir) if n.startswith("rows.")]
    if strategy == "uniformsize":
        assert any(k > 8 // np for k in ks), ks
    # the listing report too: every entry once
    listing = report(jid, env, kind="listing")
    assert len(listing) == len({r["path"] for r in listing})
    tl = report(out["thr"][3], out["thr"][2], kind="listing")
    assert sorted(r["path"] for r in listing) == sorted(r["path"] for r in tl)


def journal_records(path, actions=None):
    """Records in a journal file (batches of a 16-byte header + 8-byte records
    {u32 seq, u8 action}), those of `actions` when given."""
    n = 0
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return 0
    off = 0
    while off + 16 <= len(data):
        count = int.from_bytes(data[off + 4:off + 8], "little")
        if off + 16 + 8 * count > len(data):
            break
        recs = data[off + 16:off + 16 + 8 * count]
        n += sum(1 for i in range(count) if actions is None or recs[8 * i + 4] in actions)
        off += 16 + 8 * count
    return n


def nfiles(root):
    return sum(len(fs) for _, _, fs in os.walk(root))


COPIED = (0, 1)       # jobrec.h: JR_COPIED, JR_APPENDED


def snapshot(root):
    out = {}
    for dp, _, fns in os.walk(root):
        for fn in fns:
            p = os.path.join(dp, fn)
            with open(p, "rb") as f:
                out[os.path.relpath(p, root)] = (os.stat(p).st_ino, f.read())
    return out


NDIRS, NFILES = 20, 100        # 2,000 files
PAUSE_AT = 40                  # rank 0's workers stop at their 40th entry


def test_killed_mpi_job_resumes(tmp_path):
    """Rank 0 stops at its 40th entry (DISTCP_TEST_PAUSE) while the other
    ranks copy the rest and ship their rows; once everything finished is
    journaled the whole MPI job is killed with SIGKILL. `job resume`
    (threaded) finds far more than rank 0's 40 entries recorded: the other
    ranks' files, never written again; it copies exactly the others."""
    src = make_tree(str(tmp_path / "src"), {"d%02d" % d: {"f%03d" % i: 32 + (d * 7 + i) % 200
                                                          for i in range(NFILES)} for d in range(NDIRS)})
    dst = str(tmp_path / "dst")
    env = dict(os.environ, **MPI_ENV, **store_env(tmp_path, "store"))
    env.pop("DISTCP_PROGRESS", None)
    pause = tmp_path / "paused"
    env.update(DISTCP_TEST_PAUSE="copying:%d" % PAUSE_AT, DISTCP_TEST_PAUSE_FILE=str(pause),
               DISTCP_JOURNAL_INTERVAL_MS="200")
    asan_full_stacks(env)
    p = subprocess.Popen([MPIRUN, "-np", "3", distcp_bin(), "-strategy", "dynamic", "-m", "6", src, dst],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    jdir = os.path.join(str(tmp_path / "store"), "jobs")
    try:
        for _ in range(1200):
            if pause.exists() and pause.read_text().strip():
                break
            assert p.poll() is None, "the job ended before the pause point: %s" % (p.communicate(),)
            time.sleep(0.05)
        else:
            raise AssertionError("rank 0 never reached the pause point")
        jid = os.listdir(jdir)[0]
        journal = os.path.join(jdir, jid, "journal")
        log = os.path.join(jdir, jid, "log")
        # rank 0 holds its batches (paused); ranks 1 and 2 copy the rest and
        # ship their rows; rank 0 logs when each has run all its batches (it
        # then waits for the end of the chunk phase, which rank 0's held
        # batches keep open); then the journal catches up
        # with everything finished: every file at the target (directories a
        # file needed were made on the way; their own entries may be among
        # rank 0's held ones)
        for _ in range(1200):
            text = open(log).read() if os.path.exists(log) else ""
            if all("rank %d on" % r in text for r in (1, 2)) and \
                    journal_records(journal, COPIED) == nfiles(dst):
                break
            assert p.poll() is None, "the job ended while rank 0 was paused: %s" % (p.communicate(),)
            time.sleep(0.05)
        else:
            raise AssertionError("the other ranks' records never reached the journal (%d of %d)"
                                 % (journal_records(journal, COPIED), nfiles(dst)))
        ranks = [rank_pid(r, distcp_bin(), dst) for r in range(3)]
        assert all(ranks), ranks
    finally:
        p.send_signal(signal.SIGKILL)
        p.communicate(timeout=60)
        for r in range(3):
            pid = rank_pid(r, distcp_bin(), dst)
            if pid:
                os.kill(pid, signal.SIGKILL)
    for _ in range(200):                      # the ranks are gone (reaped by init)
        if not any(rank_pid(r, distcp_bin(), dst) for r in range(3)):
            break
        time.sleep(0.05)
    before = snapshot(dst)
    renv = store_env(tmp_path, "store")
    assert run("job", "state", jid, env=renv, check=0).out.strip() == "KILLED"
    r = run("job", "resume", jid, env=renv, check=0)
    assert "resuming" in r.err
    assert run("job", "state", jid, env=renv, check=0).out.strip() == "SUCCEEDED"
    assert tree(dst) == tree(src)
    after = snapshot(dst)
    rows = report(jid, renv, run_no=2)
    done_earlier = {r["path"] for r in rows if r["status"] == "DONE_EARLIER"}
    files_de = {p for p in done_earlier if os.path.isfile(p)}
    copied = {r["path"] for r in rows if r["status"] == "COPIED"}
    assert not (files_de & copied)
    # far more than rank 0 alone could have finished: the other ranks' work
    assert len(files_de) > PAUSE_AT + 6, len(files_de)
    for path in files_de:
        rel = os.path.relpath(path, src)
        assert rel in before, rel
        assert after[rel][0] == before[rel][0], "%s was written again after it was recorded finished" % rel
    assert len(files_de) + len(copied) == NDIRS * NFILES


def test_failed_rank_reported_then_resume_finishes(tmp_path):
    """Rank 1 cannot read any source file: the job fails; the job report
    names the file it failed (its FAILED row reached rank 0's record), the
    files rank 0 finished are recorded, and `job resume` finishes the job."""
    src = make_tree(str(tmp_path / "src"), SPEC)
    dst = str(tmp_path / "dst")
    env = store_env(tmp_path, "store")
    m = mpirun(0, "-m", "4", "--json", faulty(src), dst, env=env,
               apps=[[], ["env", "DISTCP_FAULTY_RULES=open_read:*:err=ACCESS"]])
    assert m.returncode == 25, m.err
    jid = only_job(env)
    assert run("job", "state", jid, env=env, check=0).out.strip() == "FAILED"
    rows = report(jid, env)
    failed = [r for r in rows if r["status"] == "FAILED"]
    assert failed, rows
    assert any(r["path"] in m.err for r in failed), (failed, m.err)
    assert all(r["detail"] for r in failed)
    # resuming under mpirun is refused, clearly, and changes nothing
    mr = mpirun(2, "job", "resume", jid, env=env)
    assert mr.returncode == 255 and "not supported under mpirun" in mr.err, mr.err
    assert mr.err.count("not supported under mpirun") == 1
    assert run("job", "state", jid, env=env, check=0).out.strip() == "FAILED"
    run("job", "resume", jid, env=env, check=0)     # --json: no "resuming" line
    assert run("job", "state", jid, env=env, check=0).out.strip() == "SUCCEEDED"
    assert tree(dst) == tree(src)
    rows2 = report(jid, env, run_no=2)
    de = {r["path"] for r in rows2 if r["status"] == "DONE_EARLIER"}
    cp = {r["path"] for r in rows2 if r["status"] == "COPIED"}
    first_done = {r["path"] for r in rows if r["status"] in ("COPIED", "MKDIR", "SKIPPED", "DIR_EXISTS")}
    # what run 1 finished (on any rank) is done earlier; the failed files are copied
    assert de == first_done
    assert {r["path"] for r in failed} <= cp
