#!/usr/bin/env bash
# Builds coffer's libFuzzer targets (fuzz/fuzz_*.cpp) with clang, ASan and UBSan, runs each for a
# while on its corpus (fuzz/corpus/<target>/) and prints a table. Exits non-zero when any target
# found a crash, a leak, a sanitizer report, an escaped non-coffer exception, a timeout or an
# out-of-memory; the input that caused it is kept in the crash folder the script names.
#
#   bench/fuzz.sh [--seconds N] [--target NAME] [--build-only] [--merge] [--seeds]
#
#   --seconds N    fuzzing time per target (default 60)
#   --target NAME  only this target (manifest, index, pack, tree, config, cron, dump)
#   --build-only   build the targets and stop
#   --merge        after the run, add the new inputs that reach new code to fuzz/corpus/<target>/
#                  (libFuzzer -set_cover_merge=1; seed_* and regress_* files stay as they are)
#   --seeds        regenerate the seed_* files with fuzz/make_seeds.cpp before the run
#
# Builds into FUZZ_BUILD_DIR (default /tmp/fuzz-build), compiling the src/ files the targets need
# directly (no CMake), one job at a time; an object is rebuilt when its source or a header it
# includes is newer. Run it under `nice` on a shared machine. CXX picks the compiler (default clang++).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${FUZZ_BUILD_DIR:-/tmp/fuzz-build}
CXX=${CXX:-clang++}
SECONDS_PER_TARGET=60
ONLY=
BUILD_ONLY=0
MERGE=0
SEEDS=0
ALL_TARGETS="manifest index pack tree config cron dump"

while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) SECONDS_PER_TARGET="$2"; shift 2 ;;
    --target) ONLY="$2"; shift 2 ;;
    --build-only) BUILD_ONLY=1; shift ;;
    --merge) MERGE=1; shift ;;
    --seeds) SEEDS=1; shift ;;
    -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "fuzz.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
TARGETS=$ALL_TARGETS
if [ -n "$ONLY" ]; then
  case " $ALL_TARGETS " in
    *" $ONLY "*) TARGETS=$ONLY ;;
    *) echo "fuzz.sh: unknown target '$ONLY'; targets: $ALL_TARGETS" >&2; exit 2 ;;
  esac
fi
case "$SECONDS_PER_TARGET" in
  ''|*[!0-9]*) echo "fuzz.sh: --seconds needs a whole number" >&2; exit 2 ;;
esac
command -v "$CXX" >/dev/null || { echo "fuzz.sh: $CXX not found (apt-get install clang libclang-rt-dev)" >&2; exit 2; }

# The sources the targets reach, compiled into one archive: the linker takes what each needs.
SOURCES="util/bytes.cpp codec/crypto.cpp codec/compression.cpp codec/delta.cpp chunk/chunker.cpp repo/keys.cpp
  repo/object_sealer.cpp repo/pack.cpp repo/index.cpp repo/manifest.cpp repo/repository.cpp repo/repository_identity.cpp
  repo/chunk_store.cpp repo/tree_stream.cpp repo/file_entry.cpp util/failpoint.cpp
  config/config_loader.cpp config/settings.cpp config/config_file.cpp
  config/interpreter.cpp config/passphrase.cpp config/aws_credentials.cpp schedule/cron_expr.cpp storage/storage.cpp
  source/postgres/pg_archive_directory.cpp source/postgres/pg_archive_blocks.cpp util/fd_io.cpp util/redact.cpp
  util/clock.cpp"
# Same definitions and libraries as CMake's coffer_core (spdlog/fmt shared, toml++ compiled).
DEFINES="-DFMT_SHARED -DSPDLOG_COMPILED_LIB -DSPDLOG_FMT_EXTERNAL -DSPDLOG_SHARED_LIB
  -DTOML_HEADER_ONLY=0 -DTOML_SHARED_LIB=1"
# BLAKE3's C sources (chunk ids), where CMakeLists.txt finds them.
BLAKE3_DIR=$(ls -d /usr/share/cargo/registry/blake3-*/c 2>/dev/null | sort | tail -1)
[ -n "$BLAKE3_DIR" ] || { echo "fuzz.sh: BLAKE3's C sources not found (apt-get install librust-blake3-dev)" >&2; exit 2; }
INCLUDES="-I$ROOT/include -I$ROOT/src -I$ROOT/fuzz -isystem /usr/include/postgresql -isystem $BLAKE3_DIR"
SANITIZE="-fsanitize=address,undefined -fno-sanitize-recover=all"
CXXFLAGS="-std=c++20 -g -O1 $SANITIZE $DEFINES $INCLUDES"
LIBS="-lcrypto -lz -lspdlog -lfmt -lzstd -llz4 -largon2 -lrt -ldl -ltomlplusplus -lpq -lcurl -pthread"

mkdir -p "$BUILD/obj"

stale() {  # stale OUTPUT INPUT...: true when OUTPUT is missing or older than an input
  local out=$1; shift
  [ -e "$out" ] || return 0
  for f in "$@"; do [ -e "$f" ] || return 0; [ "$f" -nt "$out" ] && return 0; done
  return 1
}
deps() {  # the files a compiler dependency file (-MMD) lists
  [ -e "$1" ] && sed -e 's/^[^:]*://' -e 's/\\$//' "$1" | tr -s ' ' '\n' | grep -v '^$'
  return 0
}

OBJECTS=
REBUILT=0
for s in $SOURCES; do
  obj="$BUILD/obj/$(echo "$s" | tr / _ | sed 's/\.cpp$/.o/')"
  # shellcheck disable=SC2046
  if [ ! -e "${obj%.o}.d" ] || stale "$obj" "$ROOT/src/$s" $(deps "${obj%.o}.d"); then
    echo "compile src/$s"
    # shellcheck disable=SC2086
    $CXX $CXXFLAGS -fsanitize=fuzzer-no-link -MMD -MF "${obj%.o}.d" -c "$ROOT/src/$s" -o "$obj"
    REBUILT=1
  fi
  OBJECTS="$OBJECTS $obj"
done
# BLAKE3 (chunk ids), compiled here too: portable code only, sanitized like the rest.
for c in blake3.c blake3_dispatch.c blake3_portable.c; do
  obj="$BUILD/obj/${c%.c}.o"
  if stale "$obj" "$BLAKE3_DIR/$c"; then
    echo "compile $BLAKE3_DIR/$c"
    ${CC:-clang} -O1 -g $SANITIZE -fsanitize=fuzzer-no-link -w -DBLAKE3_NO_SSE2 -DBLAKE3_NO_SSE41 \
      -DBLAKE3_NO_AVX2 -DBLAKE3_NO_AVX512 -c "$BLAKE3_DIR/$c" -o "$obj"
    REBUILT=1
  fi
  OBJECTS="$OBJECTS $obj"
done
ARCHIVE="$BUILD/libcoffer_fuzz.a"
if [ "$REBUILT" = 1 ] || [ ! -e "$ARCHIVE" ]; then
  rm -f "$ARCHIVE"
  # shellcheck disable=SC2086
  ar qc "$ARCHIVE" $OBJECTS
  ranlib "$ARCHIVE"
fi

for t in $TARGETS; do
  bin="$BUILD/fuzz_$t"
  # shellcheck disable=SC2046
  if [ ! -e "$bin.d" ] || stale "$bin" "$ROOT/fuzz/fuzz_$t.cpp" "$ARCHIVE" $(deps "$bin.d"); then
    echo "build fuzz_$t"
    # shellcheck disable=SC2086
    $CXX $CXXFLAGS -fsanitize=fuzzer -MMD -MF "$bin.d" "$ROOT/fuzz/fuzz_$t.cpp" "$ARCHIVE" $LIBS -o "$bin"
  fi
done

need_seeds=$SEEDS
for t in $TARGETS; do
  ls "$ROOT/fuzz/corpus/$t"/seed_* >/dev/null 2>&1 || need_seeds=1
done
if [ "$need_seeds" = 1 ]; then
  # shellcheck disable=SC2046
  if [ ! -e "$BUILD/make_seeds.d" ] ||
     stale "$BUILD/make_seeds" "$ROOT/fuzz/make_seeds.cpp" "$ARCHIVE" $(deps "$BUILD/make_seeds.d"); then
    echo "build make_seeds"
    # shellcheck disable=SC2086
    $CXX $CXXFLAGS -fsanitize=fuzzer-no-link -MMD -MF "$BUILD/make_seeds.d" "$ROOT/fuzz/make_seeds.cpp" "$ARCHIVE" \
      $LIBS -o "$BUILD/make_seeds"
  fi
  echo "write seeds into fuzz/corpus/"
  "$BUILD/make_seeds" "$ROOT/fuzz/corpus"
fi
[ "$BUILD_ONLY" = 1 ] && { echo "built into $BUILD"; exit 0; }

STAMP=$(date -u +%Y%m%dT%H%M%SZ)
CRASHES="$BUILD/crashes/$STAMP"
LOGS="$BUILD/logs/$STAMP"
mkdir -p "$CRASHES" "$LOGS"
FAILED=0
ROWS=
for t in $TARGETS; do
  corpus="$ROOT/fuzz/corpus/$t"
  scratch="$BUILD/corpus-new/$t"  # new inputs land here, not in the repository
  mkdir -p "$scratch" "$CRASHES/$t"
  log="$LOGS/$t.log"
  echo "fuzz $t for ${SECONDS_PER_TARGET}s (log: $log)"
  dict=()
  [ -f "$ROOT/fuzz/$t.dict" ] && dict=(-dict="$ROOT/fuzz/$t.dict")
  set +e
  ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1} \
    "$BUILD/fuzz_$t" -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$CRASHES/$t/" "${dict[@]}" "$scratch" "$corpus" </dev/null >"$log" 2>&1
  rc=$?
  set -e
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  corp=$(grep -o 'corp: [0-9]*/[0-9]*[a-zA-Z]*' "$log" | tail -1 | cut -d' ' -f2)
  artifact=$(find "$CRASHES/$t" -type f -printf "%f\n" 2>/dev/null | head -1)
  if [ "$rc" -eq 0 ] && [ -z "$artifact" ] &&
     ! grep -qE 'ERROR: (libFuzzer|AddressSanitizer|LeakSanitizer)|runtime error:|==FUZZ BUG==' "$log"; then
    result=ok
  else
    result="FAILED (exit $rc${artifact:+, input $CRASHES/$t/$artifact})"
    FAILED=1
    grep -m3 -E 'ERROR: |runtime error:|==FUZZ BUG==|SUMMARY' "$log" | sed 's/^/    /' || true
  fi
  ROWS="$ROWS$(printf '%-9s %12s %9s %14s  %s' "$t" "${runs:-?}" "${speed:-?}" "${corp:-?}" "$result")"$'\n'
  if [ "$MERGE" = 1 ] && [ "$result" = ok ]; then
    merged="$BUILD/merge/$t"
    rm -rf "$merged" && mkdir -p "$merged"
    cp "$corpus"/seed_* "$merged"/
    cp "$corpus"/regress_* "$merged"/ 2>/dev/null || true
    # Set cover on edges (not hit counts): the fewest inputs that reach everything reached.
    "$BUILD/fuzz_$t" -set_cover_merge=1 -use_counters=0 -timeout=10 -rss_limit_mb=2048 \
      "$merged" "$corpus" "$scratch" </dev/null >>"$log" 2>&1
    find "$corpus" -type f ! -name 'seed_*' ! -name 'regress_*' -delete
    find "$merged" -type f ! -name 'seed_*' ! -name 'regress_*' -exec cp {} "$corpus"/ \;
    files=$(find "$corpus" -type f | wc -l)
    kib=$(du -sk "$corpus" | cut -f1)
    echo "merged $t: $files files, $kib KiB"
    if [ "$files" -ge 200 ] || [ "$kib" -ge 2048 ]; then
      echo "  fuzz/corpus/$t is above 200 files or 2 MB: prune it by hand (keep seed_* and regress_*)"
    fi
  fi
done

echo
echo "fuzz run $STAMP, ${SECONDS_PER_TARGET}s per target"
printf '%-9s %12s %9s %14s  %s\n' target runs execs/s corpus result
printf '%s' "$ROWS"
if [ "$FAILED" = 1 ]; then
  echo "failures: inputs in $CRASHES, logs in $LOGS (reproduce: $BUILD/fuzz_<target> <input>)"
  exit 1
fi
rmdir "$CRASHES"/* "$CRASHES" 2>/dev/null || true
echo "no failures (logs in $LOGS)"
