"""End-to-end tests of the WebHDFS backend's resilience and addressing against the WebHDFS TEST
SERVER (tests/webhdfs/webhdfs_server.py):
  - retries with backoff (DISTCP_WEBHDFS_RETRY_BASE_MS=1 keeps them fast): 5xx answers, dropped
    connections, a dead DataNode and RetriableException are retried (at most 4 attempts), a 403
    AccessControlException is not;
  - HA failover: webhdfs://<standby>,<active>/ with two server instances on one namespace, the
    server's standby toggle flipped between runs; the conformance suite through the HA pair;
  - hdfs://<authority>/ mapped through -D dfs.namenode.http-address[.<authority>].
One server pair per module."""
import json
import os
import subprocess
import urllib.request

import pytest

from conftest import distcp_bin, make_tree, run, tree

from webhdfsfix import W, server_fixture, uri  # noqa: E402

FAST = {"DISTCP_WEBHDFS_RETRY_BASE_MS": "1"}


def conformance_bin():
    return os.environ.get("CONFORMANCE_BIN") or os.path.join(
        os.path.dirname(os.path.abspath(distcp_bin())), "tests", "conformance")


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """Two NameNode/DataNode servers over one namespace directory: a, b (both active)."""
    root = tmp_path_factory.mktemp("webhdfs-ha-root")
    pa, ia = W.spawn(str(root), max_seconds=900)
    try:
        pb, ib = W.spawn(str(root), max_seconds=900)
    except Exception:
        W.stop_process(pa)
        raise
    try:
        yield root, ia, ib
    finally:
        W.stop_process(pb)
        W.stop_process(pa)


def ctl(info, method, what, body=None):
    req = urllib.request.Request("http://127.0.0.1:%d/_testserver/%s" % (info["nn_port"], what),
                                 method=method,
                                 data=json.dumps(body).encode() if body is not None else None)
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read() or b"{}")


@pytest.fixture
def srv(pair):
    """The first server, faults and log cleared before and after, both servers active."""
    root, ia, ib = pair
    for i in (ia, ib):
        ctl(i, "DELETE", "faults")
        ctl(i, "DELETE", "log")
        ctl(i, "PUT", "standby?value=false")
    yield root, ia
    for i in (ia, ib):
        ctl(i, "DELETE", "faults")
        ctl(i, "PUT", "standby?value=false")




def all_met(info):
    """Every injected fault was met (used up)."""
    return all(f["count"] == 0 for f in ctl(info, "GET", "faults")["faults"])


def seen(info, op, path_prefix):
    return [r for r in ctl(info, "GET", "log")["requests"]
            if r.get("op") == op and (r.get("path") or "").startswith(path_prefix)]


@pytest.mark.parametrize("fault", [
    {"kind": "status", "status": 503, "body": "busy", "count": 2},
    {"kind": "exception", "exception": "RetriableException", "count": 3},
    {"kind": "drop", "count": 2},
])
def test_retry_namenode_faults(srv, tmp_path, fault):
    root, info = srv
    src = make_tree(str(tmp_path / "src"), {"f": 5000, "d": {"g": "gee"}})
    dst = "/retry-%s" % fault["kind"]
    ctl(info, "POST", "faults", dict(fault, op="GETFILESTATUS", role="nn", path=dst))
    run(src, uri(info, dst), check=0, env=FAST)
    assert tree(str(root / dst[1:])) == tree(src)
    assert all_met(info)


def test_retry_datanode_faults(srv, tmp_path):
    root, info = srv
    src = make_tree(str(tmp_path / "src"), {"f": 300000})
    ctl(info, "POST", "faults", [{"kind": "dead_datanode", "op": "CREATE", "role": "nn",
                                  "path": "/retry-dn"},
                                 {"kind": "status", "status": 500, "op": "CREATE", "role": "dn",
                                  "path": "/retry-dn"}])
    run(src, uri(info, "/retry-dn"), check=0, env=FAST)
    assert tree(str(root / "retry-dn")) == tree(src)
    ctl(info, "POST", "faults", [{"kind": "drop", "op": "OPEN", "role": "dn"},
                                 {"kind": "status", "status": 502, "op": "OPEN", "role": "nn"}])
    back = str(tmp_path / "back")
    run(uri(info, "/retry-dn"), back, check=0, env=FAST)
    assert tree(back) == tree(src)
    assert all_met(info)


def test_retry_bounded(srv, tmp_path):
    root, info = srv
    src = make_tree(str(tmp_path / "src"), {"f": "x"})
    ctl(info, "POST", "faults", {"kind": "status", "status": 503, "op": "GETFILESTATUS",
                                 "role": "nn", "path": "/bounded", "count": -1})
    p = run(src, uri(info, "/bounded"), env=FAST)
    assert p.returncode != 0
    n = len(seen(info, "GETFILESTATUS", "/bounded"))
    assert n % 4 == 0 and n > 0, n    # each stat: 4 attempts, then the error


def test_retry_not_multiplied(srv, tmp_path):
    """A CREATE answered 503 forever: the backend's 4 attempts, then the error; the
    engine does not retry what the backend already retried (before: 4 x 3)."""
    root, info = srv
    src = make_tree(str(tmp_path / "src"), {"f": "x"})
    ctl(info, "POST", "faults", {"kind": "status", "status": 503, "op": "CREATE",
                                 "role": "nn", "path": "/nomult", "count": -1})
    p = run(src, uri(info, "/nomult"), env=FAST)
    assert p.returncode != 0
    assert len(seen(info, "CREATE", "/nomult")) == 4


def test_no_retry_on_4xx(srv, tmp_path):
    root, info = srv
    src = make_tree(str(tmp_path / "src"), {"f": "x"})
    ctl(info, "POST", "faults", {"kind": "exception", "exception": "AccessControlException",
                                 "message": "Permission denied: injected", "op": "GETFILESTATUS",
                                 "role": "nn", "path": "/noretry", "count": -1})
    p = run(src, uri(info, "/noretry"), env=FAST)
    assert p.returncode != 0
    assert "Permission denied: injected" in p.err
    assert len(seen(info, "GETFILESTATUS", "/noretry")) == 1


def test_standby_failover(pair, srv, tmp_path):
    root, ia, ib = pair
    ha = "webhdfs://127.0.0.1:%d,127.0.0.1:%d" % (ia["nn_port"], ib["nn_port"])
    src = make_tree(str(tmp_path / "src"), {"f": 70000, "d": {"g": "gee"}, "e": {}})
    ctl(ia, "PUT", "standby?value=true")
    run("-ptp", src, ha + "/ha", check=0, env=FAST)
    assert tree(str(root / "ha")) == tree(src)
    assert seen(ia, "GETFILESTATUS", "/ha")            # tried the standby first
    assert seen(ib, "CREATE", "/ha")
    # the roles swap: a is active again, b standby
    ctl(ia, "PUT", "standby?value=false")
    ctl(ib, "PUT", "standby?value=true")
    back = str(tmp_path / "back")
    run(ha + "/ha", back, check=0, env=FAST)
    assert tree(back) == tree(src)
    # both standby: bounded, fails with the server's message
    ctl(ia, "PUT", "standby?value=true")
    p = run(ha + "/ha", str(tmp_path / "back2"), env=FAST)
    assert p.returncode != 0
    assert "StandbyException" in p.err


def test_conformance_through_ha_pair(pair, srv):
    root, ia, ib = pair
    ctl(ia, "PUT", "standby?value=true")
    b = conformance_bin()
    assert os.path.exists(b), "no conformance binary at %s (set CONFORMANCE_BIN)" % b
    env = dict(os.environ, DISTCP_TEST_WEBHDFS="127.0.0.1:%d,127.0.0.1:%d"
               % (ia["nn_port"], ib["nn_port"]), **FAST)
    p = subprocess.run([b, "webhdfs"], capture_output=True, env=env, timeout=600)
    out = p.stdout.decode("utf-8", "replace") + p.stderr.decode("utf-8", "replace")
    assert p.returncode == 0, out
    assert "[  PASSED  ]" in out, out


def test_hdfs_scheme_mapping(pair, srv, tmp_path):
    root, ia, ib = pair
    src = make_tree(str(tmp_path / "src"), {"f": 1234, "d": {"g": "gee"}})
    # one address for every hdfs:// authority
    run("-D", "dfs.namenode.http-address=127.0.0.1:%d" % ia["nn_port"], src,
        "hdfs://namenode.example:8020/viahdfs", check=0)
    assert tree(str(root / "viahdfs")) == tree(src)
    # a per-authority HA list wins over the generic key (which points nowhere)
    ctl(ia, "PUT", "standby?value=true")
    back = str(tmp_path / "back")
    run("-D", "dfs.namenode.http-address=127.0.0.1:1",
        "-D", "dfs.namenode.http-address.mycluster=127.0.0.1:%d,127.0.0.1:%d"
        % (ia["nn_port"], ib["nn_port"]),
        "hdfs://mycluster/viahdfs", back, check=0, env=FAST)
    assert tree(back) == tree(src)


# ------------------------------------------------------------------ HttpFS, Knox, TLS

SMALL = {"a.txt": "hello gateway\n", "big.bin": 2 * 1024 * 1024 + 5, "d": {"x": 4097}, "e": {},
         "odd name %+;#": "escaped\n"}


def conformance(url, env):
    b = conformance_bin()
    assert os.path.exists(b), "no conformance binary at %s (set CONFORMANCE_BIN)" % b
    e = dict(os.environ, DISTCP_TEST_WEBHDFS_URL=url, **FAST)
    e.update(env)
    p = subprocess.run([b, "webhdfs"], capture_output=True, env=e, timeout=600)
    out = p.stdout.decode("utf-8", "replace") + p.stderr.decode("utf-8", "replace")
    assert p.returncode == 0, out
    assert "[  PASSED  ]" in out, out


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    d = tmp_path_factory.mktemp("tls")
    cert, key = str(d / "cert.pem"), str(d / "key.pem")
    p = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj",
                        "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-days", "2",
                        "-keyout", key, "-out", cert], capture_output=True)
    if p.returncode != 0:
        pytest.skip("openssl cannot make a test certificate: %s" % p.stderr.decode()[-200:])
    return cert, key


httpfs = server_fixture("httpfs-root", mode="httpfs", max_seconds=900)


def test_httpfs_conformance(httpfs):
    root, info = httpfs
    conformance("webhdfs://127.0.0.1:%d" % info["nn_port"], {})
    assert [n for n in os.listdir(root) if n.startswith("distcp-conf-")] == []


@pytest.mark.parametrize("switch", [False, True])
def test_httpfs_roundtrip(httpfs, tmp_path, switch):
    root, info = httpfs
    ctl(info, "DELETE", "log")
    src = make_tree(str(tmp_path / "src"), SMALL)
    dst = "/hf-%d" % switch
    args = ["-D", "distcp.webhdfs.httpfs=true"] if switch else []
    run(*args, "-ptp", src, uri(info, dst), check=0)
    assert tree(str(root / dst[1:])) == tree(src)
    back = str(tmp_path / "back")
    run(uri(info, dst), back, check=0)
    assert tree(back) == tree(src)
    creates = seen(info, "CREATE", dst)
    # data=true in one request once HttpFS is known (from the start with the switch)
    redirects = [r for r in creates if r["status"] == 307]
    assert len(redirects) <= (0 if switch else 2), creates
    assert [r for r in creates if r["status"] == 201]


@pytest.fixture(scope="module")
def knox(tmp_path_factory, tls):
    """Two Knox gateways on one namespace: plain http and https (self-signed)."""
    root = tmp_path_factory.mktemp("knox-root")
    opts = dict(mode="knox", basic_user=["alice:s3cret pw:x"], superuser="alice",
                max_seconds=900)
    p1, i1 = W.spawn(str(root), **opts)
    try:
        p2, i2 = W.spawn(str(root), tls_cert=tls[0], tls_key=tls[1], **opts)
    except Exception:
        W.stop_process(p1)
        raise
    try:
        yield root, i1, i2
    finally:
        W.stop_process(p2)
        W.stop_process(p1)


KNOX_ENV = {"DISTCP_WEBHDFS_USER": "alice", "DISTCP_WEBHDFS_PASSWORD": "s3cret pw:x"}


def test_knox_conformance_http(knox):
    root, i1, i2 = knox
    conformance(i1["base_url"], KNOX_ENV)


def test_knox_conformance_https(knox, tls):
    root, i1, i2 = knox
    assert i2["base_url"].startswith("https://")
    conformance(i2["base_url"], dict(KNOX_ENV, DISTCP_WEBHDFS_CA_FILE=tls[0]))


def test_knox_roundtrip_azdata_env(knox, tmp_path):
    root, i1, i2 = knox
    env = {"DISTCP_AZDATA_USERNAME": "alice", "DISTCP_AZDATA_PASSWORD": "s3cret pw:x",
           "DISTCP_WEBHDFS_USER": "", "DISTCP_WEBHDFS_PASSWORD": ""}
    ctl(i1, "DELETE", "log")
    src = make_tree(str(tmp_path / "src"), SMALL)
    # whole-millisecond mtimes: HDFS keeps ms, and -update compares mtimes (see the report)
    for dp, ds, fs in os.walk(src):
        for n in fs:
            os.utime(os.path.join(dp, n), ns=(1600000000_000_000_000, 1600000000_000_000_000))
    run("-ptp", src, i1["base_url"] + "/kx", check=0, env=env)
    assert tree(str(root / "kx")) == tree(src)
    back = str(tmp_path / "back")
    run("-update", i1["base_url"] + "/kx", back, check=0, env=env)
    assert tree(back) == tree(src)
    p = run("-update", src, i1["base_url"] + "/kx", check=0, env=env)
    assert "Files Copied=0" in p.out + p.err
    reqs = ctl(i1, "GET", "log")["requests"]
    assert reqs and all(r.get("user") in (None, "alice") for r in reqs)


def test_knox_d_keys_and_bad_password(knox, tmp_path):
    root, i1, i2 = knox
    src = make_tree(str(tmp_path / "src"), {"f": "x"})
    run("-D", "fs.webhdfs.basic.user=alice", "-D", "fs.webhdfs.basic.password=s3cret pw:x",
        src, i1["base_url"] + "/kd", check=0)
    assert tree(str(root / "kd")) == tree(src)
    p = run(src, i1["base_url"] + "/kd2",
            env={"DISTCP_WEBHDFS_USER": "alice", "DISTCP_WEBHDFS_PASSWORD": "WrongSecret42"})
    assert p.returncode != 0
    assert "WrongSecret42" not in p.out + p.err
    assert "401" in p.err or "auth" in p.err.lower(), p.err


def test_https_verification(knox, tls, tmp_path):
    root, i1, i2 = knox
    src = make_tree(str(tmp_path / "src"), {"f": "tls"})
    url = i2["base_url"] + "/kt"
    # verification is on by default: a self-signed certificate is refused
    p = run(src, url, env=KNOX_ENV)
    assert p.returncode != 0
    assert "TLS" in p.err, p.err
    # the explicit switch turns it off, with a warning
    p = run("-D", "distcp.webhdfs.ssl.insecure=true", src, url, check=0, env=KNOX_ENV)
    assert "WARNING" in p.err and "verification" in p.err
    assert tree(str(root / "kt")) == tree(src)


def test_swebhdfs_roundtrip(tls, tmp_path_factory, tmp_path):
    root = tmp_path_factory.mktemp("swebhdfs-root")
    proc, info = W.spawn(str(root), tls_cert=tls[0], tls_key=tls[1], max_seconds=900)
    try:
        assert info["base_url"].startswith("https://")
        conformance("swebhdfs://127.0.0.1:%d" % info["nn_port"],
                    {"DISTCP_WEBHDFS_CA_FILE": tls[0]})
        src = make_tree(str(tmp_path / "src"), SMALL)
        u = "swebhdfs://127.0.0.1:%d/s" % info["nn_port"]
        env = {"DISTCP_WEBHDFS_CA_FILE": tls[0]}
        run(src, u, check=0, env=env)
        assert tree(str(root / "s")) == tree(src)
        back = str(tmp_path / "back")
        run(u, back, check=0, env=env)
        assert tree(back) == tree(src)
        p = run(u, str(tmp_path / "back2"), env={"DISTCP_WEBHDFS_CA_FILE": ""})
        assert p.returncode != 0 and "TLS" in p.err, p.err
    finally:
        W.stop_process(proc)
