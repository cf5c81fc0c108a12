#!/usr/bin/env bash
# Benchmark of coffer's S3 paths next to the tools users would pick, on the same generated tree in
# the same run, against a local s3rver (tests/fixtures/s3_server.sh).
#
#   bench/s3_bench.sh [--runs N] [--scale S] [--keep]
#
# Per run (fresh repositories and S3 prefixes every run), each timed with /usr/bin/time:
#   coffer create, local only (S3 unset)          coffer create with S3_MODE=copy (http)
#   aws s3 cp --recursive of that repository      restic init + backup to S3 (https, see below)
#   coffer create with S3_MODE=copy (https)       then BACKUP_DIR is deleted and:
#   coffer --source s3 restore (http and https)   restic restore (https, empty cache)
#   aws s3 cp --recursive download of the repository folder copied by aws
# Every restore is compared with the source tree (diff -r).
# restic's S3 client signs uploads over plain http with the aws-chunked streaming signature,
# which s3rver 3.7.1 stores verbatim (corrupt objects); over https it sends plain bodies. So
# restic talks to s3rver through bench/tls_proxy.py, and coffer is measured through the same
# proxy too, for a like-for-like coffer/restic ratio.
# Writes bench/results/s3-<date>.md and .json and prints the markdown table.
#
# Environment: BENCH_DIR (parent of the scratch folder, default /tmp), COFFER (binary, default
# build/coffer, else /tmp/ci5/main/build/coffer), WORKLOAD_SCRIPT (make_files.py),
# BENCH_RESULTS (output folder, default bench/results), AWS_CLI (default /usr/bin/aws).
set -euo pipefail

RUNS=3
SCALE=2
KEEP=0
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) RUNS="$2"; shift 2 ;;
    --scale) SCALE="$2"; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h|--help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "s3_bench.sh: unknown option $1 (see --help)" >&2; exit 3 ;;
  esac
done
case "$RUNS" in ''|*[!0-9]*|0) echo "s3_bench.sh: --runs needs a positive whole number" >&2; exit 3 ;; esac

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
RESULTS=${BENCH_RESULTS:-$HERE/results}
S3_SERVER=$REPO/tests/fixtures/s3_server.sh
log() { echo "[s3bench $(date +%H:%M:%S)] $*" >&2; }
BENCH_NAME=s3bench
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"   # the machine and version block (bench_machine_meta)
die() { echo "s3_bench.sh: $*" >&2; exit 1; }

# ---------------------------------------------------------------- tools
TIME=/usr/bin/time
AWS=${AWS_CLI:-/usr/bin/aws}
[ -x "$TIME" ] || die "/usr/bin/time is missing (Debian package time)"
[ -x "$AWS" ] || die "$AWS is missing (Debian package awscli)"
command -v restic >/dev/null || die "restic is missing (Debian package restic)"
command -v openssl >/dev/null || die "openssl is missing"

find_coffer() {
  local c
  for c in ${COFFER:-} "$REPO/build/coffer" /tmp/ci5/main/build/coffer; do
    [ -x "$c" ] && { echo "$c"; return 0; }
  done
  return 1
}
COFFER_BIN=$(find_coffer) || { log "no coffer binary yet; waiting a minute"; sleep 60; COFFER_BIN=$(find_coffer) \
  || die "no coffer binary (set COFFER, or build into build/)"; }
log "coffer binary: $COFFER_BIN"

# ---------------------------------------------------------------- scratch space and cleanup
mkdir -p "${BENCH_DIR:-/tmp}"
WORK=$(mktemp -d "${BENCH_DIR:-/tmp}/coffer-s3-bench.XXXXXX")
PROXY_PID=
cleanup() {
  if [ -n "$PROXY_PID" ]; then kill "$PROXY_PID" 2>/dev/null || true; wait "$PROXY_PID" 2>/dev/null || true; fi
  "$S3_SERVER" stop "$WORK/s3" >/dev/null 2>&1 || true
  if [ "$KEEP" = 1 ]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
TREE=$WORK/tree   # the generated tree; every tool reads it, nothing changes it
OUT=$WORK/out
RAW=$WORK/raw.jsonl
META=$WORK/meta.jsonl
: >"$RAW"; : >"$META"
mkdir -p "$OUT"
meta() { python3 -c 'import json,sys; print(json.dumps({sys.argv[1]: sys.argv[2]}))' "$1" "$2" >>"$META"; }

# ---------------------------------------------------------------- workload
WORKLOAD=${WORKLOAD_SCRIPT:-}
[ -z "$WORKLOAD" ] && [ -f /work/shared/workload/make_files.py ] && WORKLOAD=/work/shared/workload/make_files.py
if [ -n "$WORKLOAD" ]; then
  WL_SCALE=$SCALE
  meta workload "make_files.py create --scale $SCALE"
else
  WORKLOAD=$REPO/tests/fixtures/make_tree.py   # its scale 1 is about 20 MB, make_files.py's 100 MB
  WL_SCALE=$(python3 -c "print($SCALE * 5)")
  meta workload "tests/fixtures/make_tree.py create --scale $WL_SCALE"
fi
log "creating the workload: $(basename "$WORKLOAD") --scale $WL_SCALE"
python3 "$WORKLOAD" create "$TREE" --scale "$WL_SCALE" >/dev/null
ROOTS=()
for d in "$TREE"/*; do [ -d "$d" ] && ROOTS+=("$(basename "$d")"); done
TREE_BYTES=$(du -sb --apparent-size "$TREE" | cut -f1)
meta tree_files "$(find "$TREE" -type f | wc -l)"
meta tree_bytes "$TREE_BYTES"

# ---------------------------------------------------------------- s3rver and the TLS proxy
log "starting s3rver"
eval "$("$S3_SERVER" start "$WORK/s3" auto coffer-bench)"
ENDPOINT=$COFFER_TEST_S3_ENDPOINT
BUCKET=$COFFER_TEST_S3_BUCKET
export AWS_ACCESS_KEY_ID=$COFFER_TEST_S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$COFFER_TEST_S3_SECRET_KEY
export AWS_DEFAULT_REGION=$COFFER_TEST_S3_REGION AWS_REGION=$COFFER_TEST_S3_REGION
export AWS_CONFIG_FILE=$WORK/aws-config AWS_SHARED_CREDENTIALS_FILE=$WORK/aws-credentials  # ignore ~/.aws
unset AWS_PROFILE AWS_SESSION_TOKEN

openssl req -x509 -newkey rsa:2048 -nodes -keyout "$WORK/tls.key" -out "$WORK/tls.crt" -days 2 \
  -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1
CA=$WORK/tls.crt
TLS_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 "$HERE/tls_proxy.py" "$CA" "$WORK/tls.key" "$TLS_PORT" "${ENDPOINT##*:}" >"$WORK/proxy.log" 2>&1 &
PROXY_PID=$!
for _ in $(seq 1 50); do grep -q listening "$WORK/proxy.log" && break; sleep 0.1; done
grep -q listening "$WORK/proxy.log" || die "tls_proxy.py did not start: $(cat "$WORK/proxy.log")"
TLS_ENDPOINT=https://127.0.0.1:$TLS_PORT
log "s3rver at $ENDPOINT, TLS proxy at $TLS_ENDPOINT, bucket $BUCKET"

# ---------------------------------------------------------------- cache and measuring
if sync && (echo 3 >/proc/sys/vm/drop_caches) 2>/dev/null; then
  DROP=1; meta cache "cold: page cache dropped before every measured operation"
else
  DROP=0; meta cache "warm: dropping the page cache was not allowed here"
fi
drop_caches() { sync; if [ "$DROP" = 1 ]; then echo 3 >/proc/sys/vm/drop_caches; fi; }

FAILURES=()
# measure RUN TOOL OP CMD...: times CMD; appends a record; returns CMD's status (logged on failure).
measure() {
  local run=$1 tool=$2 op=$3 rc=0; shift 3
  drop_caches
  $TIME -f "%e %U %S %M" -o "$WORK/time.out" "$@" >"$WORK/cmd.log" 2>&1 || rc=$?
  if [ "$rc" != 0 ]; then
    log "FAILED: $tool $op (run $run, exit $rc):"; tail -n 15 "$WORK/cmd.log" >&2
    FAILURES+=("$tool $op run $run: exit $rc: $(grep -v '^Command exited' "$WORK/cmd.log" | tail -n 3 | tr '\n' ' ' | cut -c1-300)")
    return "$rc"
  fi
  python3 - "$run" "$tool" "$op" $(tail -1 "$WORK/time.out") >>"$RAW" <<'EOF'
import json, sys
run, tool, op, wall, user, sys_, rss = sys.argv[1:8]
print(json.dumps({"run": int(run), "tool": tool, "op": op, "wall": float(wall),
                  "user": float(user), "sys": float(sys_), "rss_kb": int(rss)}))
EOF
}

VERIFIED=()
verify() {  # verify NAME DIR-HOLDING-THE-ROOTS
  local ok=yes r
  for r in "${ROOTS[@]}"; do diff -r "$TREE/$r" "$2/$r" >/dev/null 2>&1 || ok=NO; done
  VERIFIED+=("$1: $ok")
  [ "$ok" = yes ] || log "WARNING: $1 restore differs from the source tree"
}
s3_bytes() {  # s3_bytes PREFIX: total size of the objects under s3://bucket/PREFIX
  "$AWS" --endpoint-url "$ENDPOINT" s3 ls --recursive --summarize "s3://$BUCKET/$1" 2>/dev/null \
    | awk '/Total Size:/ {print $3}'
}

# ---------------------------------------------------------------- tools
umask 077
export BACKUP_PASSPHRASE RESTIC_PASSWORD
BACKUP_PASSPHRASE=$(head -c 24 /dev/urandom | base64)
RESTIC_PASSWORD=$BACKUP_PASSPHRASE
umask 022
unset BACKUP_PASSPHRASE_FILE RESTIC_PASSWORD_FILE S3_BUCKET S3_MODE S3_ENDPOINT S3_PREFIX S3_REGION
BACKUP_PATHS=$(printf "$TREE/%s:" "${ROOTS[@]}"); export BACKUP_PATHS=${BACKUP_PATHS%:}
export RESTIC_CACHE_DIR=$WORK/restic-cache

# Command prefixes in arrays, so /usr/bin/time can run them (it cannot run shell functions).
# coffer_s3 ENDPOINT PREFIX BACKUP_DIR: CS3 = coffer with the S3 copy settings.
coffer_s3() {
  CS3=(env BACKUP_DIR="$3" S3_MODE=copy S3_ENDPOINT="$1" S3_BUCKET="$BUCKET" S3_PREFIX="$2"
       S3_REGION="$AWS_DEFAULT_REGION" S3_CA_BUNDLE="$CA" "$COFFER_BIN" -q)
}
coffer_local() { CL=(env BACKUP_DIR="$1" "$COFFER_BIN" -q); }
restic_s3() { RS=(restic -q --cacert "$CA" -r "s3:$TLS_ENDPOINT/$BUCKET/$1"); }

# ---------------------------------------------------------------- runs
meta load_before "$(cut -d' ' -f1-3 /proc/loadavg)"
STAMP=$(date +%H%M%S)
for run in $(seq 1 "$RUNS"); do
  log "run $run of $RUNS"
  tag=r$run-$STAMP
  rm -rf "${OUT:?}"/* "$RESTIC_CACHE_DIR"

  # 1. coffer: local-only create, then create with the off-site copy (http and https).
  coffer_local "$OUT/local"; "${CL[@]}" init >/dev/null
  measure "$run" coffer create-local "${CL[@]}" create --type full || true
  meta "repo_bytes_run$run" "$(du -sb --apparent-size "$OUT/local" | cut -f1)"
  coffer_s3 "$ENDPOINT" "coffer-$tag/" "$OUT/copy"; "${CS3[@]}" init >/dev/null
  if measure "$run" coffer create-copy-http "${CS3[@]}" create --type full; then
    meta "s3_copy_bytes_run$run" "$(s3_bytes "coffer-$tag/")"
    meta "copy_repo_bytes_run$run" "$(du -sb --apparent-size --exclude=backup_log.json "$OUT/copy" | cut -f1)"
  fi
  coffer_s3 "$TLS_ENDPOINT" "coffer-tls-$tag/" "$OUT/copy-tls"; "${CS3[@]}" init >/dev/null
  measure "$run" coffer create-copy-https "${CS3[@]}" create --type full || true

  # 2. aws s3 cp of the same repository folder, and back.
  measure "$run" aws-cli upload "$AWS" --endpoint-url "$ENDPOINT" s3 cp --recursive --only-show-errors \
    "$OUT/copy" "s3://$BUCKET/aws-$tag/" || true

  # 3. restic init + backup over https.
  restic_s3 "restic-$tag"
  measure "$run" restic init "${RS[@]}" init || true
  measure "$run" restic backup "${RS[@]}" backup "$TREE" || true

  # 4. restores from S3 alone.
  rm -rf "$OUT/copy" "$OUT/copy-tls" "$RESTIC_CACHE_DIR"
  dest=$OUT/restore-coffer-http
  coffer_s3 "$ENDPOINT" "coffer-$tag/" "$OUT/copy"
  if measure "$run" coffer restore-http "${CS3[@]}" --source s3 restore latest --type files --target "$dest"; then
    verify "coffer --source s3 restore (http) run $run" "$dest"
  fi
  rm -rf "$dest" "$OUT/copy"
  dest=$OUT/restore-coffer-https
  coffer_s3 "$TLS_ENDPOINT" "coffer-tls-$tag/" "$OUT/copy-tls"
  if measure "$run" coffer restore-https "${CS3[@]}" --source s3 restore latest --type files --target "$dest"; then
    verify "coffer --source s3 restore (https) run $run" "$dest"
  fi
  rm -rf "$dest" "$OUT/copy-tls"
  dest=$OUT/restore-restic
  if measure "$run" restic restore "${RS[@]}" restore latest --target "$dest"; then
    verify "restic restore run $run" "$dest$TREE"
  fi
  rm -rf "$dest" "$RESTIC_CACHE_DIR"
  dest=$OUT/download-aws
  if measure "$run" aws-cli download "$AWS" --endpoint-url "$ENDPOINT" s3 cp --recursive --only-show-errors \
      "s3://$BUCKET/aws-$tag/" "$dest"; then
    [ -f "$dest/config" ] || FAILURES+=("aws-cli download run $run: no config object in the download")
  fi
  rm -rf "$dest"
done

# ---------------------------------------------------------------- machine, versions, report
meta load_after "$(cut -d' ' -f1-3 /proc/loadavg)"
DATE=$(date +%Y-%m-%d)
meta date "$DATE"
meta runs "$RUNS"
bench_machine_meta "$WORK" "$COFFER_BIN" restic   # bench/lib.sh: cores, CPU, RAM, kernel, filesystem, versions
meta version_aws "$("$AWS" --version 2>&1 | awk '{print $1, $2}')"
meta version_s3rver "$(node -p "require('${COFFER_NPM_CACHE:-/tmp/coffer-npm}/node_modules/s3rver/package.json').version" 2>/dev/null || echo '?') on node $(node --version)"
meta version_python "$(python3 --version | awk '{print $2}') (tls_proxy.py)"
meta settings "coffer defaults (zstd 3, AES-256-GCM, one worker per core), S3_MODE=copy, path-style; restic defaults (repo v2, compression auto); aws-cli defaults (10 concurrent requests, multipart above 8 MB)"
meta verified "$(IFS='|'; echo "${VERIFIED[*]:-none}")"
meta failures "$(IFS='|'; echo "${FAILURES[*]:-}")"
meta notes "s3rver is one node process writing to local disk on the same 2-core machine: it competes with the tool for CPU, so these are relative figures, not S3 throughput. https goes through bench/tls_proxy.py (one python process) because restic's minio-go client uses the aws-chunked streaming signature over http, which s3rver 3.7.1 stores undecoded. coffer create times include the local backup; the copy's share is create-copy minus create-local (per-run difference, median). restic restore starts with an empty cache, as coffer --source s3 starts with an empty BACKUP_DIR."

mkdir -p "$RESULTS"
python3 "$HERE/s3_report.py" "$RAW" "$META" "$RESULTS/s3-$DATE.md" "$RESULTS/s3-$DATE.json"
log "wrote $RESULTS/s3-$DATE.md and .json"
[ ${#FAILURES[@]} -eq 0 ] || { log "${#FAILURES[@]} operation(s) failed (see the report)"; exit 1; }
