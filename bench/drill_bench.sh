#!/usr/bin/env bash
# Drill benchmark: `coffer drill` next to the plain restore it wraps, on the same backup in the
# same run, pair by pair with farm-bench (A then B, repeated; the ratio is taken per pair):
#   coffer drill latest   vs  coffer restore latest --type full --target-db NEW --target DIR
# The drill restores the same way and then checks (every row read, amcheck on every btree index,
# every file read back and hashed) and drops what it restored; the restore's database and folder
# are dropped before each of its runs. The issue's target: drill <= 1.2x the restore.
#
#   bench/drill_bench.sh [--scale S] [--files-scale F] [--runs N] [--out PREFIX]
#
# Needs the test server's environment (COFFER_TEST_PGHOST/PGPORT/PGUSER, as tests/fixtures/
# pg_server.sh prints it; started here when unset), farm-bench, and the reference workload
# (/work/shared/workload: school.sql, make_files.py; WORKLOAD_DIR overrides).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SCALE=1 FILES_SCALE=2 RUNS=5 OUT="bench/results/drill-$(date -u +%F)"
while [ $# -gt 0 ]; do
  case $1 in
    --scale) SCALE=$2; shift 2 ;;
    --files-scale) FILES_SCALE=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    *) echo "drill_bench.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
WORKLOAD=${WORKLOAD_DIR:-/work/shared/workload}
COFFER=${COFFER:-$ROOT/build/coffer}
[ -x "$COFFER" ] || { echo "build coffer first (scripts/build.sh), or set COFFER" >&2; exit 2; }
WORK=$(mktemp -d /tmp/coffer-drill-bench.XXXXXX)
chmod 755 "$WORK"
OWN_PG=
cleanup() {
  psql -X -q -d postgres -c "DROP DATABASE IF EXISTS coffer_drill_bench_restored" >/dev/null 2>&1 || true
  [ -n "$OWN_PG" ] && tests/fixtures/pg_server.sh stop "$WORK/pg" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
if [ -z "${COFFER_TEST_PGHOST:-}" ]; then
  eval "$(tests/fixtures/pg_server.sh start "$WORK/pg" auto)"
  OWN_PG=1
fi
export PGHOST=$COFFER_TEST_PGHOST PGPORT=$COFFER_TEST_PGPORT PGUSER=$COFFER_TEST_PGUSER
export DB_HOST=$PGHOST DB_PORT=$PGPORT DB_USER=$PGUSER DB_NAME=coffer_drill_bench
unset PGPASSWORD DB_PASSWORD S3_MODE DRILL_SQL
echo "loading school.sql at scale $SCALE and make_files.py at scale $FILES_SCALE ..." >&2
psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB_NAME" -c "CREATE DATABASE $DB_NAME"
psql -X -q -d "$DB_NAME" -v scale="$SCALE" -f "$WORKLOAD/school.sql" >/dev/null
python3 "$WORKLOAD/make_files.py" create "$WORK/src" --scale "$FILES_SCALE" >/dev/null
head -c 24 /dev/urandom | base64 > "$WORK/passphrase"
chmod 600 "$WORK/passphrase"
export BACKUP_DIR=$WORK/repo BACKUP_PASSPHRASE_FILE=$WORK/passphrase
export BACKUP_PATHS=$WORK/src/uploads:$WORK/src/static:$WORK/src/logs
export TMPDIR=$WORK/tmp
mkdir -p "$TMPDIR"
"$COFFER" --quiet create --type full
R=$WORK/restored
DROP="psql -X -q -d postgres -c \"DROP DATABASE IF EXISTS coffer_drill_bench_restored\""

echo "== drill vs restore (database and files)" >&2
farm-bench -n "$RUNS" --timeout 3600 \
  --vs "sh -c '$DROP; rm -rf $R; exec $COFFER --quiet restore latest --type full --target-db coffer_drill_bench_restored --target $R'" \
  -- sh -c "exec $COFFER --quiet drill latest" 2>&1 | tee "$WORK/pair.txt" >&2
# One more drill for its own split of the time (restore and checks, per part).
"$COFFER" --json drill latest > "$WORK/drill.json"

DB_BYTES=$(psql -X -At -d "$DB_NAME" -c "SELECT pg_database_size(current_database())")
FILE_BYTES=$(du -sb "$WORK/src" | cut -f1)
python3 - "$WORK" "$OUT" "$SCALE" "$FILES_SCALE" "$DB_BYTES" "$FILE_BYTES" <<'PY'
import json, re, sys, datetime
work, out, scale, fscale, db_bytes, file_bytes = sys.argv[1:]
text = open(f"{work}/pair.txt").read()
def median(name):
    m = re.search(rf"^{re.escape(name)}\s+(\S+)\s+(\S+)\s+(\S+)", text, re.M)
    return float(m.group(2)) if m else None
drill = json.load(open(f"{work}/drill.json"))
split = {k: drill[k] for k in ("database_restore_seconds", "database_check_seconds", "files_restore_seconds",
                               "files_check_seconds", "duration_seconds", "tables", "rows", "indexes", "files", "bytes")}
doc = {"date": datetime.datetime.utcnow().isoformat() + "Z", "school_scale": scale, "files_scale": fscale,
       "database_bytes": int(db_bytes), "file_bytes": int(file_bytes),
       "drill_wall_s": median("A wall s"), "restore_wall_s": median("B wall s"), "ratio_wall": median("A/B wall"),
       "drill_split": split, "passed": drill["passed"], "raw": text}
json.dump(doc, open(out + ".json", "w"), indent=2)
lines = [f"# Drill benchmark, {doc['date']}", "",
         f"school.sql scale {scale} ({int(db_bytes) >> 20} MiB on the server), make_files.py scale {fscale} "
         f"({int(file_bytes) >> 20} MiB); farm-bench medians, ratio taken pair by pair.", "",
         "| what | drill, s | restore, s | drill / restore |", "|---|---|---|---|",
         f"| drill latest vs restore latest --type full | {doc['drill_wall_s']:.2f} | {doc['restore_wall_s']:.2f} | "
         f"{doc['ratio_wall']:.2f} |", "",
         "One drill's split: database restore {database_restore_seconds:.2f} s, database checks "
         "{database_check_seconds:.2f} s ({tables} tables, {rows} rows, {indexes} btree indexes), files restore "
         "{files_restore_seconds:.2f} s, files check {files_check_seconds:.2f} s ({files} files), "
         "{duration_seconds:.2f} s in all.".format(**split)]
open(out + ".md", "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
