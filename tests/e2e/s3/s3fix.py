"""s3fix.py - what the S3 end-to-end tests share: the server fixture (one S3 test
server per kind present, started by the module and stopped by PID), the s3a:// URI
of a path in its bucket, and Debian's awscli run against it with the test
server's credentials only (nothing from the user's own AWS setup)."""
import os
import subprocess
import sys

import pytest

from conftest import ROOT

sys.path.insert(0, os.path.join(ROOT, "tests", "s3"))
import s3server as S  # noqa: E402

KINDS = S.kinds()
AWS = "/usr/bin/aws"


def server_fixture(prefix):
    """A module-scoped `server` fixture over every S3 test server present."""
    @pytest.fixture(scope="module", params=KINDS or ["none"], name="server")
    def server(request, tmp_path_factory):
        state = tmp_path_factory.mktemp(prefix + request.param)
        proc, info = S.spawn(request.param, str(state))
        try:
            yield info
        finally:
            S.stop(proc)
    return server


def s3(info, path):
    return "s3a://%s%s" % (info["bucket"], path)


def aws_env(info, tmp_path):
    home = tmp_path / "awshome"
    home.mkdir(exist_ok=True)
    e = dict(os.environ)
    e.update({"HOME": str(home), "AWS_ACCESS_KEY_ID": info["key"],
              "AWS_SECRET_ACCESS_KEY": info["secret"], "AWS_REGION": "us-east-1",
              "AWS_CONFIG_FILE": str(home / "none"),
              "AWS_SHARED_CREDENTIALS_FILE": str(home / "none"), "AWS_PAGER": ""})
    for k in ("AWS_CA_BUNDLE", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN",
              "AWS_ENDPOINT_URL"):
        e.pop(k, None)
    return e


def aws(info, tmp_path, *args, check=True):
    """`aws --endpoint-url <server> args...`; asserts success unless check=False."""
    p = subprocess.run([AWS, "--endpoint-url", info["endpoint"], "--no-cli-pager", *args],
                       capture_output=True, env=aws_env(info, tmp_path), timeout=300)
    if check:
        assert p.returncode == 0, p.stderr.decode("utf-8", "replace")
    return p
