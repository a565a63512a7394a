#!/usr/bin/env python3
"""TEST SERVER — a protocol-faithful stand-in for HDFS (WebHDFS/HttpFS/Knox) used by distcp's tests; not a file system for real data.

No HDFS can run on the machines distcp is tested on, so this module plays HDFS's REST faces,
following ../shared/spec/protocols.md §1, §2 and §5 (the "checklist for the fake WebHDFS server").
Python 3.11 standard library only. It binds 127.0.0.1 only.

Modes
  webhdfs  NameNode and DataNode on two loopback ports. OPEN, CREATE, APPEND and GETFILECHECKSUM go
           to the NameNode first and get 307 + Location on the DataNode (or, with noredirect=true,
           200 {"Location":...}); the DataNode URL's query is op, user.name/doas (or delegation),
           namenoderpcaddress, then the other parameters sorted (§1.3).
  httpfs   one port; data passes through the server: OPEN answers the bytes, CREATE/APPEND
           without data=true answer 307 to the same URL with data=true (noredirect removed), with
           data=true the request must carry exactly `Content-Type: application/octet-stream` or it
           gets 400 (an HTML error page, as Jetty's sendError gives). HttpFS defaults: overwrite=true,
           permission 755 with umask 022. IOExceptions map to 500, SecurityException to 401 (§1.6).
  knox     one port, URL prefix /gateway/<topology>/webhdfs/v1, HTTP Basic auth (401 +
           `WWW-Authenticate: BASIC realm="application"`), `~` = /user/<user>; the NameNode's
           redirect is rewritten to /gateway/<topology>/webhdfs/data/v1/<path>?_=<opaque blob>, and
           hdfs:// Locations (CREATE's 201) to the gateway. noredirect is passed through, so its JSON
           body leaks the internal DataNode URL (host datanode.internal.invalid) that nobody can reach:
           a client must never use noredirect through Knox (§1.7).

Storage
  The HDFS namespace is ROOT + path on local disk (ROOT must not contain symlinks). What the disk
  cannot hold (owner, group, permission, replication, block size, block layout after CONCAT,
  xattrs, ACLs, access time, inode ids, snapshottable dirs) lives IN MEMORY, keyed by path, and is
  lost when the server stops; disk entries the server never saw get owner=superuser,
  group=supergroup and the disk's mode bits. Modification times are the disk's mtimes
  (SETTIMES sets them). Snapshots are full copies of the directory tree (and of its metadata) in a
  private state dir outside ROOT (removed at stop), readable under /<dir>/.snapshot/<name>/...;
  GETSNAPSHOTDIFF compares two such trees by inode id (so renames are RENAME entries).

Users and permissions
  simple auth: user.name (default dr.who), doas for the superuser; delegation=<token> (tokens from
  GETDELEGATIONTOKEN, or pre-registered with --delegation-token TOKEN=USER) overrides them;
  unknown tokens → 403 InvalidToken. basic auth (--user-auth basic, always in knox mode):
  --basic-user U:P (repeatable). kerberos (--user-auth kerberos): SPNEGO "Negotiate" on the
  NameNode/HttpFS port checked with python3-gssapi against the keytab in KRB5_KTNAME (service
  HTTP/<host>); the NameNode puts a minted delegation token into DataNode redirects, as a secure
  cluster does. POST /_testserver/expire_tokens expires every token (RENEW revives it).
  The superuser (--superuser, default: the user running the server) and members of supergroup bypass checks; others get HDFS permission checks (traverse,
  r/w/x, sticky bit, owner-only ops, ACL entries). --permissions off disables them.
  As in HDFS: the root is 755 superuser:supergroup; no umask (HttpFS: 022); new entries take
  their parent's group; CREATE's implicit parent dirs get the nearest existing parent's
  permission plus u+wx, MKDIRS's get the requested permission plus u+wx; OPEN with
  offset >= length of a non-empty file is refused by the NameNode (403 IOException) while the
  DataNode alone answers 200 empty at offset == length and 403 EOFException beyond.

Checksums (§2)
  GETFILECHECKSUM: MD5-of-MD5-of-CRC32C (or CRC32, --checksum-type) over the file's blocks
  (--block-size / the file's blocksize, --bytes-per-checksum), with the DataOutputBuffer
  zero-padding quirk; empty file → MD5-of-0MD5-of-0CRC32. CRC32C is a table-driven (slicing-by-8)
  pure-Python implementation; CRC32 uses zlib. --combine-mode COMPOSITE_CRC is an opt-in extension.

Not implemented (each answers 400 UnsupportedOperationException "<OP> is not supported by the
  WebHDFS test server"): GETSNAPSHOTDIFFLISTING, GETSNAPSHOTLIST, quotas, storage and EC
  policies, CREATESYMLINK, GETLINKTARGET; also no SPNEGO/Kerberos, no leases
  (concurrent writers to one file are not refused), no default-ACL inheritance, no trash, and
  block boundaries are tracked only as lengths (regular, or irregular after CONCAT/TRUNCATE).
  A delegation= parameter makes a request behave as on a secure cluster (the DataNode URL
  carries the token instead of user.name); GETDELEGATIONTOKEN always issues (opaque) tokens.

Test hooks (NameNode/HttpFS/gateway port, outside /webhdfs):
  POST /_testserver/faults   JSON object or list: {"op": "CREATE"|"*", "role": "nn"|"dn"|"httpfs"|"any"
        (through Knox: nn|dn), "path": "/prefix" (optional), "count": 1 (-1 = forever), "kind": one of
        exception {"exception": "RetriableException", "message": "..."} | status {"status": 503,
        "body": "..."} | delay {"seconds": 2} | truncate {"bytes": 10} (OPEN body cut short) |
        dead_datanode (redirect to a closed port) | drop (close without answering) |
        corrupt (the first byte of OPEN's answer, or of the data CREATE/APPEND store, inverted)}
  DELETE /_testserver/faults;  GET|DELETE /_testserver/log (requests seen: role, method, op, path,
  status, user);  PUT /_testserver/standby?value=true|false;  GET /_testserver/info.

Usage
  python3 tests/webhdfs/webhdfs_server.py --root DIR [--mode webhdfs|httpfs|knox] [--nn-port 0]
      [--dn-port 0] [--user-auth simple|basic|kerberos] [--basic-user U:P] [--standby] [--knox-topology NAME]
      [--page-size N] [--block-size N] [--bytes-per-checksum N] [--ready-file F] [--max-seconds S]
      [--tls-cert PEM --tls-key PEM] (HTTPS on every port: swebhdfs, https gateways)
  When ready it prints one JSON line (and writes it to --ready-file, atomically):
  {"base_url": ..., "dn_port": ..., "nn_port": ..., "pid": ..., ...}. Stops on SIGTERM/SIGINT and
  after --max-seconds (default 3600). As a library: WebHdfsTestServer(root, mode=...).start() /
  .stop(), or spawn(root, **options) -> (Popen, info) and stop_process(proc).
"""

import argparse
import base64
import getpass
import hashlib
import http.server
import json
import os
import secrets
import shutil
import signal
import socket
import stat
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import zlib
from urllib.parse import parse_qsl, quote, unquote, urlsplit

# ============================================================== checksums (§2)


def _crc_tables(poly):
    t0 = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ poly if c & 1 else c >> 1
        t0.append(c)
    tabs = [t0]
    for _ in range(7):
        p = tabs[-1]
        tabs.append([(p[i] >> 8) ^ t0[p[i] & 0xFF] for i in range(256)])
    return tabs


_CRC32C_TABLES = _crc_tables(0x82F63B78)


def crc32c(data, crc=0):
    """CRC32C (Castagnoli, reflected 0x82F63B78, init/xorout 0xFFFFFFFF), table-driven
    slicing-by-8. `crc` continues a previous result, like zlib.crc32."""
    t0, t1, t2, t3, t4, t5, t6, t7 = _CRC32C_TABLES
    crc ^= 0xFFFFFFFF
    mv = memoryview(data).cast("B")
    n8 = len(mv) & ~7
    if n8:
        for lo, hi in struct.iter_unpack("<II", mv[:n8]):
            lo ^= crc
            crc = (t7[lo & 0xFF] ^ t6[(lo >> 8) & 0xFF] ^ t5[(lo >> 16) & 0xFF] ^ t4[lo >> 24]
                   ^ t3[hi & 0xFF] ^ t2[(hi >> 8) & 0xFF] ^ t1[(hi >> 16) & 0xFF] ^ t0[hi >> 24])
    for b in mv[n8:]:
        crc = t0[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def crc32(data, crc=0):
    """CRC32 (gzip polynomial) via zlib."""
    return zlib.crc32(data, crc)


_CRC_FUNCS = {"CRC32C": crc32c, "CRC32": crc32}
EMPTY_FILE_MD5 = hashlib.md5(bytes(32)).digest()


def regular_blocks(length, block_size):
    """Block lengths of a normally written file."""
    if length <= 0:
        return []
    n, r = divmod(length, block_size)
    return [block_size] * n + ([r] if r else [])


def _read_full(f, n):
    parts, got = [], 0
    while got < n:
        b = f.read(n - got)
        if not b:
            break
        parts.append(b)
        got += len(b)
    return b"".join(parts) if len(parts) != 1 else parts[0]


def md5md5crc_checksum(f, blocks, bytes_per_crc=512, crc_type="CRC32C"):
    """MD5MD5CRC32 file checksum (§2.2) of the open binary file `f` read from its current
    position, with the given block lengths. Returns (algorithm, bytes)."""
    if not blocks or sum(blocks) == 0:
        return "MD5-of-0MD5-of-0CRC32", struct.pack(">iq", 0, 0) + EMPTY_FILE_MD5
    crcfn = _CRC_FUNCS[crc_type]
    step = bytes_per_crc * max(1, (1 << 20) // bytes_per_crc)
    md5s = bytearray()
    last, lastcrc = None, b""
    for blen in blocks:
        h = hashlib.md5()
        left = blen
        while left:
            buf = _read_full(f, min(left, step))
            if not buf:
                raise OSError("file is shorter than its block layout")
            left -= len(buf)
            out = []
            for i in range(0, len(buf), bytes_per_crc):
                ch = buf[i:i + bytes_per_crc]
                if ch != last:       # zero-filled or repetitive data: reuse the chunk's CRC
                    last, lastcrc = ch, crcfn(ch).to_bytes(4, "big")
                out.append(lastcrc)
            h.update(b"".join(out))
        md5s += h.digest()
    cap = 32                          # DataOutputBuffer: 32 bytes, doubling; MD5 of the whole array
    while cap < len(md5s):
        cap *= 2
    file_md5 = hashlib.md5(bytes(md5s) + bytes(cap - len(md5s))).digest()
    crc_per_block = -(-blocks[0] // bytes_per_crc) if len(blocks) > 1 else 0
    algo = "MD5-of-%dMD5-of-%d%s" % (crc_per_block, bytes_per_crc, crc_type)
    return algo, struct.pack(">iq", bytes_per_crc, crc_per_block) + file_md5


def composite_crc_checksum(f, crc_type="CRC32C"):
    """COMPOSITE-CRC (§2.3): the plain CRC of the whole content. Returns (algorithm, bytes)."""
    crcfn = _CRC_FUNCS[crc_type]
    crc = 0
    while True:
        buf = f.read(1 << 20)
        if not buf:
            break
        crc = crcfn(buf, crc)
    return "COMPOSITE-" + crc_type, crc.to_bytes(4, "big")


def file_checksum_json(algorithm, raw):
    return {"FileChecksum": {"algorithm": algorithm, "bytes": raw.hex(), "length": len(raw)}}


# ============================================================== errors (§1.5)

_JAVA = {
    "FileNotFoundException": "java.io.FileNotFoundException",
    "EOFException": "java.io.EOFException",
    "IOException": "java.io.IOException",
    "AccessControlException": "org.apache.hadoop.security.AccessControlException",
    "AuthorizationException": "org.apache.hadoop.security.authorize.AuthorizationException",
    "FileAlreadyExistsException": "org.apache.hadoop.fs.FileAlreadyExistsException",
    "ParentNotDirectoryException": "org.apache.hadoop.fs.ParentNotDirectoryException",
    "PathIsNotEmptyDirectoryException": "org.apache.hadoop.fs.PathIsNotEmptyDirectoryException",
    "InvalidPathException": "org.apache.hadoop.fs.InvalidPathException",
    "SafeModeException": "org.apache.hadoop.hdfs.server.namenode.SafeModeException",
    "StandbyException": "org.apache.hadoop.ipc.StandbyException",
    "RetriableException": "org.apache.hadoop.ipc.RetriableException",
    "SnapshotException": "org.apache.hadoop.hdfs.protocol.SnapshotException",
    "SnapshotAccessControlException": "org.apache.hadoop.hdfs.protocol.SnapshotAccessControlException",
    "AclException": "org.apache.hadoop.hdfs.protocol.AclException",
    "InvalidToken": "org.apache.hadoop.security.token.SecretManager$InvalidToken",
    "QuotaExceededException": "org.apache.hadoop.hdfs.protocol.QuotaExceededException",
    "SecurityException": "java.lang.SecurityException",
    "IllegalArgumentException": "java.lang.IllegalArgumentException",
    "HadoopIllegalArgumentException": "org.apache.hadoop.HadoopIllegalArgumentException",
    "UnsupportedOperationException": "java.lang.UnsupportedOperationException",
    "RuntimeException": "java.lang.RuntimeException",
    "NullPointerException": "java.lang.NullPointerException",
}
_KIND = {
    "FileNotFoundException": "fnf", "SecurityException": "sec", "AuthorizationException": "authz",
    "IllegalArgumentException": "iae", "HadoopIllegalArgumentException": "iae",
    "InvalidPathException": "iae", "UnsupportedOperationException": "uoe",
    "RuntimeException": "rt", "NullPointerException": "rt",
}
_STATUS_WEBHDFS = {"sec": 403, "authz": 403, "fnf": 404, "io": 403, "uoe": 400, "iae": 400, "rt": 500}
_STATUS_HTTPFS = {"sec": 401, "authz": 500, "fnf": 404, "io": 500, "uoe": 400, "iae": 400, "rt": 500}


class HdfsError(Exception):
    """A Java exception as the server would throw it: simple class name + message."""

    def __init__(self, name, message):
        super().__init__(message)
        self.name = name
        self.message = message

    def status(self, httpfs=False):
        kind = _KIND.get(self.name, "io")
        return (_STATUS_HTTPFS if httpfs else _STATUS_WEBHDFS)[kind]

    def body(self):
        return {"RemoteException": {"exception": self.name,
                                    "javaClassName": _JAVA.get(self.name, "java.io.IOException"),
                                    "message": self.message}}


def _param_error(name, detail):
    return HdfsError("IllegalArgumentException",
                     'Invalid value for webhdfs parameter "%s": %s' % (name, detail))


def _jetty_page(status, reason, message):
    return ('<html>\n<head>\n<meta http-equiv="Content-Type" content="text/html;charset=utf-8"/>\n'
            '<title>Error %d %s</title>\n</head>\n<body><h2>HTTP ERROR %d</h2>\n<p>Problem accessing '
            'the path. Reason:\n<pre>    %s</pre></p>\n</body>\n</html>\n'
            % (status, message, status, message)).encode()


# ============================================================== ops and parameters

_OPS = {
    "GET": ["OPEN", "GETFILESTATUS", "LISTSTATUS", "LISTSTATUS_BATCH", "GETCONTENTSUMMARY",
            "GETQUOTAUSAGE", "GETFILECHECKSUM", "GETHOMEDIRECTORY", "GETDELEGATIONTOKEN",
            "GETTRASHROOT", "GETXATTRS", "LISTXATTRS", "GETACLSTATUS", "CHECKACCESS",
            "GETALLSTORAGEPOLICY", "GETSTORAGEPOLICY", "GETSNAPSHOTDIFF", "GETSNAPSHOTDIFFLISTING",
            "GETSNAPSHOTTABLEDIRECTORYLIST", "GETSNAPSHOTLIST", "GETFILEBLOCKLOCATIONS",
            "GET_BLOCK_LOCATIONS", "GETSERVERDEFAULTS", "GETLINKTARGET", "GETFILELINKSTATUS",
            "GETSTATUS", "GETECPOLICY", "GETECPOLICIES", "GETECCODECS", "NULL"],
    "PUT": ["CREATE", "MKDIRS", "CREATESYMLINK", "RENAME", "SETREPLICATION", "SETOWNER",
            "SETPERMISSION", "SETTIMES", "RENEWDELEGATIONTOKEN", "CANCELDELEGATIONTOKEN",
            "MODIFYACLENTRIES", "REMOVEACLENTRIES", "REMOVEDEFAULTACL", "REMOVEACL", "SETACL",
            "SETXATTR", "REMOVEXATTR", "ALLOWSNAPSHOT", "DISALLOWSNAPSHOT", "CREATESNAPSHOT",
            "RENAMESNAPSHOT", "SETSTORAGEPOLICY", "SATISFYSTORAGEPOLICY", "SETQUOTA",
            "SETQUOTABYSTORAGETYPE", "ENABLEECPOLICY", "DISABLEECPOLICY", "SETECPOLICY", "NULL"],
    "POST": ["APPEND", "CONCAT", "TRUNCATE", "UNSETSTORAGEPOLICY", "UNSETECPOLICY", "NULL"],
    "DELETE": ["DELETE", "DELETESNAPSHOT", "NULL"],
}
_OP_CLASS = {"GET": "GetOpParam", "PUT": "PutOpParam", "POST": "PostOpParam",
             "DELETE": "DeleteOpParam"}
_DATA_OPS = ("OPEN", "CREATE", "APPEND", "GETFILECHECKSUM")
_FS_ACTIONS = {0: "NONE", 1: "EXECUTE", 2: "WRITE", 3: "WRITE_EXECUTE", 4: "READ",
               5: "READ_EXECUTE", 6: "READ_WRITE", 7: "ALL"}
_R, _W, _X = 4, 2, 1
_MAX_REPLICATION = 512
_SNAPSHOT_QUOTA = 65536
_KNOX_INTERNAL_DN = "datanode.internal.invalid"
_KNOX_INTERNAL_DN_PORT = 9864
_XATTR_NS = ("user.", "trusted.", "system.", "security.")


class _Ctx:
    """One request after routing: role, op, path, parameters and the caller's identity."""

    def __init__(self, role, method, op, hpath, pairs, user, h, raw_ident):
        self.role, self.method, self.op, self.hpath = role, method, op, hpath
        self.pairs = pairs
        self.params = {}
        for k, v in pairs:
            self.params.setdefault(k, []).append(v)
        self.user = user
        self.h = h
        self.raw_ident = raw_ident   # the user.name / doas / delegation the client sent
        self.corrupt = False         # fault "corrupt": flip the first byte stored

    def get(self, name, default=None):
        v = self.params.get(name)
        return v[0] if v else default

    def getall(self, name):
        return self.params.get(name, [])

    def bool(self, name, default):
        v = self.get(name)
        if v is None or v == "":
            return default
        if v.lower() == "true":
            return True
        if v.lower() == "false":
            return False
        raise _param_error(name, 'Failed to parse "%s" to Boolean.' % v)

    def num(self, name, default, lo=None, hi=None, radix=10, kind="long"):
        v = self.get(name)
        if v is None or v == "" or (v.lower() == "null" and default is None):
            return default
        try:
            n = int(v, radix)
        except ValueError:
            raise _param_error(name, 'Failed to parse "%s" as a radix-%d %s integer.'
                               % (v, radix, kind)) from None
        fmt = (lambda x: "%o" % x) if radix == 8 else str
        if lo is not None and n < lo:
            raise _param_error(name, "Invalid parameter range: %s = %s < %s"
                               % (name, fmt(n), fmt(lo)))
        if hi is not None and n > hi:
            raise _param_error(name, "Invalid parameter range: %s = %s > %s"
                               % (name, fmt(n), fmt(hi)))
        return n

    def perm(self, default):
        return self.num("permission", default, 0, 0o1777, radix=8, kind="short")


def _flip_first(chunks):
    """Fault "corrupt": the chunks with the first byte's bits inverted (data damaged in transit
    or on disk; the length stays right, so only a checksum sees it)."""
    first = True
    for c in chunks:
        if first and c:
            c = bytes([c[0] ^ 0xFF]) + bytes(c[1:])
            first = False
        yield c


class _Resp:
    __slots__ = ("status", "headers", "body", "stream", "length", "chunked", "close", "truncate")

    def __init__(self, status, body=b"", headers=None, stream=None, length=None, chunked=False,
                 close=False):
        self.status = status
        self.headers = list(headers or [])
        self.body = body
        self.stream = stream
        self.length = length
        self.chunked = chunked
        self.close = close
        self.truncate = None

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def set_header(self, name, value):
        self.headers = [(k, v) for k, v in self.headers if k.lower() != name.lower()]
        self.headers.append((name, value))


class _Node:
    """A resolved HDFS path: live (ROOT + path), inside a snapshot copy, or a /.snapshot dir."""
    __slots__ = ("kind", "hpath", "comps", "disk", "st", "store", "key", "sdir", "snap")

    def __init__(self, kind, hpath, comps, disk, store, key, sdir=None, snap=None):
        self.kind, self.hpath, self.comps, self.disk = kind, hpath, comps, disk
        self.store, self.key, self.sdir, self.snap = store, key, sdir, snap
        self.st = None
        if disk is not None:
            try:
                self.st = os.lstat(disk)
            except OSError:
                self.st = None

    @property
    def exists(self):
        return self.st is not None

    @property
    def isdir(self):
        return self.st is not None and stat.S_ISDIR(self.st.st_mode)

    @property
    def isfile(self):
        return self.st is not None and stat.S_ISREG(self.st.st_mode)


def _join(comps):
    return "/" + "/".join(comps)


def _mtime_ms(st):
    return st.st_mtime_ns // 1_000_000


def _perm_str(bits):
    return "".join(c if bits & b else "-" for c, b in (("r", 4), ("w", 2), ("x", 1)))


def _mode_str(perm, isdir):
    s = ("d" if isdir else "-") + _perm_str(perm >> 6) + _perm_str(perm >> 3) + _perm_str(perm)
    if perm & 0o1000:
        s = s[:-1] + ("t" if perm & 1 else "T")
    return s


def _dumps(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


# ============================================================== ACL model

_ACL_TYPE_ORDER = {"user": 0, "group": 1, "mask": 2, "other": 3}


def _acl_key(e):
    scope, typ, name, _ = e
    return (scope == "default", _ACL_TYPE_ORDER[typ], name != "", name)


def _acl_str(e):
    scope, typ, name, perm = e
    return "%s%s:%s:%s" % ("default:" if scope == "default" else "", typ, name, _perm_str(perm))


def _parse_aclspec(spec, need_perm=True):
    out = []
    for raw in (spec or "").split(","):
        e = raw.strip()
        if not e:
            continue
        parts = e.split(":")
        scope = "access"
        if parts[0] == "default":
            scope, parts = "default", parts[1:]
        if not parts or parts[0] not in _ACL_TYPE_ORDER:
            raise HdfsError("HadoopIllegalArgumentException",
                            "Invalid type of acl in <aclSpec> :" + e)
        typ = parts[0]
        name = parts[1] if len(parts) > 1 else ""
        if typ in ("mask", "other") and name:
            raise HdfsError("HadoopIllegalArgumentException", "Invalid <aclSpec> : " + e)
        perm = None
        if len(parts) > 2:
            p = parts[2]
            if len(p) != 3 or any(c not in (x, "-") for c, x in zip(p, "rwx")):
                raise HdfsError("HadoopIllegalArgumentException",
                                "Invalid permission in <aclSpec> : " + e)
            perm = (4 if p[0] == "r" else 0) | (2 if p[1] == "w" else 0) | (1 if p[2] == "x" else 0)
        if len(parts) > 3 or (need_perm and perm is None):
            raise HdfsError("HadoopIllegalArgumentException", "Invalid <aclSpec> : " + e)
        out.append((scope, typ, name, perm if perm is not None else 0))
    return out


def _full_acl(m):
    """The inode's whole ACL (base entries included) from its permission bits + extended list."""
    perm = m["perm"]
    ext = m["acl"] or []
    acc = [e for e in ext if e[0] == "access"]
    full = [("access", "user", "", (perm >> 6) & 7), ("access", "other", "", perm & 7)]
    if acc:
        full += acc + [("access", "mask", "", (perm >> 3) & 7)]
    else:
        full.append(("access", "group", "", (perm >> 3) & 7))
    full += [e for e in ext if e[0] == "default"]
    return full


def _store_acl(m, full):
    keys = [(e[0], e[1], e[2]) for e in full]
    if len(set(keys)) != len(keys):
        raise HdfsError("AclException",
                        "Invalid ACL: multiple entries with the same scope, type and name.")
    acc = {(e[1], e[2]): e[3] for e in full if e[0] == "access"}
    if ("user", "") not in acc or ("group", "") not in acc or ("other", "") not in acc:
        raise HdfsError("AclException",
                        "Invalid ACL: the user, group and other entries are required.")
    named = [e for e in full if e[0] == "access" and e[2] and e[1] in ("user", "group")]
    ext = []
    if named or ("mask", "") in acc:
        mask = acc.get(("mask", ""))
        if mask is None:
            mask = acc[("group", "")]
            for e in named:
                mask |= e[3]
        group_bits = mask
        ext += named + [("access", "group", "", acc[("group", "")])]
    else:
        group_bits = acc[("group", "")]
    dflt = {(e[1], e[2]): e[3] for e in full if e[0] == "default"}
    if dflt and not m["dir"]:
        raise HdfsError("AclException", "Invalid ACL: only directories may have a default ACL.")
    if dflt:
        for t in ("user", "group", "other"):
            if (t, "") not in dflt:
                dflt[(t, "")] = acc[(t, "")]
        dnamed = [k for k in dflt if k[1] and k[0] in ("user", "group")]
        if dnamed and ("mask", "") not in dflt:
            mk = dflt[("group", "")]
            for k in dnamed:
                mk |= dflt[k]
            dflt[("mask", "")] = mk
        ext += [("default", t, n, p) for (t, n), p in dflt.items()]
    m["perm"] = (m["perm"] & 0o1000) | (acc[("user", "")] << 6) | (group_bits << 3) | acc[("other", "")]
    m["acl"] = sorted(ext, key=_acl_key) or None


# ============================================================== HTTP plumbing


class _Body:
    """The request body: Content-Length or chunked; sends a deferred 100 Continue on first read."""

    def __init__(self, h):
        self.h = h
        te = (h.headers.get("Transfer-Encoding") or "").lower()
        self.chunked = "chunked" in te
        cl = h.headers.get("Content-Length")
        self.remaining = 0 if self.chunked else int(cl or 0)
        self.done = not self.chunked and self.remaining == 0
        self._chunk_left = 0

    def _readline(self):
        line = self.h.rfile.readline(65537)
        if not line:
            raise ConnectionError("client closed the connection")
        return line

    def iter(self, bufsize=1 << 16):
        self.h.send_continue()
        rfile = self.h.rfile
        while not self.done:
            if self.chunked:
                if self._chunk_left == 0:
                    size = int(self._readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        while self._readline() not in (b"\r\n", b"\n"):
                            pass
                        self.done = True
                        return
                    self._chunk_left = size
                data = rfile.read(min(bufsize, self._chunk_left))
                if not data:
                    raise ConnectionError("client closed the connection")
                self._chunk_left -= len(data)
                if self._chunk_left == 0:
                    self._readline()
                yield data
            else:
                data = rfile.read(min(bufsize, self.remaining))
                if not data:
                    raise ConnectionError("client closed the connection")
                self.remaining -= len(data)
                if self.remaining == 0:
                    self.done = True
                yield data

    def drain(self):
        for _ in self.iter():
            pass


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True       # small header + body writes: no 40 ms Nagle stalls
    server_version = "distcp-webhdfs-TEST-SERVER"
    sys_version = ""

    def version_string(self):
        return self.server_version

    def setup(self):
        super().setup()
        self._expect_pending = False
        self._continue_sent = False
        self.server.app._conn_opened(self.connection)

    def finish(self):
        try:
            super().finish()
        finally:
            self.server.app._conn_closed(self.connection)

    def handle_expect_100(self):
        self._expect_pending = True      # answered lazily, when the body is first read
        return True

    def send_continue(self):
        if not self._continue_sent:
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            self.wfile.flush()
            self._continue_sent = True

    def log_message(self, fmt, *args):
        if self.server.app.verbose:
            sys.stderr.write("[webhdfs-test-server %s] %s\n" % (self.server.role, fmt % args))

    def _go(self, method):
        try:
            self.server.app._handle(self, method)
        except (BrokenPipeError, ConnectionError, socket.timeout):
            self.close_connection = True
        finally:
            self._expect_pending = False
            self._continue_sent = False

    def do_GET(self):
        self._go("GET")

    def do_PUT(self):
        self._go("PUT")

    def do_POST(self):
        self._go("POST")

    def do_DELETE(self):
        self._go("DELETE")


class _HTTPServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, addr, app, role):
        self.app = app
        self.role = role
        super().__init__(addr, _Handler)


# ============================================================== the server


class WebHdfsTestServer:
    """TEST SERVER: see the module docstring."""

    def __init__(self, root, mode="webhdfs", nn_port=0, dn_port=0, user_auth=None,
                 basic_users=("guest:guest-password",), standby=False, knox_topology="sandbox",
                 page_size=1000, block_size=134217728, bytes_per_checksum=512,
                 checksum_type="CRC32C", combine_mode="MD5MD5CRC", replication=3, superuser=None,
                 supergroup="supergroup", permissions=True, min_block_size=None,
                 default_user="dr.who", groups=None, rpc_address="127.0.0.1:8020",
                 dn_host="127.0.0.1", delegation_tokens=None, state_dir=None, verbose=False,
                 max_seconds=3600, tls_cert=None, tls_key=None):
        if mode not in ("webhdfs", "httpfs", "knox"):
            raise ValueError("mode must be webhdfs, httpfs or knox")
        if checksum_type not in _CRC_FUNCS:
            raise ValueError("checksum_type must be CRC32C or CRC32")
        if combine_mode not in ("MD5MD5CRC", "COMPOSITE_CRC"):
            raise ValueError("combine_mode must be MD5MD5CRC or COMPOSITE_CRC")
        self.root = os.path.abspath(root)
        os.makedirs(self.root, exist_ok=True)
        self.mode = mode
        self.tls_cert, self.tls_key = tls_cert, tls_key
        self.scheme = "https" if tls_cert else "http"
        self.want_nn_port, self.want_dn_port = nn_port, dn_port
        self.user_auth = user_auth or ("basic" if mode == "knox" else "simple")
        if mode == "knox":
            self.user_auth = "basic"
        self.basic_users = {}
        for up in basic_users or ():
            u, _, p = up.partition(":")
            self.basic_users[u] = p
        self.standby = standby
        self.topology = knox_topology
        self.page_size = max(1, int(page_size))
        self.block_size = int(block_size)
        self.bpc = int(bytes_per_checksum)
        self.checksum_type = checksum_type
        self.combine_mode = combine_mode
        self.replication = int(replication)
        self.superuser = superuser or getpass.getuser()
        self.supergroup = supergroup
        self.permissions = permissions
        self.min_block_size = (min(1048576, self.block_size) if min_block_size is None
                               else int(min_block_size))
        self.default_user = default_user
        self.groups = {k: list(v) for k, v in (groups or {}).items()}
        self.rpc_address = rpc_address
        self.dn_host = dn_host
        self.verbose = verbose
        self.max_seconds = max_seconds
        self.umask = 0o022 if mode == "httpfs" else 0
        self.lock = threading.RLock()
        self.meta = {}
        self.next_id = 16386
        self.snaps = {}                # snapshottable dir -> {name: snapshot}
        self.tokens = {}               # token -> [user, expiry ms]
        for tok, user in (delegation_tokens or {}).items():
            self.tokens[tok] = [user, int(time.time() * 1000) + 86400000]
        self.faults = []
        self.log = []
        self._own_state = state_dir is None
        self.state_dir = state_dir or tempfile.mkdtemp(prefix="webhdfs-test-state-")
        self._knox_key = secrets.token_bytes(16)
        self._servers = []
        self._threads = []
        self._conns = set()
        self._timer = None
        self._stopped = threading.Event()
        self.on_expire = None
        self.nn_port = self.dn_port = None
        self._snap_seq = 0

    # -------------------------------------------------------------- lifecycle

    def start(self):
        nn = _HTTPServer(("127.0.0.1", self.want_nn_port), self,
                         {"webhdfs": "nn", "httpfs": "httpfs", "knox": "knox"}[self.mode])
        self._servers.append(nn)
        self.nn_port = nn.server_address[1]
        if self.mode == "webhdfs":
            dn = _HTTPServer(("127.0.0.1", self.want_dn_port), self, "dn")
            self._servers.append(dn)
            self.dn_port = dn.server_address[1]
        if self.tls_cert:
            import ssl
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(self.tls_cert, self.tls_key)
            for s in self._servers:
                # the handshake runs in the handler thread, on the first read
                s.socket = ctx.wrap_socket(s.socket, server_side=True,
                                           do_handshake_on_connect=False)
        for s in self._servers:
            t = threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.2},
                                 name="webhdfs-test-%s" % s.role, daemon=True)
            t.start()
            self._threads.append(t)
        if self.max_seconds:
            self._timer = threading.Timer(self.max_seconds, self._expire)
            self._timer.daemon = True
            self._timer.start()
        return self

    def _expire(self):
        sys.stderr.write("webhdfs test server: --max-seconds (%s) reached, stopping\n"
                         % self.max_seconds)
        self.stop()
        if self.on_expire:
            self.on_expire()

    def stop(self):
        if self._stopped.is_set():
            return
        self._stopped.set()
        if self._timer:
            self._timer.cancel()
        for s in self._servers:
            s.shutdown()
            s.server_close()
        with self.lock:
            conns = list(self._conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._own_state:
            shutil.rmtree(self.state_dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _conn_opened(self, c):
        with self.lock:
            self._conns.add(c)

    def _conn_closed(self, c):
        with self.lock:
            self._conns.discard(c)

    @property
    def base_url(self):
        """The WebHDFS REST base (…/webhdfs/v1) a client uses."""
        if self.mode == "knox":
            return "%s://127.0.0.1:%d/gateway/%s/webhdfs/v1" % (self.scheme, self.nn_port,
                                                                self.topology)
        return "%s://127.0.0.1:%d/webhdfs/v1" % (self.scheme, self.nn_port)

    def info(self):
        return {"test_server": True, "pid": os.getpid(), "mode": self.mode,
                "nn_port": self.nn_port, "dn_port": self.dn_port, "base_url": self.base_url,
                "webhdfs_uri": "webhdfs://127.0.0.1:%d" % self.nn_port,
                "knox_topology": self.topology if self.mode == "knox" else None,
                "root": self.root, "superuser": self.superuser,
                "user_auth": self.user_auth, "block_size": self.block_size,
                "bytes_per_checksum": self.bpc, "checksum_type": self.checksum_type,
                "page_size": self.page_size, "standby": self.standby}

    # -------------------------------------------------------------- test hooks (library API)

    def add_fault(self, kind="exception", op="*", role="any", path=None, count=1, **kw):
        f = dict(kw, kind=kind, op=op.upper(), role=role, path=path, count=count)
        with self.lock:
            self.faults.append(f)
        return f

    def clear_faults(self):
        with self.lock:
            self.faults.clear()

    def set_standby(self, value=True):
        self.standby = bool(value)

    def requests(self):
        with self.lock:
            return list(self.log)

    def clear_log(self):
        with self.lock:
            self.log.clear()

    def _take_fault(self, role, op, hpath):
        with self.lock:
            for f in self.faults:
                if f["op"] not in ("*", op):
                    continue
                if f["role"] not in ("any", role):
                    continue
                if f["path"] and not (hpath == f["path"] or hpath.startswith(f["path"].rstrip("/") + "/")):
                    continue
                if f["count"] == 0:
                    continue
                if f["count"] > 0:
                    f["count"] -= 1
                return f
        return None

    # -------------------------------------------------------------- request entry

    def _handle(self, h, method):
        role = h.server.role
        split = urlsplit(h.path)
        rawpath = split.path
        body = _Body(h)
        h._body = body
        rec = {"role": role, "method": method, "op": None, "path": None, "status": None,
               "user": None}
        if rawpath.startswith("/_testserver/") and role != "dn":
            try:
                resp = self._control(h, method, rawpath, split.query, body)
            except (ValueError, TypeError) as e:
                resp = _Resp(400, str(e).encode(), [("Content-Type", "text/plain")])
        else:
            try:
                if role == "knox":
                    resp = self._knox(h, method, rawpath, split.query, rec)
                else:
                    resp = self._webhdfs(h, role, method, rawpath, split.query, rec)
            except HdfsError as e:
                resp = self._error(e, role)
            except (BrokenPipeError, ConnectionError, socket.timeout):
                raise
            except Exception as e:  # a bug in the test server: a RuntimeException, 500
                if self.verbose:
                    traceback.print_exc()
                resp = self._error(HdfsError("RuntimeException", "%s: %s"
                                             % (type(e).__name__, e)), role)
        if resp is None:                 # fault "drop": close without answering
            h.close_connection = True
            return
        if getattr(h, "_spnego_reply", None):       # mutual authentication token
            resp.headers.append(("WWW-Authenticate", "Negotiate " + h._spnego_reply))
            h._spnego_reply = None
        rec["status"] = resp.status
        if rec["op"] is not None:
            with self.lock:
                self.log.append(rec)
                if len(self.log) > 200000:
                    del self.log[:100000]
        self._write(h, resp, body)

    def _write(self, h, resp, body):
        if not body.done:
            if h._expect_pending and not h._continue_sent:
                resp.close = True        # the client waits for 100; it will not send the body
            else:
                try:
                    body.drain()
                except (ConnectionError, ValueError):
                    resp.close = True
        h.send_response(resp.status)
        for k, v in resp.headers:
            h.send_header(k, v)
        if resp.stream is not None:
            if resp.chunked:
                h.send_header("Transfer-Encoding", "chunked")
            else:
                h.send_header("Content-Length", str(resp.length))
        else:
            h.send_header("Content-Length", str(len(resp.body)))
        if resp.close:
            h.send_header("Connection", "close")
            h.close_connection = True
        h.end_headers()
        if resp.stream is None:
            if resp.body:
                h.wfile.write(resp.body)
            h.wfile.flush()
            return
        sent = 0
        try:
            for chunk in resp.stream:
                if not chunk:
                    continue
                if resp.truncate is not None and sent + len(chunk) > resp.truncate:
                    chunk = chunk[:resp.truncate - sent]
                    h.wfile.write(chunk)
                    h.wfile.flush()
                    h.close_connection = True
                    try:
                        h.connection.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                    return
                if resp.chunked:
                    h.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                else:
                    h.wfile.write(chunk)
                sent += len(chunk)
            if resp.chunked:
                h.wfile.write(b"0\r\n\r\n")
            h.wfile.flush()
        finally:
            close = getattr(resp.stream, "close", None)
            if close:
                close()

    def _json(self, role, obj, status=200, headers=None):
        ctype = "application/json" if role == "httpfs" else "application/json; charset=utf-8"
        return _Resp(status, _dumps(obj), [("Content-Type", ctype)] + list(headers or []))

    @staticmethod
    def _empty(status=200, headers=None):
        return _Resp(status, b"", [("Content-Type", "application/octet-stream")]
                     + list(headers or []))

    def _error(self, e, role):
        return self._json(role, e.body(), e.status(httpfs=(role == "httpfs")))

    @staticmethod
    def _html_error(status, reason, message, headers=None):
        return _Resp(status, _jetty_page(status, reason, message),
                     [("Content-Type", "text/html;charset=iso-8859-1"),
                      ("Cache-Control", "must-revalidate,no-cache,no-store")]
                     + list(headers or []))

    # -------------------------------------------------------------- control endpoint

    def _control(self, h, method, rawpath, query, body):
        what = rawpath[len("/_testserver/"):].strip("/")
        q = dict(parse_qsl(query, keep_blank_values=True))
        data = b"".join(body.iter()) if not body.done else b""
        out = {}
        if what == "faults" and method in ("POST", "PUT"):
            spec = json.loads(data or b"[]")
            for f in spec if isinstance(spec, list) else [spec]:
                self.add_fault(**f)
            out = {"faults": len(self.faults)}
        elif what == "faults" and method == "DELETE":
            self.clear_faults()
        elif what == "faults":
            with self.lock:
                out = {"faults": list(self.faults)}
        elif what == "log" and method == "DELETE":
            self.clear_log()
        elif what == "log":
            out = {"requests": self.requests()}
        elif what == "standby" and method in ("PUT", "POST"):
            self.set_standby(q.get("value", "true").lower() == "true")
            out = {"standby": self.standby}
        elif what == "info":
            out = self.info()
        elif what == "expire_tokens" and method in ("PUT", "POST"):
            with self.lock:                 # kept, so they can still be renewed
                for ent in self.tokens.values():
                    ent[1] = 0
                out = {"expired": len(self.tokens)}
        else:
            return self._html_error(404, "Not Found", "Not Found")
        return _Resp(200, _dumps(out), [("Content-Type", "application/json")])

    # -------------------------------------------------------------- routing

    def _webhdfs(self, h, role, method, rawpath, query, rec, knox_user=None):
        prefix = "/webhdfs/v1"
        if not (rawpath == prefix or rawpath.startswith(prefix + "/")):
            return self._html_error(404, "Not Found", "Not Found")
        hpath = unquote(rawpath[len(prefix):], errors="surrogateescape") or "/"
        if not hpath.startswith("/"):
            hpath = "/" + hpath
        pairs = parse_qsl(query, keep_blank_values=True)
        params = {}
        for k, v in pairs:
            params.setdefault(k, v)
        rec["path"] = hpath
        # op parsing: case-insensitive value, checked against the method's enum (§1.1)
        opv = params.get("op")
        op = (opv or "NULL").upper()
        rec["op"] = op
        if op not in _OPS.get(method, ()):
            raise _param_error("op", "No enum constant org.apache.hadoop.hdfs.web.resources.%s.Op.%s"
                               % (_OP_CLASS.get(method, "GetOpParam"), op))
        # identity
        raw_ident = {k: params[k] for k in ("user.name", "doas", "delegation") if k in params}
        if knox_user is not None:
            user = knox_user
        else:
            user = self._authenticate(h, role, params)
            if isinstance(user, _Resp):
                return user
        rec["user"] = user
        ctx = _Ctx(role, method, op, hpath, pairs, user, h, raw_ident)
        # HttpFS upload content-type filter (runs after authentication, before the op)
        if (role == "httpfs" and method in ("PUT", "POST") and op in ("CREATE", "APPEND")
                and (params.get("data") or "").lower() == "true"):
            ct = h.headers.get("Content-Type")
            if ct is None or ct.lower() != "application/octet-stream":
                return self._html_error(400, "Bad Request", "Data upload requests must have "
                                        "content-type set to 'application/octet-stream'")
        fault = self._take_fault(role, op, hpath)
        trunc = None
        if fault:
            kind = fault["kind"]
            if kind == "exception":
                raise HdfsError(fault.get("exception", "IOException"),
                                fault.get("message", "injected fault"))
            if kind == "status":
                return _Resp(int(fault.get("status", 500)),
                             str(fault.get("body", "")).encode(),
                             [("Content-Type", fault.get("content_type", "text/plain"))])
            if kind == "delay":
                time.sleep(float(fault.get("seconds", 1)))
            elif kind == "drop":
                return None
            elif kind == "truncate":
                trunc = int(fault.get("bytes", 0))
            elif kind == "dead_datanode":
                ctx.dead_dn = True
            elif kind == "corrupt":
                ctx.corrupt = True
        if self.standby and role in ("nn", "httpfs"):
            cat = "READ" if method == "GET" else "WRITE"
            raise HdfsError("StandbyException", "Operation category %s is not supported in state "
                            "standby. Visit https://s.apache.org/sbnn-error" % cat)
        if role == "dn":
            if op not in _DATA_OPS:
                raise HdfsError("IllegalArgumentException", "Invalid operation " + op)
            if not ctx.get("namenoderpcaddress"):
                raise HdfsError("IllegalArgumentException", "namenoderpcaddress is not specified.")
            fn = getattr(self, "_data_" + op.lower())
        elif op in _DATA_OPS:
            fn = getattr(self, ("_httpfs_" if role == "httpfs" else "_nn_") + op.lower())
        else:
            fn = getattr(self, "_op_" + op.lower(), None)
            if fn is None:
                if op == "NULL":
                    raise HdfsError("UnsupportedOperationException", "NULL is not supported")
                raise HdfsError("UnsupportedOperationException",
                                "%s is not supported by the WebHDFS test server" % op)
        resp = fn(ctx)
        if trunc is not None and resp is not None and resp.stream is not None:
            resp.truncate = trunc
        if ctx.corrupt and resp is not None and resp.stream is not None:
            resp.stream = _flip_first(resp.stream)
        return resp

    def _authenticate(self, h, role, params):
        tok = params.get("delegation")
        if role != "dn" and self.user_auth == "basic" and tok is None:
            user = self._basic_user(h)
            if user is None:
                return self._unauthorized()
        elif role != "dn" and self.user_auth == "kerberos" and tok is None:
            user = self._spnego_user(h)
            if user is None:
                return self._html_error(401, "Unauthorized", "Authentication required",
                                        [("WWW-Authenticate", "Negotiate")])
        elif tok is not None:
            ent = self.tokens.get(tok)
            if ent is None or ent[1] < time.time() * 1000:
                raise HdfsError("InvalidToken", "token (HDFS_DELEGATION_TOKEN token %s) can't be "
                                "found in cache" % tok[:16])
            return ent[0]
        else:
            user = params.get("user.name") or self.default_user
        doas = params.get("doas")
        if doas and doas != user:
            if not self._is_super(user):
                raise HdfsError("AuthorizationException",
                                "User: %s is not allowed to impersonate %s" % (user, doas))
            user = doas
        return user

    def _spnego_user(self, h):
        """Kerberos SPNEGO (RFC 4559), the acceptor side through python3-gssapi with the keytab
        in KRB5_KTNAME: one round per request (no hadoop.auth cookie). The short name of the
        initiator (user@REALM -> user) is the caller."""
        auth = h.headers.get("Authorization") or ""
        if auth[:10].lower() != "negotiate ":
            return None
        import gssapi  # only in --user-auth kerberos (Debian python3-gssapi)
        try:
            ctx = gssapi.SecurityContext(creds=gssapi.Credentials(usage="accept"),
                                         usage="accept")
            out = ctx.step(base64.b64decode(auth[10:].strip()))
        except (gssapi.exceptions.GSSError, ValueError) as e:
            if self.verbose:
                print("SPNEGO failed: %s" % e, file=sys.stderr)
            return None
        if not ctx.complete:
            return None
        h._spnego_reply = base64.b64encode(out).decode() if out else None
        return str(ctx.initiator_name).split("@")[0].split("/")[0]

    def _basic_user(self, h):
        auth = h.headers.get("Authorization") or ""
        if not auth[:6].lower() == "basic ":
            return None
        try:
            u, _, p = base64.b64decode(auth[6:].strip()).decode("utf-8").partition(":")
        except Exception:
            return None
        if u in self.basic_users and self.basic_users[u] == p:
            return u
        return None

    def _unauthorized(self):
        return self._html_error(401, "Unauthorized", "Unauthorized",
                                [("WWW-Authenticate", 'BASIC realm="application"')])

    # -------------------------------------------------------------- Knox gateway (§1.7)

    def _knox_blob(self, url):
        raw = url.encode()
        key = self._knox_key
        x = bytes(b ^ key[i % len(key)] for i, b in enumerate(raw))
        return base64.urlsafe_b64encode(x).decode().rstrip("=")

    def _knox_unblob(self, blob):
        try:
            x = base64.urlsafe_b64decode(blob + "=" * (-len(blob) % 4))
            key = self._knox_key
            return bytes(b ^ key[i % len(key)] for i, b in enumerate(x)).decode()
        except Exception:
            return None

    def _knox(self, h, method, rawpath, query, rec):
        gw = "/gateway/%s/webhdfs" % self.topology
        user = self._basic_user(h)
        if user is None:
            return self._unauthorized()
        gateway = "%s://127.0.0.1:%d%s" % (self.scheme, self.nn_port, gw)
        if rawpath == gw + "/v1" or rawpath.startswith(gw + "/v1/"):
            sub = rawpath[len(gw):]                       # /v1/...
            if sub == "/v1/~" or sub.startswith("/v1/~/"):
                sub = "/v1/user/" + quote(user) + sub[len("/v1/~"):]
            # Knox asserts the identity itself: drop what the client claims
            pairs = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True)
                     if k not in ("user.name", "doas", "delegation")]
            q = "&".join("%s=%s" % (quote(k, safe=""), quote(v, safe="")) for k, v in pairs)
            resp = self._webhdfs(h, "nn", method, "/webhdfs" + sub, q, rec, knox_user=user)
        elif rawpath.startswith(gw + "/data/v1/"):
            blob = dict(parse_qsl(query, keep_blank_values=True)).get("_")
            url = self._knox_unblob(blob or "")
            if not url:
                return self._html_error(400, "Bad Request", "Bad Request")
            inner = urlsplit(url)
            resp = self._webhdfs(h, "dn", method, inner.path, inner.query, rec, knox_user=user)
        else:
            return self._html_error(404, "Not Found", "Not Found")
        if resp is None:
            return None
        loc = resp.header("Location")
        if loc:
            internal = "http://%s:%d/webhdfs/v1" % (_KNOX_INTERNAL_DN, _KNOX_INTERNAL_DN_PORT)
            if loc.startswith(internal):
                path = urlsplit(loc).path[len("/webhdfs/v1"):]
                resp.set_header("Location", "%s/data/v1%s?_=%s" % (gateway, path,
                                                                 self._knox_blob(loc)))
            elif loc.startswith("hdfs://") or loc.startswith("webhdfs://"):
                path = urlsplit(loc).path
                resp.set_header("Location", gateway + "/v1" + path)
        return resp

    # -------------------------------------------------------------- namespace helpers

    def _comps(self, hpath, creating=False):
        comps = [c for c in hpath.split("/") if c != ""]
        for c in comps:
            if c in (".", "..") or "\0" in c or (creating and ":" in c):
                raise HdfsError("InvalidPathException",
                                "Invalid path name Invalid file name: " + hpath)
        return comps

    def _resolve(self, hpath, creating=False):
        comps = self._comps(hpath, creating)
        norm = _join(comps)
        if ".snapshot" in comps:
            i = comps.index(".snapshot")
            sdir = _join(comps[:i])
            snaps = self.snaps.get(sdir)
            if i == len(comps) - 1:
                node = _Node("snaproot", norm, comps, None, None, None, sdir=sdir)
                if snaps is not None:
                    node.st = os.lstat(os.path.join(self.root, *comps[:i]))
                return node
            snap = snaps.get(comps[i + 1]) if snaps is not None else None
            rest = comps[i + 2:]
            if snap is None:
                return _Node("snap", norm, comps, None, {}, "/".join(rest), sdir=sdir)
            return _Node("snap", norm, comps, os.path.join(snap["dir"], *rest), snap["meta"],
                         "/".join(rest), sdir=sdir, snap=snap)
        return _Node("live", norm, comps, os.path.join(self.root, *comps), self.meta, norm)

    def _live(self, comps):
        return _Node("live", _join(comps), comps, os.path.join(self.root, *comps), self.meta,
                     _join(comps))

    def _new_id(self):
        with self.lock:
            self.next_id += 1
            return self.next_id - 1

    def _meta(self, node):
        """The node's HDFS metadata (created on first sight of a disk entry)."""
        st = node.st
        isdir = stat.S_ISDIR(st.st_mode)
        with self.lock:
            m = node.store.get(node.key)
            if m is None or m["dir"] != isdir:
                isfile = stat.S_ISREG(st.st_mode)
                m = {"id": 16385 if node.key in ("/", "") and node.kind == "live"
                     else self._new_id(),
                     "dir": isdir, "owner": self.superuser, "group": self.supergroup,
                     "perm": 0o755 if node.key == "/" and node.kind == "live"
                     else st.st_mode & 0o1777,
                     "repl": self.replication if isfile else 0,
                     "bs": self.block_size if isfile else 0,
                     "xattrs": {}, "acl": None,
                     "atime": int(st.st_atime * 1000) if isfile else 0, "blocks": None}
                node.store[node.key] = m
            return m

    def _new_meta(self, user, group, perm, isdir, repl=0, bs=0):
        now = int(time.time() * 1000)
        return {"id": self._new_id(), "dir": isdir, "owner": user, "group": group,
                "perm": perm, "repl": 0 if isdir else repl, "bs": 0 if isdir else bs,
                "xattrs": {}, "acl": None, "atime": 0 if isdir else now, "blocks": None}

    def _blocks(self, m, length):
        if m["blocks"] is not None and sum(m["blocks"]) == length:
            return list(m["blocks"])
        return regular_blocks(length, m["bs"] or self.block_size)

    def _status(self, node, suffix):
        st = node.st
        if node.kind == "snaproot":
            m = self._meta(self._live(node.comps[:-1]))
            return {"accessTime": 0, "blockSize": 0, "childrenNum": len(self.snaps.get(node.sdir, {})),
                    "fileId": m["id"], "group": m["group"], "length": 0,
                    "modificationTime": _mtime_ms(st), "owner": m["owner"], "pathSuffix": suffix,
                    "permission": "%o" % m["perm"], "replication": 0, "storagePolicy": 0,
                    "type": "DIRECTORY"}
        m = self._meta(node)
        isdir = stat.S_ISDIR(st.st_mode)
        islnk = stat.S_ISLNK(st.st_mode)
        mtime = _mtime_ms(st)
        if node.kind == "snap" and node.key == "":
            mtime = node.snap["ctime"]
        d = {"accessTime": 0 if isdir else m["atime"],
             "blockSize": 0 if isdir else m["bs"],
             "childrenNum": len(os.listdir(node.disk)) if isdir else 0,
             "fileId": m["id"], "group": m["group"],
             "length": st.st_size if stat.S_ISREG(st.st_mode) else 0,
             "modificationTime": mtime, "owner": m["owner"], "pathSuffix": suffix,
             "permission": "%o" % m["perm"], "replication": 0 if isdir else m["repl"],
             "storagePolicy": 0,
             "type": "DIRECTORY" if isdir else ("SYMLINK" if islnk else "FILE")}
        if islnk:
            d["symlink"] = os.readlink(node.disk)
            d["length"] = len(d["symlink"])
        if m["acl"]:
            d["aclBit"] = True
        if node.kind == "live" and isdir and node.hpath in self.snaps:
            d["snapshotEnabled"] = True
        return d

    def _child_names(self, node):
        """Sorted child names (HDFS byte order) of a directory or a /.snapshot dir."""
        if node.kind == "snaproot":
            return sorted(self.snaps.get(node.sdir, {}))
        return sorted(os.listdir(node.disk))

    def _child(self, node, name):
        if node.kind == "snaproot":
            return self._resolve(node.hpath + "/" + name)
        comps = node.comps + [name]
        if node.kind == "snap":
            key = node.key + "/" + name if node.key else name
        else:
            key = _join(comps)
        return _Node(node.kind, _join(comps), comps, os.path.join(node.disk, name), node.store,
                     key, sdir=node.sdir, snap=node.snap)

    def _children(self, node):
        return [(n, self._child(node, n)) for n in self._child_names(node)]

    # permissions ---------------------------------------------------------------

    def _groups_of(self, user):
        g = self.groups.get(user)
        if g is None:
            g = [user]
            if user == self.superuser:
                g = g + [self.supergroup]
        return g

    def _is_super(self, user):
        return user == self.superuser or self.supergroup in self._groups_of(user)

    def _allowed(self, user, m, access):
        if not self.permissions or self._is_super(user):
            return True
        perm = m["perm"]
        if user == m["owner"]:
            return (perm >> 6) & access == access
        ext = [e for e in (m["acl"] or []) if e[0] == "access"]
        groups = self._groups_of(user)
        if ext:
            mask = (perm >> 3) & 7
            for e in ext:
                if e[1] == "user" and e[2] == user:
                    return e[3] & mask & access == access
            found = False
            for e in ext:
                if e[1] == "group" and ((e[2] == "" and m["group"] in groups) or e[2] in groups):
                    found = True
                    if e[3] & mask & access == access:
                        return True
            if found:
                return False
            return perm & 7 & access == access
        if m["group"] in groups:
            return (perm >> 3) & 7 & access == access
        return perm & 7 & access == access

    def _deny(self, user, node, m, access):
        return HdfsError("AccessControlException",
                         'Permission denied: user=%s, access=%s, inode="%s":%s:%s:%s'
                         % (user, _FS_ACTIONS[access], node.hpath, m["owner"], m["group"],
                            _mode_str(m["perm"], m["dir"])))

    def _check(self, user, node, access):
        m = self._meta(node)
        if not self._allowed(user, m, access):
            raise self._deny(user, node, m, access)

    def _check_owner(self, user, node):
        if not self.permissions or self._is_super(user):
            return
        m = self._meta(node)
        if m["owner"] != user:
            raise HdfsError("AccessControlException", "Permission denied. user=%s is not the "
                            "owner of inode=%s" % (user, node.hpath))

    def _check_super(self, user):
        if self.permissions and not self._is_super(user):
            raise HdfsError("AccessControlException", "Access denied for user %s. Superuser "
                            "privilege is required" % user)

    def _walk_ancestors(self, user, comps, creating=False):
        """Traverse (x) check on the existing ancestors of comps, HDFS style. Returns
        (deepest existing ancestor node, missing) where missing is True when the parent of
        comps does not exist (or is not a directory, for reads)."""
        node = self._live([])
        n = len(comps)
        for i in range(n):
            # node is comps[:i] and exists; it must be a directory to go on
            if not node.isdir:
                if creating:
                    raise HdfsError("ParentNotDirectoryException",
                                    "%s (is not a directory)" % node.hpath)
                return node, True
            self._check(user, node, _X)
            if i == n - 1:
                break
            nxt = self._live(comps[:i + 1])
            if not nxt.exists:
                return node, True
            node = nxt
        return node, None

    def _read_node(self, ctx, path=None):
        hpath = path or ctx.hpath
        node = self._resolve(hpath)
        if node.kind == "live" and node.comps:
            anc, missing = self._walk_ancestors(ctx.user, node.comps)
            if missing is not None or not anc.isdir:
                node.st = None
        return node

    def _writable(self, ctx, path=None, creating=False):
        hpath = path or ctx.hpath
        if ".snapshot" in hpath.split("/"):
            raise HdfsError("SnapshotAccessControlException",
                            "Modification on a read-only snapshot is disallowed")
        return self._resolve(hpath, creating)

    def _has_snapshots_under(self, hpath):
        for d, snaps in self.snaps.items():
            if snaps and (d == hpath or d.startswith(hpath.rstrip("/") + "/")):
                return d
        return None

    def _sticky_check(self, user, parent, child):
        if not self.permissions or self._is_super(user):
            return
        pm = self._meta(parent)
        if not pm["perm"] & 0o1000:
            return
        cm = self._meta(child)
        if user not in (pm["owner"], cm["owner"]):
            raise HdfsError("AccessControlException",
                            'Permission denied by sticky bit: user=%s, path="%s":%s:%s:%s, '
                            'parent="%s":%s:%s:%s'
                            % (user, child.hpath, cm["owner"], cm["group"],
                               _mode_str(cm["perm"], cm["dir"]), parent.hpath, pm["owner"],
                               pm["group"], _mode_str(pm["perm"], True)))

    def _move_meta(self, src, dst, isdir):
        with self.lock:
            if src in self.meta:
                self.meta[dst] = self.meta.pop(src)
            if isdir:
                pre = src.rstrip("/") + "/"
                for k in [k for k in self.meta if k.startswith(pre)]:
                    self.meta[dst.rstrip("/") + "/" + k[len(pre):]] = self.meta.pop(k)
                for k in [k for k in self.snaps if k.startswith(pre)]:
                    self.snaps[dst.rstrip("/") + "/" + k[len(pre):]] = self.snaps.pop(k)
            if src in self.snaps:
                self.snaps[dst] = self.snaps.pop(src)

    def _drop_meta(self, hpath, isdir):
        with self.lock:
            self.meta.pop(hpath, None)
            self.snaps.pop(hpath, None)
            if isdir:
                pre = hpath.rstrip("/") + "/"
                for k in [k for k in self.meta if k.startswith(pre)]:
                    del self.meta[k]
                for k in [k for k in self.snaps if k.startswith(pre)]:
                    del self.snaps[k]

    def _mkdirs_disk(self, user, anc, comps, upto, perm_last, perm_implicit):
        """Create comps[len(anc.comps):upto] as directories, HDFS style (owner = user, group
        inherited from the parent)."""
        group = self._meta(anc)["group"]
        for i in range(len(anc.comps), upto):
            node = self._live(comps[:i + 1])
            os.mkdir(node.disk)
            perm = perm_last if i == upto - 1 and perm_last is not None else perm_implicit
            with self.lock:
                self.meta[node.key] = self._new_meta(user, group, perm, True)

    # -------------------------------------------------------------- read-only ops

    def _op_getfilestatus(self, ctx):
        node = self._read_node(ctx)
        if not node.exists:
            raise HdfsError("FileNotFoundException", "File does not exist: " + ctx.hpath)
        return self._json(ctx.role, {"FileStatus": self._status(node, "")})

    def _listing(self, ctx):
        node = self._read_node(ctx)
        if not node.exists:
            raise HdfsError("FileNotFoundException", "File %s does not exist." % ctx.hpath)
        if node.isdir or node.kind == "snaproot":
            if node.kind == "live":
                self._check(ctx.user, node, _R | _X)
            return node, self._child_names(node)
        return node, None

    def _op_liststatus(self, ctx):
        node, names = self._listing(ctx)
        if names is None:
            entries = [self._status(node, "")]
        else:
            entries = []
            for n in names:
                c = self._child(node, n)
                if c.exists:
                    entries.append(self._status(c, n))
        if ctx.role == "httpfs":
            return self._json(ctx.role, {"FileStatuses": {"FileStatus": entries}})

        def gen():   # the NameNode streams: see §1.4 "LISTSTATUS is streamed"
            yield b'{"FileStatuses":{"FileStatus":[\n'
            for i, e in enumerate(entries):
                yield (b",\n" if i else b"") + _dumps(e)
            yield b"\n]}}\n"
        return _Resp(200, headers=[("Content-Type", "application/json; charset=utf-8")],
                     stream=gen(), chunked=True)

    def _op_liststatus_batch(self, ctx):
        node, names = self._listing(ctx)
        if names is None:
            page, remaining = [self._status(node, "")], 0
        else:
            after = ctx.get("startAfter")
            if after:
                ab = after.encode("utf-8", "surrogateescape")
                names = [n for n in names if n.encode("utf-8", "surrogateescape") > ab]
            chosen = names[:self.page_size]
            page = []
            for n in chosen:
                c = self._child(node, n)
                if c.exists:
                    page.append(self._status(c, n))
            remaining = len(names) - len(chosen)
        return self._json(ctx.role, {"DirectoryListing": {
            "partialListing": {"FileStatuses": {"FileStatus": page}},
            "remainingEntries": remaining}})

    def _summary(self, node):
        dirs = files = length = space = 0
        stack = [node]
        while stack:
            n = stack.pop()
            if n.isdir or n.kind == "snaproot":
                dirs += 1
                stack.extend(c for _, c in self._children(n) if c.exists)
            elif n.exists:
                files += 1
                length += n.st.st_size
                space += n.st.st_size * self._meta(n)["repl"]
        return dirs, files, length, space

    def _op_getcontentsummary(self, ctx):
        node = self._read_node(ctx)
        if not node.exists:
            raise HdfsError("FileNotFoundException", "File does not exist: " + ctx.hpath)
        d, f, length, space = self._summary(node)
        return self._json(ctx.role, {"ContentSummary": {
            "directoryCount": d, "fileCount": f, "length": length, "quota": -1,
            "spaceConsumed": space, "spaceQuota": -1, "typeQuota": {}}})

    def _op_getquotausage(self, ctx):
        node = self._read_node(ctx)
        if not node.exists:
            raise HdfsError("FileNotFoundException", "File does not exist: " + ctx.hpath)
        d, f, _, space = self._summary(node)
        return self._json(ctx.role, {"QuotaUsage": {
            "fileAndDirectoryCount": d + f, "quota": -1, "spaceConsumed": space,
            "spaceQuota": -1, "typeQuota": {}}})

    def _op_gethomedirectory(self, ctx):
        return self._json(ctx.role, {"Path": "/user/" + ctx.user})

    def _op_gettrashroot(self, ctx):
        return self._json(ctx.role, {"Path": "/user/%s/.Trash" % ctx.user})

    def _op_getserverdefaults(self, ctx):
        return self._json(ctx.role, {"FsServerDefaults": {
            "blockSize": self.block_size, "bytesPerChecksum": self.bpc,
            "checksumType": 2 if self.checksum_type == "CRC32C" else 1,
            "defaultStoragePolicyId": 7, "encryptDataTransfer": False,
            "fileBufferSize": 4096, "keyProviderUri": "", "replication": self.replication,
            "trashInterval": 0, "writePacketSize": 65536}})

    def _op_getstatus(self, ctx):
        sv = os.statvfs(self.root)
        cap = sv.f_blocks * sv.f_frsize
        rem = sv.f_bavail * sv.f_frsize
        return self._json(ctx.role, {"FsStatus": {"capacity": cap, "remaining": rem,
                                                  "used": cap - sv.f_bfree * sv.f_frsize}})

    def _op_getfileblocklocations(self, ctx):
        node = self._read_node(ctx)
        if not node.exists:
            raise HdfsError("FileNotFoundException", "File does not exist: " + ctx.hpath)
        if not node.isfile:
            raise HdfsError("FileNotFoundException", "Path is not a file: " + ctx.hpath)
        self._check(ctx.user, node, _R)
        off = ctx.num("offset", 0, 0)
        ln = ctx.num("length", None, 0)
        end = node.st.st_size if ln is None else off + ln
        out, pos = [], 0
        host = "%s:%d" % (self.dn_host, 9866)
        for b in self._blocks(self._meta(node), node.st.st_size):
            if pos < end and pos + b > off or (b == 0 and pos == off):
                out.append({"cachedHosts": [], "corrupt": False, "hosts": [self.dn_host],
                            "length": b, "names": [host], "offset": pos,
                            "storageIds": ["DS-webhdfs-test-server"], "storageTypes": ["DISK"],
                            "topologyPaths": ["/default-rack/" + host]})
            pos += b
        return self._json(ctx.role, {"BlockLocations": {"BlockLocation": out}})

    # delegation tokens -----------------------------------------------------------

    def _op_getdelegationtoken(self, ctx):
        if "delegation" in ctx.raw_ident:
            raise HdfsError("IllegalArgumentException", "delegation parameter is not null.")
        tok = base64.urlsafe_b64encode(b"\x00WEBHDFS-TEST" + secrets.token_bytes(33)).decode().rstrip("=")
        with self.lock:
            self.tokens[tok] = [ctx.user, int(time.time() * 1000) + 86400000]
        return self._json(ctx.role, {"Token": {"urlString": tok}})

    def _op_renewdelegationtoken(self, ctx):
        tok = ctx.get("token") or ""
        with self.lock:
            ent = self.tokens.get(tok)
            if ent is None:
                raise HdfsError("InvalidToken", "Renewal request for unknown token")
            ent[1] = int(time.time() * 1000) + 86400000
            return self._json(ctx.role, {"long": ent[1]})

    def _op_canceldelegationtoken(self, ctx):
        with self.lock:
            if self.tokens.pop(ctx.get("token") or "", None) is None:
                raise HdfsError("InvalidToken", "Token not found")
        return self._empty()

    # -------------------------------------------------------------- data ops: NameNode side

    def _redirect(self, ctx, extra):
        """307 (or noredirect 200 JSON) to the DataNode, query built as redirectURI does."""
        q = "op=" + ctx.op
        if self.user_auth in ("basic", "kerberos") and ctx.role != "knox" and self.mode != "knox":
            tok = ctx.raw_ident.get("delegation")
            if tok is None:                              # the NameNode mints one for the caller
                tok = base64.urlsafe_b64encode(b"\x00WEBHDFS-TEST" + secrets.token_bytes(33)).decode().rstrip("=")
                with self.lock:
                    self.tokens[tok] = [ctx.user, int(time.time() * 1000) + 86400000]
            q += "&delegation=" + quote(tok, safe="")
        elif "delegation" in ctx.raw_ident:
            q += "&delegation=" + quote(ctx.raw_ident["delegation"], safe="")
        elif self.mode == "knox":
            q += "&user.name=" + quote(ctx.user, safe="")
        else:
            for k in ("doas", "user.name"):
                if k in ctx.raw_ident:
                    q += "&%s=%s" % (k, quote(ctx.raw_ident[k], safe=""))
        q += "&namenoderpcaddress=" + quote(self.rpc_address, safe=":")
        for k, v in sorted(extra):
            q += "&%s=%s" % (k, quote(v, safe=""))
        if self.mode == "knox":
            host, port = _KNOX_INTERNAL_DN, _KNOX_INTERNAL_DN_PORT
        else:
            host, port = self.dn_host, self.dn_port
        if getattr(ctx, "dead_dn", False):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
            s.close()
        url = "%s://%s:%d/webhdfs/v1%s?%s" % ("http" if self.mode == "knox" else self.scheme,
                                              host, port, quote(ctx.hpath, safe="/"), q)
        if ctx.bool("noredirect", False):
            return self._json(ctx.role, {"Location": url})
        return _Resp(307, b"", [("Location", url), ("Content-Type", "application/octet-stream")])

    def _passthrough(self, ctx, names):
        out = []
        for n in names:
            if ctx.get(n) is not None:
                out.append((n, ctx.get(n)))
        return out

    def _nn_existing_file(self, ctx):
        node = self._read_node(ctx)
        if not node.exists:
            raise HdfsError("FileNotFoundException", "File %s not found." % ctx.hpath)
        return node

    def _nn_open(self, ctx):
        offset = ctx.num("offset", 0, 0)
        length = ctx.num("length", None, 0)
        ctx.num("buffersize", None, 1, kind="int")
        node = self._nn_existing_file(ctx)
        size = node.st.st_size if node.isfile else 0
        if offset >= size and size > 0:
            raise HdfsError("IOException", "Offset=%d out of the range [0, %d); OPEN, path=%s"
                            % (offset, size, ctx.hpath))
        extra = [("offset", str(offset))]
        if length is not None:
            extra.append(("length", str(length)))
        return self._redirect(ctx, extra + self._passthrough(ctx, ["buffersize"]))

    def _nn_getfilechecksum(self, ctx):
        self._nn_existing_file(ctx)
        return self._redirect(ctx, [])

    def _nn_append(self, ctx):
        ctx.num("buffersize", None, 1, kind="int")
        self._nn_existing_file(ctx)
        return self._redirect(ctx, self._passthrough(ctx, ["buffersize"]))

    def _create_params(self, ctx):
        httpfs = ctx.role == "httpfs"
        return {
            "overwrite": ctx.bool("overwrite", httpfs),
            "blocksize": ctx.num("blocksize", None, -1 if httpfs else 1),
            "replication": ctx.num("replication", None, -1 if httpfs else 1, kind="short"),
            "permission": ctx.perm(0o755 if httpfs else 0o644),
            "buffersize": ctx.num("buffersize", None, 1, kind="int"),
            "createparent": ctx.bool("createparent", True),
            "createflag": ctx.get("createflag", ""),
        }

    def _nn_create(self, ctx):
        p = self._create_params(ctx)
        extra = [("createflag", p["createflag"]), ("createparent", str(p["createparent"]).lower()),
                 ("overwrite", str(p["overwrite"]).lower())]
        if ctx.get("permission") is not None:
            extra.append(("permission", "%o" % p["permission"]))
        for n in ("blocksize", "replication", "buffersize"):
            if p[n] is not None:
                extra.append((n, str(p[n])))
        if ctx.get("unmaskedpermission") is not None:
            extra.append(("unmaskedpermission", ctx.get("unmaskedpermission")))
        return self._redirect(ctx, extra)

    # -------------------------------------------------------------- data ops: HttpFS side

    def _httpfs_self_url(self, ctx, add_data=False):
        pairs = [(k, v) for k, v in ctx.pairs if k not in ("noredirect", "data")]
        if add_data:
            pairs.append(("data", "true"))
        q = "&".join("%s=%s" % (quote(k, safe=""), quote(v, safe="")) for k, v in pairs)
        return "%s://127.0.0.1:%d/webhdfs/v1%s?%s" % (self.scheme, self.nn_port,
                                                      quote(ctx.hpath, safe="/"), q)

    def _httpfs_open(self, ctx):
        if ctx.bool("noredirect", False):
            return self._json(ctx.role, {"Location": self._httpfs_self_url(ctx)})
        return self._data_open(ctx)

    def _httpfs_getfilechecksum(self, ctx):
        if ctx.bool("noredirect", False):
            return self._json(ctx.role, {"Location": self._httpfs_self_url(ctx)})
        return self._data_getfilechecksum(ctx)

    def _httpfs_upload(self, ctx, fn):
        if not ctx.bool("data", False):
            url = self._httpfs_self_url(ctx, add_data=True)
            if ctx.bool("noredirect", False):
                return self._json(ctx.role, {"Location": url})
            return _Resp(307, b"", [("Location", url)])
        return fn(ctx)

    def _httpfs_create(self, ctx):
        self._create_params(ctx)
        return self._httpfs_upload(ctx, self._data_create)

    def _httpfs_append(self, ctx):
        return self._httpfs_upload(ctx, self._data_append)

    # -------------------------------------------------------------- data ops: DataNode side

    def _data_node_file(self, ctx):
        node = self._read_node(ctx)
        if not node.exists:
            raise HdfsError("FileNotFoundException", "File does not exist: " + ctx.hpath)
        if not node.isfile:
            raise HdfsError("FileNotFoundException", "Path is not a file: " + ctx.hpath)
        if node.kind == "live":
            self._check(ctx.user, node, _R)
        return node

    def _data_open(self, ctx):
        offset = ctx.num("offset", 0, 0)
        length = ctx.num("length", None, 0 if ctx.role == "dn" else -1)
        if length is not None and length < 0:
            length = None
        ctx.num("buffersize", None, 1, kind="int")
        node = self._data_node_file(ctx)
        size = node.st.st_size
        if offset > size:
            raise HdfsError("EOFException", "Cannot seek after EOF")
        n = size - offset if length is None else min(size - offset, length)
        f = open(node.disk, "rb")
        f.seek(offset)
        if node.kind == "live":
            with self.lock:
                self._meta(node)["atime"] = int(time.time() * 1000)

        class _Stream:
            def __iter__(self_inner):
                left = n
                while left > 0:
                    b = f.read(min(left, 1 << 16))
                    if not b:
                        break
                    left -= len(b)
                    yield b

            def close(self_inner):
                f.close()
        headers = [("Content-Type", "application/octet-stream")]
        if ctx.role == "dn":
            headers += [("Access-Control-Allow-Methods", "GET"),
                        ("Access-Control-Allow-Origin", "*")]
        return _Resp(200, headers=headers, stream=_Stream(), length=n, close=(ctx.role == "dn"))

    def _data_getfilechecksum(self, ctx):
        node = self._data_node_file(ctx)
        m = self._meta(node)
        with open(node.disk, "rb") as f:
            if self.combine_mode == "COMPOSITE_CRC" and node.st.st_size > 0:
                algo, raw = composite_crc_checksum(f, self.checksum_type)
            else:
                algo, raw = md5md5crc_checksum(f, self._blocks(m, node.st.st_size), self.bpc,
                                               self.checksum_type)
        return self._json(ctx.role, file_checksum_json(algo, raw))

    def _client_ip(self, ctx):
        return ctx.h.client_address[0]

    def _data_create(self, ctx):
        if ctx.role == "dn":
            ctx.h.send_continue()                       # the DataNode writes 100 first (§1.3)
        p = self._create_params(ctx)
        flags = [f.strip().lower() for f in p["createflag"].split(",") if f.strip()]
        overwrite = p["overwrite"] or "overwrite" in flags
        bs = p["blocksize"] if p["blocksize"] not in (None, -1) else self.block_size
        repl = p["replication"] if p["replication"] not in (None, -1) else self.replication
        perm = p["permission"] & ~self.umask
        if bs % self.bpc:
            raise HdfsError("HadoopIllegalArgumentException", "Invalid values: dfs.bytes-per-"
                            "checksum (=%d) must divide block size (=%d)." % (self.bpc, bs))
        with self.lock:
            node = self._writable(ctx, creating=True)
            user = ctx.user
            if node.kind == "live" and not node.comps:
                raise HdfsError("FileAlreadyExistsException", "/ already exists as a directory")
            anc, missing = self._walk_ancestors(user, node.comps, creating=True)
            if bs < self.min_block_size:
                raise HdfsError("IOException", "Specified block size is less than configured "
                                "minimum value (dfs.namenode.fs-limits.min-block-size): %d < %d"
                                % (bs, self.min_block_size))
            if repl > _MAX_REPLICATION:
                raise HdfsError("IOException", "Requested replication factor of %d exceeds "
                                "maximum of %d for %s from %s" % (repl, _MAX_REPLICATION,
                                                                 node.hpath, self._client_ip(ctx)))
            append = False
            if node.exists:
                if node.isdir:
                    raise HdfsError("FileAlreadyExistsException",
                                    "%s already exists as a directory" % node.hpath)
                if "append" in flags and not overwrite:
                    append = True
                    self._check(user, node, _W)
                elif not overwrite:
                    raise HdfsError("FileAlreadyExistsException", "%s for client %s already "
                                    "exists" % (node.hpath, self._client_ip(ctx)))
                else:
                    self._check(user, node, _W)
            else:
                if missing is not None and not p["createparent"]:
                    raise HdfsError("FileNotFoundException", "Parent directory doesn't exist: "
                                    + _join(node.comps[:-1]))
                self._check(user, anc, _W)
            if append:
                f = open(node.disk, "ab")
                old = node.st.st_size
            else:
                if missing is not None:
                    # implicit ancestors: the existing parent's permission plus u+wx
                    implicit = (self._meta(anc)["perm"] | 0o300) & 0o777
                    self._mkdirs_disk(user, anc, node.comps, len(node.comps) - 1, None, implicit)
                if node.exists:
                    os.unlink(node.disk)                 # overwrite = delete + create (new inode)
                    self._drop_meta(node.hpath, False)
                parent = self._live(node.comps[:-1])
                group = self._meta(parent)["group"]
                f = open(node.disk, "wb")
                self.meta[node.key] = self._new_meta(user, group, perm, False, repl, bs)
                old = 0
        added = self._stream_into(ctx, f)
        if append:
            self._after_append(node.key, old, added)
        if ctx.role == "httpfs":
            loc = "%s://127.0.0.1:%d/webhdfs/v1%s" % (self.scheme, self.nn_port,
                                                    quote(ctx.hpath, safe="/"))
            return self._json(ctx.role, {"Location": loc}, 201, [("Location", loc)])
        loc = "hdfs://%s%s" % (self.rpc_address, quote(ctx.hpath, safe="/"))
        return _Resp(201, b"", [("Location", loc)])

    def _stream_into(self, ctx, f):
        total = 0
        try:
            for chunk in (_flip_first(ctx.h._body.iter()) if ctx.corrupt else ctx.h._body.iter()):
                f.write(chunk)
                total += len(chunk)
        finally:
            f.close()
        return total

    def _after_append(self, key, old, added):
        with self.lock:
            m = self.meta.get(key)
            if m is None or m["blocks"] is None:
                return
            blocks = list(m["blocks"]) or []
            bs = m["bs"]
            if blocks and blocks[-1] < bs and added:
                fill = min(bs - blocks[-1], added)
                blocks[-1] += fill
                added -= fill
            blocks += regular_blocks(added, bs)
            m["blocks"] = None if blocks == regular_blocks(sum(blocks), bs) else blocks

    def _data_append(self, ctx):
        if ctx.role == "dn":
            ctx.h.send_continue()
        ctx.num("buffersize", None, 1, kind="int")
        with self.lock:
            node = self._writable(ctx)
            if node.kind == "live" and node.comps:
                anc, missing = self._walk_ancestors(ctx.user, node.comps)
                if missing is not None:
                    node.st = None
            if not node.exists:
                raise HdfsError("FileNotFoundException", "Failed to append to non-existent file "
                                "%s for client %s" % (ctx.hpath, self._client_ip(ctx)))
            if not node.isfile:
                raise HdfsError("FileNotFoundException", "Path is not a file: " + ctx.hpath)
            self._check(ctx.user, node, _W)
            self._meta(node)
            old = node.st.st_size
            f = open(node.disk, "ab")
        added = self._stream_into(ctx, f)
        self._after_append(node.key, old, added)
        return self._empty() if ctx.role == "dn" else _Resp(200, b"", [("Content-Type", "application/json")])

    # -------------------------------------------------------------- namespace writes

    def _op_mkdirs(self, ctx):
        perm = ctx.perm(0o755) & ~self.umask
        with self.lock:
            node = self._writable(ctx, creating=True)
            anc, missing = self._walk_ancestors(ctx.user, node.comps, creating=True)
            if node.exists:
                if not node.isdir:
                    raise HdfsError("FileAlreadyExistsException",
                                    "Path is not a directory: " + node.hpath)
                return self._json(ctx.role, {"boolean": True})
            self._check(ctx.user, anc, _W)
            self._mkdirs_disk(ctx.user, anc, node.comps, len(node.comps), perm,
                              (perm | 0o300) & 0o777)
        return self._json(ctx.role, {"boolean": True})

    def _op_rename(self, ctx):
        dst = ctx.get("destination")
        if dst is None:
            raise HdfsError("IllegalArgumentException", "destination is null")
        if not dst.startswith("/"):
            raise _param_error("destination", 'Invalid parameter value: destination = "%s" is '
                               "not an absolute path." % dst)
        opts = [o.strip().upper() for o in (ctx.get("renameoptions") or "").split(",")
                if o.strip()]
        for o in opts:
            if o not in ("NONE", "OVERWRITE", "TO_TRASH"):
                raise _param_error("renameoptions", "No enum constant "
                                   "org.apache.hadoop.fs.Options.Rename." + o)
        if opts:
            return self._rename2(ctx, dst, "OVERWRITE" in opts)
        false = self._json(ctx.role, {"boolean": False})
        with self.lock:
            src = self._writable(ctx)
            dnode = self._writable(ctx, dst, creating=True)
            if src.kind == "live" and src.comps:
                anc, missing = self._walk_ancestors(ctx.user, src.comps)
                if missing is not None:
                    return false
            if not src.exists or not src.comps:
                return false
            if dnode.hpath == src.hpath:
                return self._json(ctx.role, {"boolean": True})
            if dnode.hpath.startswith(src.hpath + "/"):
                raise HdfsError("IOException", "Rename destination %s is a directory or file "
                                "under source %s" % (dnode.hpath, src.hpath))
            if dnode.exists and dnode.isdir:
                dnode = self._live(dnode.comps + [src.comps[-1]])
            if dnode.exists:
                return false
            dparent = self._live(dnode.comps[:-1])
            if not dparent.isdir:
                return false
            if dparent.hpath == src.hpath or dparent.hpath.startswith(src.hpath + "/"):
                raise HdfsError("IOException", "Rename destination %s is a directory or file "
                                "under source %s" % (dnode.hpath, src.hpath))
            sd = self._has_snapshots_under(src.hpath) if src.isdir else None
            if sd:
                raise HdfsError("SnapshotException", "The directory %s cannot be deleted since %s "
                                "is snapshottable and already has snapshots" % (sd, sd))
            sparent = self._live(src.comps[:-1])
            self._walk_ancestors(ctx.user, dnode.comps)
            self._check(ctx.user, sparent, _W)
            self._sticky_check(ctx.user, sparent, src)
            self._check(ctx.user, dparent, _W)
            os.rename(src.disk, dnode.disk)
            self._move_meta(src.hpath, dnode.hpath, src.isdir)
        return self._json(ctx.role, {"boolean": True})

    def _rename2(self, ctx, dst, overwrite):
        """RENAME with renameoptions (FileContext-style rename2): errors instead of false."""
        with self.lock:
            src = self._writable(ctx)
            dnode = self._writable(ctx, dst, creating=True)
            anc, missing = self._walk_ancestors(ctx.user, src.comps)
            if missing is not None or not src.exists:
                raise HdfsError("FileNotFoundException", "rename source %s is not found."
                                % src.hpath)
            if not src.comps:
                raise HdfsError("IOException", "rename source cannot be the root")
            if dnode.hpath == src.hpath:
                raise HdfsError("FileAlreadyExistsException", "The source %s and destination %s "
                                "are the same" % (src.hpath, dnode.hpath))
            if dnode.hpath.startswith(src.hpath + "/"):
                raise HdfsError("IOException", "Rename destination %s is a directory or file "
                                "under source %s" % (dnode.hpath, src.hpath))
            if not dnode.comps:
                raise HdfsError("IOException", "rename destination cannot be the root")
            dparent = self._live(dnode.comps[:-1])
            if not dparent.exists:
                raise HdfsError("FileNotFoundException", "rename destination parent %s not "
                                "found." % dparent.hpath)
            if not dparent.isdir:
                raise HdfsError("ParentNotDirectoryException", "rename destination parent %s is "
                                "a file." % dparent.hpath)
            sd = self._has_snapshots_under(src.hpath) if src.isdir else None
            if sd:
                raise HdfsError("SnapshotException", "The directory %s cannot be deleted since %s "
                                "is snapshottable and already has snapshots" % (sd, sd))
            sparent = self._live(src.comps[:-1])
            self._walk_ancestors(ctx.user, dnode.comps)
            self._check(ctx.user, sparent, _W)
            self._sticky_check(ctx.user, sparent, src)
            self._check(ctx.user, dparent, _W)
            if dnode.exists:
                if not overwrite:
                    raise HdfsError("FileAlreadyExistsException", "rename destination %s already "
                                    "exists." % dnode.hpath)
                if dnode.isdir != src.isdir:
                    raise HdfsError("IOException", "Source %s and destination %s must both be "
                                    "directories" % (src.hpath, dnode.hpath) if src.isdir else
                                    "Source %s and destination %s must both be files"
                                    % (src.hpath, dnode.hpath))
                if dnode.isdir and os.listdir(dnode.disk):
                    raise HdfsError("IOException", "rename destination directory is not empty: "
                                    + dnode.hpath)
                self._sticky_check(ctx.user, dparent, dnode)
                if dnode.isdir:
                    os.rmdir(dnode.disk)
                self._drop_meta(dnode.hpath, dnode.isdir)
            os.replace(src.disk, dnode.disk)
            self._move_meta(src.hpath, dnode.hpath, src.isdir)
        return self._empty()

    def _op_delete(self, ctx):
        recursive = ctx.bool("recursive", False)
        with self.lock:
            node = self._writable(ctx)
            if node.kind == "live" and node.comps:
                anc, missing = self._walk_ancestors(ctx.user, node.comps)
                if missing is not None:
                    node.st = None
            if not node.exists or not node.comps:
                return self._json(ctx.role, {"boolean": False})
            if node.isdir and not recursive and os.listdir(node.disk):
                raise HdfsError("PathIsNotEmptyDirectoryException",
                                "`%s is non empty': Directory is not empty" % node.hpath)
            if node.isdir:
                sd = self._has_snapshots_under(node.hpath)
                if sd:
                    raise HdfsError("SnapshotException", "The directory %s cannot be deleted "
                                    "since %s is snapshottable and already has snapshots"
                                    % (sd, sd))
            parent = self._live(node.comps[:-1])
            self._check(ctx.user, parent, _W)
            self._sticky_check(ctx.user, parent, node)
            if node.isdir and self.permissions and not self._is_super(ctx.user):
                stack = [node]
                while stack:
                    n = stack.pop()
                    if n.isdir:
                        if os.listdir(n.disk):
                            self._check(ctx.user, n, 7)
                        stack.extend(c for _, c in self._children(n))
            if node.isdir:
                shutil.rmtree(node.disk)
            else:
                os.unlink(node.disk)
            self._drop_meta(node.hpath, node.isdir)
        return self._json(ctx.role, {"boolean": True})

    def _op_concat(self, ctx):
        srcs = [s for s in (ctx.get("sources") or "").split(",") if s]
        if not srcs:
            raise HdfsError("IllegalArgumentException", "No sources given")
        with self.lock:
            tgt = self._writable(ctx)
            anc, missing = self._walk_ancestors(ctx.user, tgt.comps)
            if missing is not None or not tgt.exists:
                raise HdfsError("FileNotFoundException", "File does not exist: " + ctx.hpath)
            self._check(ctx.user, tgt, _W)
            if not tgt.isfile:
                raise HdfsError("FileNotFoundException", "Path is not a file: " + ctx.hpath)
            tm = self._meta(tgt)
            nodes, seen = [], set()
            for s in srcs:
                sn = self._writable(ctx, s)
                a2, miss2 = self._walk_ancestors(ctx.user, sn.comps)
                if miss2 is not None or not sn.exists:
                    raise HdfsError("FileNotFoundException", "File does not exist: " + s)
                self._check(ctx.user, sn, _R)
                self._check(ctx.user, self._live(sn.comps[:-1]), _W)
                if not sn.isfile:
                    raise HdfsError("FileNotFoundException", "Path is not a file: " + s)
                if sn.comps[:-1] != tgt.comps[:-1]:
                    raise HdfsError("HadoopIllegalArgumentException", "Source file %s is not in "
                                    "the same directory with the target %s" % (s, tgt.hpath))
                sm = self._meta(sn)
                if self._in_snapshot(sn, sm):
                    raise HdfsError("SnapshotException", "Concat: the source file %s is in "
                                    "snapshot" % s)
                if sn.hpath == tgt.hpath:
                    raise HdfsError("HadoopIllegalArgumentException", "concat: the src file %s is "
                                    "the same with the target file %s" % (s, tgt.hpath))
                if sn.st.st_size == 0:
                    raise HdfsError("HadoopIllegalArgumentException", "concat: source file %s is "
                                    "invalid or empty or underConstruction" % s)
                if sm["bs"] > tm["bs"]:
                    raise HdfsError("HadoopIllegalArgumentException", "concat: source file %s has "
                                    "preferred block size %d which is greater than the target "
                                    "file's preferred block size %d" % (s, sm["bs"], tm["bs"]))
                seen.add(sn.hpath)
                nodes.append(sn)
            if len(seen) < len(srcs):
                raise HdfsError("HadoopIllegalArgumentException",
                                "concat: at least two of the source files are the same")
            blocks = self._blocks(tm, tgt.st.st_size)
            with open(tgt.disk, "ab") as out:
                for sn in nodes:
                    blocks += self._blocks(self._meta(sn), sn.st.st_size)
                    with open(sn.disk, "rb") as inp:
                        shutil.copyfileobj(inp, out, 1 << 20)
            for sn in nodes:
                os.unlink(sn.disk)
                self._drop_meta(sn.hpath, False)
            tm["blocks"] = None if blocks == regular_blocks(sum(blocks), tm["bs"]) else blocks
        return self._empty()

    def _in_snapshot(self, node, m):
        for d, snaps in self.snaps.items():
            if node.hpath.startswith(d.rstrip("/") + "/"):
                rel = node.hpath[len(d.rstrip("/")) + 1:]
                for s in snaps.values():
                    sm = s["meta"].get(rel)
                    if sm is not None and sm["id"] == m["id"]:
                        return True
        return False

    def _op_truncate(self, ctx):
        newlen = ctx.num("newlength", None, 0)
        if newlen is None:
            raise HdfsError("IllegalArgumentException", "newlength is null")
        with self.lock:
            node = self._writable(ctx)
            if node.comps:
                anc, missing = self._walk_ancestors(ctx.user, node.comps)
                if missing is not None:
                    node.st = None
            if not node.exists:
                raise HdfsError("FileNotFoundException", "File does not exist: " + ctx.hpath)
            if not node.isfile:
                raise HdfsError("FileNotFoundException", "Path is not a file: " + ctx.hpath)
            self._check(ctx.user, node, _W)
            size = node.st.st_size
            if newlen > size:
                raise HdfsError("HadoopIllegalArgumentException", "Cannot truncate to a larger "
                                "file size. Current size: %d, truncate size: %d." % (size, newlen))
            m = self._meta(node)
            blocks = self._blocks(m, size)
            os.truncate(node.disk, newlen)
            cut, pos, boundary = [], 0, newlen == size
            for b in blocks:
                if pos >= newlen:
                    break
                cut.append(min(b, newlen - pos))
                pos += b
                if pos == newlen:
                    boundary = True
            m["blocks"] = None if cut == regular_blocks(newlen, m["bs"]) else cut
        return self._json(ctx.role, {"boolean": boundary or newlen == 0})

    def _existing_for_attr(self, ctx):
        node = self._writable(ctx)
        if node.comps:
            anc, missing = self._walk_ancestors(ctx.user, node.comps)
            if missing is not None:
                node.st = None
        if not node.exists:
            raise HdfsError("FileNotFoundException", "File does not exist: " + ctx.hpath)
        return node

    def _op_setpermission(self, ctx):
        perm = ctx.perm(0o755)
        with self.lock:
            node = self._existing_for_attr(ctx)
            self._check_owner(ctx.user, node)
            m = self._meta(node)
            m["perm"] = perm
        return self._empty()

    def _op_setowner(self, ctx):
        owner = ctx.get("owner") or None
        group = ctx.get("group") or None
        if owner is None and group is None:
            raise HdfsError("IllegalArgumentException", "Both owner and group are empty.")
        with self.lock:
            node = self._existing_for_attr(ctx)
            m = self._meta(node)
            if self.permissions and not self._is_super(ctx.user):
                self._check_owner(ctx.user, node)
                if owner is not None and owner != m["owner"]:
                    raise HdfsError("AccessControlException", "User %s is not a super user "
                                    "(non-super user cannot change owner)." % ctx.user)
                if group is not None and group not in self._groups_of(ctx.user):
                    raise HdfsError("AccessControlException",
                                    "User %s does not belong to %s" % (ctx.user, group))
            if owner is not None:
                m["owner"] = owner
            if group is not None:
                m["group"] = group
        return self._empty()

    def _op_settimes(self, ctx):
        mt = ctx.num("modificationtime", -1, -1)
        at = ctx.num("accesstime", -1, -1)
        with self.lock:
            node = self._existing_for_attr(ctx)
            self._check(ctx.user, node, _W)
            m = self._meta(node)
            if mt != -1:
                os.utime(node.disk, ns=(node.st.st_atime_ns, mt * 1_000_000), follow_symlinks=False)
            if at != -1 and not node.isdir:
                m["atime"] = at
        return self._empty()

    def _op_setreplication(self, ctx):
        repl = ctx.num("replication", None, 1, kind="short")
        with self.lock:
            node = self._existing_for_attr(ctx)
            self._check(ctx.user, node, _W)
            if node.isdir:
                return self._json(ctx.role, {"boolean": False})
            repl = self.replication if repl is None else repl
            if repl > _MAX_REPLICATION:
                raise HdfsError("IOException", "Requested replication factor of %d exceeds "
                                "maximum of %d for %s from %s" % (repl, _MAX_REPLICATION,
                                                                 node.hpath, self._client_ip(ctx)))
            self._meta(node)["repl"] = repl
        return self._json(ctx.role, {"boolean": True})

    # xattrs ---------------------------------------------------------------------

    def _xattr_name(self, ctx, name):
        if name is None:
            raise HdfsError("IllegalArgumentException", "XAttr name cannot be null.")
        if not name.startswith(_XATTR_NS) or name in _XATTR_NS:
            raise _param_error("xattr.name", 'Invalid value: "%s" does not belong to the domain '
                               "^(user\\.|trusted\\.|system\\.|security\\.).+" % name)
        if not name.startswith("user.") and not (name.startswith("trusted.")
                                                 and self._is_super(ctx.user)):
            raise HdfsError("AccessControlException", "User doesn't have permission for xattr: "
                            + name)
        return name

    @staticmethod
    def _xattr_decode(v):
        if v is None:
            return None
        if len(v) >= 2 and v.startswith('"') and v.endswith('"'):
            return v[1:-1].encode("utf-8")
        if len(v) >= 2 and v[:2].lower() == "0x":
            try:
                return bytes.fromhex(v[2:])
            except ValueError:
                raise HdfsError("IllegalArgumentException", "Invalid hex value: " + v) from None
        if len(v) >= 2 and v[:2].lower() == "0s":
            try:
                return base64.b64decode(v[2:], validate=True)
            except Exception:
                raise HdfsError("IllegalArgumentException", "Invalid base64 value: " + v) from None
        return v.encode("utf-8")

    @staticmethod
    def _xattr_encode(b, enc):
        if b is None:
            return None
        enc = (enc or "TEXT").upper()
        if enc == "HEX":
            return "0x" + b.hex()
        if enc == "BASE64":
            return "0s" + base64.b64encode(b).decode()
        return '"%s"' % b.decode("utf-8", "replace")

    def _op_setxattr(self, ctx):
        name = self._xattr_name(ctx, ctx.get("xattr.name"))
        value = self._xattr_decode(ctx.get("xattr.value"))
        flags = {f.strip().upper() for f in (ctx.get("flag") or "").split(",") if f.strip()}
        if flags - {"CREATE", "REPLACE"}:
            raise _param_error("flag", "No enum constant org.apache.hadoop.fs.XAttrSetFlag.%s"
                               % sorted(flags - {"CREATE", "REPLACE"})[0])
        if not flags:
            flags = {"CREATE", "REPLACE"}
        with self.lock:
            node = self._existing_for_attr(ctx)
            self._check(ctx.user, node, _W)
            xa = self._meta(node)["xattrs"]
            if name in xa and "REPLACE" not in flags:
                raise HdfsError("IOException", "XAttr: %s already exists. The REPLACE flag must "
                                "be specified." % name)
            if name not in xa and "CREATE" not in flags:
                raise HdfsError("IOException", "XAttr: %s does not exist. The CREATE flag must "
                                "be specified." % name)
            xa[name] = value
        return self._empty()

    def _op_removexattr(self, ctx):
        name = self._xattr_name(ctx, ctx.get("xattr.name"))
        with self.lock:
            node = self._existing_for_attr(ctx)
            self._check(ctx.user, node, _W)
            xa = self._meta(node)["xattrs"]
            if name not in xa:
                raise HdfsError("IOException", "No matching attributes found for remove operation")
            del xa[name]
        return self._empty()

    def _op_getxattrs(self, ctx):
        names = ctx.getall("xattr.name")
        enc = ctx.get("encoding")
        if enc is not None and enc.upper() not in ("TEXT", "HEX", "BASE64"):
            raise _param_error("encoding", "No enum constant org.apache.hadoop.fs.XAttrCodec."
                               + enc.upper())
        node = self._read_node(ctx)
        if not node.exists:
            raise HdfsError("FileNotFoundException", "File does not exist: " + ctx.hpath)
        if node.kind == "live":
            self._check(ctx.user, node, _R)
        xa = self._meta(node)["xattrs"] if node.kind != "snaproot" else {}
        visible = {k: v for k, v in xa.items()
                   if k.startswith("user.") or (k.startswith("trusted.") and self._is_super(ctx.user))}
        if names:
            for n in names:
                self._xattr_name(ctx, n)
            if any(n not in visible for n in names):
                raise HdfsError("IOException",
                                "At least one of the attributes provided was not found.")
            keys = names
        else:
            keys = sorted(visible)
        out = [{"name": k, "value": self._xattr_encode(visible[k], enc)} for k in keys]
        return self._json(ctx.role, {"XAttrs": out})

    def _op_listxattrs(self, ctx):
        node = self._read_node(ctx)
        if not node.exists:
            raise HdfsError("FileNotFoundException", "File does not exist: " + ctx.hpath)
        xa = self._meta(node)["xattrs"] if node.kind != "snaproot" else {}
        names = [k for k in sorted(xa)
                 if k.startswith("user.") or (k.startswith("trusted.") and self._is_super(ctx.user))]
        return self._json(ctx.role, {"XAttrNames": json.dumps(names, separators=(",", ":"))})

    # ACLs -----------------------------------------------------------------------

    def _acl_op(self, ctx, transform):
        with self.lock:
            node = self._existing_for_attr(ctx)
            self._check_owner(ctx.user, node)
            m = self._meta(node)
            full = transform(_full_acl(m), m)
            trial = dict(m)
            _store_acl(trial, full)
            m["perm"], m["acl"] = trial["perm"], trial["acl"]
        return self._empty()

    def _op_setacl(self, ctx):
        spec = _parse_aclspec(ctx.get("aclspec"))

        def tf(full, m):
            has_acc = any(e[0] == "access" for e in spec)
            has_def = any(e[0] == "default" for e in spec)
            keep = [e for e in full if (e[0] == "access" and not has_acc)
                    or (e[0] == "default" and not has_def)]
            return keep + spec
        return self._acl_op(ctx, tf)

    def _op_modifyaclentries(self, ctx):
        spec = _parse_aclspec(ctx.get("aclspec"))

        def tf(full, m):
            d = {(e[0], e[1], e[2]): e for e in full}
            if not any(e[1] == "mask" and e[0] == "access" for e in spec):
                d.pop(("access", "mask", ""), None)
            if not any(e[1] == "mask" and e[0] == "default" for e in spec):
                d.pop(("default", "mask", ""), None)
            for e in spec:
                d[(e[0], e[1], e[2])] = e
            return list(d.values())
        return self._acl_op(ctx, tf)

    def _op_removeaclentries(self, ctx):
        spec = _parse_aclspec(ctx.get("aclspec"), need_perm=False)

        def tf(full, m):
            gone = {(e[0], e[1], e[2]) for e in spec}
            out = [e for e in full if (e[0], e[1], e[2]) not in gone
                   and not (e[1] == "mask")]
            return out
        return self._acl_op(ctx, tf)

    def _op_removedefaultacl(self, ctx):
        return self._acl_op(ctx, lambda full, m: [e for e in full if e[0] == "access"])

    def _op_removeacl(self, ctx):
        def tf(full, m):
            acc = {(e[1], e[2]): e for e in full if e[0] == "access"}
            grp = [e for e in (m["acl"] or []) if e[0] == "access" and e[1] == "group" and not e[2]]
            g = grp[0][3] if grp else (m["perm"] >> 3) & 7
            return [acc[("user", "")], ("access", "group", "", g), acc[("other", "")]]
        return self._acl_op(ctx, tf)

    def _op_getaclstatus(self, ctx):
        node = self._read_node(ctx)
        if not node.exists:
            raise HdfsError("FileNotFoundException", "File does not exist: " + ctx.hpath)
        m = self._meta(node) if node.kind != "snaproot" else self._meta(self._live(node.comps[:-1]))
        return self._json(ctx.role, {"AclStatus": {
            "entries": [_acl_str(e) for e in (m["acl"] or [])], "group": m["group"],
            "owner": m["owner"], "permission": "%o" % m["perm"],
            "stickyBit": bool(m["perm"] & 0o1000)}})

    def _op_checkaccess(self, ctx):
        a = ctx.get("fsaction") or ""
        if len(a) != 3 or any(c not in (x, "-") for c, x in zip(a, "rwx")):
            raise _param_error("fsaction", 'Invalid value: "%s" does not belong to the domain '
                               "[r-][w-][x-]" % a)
        access = (4 if a[0] == "r" else 0) | (2 if a[1] == "w" else 0) | (1 if a[2] == "x" else 0)
        node = self._read_node(ctx)
        if not node.exists:
            raise HdfsError("FileNotFoundException", "File does not exist: " + ctx.hpath)
        if node.kind == "live":
            self._check(ctx.user, node, access)
        return self._empty()

    # -------------------------------------------------------------- snapshots

    def _snapshottable(self, ctx, hpath=None):
        node = self._existing_for_attr(ctx) if hpath is None else self._resolve(hpath)
        if node.hpath not in self.snaps:
            raise HdfsError("SnapshotException",
                            "Directory is not a snapshottable directory: " + node.hpath)
        return node

    def _op_allowsnapshot(self, ctx):
        with self.lock:
            self._check_super(ctx.user)
            node = self._writable(ctx)
            if not node.exists:
                raise HdfsError("FileNotFoundException", "Directory does not exist: " + ctx.hpath)
            if not node.isdir:
                raise HdfsError("FileNotFoundException", "Path is not a directory: " + ctx.hpath)
            if node.hpath in self.snaps:
                return self._empty()
            for d in self.snaps:
                if node.hpath.startswith(d.rstrip("/") + "/"):
                    raise HdfsError("SnapshotException", "Nested snapshottable directories not "
                                    "allowed: path=%s, the ancestor %s is already a snapshottable "
                                    "directory." % (node.hpath, d))
                if d.startswith(node.hpath.rstrip("/") + "/"):
                    raise HdfsError("SnapshotException", "Nested snapshottable directories not "
                                    "allowed: path=%s, the subdirectory %s is already a "
                                    "snapshottable directory." % (node.hpath, d))
            self.snaps[node.hpath] = {}
        return self._empty()

    def _op_disallowsnapshot(self, ctx):
        with self.lock:
            self._check_super(ctx.user)
            node = self._existing_for_attr(ctx)
            if self.snaps.get(node.hpath):
                raise HdfsError("SnapshotException", "The directory %s has snapshot(s). Please redo "
                                "the operation after removing all the snapshots." % node.hpath)
            self.snaps.pop(node.hpath, None)
        return self._empty()

    def _materialize(self, node):
        """Give every entry under node metadata (and so an inode id)."""
        stack = [node]
        while stack:
            n = stack.pop()
            self._meta(n)
            if n.isdir:
                stack.extend(c for _, c in self._children(n) if c.exists)

    def _op_createsnapshot(self, ctx):
        name = ctx.get("snapshotname")
        with self.lock:
            node = self._existing_for_attr(ctx)
            self._check_owner(ctx.user, node)
            snaps = self.snaps.get(node.hpath)
            if snaps is None:
                raise HdfsError("SnapshotException",
                                "Directory is not a snapshottable directory: " + node.hpath)
            if not name:
                t = time.time()
                name = time.strftime("s%Y%m%d-%H%M%S", time.localtime(t)) + ".%03d" % (int(t * 1000) % 1000)
            if "/" in name or name in (".", "..", ".snapshot"):
                raise HdfsError("HadoopIllegalArgumentException",
                                'Snapshot name cannot contain "/" or be "." / ".." / ".snapshot"')
            if name in snaps:
                raise HdfsError("SnapshotException", 'Failed to add snapshot: there is already a '
                                'snapshot with the same name "%s".' % name)
            self._materialize(node)
            self._snap_seq += 1
            sdisk = os.path.join(self.state_dir, "snap-%d" % self._snap_seq)
            shutil.copytree(node.disk, sdisk, symlinks=True)
            pre = node.hpath.rstrip("/") + "/"
            meta = {}
            for k, v in self.meta.items():
                if k == node.hpath:
                    meta[""] = dict(v, xattrs=dict(v["xattrs"]))
                elif k.startswith(pre):
                    meta[k[len(pre):]] = dict(v, xattrs=dict(v["xattrs"]))
            snaps[name] = {"name": name, "dir": sdisk, "meta": meta,
                           "ctime": int(time.time() * 1000), "id": self._snap_seq}
        path = node.hpath.rstrip("/") + "/.snapshot/" + name
        return self._json(ctx.role, {"Path": path})

    def _op_deletesnapshot(self, ctx):
        name = ctx.get("snapshotname") or ""
        with self.lock:
            node = self._existing_for_attr(ctx)
            self._check_owner(ctx.user, node)
            snaps = self._snapshottable(ctx) and self.snaps[node.hpath]
            s = snaps.pop(name, None)
            if s is None:
                raise HdfsError("SnapshotException", "Cannot delete snapshot %s from path %s: the "
                                "snapshot does not exist." % (name, node.hpath))
            shutil.rmtree(s["dir"], ignore_errors=True)
        return self._empty()

    def _op_renamesnapshot(self, ctx):
        old = ctx.get("oldsnapshotname") or ""
        new = ctx.get("snapshotname") or ""
        with self.lock:
            node = self._existing_for_attr(ctx)
            self._check_owner(ctx.user, node)
            self._snapshottable(ctx)
            snaps = self.snaps[node.hpath]
            if old not in snaps:
                raise HdfsError("SnapshotException", "The snapshot %s does not exist for directory "
                                "%s" % (old, node.hpath))
            if old != new:
                if new in snaps:
                    raise HdfsError("SnapshotException", "The snapshot %s already exists for "
                                    "directory %s" % (new, node.hpath))
                if not new or "/" in new:
                    raise HdfsError("HadoopIllegalArgumentException", "Invalid snapshot name: " + new)
                items = [(new if k == old else k, v) for k, v in snaps.items()]
                snaps.clear()
                snaps.update(items)
                snaps[new]["name"] = new
        return self._empty()

    def _op_getsnapshottabledirectorylist(self, ctx):
        out = []
        for d in sorted(self.snaps):
            node = self._live(self._comps(d))
            if not node.exists:
                continue
            m = self._meta(node)
            if self.permissions and not self._is_super(ctx.user) and m["owner"] != ctx.user:
                continue
            out.append({"dirStatus": self._status(node, node.comps[-1] if node.comps else ""),
                        "parentFullPath": _join(node.comps[:-1]) if node.comps else None,
                        "snapshotNumber": len(self.snaps[d]), "snapshotQuota": _SNAPSHOT_QUOTA})
        return self._json(ctx.role, {"SnapshottableDirectoryList": out or None})

    def _tree_state(self, disk, get_meta, live_base=None):
        """id -> (relpath, parent id, name, isdir, signature) for the tree at disk."""
        out = {}
        stack = [(disk, "", None)]
        while stack:
            d, rel, pid = stack.pop()
            try:
                st = os.lstat(d)
            except OSError:
                continue
            m = get_meta(rel, st)
            isdir = stat.S_ISDIR(st.st_mode)
            sig = (isdir, 0 if isdir else st.st_size, _mtime_ms(st), m["perm"], m["owner"],
                   m["group"], m["repl"], tuple(sorted(m["xattrs"].items())),
                   tuple(m["acl"] or ()))
            out[m["id"]] = (rel, pid, rel.rsplit("/", 1)[-1] if rel else "", isdir, sig)
            if isdir:
                for name in sorted(os.listdir(d)):
                    stack.append((os.path.join(d, name), rel + "/" + name if rel else name,
                                  m["id"]))
        return out

    def _op_getsnapshotdiff(self, ctx):
        old = ctx.get("oldsnapshotname") or ""
        new = ctx.get("snapshotname") or ""
        with self.lock:
            node = self._existing_for_attr(ctx)
            sroot = None
            for d in self.snaps:
                if node.hpath == d or node.hpath.startswith(d.rstrip("/") + "/"):
                    sroot = d
            if sroot is None:
                raise HdfsError("SnapshotException",
                                "Directory is not a snapshottable directory: " + node.hpath)
            sub = node.hpath[len(sroot):].strip("/")

            def state(name):
                if not name:
                    def gm(rel, st):
                        comps = node.comps + (rel.split("/") if rel else [])
                        n = self._live(comps)
                        n.st = st
                        return self._meta(n)
                    return self._tree_state(node.disk, gm)
                s = self.snaps[sroot].get(name)
                if s is None:
                    raise HdfsError("SnapshotException", "Cannot find the snapshot of directory %s "
                                    "with name %s" % (sroot, name))

                def gm2(rel, st, s=s):
                    key = "/".join(x for x in (sub, rel) if x)
                    m = s["meta"].get(key)
                    if m is None:
                        n = _Node("snap", "", [], None, s["meta"], key)
                        n.st = st
                        m = self._meta(n)
                    return m
                return self._tree_state(os.path.join(s["dir"], *(sub.split("/") if sub else [])),
                                        gm2)
            A, B = state(old), state(new)
        diff = []

        def path_in_a(i):
            return A[i][0]
        for i in A.keys() & B.keys():
            a, b = A[i], B[i]
            if a[0] and (a[1] != b[1] or a[2] != b[2]):
                parent_a = A[a[1]][0] if a[1] in A else ""
                diff.append(((parent_a, 3, a[2]), {"sourcePath": a[0], "targetPath": b[0],
                                                   "type": "RENAME"}))
            if a[4] != b[4]:
                diff.append(((a[0], 0, ""), {"sourcePath": a[0], "type": "MODIFY"}))
        for i in B.keys() - A.keys():
            b = B[i]
            if b[1] in A:
                pa = path_in_a(b[1])
                diff.append(((pa, 1, b[2]), {"sourcePath": (pa + "/" if pa else "") + b[2],
                                             "type": "CREATE"}))
        for i in A.keys() - B.keys():
            a = A[i]
            if a[1] in B and a[1] in A:
                diff.append(((A[a[1]][0], 2, a[2]), {"sourcePath": a[0], "type": "DELETE"}))
        diff.sort(key=lambda x: x[0])
        return self._json(ctx.role, {"SnapshotDiffReport": {
            "diffList": [d for _, d in diff], "fromSnapshot": old,
            "snapshotRoot": node.hpath, "toSnapshot": new}})


# ============================================================== subprocess helpers (for tests)


def spawn(root, python=None, timeout=15.0, env=None, **opts):
    """Start the server as a subprocess: spawn(root, mode="knox", basic_user="u:p", ...).
    Options are the CLI flags with underscores (a True value is a bare flag; a list repeats the
    flag). Returns (Popen, info dict). Stop it with stop_process(proc)."""
    d = tempfile.mkdtemp(prefix="webhdfs-ready-")
    ready = os.path.join(d, "ready.json")
    cmd = [python or sys.executable, os.path.abspath(__file__), "--root", str(root),
           "--ready-file", ready]
    for k, v in opts.items():
        flag = "--" + k.replace("_", "-")
        if v is True:
            cmd.append(flag)
        elif v is False or v is None:
            continue
        elif isinstance(v, (list, tuple)):
            for x in v:
                cmd += [flag, str(x)]
        else:
            cmd += [flag, str(v)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, env=env)
    deadline = time.time() + timeout
    try:
        while time.time() < deadline:
            if os.path.exists(ready):
                with open(ready) as f:
                    info = json.load(f)
                return proc, info
            if proc.poll() is not None:
                raise RuntimeError("webhdfs test server exited with status %s" % proc.returncode)
            time.sleep(0.05)
        proc.kill()
        raise RuntimeError("webhdfs test server did not become ready in %ss" % timeout)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def stop_process(proc, timeout=10.0):
    """SIGTERM the spawned server (by its pid) and wait for it."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


# ============================================================== CLI


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="TEST SERVER: a protocol-faithful WebHDFS/HttpFS/Knox stand-in for distcp's "
                    "tests; not a file system for real data. Binds 127.0.0.1 only.")
    ap.add_argument("--root", required=True, help="local directory holding the namespace")
    ap.add_argument("--mode", choices=("webhdfs", "httpfs", "knox"), default="webhdfs")
    ap.add_argument("--nn-port", type=int, default=0, help="NameNode/HttpFS/gateway port (0=free)")
    ap.add_argument("--dn-port", type=int, default=0, help="DataNode port, webhdfs mode (0=free)")
    ap.add_argument("--user-auth", choices=("simple", "basic", "kerberos"), default=None,
                    help="default simple (knox: always basic)")
    ap.add_argument("--basic-user", action="append", default=None, metavar="U:P",
                    help="basic-auth credentials (repeatable; default guest:guest-password)")
    ap.add_argument("--standby", action="store_true", help="every NameNode op → StandbyException")
    ap.add_argument("--knox-topology", default="sandbox")
    ap.add_argument("--page-size", type=int, default=1000, help="dfs.ls.limit for LISTSTATUS_BATCH")
    ap.add_argument("--block-size", type=int, default=134217728, help="dfs.blocksize")
    ap.add_argument("--bytes-per-checksum", type=int, default=512)
    ap.add_argument("--checksum-type", choices=("CRC32C", "CRC32"), default="CRC32C")
    ap.add_argument("--combine-mode", choices=("MD5MD5CRC", "COMPOSITE_CRC"), default="MD5MD5CRC")
    ap.add_argument("--replication", type=int, default=3)
    ap.add_argument("--min-block-size", type=int, default=None,
                    help="dfs.namenode.fs-limits.min-block-size (default min(1 MiB, --block-size))")
    ap.add_argument("--superuser", default=None, help="default: the user running the server")
    ap.add_argument("--supergroup", default="supergroup")
    ap.add_argument("--group", action="append", default=[], metavar="USER:G1,G2",
                    help="group membership (default: a group named after the user)")
    ap.add_argument("--permissions", choices=("on", "off"), default="on")
    ap.add_argument("--default-user", default="dr.who")
    ap.add_argument("--delegation-token", action="append", default=[], metavar="TOKEN=USER")
    ap.add_argument("--rpc-address", default="127.0.0.1:8020", help="namenoderpcaddress value")
    ap.add_argument("--dn-host", default="127.0.0.1", help="host advertised in DataNode redirects")
    ap.add_argument("--ready-file", default=None, help="write the ready JSON here (atomically)")
    ap.add_argument("--max-seconds", type=float, default=3600, help="hard time limit (0 = none)")
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--tls-cert", default=None, help="PEM certificate: serve HTTPS (every port)")
    ap.add_argument("--tls-key", default=None, help="PEM private key for --tls-cert")
    a = ap.parse_args(argv)
    groups = {}
    for g in a.group:
        u, _, gs = g.partition(":")
        groups[u] = [x for x in gs.split(",") if x]
    tokens = dict(t.split("=", 1) for t in a.delegation_token)
    srv = WebHdfsTestServer(
        a.root, mode=a.mode, nn_port=a.nn_port, dn_port=a.dn_port, user_auth=a.user_auth,
        basic_users=a.basic_user or ["guest:guest-password"], standby=a.standby,
        knox_topology=a.knox_topology, page_size=a.page_size, block_size=a.block_size,
        bytes_per_checksum=a.bytes_per_checksum, checksum_type=a.checksum_type,
        combine_mode=a.combine_mode, replication=a.replication, superuser=a.superuser,
        supergroup=a.supergroup, permissions=(a.permissions == "on"),
        min_block_size=a.min_block_size, default_user=a.default_user, groups=groups,
        rpc_address=a.rpc_address, dn_host=a.dn_host, delegation_tokens=tokens,
        verbose=a.verbose, max_seconds=a.max_seconds or None, tls_cert=a.tls_cert,
        tls_key=a.tls_key)
    done = threading.Event()
    srv.on_expire = done.set
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    srv.start()
    line = json.dumps(srv.info(), sort_keys=True)
    if a.ready_file:
        tmp = a.ready_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(line + "\n")
        os.replace(tmp, a.ready_file)
    print(line, flush=True)
    while not done.wait(0.5):
        pass
    srv.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
