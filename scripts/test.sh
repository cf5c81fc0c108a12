#!/usr/bin/env bash
# The whole test suite, from a fresh machine: install, build, start a throwaway PostgreSQL on
# a free loopback port (55433..55499) for the database tests and two S3-compatible servers
# (s3rver from npm) for the S3 tests, run the unit and integration tests (ctest; extra args go
# to it), and always stop the servers, keeping ctest's exit code.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
scripts/setup.sh
scripts/build.sh

PG_DIR=$(mktemp -d /tmp/coffer-test-pg.XXXXXX)
S3_DIR=$(mktemp -d /tmp/coffer-test-s3.XXXXXX)
stop_pg() { "$ROOT/tests/fixtures/pg_server.sh" stop "$PG_DIR" || true; }
stop_all() {
  stop_pg
  "$ROOT/tests/fixtures/s3_server.sh" stop "$S3_DIR/plain" || true
  "$ROOT/tests/fixtures/s3_server.sh" stop "$S3_DIR/verify" || true
  rm -rf "$S3_DIR"
}
trap stop_all EXIT
trap 'exit 130' INT TERM
pg_env=$("$ROOT/tests/fixtures/pg_server.sh" start "$PG_DIR" auto)
eval "$pg_env"
export COFFER_TEST_PGHOST COFFER_TEST_PGPORT COFFER_TEST_PGUSER COFFER_TEST_PG_PASSWORD
# Two S3-compatible servers: s3rver, and a fork of it that checks SigV4 signatures.
eval "$("$ROOT/tests/fixtures/s3_server.sh" start "$S3_DIR/plain" auto coffer-test)"
eval "$("$ROOT/tests/fixtures/s3_server.sh" start "$S3_DIR/verify" auto coffer-test --verify-signatures)"

cd build
rc=0
ctest --output-on-failure -j2 "$@" || rc=$?
exit $rc
