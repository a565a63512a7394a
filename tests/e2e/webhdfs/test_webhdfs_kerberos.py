"""Kerberos (SPNEGO) and delegation tokens for WebHDFS (issue 5; spec/protocols.md §1.2).

A throw-away MIT KDC (Debian krb5-kdc / krb5-admin-server / krb5-user, installed by
scripts/setup.sh) runs in a temp dir on 127.0.0.1 with realm TEST.LOCAL; the WebHDFS TEST SERVER
(tests/webhdfs/webhdfs_server.py --user-auth kerberos) checks "Authorization: Negotiate" with
python3-gssapi against an HTTP/localhost keytab. distcp authenticates through libcurl's GSS-API
with a ticket cache (kinit) or a keytab (DISTCP_KRB5KEYTAB), fetches a delegation token once,
sends it as delegation= afterwards, renews it when the NameNode calls it invalid and cancels it
at the end. A token given by the user (DISTCP_WEBHDFS_DELEGATION_TOKEN) is sent as is."""
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request

import pytest

from conftest import make_tree, run, tree

from webhdfsfix import W  # noqa: E402

REALM = "TEST.LOCAL"
SBIN = ["/usr/sbin", "/usr/bin", "/sbin", "/bin"]


def which(name):
    for d in SBIN:
        p = os.path.join(d, name)
        if os.access(p, os.X_OK):
            return p
    return shutil.which(name)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture(scope="module")
def kdc(tmp_path_factory):
    need = {n: which(n) for n in ("krb5kdc", "kdb5_util", "kadmin.local", "kinit")}
    missing = [n for n, p in need.items() if not p]
    if missing:
        pytest.skip("MIT Kerberos tools missing (%s): scripts/setup.sh installs krb5-kdc, "
                    "krb5-admin-server, krb5-user" % ", ".join(missing))
    try:
        import gssapi  # noqa: F401  (the test server's SPNEGO side)
    except ImportError:
        pytest.skip("python3-gssapi missing: scripts/setup.sh installs it")
    d = tmp_path_factory.mktemp("kdc")
    port = free_port()
    (d / "krb5.conf").write_text(
        "[libdefaults]\n default_realm = %s\n dns_lookup_kdc = false\n dns_lookup_realm = false\n"
        " rdns = false\n udp_preference_limit = 1\n[realms]\n %s = {\n  kdc = 127.0.0.1:%d\n }\n"
        % (REALM, REALM, port))
    (d / "kdc.conf").write_text(
        "[kdcdefaults]\n kdc_listen = 127.0.0.1:%d\n kdc_tcp_listen = 127.0.0.1:%d\n"
        "[realms]\n %s = {\n  database_name = %s/principal\n  key_stash_file = %s/stash\n"
        "  acl_file = %s/kadm5.acl\n  kdc_listen = 127.0.0.1:%d\n  kdc_tcp_listen = 127.0.0.1:%d\n"
        " }\n[logging]\n kdc = FILE:%s/kdc.log\n" % (port, port, REALM, d, d, d, port, port, d))
    (d / "kadm5.acl").write_text("")
    env = dict(os.environ, KRB5_CONFIG=str(d / "krb5.conf"), KRB5_KDC_PROFILE=str(d / "kdc.conf"))
    def sh(*args):
        subprocess.run(args, env=env, check=True, capture_output=True, timeout=60)
    sh(need["kdb5_util"], "create", "-s", "-r", REALM, "-P", "masterpw")
    for princ, kt in (("user@" + REALM, "user.keytab"), ("HTTP/localhost@" + REALM, "http.keytab")):
        sh(need["kadmin.local"], "-q", "addprinc -randkey " + princ)
        sh(need["kadmin.local"], "-q", "ktadd -k %s %s" % (d / kt, princ))
    proc = subprocess.Popen([need["krb5kdc"], "-n"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        else:
            raise RuntimeError("the test KDC did not start")
        yield {"dir": d, "env": {"KRB5_CONFIG": str(d / "krb5.conf")},
               "user_keytab": str(d / "user.keytab"), "http_keytab": str(d / "http.keytab"),
               "kinit": need["kinit"]}
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def secure(kdc, tmp_path_factory):
    """A NameNode/DataNode test server that requires SPNEGO; the Kerberos user is its superuser."""
    root = tmp_path_factory.mktemp("krb-root")
    env = dict(os.environ, KRB5_KTNAME="FILE:" + kdc["http_keytab"], **kdc["env"])
    proc, info = W.spawn(str(root), user_auth="kerberos", superuser="user", max_seconds=600,
                         env=env)
    try:
        yield root, info
    finally:
        W.stop_process(proc)


def ctl(info, method, what, body=None):
    req = urllib.request.Request("http://127.0.0.1:%d/_testserver/%s" % (info["nn_port"], what),
                                 method=method,
                                 data=json.dumps(body).encode() if body is not None else None)
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read() or b"{}")


def url(info, path):
    # "localhost": SPNEGO asks for the service HTTP/<host of the URL>
    return "webhdfs://localhost:%d%s" % (info["nn_port"], path)


def test_ticket_cache(kdc, secure, tmp_path):
    root, info = secure
    cc = "FILE:%s" % (tmp_path / "ccache")
    env = dict(kdc["env"], KRB5CCNAME=cc)
    subprocess.run([kdc["kinit"], "-kt", kdc["user_keytab"], "user@" + REALM],
                   env=dict(os.environ, **env), check=True, timeout=30)
    src = make_tree(str(tmp_path / "src"), {"a": "alpha", "d": {"b": 70000}})
    ctl(info, "DELETE", "log")
    run("-D", "hadoop.security.authentication=kerberos", "-pug", src, url(info, "/k/cache"),
        check=0, env=env)
    assert tree(str(root / "k" / "cache")) == tree(src)
    log = ctl(info, "GET", "log")["requests"]
    ops = [r["op"] for r in log]
    assert ops[0] == "GETDELEGATIONTOKEN" and ops.count("GETDELEGATIONTOKEN") == 1, ops
    assert ops[-1] == "CANCELDELEGATIONTOKEN", ops
    assert all(r["user"] == "user" for r in log if r["status"] < 400), log
    back = tmp_path / "back"
    run("-D", "hadoop.security.authentication=kerberos", url(info, "/k/cache"), str(back),
        check=0, env=env)
    assert tree(str(back)) == tree(src)


def test_keytab_seed_variable(kdc, secure, tmp_path):
    """DISTCP_KRB5KEYTAB (seed 000's name) alone: no ticket cache needed."""
    root, info = secure
    src = make_tree(str(tmp_path / "src"), {"k": "keytab"})
    env = dict(kdc["env"], DISTCP_KRB5KEYTAB=kdc["user_keytab"],
               KRB5CCNAME="FILE:%s" % (tmp_path / "empty-ccache"))
    run(src, url(info, "/k/tab"), check=0, env=env)
    assert (root / "k" / "tab" / "k").read_bytes() == b"keytab"


def test_no_ticket_fails_clearly(kdc, secure, tmp_path):
    root, info = secure
    src = make_tree(str(tmp_path / "src"), {"x": "x"})
    env = dict(kdc["env"], KRB5CCNAME="FILE:%s" % (tmp_path / "none"))
    p = run("-D", "hadoop.security.authentication=kerberos", src, url(info, "/k/none"),
            check=25, env=env)
    assert "Kerberos (SPNEGO) authentication failed" in p.err and "kinit" in p.err, p.err
    assert not (root / "k" / "none").exists()
    # without Kerberos at all: the NameNode's 401 is an authentication failure, named
    p = run(src, url(info, "/k/none"), check=25, env=env)
    assert "401" in p.err
    p = run("-D", "distcp.webhdfs.kerberos.keytab=%s" % (tmp_path / "missing.keytab"), src,
            url(info, "/k/none"), check=25, env=env)
    assert "missing.keytab" in p.err


def test_token_renewed_when_invalid(kdc, secure, tmp_path):
    root, info = secure
    src = make_tree(str(tmp_path / "src"), {"r": "renew me"})
    env = dict(kdc["env"], DISTCP_KRB5KEYTAB=kdc["user_keytab"])
    ctl(info, "DELETE", "log")
    ctl(info, "POST", "faults", {"op": "MKDIRS", "role": "nn", "count": 1, "kind": "exception",
                                 "exception": "InvalidToken",
                                 "message": "token is expired"})
    try:
        run(src, url(info, "/k/renew"), check=0, env=env)
    finally:
        ctl(info, "DELETE", "faults")
    ops = [r["op"] for r in ctl(info, "GET", "log")["requests"]]
    assert "RENEWDELEGATIONTOKEN" in ops, ops
    assert (root / "k" / "renew" / "r").read_bytes() == b"renew me"
    # every token expired (the server's hook): renewed, the copy goes on
    ctl(info, "POST", "expire_tokens")
    run("-update", src, url(info, "/k/renew"), check=0, env=env)


def test_given_delegation_token(tmp_path):
    """A token from elsewhere (DISTCP_WEBHDFS_DELEGATION_TOKEN) is sent as delegation=, never
    logged, and identifies the user; no Kerberos needed."""
    root = tmp_path / "root"
    root.mkdir()
    proc, info = W.spawn(str(root), delegation_token=["tok-3f9a=alice"], superuser="alice",
                         max_seconds=300)
    try:
        src = make_tree(str(tmp_path / "src"), {"t": "token"})
        p = run(src, "webhdfs://127.0.0.1:%d/tok" % info["nn_port"], check=0,
                env={"DISTCP_WEBHDFS_DELEGATION_TOKEN": "tok-3f9a"})
        assert "tok-3f9a" not in p.out + p.err
        log = ctl(info, "GET", "log")["requests"]
        assert log and all(r["user"] == "alice" for r in log), log
        p = run(src, "webhdfs://127.0.0.1:%d/tok2" % info["nn_port"], check=25,
                env={"DISTCP_WEBHDFS_DELEGATION_TOKEN": "tok-wrong", "DISTCP_WEBHDFS_RETRY_BASE_MS": "1"})
        # the NameNode's own message is relayed (a real one names the token's identifier, not
        # its password); distcp never shows a URL that carries the token
        assert "InvalidToken" in p.err and "delegation=" not in p.err
    finally:
        W.stop_process(proc)
