#!/usr/bin/env bash
# Benchmark of coffer's file-tree backups next to restic, borg, tar | zstd and tar | gzip, all on
# the same generated tree in the same run. bench/run.sh runs it as the files part of the whole
# benchmark; it also runs on its own.
#
#   bench/files_bench.sh [--runs N] [--scale S] [--no-borg] [--keep] [--out PREFIX]
#
# Per run (fresh repositories every run): tar | zstd -3 -T0 and tar | gzip archive and extract;
# coffer, restic and borg init, full backup, one day's incremental after `make_files.py mutate`,
# a no-change incremental, and a restore of the latest backup to a new folder. Each operation is
# timed with /usr/bin/time (wall, user+sys CPU, peak RSS) on a cold page cache; repository sizes
# are measured with du. Every restore of run 1 is compared with the source tree (diff -r).
# Writes PREFIX.md and PREFIX.json (default bench/results/files-<date>) and prints the table.
#
# Environment: BENCH_DIR (parent of the scratch folder, default /tmp), COFFER (binary; built from
# this repository when unset, see bench/lib.sh), WORKLOAD_SCRIPT (make_files.py) or WORKLOAD_DIR
# (the folder holding it, default /work/shared/workload).
set -euo pipefail

RUNS=3
SCALE=5
WITH_BORG=1
KEEP=0
OUT_PREFIX=
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) RUNS="$2"; shift 2 ;;
    --scale) SCALE="$2"; shift 2 ;;
    --no-borg) WITH_BORG=0; shift ;;
    --keep) KEEP=1; shift ;;
    --out) OUT_PREFIX="$2"; shift 2 ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "files_bench.sh: unknown option $1 (see --help)" >&2; exit 3 ;;
  esac
done
case "$RUNS" in ''|*[!0-9]*|0) echo "files_bench.sh: --runs needs a positive whole number" >&2; exit 3 ;; esac

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
BENCH_NAME=${BENCH_NAME:-files}
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"
DATE=$(date +%Y-%m-%d)
[ -n "$OUT_PREFIX" ] || OUT_PREFIX=$HERE/results/files-$DATE

# ---------------------------------------------------------------- tools
[ -x "$TIME" ] || bench_need /usr/bin/time time
bench_need zstd zstd
bench_need gzip gzip
bench_need tar tar
bench_need restic restic
[ "$WITH_BORG" = 1 ] && bench_need borg borgbackup
COFFER=$(bench_coffer "$REPO")

# ---------------------------------------------------------------- scratch space
mkdir -p "${BENCH_DIR:-/tmp}"
WORK=$(mktemp -d "${BENCH_DIR:-/tmp}/coffer-files-bench.XXXXXX")
cleanup() { if [ "$KEEP" = 1 ]; then bench_log "kept $WORK"; else rm -rf "$WORK"; fi; }
trap cleanup EXIT
PRISTINE=$WORK/pristine   # the generated tree, never touched after creation
TREE=$WORK/tree           # the tree the tools back up; reset from PRISTINE every run
OUT=$WORK/out             # repositories, archives, restores
RAW=$WORK/raw.jsonl
META=$WORK/meta.jsonl
PASS=$WORK/passphrase
: >"$RAW"; : >"$META"
umask 077
head -c 24 /dev/urandom | base64 >"$PASS"
umask 022

# ---------------------------------------------------------------- workload
WORKLOAD=${WORKLOAD_SCRIPT:-}
CANDIDATES=("$REPO/../shared/workload/make_files.py" /work/shared/workload/make_files.py)
[ -z "${WORKLOAD_DIR:-}" ] || CANDIDATES=("$WORKLOAD_DIR/make_files.py")
for candidate in "${CANDIDATES[@]}"; do
  [ -z "$WORKLOAD" ] && [ -f "$candidate" ] && WORKLOAD=$candidate
done
if [ -n "$WORKLOAD" ]; then
  WORKLOAD=$(readlink -f "$WORKLOAD")
  WL_SCALE=$SCALE
  bench_meta workload "make_files.py create --scale $SCALE, then one make_files.py mutate"
  bench_meta workload_source "reference workload $WORKLOAD"
else
  # make_tree.py's scale 1 is about 20 MB, make_files.py's about 100 MB.
  WORKLOAD=$REPO/tests/fixtures/make_tree.py
  WL_SCALE=$(python3 -c "print($SCALE * 5)")
  bench_meta workload "tests/fixtures/make_tree.py create --scale $WL_SCALE, then one mutate"
  bench_meta workload_source "NOT the reference workload: make_files.py (/work/shared/workload) was not found, so the project's tests/fixtures/make_tree.py stands in"
  bench_log "WARNING: the reference workload make_files.py was not found; using tests/fixtures/make_tree.py"
fi
bench_log "creating the file tree: $(basename "$WORKLOAD") create --scale $WL_SCALE"
python3 "$WORKLOAD" create "$PRISTINE" --scale "$WL_SCALE" >/dev/null
ROOTS=(uploads static logs)
for r in "${ROOTS[@]}"; do [ -d "$PRISTINE/$r" ] || bench_die "the workload made no $r folder"; done

tree_files() { find "$1" -type f | wc -l; }
bench_meta files_before "$(tree_files "$PRISTINE")"
bench_meta bytes_before "$(bench_size "$PRISTINE")"
bench_cache_setup

VERIFIED=()
verify() {  # verify TOOL DIR-HOLDING-uploads/static/logs
  local ok=yes r
  for r in "${ROOTS[@]}"; do diff -r "$TREE/$r" "$2/$r" >/dev/null 2>&1 || ok=NO; done
  VERIFIED+=("$1 $ok")
  [ "$ok" = yes ] || bench_log "WARNING: $1 restore differs from the source tree"
}
measure() { bench_measure "$@" || exit 1; }
record() { bench_record files "$@"; }

# ---------------------------------------------------------------- tools, one function each
export BACKUP_PASSPHRASE_FILE=$PASS RESTIC_PASSWORD_FILE=$PASS
export BACKUP_PATHS=$TREE/uploads:$TREE/static:$TREE/logs
export RESTIC_CACHE_DIR=$WORK/restic-cache
export BORG_PASSCOMMAND="cat $PASS" BORG_CACHE_DIR=$WORK/borg-cache BORG_CONFIG_DIR=$WORK/borg-config
export BORG_BASE_DIR=$WORK/borg-base
unset BACKUP_PASSPHRASE RESTIC_PASSWORD RESTIC_REPOSITORY BORG_REPO DB_NAME S3_MODE

tar_archives() {  # run: archive and extract with tar | zstd and tar | gzip
  local run=$1 name compress decompress
  for name in zstd gzip; do
    if [ "$name" = zstd ]; then compress="zstd -3 -T0 -q"; decompress="zstd -dc -T0"
    else compress="gzip"; decompress="gzip -dc"; fi
    local archive=$OUT/tree.tar.$name
    measure "$run" "tar+$name" full bash -o pipefail -c "tar -cf - -C '$WORK' tree | $compress > '$archive'"
    record "$(bench_size "$archive")"
    mkdir -p "$OUT/extract"
    measure "$run" "tar+$name" restore bash -o pipefail -c "$decompress '$archive' | tar -xf - -C '$OUT/extract'"
    record
    [ "$run" = 1 ] && verify "tar+$name" "$OUT/extract/tree"
    rm -rf "$OUT/extract" "$archive"
  done
}

# Each backup tool: TOOL_init, TOOL_backup (full|incremental|nochange), TOOL_restore DEST, TOOL_repo.
coffer_repo() { echo "$OUT/coffer"; }
coffer_init() { measure "$1" coffer init env BACKUP_DIR="$OUT/coffer" "$COFFER" -q init; }
coffer_backup() {
  local type=incremental; [ "$2" = full ] && type=full
  measure "$1" coffer "$2" env BACKUP_DIR="$OUT/coffer" "$COFFER" -q create --only files --type $type
}
coffer_restore() { measure "$1" coffer restore env BACKUP_DIR="$OUT/coffer" "$COFFER" -q restore latest --type files --target "$2"; }
coffer_restored() { echo "$1"; }

restic_repo() { echo "$OUT/restic"; }
restic_init() { measure "$1" restic init restic -q -r "$OUT/restic" init; }
restic_backup() { measure "$1" restic "$2" restic -q -r "$OUT/restic" backup "$TREE"; }
restic_restore() { measure "$1" restic restore restic -q -r "$OUT/restic" restore latest --target "$2"; }
restic_restored() { echo "$1$TREE"; }

# SHA-NI present: borg's own advice is repokey (HMAC-SHA-256), the same primitives as coffer.
BORG_MODE=repokey-blake2
grep -qw sha_ni /proc/cpuinfo && BORG_MODE=repokey
borg_repo() { echo "$OUT/borg"; }
borg_init() { measure "$1" borg init borg init -e "$BORG_MODE" "$OUT/borg"; }
borg_backup() { measure "$1" borg "$2" borg create --compression zstd,3 "$OUT/borg::$2" "$TREE"; }
borg_restore() { mkdir -p "$2"; measure "$1" borg restore bash -c "cd '$2' && borg extract '$OUT/borg::nochange'"; }
borg_restored() { echo "$1$TREE"; }

BACKUP_TOOLS=(coffer restic)
[ "$WITH_BORG" = 1 ] && BACKUP_TOOLS+=(borg)

# ---------------------------------------------------------------- runs
mkdir -p "$OUT"
bench_meta load_before "$(cut -d' ' -f1-3 /proc/loadavg)"
for run in $(seq 1 "$RUNS"); do
  bench_log "files run $run of $RUNS"
  rm -rf "$TREE" "${OUT:?}"/* "$RESTIC_CACHE_DIR" "$BORG_CACHE_DIR" "$BORG_CONFIG_DIR" "$BORG_BASE_DIR"
  cp -a "$PRISTINE" "$TREE"
  tar_archives "$run"
  for tool in "${BACKUP_TOOLS[@]}"; do
    "${tool}_init" "$run"; record "$(bench_size "$("${tool}_repo")")"
    "${tool}_backup" "$run" full; record "$(bench_size "$("${tool}_repo")")"
  done
  python3 "$WORKLOAD" mutate "$TREE" >/dev/null
  if [ "$run" = 1 ]; then bench_meta files_after "$(tree_files "$TREE")"; bench_meta bytes_after "$(bench_size "$TREE")"; fi
  for op in incremental nochange; do
    for tool in "${BACKUP_TOOLS[@]}"; do
      before=$(bench_size "$("${tool}_repo")")
      "${tool}_backup" "$run" "$op"
      after=$(bench_size "$("${tool}_repo")")
      record "$after" "$((after - before))"
    done
  done
  for tool in "${BACKUP_TOOLS[@]}"; do
    dest=$OUT/restore-$tool
    "${tool}_restore" "$run" "$dest"; record
    [ "$run" = 1 ] && verify "$tool" "$("${tool}_restored" "$dest")"
    rm -rf "$dest"
  done
done

# ---------------------------------------------------------------- machine, versions, report
bench_meta load_after "$(cut -d' ' -f1-3 /proc/loadavg)"
bench_meta date "$DATE"
bench_meta runs "$RUNS"
bench_meta scale "$SCALE"
bench_machine_meta "$WORK" "$COFFER" restic borg zstd gzip tar
settings="coffer defaults (zstd 3, AES-256-GCM, one worker per core); restic defaults (repo v2, compression auto)"
[ "$WITH_BORG" = 1 ] && settings+="; borg -e $BORG_MODE --compression zstd,3"
settings+="; tar | zstd -3 -T0; tar | gzip (-6)"
bench_meta settings "$settings"
joined=$(IFS=,; echo "${VERIFIED[*]}")
bench_meta verified "${joined//,/, }"
bench_meta notes "peak RSS is the largest single process (for pipelines: tar, zstd or gzip, whichever is larger). coffer, restic and borg fsync the repositories they write (coffer's restore does not fsync the files it writes); tar pipelines do not, and no tool's time includes the final page-cache writeback (sync runs before each operation, untimed). restic and borg back up the one folder that holds uploads/static/logs; coffer backs up the three folders."

mkdir -p "$(dirname "$OUT_PREFIX")"
python3 "$HERE/files_report.py" "$RAW" "$META" "$OUT_PREFIX.md" "$OUT_PREFIX.json" >"$WORK/report.out"
[ -n "${BENCH_QUIET_REPORT:-}" ] || cat "$WORK/report.out"
bench_log "wrote $OUT_PREFIX.md and .json"
if printf '%s\n' "${VERIFIED[@]}" | grep -q ' NO$'; then bench_die "a restore differed from the source tree (see above)"; fi
