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
  acl attr rsync strace xfsprogs e2fsprogs # tools the tests use to check results
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all build and test dependencies are installed"
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
echo "setup: done"
