"""-p letters on HDFS (spec/distcp.md B §7; issue 5) against the WebHDFS TEST SERVER
(tests/webhdfs/webhdfs_server.py):
  a  ACLs: GETACLSTATUS/SETACL, local -> HDFS -> local keeps the POSIX ACL (access and default
     entries), a file whose source has no ACL gets REMOVEACL;
  b  block size given to CREATE (HDFS -> HDFS); then both checksums are comparable and both are
     verified; without b the target gets the server's default;
  r  replication given to CREATE / SETREPLICATION;
  c  accepted: WebHDFS has no checksum-type parameter, so c means b at creation (as B §7 says
     "implies block size"). u/g/p/t/x are covered by the round-trip tests."""
import json
import os
import subprocess
import urllib.request


from conftest import make_tree, run

from webhdfsfix import server_fixture, uri  # noqa: E402


server = server_fixture("pres-root", block_size=1048576, max_seconds=600)


u = uri


def rest(info, method, path, op, **params):
    q = "&".join("%s=%s" % kv for kv in params.items())
    url = "http://127.0.0.1:%d/webhdfs/v1%s?op=%s&user.name=root%s" % (
        info["nn_port"], path, op, "&" + q if q else "")
    req = urllib.request.Request(url, method=method)
    with urllib.request.urlopen(req, timeout=10) as r:
        body = r.read()
    return json.loads(body) if body else None


def ctl(info, method, what):
    req = urllib.request.Request("http://127.0.0.1:%d/_testserver/%s" % (info["nn_port"], what),
                                 method=method)
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read() or b"{}")


def getfacl(p):
    return subprocess.run(["getfacl", "-cnpE", "--", str(p)], check=True,
                          capture_output=True, text=True).stdout


def test_acl_roundtrip(server, tmp_path):
    root, info = server
    src = make_tree(str(tmp_path / "src"), {"a": "aaa", "plain": "p", "d": {"b": "bbb"}})
    subprocess.run(["setfacl", "-m", "u:1500:r--,g:1600:rw-", os.path.join(src, "a")], check=True)
    subprocess.run(["setfacl", "-m", "u:1501:rwx", os.path.join(src, "d")], check=True)
    subprocess.run(["setfacl", "-d", "-m", "u:1502:r-x", os.path.join(src, "d")], check=True)
    run("-pa", src, u(info, "/acl"), check=0)
    st = rest(info, "GET", "/acl/a", "GETACLSTATUS")["AclStatus"]
    assert sorted(st["entries"]) == ["group:1600:rw-", "group::r--", "user:1500:r--"], st
    assert st["permission"] == "664"                  # the group bits are the mask (rw-)
    d = rest(info, "GET", "/acl/d", "GETACLSTATUS")["AclStatus"]["entries"]
    assert "user:1501:rwx" in d and "default:user:1502:r-x" in d, d
    assert rest(info, "GET", "/acl/plain", "GETACLSTATUS")["AclStatus"]["entries"] == []
    back = tmp_path / "back"
    run("-pa", u(info, "/acl"), str(back), check=0)
    for rel in ("a", "plain", "d", "d/b"):
        assert getfacl(back / rel) == getfacl(os.path.join(src, rel)), rel
    # an ACL removed at the source goes away at the target (-update re-applies -p to skips)
    subprocess.run(["setfacl", "-b", os.path.join(src, "a")], check=True)
    run("-update", "-pa", src, u(info, "/acl"), check=0)
    assert rest(info, "GET", "/acl/a", "GETACLSTATUS")["AclStatus"]["entries"] == []


def _put_file(info, path, data, **params):
    """CREATE through the test server's NameNode + DataNode with the given parameters."""
    q = "&".join("%s=%s" % kv for kv in params.items())
    url = "http://127.0.0.1:%d/webhdfs/v1%s?op=CREATE&user.name=root&overwrite=true&%s" % (
        info["nn_port"], path, q)

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *a, **k):
            return None
    opener = urllib.request.build_opener(NoRedirect)
    try:
        opener.open(urllib.request.Request(url, method="PUT"), timeout=10)
        raise AssertionError("no redirect")
    except urllib.error.HTTPError as e:
        assert e.code == 307
        loc = e.headers["Location"]
    with urllib.request.urlopen(urllib.request.Request(loc, data=data, method="PUT"),
                                timeout=10) as r:
        assert r.status == 201


def test_blocksize_and_replication(server, tmp_path):
    root, info = server
    data = os.urandom(3 * 1048576 + 1000)             # spans blocks of 1 and 2 MiB
    _put_file(info, "/pb/src/f", data, blocksize=2097152, replication=2)
    ctl(info, "DELETE", "log")
    run("-pbr", u(info, "/pb/src"), u(info, "/pb/kept"), check=0)
    st = rest(info, "GET", "/pb/kept/f", "GETFILESTATUS")["FileStatus"]
    assert (st["blockSize"], st["replication"]) == (2097152, 2)
    creates = [r for r in ctl(info, "GET", "log")["requests"]
               if r["op"] == "CREATE" and r["role"] == "nn"]
    assert creates
    # both the source's and the written temp's checksums were asked (same layout: both compared)
    sums = [r["path"] for r in ctl(info, "GET", "log")["requests"]
            if r["op"] == "GETFILECHECKSUM" and r["role"] == "nn"]
    assert "/pb/src/f" in sums and any(".distcp.tmp." in p for p in sums), sums
    assert rest(info, "GET", "/pb/kept/f", "GETFILECHECKSUM")["FileChecksum"] == \
        rest(info, "GET", "/pb/src/f", "GETFILECHECKSUM")["FileChecksum"]
    # without b and r: the server's defaults (1 MiB blocks, replication 3); the copy is still
    # verified against the source (the target's other layout is not comparable: no failure)
    run(u(info, "/pb/src"), u(info, "/pb/plain"), check=0)
    st = rest(info, "GET", "/pb/plain/f", "GETFILESTATUS")["FileStatus"]
    assert (st["blockSize"], st["replication"]) == (1048576, 3)
    assert (root / "pb" / "plain" / "f").read_bytes() == data
    # c: accepted, and implies the block size at creation
    run("-pc", u(info, "/pb/src"), u(info, "/pb/c"), check=0)
    assert rest(info, "GET", "/pb/c/f", "GETFILESTATUS")["FileStatus"]["blockSize"] == 2097152
    # -update -pr on an unchanged file re-applies replication (B §7: after copy or skip)
    rest(info, "PUT", "/pb/kept/f", "SETREPLICATION", replication=1)
    run("-update", "-pbr", u(info, "/pb/src"), u(info, "/pb/kept"), check=0)
    assert rest(info, "GET", "/pb/kept/f", "GETFILESTATUS")["FileStatus"]["replication"] == 2
