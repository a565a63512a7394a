#!/usr/bin/python3
"""run_with_server.py - run `conformance webhdfs|s3` against a test server started
here on 127.0.0.1 and stopped (by its pid) when the suite ends; ctest runs it as
conformance.webhdfs and conformance.s3 (tests/CMakeLists.txt).

  run_with_server.py CONFORMANCE_BIN webhdfs   the WebHDFS test server
                                               (tests/webhdfs/webhdfs_server.py)
  run_with_server.py CONFORMANCE_BIN s3        the first S3 test server present
                                               (tests/s3/s3server.py: s3rver, moto)

Exit status: the suite's (cmocka: the number of failed tests), 77 when the
server cannot run here (no s3rver/moto installed: ctest reports a skip, with
the reason printed), 2 on bad usage. The server's state lives in a temp dir,
removed at the end; the suite removes its own root in the store first."""
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
SKIP = 77


def run_suite(binary, which, env):
    p = subprocess.run([binary, which], env=dict(os.environ, **env), timeout=900)
    return p.returncode


def webhdfs(binary, state):
    sys.path.insert(0, TESTS)
    from webhdfs import webhdfs_server as W
    root = os.path.join(state, "namespace")
    os.mkdir(root)
    proc, info = W.spawn(root, max_seconds=900)
    try:
        rc = run_suite(binary, "webhdfs", {"DISTCP_TEST_WEBHDFS": "127.0.0.1:%d" % info["nn_port"]})
        left = [n for n in os.listdir(root) if n.startswith("distcp-conf-")]
        if rc == 0 and left:
            print("conformance.webhdfs: the suite left %s in the namespace" % left)
            rc = 1
        return rc
    finally:
        W.stop_process(proc)


def s3(binary, state):
    sys.path.insert(0, os.path.join(TESTS, "s3"))
    import s3server as S
    kinds = S.kinds()
    if not kinds:
        print("conformance.s3: SKIP: no S3 test server (run scripts/setup.sh for s3rver; "
              "moto_server not on PATH)")
        return SKIP
    rc = 0
    for kind in kinds:           # every server present, as the e2e tests do
        proc, info = S.spawn(kind, os.path.join(state, kind))
        try:
            print("conformance.s3: against %s at %s" % (kind, info["endpoint"]), flush=True)
            rc += run_suite(binary, "s3", dict(info["env"], DISTCP_TEST_S3_BUCKET=info["bucket"]))
        finally:
            S.stop(proc)
    return rc


def main(argv):
    if len(argv) != 3 or argv[2] not in ("webhdfs", "s3"):
        print("usage: run_with_server.py CONFORMANCE_BIN webhdfs|s3", file=sys.stderr)
        return 2
    state = tempfile.mkdtemp(prefix="distcp-conf-server-")
    try:
        return (webhdfs if argv[2] == "webhdfs" else s3)(argv[1], state)
    finally:
        shutil.rmtree(state, True)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
