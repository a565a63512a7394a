"""Shared fixtures for the end-to-end tests: they run the real distcp binary
(DISTCP_BIN, set by ctest; else build/distcp) on real trees in a temp dir.

Helpers:
  run(*args, check=None, env=None, cwd=None, input=None) -> CompletedProcess
      runs distcp with the args; `check` = expected exit status (asserted).
  make_tree(root, spec) builds files/dirs from a dict:
      {"a.txt": "text" | b"bytes" | int (that many pseudo-random bytes),
       "d": {...} (a directory), "e": {} (empty directory)}
  tree(root) -> dict  the same shape back (files as bytes), for comparisons.
  listing(root) -> sorted list of relative paths ("d/", "d/f") under root.
  faulty(path) -> "faulty+file://<abs path>": the local path through the test
      build's fault-injecting wrapper (docs/testing.md §3); it shows as the path.
  fault_rules(*rules) -> ["-D", "distcp.faulty.rules=<rules joined by ;>"]
      e.g. fault_rules("open_read:*bad*:err=ACCESS").
"""
import atexit
import os
import random
import shutil
import subprocess
import sys
import tempfile

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


# Every run is recorded in a job store (issue 6): keep the tests' store out of
# the user's home, one per test session, removed at exit.
_STATE = tempfile.mkdtemp(prefix="distcp-e2e-state-")
os.environ["XDG_STATE_HOME"] = _STATE
os.environ.pop("DISTCP_JOB_STORE", None)
atexit.register(shutil.rmtree, _STATE, True)


def distcp_bin():
    b = os.environ.get("DISTCP_BIN")
    if b:
        return b
    return os.path.join(ROOT, "build", "distcp")


def run(*args, check=None, env=None, cwd=None, input=None, timeout=300):
    e = dict(os.environ)
    e.pop("DISTCP_PROGRESS", None)
    if env:
        e.update(env)
    p = subprocess.run([distcp_bin(), *[str(a) for a in args]], capture_output=True,
                       env=e, cwd=cwd, input=input, timeout=timeout)
    p.out = p.stdout.decode("utf-8", "replace")
    p.err = p.stderr.decode("utf-8", "replace")
    if check is not None:
        assert p.returncode == check, (
            f"exit {p.returncode} != {check}\nargs: {args}\nstdout:\n{p.out}\nstderr:\n{p.err}")
    return p


def _bytes(n, seed):
    r = random.Random(seed)
    return bytes(r.getrandbits(8) for _ in range(n)) if n < 4096 else r.randbytes(n)


def make_tree(root, spec, _seed=[0]):
    os.makedirs(root, exist_ok=True)
    for name, v in spec.items():
        p = os.path.join(root, name)
        if isinstance(v, dict):
            make_tree(p, v)
        else:
            if isinstance(v, str):
                data = v.encode()
            elif isinstance(v, int):
                _seed[0] += 1
                data = _bytes(v, _seed[0] + hash(name) % 1000)
            else:
                data = v
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "wb") as f:
                f.write(data)
    return root


def tree(root):
    out = {}
    for name in sorted(os.listdir(root)):
        p = os.path.join(root, name)
        if os.path.islink(p):
            out[name] = ("link", os.readlink(p))
        elif os.path.isdir(p):
            out[name] = tree(p)
        else:
            with open(p, "rb") as f:
                out[name] = f.read()
    return out


def listing(root):
    res = []
    for dp, dns, fns in os.walk(root):
        rel = os.path.relpath(dp, root)
        for d in dns:
            res.append(os.path.normpath(os.path.join(rel, d)) + "/")
        for f in fns:
            res.append(os.path.normpath(os.path.join(rel, f)))
    return sorted(res)


def faulty(path):
    return "faulty+file://" + os.path.abspath(str(path))


def fault_rules(*rules):
    return ["-D", "distcp.faulty.rules=" + ";".join(rules)]


def read_fault(text):
    """What DISTCP_TEST_FAIL_READ=<text> did: opening a source whose path holds text
    fails with "Permission denied"."""
    return fault_rules("open_read:*%s*:err=ACCESS" % text)


def counters(p):
    """Parse the end-of-job summary (Hadoop counter display names) from stderr/stdout."""
    import re
    c = {}
    for line in (p.err + "\n" + p.out).splitlines():
        m = re.match(r"^\s+([A-Za-z][A-Za-z ]+?)=(\d+)\s*$", line)
        if m:
            c[m.group(1).strip()] = int(m.group(2))
    return c


@pytest.fixture
def tmp(tmp_path):
    return tmp_path
