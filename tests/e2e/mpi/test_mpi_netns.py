"""Multi-host test of the MPI mode (issue 7): three "hosts" on this machine, each a
network namespace with its own UTS hostname and address on a bridge (the test's own
copy of the tools in tests/mpi/: netns-cluster.sh, netns-rsh), mpirun started in the
first one and launching ranks on the others through the netns-rsh agent, TCP
restricted to the cluster's subnet. The namespaces share the file system, as the
hosts of a cluster share a parallel file system.
  - local -> local with 6 ranks (2 per host): the same tree, counters and exit code as
    the threaded run, and ranks on the 2nd and 3rd host did copy (-log part files);
  - local -> S3 with 6 ranks: the S3 test server (s3rver) runs inside the first
    namespace on its cluster address; the copy read back (threaded) matches the
    source byte for byte, the counters match a threaded upload, and -update then
    copies nothing.
  - a big file split across the hosts (one rank each, one throttled worker per rank):
    the chunks of one file are written by ranks on different hosts, local -> local
    (one temp file on the shared file system) and local -> S3 (one multipart upload);
    the result is byte-identical.
Everything the test creates (namespaces, server, temp dirs) is removed at the end.
Skips, saying why, where network namespaces cannot be created (not root, no
iproute2/unshare, no permission), where mpirun is missing, or distcp has no MPI."""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile

import pytest

from conftest import ROOT, distcp_bin, make_tree, run, tree

HERE = os.path.dirname(os.path.abspath(__file__))
TOOLS = os.path.join(ROOT, "tests", "mpi")
CLUSTER = os.path.join(TOOLS, "netns-cluster.sh")
MPIRUN = shutil.which("mpirun")
PREFIX = "dm%d" % (os.getpid() % 100000)
NET = "10.234.%d" % (os.getpid() % 250 + 1)
HOSTS = 3

sys.path.insert(0, os.path.join(ROOT, "tests", "s3"))
import s3server  # noqa: E402


def sh(*cmd, timeout=60, **kw):
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True,
                          timeout=timeout, **kw)


def bounded(cmd, env=None, timeout=240, stdin=None):
    """Run cmd in its own session; on timeout the whole group is killed."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                         stdin=stdin or subprocess.DEVNULL, start_new_session=True)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate()
        raise
    p.out = out.decode("utf-8", "replace")
    p.err = err.decode("utf-8", "replace")
    return p


def cannot_netns():
    if os.geteuid() != 0:
        return "network namespaces need root"
    for tool in ("ip", "unshare"):
        if not shutil.which(tool):
            return "%s is not installed (scripts/setup.sh installs iproute2, util-linux)" % tool
    probe = PREFIX + "probe"
    p = sh("ip", "netns", "add", probe)
    if p.returncode != 0:
        return "cannot create a network namespace here: " + p.stderr.strip()
    sh("ip", "netns", "del", probe)
    return None


@pytest.fixture(scope="module")
def cluster():
    why = cannot_netns()
    if why:
        pytest.skip(why)
    if not MPIRUN:
        pytest.skip("mpirun is not installed (scripts/setup.sh installs openmpi-bin)")
    work = tempfile.mkdtemp(prefix="distcp-netns-")
    try:
        up = sh("bash", CLUSTER, "up", HOSTS, PREFIX, NET)
        assert up.returncode == 0, up.stderr
        yield {"work": work}
    finally:
        sh("bash", CLUSTER, "down", PREFIX)
        left = [n for n in sh("ip", "netns", "list").stdout.split()
                if n.startswith(PREFIX)]
        shutil.rmtree(work, ignore_errors=True)
        assert not left, "namespaces left behind: %s" % left


def mpirun_cluster(work, np_per_host, args, env=None, export=()):
    """distcp under mpirun across the namespaces; returns the process."""
    e = dict(os.environ)
    e.pop("DISTCP_PROGRESS", None)
    e["NETNS_RSH_LOG"] = os.path.join(work, "rsh.log")
    e["OMPI_MCA_rmaps_base_oversubscribe"] = "1"
    e["LSAN_OPTIONS"] = "suppressions=" + os.path.join(TOOLS, "lsan.supp")
    if env:
        e.update(env)
    if "ASAN_OPTIONS" in e:    # see asan_full_stacks in test_mpi.py
        e["ASAN_OPTIONS"] += ":fast_unwind_on_malloc=0"
    hosts = ",".join("%s%d:%d" % (PREFIX, i, np_per_host) for i in range(1, HOSTS + 1))
    xs = []
    for name in ("LSAN_OPTIONS", "ASAN_OPTIONS", "UBSAN_OPTIONS", *export):
        if name in e:
            xs += ["-x", name]
    cmd = ["bash", CLUSTER, "mpirun", PREFIX, NET, "--", "--host", hosts,
           "-np", str(np_per_host * HOSTS), *xs, distcp_bin(), *[str(a) for a in args]]
    p = bounded(cmd, env=e)
    if p.returncode != 0 and "built without MPI" in p.err:
        pytest.skip("distcp was built without MPI")
    return p


def js(p):
    lines = [line for line in p.out.splitlines() if line.startswith("{")]
    assert len(lines) == 1, p.out + p.err
    d = json.loads(lines[0])
    c = d["counters"]
    for k in ("BANDWIDTH_IN_BYTES", "SLEEP_TIME_MS"):
        c.pop(k)
    return {"status": d["status"], "exit_code": d["exit_code"], "counters": c,
            "errors": d["errors"]}


def part_counts(logdir):
    out = {}
    for n in os.listdir(logdir):
        with open(os.path.join(logdir, n)) as f:
            out[int(n.split("-")[-1])] = sum(1 for line in f if line.startswith("FILE_COPIED"))
    return out


def test_local_to_local_three_hosts(cluster):
    work = cluster["work"]
    spec = {"d%02d" % i: {"f%03d" % k: 20 + k for k in range(40)} for i in range(40)}
    spec["big.bin"] = 5 * 1024 * 1024
    spec["e"] = {}
    src = make_tree(os.path.join(work, "src"), spec)
    log = os.path.join(work, "log")
    # -m 6 on 6 ranks: one worker per rank, part-m-0000r is rank r's log;
    # ranks 2,3 run on host 2 and 4,5 on host 3
    m = mpirun_cluster(work, 2, ["-v", "-m", "6", "-log", log, "--json", src,
                                 os.path.join(work, "dst-mpi")])
    assert m.returncode == 0, m.err
    t = run("-m", "6", "--json", src, os.path.join(work, "dst-thr"), check=0)
    assert js(m) == js(t)
    assert tree(os.path.join(work, "dst-mpi")) == tree(src)
    counts = part_counts(log)
    assert sum(counts.values()) == 1601
    assert all(counts.get(r, 0) > 0 for r in range(6)), counts
    with open(os.path.join(work, "rsh.log")) as f:
        launched = f.read()
    for i in (2, 3):
        assert "-> %s%d:" % (PREFIX, i) in launched, launched
    assert m.err.count("DistCp Counters") == 1


@pytest.fixture
def s3_in_ns(cluster):
    if "s3rver" not in s3server.kinds():
        pytest.skip("s3rver is not installed (scripts/setup.sh installs it into tests/s3)")
    state = os.path.join(cluster["work"], "s3")
    os.makedirs(state, exist_ok=True)
    p = subprocess.Popen(["ip", "netns", "exec", PREFIX + "1", "/usr/bin/python3",
                          os.path.join(TOOLS, "s3_in_netns.py"), state, NET + ".1", "mpibucket"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         start_new_session=True)
    try:
        line = p.stdout.readline().decode()
        assert line, "the S3 server did not start: " + p.stderr.read().decode()
        info = json.loads(line)
        assert "error" not in info, info["error"]
        yield info
    finally:
        p.stdin.close()
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()


def test_local_to_s3_three_hosts(cluster, s3_in_ns):
    work = cluster["work"]
    info = s3_in_ns
    aws = {"AWS_ACCESS_KEY_ID": info["key"], "AWS_SECRET_ACCESS_KEY": info["secret"],
           "AWS_REGION": "us-east-1"}
    d = ["-D", "fs.s3a.endpoint=" + info["endpoint"]]
    spec = {"d%d" % i: {"f%02d" % k: 100 + k * 37 for k in range(40)} for i in range(6)}
    spec["big.bin"] = 3 * 1024 * 1024
    spec["empty"] = b""
    src = make_tree(os.path.join(work, "s3src"), spec)
    dest = "s3a://%s/mpi" % info["bucket"]
    m = mpirun_cluster(work, 2, [*d, "-m", "6", "--json", src, dest], env=aws,
                       export=list(aws))
    assert m.returncode == 0, m.err

    def in_ns(*args):
        e = dict(os.environ, **aws)
        p = bounded(["ip", "netns", "exec", PREFIX + "1", distcp_bin(), *[str(a) for a in args]],
                    env=e)
        return p

    # the same upload, threaded, to another prefix: the same counters
    t = in_ns(*d, "-m", "6", "--json", src, "s3a://%s/thr" % info["bucket"])
    assert t.returncode == 0, t.err
    assert js(m) == js(t)
    back = os.path.join(work, "back")
    b = in_ns(*d, dest, back)
    assert b.returncode == 0, b.err
    assert tree(back) == tree(src)
    # nothing changed: -update over the cluster copies nothing
    u = mpirun_cluster(work, 2, [*d, "-update", "--json", src, dest], env=aws,
                       export=list(aws))
    assert u.returncode == 0, u.err
    c = js(u)["counters"]
    assert c["COPY"] == 0 and c["SKIP"] == 242


CHUNK_ENV = {"DISTCP_CHUNK_MB": "1", "DISTCP_CHUNK_MIN_MB": "1"}


def chunk_ranks(logdir, source):
    """{chunk index: rank} of one source from the -v -log CHUNK_COPIED lines."""
    out = {}
    for n in os.listdir(logdir):
        with open(os.path.join(logdir, n)) as f:
            for line in f:
                if line.startswith("CHUNK_COPIED: source=%s, " % source):
                    kv = dict(x.split("=", 1) for x in line.strip().split(": ", 1)[1].split(", "))
                    assert int(kv["chunk"]) not in out, line
                    out[int(kv["chunk"])] = int(kv["rank"])
    return out


def test_big_file_split_across_hosts(cluster):
    work = cluster["work"]
    size = 12 * 1024 * 1024 + 5
    src = make_tree(os.path.join(work, "bsrc"), {"big.bin": size, "s": {"a": 10, "b": 20}})
    log = os.path.join(work, "blog")
    dst = os.path.join(work, "bdst")
    # one rank per host, one worker each, 20 MB/s per worker
    m = mpirun_cluster(work, 1, ["-v", "-m", "3", "-bandwidth", "20", "-log", log, "--json",
                                 src, dst], env=CHUNK_ENV, export=list(CHUNK_ENV))
    assert m.returncode == 0, m.err
    assert tree(dst) == tree(src)
    assert not [f for f in os.listdir(dst) if ".distcp.tmp" in f]
    ranks = chunk_ranks(log, os.path.join(src, "big.bin"))
    assert sorted(ranks) == list(range(13)), ranks
    assert len(set(ranks.values())) > 1, ranks    # ranks r run on host r + 1


def test_big_file_to_s3_split_across_hosts(cluster, s3_in_ns):
    work = cluster["work"]
    info = s3_in_ns
    aws = {"AWS_ACCESS_KEY_ID": info["key"], "AWS_SECRET_ACCESS_KEY": info["secret"],
           "AWS_REGION": "us-east-1"}
    d = ["-D", "fs.s3a.endpoint=" + info["endpoint"]]
    size = 32 * 1024 * 1024 + 77        # four 8 MiB parts and 77 bytes
    src = make_tree(os.path.join(work, "bs3src"), {"big.bin": size, "s": {"a": 10}})
    log = os.path.join(work, "bs3log")
    env = dict(aws, **CHUNK_ENV)
    m = mpirun_cluster(work, 1, [*d, "-v", "-m", "3", "-bandwidth", "40", "-log", log,
                                 "--json", src, "s3a://%s/big" % info["bucket"]],
                       env=env, export=list(env))
    assert m.returncode == 0, m.err
    back = os.path.join(work, "bs3back")
    e = dict(os.environ, **aws)
    b = bounded(["ip", "netns", "exec", PREFIX + "1", distcp_bin(), *d,
                 "s3a://%s/big" % info["bucket"], back], env=e)
    assert b.returncode == 0, b.err
    assert tree(back) == tree(src)
    ranks = chunk_ranks(log, os.path.join(src, "big.bin"))
    assert sorted(ranks) == list(range(5)), ranks
    assert len(set(ranks.values())) > 1, ranks
