#!/usr/bin/env bash
# The main job on a built-in example, with no config to write: builds coffer, generates an
# example school-platform file tree, backs it up (full, then incremental after a day of
# changes), lists the backups, restores the latest into a new folder and shows that it matches.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
COFFER=$PWD/build/coffer
DEMO=$PWD/demo
rm -rf "$DEMO"
mkdir -p "$DEMO"
python3 tests/fixtures/make_tree.py create "$DEMO/app" --scale 0.5 --odd
umask 077
head -c 24 /dev/urandom | base64 > "$DEMO/passphrase"

export BACKUP_DIR="$DEMO/backups"
export BACKUP_PATHS="$DEMO/app/uploads:$DEMO/app/static:$DEMO/app/logs"
export BACKUP_PASSPHRASE_FILE="$DEMO/passphrase"

echo "== coffer create --type full"
"$COFFER" create --type full
echo "== a day of changes, then coffer create --type incremental"
python3 tests/fixtures/make_tree.py mutate "$DEMO/app"
"$COFFER" create --type incremental
echo "== coffer list"
"$COFFER" list
echo "== coffer verify --read-data"
"$COFFER" verify --read-data
echo "== coffer restore latest --type files --target $DEMO/restored"
"$COFFER" restore latest --type files --target "$DEMO/restored"
echo "== compare the restored tree with the original"
python3 tests/fixtures/compare_trees.py "$DEMO/app" "$DEMO/restored"
echo "demo OK: the restored tree matches the original"
