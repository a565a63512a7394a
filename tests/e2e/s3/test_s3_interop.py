"""End-to-end tests of the S3 backend (issue 4), part 2, against the S3-compatible test
servers of tests/s3/s3server.py (s3rver always; moto_server where it is on PATH):
  - credentials: ~/.aws/credentials and ~/.aws/config profiles (AWS_PROFILE,
    AWS_SHARED_CREDENTIALS_FILE, AWS_CONFIG_FILE), precedence -D > AWS_* variables >
    profile, session tokens sent as x-amz-security-token; secrets never printed
    (stderr, --json, -v logs);
  - interop with Debian's awscli (/usr/bin/aws, `apt-get install awscli`): what distcp
    writes is read back byte-identical by aws, trees aws uploads are copied back
    byte-identical by distcp;
  - failures: wrong credentials and a missing bucket (clear error, non-zero, nothing
    written), a server killed mid-upload and distcp killed mid-upload (no visible object;
    the multipart upload aborted or left listed as resumable);
  - retries through tests/s3/faultproxy.py: 500/503 SlowDown with Retry-After/429/connection
    resets are retried, 403/400 are not, a 200 answer with an error body is an error."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import ROOT, counters, distcp_bin, make_tree, run, tree

sys.path.insert(0, os.path.join(ROOT, "tests", "s3"))
import s3server as S  # noqa: E402
import s3fix  # noqa: E402
from s3fix import s3  # noqa: E402
from faultproxy import FaultProxy  # noqa: E402

KINDS = S.kinds()
AWS = "/usr/bin/aws"
pytestmark = pytest.mark.skipif(not KINDS, reason="no S3 test server (run scripts/setup.sh "
                                "for s3rver; moto_server not on PATH)")


server = s3fix.server_fixture("s3i-")


@pytest.fixture
def proxy(server):
    p = FaultProxy("127.0.0.1", server["port"]).start()
    try:
        yield p
    finally:
        p.stop()


def noprofile_env(tmp_path, info, **extra):
    """info's env with no AWS_* keys and an empty HOME: only what `extra` gives counts."""
    home = tmp_path / "home"
    home.mkdir(parents=True, exist_ok=True)
    e = {"HOME": str(home), "AWS_ENDPOINT_URL": info["endpoint"],
         "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "",
         "AWS_PROFILE": "", "AWS_DEFAULT_PROFILE": "", "AWS_REGION": "",
         "AWS_DEFAULT_REGION": "", "AWS_SHARED_CREDENTIALS_FILE": "", "AWS_CONFIG_FILE": ""}
    e.update(extra)
    return e


def write_aws_files(home, info, wrong="WRONGKEY"):
    d = home / ".aws"
    d.mkdir(parents=True, exist_ok=True)
    (d / "credentials").write_text(
        "# test credentials\n[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n\n"
        "[bad]\naws_access_key_id=%s\naws_secret_access_key=bad-secret-do-not-print\n"
        "[tok]\naws_access_key_id = %s\naws_secret_access_key = %s\n"
        "aws_session_token = token-do-not-print\n" % (info["key"], info["secret"], wrong,
                                                       info["key"], info["secret"]))
    (d / "config").write_text(
        "[default]\nregion = us-east-1\n[profile cfgonly]\naws_access_key_id = %s\n"
        "aws_secret_access_key = %s\nregion = us-east-1\ns3 =\n  max_concurrent_requests = 4\n"
        "[profile role]\nrole_arn = arn:aws:iam::123456789012:role/x\nsource_profile = bad\n"
        % (info["key"], info["secret"]))


aws_env, aws = s3fix.aws_env, s3fix.aws


need_aws = pytest.mark.skipif(not os.path.exists(AWS), reason="Debian's awscli is not "
                              "installed (/usr/bin/aws; scripts/setup.sh installs it)")


# ---------------------------------------------------------------- credentials

def test_profile_default_from_credentials_file(server, tmp_path):
    info = server
    env = noprofile_env(tmp_path, info)
    write_aws_files(tmp_path / "home", info)
    src = make_tree(str(tmp_path / "src"), {"a": "profile\n"})
    run(src, s3(info, "/prof/default"), check=0, env=env)
    back = str(tmp_path / "back")
    run(s3(info, "/prof/default"), back, check=0, env=env)
    assert tree(back) == tree(src)


def test_profile_from_config_file_and_file_variables(server, tmp_path):
    info = server
    write_aws_files(tmp_path / "elsewhere", info)
    aws_dir = tmp_path / "elsewhere" / ".aws"
    env = noprofile_env(tmp_path, info, AWS_PROFILE="cfgonly",
                        AWS_SHARED_CREDENTIALS_FILE=str(aws_dir / "credentials"),
                        AWS_CONFIG_FILE=str(aws_dir / "config"))
    src = make_tree(str(tmp_path / "src"), {"a": "config profile\n"})
    run(src, s3(info, "/prof/cfg"), check=0, env=env)
    # the same profile by -D fs.s3a.aws.profile
    env2 = dict(env, AWS_PROFILE="")
    run("-D", "fs.s3a.aws.profile=cfgonly", src, s3(info, "/prof/cfg2"), check=0, env=env2)
    back = str(tmp_path / "back")
    run(s3(info, "/prof/cfg2"), back, check=0, env=env)
    assert tree(back) == tree(src)


def test_profile_missing_or_unsupported(server, tmp_path):
    info = server
    env = noprofile_env(tmp_path, info)
    write_aws_files(tmp_path / "home", info)
    src = make_tree(str(tmp_path / "src"), {"a": "x"})
    p = run(src, s3(info, "/prof/none"), env=dict(env, AWS_PROFILE="nosuch"))
    assert p.returncode != 0
    assert "profile 'nosuch' not found" in p.err and s3(info, "") in p.err, p.err
    p = run(src, s3(info, "/prof/none"), env=dict(env, AWS_PROFILE="role"))
    assert p.returncode != 0
    assert "role_arn" in p.err and "not support" in p.err, p.err
    # no source of credentials at all
    p = run(src, s3(info, "/prof/none"), env=noprofile_env(tmp_path / "n", info))
    assert p.returncode != 0 and "no credentials" in p.err, p.err


def test_precedence_d_over_env_over_profile(server, tmp_path):
    info = server
    if info["kind"] == "moto":
        pytest.skip("moto accepts any credentials: precedence is not observable there")
    env = noprofile_env(tmp_path, info)
    write_aws_files(tmp_path / "home", info)
    src = make_tree(str(tmp_path / "src"), {"a": "x"})
    # wrong keys in the environment beat a right default profile (awscli's order)
    bad = dict(env, AWS_ACCESS_KEY_ID="WRONGKEY", AWS_SECRET_ACCESS_KEY="env-secret-xyz")
    p = run(src, s3(info, "/prec/a"), env=bad)
    assert p.returncode != 0 and "403" in p.err, p.err
    assert "env-secret-xyz" not in p.out + p.err
    # -D keys beat the environment (Hadoop's order)
    run("-D", "fs.s3a.access.key=" + info["key"], "-D", "fs.s3a.secret.key=" + info["secret"],
        src, s3(info, "/prec/b"), check=0, env=bad)
    # a wrong named profile is used even with a right default one
    p = run(src, s3(info, "/prec/c"), env=dict(env, AWS_PROFILE="bad"))
    assert p.returncode != 0 and "403" in p.err, p.err
    assert "bad-secret-do-not-print" not in p.out + p.err


def test_session_token_sent_never_printed(server, tmp_path, proxy):
    info = server
    env = noprofile_env(tmp_path, info, AWS_ENDPOINT_URL=proxy.endpoint, AWS_PROFILE="tok")
    write_aws_files(tmp_path / "home", info)
    src = make_tree(str(tmp_path / "src"), {"a": "tok"})
    logs = tmp_path / "logs"
    p = run("--json", "-v", "-log", str(logs), src, s3(info, "/tok"), check=0, env=env)
    sent = [h for m, path, h in proxy.requests]
    assert sent and all(h.get("x-amz-security-token") == "token-do-not-print" for h in sent)
    # and the environment's token goes with the environment's keys
    proxy.clear()
    env2 = noprofile_env(tmp_path, info, AWS_ENDPOINT_URL=proxy.endpoint,
                         AWS_ACCESS_KEY_ID=info["key"], AWS_SECRET_ACCESS_KEY=info["secret"],
                         AWS_SESSION_TOKEN="envtoken-do-not-print")
    p2 = run("--json", src, s3(info, "/tok2"), check=0, env=env2)
    assert all(h.get("x-amz-security-token") == "envtoken-do-not-print"
               for m, path, h in proxy.requests)
    # a failing run prints neither secret nor token anywhere
    proxy.rule("PUT", "/tok3/", status=403, times=None,
               body=b"<Error><Code>AccessDenied</Code><Message>denied</Message></Error>")
    p3 = run("--json", "-v", "-log", str(tmp_path / "logs3"), src, s3(info, "/tok3"), env=env)
    assert p3.returncode != 0
    every = p.out + p.err + p2.out + p2.err + p3.out + p3.err
    for d in (logs, tmp_path / "logs3"):
        for f in d.iterdir() if d.exists() else []:
            every += f.read_text(errors="replace")
    for secret in ("token-do-not-print", "envtoken-do-not-print", info["secret"] * 2):
        assert secret not in every
    if info["secret"] != info["key"]:
        assert info["secret"] not in every
    json.loads(p3.out)


# ---------------------------------------------------------------- awscli interop

TREE = {
    "small.txt": "interop\n",
    "empty": b"",
    "multi.bin": 9 * 1024 * 1024 + 5,      # multipart for distcp (8 MiB parts) and aws
    "d": {"x.bin": 70001, "e": {"deep.txt": "deep\n"}},
    "sp ace+plus%.txt": "odd\n",
}


@need_aws
def test_aws_reads_what_distcp_wrote(server, tmp_path):
    info = server
    src = make_tree(str(tmp_path / "src"), TREE)
    run(src, s3(info, "/io1"), check=0, env=info["env"])
    got = tmp_path / "got"
    aws(info, tmp_path, "s3", "cp", "--recursive", "--only-show-errors",
        "s3://%s/io1" % info["bucket"], str(got))
    # aws has no notion of empty directories (markers come back as nothing)
    assert {k: v for k, v in tree(str(got)).items() if v != "dir"} == \
           {k: v for k, v in tree(src).items() if v != "dir"}


@need_aws
def test_distcp_reads_what_aws_wrote(server, tmp_path):
    info = server
    src = make_tree(str(tmp_path / "src"), dict(TREE, big={"b.bin": 17 * 1024 * 1024 + 3}))
    aws(info, tmp_path, "s3", "cp", "--recursive", "--only-show-errors", src,
        "s3://%s/io2" % info["bucket"])
    back = str(tmp_path / "back")
    run(s3(info, "/io2"), back, check=0, env=info["env"])
    want = {k: v for k, v in tree(src).items() if v != "dir" or k == ""}
    got = {k: v for k, v in tree(back).items() if v != "dir" or k == ""}
    assert got == want
    # and -update finds nothing to do on a second run
    p = run("-update", s3(info, "/io2"), back, check=0, env=info["env"])
    assert counters(p)["Files Copied"] == 0


# ---------------------------------------------------------------- failures

def test_wrong_secret_nothing_written(server, tmp_path):
    info = server
    if info["kind"] == "moto":
        pytest.skip("moto accepts any credentials")
    src = make_tree(str(tmp_path / "src"), {"f": "x", "d": {"g": "y"}})
    p = run("--json", src, s3(info, "/wrongcred"),
            env=dict(info["env"], AWS_ACCESS_KEY_ID="NOSUCHKEY",
                     AWS_SECRET_ACCESS_KEY="wrong-secret-do-not-print"))
    assert p.returncode != 0
    assert "wrong-secret-do-not-print" not in p.out + p.err
    assert "access denied" in p.err or "403" in p.err, p.err
    assert json.loads(p.out)["status"] != "SUCCEEDED"
    assert S.request(info, "HEAD", "/%s/wrongcred/f" % info["bucket"]) == 404


def upload_state(info, tmp_path):
    """(objects under big/, multipart uploads in progress for big/) as aws sees them."""
    p = aws(info, tmp_path, "s3api", "list-objects-v2", "--bucket", info["bucket"],
            "--prefix", "kill/")
    objs = [o["Key"] for o in json.loads(p.stdout or b"{}").get("Contents", [])]
    p = aws(info, tmp_path, "s3api", "list-multipart-uploads", "--bucket", info["bucket"],
            check=False)
    ups = []
    if p.returncode == 0 and p.stdout.strip():
        ups = [u["Key"] for u in json.loads(p.stdout).get("Uploads", [])]
    return objs, ups


def start_held_upload(info, tmp_path, proxy, name):
    """Start distcp uploading a 40 MiB file through the proxy, which holds part 3:
    returns (process, source dir) once the upload is in flight."""
    src = make_tree(str(tmp_path / name), {"big.bin": 40 * 1024 * 1024 + 1})
    proxy.rule("PUT", "partNumber=3", action="hold", times=None)
    env = dict(os.environ, **info["env"])
    env["AWS_ENDPOINT_URL"] = proxy.endpoint
    env["DISTCP_WORKERS"] = "1"
    proc = subprocess.Popen([distcp_bin(), src, s3(info, "/kill/" + name)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    assert proxy.held.wait(120), "the upload never reached part 3"
    return proc, src


@need_aws
def test_distcp_killed_mid_upload(server, tmp_path, proxy):
    info = server
    proc, src = start_held_upload(info, tmp_path, proxy, "k1")
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    proxy.release()
    objs, ups = upload_state(info, tmp_path)
    assert not [o for o in objs if o.endswith("big.bin")], objs
    if info["kind"] == "moto":
        # the server lists the upload: it can be resumed or aborted by the user
        assert "kill/k1/big.bin" in ups, ups


@need_aws
def test_distcp_cancelled_mid_upload_aborts(server, tmp_path, proxy):
    info = server
    proc, src = start_held_upload(info, tmp_path, proxy, "k2")
    proc.send_signal(signal.SIGTERM)
    proxy.release()          # the held part fails (connection closed)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode != 0, err
    objs, ups = upload_state(info, tmp_path)
    assert not [o for o in objs if o.endswith("big.bin")], objs
    assert proxy.count("DELETE", "uploadId=") >= 1      # AbortMultipartUpload sent
    assert "kill/k2/big.bin" not in ups, ups


def test_server_killed_mid_upload(server, tmp_path):
    """A server of its own, killed while distcp uploads: distcp fails naming the file;
    restarted on the same data (s3rver keeps it on disk), the object is not there."""
    info0 = server
    state = tmp_path / "own"
    proc, info = S.spawn(info0["kind"], str(state))
    p = FaultProxy("127.0.0.1", info["port"]).start()
    try:
        src = make_tree(str(tmp_path / "src"), {"big.bin": 40 * 1024 * 1024 + 1})
        p.rule("PUT", "partNumber=3", action="hold", times=None)
        env = dict(os.environ, **info["env"])
        env["AWS_ENDPOINT_URL"] = p.endpoint
        env["DISTCP_WORKERS"] = "1"
        env["DISTCP_S3_RETRY_BASE_MS"] = "10"
        d = subprocess.Popen([distcp_bin(), src, s3(info, "/kill/srv")], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert p.held.wait(120)
        S.stop(proc)
        p.release()
        out, err = d.communicate(timeout=300)
        err = err.decode("utf-8", "replace")
        assert d.returncode != 0, err
        assert "big.bin" in err, err
        if info["kind"] == "s3rver":
            proc, info = S.spawn("s3rver", str(state), port=info["port"])
            assert S.request(info, "HEAD", "/%s/kill/srv/big.bin" % info["bucket"]) == 404
    finally:
        p.stop()
        S.stop(proc)


# ---------------------------------------------------------------- retries

def penv(info, proxy, **extra):
    e = dict(info["env"], AWS_ENDPOINT_URL=proxy.endpoint, DISTCP_S3_RETRY_BASE_MS="10")
    e.update(extra)
    return e


SLOW = b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"


def test_retry_on_503_500_429_and_reset(server, tmp_path, proxy):
    info = server
    src = make_tree(str(tmp_path / "src"), {"a": "aaa", "b": "bbb", "c": "ccc", "d": "ddd"})
    proxy.rule("PUT", "/rt5/a", status=503, body=SLOW, headers={"Retry-After": "1"}, times=2)
    proxy.rule("PUT", "/rt5/b", status=500, times=1,
               body=b"<Error><Code>InternalError</Code></Error>")
    proxy.rule("PUT", "/rt5/c", status=429, times=1)
    proxy.rule("PUT", "/rt5/d", action="reset", times=1)
    p = run(src, s3(info, "/rt5"), check=0, env=penv(info, proxy))
    assert counters(p)["Files Copied"] == 4
    assert proxy.count("PUT", "/rt5/a") == 3
    assert proxy.count("PUT", "/rt5/b") == 2
    assert proxy.count("PUT", "/rt5/c") == 2
    assert proxy.count("PUT", "/rt5/d") == 2
    back = str(tmp_path / "back")
    run(s3(info, "/rt5"), back, check=0, env=info["env"])
    assert tree(back) == tree(src)


@pytest.mark.parametrize("status,code", [(403, "AccessDenied"), (400, "InvalidArgument"),
                                         (404, "NoSuchUpload")])
def test_no_retry_on_other_4xx(server, tmp_path, proxy, status, code):
    """A write refused with a 4xx other than 408/429 is sent once (no retry by the
    backend nor by the engine) and fails the job naming the key and the code."""
    info = server
    src = make_tree(str(tmp_path / "src"), {"a": "aaa"})
    proxy.rule("PUT", "/nr%d/a" % status, status=status, times=None,
               body=b"<Error><Code>%s</Code><Message>refused</Message></Error>" % code.encode())
    p = run(src, s3(info, "/nr%d" % status), env=penv(info, proxy))
    assert p.returncode != 0
    assert proxy.count("PUT", "/nr%d/a" % status) == 1
    assert code in p.err and "/nr%d/a" % status in p.err, p.err


def test_retries_exhausted_fail_clearly(server, tmp_path, proxy):
    info = server
    src = make_tree(str(tmp_path / "src"), {"a": "aaa"})
    proxy.rule("PUT", "/ex/a", status=503, body=SLOW, times=None)
    p = run(src, s3(info, "/ex"), env=penv(info, proxy))
    assert p.returncode != 0
    assert "SlowDown" in p.err and "/ex/a" in p.err, p.err
    assert proxy.count("PUT", "/ex/a") >= 4


def test_backend_retries_not_multiplied(server, tmp_path, proxy):
    """A write answered 503 every time is sent exactly the backend's 4 attempts: the
    backend marks the failure as retried and the engine does not retry it again
    (before: 4 x 3 = 12 requests for one failure)."""
    info = server
    src = make_tree(str(tmp_path / "src"), {"a": "aaa"})
    proxy.rule("PUT", "/nm/a", status=503, body=SLOW, times=None)
    p = run(src, s3(info, "/nm"), env=penv(info, proxy))
    assert p.returncode != 0
    assert "SlowDown" in p.err and "/nm/a" in p.err, p.err
    assert proxy.count("PUT", "/nm/a") == 4


def test_listing_retries_not_multiplied(server, tmp_path, proxy):
    """A directory listing answered 503 every time: 4 ListObjectsV2 requests for that
    directory (the walk does not retry the backend's exhausted retries), then the job
    fails naming it."""
    info = server
    src = make_tree(str(tmp_path / "src"), {"sub": {"x": "xx"}, "y": "yy"})
    run(src, s3(info, "/lsm"), check=0, env=info["env"])
    needle = "prefix=lsm%2Fsub%2F"
    proxy.rule("GET", needle, status=503, body=SLOW, times=None)
    p = run(s3(info, "/lsm"), str(tmp_path / "back"), env=penv(info, proxy))
    assert p.returncode != 0
    assert "SlowDown" in p.err, p.err
    assert proxy.count("GET", needle) == 4


def test_200_with_error_body_is_an_error(server, tmp_path, proxy):
    info = server
    src = make_tree(str(tmp_path / "src"), {"m.bin": 9 * 1024 * 1024})
    proxy.rule("POST", "uploadId=", status=200, times=None,
               body=b"<?xml version=\"1.0\"?><Error><Code>InternalError</Code>"
                    b"<Message>We encountered an internal error.</Message></Error>")
    p = run(src, s3(info, "/e200"), env=penv(info, proxy))
    assert p.returncode != 0
    assert "InternalError" in p.err, p.err
    assert proxy.count("DELETE", "uploadId=") >= 1          # the upload was aborted
    assert S.request(info, "HEAD", "/%s/e200/m.bin" % info["bucket"]) == 404


# ---------------------------------------------------------------- parallel multipart

def chunk_env(info, proxy, **extra):
    # chunk files from 16 MiB on, in 16 MiB chunks (2 parts of 8 MiB each)
    return penv(info, proxy, DISTCP_CHUNK_MIN_MB="16", DISTCP_CHUNK_MB="16",
                DISTCP_WORKERS="4", **extra)


def test_parts_uploaded_in_parallel(server, tmp_path, proxy):
    """One 50 MiB file, chunked by the engine: while part 1 is held at the proxy,
    parts of other chunks arrive (other workers upload them); the object is
    byte-identical and carries distcp's digest."""
    info = server
    src = make_tree(str(tmp_path / "src"), {"big.bin": 50 * 1024 * 1024 + 12345})
    proxy.rule("PUT", "partNumber=1&", action="gate", times=1)
    env = chunk_env(info, proxy)
    d = subprocess.Popen([distcp_bin(), "-m", "4", src, s3(info, "/par")], env=dict(os.environ, **env),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proxy.held.wait(120), "part 1 never came"
        deadline = time.time() + 120
        while proxy.count("PUT", "partNumber=3&") == 0 and d.poll() is None \
                and time.time() < deadline:
            time.sleep(0.05)
        other = proxy.count("PUT", "partNumber=3&")
    finally:
        proxy.release()
        out, err = d.communicate(timeout=300)
    assert d.returncode == 0, err.decode()
    assert other >= 1, ("no other part was sent while part 1 was in flight", [r[:2] for r in proxy.requests])
    assert proxy.count("PUT", "partNumber=7&") == 1        # ceil(50 MiB / 8 MiB) = 7 parts
    assert proxy.count("PUT", "partNumber=8&") == 0
    back = str(tmp_path / "back")
    run(s3(info, "/par"), back, check=0, env=info["env"])
    assert tree(back) == tree(src)
    hs = [h for m, path, h in proxy.requests if m == "PUT" and "x-amz-copy-source" in
          {k.lower() for k in h}]
    assert hs, "the digest was not recorded (no metadata copy after the multipart upload)"


def test_parallel_part_failure_aborts(server, tmp_path, proxy):
    info = server
    src = make_tree(str(tmp_path / "src"), {"big.bin": 40 * 1024 * 1024})
    proxy.rule("PUT", "partNumber=4&", status=403, times=None,
               body=b"<Error><Code>AccessDenied</Code><Message>no</Message></Error>")
    p = run("-m", "4", src, s3(info, "/parfail"), env=chunk_env(info, proxy))
    assert p.returncode != 0
    assert "AccessDenied" in p.err and "big.bin" in p.err, p.err
    assert proxy.count("DELETE", "uploadId=") >= 1
    assert S.request(info, "HEAD", "/%s/parfail/big.bin" % info["bucket"]) == 404
    if info["kind"] == "moto" and os.path.exists(AWS):
        objs, ups = upload_state(info, tmp_path)
        assert not [u for u in ups if "parfail" in u], ups


# ---------------------------------------------------------------- -update with digests

def restamp(path, delta_s):
    """Move a local file's mtime by delta_s and re-validate distcp's digest xattr for the
    new mtime (as if distcp had written it then): only the digest can tell now."""
    v = os.getxattr(path, "user.distcp.digest").decode()
    st = os.stat(path)
    t = st.st_mtime_ns + delta_s * 10**9
    os.utime(path, ns=(t, t))
    head = v.split(";m=")[0]
    os.setxattr(path, "user.distcp.digest", ("%s;m=%d" % (head, os.stat(path).st_mtime_ns)).encode())


def test_update_uses_recorded_digests(server, tmp_path):
    """Part A 4 on S3: distcp records its CRC32C digest as x-amz-meta-distcp-digest; -update
    compares it with the local copy's digest when sizes are equal, against what the
    mtime rule alone would say (both directions of the rule are forced here)."""
    info = server
    src = make_tree(str(tmp_path / "src"), {"same": "A" * 5000, "changed": "B" * 5000,
                                            "multi.bin": 9 * 1024 * 1024})
    run(src, s3(info, "/dig"), check=0, env=info["env"])
    if os.path.exists(AWS):
        p = aws(info, tmp_path, "s3api", "head-object", "--bucket", info["bucket"], "--key",
                "dig/same")
        meta = json.loads(p.stdout)["Metadata"]
        assert meta.get("distcp-digest", "").startswith("crc32c:"), meta
        p = aws(info, tmp_path, "s3api", "head-object", "--bucket", info["bucket"], "--key",
                "dig/multi.bin")
        assert json.loads(p.stdout)["Metadata"].get("distcp-digest", "").startswith("crc32c:")
    back = tmp_path / "back"
    run(s3(info, "/dig"), str(back), check=0, env=info["env"])
    # the S3 copy of "changed" gets new bytes of the same size (distcp writes them, so
    # it carries their digest)
    src2 = make_tree(str(tmp_path / "src2"), {"changed": "C" * 5000})
    run("-overwrite", str(tmp_path / "src2" / "changed"), s3(info, "/dig/changed"), check=0,
        env=info["env"])
    # local copies: "changed" looks newer than its source (mtime rule: skip), "same" and
    # "multi.bin" look older (mtime rule: copy)
    restamp(str(back / "changed"), 3600)
    restamp(str(back / "same"), -3600)
    restamp(str(back / "multi.bin"), -3600)
    p = run("-update", s3(info, "/dig"), str(back), check=0, env=info["env"])
    c = counters(p)
    assert c["Files Copied"] == 1 and c["Files Skipped"] == 2, p.err
    assert (back / "changed").read_text() == "C" * 5000
    assert (back / "same").read_text() == "A" * 5000


@need_aws
def test_update_uses_checksum_crc32c_header(server, tmp_path):
    """An object uploaded by another client with a CRC32C checksum (x-amz-checksum-crc32c)
    is compared by that checksum in -update."""
    info = server
    if info["kind"] != "moto":
        pytest.skip("s3rver keeps no checksum headers (moto_server does)")
    body = tmp_path / "body"
    body.write_text("X" * 5000)
    aws(info, tmp_path, "s3api", "put-object", "--bucket", info["bucket"], "--key", "ck/f",
        "--body", str(body), "--checksum-algorithm", "CRC32C")
    aws(info, tmp_path, "s3api", "put-object", "--bucket", info["bucket"], "--key", "ck/g",
        "--body", str(body), "--checksum-algorithm", "CRC32C")
    other = make_tree(str(tmp_path / "other"), {"f": "Y" * 5000, "g": "X" * 5000})
    back = tmp_path / "back"
    run(other, str(back), check=0)          # local copies with distcp's digest
    restamp(str(back / "f"), 3600)          # newer: the mtime rule alone would skip
    restamp(str(back / "g"), -3600)         # older: the mtime rule alone would copy
    p = run("-update", s3(info, "/ck"), str(back), check=0, env=info["env"])
    c = counters(p)
    assert c["Files Copied"] == 1 and c["Files Skipped"] == 1, p.err
    assert (back / "f").read_text() == "X" * 5000


# ---------------------------------------------------------------- server-side copy

def copy_sources(proxy, needle):
    return [p for m, p, h in proxy.requests if m == "PUT" and needle in p and
            "x-amz-copy-source" in {k.lower() for k in h}]


def test_server_side_copy_same_server(server, tmp_path, proxy):
    """S3 -> S3 on one server: whole objects are copied by the server (CopyObject with
    the source's ETag as a precondition), not streamed through distcp; the result is
    byte-identical and -update afterwards copies nothing."""
    info = server
    src = make_tree(str(tmp_path / "src"), {"big.bin": 700 * 1024, "d": {"b2": 300 * 1024},
                                            "small": "s"})
    run(src, s3(info, "/sscsrc"), check=0, env=info["env"])
    env = penv(info, proxy)
    p = run(s3(info, "/sscsrc"), s3(info, "/sscdst"), check=0, env=env)
    assert counters(p)["Files Copied"] == 3
    copied = copy_sources(proxy, "/sscdst/")
    assert any(c.endswith("/sscdst/big.bin") for c in copied), copied
    assert any(c.endswith("/sscdst/d/b2") for c in copied), copied
    # the data never passed through distcp: no upload body for big.bin
    assert not [1 for m, path, h in proxy.requests if m == "PUT" and
                path.endswith("/sscdst/big.bin") and int(h.get("Content-Length", 0)) > 0]
    back = str(tmp_path / "back")
    run(s3(info, "/sscdst"), back, check=0, env=info["env"])
    assert tree(back) == tree(src)
    p = run("-update", s3(info, "/sscsrc"), s3(info, "/sscdst"), check=0, env=info["env"])
    assert counters(p)["Files Copied"] == 0


def test_server_side_copy_refused_falls_back(server, tmp_path, proxy):
    info = server
    src = make_tree(str(tmp_path / "src"), {"big.bin": 9 * 1024 * 1024 + 7})
    run(src, s3(info, "/fbsrc"), check=0, env=info["env"])
    proxy.rule("PUT", "/fbdst/big.bin", status=501, times=1,
               body=b"<Error><Code>NotImplemented</Code><Message>no copy</Message></Error>")
    p = run(s3(info, "/fbsrc"), s3(info, "/fbdst"), check=0, env=penv(info, proxy))
    assert counters(p)["Files Copied"] == 1
    assert copy_sources(proxy, "/fbdst/big.bin"), "no server-side copy was tried"
    assert proxy.count("PUT", "partNumber=2&") == 1, [r[:2] for r in proxy.requests]  # streamed, multipart
    back = str(tmp_path / "back")
    run(s3(info, "/fbdst"), back, check=0, env=info["env"])
    assert tree(back) == tree(src)
