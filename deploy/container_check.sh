#!/usr/bin/env bash
# Builds coffer's container image and runs deploy/docker-compose.backup.yml for real with podman
# and podman-compose against a throwaway PostgreSQL: backup, list, restore (files byte-identical,
# tables equal), then the scheduler service's catch-up full backup, its healthcheck (healthy,
# then unhealthy once the backup is too old) and a clean stop. .ci/run runs it after the tests.
# For a Debian 12 machine, as root. Only Debian's apt mirror is needed (no registry pulls): the
# debian:12 base image is made locally with debootstrap when it is missing.
#
#   deploy/container_check.sh [--keep] [--head]
#     --keep   leave the scratch folder (logs, repositories, restored copies) and print its path
#     --head   build the image from the committed HEAD (git archive) instead of the working tree
#
# Prints PASS/FAIL (and time) per step; exits 1 when any step fails. Everything it starts
# (PostgreSQL, containers) is stopped on exit; the images coffer:latest and debian:12 stay.
set -uo pipefail

usage() { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; }

KEEP=0
FROM_HEAD=0
for arg in "$@"; do
  case "$arg" in
    --keep) KEEP=1 ;;
    --head) FROM_HEAD=1 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "container_check.sh: unknown argument '$arg' (see --help)" >&2; exit 2 ;;
  esac
done

[ "$(id -u)" = 0 ] || { echo "container_check.sh: run as root (apt-get, debootstrap, rootful podman)" >&2; exit 2; }

REPO=$(cd "$(dirname "$0")/.." && pwd)
COMPOSE_FILE=$REPO/deploy/docker-compose.backup.yml
IMAGE=coffer:latest
BASE_IMAGE=docker.io/library/debian:12
COFFER_UID=10001   # the image's coffer user (deploy/Dockerfile)
PROJECT=coffercheck$$
PY=/usr/bin/python3  # Debian's; podman-compose depends on it

SCRATCH=$(mktemp -d /tmp/coffer-container-check.XXXXXX)
chmod 755 "$SCRATCH"  # the postgres user must reach $SCRATCH/pg
LOGS=$SCRATCH/logs
mkdir -p "$LOGS"
PG_DIR=$SCRATCH/pg
PG_STARTED=0

log() { echo "  $*"; }

# A podman build in progress (step 4). Killed, it leaves its working containers and the runc
# container of its current RUN step, which goes on running (compiling), so cleanup removes them.
BUILD_PID=""
BUILD_T0=0
stop_build() {
  [ -n "$BUILD_PID" ] || return 0
  kill "$BUILD_PID" 2>/dev/null
  wait "$BUILD_PID" 2>/dev/null
  local kind id bundle
  # Only what appeared since this build started (buildah names its RUN containers buildah-*).
  { runc --root /run/runc list --format json 2>/dev/null | T0=$BUILD_T0 $PY -c '
import datetime, json, os, sys
for c in json.load(sys.stdin) or []:
    t = datetime.datetime.fromisoformat(c["created"][:19]).replace(tzinfo=datetime.timezone.utc)
    if c["id"].startswith("buildah-") and t.timestamp() >= int(os.environ["T0"]) - 1:
        print("runc", c["id"], c["bundle"])'
    podman ps -a --external --format json 2>/dev/null | T0=$BUILD_T0 $PY -c '
import json, os, sys
for c in json.load(sys.stdin) or []:
    if c["Created"] >= int(os.environ["T0"]) - 1 and c["State"] == "storage":
        print("storage", c["Id"], "-")'
  } | while read -r kind id bundle; do
    if [ "$kind" = runc ]; then
      runc --root /run/runc delete -f "$id" >/dev/null 2>&1
      case "$bundle" in /var/tmp/buildah*) rm -rf "$bundle" ;; esac
    else
      podman rm -f "$id" >/dev/null 2>&1
    fi
    echo "  removed what the interrupted podman build left: $kind $id"
  done
}

cleanup() {
  local ids
  stop_build
  ids=$(podman ps -aq --filter "label=io.podman.compose.project=$PROJECT" 2>/dev/null)
  [ -n "$ids" ] && podman rm -f -t 5 $ids >/dev/null 2>&1
  podman pod exists "pod_$PROJECT" 2>/dev/null && podman pod rm -f "pod_$PROJECT" >/dev/null 2>&1
  podman network exists "${PROJECT}_default" 2>/dev/null && podman network rm "${PROJECT}_default" >/dev/null 2>&1
  [ "$PG_STARTED" = 1 ] && bash "$REPO/tests/fixtures/pg_server.sh" stop "$PG_DIR" >/dev/null 2>&1
  if [ "$KEEP" = 1 ]; then
    echo "scratch folder kept: $SCRATCH"
  else
    rm -rf "$SCRATCH"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- step bookkeeping ----
RESULTS=()
FAILED=0
run_step() {  # NAME FUNCTION: runs FUNCTION, records PASS/FAIL and seconds
  local name=$1 fn=$2 start rc secs
  echo "== $name"
  start=$(date +%s)
  "$fn"
  rc=$?
  secs=$(( $(date +%s) - start ))
  if [ $rc = 0 ]; then
    RESULTS+=("PASS  ${secs}s  $name")
  else
    RESULTS+=("FAIL  ${secs}s  $name")
    FAILED=1
  fi
  return $rc
}
skip_step() { RESULTS+=("SKIP   -   $1"); }
fail() { echo "  FAIL: $*" >&2; return 1; }
show_log() { echo "  --- last lines of $1:"; tail -n "${2:-25}" "$1" | sed 's/^/  | /'; }

# ---- 1. packages ----
step_packages() {
  # docker-compose (1.29, without its recommended docker.io) only checks the compose file.
  local pkgs=(podman podman-compose runc debootstrap postgresql postgresql-client docker-compose)
  local missing=() p
  for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} = 0 ]; then log "all installed: ${pkgs[*]}"; return 0; fi
  log "installing: ${missing[*]}"
  local with_recommends=() without=()
  for p in "${missing[@]}"; do
    if [ "$p" = docker-compose ]; then without+=("$p"); else with_recommends+=("$p"); fi
  done
  {
    apt-get update -qq &&
      { [ ${#with_recommends[@]} = 0 ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${with_recommends[@]}"; } &&
      { [ ${#without[@]} = 0 ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${without[@]}"; }
  } >"$LOGS/apt.log" 2>&1 || { show_log "$LOGS/apt.log"; fail "apt-get install"; }
}

# ---- 3. base image ----
# The first Debian mirror serving bookworm in the machine's apt sources (one-line or deb822).
debian_mirror() {
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    awk '$1 == "deb" {
           i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
           if ($(i + 1) == "bookworm") { print $i; exit }
         }' "$f"
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk 'BEGIN { RS = ""; FS = "\n" }
         { types = ""; uris = ""; suites = ""; enabled = "yes"
           for (i = 1; i <= NF; i++) {
             if ($i ~ /^Types:/) types = " " substr($i, 7) " "
             if ($i ~ /^URIs:/) { uris = substr($i, 6); sub(/^[ \t]+/, "", uris) }
             if ($i ~ /^Suites:/) suites = " " substr($i, 8) " "
             if ($i ~ /^Enabled:/) enabled = substr($i, 9)
           }
           if (types ~ / deb / && suites ~ /[ \t]bookworm[ \t]/ && enabled !~ /no/) {
             split(uris, u, /[ \t]+/); print u[1]; exit
           } }' "$f"
  done
}

step_base_image() {
  if podman image exists "$BASE_IMAGE"; then
    log "$BASE_IMAGE is already present"
  else
    local mirror rootfs=$SCRATCH/rootfs
    mirror=$(debian_mirror | head -n 1)
    mirror=${mirror%/}
    [ -n "$mirror" ] || fail "no bookworm mirror in /etc/apt/sources.list{,.d/*}" || return 1
    log "debootstrap --variant=minbase bookworm from $mirror"
    nice debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$LOGS/debootstrap.log" 2>&1 \
      || { show_log "$LOGS/debootstrap.log"; fail "debootstrap"; return 1; }
    chroot "$rootfs" apt-get clean
    rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/tmp/* "$rootfs"/etc/hostname
    log "apt sources in the image: $(grep -hv '^#' "$rootfs"/etc/apt/sources.list | tr -s ' ' | head -n 3)"
    # The ENV and CMD of the official image, so `FROM debian:12` behaves the same.
    tar -C "$rootfs" -c . | podman import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'CMD ["bash"]' - "$BASE_IMAGE" >"$LOGS/import.log" 2>&1 \
      || { show_log "$LOGS/import.log"; fail "podman import"; return 1; }
    rm -rf "$rootfs"
    log "imported $BASE_IMAGE"
  fi
  # The Dockerfile runs apt-get: the image's own sources must answer.
  podman run --rm --network=host "$BASE_IMAGE" apt-get update >"$LOGS/base-apt.log" 2>&1 \
    || { show_log "$LOGS/base-apt.log"; fail "apt-get update inside $BASE_IMAGE"; return 1; }
  log "apt-get update inside $BASE_IMAGE works"
}

# ---- 2. containers.conf ----
step_containers_conf() {
  cat >"$SCRATCH/containers.conf" <<'EOF'
# crun fails here (rlimits, hybrid cgroup layout): runc, and explicit ulimits.
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1000:1000"]

[engine]
runtime = "runc"
EOF
  export CONTAINERS_CONF=$SCRATCH/containers.conf
  podman info >"$LOGS/podman-info.log" 2>&1 \
    || { show_log "$LOGS/podman-info.log"; fail "podman info with $CONTAINERS_CONF"; return 1; }
  log "CONTAINERS_CONF=$CONTAINERS_CONF (runtime $(podman info -f '{{.Host.OCIRuntime.Name}}'))"
}

# ---- 4. image ----
step_build() {
  local context=$REPO
  if [ "$FROM_HEAD" = 1 ]; then
    context=$SCRATCH/src
    mkdir -p "$context"
    git -C "$REPO" archive HEAD | tar -x -C "$context" || { fail "git archive HEAD"; return 1; }
    cp "$REPO/.dockerignore" "$context/" 2>/dev/null
    log "context: git HEAD $(git -C "$REPO" rev-parse --short HEAD) (Dockerfile from the working tree)"
  fi
  local before after user ids
  before=$(podman image inspect -f '{{.Id}}' "$IMAGE" 2>/dev/null)
  # In the background, so that a signal reaches the trap (and stop_build) at once.
  BUILD_T0=$(date +%s)
  nice -n 10 podman build --network=host -t "$IMAGE" -f "$REPO/deploy/Dockerfile" "$context" \
    >"$LOGS/build.log" 2>&1 &
  BUILD_PID=$!
  local rc=0
  wait "$BUILD_PID" || rc=$?
  BUILD_PID=""
  [ $rc = 0 ] || { show_log "$LOGS/build.log" 40; fail "podman build"; return 1; }
  # Drop what this build superseded: the previous image, and the build stages of earlier builds
  # (the newest stays as the layer cache for the next build).
  after=$(podman image inspect -f '{{.Id}}' "$IMAGE")
  [ -n "$before" ] && [ "$before" != "$after" ] && podman rmi "$before" >/dev/null 2>&1
  ids=$(podman images -q --no-trunc --filter dangling=true --filter label=coffer.stage=build | tail -n +2)
  [ -n "$ids" ] && podman rmi $ids >/dev/null 2>&1
  user=$(podman image inspect -f '{{.Config.User}}' "$IMAGE")
  log "built $IMAGE ($(podman image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1/1e6}'), user $user)"
  podman run --rm "$IMAGE" --help >/dev/null 2>&1 || { fail "coffer --help in the image"; return 1; }
}

# ---- 5. PostgreSQL, data tree, settings ----
psql_admin() {  # psql as the superuser on the test server
  psql -X -q -v ON_ERROR_STOP=1 -h "$COFFER_TEST_PGHOST" -p "$COFFER_TEST_PGPORT" -U postgres "$@"
}

step_fixtures() {
  local exports
  exports=$(bash "$REPO/tests/fixtures/pg_server.sh" start "$PG_DIR" auto 2>"$LOGS/pg_server.log") \
    || { show_log "$LOGS/pg_server.log"; fail "pg_server.sh start"; return 1; }
  PG_STARTED=1
  eval "$exports"
  log "PostgreSQL on 127.0.0.1:$COFFER_TEST_PGPORT"
  # Owned by coffer_pw (password role), so coffer must use DB_PASSWORD to dump and restore it.
  psql_admin -d postgres -c "CREATE DATABASE coffer_check OWNER coffer_pw" || { fail "create database"; return 1; }
  psql_admin -d coffer_check >/dev/null <<'EOF' || { fail "fill database"; return 1; }
SET ROLE coffer_pw;
CREATE TABLE customers (id serial PRIMARY KEY, name text NOT NULL, email text UNIQUE,
                        created timestamptz NOT NULL DEFAULT '2024-05-01 12:00+00');
CREATE TABLE orders (id bigserial PRIMARY KEY, customer_id int REFERENCES customers(id),
                     amount numeric(10,2), note text, data jsonb);
INSERT INTO customers (name, email)
  SELECT 'customer ' || g, 'c' || g || '@example.org' FROM generate_series(1, 200) g;
INSERT INTO orders (customer_id, amount, note, data)
  SELECT g % 200 + 1, g * 1.25, 'order ' || g || E' with \'quotes\', tabs\t and ünïcode',
         jsonb_build_object('n', g, 'tags', jsonb_build_array('a', g % 7))
  FROM generate_series(1, 1000) g;
EOF
  # A small file tree: text, binary, empty, nested, a name with spaces, a symlink.
  local d=$SCRATCH/data
  mkdir -p "$d/uploads/2024/05" "$d/static/css" "$d/logs"
  echo "hello from coffer's container check" >"$d/static/index.html"
  printf 'body { color: #333; }\n' >"$d/static/css/site.css"
  head -c 300000 /dev/urandom >"$d/uploads/2024/05/photo one.jpg"
  seq 1 20000 >"$d/logs/app.log"
  : >"$d/logs/empty.log"
  ln -s ../static/index.html "$d/uploads/link-to-index"
  chmod -R a+rX "$d"
  # Host folders for the containers: writable (or, for the passphrase, readable) by the image's user.
  mkdir -p "$SCRATCH/backups" "$SCRATCH/restore" "$SCRATCH/sched-backups"
  chown "$COFFER_UID:$COFFER_UID" "$SCRATCH/backups" "$SCRATCH/restore" "$SCRATCH/sched-backups"
  (umask 077 && head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$SCRATCH/passphrase")
  chown "$COFFER_UID:$COFFER_UID" "$SCRATCH/passphrase"
  chmod 400 "$SCRATCH/passphrase"
  log "database coffer_check (2 tables, 1200 rows), $(find "$d" -type f | wc -l) files in $d"
}

# Settings for docker-compose.backup.yml. DB_PASSWORD passes through the environment (never on
# a command line); the passphrase goes in as the secret file.
compose_env() {
  export BACKUP_HOST_DIR=$SCRATCH/backups DATA_HOST_DIR=$SCRATCH/data RESTORE_HOST_DIR=$SCRATCH/restore
  export PASSPHRASE_FILE=$SCRATCH/passphrase BACKUP_PATHS=/data
  export DB_HOST=127.0.0.1 DB_PORT=$COFFER_TEST_PGPORT DB_NAME=coffer_check DB_USER=coffer_pw
  export DB_PASSWORD=$COFFER_TEST_PG_PASSWORD
  export COFFER_IMAGE=$IMAGE
}

# podman-compose with this run's project, its chatter to LOGS/NAME.{out,err}. Debian 12's
# podman-compose 1.0.3 needs deploy/podman-hostnet for network_mode: host, and exits 0 even when
# podman fails: it prints "exit code: N" after each podman command, so those are checked.
compose() {  # NAME ARGS...
  local name=$1; shift
  podman-compose --podman-path "$REPO/deploy/podman-hostnet" -p "$PROJECT" -f "$COMPOSE_FILE" "$@" \
    </dev/null >"$LOGS/$name.out" 2>"$LOGS/$name.err" || return 1
  ! grep -Eq '^exit code: [1-9]' "$LOGS/$name.out"
}

# The JSON a container printed, out of podman-compose's stdout (which has its own lines too).
json_of() {
  $PY - "$1" <<'EOF'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
for i, line in enumerate(lines):
    if line.strip() in ("[", "[]", "{", "{}"):
        end = next((j for j in range(i, len(lines)) if lines[j].startswith("exit code:")), len(lines))
        try:
            print(json.dumps(json.loads("\n".join(lines[i:end])))); sys.exit(0)
        except ValueError:
            continue
sys.exit("no JSON in " + sys.argv[1])
EOF
}

# ---- 6. the compose file for docker-compose users ----
# docker-compose 1.29 checks it against the Compose schema (no engine needed): only standard keys.
step_compose_config() {
  compose_env
  (cd "$SCRATCH" && docker-compose -f "$COMPOSE_FILE" config) >"$LOGS/docker-compose-config.yml" 2>&1 \
    || { show_log "$LOGS/docker-compose-config.yml"; fail "docker-compose config rejects $COMPOSE_FILE"; return 1; }
  grep -q 'network_mode: host' "$LOGS/docker-compose-config.yml" || { fail "no network_mode: host"; return 1; }
  log "docker-compose $(docker-compose version --short 2>/dev/null) config: valid"
}

# ---- 7. backup, list, restore with backup-manager ----
# (`run --no-deps`: podman-compose 1.0.3 otherwise starts every service of the file first.)
step_manager() {
  compose_env
  compose create run --rm --no-deps -T backup-manager create --type full \
    || { show_log "$LOGS/create.err"; show_log "$LOGS/create.out"; fail "backup-manager create --type full"; return 1; }
  log "create: $(grep -h '^backup .* done' "$LOGS/create.out" "$LOGS/create.err" | head -n 1)"

  compose list run --rm --no-deps -T backup-manager list --json \
    || { show_log "$LOGS/list.err"; fail "backup-manager list --json"; return 1; }
  json_of "$LOGS/list.out" >"$LOGS/list.json" || { show_log "$LOGS/list.out"; fail "no JSON from list --json"; return 1; }
  $PY - "$LOGS/list.json" <<'EOF' || { show_log "$LOGS/list.out"; fail "list --json does not show the full backup"; return 1; }
import json, sys
backups = json.load(open(sys.argv[1]))
full = [b for b in backups if b["backup_type"] == "full" and b["files"] and b["database"]]
assert len(backups) == 1 and full, backups
b = full[0]
print(f"  list: {b['backup_id']} {b['status']}, {b['file_count']} files, database {b['database'].get('name')}")
EOF

  compose restore run --rm --no-deps -T backup-manager restore latest --type full \
      --target /restore --target-db coffer_check_restored \
    || { show_log "$LOGS/restore.err"; show_log "$LOGS/restore.out"; fail "backup-manager restore latest"; return 1; }
  log "restore: exit 0"

  diff -r --no-dereference "$SCRATCH/data" "$SCRATCH/restore/data" >"$LOGS/diff.txt" 2>&1 \
    || { show_log "$LOGS/diff.txt"; fail "restored files differ from the originals"; return 1; }
  log "files: restore/data is byte-identical to data ($(find "$SCRATCH/restore/data" | wc -l) entries)"

  local t a b
  for t in customers orders; do
    a=$(psql_admin -d coffer_check -At -c "SELECT count(*) || ' ' || md5(string_agg(t::text, '' ORDER BY t::text)) FROM $t t")
    b=$(psql_admin -d coffer_check_restored -At -c "SELECT count(*) || ' ' || md5(string_agg(t::text, '' ORDER BY t::text)) FROM $t t") \
      || { fail "cannot read $t in coffer_check_restored"; return 1; }
    [ "$a" = "$b" ] || { fail "table $t: original '$a', restored '$b'"; return 1; }
    log "table $t: $a (equal)"
  done
}

# ---- 8. backup-scheduler: catch-up full, healthcheck, clean stop ----
newest_success_full() {  # BACKUP_DIR: prints the id of a successful full backup in backup_log.json
  [ -f "$1/backup_log.json" ] || return 1
  $PY - "$1/backup_log.json" <<'EOF'
import json, sys
ok = [r for r in json.load(open(sys.argv[1])) if r.get("backup_type") == "full" and r.get("status") == "success"]
if not ok: sys.exit(1)
print(ok[-1]["backup_id"])
EOF
}

# Neither the passphrase nor DB_PASSWORD may appear in a container's command line or config;
# DB_PASSWORD may only be in its environment (that is how it is given).
check_secrets() {  # CONTAINER
  podman inspect "$1" >"$LOGS/inspect.json" || { fail "podman inspect $1"; return 1; }
  PASSPHRASE=$(cat "$SCRATCH/passphrase") $PY - "$LOGS/inspect.json" <<'EOF'
import json, os, sys
c = json.load(open(sys.argv[1]))[0]
pw, phrase = os.environ["DB_PASSWORD"], os.environ["PASSPHRASE"]
text = json.dumps(c)
assert phrase not in text, "the passphrase is in podman inspect"
env = c["Config"].pop("Env")
assert pw not in json.dumps(c), "DB_PASSWORD is in podman inspect outside Config.Env"
assert f"DB_PASSWORD={pw}" in env, "DB_PASSWORD did not reach the container's environment"
assert "BACKUP_PASSPHRASE_FILE=/run/secrets/coffer_passphrase" in env
for pid in os.listdir("/proc"):
    if pid.isdigit():
        try: args = open(f"/proc/{pid}/cmdline", "rb").read().decode(errors="replace")
        except OSError: continue
        assert pw not in args and phrase not in args, f"a secret is in the arguments of process {pid}"
print("  secrets: not in podman inspect (CreateCommand, Args, Cmd, Mounts) nor in any process's arguments")
EOF
}

# The service's healthcheck (`coffer status`): healthy right after the catch-up backup, unhealthy
# once that backup is older than STATUS_MAX_AGE_HOURS (0.01 h = 36 s here).
HEALTH_MAX_AGE_HOURS=0.01
health_of() {  # CONTAINER: runs its healthcheck now; prints healthy, unhealthy or what podman said
  # podman healthcheck run prints nothing and exits 0 when healthy; "unhealthy" and 1 when not.
  local out rc=0
  out=$(podman healthcheck run "$1" 2>>"$LOGS/healthcheck.err") || rc=$?
  if [ $rc = 0 ]; then echo healthy
  elif [ $rc = 1 ] && [ "$out" = unhealthy ]; then echo unhealthy
  else echo "exit $rc: $out"
  fi
}

check_health() {  # CONTAINER
  local h waited=0
  podman inspect -f '{{json .Config.Healthcheck}}' "$1" >"$LOGS/healthcheck.json" 2>&1
  grep -q 'coffer status' "$LOGS/healthcheck.json" \
    || { show_log "$LOGS/healthcheck.json"; fail "the scheduler has no healthcheck running coffer status"; return 1; }
  h=$(health_of "$1")
  [ "$h" = healthy ] || { show_log "$LOGS/healthcheck.err"; fail "healthcheck right after the backup: '$h', want healthy"; return 1; }
  log "healthcheck right after the backup: healthy"
  while [ $waited -lt 90 ] && [ "$h" != unhealthy ]; do
    sleep 5; waited=$((waited + 5))
    h=$(health_of "$1")
  done
  [ "$h" = unhealthy ] \
    || { show_log "$LOGS/healthcheck.err"; fail "healthcheck '$h' ${waited}s after the backup (STATUS_MAX_AGE_HOURS=$HEALTH_MAX_AGE_HOURS)"; return 1; }
  log "healthcheck ~${waited}s later, the backup older than STATUS_MAX_AGE_HOURS=$HEALTH_MAX_AGE_HOURS: unhealthy"
}

step_scheduler() {
  compose_env
  export BACKUP_HOST_DIR=$SCRATCH/sched-backups
  # No slot of its own may add a backup while the healthcheck waits for the catch-up one to age.
  export STATUS_MAX_AGE_HOURS=$HEALTH_MAX_AGE_HOURS BACKUP_SCHEDULE_INCREMENTAL=off
  local name=${PROJECT}_backup-scheduler_1 id="" waited=0 rc state
  compose up up -d backup-scheduler \
    || { show_log "$LOGS/up.err"; show_log "$LOGS/up.out"; fail "up -d backup-scheduler"; return 1; }
  podman container exists "$name" || { show_log "$LOGS/up.out"; fail "no container $name"; return 1; }
  log "started $name as user $(podman inspect -f '{{.Config.User}}' "$name")"
  check_secrets "$name" || return 1
  while [ $waited -lt 120 ]; do
    id=$(newest_success_full "$SCRATCH/sched-backups") && break
    state=$(podman inspect -f '{{.State.Status}}' "$name" 2>/dev/null)
    [ "$state" = running ] || break
    sleep 2; waited=$((waited + 2))
  done
  podman logs "$name" >"$LOGS/scheduler.log" 2>&1
  [ -n "$id" ] || { show_log "$LOGS/scheduler.log"; fail "no successful full backup after ${waited}s (container $state)"; return 1; }
  log "catch-up full backup $id after ~${waited}s"
  grep -q 'full: .*catch-up' "$LOGS/scheduler.log" \
    || { show_log "$LOGS/scheduler.log"; fail "no 'full: ... catch-up' log line"; return 1; }
  check_health "$name" || return 1

  # podman-compose's `down` removes the container at once; stop first to read how it ended.
  compose stop stop -t 60 backup-scheduler || { show_log "$LOGS/stop.err"; fail "stop backup-scheduler"; return 1; }
  rc=$(podman inspect -f '{{.State.ExitCode}}' "$name")
  podman logs "$name" >"$LOGS/scheduler.log" 2>&1
  # (down also tries backup-manager_1, never created here: those "no such container" are fine.)
  compose down down -t 60
  [ -z "$(podman ps -aq --filter "label=io.podman.compose.project=$PROJECT")" ] \
    || { show_log "$LOGS/down.err"; fail "containers left after down"; return 1; }
  [ "$rc" = 0 ] || { show_log "$LOGS/scheduler.log"; fail "scheduler exited with $rc"; return 1; }
  grep -Eq 'stopped cleanly|scheduler stopped' "$LOGS/scheduler.log" \
    || { show_log "$LOGS/scheduler.log"; fail "no 'stopped cleanly' log line"; return 1; }
  log "stop: exit code 0, '$(grep -Eo 'received SIG[A-Z]+: stopped cleanly.*' "$LOGS/scheduler.log" | head -n 1)'"
  log "down: no container left"
}

# ---- run ----
T0=$(date +%s)
STEPS=(
  "1 packages (podman, podman-compose, runc, debootstrap, postgresql)|step_packages"
  "2 containers.conf (runc, ulimits)|step_containers_conf"
  "3 base image $BASE_IMAGE (debootstrap when missing)|step_base_image"
  "4 podman build $IMAGE|step_build"
  "5 test PostgreSQL, database and file tree|step_fixtures"
  "6 compose file valid for docker-compose (config)|step_compose_config"
  "7 backup-manager: create, list --json, restore, compare|step_manager"
  "8 backup-scheduler: catch-up full backup, healthcheck, clean stop|step_scheduler"
)
for s in "${STEPS[@]}"; do
  name=${s%|*}
  if [ "$FAILED" = 1 ]; then skip_step "$name"; continue; fi
  run_step "$name" "${s#*|}"
done

echo
echo "container_check.sh summary ($(date -u +%Y-%m-%dT%H:%M:%SZ), $(( $(date +%s) - T0 ))s in all):"
printf '  %s\n' "${RESULTS[@]}"
if [ "$FAILED" = 0 ]; then echo "PASS"; else echo "FAIL (logs in $LOGS; rerun with --keep to keep them)"; exit 1; fi
