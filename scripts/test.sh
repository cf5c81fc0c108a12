#!/usr/bin/env bash
# The whole test suite, from a fresh machine: install, build, start a throwaway PostgreSQL on
# a free loopback port (55433..55499) for the database tests, run the unit and integration
# tests (ctest; extra args go to it), and always stop the server, keeping ctest's exit code.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
scripts/setup.sh
scripts/build.sh

PG_DIR=$(mktemp -d /tmp/coffer-test-pg.XXXXXX)
stop_pg() { "$ROOT/tests/fixtures/pg_server.sh" stop "$PG_DIR" || true; }
trap stop_pg EXIT
trap 'exit 130' INT TERM
pg_env=$("$ROOT/tests/fixtures/pg_server.sh" start "$PG_DIR" auto)
eval "$pg_env"
export COFFER_TEST_PGHOST COFFER_TEST_PGPORT COFFER_TEST_PGUSER COFFER_TEST_PG_PASSWORD

cd build
rc=0
ctest --output-on-failure -j2 "$@" || rc=$?
exit $rc
