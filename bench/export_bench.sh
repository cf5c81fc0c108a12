#!/usr/bin/env bash
# Export benchmark: `coffer export` next to what people run without coffer, on the same data in
# the same run, pair by pair with farm-bench (A then B, repeated; the ratio is taken per pair):
#   coffer export --type database --format sql.gz   vs  pg_dump | gzip        (plain SQL, gzip -6)
#   coffer export --type database --format custom   vs  pg_dump -Fc -Z0      (the archive itself)
#   coffer export --type files --format tar.zst     vs  tar -C SRC -c . | zstd -3 -T0
# Both read their source in full: coffer its repository (decrypt, decompress, check every chunk),
# the others the live server or folder. Outputs go to one folder and are removed after each run.
#
#   bench/export_bench.sh [--scale S] [--files-scale F] [--runs N] [--out PREFIX]
#
# Needs the test server's environment (COFFER_TEST_PGHOST/PGPORT/PGUSER, as tests/fixtures/
# pg_server.sh prints it; started here when unset), farm-bench, zstd, and the reference workload
# (/work/shared/workload: school.sql, make_files.py; WORKLOAD_DIR overrides).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SCALE=1 FILES_SCALE=2 RUNS=5 OUT="bench/results/export-$(date -u +%F)"
while [ $# -gt 0 ]; do
  case $1 in
    --scale) SCALE=$2; shift 2 ;;
    --files-scale) FILES_SCALE=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    *) echo "export_bench.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
WORKLOAD=${WORKLOAD_DIR:-/work/shared/workload}
COFFER=${COFFER:-$ROOT/build/coffer}
[ -x "$COFFER" ] || { echo "build coffer first (scripts/build.sh), or set COFFER" >&2; exit 2; }
WORK=$(mktemp -d /tmp/coffer-export-bench.XXXXXX)
chmod 755 "$WORK"
OWN_PG=
cleanup() {
  [ -n "$OWN_PG" ] && tests/fixtures/pg_server.sh stop "$WORK/pg" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
if [ -z "${COFFER_TEST_PGHOST:-}" ]; then
  eval "$(tests/fixtures/pg_server.sh start "$WORK/pg" auto)"
  OWN_PG=1
fi
export PGHOST=$COFFER_TEST_PGHOST PGPORT=$COFFER_TEST_PGPORT PGUSER=$COFFER_TEST_PGUSER
export DB_HOST=$PGHOST DB_PORT=$PGPORT DB_USER=$PGUSER DB_NAME=coffer_export_bench
unset PGPASSWORD DB_PASSWORD S3_MODE
echo "loading school.sql at scale $SCALE and make_files.py at scale $FILES_SCALE ..." >&2
psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB_NAME" -c "CREATE DATABASE $DB_NAME"
psql -X -q -d "$DB_NAME" -v scale="$SCALE" -f "$WORKLOAD/school.sql" >/dev/null
python3 "$WORKLOAD/make_files.py" create "$WORK/src" --scale "$FILES_SCALE" >/dev/null
head -c 24 /dev/urandom | base64 > "$WORK/passphrase"
chmod 600 "$WORK/passphrase"
export BACKUP_DIR=$WORK/repo BACKUP_PASSPHRASE_FILE=$WORK/passphrase
export BACKUP_PATHS=$WORK/src/uploads:$WORK/src/static:$WORK/src/logs
"$COFFER" --quiet create --type full
PG_DUMP=$(ls -d /usr/lib/postgresql/*/bin/pg_dump | sort -V | tail -1)
O=$WORK/out
mkdir -p "$O"

pair() {  # label, coffer command, other command (shell strings; each removes its output first)
  echo "== $1" >&2
  farm-bench -n "$RUNS" --timeout 1800 --vs "sh -c '$3'" -- sh -c "$2" 2>&1 | tee "$WORK/$4.txt" >&2
}
pair "database, plain SQL gzip-compressed" \
  "rm -f $O/a.sql.gz; exec $COFFER --quiet export latest --type database --format sql.gz --output $O/a.sql.gz" \
  "rm -f $O/b.sql.gz; $PG_DUMP -d $DB_NAME | gzip -6 > $O/b.sql.gz" sqlgz
pair "database, custom archive" \
  "rm -f $O/a.dump; exec $COFFER --quiet export latest --type database --format custom --output $O/a.dump" \
  "rm -f $O/b.dump; exec $PG_DUMP -Fc -Z0 -d $DB_NAME -f $O/b.dump" custom
pair "files, tar.zst" \
  "rm -f $O/a.tar.zst; exec $COFFER --quiet export latest --type files --format tar.zst --output $O/a.tar.zst" \
  "rm -f $O/b.tar.zst; tar -C $WORK/src -c uploads static logs | zstd -q -3 -T0 -o $O/b.tar.zst" tarzst

DB_BYTES=$(psql -X -At -d "$DB_NAME" -c "SELECT pg_database_size(current_database())")
FILE_BYTES=$(du -sb "$WORK/src" | cut -f1)
python3 - "$WORK" "$OUT" "$SCALE" "$FILES_SCALE" "$DB_BYTES" "$FILE_BYTES" <<'PY'
import json, re, sys, datetime
work, out, scale, fscale, db_bytes, file_bytes = sys.argv[1:]
rows = {}
for key in ("sqlgz", "custom", "tarzst"):
    text = open(f"{work}/{key}.txt").read()
    def median(name):
        m = re.search(rf"^{re.escape(name)}\s+(\S+)\s+(\S+)\s+(\S+)", text, re.M)
        return float(m.group(2)) if m else None
    rows[key] = {"coffer_wall_s": median("A wall s"), "other_wall_s": median("B wall s"),
                 "ratio_wall": median("A/B wall"), "raw": text}
doc = {"date": datetime.datetime.utcnow().isoformat() + "Z", "school_scale": scale, "files_scale": fscale,
       "database_bytes": int(db_bytes), "file_bytes": int(file_bytes), "pairs": rows}
json.dump(doc, open(out + ".json", "w"), indent=2)
names = {"sqlgz": ("export sql.gz", "pg_dump \| gzip -6"), "custom": ("export custom", "pg_dump -Fc -Z0"),
         "tarzst": ("export tar.zst", "tar \| zstd -3 -T0")}
lines = [f"# Export benchmark, {doc['date']}", "",
         f"school.sql scale {scale} ({int(db_bytes) >> 20} MiB on the server), make_files.py scale {fscale} "
         f"({int(file_bytes) >> 20} MiB); farm-bench medians, ratio taken pair by pair.", "",
         "| what | coffer, s | other, s | coffer / other |", "|---|---|---|---|"]
for key, r in rows.items():
    a, b = names[key]
    lines.append(f"| {a} vs {b} | {r['coffer_wall_s']:.2f} | {r['other_wall_s']:.2f} | {r['ratio_wall']:.2f} |")
open(out + ".md", "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
