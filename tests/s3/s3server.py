"""s3server.py - start a local S3-compatible server for distcp's tests.

s3rver (npm, pinned in tests/s3/package.json, installed by scripts/setup.sh into
tests/s3/node_modules) always; moto_server when it is on PATH. Both bind 127.0.0.1
on a free port; spawn() waits until the server answers, creates a bucket, and
returns (proc, info); stop() ends the server by its PID.

  info = {"kind", "port", "endpoint", "bucket", "key", "secret", "env"}
  info["env"]: the AWS_* variables distcp and `conformance s3` need.

Run as a script (`python3 s3server.py [s3rver|moto] [DIR]`) it starts one and
prints the exports, then waits until interrupted."""
import hashlib
import hmac
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import datetime, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
S3RVER_JS = os.path.join(HERE, "node_modules", "s3rver", "bin", "s3rver.js")


def free_port(address="127.0.0.1"):
    s = socket.socket()
    s.bind((address, 0))
    p = s.getsockname()[1]
    s.close()
    return p


def have(kind):
    if kind == "s3rver":
        return os.path.exists(S3RVER_JS) and shutil.which("node") is not None
    if kind == "moto":
        return shutil.which("moto_server") is not None
    return False


def kinds():
    """The servers available here, s3rver first."""
    return [k for k in ("s3rver", "moto") if have(k)]


def _sign(method, url_path, host, key, secret, region="us-east-1", query=""):
    """Minimal SigV4 headers for a bodiless request (for the fixture only)."""
    now = datetime.now(timezone.utc)
    amz = now.strftime("%Y%m%dT%H%M%SZ")
    day = amz[:8]
    ph = hashlib.sha256(b"").hexdigest()
    ch = "host:%s\nx-amz-content-sha256:%s\nx-amz-date:%s\n" % (host, ph, amz)
    sh = "host;x-amz-content-sha256;x-amz-date"
    creq = "\n".join([method, url_path, query, ch, sh, ph])
    scope = "%s/%s/s3/aws4_request" % (day, region)
    sts = "\n".join(["AWS4-HMAC-SHA256", amz, scope,
                     hashlib.sha256(creq.encode()).hexdigest()])
    k = ("AWS4" + secret).encode()
    for m in (day, region, "s3", "aws4_request"):
        k = hmac.new(k, m.encode(), hashlib.sha256).digest()
    sig = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
    return {
        "x-amz-date": amz,
        "x-amz-content-sha256": ph,
        "Authorization": "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s"
        % (key, scope, sh, sig),
    }


def request(info, method, path):
    """A signed bodiless request to the server; returns the HTTP status."""
    host = "%s:%d" % (info.get("address", "127.0.0.1"), info["port"])
    req = urllib.request.Request("http://%s%s" % (host, path), method=method,
                                 headers=_sign(method, path, host, info["key"],
                                               info["secret"]))
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            r.read()
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def spawn(kind, state_dir, bucket="distcp-test", max_seconds=None, address="127.0.0.1", port=None):
    """`address`: where to listen; 127.0.0.1 unless a test runs the server
    inside a network namespace of its own (tests/mpi). `port`: a given one
    (to restart a server on its old data), else a free one."""
    port = port or free_port(address)
    os.makedirs(state_dir, exist_ok=True)
    log = open(os.path.join(state_dir, "server.log"), "wb")
    if kind == "s3rver":
        data = os.path.join(state_dir, "data")
        os.makedirs(data, exist_ok=True)
        cmd = ["node", "--openssl-legacy-provider", S3RVER_JS, "-d", data, "-a", address,
               "-p", str(port), "--silent", "--service-endpoint", "localhost"]
        key = secret = "S3RVER"
    elif kind == "moto":
        cmd = [shutil.which("moto_server"), "-H", address, "-p", str(port)]
        key = secret = "test"
    else:
        raise ValueError(kind)
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    log.close()
    info = {"kind": kind, "port": port, "endpoint": "http://%s:%d" % (address, port),
            "bucket": bucket, "key": key, "secret": secret, "state": state_dir,
            "address": address}
    deadline = time.time() + 30
    while True:
        if proc.poll() is not None:
            raise RuntimeError("%s exited: see %s/server.log" % (kind, state_dir))
        try:
            socket.create_connection((address, port), timeout=0.5).close()
            if request(info, "GET", "/") in (200, 403):
                break
        except OSError:
            pass
        if time.time() > deadline:
            stop(proc)
            raise RuntimeError("%s did not answer on port %d" % (kind, port))
        time.sleep(0.1)
    if bucket:
        st = request(info, "PUT", "/" + bucket)
        if st not in (200, 409):
            stop(proc)
            raise RuntimeError("cannot create bucket %s: HTTP %d" % (bucket, st))
    info["env"] = {
        "AWS_ENDPOINT_URL": info["endpoint"],
        "AWS_ACCESS_KEY_ID": key,
        "AWS_SECRET_ACCESS_KEY": secret,
        "AWS_REGION": "us-east-1",
    }
    return proc, info


def stop(proc):
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


if __name__ == "__main__":
    kind = sys.argv[1] if len(sys.argv) > 1 else "s3rver"
    d = sys.argv[2] if len(sys.argv) > 2 else "/tmp/s3server-%d" % os.getpid()
    p, i = spawn(kind, d)
    for k, v in i["env"].items():
        print("export %s=%s" % (k, v))
    print("# bucket %s, pid %d" % (i["bucket"], p.pid), flush=True)
    try:
        p.wait()
    except KeyboardInterrupt:
        stop(p)
