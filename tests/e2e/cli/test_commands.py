"""The command table (src/cmd/cmd.c, docs/cli.md §1, §4): dispatch and the
usage texts come from one table, so every command and job subcommand the
usage names is dispatched, and an unknown one is refused with the usage."""
import json
import re

from conftest import make_tree, run

COMMANDS = ["submit", "job", "checksum"]
JOB_SUBCOMMANDS = ["list", "state", "status", "log", "cancel", "resume", "report", "clean"]


def test_help_lists_every_command():
    out = run("--help", check=0).out
    assert out.startswith("usage: distcp OPTIONS [source_path...] <target_path>\n")
    for c in COMMANDS:
        assert f"distcp {c} " in out, c
    assert "<" + "|".join(JOB_SUBCOMMANDS) + ">" in out


def test_job_help_lists_every_subcommand():
    out = run("job", "--help", check=0).out
    assert out.startswith("usage: distcp job <command>")
    listed = re.findall(r"^  ([a-z]+) ", out, re.M)
    assert listed == JOB_SUBCOMMANDS
    p = run("job", check=255)          # no subcommand: usage on stderr
    assert p.err.startswith("usage: distcp job")


def test_every_job_subcommand_dispatches(tmp_path):
    store = tmp_path / "jobs.db"
    for sub in JOB_SUBCOMMANDS:
        p = run("job", sub, "--job-store", store, "--bogus")
        assert p.returncode == 255, sub
        assert f"distcp job {sub}: unknown argument '--bogus'" in p.err, (sub, p.err)
    p = run("job", "frobnicate", check=255)
    assert "unknown command 'frobnicate'" in p.err


def test_job_json_through_the_table(tmp_path):
    make_tree(tmp_path / "src", {"a": "hello", "d": {"b": 3000}})
    store = tmp_path / "jobs.db"
    run("--job-store", store, tmp_path / "src", tmp_path / "dst", check=0)
    jobs = json.loads(run("job", "list", "--json", "--job-store", store, check=0).out)
    assert [j["state"] for j in jobs] == ["SUCCEEDED"]
    jid = jobs[0]["id"]
    st = json.loads(run("job", "state", jid, "--json", "--job-store", store, check=0).out)
    assert st == {"id": jid, "state": "SUCCEEDED"}
    status = json.loads(run("job", "status", "-i", jid, "--json", "--job-store", store, check=0).out)
    assert status["counters"]["COPY"] == 2 and status["error"] is None
    assert status["argv"][-1].endswith("dst")
    rep = json.loads(run("job", "report", "--job-id", jid, "--format", "json", "--job-store", store,
                         check=0).out)
    assert sorted((r["path"].rsplit("/", 1)[1], r["size"], r["status"]) for r in rep["rows"]) == \
        [("a", 5, "COPIED"), ("b", 3000, "COPIED")]
    # a job id that is not there: 255
    assert run("job", "state", "999", "--job-store", store).returncode == 255
