"""Self-tests of the WebHDFS/HttpFS/Knox TEST SERVER (tests/webhdfs/webhdfs_server.py).

No HDFS can run here, so distcp's WebHDFS tests run against that stand-in; these tests check
that it behaves as protocols.md §1, §2 and §5 say, talking to it with urllib as a client would.
"""
import base64
import http.client
import json
import os
import signal
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "webhdfs"))
import webhdfs_server as W  # noqa: E402

SUPER = "hdfs"          # the superuser the fixtures configure


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **k):
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


class Reply:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def json(self):
        return json.loads(self.body)

    @property
    def location(self):
        return self.headers.get("Location")

    def remote(self):
        return self.json()["RemoteException"]

    def __repr__(self):
        return "<Reply %s %r>" % (self.status, self.body[:300])


def call(method, url, data=None, headers=None):
    req = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
    try:
        resp = _OPENER.open(req, timeout=30)
    except urllib.error.HTTPError as e:
        resp = e
    with resp:
        return Reply(resp.status, resp.headers, resp.read())


class Client:
    """A tiny WebHDFS client: base = …/webhdfs/v1."""

    def __init__(self, base, user=SUPER, auth=None):
        self.base, self.user, self.auth = base, user, auth

    def url(self, path, op, **params):
        q = [("op", op)]
        if self.user is not None:
            q.append(("user.name", self.user))
        q += [(k.replace("_", "."), str(v)) for k, v in params.items()]
        return self.base + urllib.parse.quote(path) + "?" + urllib.parse.urlencode(q)

    def headers(self, extra=None):
        h = {}
        if self.auth:
            h["Authorization"] = "Basic " + base64.b64encode(self.auth.encode()).decode()
        h.update(extra or {})
        return h

    def req(self, method, path, op, data=None, headers=None, **params):
        return call(method, self.url(path, op, **params), data, self.headers(headers))

    def follow(self, method, location, data=None, headers=None):
        return call(method, location, data, self.headers(headers))

    def create(self, path, data, **params):
        r = self.req("PUT", path, "CREATE", **params)
        assert r.status == 307, r
        r2 = self.follow("PUT", r.location, data,
                         {"Content-Type": "application/octet-stream"})
        return r, r2

    def put(self, path, data, **params):
        r, r2 = self.create(path, data, **params)
        assert r2.status == 201, r2
        return r2

    def read(self, path, **params):
        r = self.req("GET", path, "OPEN", **params)
        assert r.status == 307, r
        r2 = self.follow("GET", r.location)
        assert r2.status == 200, r2
        return r2.body

    def status(self, path):
        r = self.req("GET", path, "GETFILESTATUS")
        assert r.status == 200, r
        return r.json()["FileStatus"]

    def ok(self, method, path, op, **params):
        r = self.req(method, path, op, **params)
        assert r.status == 200, r
        return r


def assert_remote(r, status, exc, msg_part=None):
    assert r.status == status, r
    assert r.headers["Content-Type"].startswith("application/json"), r.headers
    rex = r.remote()
    assert list(rex) == ["exception", "javaClassName", "message"]     # sorted keys
    assert rex["exception"] == exc, rex
    assert rex["javaClassName"].endswith("." + exc) or rex["javaClassName"].endswith("$" + exc)
    if msg_part is not None:
        assert msg_part in rex["message"], rex
    return rex


# ------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def nn(tmp_path_factory):
    """The default mode, run as a subprocess exactly as distcp's tests will (CLI + ready file)."""
    root = tmp_path_factory.mktemp("webhdfs-root")
    proc, info = W.spawn(root, superuser=SUPER, page_size=3, max_seconds=300)
    info["root_dir"] = str(root)
    yield info
    W.stop_process(proc)


@pytest.fixture
def cl(nn):
    return Client(nn["base_url"])


def control(info, method, what, body=None):
    url = "http://127.0.0.1:%d/_testserver/%s" % (info["nn_port"], what)
    return call(method, url, json.dumps(body).encode() if body is not None else None)


@pytest.fixture(scope="module")
def httpfs(tmp_path_factory):
    srv = W.WebHdfsTestServer(tmp_path_factory.mktemp("httpfs-root"), mode="httpfs",
                              superuser=SUPER, max_seconds=300).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def knox(tmp_path_factory):
    srv = W.WebHdfsTestServer(tmp_path_factory.mktemp("knox-root"), mode="knox",
                              basic_users=["alice:secret", SUPER + ":pw"], superuser=SUPER,
                              knox_topology="bdc", max_seconds=300).start()
    yield srv
    srv.stop()


# ------------------------------------------------------------------ NameNode / DataNode (§1.3)


def test_label_and_ready_info(nn):
    assert W.__doc__.startswith("TEST SERVER — a protocol-faithful stand-in for HDFS "
                                "(WebHDFS/HttpFS/Knox) used by distcp's tests; not a file system "
                                "for real data.")
    assert nn["test_server"] is True and nn["nn_port"] != nn["dn_port"]
    assert nn["base_url"] == "http://127.0.0.1:%d/webhdfs/v1" % nn["nn_port"]


def test_create_two_steps_and_open_with_offset_length(nn, cl):
    r, r2 = cl.create("/t1/f.bin", b"0123456789", overwrite="false", blocksize=1048576,
                      replication=2, permission="640")
    assert r.status == 307 and r.body == b""
    loc = urllib.parse.urlsplit(r.location)
    assert (loc.hostname, loc.port) == ("127.0.0.1", nn["dn_port"])
    assert loc.path == "/webhdfs/v1/t1/f.bin"
    keys = [k for k, _ in urllib.parse.parse_qsl(loc.query, keep_blank_values=True)]
    assert keys[:3] == ["op", "user.name", "namenoderpcaddress"]
    assert keys[3:] == sorted(keys[3:])
    q = dict(urllib.parse.parse_qsl(loc.query, keep_blank_values=True))
    assert q["op"] == "CREATE" and q["user.name"] == SUPER and q["overwrite"] == "false"
    assert q["blocksize"] == "1048576" and q["replication"] == "2" and q["permission"] == "640"
    assert r2.status == 201 and r2.body == b""
    assert r2.location == "hdfs://127.0.0.1:8020/t1/f.bin"
    st = cl.status("/t1/f.bin")
    assert list(st) == sorted(st)
    assert (st["type"], st["length"], st["blockSize"], st["replication"], st["permission"],
            st["owner"], st["pathSuffix"]) == ("FILE", 10, 1048576, 2, "640", SUPER, "")
    # OPEN: 307 to the DataNode carrying offset/length, exact Content-Length, never 206
    r = cl.req("GET", "/t1/f.bin", "OPEN", offset=3, length=4)
    assert r.status == 307
    q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(r.location).query))
    assert (q["offset"], q["length"]) == ("3", "4")
    d = cl.follow("GET", r.location)
    assert d.status == 200 and d.body == b"3456"
    assert d.headers["Content-Type"] == "application/octet-stream"
    assert d.headers["Content-Length"] == "4"
    assert cl.read("/t1/f.bin", offset=7) == b"789"
    assert cl.read("/t1/f.bin", offset=8, length=100) == b"89"
    assert cl.read("/t1/f.bin") == b"0123456789"
    # the NameNode refuses offset >= length (non-empty file) ...
    assert_remote(cl.req("GET", "/t1/f.bin", "OPEN", offset=10), 403, "IOException",
                  "Offset=10 out of the range [0, 10)")
    # ... the DataNode alone: offset == length → empty 200, beyond → EOFException 403
    dn = "http://127.0.0.1:%d/webhdfs/v1/t1/f.bin?op=OPEN&user.name=%s&namenoderpcaddress=x" % (
        nn["dn_port"], SUPER)
    r = call("GET", dn + "&offset=10")
    assert r.status == 200 and r.body == b""
    assert_remote(call("GET", dn + "&offset=11"), 403, "EOFException", "Cannot seek after EOF")
    assert_remote(call("GET", dn.replace("&namenoderpcaddress=x", "")), 400,
                  "IllegalArgumentException", "namenoderpcaddress")
    # noredirect=true → 200 {"Location": ...}
    r = cl.req("GET", "/t1/f.bin", "OPEN", noredirect="true")
    assert r.status == 200 and list(r.json()) == ["Location"]
    assert cl.follow("GET", r.json()["Location"]).body == b"0123456789"
    r = cl.req("PUT", "/t1/g", "CREATE", noredirect="true")
    assert r.status == 200 and "/webhdfs/v1/t1/g?op=CREATE" in r.json()["Location"]
    # implicit parents of CREATE: the existing parent's permission plus u+wx
    cl.ok("PUT", "/t1/p", "MKDIRS", permission="705")
    cl.put("/t1/p/q/r/s", b"s", permission="600")
    assert cl.status("/t1/p/q")["permission"] == "705" and cl.status("/t1/p/q/r")["permission"] == "705"
    cl.ok("PUT", "/t1/p", "SETPERMISSION", permission="451")
    cl.put("/t1/p/q2/r", b"r")
    assert cl.status("/t1/p/q2")["permission"] == "751"
    # zero-byte file
    r2 = cl.put("/t1/empty", b"")
    assert cl.status("/t1/empty")["length"] == 0
    assert cl.follow("GET", cl.req("GET", "/t1/empty", "OPEN").location).body == b""


def test_create_overwrite_and_flags(cl):
    cl.put("/t2/a", b"one")
    r, r2 = cl.create("/t2/a", b"two")                     # overwrite defaults to false
    assert r.status == 307                                  # the error comes at step 2
    assert_remote(r2, 403, "FileAlreadyExistsException", "/t2/a for client 127.0.0.1 already exists")
    id1 = cl.status("/t2/a")["fileId"]
    cl.put("/t2/a", b"three", overwrite="true")
    assert cl.read("/t2/a") == b"three"
    assert cl.status("/t2/a")["fileId"] != id1                # overwrite = a new inode
    r, r2 = cl.create("/t2", b"x", overwrite="true")
    assert_remote(r2, 403, "FileAlreadyExistsException", "already exists as a directory")
    r, r2 = cl.create("/t2/nodir/x", b"x", createparent="false")
    assert_remote(r2, 404, "FileNotFoundException", "Parent directory doesn't exist: /t2/nodir")
    r, r2 = cl.create("/t2/a/under", b"x")
    assert_remote(r2, 403, "ParentNotDirectoryException", "/t2/a (is not a directory)")
    r, r2 = cl.create("/t2/bs", b"x", blocksize=1000)
    assert_remote(r2, 400, "HadoopIllegalArgumentException", "must divide block size")
    assert_remote(cl.req("PUT", "/t2/p", "CREATE", permission="999"), 400,
                  "IllegalArgumentException", 'Invalid value for webhdfs parameter "permission"')
    assert_remote(cl.req("PUT", "/t2/p", "CREATE", overwrite="maybe"), 400,
                  "IllegalArgumentException", 'Failed to parse "maybe" to Boolean.')


def test_chunked_upload_with_expect_100(nn, cl):
    r = cl.req("PUT", "/t3/chunked", "CREATE")
    loc = urllib.parse.urlsplit(r.location)
    conn = http.client.HTTPConnection("127.0.0.1", loc.port, timeout=30)
    conn.request("PUT", loc.path + "?" + loc.query, body=iter([b"abc", b"", b"defgh"]),
                 headers={"Content-Type": "application/octet-stream",
                          "Expect": "100-continue"}, encode_chunked=True)
    resp = conn.getresponse()
    resp.read()
    conn.close()
    assert resp.status == 201
    assert cl.read("/t3/chunked") == b"abcdefgh"


def test_namespace_ops(cl):
    assert cl.ok("PUT", "/t4/d/e", "MKDIRS", permission="750").json() == {"boolean": True}
    assert cl.ok("PUT", "/t4/d/e", "MKDIRS").json() == {"boolean": True}
    assert cl.status("/t4/d/e")["permission"] == "750"
    assert cl.status("/t4/d")["permission"] == "750"        # implicit parents: perm | u+wx
    st = cl.status("/t4/d/e")
    assert (st["type"], st["length"], st["blockSize"], st["replication"], st["accessTime"]) == \
        ("DIRECTORY", 0, 0, 0, 0)
    # APPEND: 307 then 200 with empty body
    cl.put("/t4/f", b"hello ")
    r = cl.req("POST", "/t4/f", "APPEND")
    assert r.status == 307 and "op=APPEND" in r.location
    r2 = cl.follow("POST", r.location, b"world", {"Content-Type": "application/octet-stream"})
    assert r2.status == 200 and r2.body == b""
    assert cl.read("/t4/f") == b"hello world"
    assert_remote(cl.req("POST", "/t4/missing", "APPEND"), 404, "FileNotFoundException",
                  "File /t4/missing not found.")
    # CONCAT: sources removed, bytes appended, same directory required
    cl.put("/t4/c1", b"AA")
    cl.put("/t4/c2", b"BB")
    r = cl.ok("POST", "/t4/f", "CONCAT", sources="/t4/c1,/t4/c2")
    assert r.body == b""
    assert cl.read("/t4/f") == b"hello worldAABB"
    assert cl.req("GET", "/t4/c1", "GETFILESTATUS").status == 404
    cl.put("/t4/d/c3", b"CC")
    assert_remote(cl.req("POST", "/t4/f", "CONCAT", sources="/t4/d/c3"), 400,
                  "HadoopIllegalArgumentException", "is not in the same directory")
    cl.put("/t4/z", b"")
    assert_remote(cl.req("POST", "/t4/f", "CONCAT", sources="/t4/z"), 400,
                  "HadoopIllegalArgumentException", "invalid or empty")
    # RENAME: old-style booleans
    assert cl.ok("PUT", "/t4/f", "RENAME", destination="/t4/g").json() == {"boolean": True}
    assert cl.ok("PUT", "/t4/nope", "RENAME", destination="/t4/h").json() == {"boolean": False}
    assert cl.ok("PUT", "/t4/g", "RENAME", destination="/t4/z").json() == {"boolean": False}
    assert cl.ok("PUT", "/t4/g", "RENAME", destination="/t4/d").json() == {"boolean": True}
    assert cl.read("/t4/d/g") == b"hello worldAABB"
    assert_remote(cl.req("PUT", "/t4/d", "RENAME", destination="/t4/d/e/x"), 403, "IOException",
                  "is a directory or file under source")
    # RENAME with renameoptions (rename2): exceptions instead of false, OVERWRITE replaces
    cl.put("/t4/r1", b"r1")
    cl.put("/t4/r2", b"r2")
    assert_remote(cl.req("PUT", "/t4/r1", "RENAME", destination="/t4/r2", renameoptions="NONE"),
                  403, "FileAlreadyExistsException", "rename destination /t4/r2 already exists.")
    r = cl.ok("PUT", "/t4/r1", "RENAME", destination="/t4/r2", renameoptions="OVERWRITE")
    assert r.body == b"" and cl.read("/t4/r2") == b"r1"
    assert_remote(cl.req("PUT", "/t4/r1", "RENAME", destination="/t4/r3", renameoptions="NONE"),
                  404, "FileNotFoundException", "rename source /t4/r1 is not found.")
    assert_remote(cl.req("PUT", "/t4/r2", "RENAME", destination="/t4/no/r", renameoptions="NONE"),
                  404, "FileNotFoundException", "rename destination parent /t4/no not found.")
    cl.ok("DELETE", "/t4/r2", "DELETE")
    # DELETE
    assert_remote(cl.req("DELETE", "/t4/d", "DELETE"), 403, "PathIsNotEmptyDirectoryException",
                  "`/t4/d is non empty': Directory is not empty")
    assert cl.ok("DELETE", "/t4/nope", "DELETE").json() == {"boolean": False}
    assert cl.ok("DELETE", "/t4/d", "DELETE", recursive="true").json() == {"boolean": True}
    assert cl.req("GET", "/t4/d", "GETFILESTATUS").status == 404
    # TRUNCATE, CONTENT SUMMARY, HOME
    assert cl.ok("POST", "/t4/z", "TRUNCATE", newlength=0).json() == {"boolean": True}
    cs = cl.ok("GET", "/t4", "GETCONTENTSUMMARY").json()["ContentSummary"]
    assert (cs["directoryCount"], cs["fileCount"], cs["length"], cs["quota"]) == (1, 1, 0, -1)
    assert cl.ok("GET", "/", "GETHOMEDIRECTORY").json() == {"Path": "/user/" + SUPER}


def test_liststatus_and_batch_paging(cl):
    names = ["e%d" % i for i in range(7)]
    for n in names:
        cl.put("/t5/" + n, n.encode())
    cl.ok("PUT", "/t5/sub", "MKDIRS")
    r = cl.ok("GET", "/t5", "LISTSTATUS")
    assert r.body.startswith(b'{"FileStatuses":{"FileStatus":[\n') and r.body.endswith(b"\n]}}\n")
    got = [e["pathSuffix"] for e in r.json()["FileStatuses"]["FileStatus"]]
    assert got == sorted(names + ["sub"])
    # LISTSTATUS_BATCH with page size 3: 8 entries → 3 pages
    pages, after = [], None
    while True:
        params = {"startAfter": after} if after else {}
        r = cl.ok("GET", "/t5", "LISTSTATUS_BATCH", **params)
        dl = r.json()["DirectoryListing"]
        assert list(dl) == ["partialListing", "remainingEntries"]
        page = dl["partialListing"]["FileStatuses"]["FileStatus"]
        pages.append(([e["pathSuffix"] for e in page], dl["remainingEntries"]))
        if dl["remainingEntries"] == 0:
            break
        after = page[-1]["pathSuffix"]
    assert pages == [(["e0", "e1", "e2"], 5), (["e3", "e4", "e5"], 2), (["e6", "sub"], 0)]
    r = cl.ok("GET", "/t5/sub", "LISTSTATUS_BATCH")
    assert r.json() == {"DirectoryListing": {"partialListing": {"FileStatuses": {
        "FileStatus": []}}, "remainingEntries": 0}}
    r = cl.ok("GET", "/t5/e1", "LISTSTATUS")      # a file lists itself with pathSuffix ""
    assert [e["pathSuffix"] for e in r.json()["FileStatuses"]["FileStatus"]] == [""]
    assert_remote(cl.req("GET", "/t5/none", "LISTSTATUS_BATCH"), 404, "FileNotFoundException",
                  "File /t5/none does not exist.")
    assert_remote(cl.req("GET", "/t5/none", "LISTSTATUS"), 404, "FileNotFoundException",
                  "File /t5/none does not exist.")


def test_error_bodies_and_status_codes(nn, cl):
    assert_remote(cl.req("GET", "/nope", "GETFILESTATUS"), 404, "FileNotFoundException",
                  "File does not exist: /nope")
    assert_remote(cl.req("GET", "/", "FOO"), 400, "IllegalArgumentException",
                  'Invalid value for webhdfs parameter "op": No enum constant '
                  "org.apache.hadoop.hdfs.web.resources.GetOpParam.Op.FOO")
    assert_remote(cl.req("GET", "/", "MKDIRS"), 400, "IllegalArgumentException",
                  "GetOpParam.Op.MKDIRS")                         # wrong method
    assert_remote(cl.req("GET", "/", "op=mkdirs".split("=")[1]), 400, "IllegalArgumentException")
    assert cl.ok("PUT", "/t6", "mkdirs").json() == {"boolean": True}   # op is case-insensitive
    assert_remote(cl.req("GET", "/t6", "OPEN", offset=-1), 400, "IllegalArgumentException",
                  "Invalid parameter range: offset = -1 < 0")
    assert_remote(cl.req("PUT", "/t6", "SETQUOTA"), 400, "UnsupportedOperationException")
    # AccessControlException: a plain user cannot write into a superuser's 755 directory
    bob = Client(nn["base_url"], user="bob")
    cl.ok("PUT", "/t6/locked", "MKDIRS", permission="755")
    r, r2 = bob.create("/t6/locked/x", b"x")
    assert_remote(r2, 403, "AccessControlException",
                  'Permission denied: user=bob, access=WRITE, inode="/t6/locked":%s:supergroup:'
                  "drwxr-xr-x" % SUPER)
    assert bob.ok("PUT", "/t6/locked", "MKDIRS").json() == {"boolean": True}   # exists
    assert_remote(bob.req("PUT", "/t6/locked/sub", "MKDIRS"), 403, "AccessControlException")
    assert_remote(bob.req("PUT", "/t6/locked", "SETOWNER", owner="bob"), 403,
                  "AccessControlException", "is not the owner")
    cl.ok("PUT", "/t6/locked", "SETPERMISSION", permission="700")
    assert_remote(bob.req("GET", "/t6/locked", "LISTSTATUS"), 403, "AccessControlException",
                  "access=READ_EXECUTE")
    # doas needs a proxy-capable (super) user; the superuser may impersonate
    assert_remote(bob.req("GET", "/", "GETHOMEDIRECTORY", doas="carol"), 403,
                  "AuthorizationException", "User: bob is not allowed to impersonate carol")
    assert cl.ok("GET", "/", "GETHOMEDIRECTORY", doas="carol").json() == {"Path": "/user/carol"}
    # the default web user when user.name is missing
    anon = Client(nn["base_url"], user=None)
    assert anon.ok("GET", "/", "GETHOMEDIRECTORY").json() == {"Path": "/user/dr.who"}
    # delegation tokens: issued, accepted, unknown ones refused
    tok = cl.ok("GET", "/", "GETDELEGATIONTOKEN").json()["Token"]["urlString"]
    r = anon.ok("GET", "/", "GETHOMEDIRECTORY", delegation=tok)
    assert r.json() == {"Path": "/user/" + SUPER}
    assert_remote(anon.req("GET", "/", "GETHOMEDIRECTORY", delegation="bogus"), 403, "InvalidToken")
    r = anon.req("PUT", "/t6/tok", "CREATE", delegation=tok)
    assert "&delegation=" + tok in r.location and "user.name" not in r.location
    assert anon.follow("PUT", r.location, b"t").status == 201
    assert cl.status("/t6/tok")["owner"] == SUPER
    # invalid names
    assert_remote(cl.req("PUT", "/t6/a:b", "MKDIRS"), 400, "InvalidPathException")
    assert_remote(cl.req("GET", "/t6/../etc", "GETFILESTATUS"), 400, "InvalidPathException")


def test_fault_injection_via_control_endpoint(nn, cl):
    cl.put("/t7/f", b"0123456789")
    r = control(nn, "POST", "faults", {"op": "GETFILESTATUS", "kind": "exception",
                                       "exception": "RetriableException", "count": 1,
                                       "message": "try again"})
    assert r.status == 200
    assert_remote(cl.req("GET", "/t7/f", "GETFILESTATUS"), 403, "RetriableException", "try again")
    assert cl.req("GET", "/t7/f", "GETFILESTATUS").status == 200
    control(nn, "POST", "faults", {"op": "OPEN", "role": "dn", "kind": "truncate", "bytes": 4})
    r = cl.req("GET", "/t7/f", "OPEN")
    with pytest.raises(http.client.IncompleteRead):
        cl.follow("GET", r.location)
    control(nn, "POST", "faults", [{"op": "MKDIRS", "kind": "exception",
                                    "exception": "SafeModeException", "message": "safe mode"},
                                   {"op": "*", "role": "nn", "path": "/t7/slow", "kind": "status",
                                    "status": 503, "body": "busy"}])
    assert_remote(cl.req("PUT", "/t7/x", "MKDIRS"), 403, "SafeModeException")
    assert cl.req("GET", "/t7/slow", "GETFILESTATUS").status == 503
    control(nn, "POST", "faults", {"op": "OPEN", "role": "nn", "kind": "dead_datanode"})
    r = cl.req("GET", "/t7/f", "OPEN")
    assert r.status == 307
    with pytest.raises(urllib.error.URLError):
        cl.follow("GET", r.location)                       # nothing listens there
    control(nn, "POST", "faults", {"op": "GETFILESTATUS", "kind": "delay", "seconds": 0.3})
    t = time.time()
    assert cl.req("GET", "/t7/f", "GETFILESTATUS").status == 200
    assert time.time() - t >= 0.3
    control(nn, "DELETE", "faults")
    log = control(nn, "GET", "log").json()["requests"]
    assert any(e["op"] == "OPEN" and e["role"] == "dn" for e in log)


def test_xattrs_acls_and_preservable_attributes(nn, cl):
    cl.put("/t8/f", b"data")
    cl.ok("PUT", "/t8/f", "SETPERMISSION", permission="600")
    cl.ok("PUT", "/t8/f", "SETOWNER", owner="alice", group="staff")
    cl.ok("PUT", "/t8/f", "SETTIMES", modificationtime=1500000000123, accesstime=1500000000456)
    assert cl.ok("PUT", "/t8/f", "SETREPLICATION", replication=5).json() == {"boolean": True}
    assert cl.ok("PUT", "/t8", "SETREPLICATION", replication=5).json() == {"boolean": False}
    st = cl.status("/t8/f")
    assert (st["permission"], st["owner"], st["group"], st["modificationTime"],
            st["accessTime"], st["replication"]) == ("600", "alice", "staff", 1500000000123,
                                                     1500000000456, 5)
    assert_remote(cl.req("PUT", "/t8/f", "SETOWNER"), 400, "IllegalArgumentException",
                  "Both owner and group are empty.")
    # xattrs
    cl.ok("PUT", "/t8/f", "SETXATTR", xattr_name="user.a", xattr_value='"abc"', flag="CREATE")
    cl.ok("PUT", "/t8/f", "SETXATTR", xattr_name="user.b", xattr_value="0x0102", flag="CREATE")
    assert_remote(cl.req("PUT", "/t8/f", "SETXATTR", xattr_name="user.a", xattr_value='"x"',
                         flag="CREATE"), 403, "IOException", "already exists")
    r = cl.ok("GET", "/t8/f", "GETXATTRS", encoding="hex")
    assert r.json() == {"XAttrs": [{"name": "user.a", "value": "0x616263"},
                                   {"name": "user.b", "value": "0x0102"}]}
    r = cl.ok("GET", "/t8/f", "GETXATTRS", xattr_name="user.a", encoding="text")
    assert r.json() == {"XAttrs": [{"name": "user.a", "value": '"abc"'}]}
    r = cl.ok("GET", "/t8/f", "GETXATTRS", xattr_name="user.b", encoding="base64")
    assert r.json()["XAttrs"][0]["value"] == "0sAQI="
    assert cl.ok("GET", "/t8/f", "LISTXATTRS").json() == {"XAttrNames": '["user.a","user.b"]'}
    cl.ok("PUT", "/t8/f", "REMOVEXATTR", xattr_name="user.a")
    assert_remote(cl.req("GET", "/t8/f", "GETXATTRS", xattr_name="user.a"), 403, "IOException",
                  "At least one of the attributes provided was not found.")
    # ACLs
    cl.ok("PUT", "/t8/f", "SETACL", aclspec="user::rw-,user:bob:r--,group::r--,other::---")
    acl = cl.ok("GET", "/t8/f", "GETACLSTATUS").json()["AclStatus"]
    assert acl == {"entries": ["user:bob:r--", "group::r--"], "group": "staff",
                   "owner": "alice", "permission": "640", "stickyBit": False}
    assert cl.status("/t8/f").get("aclBit") is True
    bob = Client(nn["base_url"], user="bob")
    assert bob.read("/t8/f") == b"data"                   # the named entry lets bob read
    assert_remote(cl.req("PUT", "/t8/f", "SETACL", aclspec="user:bob:r--"), 403, "AclException",
                  "the user, group and other entries are required")
    cl.ok("PUT", "/t8/f", "REMOVEACL")
    acl = cl.ok("GET", "/t8/f", "GETACLSTATUS").json()["AclStatus"]
    assert acl["entries"] == [] and acl["permission"] == "640"
    assert "aclBit" not in cl.status("/t8/f")


# ------------------------------------------------------------------ checksums (§2.4)


def test_getfilechecksum_worked_examples(nn, cl):
    cases = [
        (b"", "MD5-of-0MD5-of-0CRC32",
         "00000000" "0000000000000000" "70bc8f4b72a86921468bf8e8441dce51"),
        (b"world\n", "MD5-of-0MD5-of-512CRC32C",
         "00000200" "0000000000000000" "a74dcf6d5ba98e50ae0182c9d5d886fe"),
        (b"world", "MD5-of-0MD5-of-512CRC32C",
         "00000200" "0000000000000000" "05a157db1cc7549c82ec6f31f63fdb46"),
    ]
    for i, (data, algo, hexbytes) in enumerate(cases):
        cl.put("/ck/f%d" % i, data)
        r = cl.req("GET", "/ck/f%d" % i, "GETFILECHECKSUM")
        assert r.status == 307 and "op=GETFILECHECKSUM" in r.location     # via the DataNode
        d = cl.follow("GET", r.location)
        assert d.status == 200
        assert d.body == ('{"FileChecksum":{"algorithm":"%s","bytes":"%s","length":28}}'
                          % (algo, hexbytes)).encode()
    # the big zero-filled examples (sparse files placed straight into the root)
    root = nn["root_dir"]
    for name, size, algo, tail in (
            ("z1", 134217727, "MD5-of-0MD5-of-512CRC32C", "1cf326bae8274fd824ec69ece3e4082f"),
            ("z2", 153600000, "MD5-of-262144MD5-of-512CRC32C",
             "7d04ac8132ad64988f7ba4d819cbde62")):
        with open(os.path.join(root, "ck", name), "wb") as f:
            f.truncate(size)
        d = cl.follow("GET", cl.req("GET", "/ck/" + name, "GETFILECHECKSUM").location).json()
        assert d["FileChecksum"]["algorithm"] == algo
        assert d["FileChecksum"]["bytes"].endswith(tail)
        os.unlink(os.path.join(root, "ck", name))
    assert d["FileChecksum"]["bytes"].startswith("00000200" "0000000000040000")


def test_checksum_library_and_block_layouts(tmp_path):
    assert W.crc32c(b"123456789") == 0xE3069283
    assert W.crc32(b"123456789") == 0xCBF43926
    assert W.crc32c(b"world\n") == 0xD4AD7373
    # a multi-block file through a server configured with small blocks; CONCAT keeps the
    # sources' block boundaries (irregular layout), so the checksum differs from a fresh write
    with W.WebHdfsTestServer(tmp_path / "r", block_size=1024, bytes_per_checksum=512,
                             superuser=SUPER, max_seconds=60) as srv:
        c = Client(srv.base_url)
        data = bytes(range(256)) * 10                          # 2560 bytes: blocks 1024,1024,512
        c.put("/a", data)
        ck = c.follow("GET", c.req("GET", "/a", "GETFILECHECKSUM").location).json()
        algo, raw = W.md5md5crc_checksum(__import__("io").BytesIO(data), [1024, 1024, 512])
        assert ck["FileChecksum"] == {"algorithm": algo, "bytes": raw.hex(), "length": 28}
        assert algo == "MD5-of-2MD5-of-512CRC32C"
        c.put("/b", data[:1500])
        c.put("/b2", data[1500:])
        c.ok("POST", "/b", "CONCAT", sources="/b2")
        ck2 = c.follow("GET", c.req("GET", "/b", "GETFILECHECKSUM").location).json()
        _, raw2 = W.md5md5crc_checksum(__import__("io").BytesIO(data), [1024, 476, 1024, 36])
        assert ck2["FileChecksum"]["bytes"] == raw2.hex() != raw.hex()
    with W.WebHdfsTestServer(tmp_path / "r2", combine_mode="COMPOSITE_CRC", superuser=SUPER,
                             max_seconds=60) as srv:
        c = Client(srv.base_url)
        c.put("/w", b"world\n")
        ck = c.follow("GET", c.req("GET", "/w", "GETFILECHECKSUM").location).json()
        assert ck == {"FileChecksum": {"algorithm": "COMPOSITE-CRC32C", "bytes": "d4ad7373",
                                       "length": 4}}


# ------------------------------------------------------------------ snapshots


def test_snapshots_diff_and_reads(nn, cl):
    cl.ok("PUT", "/s/d", "MKDIRS")
    cl.put("/s/d/keep", b"k")
    cl.put("/s/d/mod", b"m1")
    cl.put("/s/d/gone", b"g")
    cl.put("/s/d/old", b"o")
    assert_remote(cl.req("PUT", "/s/d", "CREATESNAPSHOT", snapshotname="s0"), 403,
                  "SnapshotException", "Directory is not a snapshottable directory: /s/d")
    cl.ok("PUT", "/s/d", "ALLOWSNAPSHOT")
    assert cl.status("/s/d").get("snapshotEnabled") is True
    r = cl.ok("PUT", "/s/d", "CREATESNAPSHOT", snapshotname="s1")
    assert r.json() == {"Path": "/s/d/.snapshot/s1"}
    assert_remote(cl.req("PUT", "/s/d", "CREATESNAPSHOT", snapshotname="s1"), 403,
                  "SnapshotException", "there is already a snapshot with the same name")
    # changes
    cl.put("/s/d/new", b"n")
    cl.ok("DELETE", "/s/d/gone", "DELETE")
    cl.ok("PUT", "/s/d/old", "RENAME", destination="/s/d/renamed")
    r = cl.req("POST", "/s/d/mod", "APPEND")
    assert cl.follow("POST", r.location, b"+").status == 200
    cl.ok("PUT", "/s/d", "CREATESNAPSHOT", snapshotname="s2")
    rep = cl.ok("GET", "/s/d", "GETSNAPSHOTDIFF", oldsnapshotname="s1",
                snapshotname="s2").json()["SnapshotDiffReport"]
    assert list(rep) == ["diffList", "fromSnapshot", "snapshotRoot", "toSnapshot"]
    assert (rep["fromSnapshot"], rep["toSnapshot"], rep["snapshotRoot"]) == ("s1", "s2", "/s/d")
    got = sorted((e["type"], e["sourcePath"], e.get("targetPath")) for e in rep["diffList"])
    assert got == sorted([("MODIFY", "", None), ("CREATE", "new", None),
                          ("DELETE", "gone", None), ("RENAME", "old", "renamed"),
                          ("MODIFY", "mod", None)])
    for e in rep["diffList"]:
        assert ("targetPath" in e) == (e["type"] == "RENAME")
    # against the current state ("" = now)
    cl.put("/s/d/later", b"l")
    rep = cl.ok("GET", "/s/d", "GETSNAPSHOTDIFF", oldsnapshotname="s2",
                snapshotname="").json()["SnapshotDiffReport"]
    assert ("CREATE", "later") in [(e["type"], e["sourcePath"]) for e in rep["diffList"]]
    # reads from /.snapshot
    assert cl.read("/s/d/.snapshot/s1/mod") == b"m1"
    assert cl.read("/s/d/.snapshot/s1/gone") == b"g"
    assert cl.read("/s/d/mod") == b"m1+"
    names = [e["pathSuffix"] for e in
             cl.ok("GET", "/s/d/.snapshot", "LISTSTATUS").json()["FileStatuses"]["FileStatus"]]
    assert names == ["s1", "s2"]
    dl = cl.ok("GET", "/s/d/.snapshot/s1", "LISTSTATUS_BATCH").json()["DirectoryListing"]
    assert [e["pathSuffix"] for e in dl["partialListing"]["FileStatuses"]["FileStatus"]] == \
        ["gone", "keep", "mod"] and dl["remainingEntries"] == 1
    ck_old = cl.follow("GET", cl.req("GET", "/s/d/.snapshot/s1/keep", "GETFILECHECKSUM").location)
    assert ck_old.status == 200
    assert_remote(cl.req("PUT", "/s/d/.snapshot/s1/x", "MKDIRS"), 403,
                  "SnapshotAccessControlException", "read-only snapshot")
    assert_remote(cl.req("GET", "/s/d", "GETSNAPSHOTDIFF", oldsnapshotname="s9",
                         snapshotname="s2"), 403, "SnapshotException", "Cannot find the snapshot")
    # list, rename, delete
    lst = cl.ok("GET", "/", "GETSNAPSHOTTABLEDIRECTORYLIST").json()["SnapshottableDirectoryList"]
    assert [(e["parentFullPath"], e["dirStatus"]["pathSuffix"], e["snapshotNumber"],
             e["snapshotQuota"]) for e in lst] == [("/s", "d", 2, 65536)]
    assert_remote(cl.req("DELETE", "/s/d", "DELETE", recursive="true"), 403, "SnapshotException",
                  "snapshottable and already has snapshots")
    cl.ok("PUT", "/s/d", "RENAMESNAPSHOT", oldsnapshotname="s1", snapshotname="first")
    assert cl.read("/s/d/.snapshot/first/gone") == b"g"
    cl.ok("DELETE", "/s/d", "DELETESNAPSHOT", snapshotname="first")
    cl.ok("DELETE", "/s/d", "DELETESNAPSHOT", snapshotname="s2")
    assert_remote(cl.req("DELETE", "/s/d", "DELETESNAPSHOT", snapshotname="s2"), 403,
                  "SnapshotException", "the snapshot does not exist")
    cl.ok("PUT", "/s/d", "DISALLOWSNAPSHOT")
    r = cl.ok("GET", "/", "GETSNAPSHOTTABLEDIRECTORYLIST")
    assert r.json() == {"SnapshottableDirectoryList": None}


# ------------------------------------------------------------------ HttpFS (§1.6)


def test_httpfs_data_path_and_content_type(httpfs):
    c = Client(httpfs.base_url)
    assert httpfs.dn_port is None
    # CREATE without data=true: 307 to the same HttpFS URL with data=true, noredirect removed
    r = c.req("PUT", "/h/f", "CREATE", overwrite="false")
    assert r.status == 307
    loc = urllib.parse.urlsplit(r.location)
    assert loc.port == httpfs.nn_port and loc.path == "/webhdfs/v1/h/f"
    assert dict(urllib.parse.parse_qsl(loc.query))["data"] == "true"
    r = c.req("PUT", "/h/f", "CREATE", noredirect="true")
    assert r.status == 200 and "noredirect" not in r.json()["Location"]
    assert "data=true" in r.json()["Location"]
    # data=true: the Content-Type must be exactly application/octet-stream
    u = urllib.parse.urlsplit(c.url("/h/f", "CREATE", data="true"))
    for ctype in (None, "application/octet-stream; charset=utf-8", "text/plain",
                  "application/x-www-form-urlencoded"):
        conn = http.client.HTTPConnection("127.0.0.1", httpfs.nn_port, timeout=30)
        conn.putrequest("PUT", u.path + "?" + u.query, skip_accept_encoding=True)
        if ctype:
            conn.putheader("Content-Type", ctype)
        conn.putheader("Content-Length", "1")
        conn.endheaders(b"x")
        resp = conn.getresponse()
        body, status = resp.read(), resp.status
        conn.close()
        assert status == 400, (ctype, body)
        assert b"Data upload requests must have content-type set to " \
               b"'application/octet-stream'" in body
    assert c.req("GET", "/h/f", "GETFILESTATUS").status == 404       # nothing was created
    r = call("PUT", c.url("/h/f", "CREATE", data="true"), b"hello",
             {"Content-Type": "APPLICATION/OCTET-STREAM"})       # case-insensitive equality
    assert r.status == 201
    assert r.location == "http://127.0.0.1:%d/webhdfs/v1/h/f" % httpfs.nn_port
    assert r.json() == {"Location": r.location}
    # OPEN answers the bytes itself; offset/length honoured
    r = c.req("GET", "/h/f", "OPEN", offset=1, length=3)
    assert r.status == 200 and r.body == b"ell"
    assert r.headers["Content-Type"] == "application/octet-stream"
    # HttpFS defaults: overwrite=true, permission 755 minus umask 022
    r = call("PUT", c.url("/h/f", "CREATE", data="true"), b"HELLO",
             {"Content-Type": "application/octet-stream"})
    assert r.status == 201 and c.req("GET", "/h/f", "OPEN").body == b"HELLO"
    assert c.status("/h/f")["permission"] == "755"
    # APPEND with data=true → 200
    r = call("POST", c.url("/h/f", "APPEND", data="true"), b"!",
             {"Content-Type": "application/octet-stream"})
    assert r.status == 200
    assert c.req("GET", "/h/f", "OPEN").body == b"HELLO!"
    # checksum computed by the server itself
    r = c.req("GET", "/h/f", "GETFILECHECKSUM")
    assert r.status == 200 and r.json()["FileChecksum"]["length"] == 28
    # HttpFS error mapping: IOException → 500, FNF → 404, IAE → 400
    r = call("PUT", c.url("/h/f", "CREATE", data="true", overwrite="false"), b"x",
             {"Content-Type": "application/octet-stream"})
    assert_remote(r, 500, "FileAlreadyExistsException")
    assert_remote(c.req("GET", "/h/none", "GETFILESTATUS"), 404, "FileNotFoundException")
    assert_remote(c.req("GET", "/h", "BOGUS"), 400, "IllegalArgumentException")
    assert_remote(c.req("DELETE", "/h", "DELETE"), 500, "PathIsNotEmptyDirectoryException")
    r = c.ok("GET", "/h", "LISTSTATUS_BATCH")
    assert r.headers["Content-Type"] == "application/json"


# ------------------------------------------------------------------ Knox (§1.7)


def test_knox_basic_auth_prefix_and_rewrites(knox):
    base = knox.base_url
    assert base == "http://127.0.0.1:%d/gateway/bdc/webhdfs/v1" % knox.nn_port
    # 401 without or with wrong credentials
    r = call("GET", base + "/?op=GETHOMEDIRECTORY")
    assert r.status == 401 and r.headers["WWW-Authenticate"] == 'BASIC realm="application"'
    bad = Client(base, user=None, auth="alice:wrong")
    assert bad.req("GET", "/", "GETHOMEDIRECTORY").status == 401
    # the plain /webhdfs/v1 prefix is not served by the gateway
    good = Client(base, user=None, auth="alice:secret")
    r = call("GET", "http://127.0.0.1:%d/webhdfs/v1/?op=GETHOMEDIRECTORY" % knox.nn_port,
             headers=good.headers())
    assert r.status == 404
    # identity comes from Basic auth, not user.name; ~ is /user/<user>
    assert good.ok("GET", "/", "GETHOMEDIRECTORY", user_name="mallory").json() == \
        {"Path": "/user/alice"}
    sup = Client(base, user=None, auth=SUPER + ":pw")
    sup.ok("PUT", "/user/alice", "MKDIRS")
    sup.ok("PUT", "/user/alice", "SETOWNER", owner="alice")
    # CREATE: the 307 goes to the gateway's data URL with an opaque blob
    r = good.req("PUT", "/~/k.txt", "CREATE")
    assert r.status == 307
    loc = urllib.parse.urlsplit(r.location)
    assert (loc.hostname, loc.port) == ("127.0.0.1", knox.nn_port)
    assert loc.path == "/gateway/bdc/webhdfs/data/v1/user/alice/k.txt"
    assert list(dict(urllib.parse.parse_qsl(loc.query))) == ["_"]
    assert "op=" not in loc.query and "datanode" not in r.location
    # step 2 needs the credentials too; the 201 Location is rewritten to the gateway
    assert call("PUT", r.location, b"knox").status == 401
    r2 = good.follow("PUT", r.location, b"knox", {"Content-Type": "application/octet-stream"})
    assert r2.status == 201
    assert r2.location == base + "/user/alice/k.txt"
    assert good.status("/~/k.txt")["owner"] == "alice"
    assert good.read("/user/alice/k.txt", offset=1) == b"nox"
    # noredirect is not honoured usefully: the body leaks an internal, unreachable DataNode URL
    r = good.req("GET", "/~/k.txt", "OPEN", noredirect="true")
    assert r.status == 200 and "datanode.internal.invalid" in r.json()["Location"]
    # errors pass through with WebHDFS status codes
    assert_remote(good.req("GET", "/~/none", "GETFILESTATUS"), 404, "FileNotFoundException")


def test_basic_auth_mode_mints_delegation_for_datanode(tmp_path):
    with W.WebHdfsTestServer(tmp_path / "r", user_auth="basic", basic_users=["ann:pw"],
                             superuser="ann", max_seconds=60) as srv:
        assert Client(srv.base_url, user=None).req("GET", "/", "GETHOMEDIRECTORY").status == 401
        c = Client(srv.base_url, user=None, auth="ann:pw")
        r = c.req("PUT", "/x", "CREATE")
        q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(r.location).query))
        assert "delegation" in q and "user.name" not in q
        assert call("PUT", r.location, b"abc").status == 201    # the DataNode trusts the token
        assert c.status("/x")["owner"] == "ann"


# ------------------------------------------------------------------ standby, lifecycle


def test_standby_mode(tmp_path):
    proc, info = W.spawn(tmp_path / "r", standby=True, superuser=SUPER, max_seconds=60)
    try:
        c = Client(info["base_url"])
        assert_remote(c.req("GET", "/", "GETFILESTATUS"), 403, "StandbyException",
                      "Operation category READ is not supported in state standby")
        assert_remote(c.req("PUT", "/d", "MKDIRS"), 403, "StandbyException",
                      "Operation category WRITE is not supported in state standby")
        assert_remote(c.req("PUT", "/f", "CREATE"), 403, "StandbyException")
        # failover in a test: the server can be made active at run time
        assert control(info, "PUT", "standby?value=false").json() == {"standby": False}
        assert c.req("GET", "/", "GETFILESTATUS").status == 200
    finally:
        assert W.stop_process(proc) == 0


def test_sigterm_and_max_seconds(tmp_path):
    proc, info = W.spawn(tmp_path / "a", max_seconds=120)
    assert call("GET", info["base_url"] + "/?op=GETFILESTATUS").status == 200
    t = time.time()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(10) == 0 and time.time() - t < 5
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(info["base_url"] + "/?op=GETFILESTATUS", timeout=5)
    t = time.time()
    proc, info = W.spawn(tmp_path / "b", max_seconds=1)
    proc.wait(15)
    assert time.time() - t < 10
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(info["base_url"] + "/?op=GETFILESTATUS", timeout=5)
