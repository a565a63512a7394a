"""The WebHDFS TEST SERVER fixture for every e2e group (cli, copy, webhdfs, mpi): one module
instead of a copy per test file. The server itself is tests/webhdfs/webhdfs_server.py (a
protocol-faithful stand-in for a NameNode + DataNode, HttpFS and Knox, on 127.0.0.1).

  W                          the server module (spawn, stop_process, WebHdfsTestServer, ...)
  served(root, **opts)       context manager: a server started as a subprocess on `root` with the
                             server's CLI options (block_size=..., mode="knox", ...); yields its
                             info dict (nn_port, base_url, ...) and stops it on the way out
  server_fixture(name, **o)  a module-scoped pytest fixture yielding (root, info)
  uri(info, path)            "webhdfs://127.0.0.1:<nn_port><path>"
  ctl(info, method, what)    the server's /_testserver/<what> control endpoint (JSON or None)
"""
import contextlib
import json
import os
import sys
import urllib.request

import pytest

from conftest import ROOT

sys.path.insert(0, os.path.join(ROOT, "tests"))
from webhdfs import webhdfs_server as W  # noqa: E402,F401


@contextlib.contextmanager
def served(root, **opts):
    opts.setdefault("max_seconds", 600)
    proc, info = W.spawn(str(root), **opts)
    try:
        yield info
    finally:
        W.stop_process(proc)


def server_fixture(name="webhdfs-root", **opts):
    @pytest.fixture(scope="module")
    def server(tmp_path_factory):
        root = tmp_path_factory.mktemp(name)
        with served(root, **opts) as info:
            yield root, info
    return server


def uri(info, path):
    return "webhdfs://127.0.0.1:%d%s" % (info["nn_port"], path)


def ctl(info, method, what):
    req = urllib.request.Request("http://127.0.0.1:%d/_testserver/%s" % (info["nn_port"], what),
                                 method=method)
    with urllib.request.urlopen(req, timeout=30) as r:
        body = r.read()
    return json.loads(body) if body else None
