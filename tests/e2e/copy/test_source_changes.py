"""Issue 2 §5 (safety): a source file that changes size or vanishes while the
job runs is a reported per-file failure, never a corrupt target. The copy is
throttled (-bandwidth) so that the change lands well inside the copy window:
the windows are seconds wide, nothing depends on fine timing."""
import os
import subprocess
import time

from conftest import counters, distcp_bin, make_tree

MiB = 1 << 20


def start(*args, env=None):
    e = dict(os.environ)
    if env:
        e.update(env)
    return subprocess.Popen([distcp_bin(), *[str(a) for a in args]],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=e)


def finish(p):
    out, err = p.communicate(timeout=120)
    p.out, p.err = out.decode(), err.decode()
    return p


def temps(root):
    return [os.path.join(dp, f) for dp, _, fs in os.walk(root) for f in fs if f.startswith(".distcp.tmp")]


def test_source_grows_during_copy(tmp):
    """The file grows while being copied (4 MiB at 1 MiB/s, 1 MiB appended
    after 1 s): the copy fails naming the file, exit 25, and nothing appears
    under the final name."""
    make_tree(tmp / "src", {"grow.bin": os.urandom(4 * MiB)})
    p = start("-bandwidth", "1", tmp / "src", tmp / "dst")
    time.sleep(1.0)
    with open(tmp / "src" / "grow.bin", "ab") as f:
        f.write(os.urandom(MiB))
    p = finish(p)
    assert p.returncode == 25, p.err
    assert "grow.bin" in p.err and "changed during the copy" in p.err, p.err
    assert not os.path.exists(tmp / "dst" / "grow.bin")
    assert temps(tmp) == []


def test_source_shrinks_during_copy(tmp):
    """Truncated while being copied: a per-file failure; with -i it is counted
    as failed and the job succeeds; the target has no partial file."""
    make_tree(tmp / "src", {"shrink.bin": os.urandom(4 * MiB), "ok.txt": "fine"})
    p = start("-i", "-m", "1", "-bandwidth", "1", tmp / "src", tmp / "dst")
    time.sleep(1.0)
    os.truncate(tmp / "src" / "shrink.bin", MiB // 2)
    p = finish(p)
    assert p.returncode == 0, p.err
    c = counters(p)
    assert c["Files Failed"] == 1 and c["Bytes Failed"] == 4 * MiB, c
    assert not os.path.exists(tmp / "dst" / "shrink.bin")
    assert (tmp / "dst" / "ok.txt").read_text() == "fine"
    assert temps(tmp) == []


def test_source_vanishes_before_its_turn(tmp):
    """One worker, sorted order: a.bin (throttled, ~3 s) then b.txt; b.txt is
    deleted after the listing. Without -i: exit 25 naming b.txt; with -i: Files
    Failed=1, exit 0; a.bin is copied intact either way."""
    for ignore in (False, True):
        d = tmp / ("i" if ignore else "n")
        data = os.urandom(3 * MiB)
        make_tree(d / "src", {"a.bin": data, "b.txt": "soon gone"})
        args = (["-i"] if ignore else []) + ["-m", "1", "-bandwidth", "1", d / "src", d / "dst"]
        p = start(*args)
        time.sleep(1.0)
        os.unlink(d / "src" / "b.txt")
        p = finish(p)
        if ignore:
            assert p.returncode == 0, p.err
            assert counters(p)["Files Failed"] == 1
        else:
            assert p.returncode == 25, p.err
            assert "b.txt" in p.err, p.err
        assert (d / "dst" / "a.bin").read_bytes() == data
        assert not os.path.exists(d / "dst" / "b.txt")


def test_stray_temp_files_of_dead_runs_are_removed(tmp):
    """Issue 2 §5: stray named temp files left by a killed run are removed by
    the next run on the same target, but only when their process is gone on
    this host: a live run's temp, another host's temp and unrelated files stay."""
    import socket
    make_tree(tmp / "src", {"a": "1"})
    dst = tmp / "dst"
    dst.mkdir()
    host = socket.gethostname()
    dead = subprocess.Popen(["true"])
    dead.wait()                                   # a pid that no longer runs
    stray = dst / (".distcp.tmp.%d.0.7.%s" % (dead.pid, host))
    live = dst / (".distcp.tmp.%d.1.2.%s" % (os.getpid(), host))
    other = dst / (".distcp.tmp.%d.0.1.%s" % (dead.pid, "some-other-host"))
    keep = dst / ".distcp.tmpx"
    for f in (stray, live, other, keep):
        f.write_bytes(b"partial")
    # -delete must not touch another run's temp files either
    p = subprocess.run([distcp_bin(), "-update", "-delete", str(tmp / "src"), str(dst)], capture_output=True)
    assert p.returncode == 0, p.stderr
    assert not stray.exists()
    assert b"stray temp file" in p.stderr
    assert live.exists() and other.exists()
    assert not keep.exists()                      # an ordinary extra file: deleted
    assert (dst / "a").read_text() == "1"
