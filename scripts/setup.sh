#!/usr/bin/env bash
# Installs what coffer needs to build, test and demo on a fresh Debian 12 machine. Idempotent.
set -euo pipefail
# postgresql: pg_dump/pg_restore, and the throwaway server of the tests and the demo
# (tests/fixtures/pg_server.sh); libpq-dev: coffer talks to the server through libpq.
# libcurl: the S3 driver; awscli: an independent S3 client for the tests.
# librust-blake3-dev: BLAKE3's official C sources (CMakeLists.txt builds them).
PKGS=(build-essential cmake pkg-config g++ python3
      libssl-dev libzstd-dev liblz4-dev zlib1g-dev libargon2-dev
      nlohmann-json3-dev libcli11-dev libspdlog-dev libtomlplusplus-dev
      libgtest-dev libgmock-dev zstd
      postgresql postgresql-client libpq-dev
      libcurl4-openssl-dev awscli librust-blake3-dev)
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
