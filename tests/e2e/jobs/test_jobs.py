"""Issue 6 (jobs), spec Part A 6-7: the job store and the job commands.
submit / -async, list, state, status, log, cancel, report, clean; blocking
runs recorded; two jobs at once; azdata's spellings; a corrupted, locked or
unwritable store gives a clear error and never costs the target its data;
the schema is migrated forward; secrets never reach the store.
"""
import csv
import io
import json
import os
import sqlite3
import stat
import subprocess
import time

import pytest

from conftest import distcp_bin, faulty, make_tree, read_fault, run, tree


def store_dir():
    return os.path.join(os.environ["XDG_STATE_HOME"], "distcp")


def wait_state(jid, states, timeout=60, store=None):
    extra = ["--job-store", store] if store else []
    end = time.time() + timeout
    s = None
    while time.time() < end:
        s = run("job", "state", jid, *extra, check=0).out.strip()
        if s in states:
            return s
        time.sleep(0.05)
    raise AssertionError(f"job {jid} stayed {s}, wanted {states}")


def big_file(path, mb):
    with open(path, "wb") as f:
        for _ in range(mb):
            f.write(os.urandom(1 << 20))


def test_submit_list_state_status_log(tmp_path):
    """submit returns the id at once; the detached job's progress and result
    are visible through list, state, status and log."""
    src = make_tree(tmp_path / "src", {"a": 1000, "d": {"b": 2000, "c": "x"}})
    dst = tmp_path / "dst"
    t0 = time.time()
    p = run("submit", "-update", src, dst, check=0)
    jid = p.out.strip()
    assert jid.isdigit(), p.out
    assert "submitted" in p.err
    assert wait_state(jid, {"SUCCEEDED", "FAILED"}) == "SUCCEEDED"
    assert tree(dst) == tree(src)

    lst = json.loads(run("job", "list", "--json", check=0).out)
    mine = [j for j in lst if str(j["id"]) == jid][0]
    assert mine["state"] == "SUCCEEDED" and mine["async"] is True
    assert mine["counters"]["COPY"] == 3
    table = run("job", "list", check=0).out
    assert table.splitlines()[0].split()[:3] == ["ID", "STATE", "CREATED"]
    assert any(l.split()[0] == jid and "SUCCEEDED" in l for l in table.splitlines()[1:])

    st = run("job", "status", jid, check=0).out
    assert f"Job {jid}: SUCCEEDED" in st and "Files Copied" in st and "-update" in st
    sj = json.loads(run("job", "status", jid, "--json", check=0).out)
    assert sj["state"] == "SUCCEEDED" and sj["exit_code"] == 0 and sj["progress_percent"] == 100
    assert sj["counters"]["FILES_EXPECTED"] == 3 and sj["counters"]["BYTESCOPIED"] == 3001
    assert sj["cwd"] == os.getcwd()

    log = run("job", "log", jid, check=0).out
    assert "Files Copied=3" in log          # the detached job's own summary

    # azdata's spellings of the id
    assert run("job", "state", "-i", jid, check=0).out.strip() == "SUCCEEDED"
    assert run("job", "state", "--job-id", jid, check=0).out.strip() == "SUCCEEDED"


def test_blocking_runs_are_jobs(tmp_path):
    """A plain blocking copy is recorded too, with its counters and report."""
    src = make_tree(tmp_path / "src", {"a": 10, "b": 20})
    p = run(src, tmp_path / "dst", check=0)
    assert "distcp: job " in p.err
    lst = json.loads(run("job", "list", "--json", check=0).out)
    j = lst[0]
    assert j["state"] == "SUCCEEDED" and j["async"] is False and j["counters"]["COPY"] == 2
    assert str(tmp_path / "dst") in j["command"]
    log = run("job", "log", str(j["id"]), check=0).out
    assert "ended: SUCCEEDED" in log and "Files Copied=2" in log


def test_submit_azdata_paths_and_bad_args(tmp_path):
    """azdata's submit --from-path/--to-path; bad arguments fail at submit
    time (exit 255), before any job exists."""
    src = make_tree(tmp_path / "src", {"f": 5})
    jid = run("submit", "--from-path", src, "--to-path", tmp_path / "out", check=0).out.strip()
    assert wait_state(jid, {"SUCCEEDED", "FAILED"}) == "SUCCEEDED"
    assert (tmp_path / "out" / "f").read_bytes() == (src / "f").read_bytes()
    n = len(json.loads(run("job", "list", "--json", check=0).out))
    p = run("submit", "-nosuchflag", src, tmp_path / "x", check=255)
    assert "Invalid arguments" in p.err
    assert len(json.loads(run("job", "list", "--json", check=0).out)) == n
    assert run("job", "state", "999999", check=255).err.startswith("distcp: no job 999999")
    assert "which job" in run("job", "state", check=255).err
    assert "unknown command" in run("job", "frobnicate", check=255).err


def test_cancel_then_resume(tmp_path):
    """cancel stops the job cleanly: state CANCELLED, no partial or temp file
    visible; resume then finishes it byte-identical."""
    src = tmp_path / "src"
    os.makedirs(src)
    big_file(src / "big", 24)
    (src / "small").write_bytes(b"s" * 100)
    dst = tmp_path / "dst"
    # 1 MB/s: the big file takes ~24 s, so the cancel lands mid-file
    jid = run("submit", "-bandwidth", "1", "-m", "1", src, dst, check=0).out.strip()
    wait_state(jid, {"COPYING"})
    time.sleep(2.5)
    # a running job's status: its process, live counters, a rate and an ETA
    sj = json.loads(run("job", "status", jid, "--json", check=0).out)
    assert sj["state"] == "COPYING" and sj["pid"] > 0 and sj["host"]
    assert sj["counters"]["FILES_EXPECTED"] == 2 and sj["counters"]["BYTES_PLANNED"] == 24 * 1048576 + 100
    assert 0 < sj["progress_percent"] < 100 and sj["rate_bytes_per_second"] > 0 and sj["eta_seconds"] > 0
    assert "ETA" in run("job", "status", jid, check=0).out
    c = run("job", "cancel", jid, check=0)
    assert "cancelled" in c.out, c.out
    assert run("job", "state", jid, check=0).out.strip() == "CANCELLED"
    assert not (dst / "big").exists(), "a partial file is visible under its final name"
    leftovers = [f for dp, _, fs in os.walk(tmp_path) for f in fs if ".distcp.tmp" in f]
    assert leftovers == []
    assert "cancel" in run("job", "log", jid, check=0).out
    # a cancelled job is resumable; without the throttle override it would be slow,
    # so resume with a higher bandwidth given again (-D is accepted on resume)
    r = run("job", "resume", jid, check=0)
    assert run("job", "state", jid, check=0).out.strip() == "SUCCEEDED"
    assert tree(dst) == tree(src)
    assert "nothing to cancel" in run("job", "cancel", jid, check=0).out


def test_two_jobs_at_once(tmp_path):
    """Two submitted jobs run side by side and both finish; both were seen
    running at the same time."""
    ids = []
    for k in range(2):
        src = tmp_path / f"src{k}"
        os.makedirs(src)
        big_file(src / "f", 3)
        ids.append(run("submit", "-bandwidth", "1", src, tmp_path / f"dst{k}", check=0).out.strip())
    seen_both = False
    end = time.time() + 60
    while time.time() < end:
        states = [run("job", "state", i, check=0).out.strip() for i in ids]
        if all(s == "COPYING" for s in states):
            seen_both = True
        if all(s in ("SUCCEEDED", "FAILED") for s in states):
            break
        time.sleep(0.1)
    assert seen_both
    assert [run("job", "state", i, check=0).out.strip() for i in ids] == ["SUCCEEDED"] * 2
    for k in range(2):
        assert tree(tmp_path / f"dst{k}") == tree(tmp_path / f"src{k}")


def test_reports_csv_json_and_dry_run(tmp_path):
    """Seed 004's reports: per-file status (COPIED, SKIPPED with its reason,
    FAILED with the error, DELETED) and the listing of every entry; the dry
    run reports what would happen with the same counters."""
    src = make_tree(tmp_path / "src", {"new": 10, "same": 20, "bad": 30, "d": {"x": 5}})
    dst = make_tree(tmp_path / "dst", {"same": 20, "gone": 1})
    os.utime(dst / "same", (2e9, 2e9))          # target newer: -update skips it
    fault = read_fault(str(src / "bad"))
    dry = run("-update", "-delete", "-i", "--dry-run", *fault, faulty(src), dst, check=0)
    p = run("-update", "-delete", "-i", *fault, faulty(src), dst, check=0)
    jobs = json.loads(run("job", "list", "--json", check=0).out)
    real, dr = str(jobs[0]["id"]), str(jobs[1]["id"])
    assert jobs[1]["dry_run"] is True

    rows = list(csv.DictReader(io.StringIO(run("job", "report", real, check=0).out)))
    by = {os.path.basename(r["path"]): r for r in rows}
    assert by["new"]["status"] == "COPIED" and by["x"]["status"] == "COPIED"
    assert by["same"]["status"] == "SKIPPED" and "target not older" in by["same"]["detail"]
    assert by["bad"]["status"] == "FAILED" and "Permission denied" in by["bad"]["detail"]
    assert by["gone"]["status"] == "DELETED" and by["gone"]["target"] == str(dst / "gone")
    assert set(rows[0]) == {"path", "target", "size", "status", "detail"}

    listing = list(csv.DictReader(io.StringIO(
        run("job", "report", real, "--type", "listing", check=0).out)))
    types = {os.path.basename(r["path"]): r["type"] for r in listing}
    assert types["d"] == "directory" and types["new"] == "file"
    assert all(r["mtime"].endswith("Z") for r in listing)
    assert int([r for r in listing if r["path"].endswith("/same")][0]["size"]) == 20

    js = json.loads(run("job", "report", real, "--format", "json", check=0).out)
    assert js["job_id"] == int(real) and js["counters"]["COPY"] == 2 and js["counters"]["DELETED"] == 1
    assert {r["status"] for r in js["rows"]} == {"COPIED", "SKIPPED", "FAILED", "DELETED"}

    drows = list(csv.DictReader(io.StringIO(run("job", "report", dr, check=0).out)))
    dby = {os.path.basename(r["path"]): r["status"] for r in drows}
    assert dby["new"] == "WOULD_COPY" and dby["gone"] == "WOULD_DELETE" and dby["same"] == "SKIPPED"
    dj = json.loads(run("job", "report", dr, "--format", "json", check=0).out)
    for k in ("SKIP", "DELETED"):
        assert dj["counters"][k] == js["counters"][k], k
    # a dry run reads nothing, so the file that fails to read would be copied
    assert dj["counters"]["COPY"] == js["counters"]["COPY"] + js["counters"]["FAIL"]
    out = tmp_path / "r.csv"
    run("job", "report", real, "-o", out, check=0)
    assert out.read_text().startswith("path,target,size,status,detail")
    assert "no run 9" in run("job", "report", real, "--run", "9", check=255).err
    assert run("job", "report", real, "--format", "xml", check=255).returncode == 255


def test_clean(tmp_path):
    """clean removes finished jobs by state and age, never a running one."""
    store = str(tmp_path / "s" / "jobs.db")
    src = make_tree(tmp_path / "src", {"a": 1})
    run("--job-store", store, src, tmp_path / "d1", check=0)
    run("--job-store", store, "-f", tmp_path / "missing", tmp_path / "d2", check=25)
    lst = json.loads(run("job", "list", "--json", "--job-store", store, check=0).out)
    assert sorted(j["state"] for j in lst) == ["FAILED", "SUCCEEDED"]
    out = run("job", "clean", "--job-store", store, check=0).out
    assert "0 job(s) removed" in out             # default: older than 7 days
    out = run("job", "clean", "--job-store", store, "--state", "FAILED", "--older-than", "0s",
              "--dry-run", check=0).out
    assert "would remove" in out
    run("job", "clean", "--job-store", store, "--state", "FAILED", "--older-than", "0s", check=0)
    lst = json.loads(run("job", "list", "--json", "--job-store", store, check=0).out)
    assert [j["state"] for j in lst] == ["SUCCEEDED"]
    run("job", "clean", "--job-store", store, "--all", check=0)
    assert json.loads(run("job", "list", "--json", "--job-store", store, check=0).out) == []
    assert not os.listdir(tmp_path / "s" / "jobs")
    assert "duration" in run("job", "clean", "--older-than", "soon", check=255).err


def test_store_permissions_and_location(tmp_path):
    """Owner-only store under $XDG_STATE_HOME/distcp; DISTCP_JOB_STORE moves it."""
    src = make_tree(tmp_path / "src", {"a": 1})
    state = tmp_path / "state"
    run(src, tmp_path / "d", env={"XDG_STATE_HOME": str(state)}, check=0)
    db = state / "distcp" / "jobs.db"
    assert stat.S_IMODE(os.stat(db).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(state / "distcp").st_mode) == 0o700
    other = tmp_path / "other.db"
    run(src, tmp_path / "d2", env={"DISTCP_JOB_STORE": str(other)}, check=0)
    assert other.exists()
    with sqlite3.connect(other) as c:
        assert c.execute("PRAGMA user_version").fetchone()[0] == 2
        assert c.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_secrets_never_stored(tmp_path):
    """-D secret values and URI passwords are redacted in the store."""
    src = make_tree(tmp_path / "src", {"a": 1})
    store = tmp_path / "j.db"
    run("--job-store", store, "-D", "fs.s3a.secret.key=SuperSecret1", "-Dfs.s3a.session.token=Tok2",
        src, tmp_path / "d", check=0)
    raw = b""
    for f in os.listdir(tmp_path):
        if f.startswith("j.db"):
            raw += (tmp_path / f).read_bytes()
    assert b"SuperSecret1" not in raw and b"Tok2" not in raw
    st = run("job", "status", "1", "--json", "--job-store", store, check=0).out
    assert "SuperSecret1" not in st and "<redacted>" in st


def test_corrupted_store(tmp_path):
    """A store that is not a database: job commands fail clearly (exit 25);
    a blocking copy warns and still copies; submit refuses; the file is
    left as it was."""
    store = tmp_path / "bad.db"
    junk = b"this is not a database " * 200
    store.write_bytes(junk)
    r = run("job", "list", "--job-store", store, check=25)
    assert str(store) in r.err and "not a valid database" in r.err
    src = make_tree(tmp_path / "src", {"a": 100})
    dst = tmp_path / "dst"
    p = run("--job-store", store, src, dst, check=0)
    assert "warning" in p.err and "not recorded" in p.err
    assert tree(dst) == tree(src)
    r = run("submit", "--job-store", store, src, tmp_path / "dst2", check=25)
    assert "not a valid database" in r.err
    assert not (tmp_path / "dst2").exists()
    assert store.read_bytes() == junk


def test_locked_store(tmp_path):
    """A store locked by another process: a clear 'locked' error after the
    busy timeout, not a crash; the copy itself goes on."""
    store = tmp_path / "j.db"
    src = make_tree(tmp_path / "src", {"a": 1})
    run("--job-store", store, src, tmp_path / "d0", check=0)
    locker = subprocess.Popen(
        ["/usr/bin/python3", "-c",
         "import sqlite3,sys,time\n"
         "c=sqlite3.connect(sys.argv[1],isolation_level=None)\n"
         "c.execute('PRAGMA locking_mode=EXCLUSIVE'); c.execute('BEGIN EXCLUSIVE')\n"
         "c.execute('INSERT INTO errors VALUES (0,0,\\'x\\')')\n"
         "print('locked', flush=True); time.sleep(30)\n", str(store)],
        stdout=subprocess.PIPE)
    try:
        assert locker.stdout.readline().strip() == b"locked"
        r = run("job", "list", "--job-store", store, check=25)
        assert "locked" in r.err and str(store) in r.err
        p = run("--job-store", store, src, tmp_path / "d1", check=0)
        assert "not recorded" in p.err
        assert tree(tmp_path / "d1") == tree(src)
    finally:
        locker.kill()
        locker.wait()
    assert len(json.loads(run("job", "list", "--json", "--job-store", store, check=0).out)) == 1


def test_unwritable_store(tmp_path):
    """A store that cannot be created (its directory is a file)."""
    (tmp_path / "afile").write_text("x")
    store = tmp_path / "afile" / "jobs.db"
    r = run("job", "list", "--job-store", store, check=25)
    assert "afile" in r.err and "not a directory" in r.err
    src = make_tree(tmp_path / "src", {"a": 1})
    r = run("-async", "--job-store", store, src, tmp_path / "d", check=25)
    assert not (tmp_path / "d").exists()


def test_schema_migrated_forward_and_newer_refused(tmp_path):
    """A version-1 store is migrated to version 2 keeping its jobs; a store
    from a newer distcp is refused and left untouched."""
    old = tmp_path / "v1.db"
    with sqlite3.connect(old) as c:
        c.executescript(
            "CREATE TABLE jobs (id INTEGER PRIMARY KEY AUTOINCREMENT, state INTEGER NOT NULL,"
            " argv TEXT NOT NULL, cwd TEXT NOT NULL, host TEXT, pid INTEGER DEFAULT 0,"
            " pid_start INTEGER DEFAULT 0, boot_id TEXT, created REAL NOT NULL, started REAL DEFAULT 0,"
            " updated REAL DEFAULT 0, heartbeat REAL DEFAULT 0, ended REAL DEFAULT 0,"
            " exit_code INTEGER DEFAULT -1, runs INTEGER DEFAULT 0, async INTEGER DEFAULT 0,"
            " dry_run INTEGER DEFAULT 0, error TEXT, counters TEXT, setup TEXT);"
            "CREATE TABLE runs (job_id INTEGER NOT NULL, run INTEGER NOT NULL, started REAL,"
            " ended REAL DEFAULT 0, state INTEGER, exit_code INTEGER DEFAULT -1, dry_run INTEGER DEFAULT 0,"
            " counters TEXT, PRIMARY KEY (job_id, run));"
            "INSERT INTO jobs (state, argv, cwd, created, ended, exit_code, runs) "
            " VALUES (4, '[\"/a\", \"/b\"]', '/', 1700000000, 1700000001, 0, 1);"
            "PRAGMA user_version = 1;")
    lst = json.loads(run("job", "list", "--json", "--job-store", old, check=0).out)
    assert lst[0]["state"] == "SUCCEEDED" and lst[0]["command"] == "distcp /a /b"
    with sqlite3.connect(old) as c:
        assert c.execute("PRAGMA user_version").fetchone()[0] == 2
        c.execute("SELECT cancel_requested FROM jobs").fetchall()
    newer = tmp_path / "v99.db"
    with sqlite3.connect(newer) as c:
        c.execute("PRAGMA user_version = 99")
    before = newer.read_bytes()
    r = run("job", "list", "--job-store", newer, check=25)
    assert "newer distcp" in r.err and "99" in r.err
    assert newer.read_bytes() == before


def test_killed_job_detected(tmp_path):
    """A job whose process died (kill -9) shows KILLED and says how to resume."""
    src = make_tree(tmp_path / "src", {f"f{i}": 10 for i in range(50)})
    pause = tmp_path / "p"
    env = dict(os.environ, DISTCP_TEST_PAUSE="copying:10", DISTCP_TEST_PAUSE_FILE=str(pause))
    p = subprocess.Popen([distcp_bin(), src, tmp_path / "dst"], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    for _ in range(400):
        if pause.exists():
            break
        time.sleep(0.05)
    jid = str(json.loads(run("job", "list", "--json", check=0).out)[0]["id"])
    assert run("job", "state", jid, check=0).out.strip() == "COPYING"
    p.kill()
    p.wait()
    assert run("job", "state", jid, check=0).out.strip() == "KILLED"
    st = run("job", "status", jid, check=0).out
    assert f"distcp job resume {jid}" in st
    run("job", "resume", jid, check=0)
    assert tree(tmp_path / "dst") == tree(src)
