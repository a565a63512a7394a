#!/usr/bin/env bash
# build.sh [DIR] [cmake args...] - configure and build (default DIR: build).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}; shift || true
cmake -S . -B "$dir" -DDISTCP_WERROR=ON "$@" >/dev/null
cmake --build "$dir" -j "$(nproc)"
