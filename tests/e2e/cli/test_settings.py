"""The settings table (docs/settings.md): `distcp --help-config` lists every
-D key and environment variable, and shows the value a command line would run
with; Hadoop's own defaults given explicitly are honoured (issue 12):
`-copybuffersize 8192` copies with an 8 KiB buffer and `-numListstatusThreads 1`
lists with one thread, while leaving them out keeps ours (1 MiB, 8 threads).
The engine's behaviour is observed with strace (read sizes, threads started)."""
import os
import re
import shutil
import subprocess

import pytest

from conftest import ROOT, distcp_bin, make_tree, run


def test_help_config_lists_the_table():
    p = run("--help-config", check=0)
    doc = open(os.path.join(ROOT, "docs", "settings.md")).read()
    # every -D key and environment variable of docs/settings.md is printed
    names = set(re.findall(r"`([A-Za-z_][A-Za-z0-9_.-]*)`", doc.split("## §3")[1]))
    assert len(names) > 60
    for n in names:
        if n.startswith("-"):
            continue
        assert n in p.out, n
    for n in ("distcp.copy.buffer.size", "DISTCP_WORKERS", "DISTCP_SORT_MEM_MB", "TMPDIR",
              "fs.s3a.endpoint", "AWS_PROFILE", "DISTCP_WEBHDFS_AUTH", "DISTCP_MPI_RANK_OUTPUT",
              "DISTCP_JOURNAL_INTERVAL_MS", "DISTCP_S3_RETRY_BASE_MS", "dfs.namenode.http-address"):
        assert n in p.out, n
    # the markdown form is the table of docs/settings.md
    md = run("--help-config=markdown", check=0).out
    assert md in doc


def _now(out, key):
    """The 'now' value printed under the row of key."""
    lines = out.splitlines()
    for i, line in enumerate(lines):
        if key in line.split():
            m = re.search(r"now (\S+)", lines[i + 1])
            return m.group(1) if m else None
    raise AssertionError(f"{key} not in --help-config output")


def test_help_config_shows_effective_values(tmp_path):
    make_tree(tmp_path / "src", {"a": "x"})
    args = [tmp_path / "src", tmp_path / "dst"]
    env = {"DISTCP_WORKERS": "3", "DISTCP_SORT_MEM_MB": "64"}
    p = run("--help-config", "-copybuffersize", "8192", "-numListstatusThreads", "1", *args,
            check=0, env=env)
    assert _now(p.out, "distcp.copy.buffer.size") == "8192"
    assert _now(p.out, "distcp.liststatus.threads") == "1"
    assert _now(p.out, "$DISTCP_WORKERS") == "3"
    assert _now(p.out, "$DISTCP_SORT_MEM_MB") == "64"
    p = run("--help-config", *args, check=0)
    assert _now(p.out, "distcp.copy.buffer.size") == "1048576"
    assert _now(p.out, "distcp.liststatus.threads") == "8"
    # option > -D > default
    p = run("--help-config", "-D", "distcp.copy.buffer.size=65536", *args, check=0)
    assert _now(p.out, "distcp.copy.buffer.size") == "65536"
    p = run("--help-config", "-copybuffersize", "4096", "-D", "distcp.copy.buffer.size=65536", *args,
            check=0)
    assert _now(p.out, "distcp.copy.buffer.size") == "4096"
    assert not (tmp_path / "dst").exists()      # nothing was copied


needs_strace = pytest.mark.skipif(shutil.which("strace") is None,
                                  reason="strace is not installed (observes read sizes and threads)")


def _strace(tmp_path, name, *args):
    """Run distcp under strace -f; returns the trace text."""
    tr = tmp_path / f"{name}.trace"
    dst = tmp_path / f"dst-{name}"
    p = subprocess.run(["strace", "-f", "-qq", "-e", "trace=pread64,read,clone,clone3", "-o", str(tr),
                        distcp_bin(), "--job-store", "none", "-m", "1", *[str(a) for a in args],
                        str(tmp_path / "src"), str(dst)], capture_output=True, timeout=120)
    if p.returncode != 0 and b"ptrace" in p.stderr:
        pytest.skip("strace cannot trace here: " + p.stderr.decode()[:200])
    assert p.returncode == 0, p.stderr.decode()
    assert (dst / "f").read_bytes() == (tmp_path / "src" / "f").read_bytes()
    return tr.read_text()


@needs_strace
def test_copybuffersize_hadoop_default_is_honoured(tmp_path):
    # 100 KiB: below the copy_file_range fast path, so the bytes pass through the buffer
    make_tree(tmp_path / "src", {"f": 100 * 1024})
    t = _strace(tmp_path, "explicit", "-copybuffersize", "8192")
    assert len(re.findall(r"pread64\(\d+, .*, 8192, \d+\) = 8192", t)) >= 12
    t = _strace(tmp_path, "default")
    assert not re.findall(r"pread64\(\d+, .*, 8192, \d+\) = 8192", t)
    assert re.search(r"pread64\(\d+, .*, 102401, 0\) = 102400", t)   # one read of the whole file


@needs_strace
def test_numliststatusthreads_one_is_honoured(tmp_path):
    make_tree(tmp_path / "src", {"f": "x", "d": {"g": "y"}})

    def threads(name, *args):
        return len(re.findall(r"clone3?\(", _strace(tmp_path, name, *args)))

    one = threads("one", "-numListstatusThreads", "1")
    default = threads("default")
    eight = threads("eight", "-numListstatusThreads", "8")
    assert default == eight
    assert default - one == 7
