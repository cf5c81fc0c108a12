#!/usr/bin/env bash
# Configures and builds coffer into build/ (Release with debug info). Extra args go to cmake.
set -euo pipefail
cd "$(dirname "$0")/.."
werror=OFF; [ "${CI:-}" = true ] && werror=ON
cmake -S . -B build -DCOFFER_WERROR=$werror "$@" >/dev/null
cmake --build build -j"$(nproc)"
