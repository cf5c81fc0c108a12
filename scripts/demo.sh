#!/usr/bin/env bash
# The main job on a built-in example, with no config to write: builds coffer, starts a
# throwaway PostgreSQL holding an example school database, generates the school platform's
# file tree, backs both up (full, then incremental after a day of changes), lists the backups,
# restores the files into a new folder and the database into a new database, and shows that
# both match. The server is stopped at the end, whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
scripts/setup.sh
scripts/build.sh
COFFER=$ROOT/build/coffer
DEMO=$ROOT/demo
PG_SERVER=$ROOT/tests/fixtures/pg_server.sh
PG_FIXTURE="python3 $ROOT/tests/fixtures/pg_fixture.py"
# Under /tmp: as root the server runs as the postgres user, which cannot enter /root.
PG_DIR=/tmp/coffer-demo-pg
rm -rf "$DEMO"
mkdir -p "$DEMO"

echo "== a throwaway PostgreSQL with the example school database (scale 1)"
"$PG_SERVER" stop "$PG_DIR"   # a server left behind by an interrupted demo
trap '"$PG_SERVER" stop "$PG_DIR" || true' EXIT
trap 'exit 130' INT TERM
pg_env=$("$PG_SERVER" start "$PG_DIR" auto)
eval "$pg_env"
export COFFER_TEST_PGHOST COFFER_TEST_PGPORT COFFER_TEST_PGUSER
$PG_FIXTURE load school --scale 1

python3 tests/fixtures/make_tree.py create "$DEMO/app" --scale 0.5 --odd
umask 077
head -c 24 /dev/urandom | base64 > "$DEMO/passphrase"

export BACKUP_DIR="$DEMO/backups"
export BACKUP_PATHS="$DEMO/app/uploads:$DEMO/app/static:$DEMO/app/logs"
export BACKUP_PASSPHRASE_FILE="$DEMO/passphrase"
export DB_HOST="$COFFER_TEST_PGHOST" DB_PORT="$COFFER_TEST_PGPORT" DB_USER="$COFFER_TEST_PGUSER"
export DB_NAME=school

echo "== coffer create --type full   (database $DB_NAME and files, one backup)"
"$COFFER" create --type full
echo "== a day of changes to the files and the database, then coffer create --type incremental"
python3 tests/fixtures/make_tree.py mutate "$DEMO/app"
$PG_FIXTURE mutate school --scale 1 --day 1
"$COFFER" create --type incremental
echo "== coffer list"
"$COFFER" list
echo "== coffer verify --read-data"
"$COFFER" verify --read-data
echo "== coffer restore latest --type files --target $DEMO/restored"
"$COFFER" restore latest --type files --target "$DEMO/restored"
echo "== compare the restored tree with the original"
python3 tests/fixtures/compare_trees.py "$DEMO/app" "$DEMO/restored"
echo "== coffer restore latest --type database --target-db school_restored"
"$COFFER" restore latest --type database --target-db school_restored
echo "== compare the restored database with the original, table by table"
$PG_FIXTURE compare school school_restored
echo "demo OK: the restored tree and the restored database match the originals"
