#!/usr/bin/env bash
# Benchmark of coffer's file-tree backups next to restic, borg, tar+zstd and tar+gzip, all on the
# same generated tree in the same run.
#
#   bench/files_bench.sh [--runs N] [--scale S] [--no-borg] [--keep]
#
# Per run (fresh repositories every run): tar+zstd and tar+gzip archive and extract; coffer, restic
# and borg init, full backup, one day's incremental after `make_files.py mutate`, a no-change
# incremental, and a restore of the latest backup to a new folder. Each operation is timed with
# /usr/bin/time (wall, user+sys CPU, peak RSS); repository sizes are measured with du.
# Writes bench/results/files-<date>.md and .json and prints the markdown table.
#
# Environment: BENCH_DIR (parent of the scratch folder, default /tmp), COFFER (binary, default
# build/coffer; built into /tmp/coffer-bench-build when missing), WORKLOAD_SCRIPT (make_files.py),
# BENCH_RESULTS (output folder, default bench/results).
set -euo pipefail

RUNS=3
SCALE=5
WITH_BORG=1
KEEP=0
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) RUNS="$2"; shift 2 ;;
    --scale) SCALE="$2"; shift 2 ;;
    --no-borg) WITH_BORG=0; shift ;;
    --keep) KEEP=1; shift ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "files_bench.sh: unknown option $1 (see --help)" >&2; exit 3 ;;
  esac
done
case "$RUNS" in ''|*[!0-9]*|0) echo "files_bench.sh: --runs needs a positive whole number" >&2; exit 3 ;; esac

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
RESULTS=${BENCH_RESULTS:-$HERE/results}
log() { echo "[bench $(date +%H:%M:%S)] $*" >&2; }

# ---------------------------------------------------------------- tools
APT_UPDATED=0
need() {  # need COMMAND DEBIAN-PACKAGE
  command -v "$1" >/dev/null 2>&1 && return 0
  log "installing $2"
  if [ "$APT_UPDATED" = 0 ]; then apt-get update -qq >/dev/null; APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
}
[ -x /usr/bin/time ] || need /usr/bin/time time
need zstd zstd
need gzip gzip
need tar tar
need restic restic
[ "$WITH_BORG" = 1 ] && need borg borgbackup
TIME=/usr/bin/time

COFFER=${COFFER:-$REPO/build/coffer}
if [ ! -x "$COFFER" ]; then
  build=${COFFER_BUILD_DIR:-/tmp/coffer-bench-build}
  log "no coffer binary at $COFFER; building into $build"
  nice cmake -S "$REPO" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  nice cmake --build "$build" -j2 --target coffer >/dev/null
  COFFER=$build/coffer
fi

# ---------------------------------------------------------------- scratch space
mkdir -p "${BENCH_DIR:-/tmp}"
WORK=$(mktemp -d "${BENCH_DIR:-/tmp}/coffer-files-bench.XXXXXX")
cleanup() { if [ "$KEEP" = 1 ]; then log "kept $WORK"; else rm -rf "$WORK"; fi; }
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

meta() { python3 -c 'import json,sys; print(json.dumps({sys.argv[1]: sys.argv[2]}))' "$1" "$2" >>"$META"; }

# ---------------------------------------------------------------- workload
WORKLOAD=${WORKLOAD_SCRIPT:-}
for candidate in "$REPO/../shared/workload/make_files.py" /work/shared/workload/make_files.py; do
  [ -z "$WORKLOAD" ] && [ -f "$candidate" ] && WORKLOAD=$candidate
done
if [ -n "$WORKLOAD" ]; then
  WL_SCALE=$SCALE
  meta workload "make_files.py --scale $SCALE, then one mutate"
else
  # make_tree.py's scale 1 is about 20 MB, make_files.py's about 100 MB.
  WORKLOAD=$REPO/tests/fixtures/make_tree.py
  WL_SCALE=$(python3 -c "print($SCALE * 5)")
  meta workload "tests/fixtures/make_tree.py --scale $WL_SCALE, then one mutate"
fi
log "creating the workload with $(basename "$WORKLOAD") --scale $WL_SCALE in $WORK"
python3 "$WORKLOAD" create "$PRISTINE" --scale "$WL_SCALE" >/dev/null
ROOTS=(uploads static logs)

tree_bytes() { du -sb --apparent-size "$1" | cut -f1; }
tree_files() { find "$1" -type f | wc -l; }
meta files_before "$(tree_files "$PRISTINE")"
meta bytes_before "$(tree_bytes "$PRISTINE")"

# ---------------------------------------------------------------- cache and measuring
if sync && (echo 3 >/proc/sys/vm/drop_caches) 2>/dev/null; then
  DROP=1; meta cache "cold: dropped (echo 3 > drop_caches) before every measured operation"
else
  DROP=0; meta cache "warm: dropping it was not allowed here"
fi
drop_caches() { sync; if [ "$DROP" = 1 ]; then echo 3 >/proc/sys/vm/drop_caches; fi; }

# measure RUN TOOL OP CMD...: runs CMD under /usr/bin/time; leaves the figures in M_*.
measure() {
  local run=$1 tool=$2 op=$3; shift 3
  drop_caches
  if ! $TIME -f "%e %U %S %M" -o "$WORK/time.out" "$@" >"$WORK/cmd.log" 2>&1; then
    echo "files_bench.sh: $tool $op failed (run $run):" >&2
    tail -20 "$WORK/cmd.log" >&2
    exit 1
  fi
  read -r M_WALL M_USER M_SYS M_RSS < <(tail -1 "$WORK/time.out")
  M_RUN=$run M_TOOL=$tool M_OP=$op
}
# record [SIZE] [ADDED]: appends the last measurement with sizes in bytes ("" = not applicable).
record() {
  python3 - "$M_RUN" "$M_TOOL" "$M_OP" "$M_WALL" "$M_USER" "$M_SYS" "$M_RSS" "${1:-}" "${2:-}" >>"$RAW" <<'EOF'
import json, sys
run, tool, op, wall, user, sys_, rss, size, added = sys.argv[1:10]
num = lambda s: int(s) if s != "" else None
print(json.dumps({"run": int(run), "tool": tool, "op": op, "wall": float(wall), "user": float(user),
                  "sys": float(sys_), "rss_kb": int(rss), "size": num(size), "added": num(added)}))
EOF
}
size_of() { du -sb --apparent-size "$1" | cut -f1; }

VERIFIED=()
verify() {  # verify TOOL DIR-HOLDING-uploads/static/logs
  local ok=yes r
  for r in "${ROOTS[@]}"; do diff -rq "$TREE/$r" "$2/$r" >/dev/null 2>&1 || ok=NO; done
  VERIFIED+=("$1 $ok")
  [ "$ok" = yes ] || log "WARNING: $1 restore differs from the source tree"
}

# ---------------------------------------------------------------- tools, one function each
export BACKUP_PASSPHRASE_FILE=$PASS RESTIC_PASSWORD_FILE=$PASS
export BACKUP_PATHS=$TREE/uploads:$TREE/static:$TREE/logs
export RESTIC_CACHE_DIR=$WORK/restic-cache
export BORG_PASSCOMMAND="cat $PASS" BORG_CACHE_DIR=$WORK/borg-cache BORG_CONFIG_DIR=$WORK/borg-config
export BORG_BASE_DIR=$WORK/borg-base

tar_archives() {  # run: archive and extract with tar+zstd and tar+gzip
  local run=$1 name compress decompress
  for name in zstd gzip; do
    if [ "$name" = zstd ]; then compress="zstd -3 -T0 -q"; decompress="zstd -dc -T0"
    else compress="gzip"; decompress="gzip -dc"; fi
    local archive=$OUT/tree.tar.$name
    measure "$run" "tar+$name" full bash -o pipefail -c "tar -cf - -C '$WORK' tree | $compress > '$archive'"
    record "$(size_of "$archive")"
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
  measure "$1" coffer "$2" env BACKUP_DIR="$OUT/coffer" "$COFFER" -q create --type $type
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
meta load_before "$(cut -d' ' -f1-3 /proc/loadavg)"
for run in $(seq 1 "$RUNS"); do
  log "run $run of $RUNS"
  rm -rf "$TREE" "$OUT"/* "$RESTIC_CACHE_DIR" "$BORG_CACHE_DIR" "$BORG_CONFIG_DIR" "$BORG_BASE_DIR"
  cp -a "$PRISTINE" "$TREE"
  tar_archives "$run"
  for tool in "${BACKUP_TOOLS[@]}"; do
    "${tool}_init" "$run"; record "$(size_of "$("${tool}_repo")")"
    "${tool}_backup" "$run" full; record "$(size_of "$("${tool}_repo")")"
  done
  python3 "$WORKLOAD" mutate "$TREE" >/dev/null
  if [ "$run" = 1 ]; then meta files_after "$(tree_files "$TREE")"; meta bytes_after "$(tree_bytes "$TREE")"; fi
  for op in incremental nochange; do
    for tool in "${BACKUP_TOOLS[@]}"; do
      before=$(size_of "$("${tool}_repo")")
      "${tool}_backup" "$run" "$op"
      after=$(size_of "$("${tool}_repo")")
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
meta load_after "$(cut -d' ' -f1-3 /proc/loadavg)"
DATE=$(date +%Y-%m-%d)
meta date "$DATE"
meta runs "$RUNS"
meta nproc "$(nproc)"
meta cpu "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
meta memory "$(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
meta kernel "$(uname -r)"
meta work_dir "$(dirname "$WORK")"
meta filesystem "$(findmnt -n -o FSTYPE -T "$WORK" 2>/dev/null || echo unknown)"
coffer_rev=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)
meta version_coffer "$coffer_rev ($(basename "$(dirname "$COFFER")")/coffer built $(date -r "$COFFER" +%H:%M), $(grep -m1 '^CMAKE_BUILD_TYPE' "$(dirname "$COFFER")/CMakeCache.txt" 2>/dev/null | cut -d= -f2 || echo '?'))"
meta version_restic "$(restic version | awk '{print $2}')"
[ "$WITH_BORG" = 1 ] && meta version_borg "$(borg --version | awk '{print $2}')"
meta version_zstd "$(zstd --version | grep -o 'v[0-9.]*' | head -1)"
meta version_gzip "$(gzip --version | head -1 | awk '{print $2}')"
meta version_tar "$(tar --version | head -1 | awk '{print $NF}')"
settings="coffer defaults (zstd 3, AES-256-GCM, one worker per core); restic defaults (repo v2, compression auto)"
[ "$WITH_BORG" = 1 ] && settings+="; borg -e $BORG_MODE --compression zstd,3"
settings+="; tar | zstd -3 -T0; tar | gzip (-6)"
meta settings "$settings"
meta verified "$(IFS=,; echo "${VERIFIED[*]}" | sed 's/,/, /g')"
meta notes "peak RSS is the largest single process (for pipelines: tar, zstd or gzip, whichever is larger). coffer, restic and borg fsync what they write; tar pipelines do not, and no tool's time includes the final page-cache writeback (sync runs before each operation, untimed). restic and borg back up the one folder that holds uploads/static/logs; coffer backs up the three folders."

mkdir -p "$RESULTS"
python3 "$HERE/files_report.py" "$RAW" "$META" "$RESULTS/files-$DATE.md" "$RESULTS/files-$DATE.json"
log "wrote $RESULTS/files-$DATE.md and .json"
