#!/usr/bin/env bash
# The one benchmark command: coffer next to the tools users would pick instead, on the same data
# in the same run. Writes BENCHMARKS.md (repository root) and bench/results/all-<date>.json.
#
#   bench/run.sh [--runs N] [--quick] [--json] [--only files|db] [--keep] [--out PREFIX]
#                [--files-scale S] [--db-scale S]
#
#   --runs N       runs per figure (default 3); every figure is the median, with min and max
#   --quick        smoke run on a tiny workload (files scale 0.1, database scale 0.05, 2 runs,
#                  about 1-2 minutes); writes /tmp/coffer-bench-quick-<date>.md/.json, never
#                  BENCHMARKS.md
#   --json         print a JSON summary (output paths, targets met/missed) on stdout instead of
#                  the markdown; progress lines always go to stderr
#   --only PART    files or db: measure one part only
#   --keep         keep the scratch folder
#   --out PREFIX   write PREFIX.md and PREFIX.json instead
#   --files-scale S, --db-scale S   other workload sizes (default 5 and 2; --quick 0.1 and 0.05)
#
# Workload (the reference one in /work/shared/workload when it exists; the report says which):
# make_files.py create --scale 5 and school.sql at scale 2, then one mutate day of each.
# Files (bench/files_bench.sh): coffer, restic, borg, tar | zstd -3 -T0, tar | gzip.
# Database (bench/db_bench.py): coffer, pg_dump -Fc / -Fc -Z0 / plain > /dev/null,
# pg_dump | gzip, pg_dump | restic backup --stdin, pg_restore -j2 from a local -Fc dump.
# Measured: full backup (wall, CPU, peak RSS, repository size), one day's incremental (wall,
# bytes added), a no-change incremental, restore (wall; checked against the source). The report
# gives coffer's ratio to every peer and checks the issue's targets. About 13 minutes on 2 idle cores.
#
# Missing restic, borg, zstd, PostgreSQL are installed with apt-get. COFFER=binary skips the
# build (else RelWithDebInfo from this repository into /tmp/coffer-bench-build). PostgreSQL is a
# throwaway server (tests/fixtures/pg_server.sh), stopped on exit. BENCH_DIR: scratch parent.
# WORKLOAD_DIR: where make_files.py and school*.sql are (default /work/shared/workload).
set -euo pipefail

RUNS=
QUICK=0
JSON=0
ONLY=
KEEP=0
OUT_PREFIX=
FILES_SCALE=
DB_SCALE=
ARGS="$*"
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) RUNS="${2:-}"; shift 2 ;;
    --quick) QUICK=1; shift ;;
    --json) JSON=1; shift ;;
    --only) ONLY="${2:-}"; shift 2 ;;
    --keep) KEEP=1; shift ;;
    --out) OUT_PREFIX="${2:-}"; shift 2 ;;
    --files-scale) FILES_SCALE="${2:-}"; shift 2 ;;
    --db-scale) DB_SCALE="${2:-}"; shift 2 ;;
    -h|--help) sed -n '2,31p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown option $1 (see --help)" >&2; exit 3 ;;
  esac
done
case "$ONLY" in ''|files|db) ;; *) echo "run.sh: --only takes files or db" >&2; exit 3 ;; esac
if [ "$QUICK" = 1 ]; then FILES_SCALE=${FILES_SCALE:-0.1}; DB_SCALE=${DB_SCALE:-0.05}; RUNS=${RUNS:-2}
else FILES_SCALE=${FILES_SCALE:-5}; DB_SCALE=${DB_SCALE:-2}; RUNS=${RUNS:-3}; fi
for s in "$FILES_SCALE" "$DB_SCALE"; do
  [[ "$s" =~ ^[0-9]*\.?[0-9]+$ ]] || { echo "run.sh: a scale is a positive number, not '$s'" >&2; exit 3; }
done
case "$RUNS" in ''|*[!0-9]*|0) echo "run.sh: --runs needs a positive whole number" >&2; exit 3 ;; esac

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
BENCH_NAME=bench
BENCH_T0=$(date +%s)
export BENCH_T0
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"
DATE=$(date +%Y-%m-%d)
if [ -z "$OUT_PREFIX" ]; then
  if [ "$QUICK" = 1 ]; then OUT_PREFIX=${BENCH_DIR:-/tmp}/coffer-bench-quick-$DATE
  else OUT_PREFIX=; fi   # BENCHMARKS.md and bench/results/all-<date>.json
fi
if [ -n "$OUT_PREFIX" ]; then MD=$OUT_PREFIX.md; JSON_OUT=$OUT_PREFIX.json
else MD=$REPO/BENCHMARKS.md; JSON_OUT=$HERE/results/all-$DATE.json; fi

bench_log "coffer benchmark: files scale $FILES_SCALE, database scale $DB_SCALE, $RUNS runs$([ "$QUICK" = 1 ] && echo ' (quick smoke run)')"
if [ -n "${WORKLOAD_DIR:-}" ]; then [ -f "$WORKLOAD_DIR/school.sql" ] && [ -f "$WORKLOAD_DIR/make_files.py" ]
else [ -d /work/shared/workload ] || [ -d "$REPO/../shared/workload" ]; fi \
  || bench_log "WARNING: the reference workload (/work/shared/workload) is missing: the project's test fixtures stand in (the report says so)"

# ---------------------------------------------------------------- tools and coffer
[ -x "$TIME" ] || bench_need /usr/bin/time time
for pair in zstd:zstd gzip:gzip tar:tar restic:restic borg:borgbackup psql:postgresql-client pg_dump:postgresql-client; do
  bench_need "${pair%%:*}" "${pair#*:}"
done
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || bench_need /usr/lib/postgresql/15/bin/initdb postgresql
t=$(date +%s)
COFFER=$(bench_coffer "$REPO")
export COFFER
BUILD_S=$(( $(date +%s) - t ))
bench_log "coffer: $COFFER ($(bench_coffer_version "$COFFER"))"

# ---------------------------------------------------------------- scratch and PostgreSQL
mkdir -p "${BENCH_DIR:-/tmp}"
WORK=$(mktemp -d "${BENCH_DIR:-/tmp}/coffer-bench.XXXXXX")
chmod 755 "$WORK"   # the server runs as the postgres user and keeps its folder in here
META=$WORK/run-meta.jsonl
: >"$META"
PG_STARTED=0
cleanup() {
  if [ "$PG_STARTED" = 1 ]; then bash "$REPO/tests/fixtures/pg_server.sh" stop "$WORK/pg" >/dev/null 2>&1 || true; fi
  if [ "$KEEP" = 1 ]; then bench_log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
bench_meta load_before "$(cut -d' ' -f1-3 /proc/loadavg)"
# CPU steal (time the hypervisor gives other guests) over the run: "steal total" jiffies.
cpu_ticks() { awk '/^cpu /{t=0; for (i=2; i<=NF; i++) t+=$i; print $9, t}' /proc/stat; }
STEAL_START=$(cpu_ticks)

if [ "$ONLY" != files ]; then
  bench_log "starting PostgreSQL (tests/fixtures/pg_server.sh)"
  PG_STARTED=1
  eval "$(bash "$REPO/tests/fixtures/pg_server.sh" start "$WORK/pg" auto 2>"$WORK/pg-start.log")" \
    || { cat "$WORK/pg-start.log" >&2; bench_die "could not start PostgreSQL"; }
  export COFFER_TEST_PGHOST COFFER_TEST_PGPORT COFFER_TEST_PGUSER
  unset COFFER_TEST_PG_PASSWORD
fi

# ---------------------------------------------------------------- the parts
FAILED=()
PART_ARGS=()
declare -A PHASE_S=()
phase() {  # phase NAME COMMAND...: runs one part, notes its time, keeps going when it fails
  local name=$1 t rc=0; shift
  t=$(date +%s)
  BENCH_QUIET_REPORT=1 BENCH_DIR=$WORK "$@" >"$WORK/$name.out" || rc=$?
  PHASE_S[$name]=$(( $(date +%s) - t ))
  bench_meta "elapsed_${name}_s" "${PHASE_S[$name]}"
  if [ "$rc" != 0 ]; then FAILED+=("$name (exit $rc)"); bench_log "the $name part failed (exit $rc)"; fi
  [ -f "$WORK/$name.json" ] && PART_ARGS+=(--"$name" "$WORK/$name.json")
  return 0
}
if [ "$ONLY" != db ]; then
  bench_log "files part: make_files.py --scale $FILES_SCALE, $RUNS runs"
  BENCH_NAME=files phase files bash "$HERE/files_bench.sh" --runs "$RUNS" --scale "$FILES_SCALE" --out "$WORK/files"
fi
if [ "$ONLY" != files ]; then
  bench_log "database part: school.sql at scale $DB_SCALE, $RUNS runs"
  BENCH_NAME=db phase db python3 "$HERE/db_bench.py" --runs "$RUNS" --scale "$DB_SCALE" --out "$WORK/db"
fi

# ---------------------------------------------------------------- report
bench_meta load_after "$(cut -d' ' -f1-3 /proc/loadavg)"
read -r steal0 total0 <<< "$STEAL_START"
read -r steal1 total1 <<< "$(cpu_ticks)"
bench_meta cpu_steal "$(awk -v s=$((steal1 - steal0)) -v t=$((total1 - total0)) 'BEGIN { printf "%.0f%%", t ? 100 * s / t : 0 }')"
bench_meta date "$DATE"
bench_meta runs "$RUNS"
bench_meta command_args "${ARGS:+ $ARGS}"
[ "$QUICK" = 1 ] && bench_meta quick "yes"
bench_meta scales "files $FILES_SCALE, database $DB_SCALE"
bench_meta failed "$(IFS=,; echo "${FAILED[*]:-}")"
bench_meta json_path "$(realpath --relative-to="$REPO" "$JSON_OUT")"
bench_machine_meta "$WORK" "$COFFER" restic borg pg_dump zstd gzip tar
ELAPSED=$(( $(date +%s) - BENCH_T0 ))
mins() { echo "$(($1 / 60)) min $(($1 % 60)) s"; }
phases="coffer build $(mins "$BUILD_S")"
[ -z "${PHASE_S[files]:-}" ] || phases+=", files part $(mins "${PHASE_S[files]}")"
[ -z "${PHASE_S[db]:-}" ] || phases+=", database part $(mins "${PHASE_S[db]}")"
bench_meta elapsed_s "$ELAPSED"
bench_meta elapsed "$(mins "$ELAPSED") ($phases)"
[ ${#PART_ARGS[@]} -gt 0 ] || bench_die "no part produced results: ${FAILED[*]}"
mkdir -p "$(dirname "$MD")" "$(dirname "$JSON_OUT")"
python3 "$HERE/report.py" "${PART_ARGS[@]}" --run-meta "$META" --md "$MD" --json "$JSON_OUT" >"$WORK/report.out"
bench_log "done in $(mins "$ELAPSED") ($phases); wrote $MD and $JSON_OUT"
[ "$ELAPSED" -le 900 ] || [ "$QUICK" = 1 ] || bench_log "NOTE: over the 15-minute budget"
if [ "$JSON" = 1 ]; then
  python3 - "$MD" "$JSON_OUT" "$ELAPSED" <<'EOF'
import json, sys
md, path, elapsed = sys.argv[1], sys.argv[2], int(sys.argv[3])
doc = json.load(open(path))
targets = [{"target": t["target"], "measured": t["measured"], "limit": t["limit"], "met": t["met"],
            "status": t["status"]} for t in doc["targets"]]
print(json.dumps({"markdown": md, "json": path, "elapsed_s": elapsed,
                  "failed": [f for f in doc["meta"].get("failed", "").split(",") if f],
                  "targets_met": sum(1 for t in targets if t["met"]), "targets": targets}, indent=2, ensure_ascii=False))
EOF
else
  cat "$WORK/report.out"
fi
[ ${#FAILED[@]} -eq 0 ] || { bench_log "failed parts: ${FAILED[*]}"; exit 1; }
