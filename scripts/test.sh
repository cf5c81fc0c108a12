#!/usr/bin/env bash
# The whole test suite, from a fresh machine: install, build, run unit and integration tests.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
cd build
ctest --output-on-failure -j2 "$@"
