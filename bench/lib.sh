# shellcheck shell=bash
# Shared pieces of the benchmark scripts (bench/run.sh, files_bench.sh, s3_bench.sh), sourced:
#
#   . "$HERE/lib.sh"
#
# Before calling the helpers below, set BENCH_NAME (prefix of log lines), and for bench_meta /
# bench_measure / bench_record the files META and RAW (JSON lines) and the folder WORK.
# Nothing here runs on its own when sourced.

BENCH_NAME=${BENCH_NAME:-bench}
BENCH_T0=${BENCH_T0:-$(date +%s)}   # start of the whole run: log lines show the time since then
export BENCH_T0
TIME=/usr/bin/time

bench_log() {  # one progress line on stderr: [name hh:mm:ss +elapsed] text
  local now=$(( $(date +%s) - BENCH_T0 ))
  printf '[%s %s +%dm%02ds] %s\n' "$BENCH_NAME" "$(date +%H:%M:%S)" $((now / 60)) $((now % 60)) "$*" >&2
}
bench_die() { echo "$BENCH_NAME: $*" >&2; exit 1; }

# bench_need COMMAND DEBIAN-PACKAGE: installs the package with apt-get when COMMAND is missing.
BENCH_APT_UPDATED=0
bench_need() {
  command -v "$1" >/dev/null 2>&1 && return 0
  command -v apt-get >/dev/null 2>&1 || bench_die "$1 is missing (Debian package $2) and there is no apt-get"
  bench_log "installing $2 (for $1)"
  if [ "$BENCH_APT_UPDATED" = 0 ]; then apt-get update -qq >/dev/null; BENCH_APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null || bench_die "apt-get could not install $2"
  command -v "$1" >/dev/null 2>&1 || bench_die "$2 is installed but $1 is still missing"
}

# bench_coffer REPO: prints the coffer binary to use: $COFFER when set, else one built from REPO
# (RelWithDebInfo, into ${COFFER_BUILD_DIR:-/tmp/coffer-bench-build}; an existing build there is
# brought up to date, which takes seconds when nothing changed).
bench_coffer() {
  local repo=$1 build=${COFFER_BUILD_DIR:-/tmp/coffer-bench-build}
  if [ -n "${COFFER:-}" ]; then
    [ -x "$COFFER" ] || bench_die "COFFER=$COFFER is not an executable"
    echo "$COFFER"; return 0
  fi
  bench_log "building coffer (RelWithDebInfo) from $repo into $build"
  mkdir -p "$build"
  nice cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$build/bench-cmake.log" 2>&1 \
    || { tail -20 "$build/bench-cmake.log" >&2; bench_die "cmake could not configure $repo (log: $build/bench-cmake.log)"; }
  nice cmake --build "$build" -j"$(nproc)" --target coffer >"$build/bench-build.log" 2>&1 \
    || { tail -30 "$build/bench-build.log" >&2; bench_die "building coffer failed (log: $build/bench-build.log)"; }
  echo "$build/coffer"
}

bench_meta() {  # bench_meta KEY VALUE: appends {"KEY": "VALUE"} to $META
  python3 -c 'import json,sys; print(json.dumps({sys.argv[1]: sys.argv[2]}))' "$1" "$2" >>"$META"
}

# bench_machine_meta DIR COFFER-BINARY [TOOL...]: the machine block (cores, CPU, RAM, kernel, the
# filesystem DIR is on, load average) and the version of coffer and of each TOOL that is installed
# (restic borg zstd gzip tar pg_dump aws), as meta keys.
bench_machine_meta() {
  local dir=$1 coffer=$2 tool; shift 2
  bench_meta nproc "$(nproc)"
  bench_meta cpu "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  bench_meta memory "$(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
  bench_meta kernel "$(uname -r)"
  bench_meta work_dir "$(dirname "$dir")"
  bench_meta filesystem "$(findmnt -n -o FSTYPE -T "$dir" 2>/dev/null || echo unknown)"
  bench_meta version_coffer "$(bench_coffer_version "$coffer")"
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || continue
    case "$tool" in
      restic) bench_meta version_restic "$(restic version | awk '{print $2}')" ;;
      borg) bench_meta version_borg "$(borg --version | awk '{print $2}')" ;;
      zstd) bench_meta version_zstd "$(zstd --version | grep -o 'v[0-9.]*' | head -1)" ;;
      gzip) bench_meta version_gzip "$(gzip --version | head -1 | awk '{print $2}')" ;;
      tar) bench_meta version_tar "$(tar --version | head -1 | awk '{print $NF}')" ;;
      pg_dump) bench_meta version_postgresql "$(pg_dump --version | awk '{print $3}')" ;;
      aws) bench_meta version_aws "$(aws --version 2>&1 | awk '{print $1, $2}')" ;;
    esac
  done
}

# bench_coffer_version BINARY: the git commit of the source it was built from (read from the CMake
# cache beside it), build type and build time. A source folder that is no git checkout (an
# exported tree) is named, with the commit of this repository for reference.
bench_coffer_version() {
  local bin=$1 dir src here rev type
  dir=$(dirname "$bin")
  here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  src=$(grep -m1 '^CMAKE_HOME_DIRECTORY' "$dir/CMakeCache.txt" 2>/dev/null | cut -d= -f2)
  if [ -n "$src" ] && rev=$(git -C "$src" describe --always --dirty --abbrev=10 2>/dev/null); then :
  elif [ -n "$src" ]; then
    rev="built from $src (no git checkout; $here is at $(git -C "$here" describe --always --dirty --abbrev=10 2>/dev/null || echo '?'))"
  else
    rev="$(git -C "$here" describe --always --dirty --abbrev=10 2>/dev/null || echo '?') (commit of $here; the binary's source is unknown)"
  fi
  type=$(grep -m1 '^CMAKE_BUILD_TYPE' "$dir/CMakeCache.txt" 2>/dev/null | cut -d= -f2)
  echo "$rev, ${type:-unknown build type}, $bin built $(date -r "$bin" '+%Y-%m-%d %H:%M')"
}

# Page cache: dropped before every measured operation when allowed (root), else left warm.
bench_cache_setup() {
  if sync && (echo 3 >/proc/sys/vm/drop_caches) 2>/dev/null; then
    BENCH_DROP=1; bench_meta cache "cold: dropped (sync; echo 3 > drop_caches) before every measured operation"
  else
    BENCH_DROP=0; bench_meta cache "warm: dropping it was not allowed here"
  fi
}
bench_drop_caches() { sync; if [ "${BENCH_DROP:-0}" = 1 ]; then echo 3 >/proc/sys/vm/drop_caches; fi; }

# bench_measure RUN TOOL OP CMD...: drops the cache, runs CMD under /usr/bin/time (wall, user and
# sys CPU, peak RSS of the largest process) and leaves the figures in M_*. Returns CMD's status;
# on failure the tail of its output goes to stderr.
bench_measure() {
  local rc=0
  M_RUN=$1 M_TOOL=$2 M_OP=$3; shift 3
  bench_drop_caches
  $TIME -f "%e %U %S %M" -o "$WORK/time.out" "$@" >"$WORK/cmd.log" 2>&1 || rc=$?
  if [ "$rc" != 0 ]; then
    bench_log "FAILED: $M_TOOL $M_OP (run $M_RUN, exit $rc):"
    tail -n 20 "$WORK/cmd.log" >&2
    return "$rc"
  fi
  read -r M_WALL M_USER M_SYS M_RSS < <(tail -1 "$WORK/time.out")
}

# bench_record PART [SIZE] [ADDED]: appends the last measurement to $RAW, sizes in bytes
# ("" = not applicable), and logs it.
bench_record() {
  python3 - "$1" "$M_RUN" "$M_TOOL" "$M_OP" "$M_WALL" "$M_USER" "$M_SYS" "$M_RSS" "${2:-}" "${3:-}" >>"$RAW" <<'EOF'
import json, sys
part, run, tool, op, wall, user, sys_, rss, size, added = sys.argv[1:11]
num = lambda s: int(s) if s != "" else None
print(json.dumps({"part": part, "run": int(run), "tool": tool, "op": op, "wall": float(wall),
                  "user": float(user), "sys": float(sys_), "rss_kb": int(rss), "size": num(size),
                  "added": num(added)}))
EOF
  local extra=""
  [ -n "${3:-}" ] && extra=", added $(awk -v b="$3" 'BEGIN {printf "%.2f MiB", b / 1048576}')"
  bench_log "  $1 run $M_RUN: $M_TOOL $M_OP ${M_WALL} s, $((M_RSS / 1024)) MiB peak$extra"
}

bench_size() { du -sb --apparent-size "$1" | cut -f1; }   # bytes under a path
