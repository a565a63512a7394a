#!/usr/bin/env bash
# setup.sh - install what distcp needs to build and test on Debian 12, when
# missing (idempotent; needs root or sudo only when something is missing).
set -euo pipefail

PKGS=(
  gcc make cmake pkg-config              # build
  libpcre2-dev libssl-dev libisal-dev    # filters, hashes, CRC32C
  libacl1-dev libattr1-dev               # -pa / -px on POSIX
  libcmocka-dev python3-pytest           # unit and end-to-end tests
  libcurl4-openssl-dev libjansson-dev    # webhdfs backend (HTTP, JSON)
  libsqlite3-dev sqlite3                 # the job store (src/jobs/)
  libexpat1-dev                          # s3 backend (XML)
  acl attr rsync strace xfsprogs e2fsprogs # tools the tests use to check results
  krb5-kdc krb5-admin-server krb5-user python3-gssapi # WebHDFS Kerberos tests (throw-away KDC)
  openmpi-bin libopenmpi-dev             # MPI mode (mpirun, mpicc) and its tests
  iproute2 util-linux                    # MPI multi-host test: network namespaces (ip, unshare)
  awscli                                 # S3 interop tests (/usr/bin/aws reads what distcp wrote)
)
# the S3 test server (s3rver, tests/s3) runs on Node.js: any node and npm on
# PATH will do (NodeSource's nodejs package brings npm itself)
command -v node >/dev/null 2>&1 || PKGS+=(nodejs)
command -v npm >/dev/null 2>&1 || PKGS+=(npm)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# The S3 test server from the npm registry (pinned in tests/s3/package.json,
# locked in package-lock.json), installed into tests/s3/node_modules.
s3_server() {
  local dir
  dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests/s3"
  if [ -f "$dir/node_modules/s3rver/bin/s3rver.js" ]; then
    echo "setup: s3rver is installed in tests/s3"
    return 0
  fi
  echo "setup: installing s3rver into tests/s3 (npm)"
  if [ -f "$dir/package-lock.json" ]; then
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  else
    (cd "$dir" && npm install --no-audit --no-fund --loglevel=error)
  fi
}

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all build and test dependencies are installed"
  s3_server
  exit 0
fi

echo "setup: installing: ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
    echo "setup: need root (or sudo) to install: ${missing[*]}" >&2; exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
s3_server
echo "setup: done"
