#!/usr/bin/env bash
# Installs what coffer needs to build, test and demo on a fresh Debian 12 machine. Idempotent.
set -euo pipefail
# What building coffer needs: scripts/build-deps.txt, the one list that deploy/Dockerfile's build
# stage installs too. Here in addition, what the tests and the demo need:
# postgresql: pg_dump/pg_restore, and the throwaway server of the tests and the demo
# (tests/fixtures/pg_server.sh); awscli: an independent S3 client for the tests; zstd: the
# command-line tool, for the benchmarks (bench/); pybind11-dev, python3-dev and python3-pytest: the
# Python module `backup` (python/; the container's build turns it off) and its tests.
# chromium: headless browser for the dashboard tests (tests/integration/test_report.py).
mapfile -t PKGS < <(sed 's/#.*//' "$(dirname "$0")/build-deps.txt" | xargs -n1)
[ ${#PKGS[@]} -gt 0 ] || { echo "setup: no packages in $(dirname "$0")/build-deps.txt" >&2; exit 1; }
PKGS+=(zstd postgresql postgresql-client awscli pybind11-dev python3-dev python3-pytest chromium)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# s3rver (tests/fixtures/s3_server.sh) runs on Node.js; keep a node that is already installed.
{ command -v node >/dev/null && command -v npm >/dev/null; } || missing+=(nodejs npm)
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" != 0 ] && SUDO="sudo"
  echo "setup: installing ${missing[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
