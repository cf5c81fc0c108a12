#!/usr/bin/env python3
"""Database benchmark: coffer next to pg_dump (custom, uncompressed custom, plain, | gzip),
pg_dump | restic backup --stdin and pg_restore -j2, on the same database in the same run.

    bench/db_bench.py [--scale S] [--runs N] [--out PREFIX] [--keep]

Loads the reference school workload (/work/shared/workload/school.sql with psql -v scale=S; the
project's tests/fixtures/school_fixture.sql when the reference is missing, said in the report),
copies it and applies one day of school_mutate.sql to the copy. The database under test is always
named `school`: the two days swap in by renaming, so every tool sees one database changing.
Per run (fresh repositories every run), each timed with /usr/bin/time on a cold page cache:
  full backup of day 0: coffer create --only database; pg_dump -Fc, pg_dump -Fc -Z0 and plain
    pg_dump to /dev/null; pg_dump | gzip > file; pg_dump | restic backup --stdin
  incremental after day 1, then a no-change incremental: coffer and pg_dump | restic --stdin
  restore of day 1: coffer restore latest --type database --target-db (runs pg_restore -j2 itself)
    and createdb + pg_restore -j2 from a local pg_dump -Fc file of day 1.
Run 1's restores are compared with day 1 table by table (row count and a sum of row hashes, plus
sequences and large objects). Writes PREFIX.json (meta + raw records, read by bench/report.py) and
PREFIX.md (default bench/results/db-<date>).

Uses the PostgreSQL server named by COFFER_TEST_PGHOST/PGPORT/PGUSER (bench/run.sh starts one);
without them it starts its own with tests/fixtures/pg_server.sh and stops it at the end.
COFFER: the binary (built from this repository when unset, see bench/lib.sh). WORKLOAD_DIR: the
folder holding school.sql and school_mutate.sql (default /work/shared/workload).
"""
import argparse
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import report  # noqa: E402  (shared summary and table helpers)

SHARED_CANDIDATES = ([os.environ["WORKLOAD_DIR"]] if os.environ.get("WORKLOAD_DIR") else
                     [os.path.join(os.path.dirname(REPO), "shared", "workload"), "/work/shared/workload"])
T0 = float(os.environ.get("BENCH_T0", time.time()))


def log(msg):
    t = int(time.time() - T0)
    print("[%s %s +%dm%02ds] %s" % (os.environ.get("BENCH_NAME", "db"), time.strftime("%H:%M:%S"), t // 60,
                                    t % 60, msg), file=sys.stderr, flush=True)


def sh(cmd, env, capture=False):
    r = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], env=env, text=True,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0:
        raise SystemExit("db_bench.py: `%s` failed (exit %d):\n%s" % (cmd, r.returncode, (r.stderr or "")[-2000:]))
    return r.stdout if capture else None


def lib(call, env):
    """Runs one bench/lib.sh function in bash and returns its stdout (its log lines go to stderr)."""
    r = subprocess.run(["bash", "-c", ". %s/lib.sh; %s" % (HERE, call)], env=env, text=True, stdout=subprocess.PIPE)
    if r.returncode != 0:
        raise SystemExit("db_bench.py: bench/lib.sh %s failed (exit %d)" % (call.split()[0], r.returncode))
    return r.stdout


def du(path):
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            total += os.path.getsize(os.path.join(root, f))
    return total


class Bench:
    def __init__(self, work, env):
        self.work, self.env, self.raw, self.meta = work, env, [], {}
        self.drop = False
        try:
            self.drop_caches(check=True)
            self.drop = True
            self.meta["cache"] = "cold: dropped (sync; echo 3 > drop_caches) before every measured operation"
        except OSError:
            self.meta["cache"] = "warm: dropping it was not allowed here"

    def drop_caches(self, check=False):
        os.sync()
        if self.drop or check:
            with open("/proc/sys/vm/drop_caches", "w") as f:
                f.write("3\n")

    def measure(self, run, tool, op, cmd, env=None, size=None, added_from=None):
        """Times CMD (bash, pipefail) under /usr/bin/time and records it. size: a path whose du is the
        size after the operation; added_from: that path's size before it (bytes added = difference)."""
        self.drop_caches()
        out = os.path.join(self.work, "time.out")
        r = subprocess.run(["/usr/bin/time", "-f", "%e %U %S %M", "-o", out, "bash", "-o", "pipefail", "-c", cmd],
                           env=env or self.env, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if r.returncode != 0:
            raise SystemExit("db_bench.py: %s %s failed (run %d, exit %d): %s\n%s" % (
                tool, op, run, r.returncode, cmd, r.stdout[-2000:]))
        with open(out) as f:
            wall, user, sys_, rss = f.read().split("\n")[-2].split()
        rec = {"part": "db", "run": run, "tool": tool, "op": op, "wall": float(wall), "user": float(user),
               "sys": float(sys_), "rss_kb": int(rss), "size": None, "added": None}
        if size:
            rec["size"] = du(size) if os.path.isdir(size) else os.path.getsize(size)
            if added_from is not None:
                rec["added"] = rec["size"] - added_from
        self.raw.append(rec)
        extra = "" if rec["added"] is None else ", added %.2f MiB" % (rec["added"] / 2**20)
        log("  db run %d: %s %s %.2f s, %d MiB peak%s" % (run, tool, op, rec["wall"], rec["rss_kb"] // 1024, extra))
        return rec


def checksum(db, env):
    """{table: "rows:hashsum"} for every table outside the system schemas, plus sequences and large
    objects: equal for two databases holding the same rows, whatever their order on disk."""
    tables = sh("psql -X -At -c \"select quote_ident(table_schema) || '.' || quote_ident(table_name) "
                "from information_schema.tables where table_type = 'BASE TABLE' "
                "and table_schema not in ('pg_catalog', 'information_schema') order by 1\" " + db,
                env, capture=True).splitlines()
    parts = ["select %s, count(*) || ':' || coalesce(sum(hashtext(t::text)::bigint), 0) from %s t"
             % ("'" + t.replace("'", "''") + "'", t) for t in tables if t]
    parts.append("select 'sequence ' || schemaname || '.' || sequencename, coalesce(last_value, 0)::text "
                 "from pg_sequences")
    parts.append("select 'large objects', count(*) || ':' || coalesce(sum(hashtext(md5(lo_get(oid)))::bigint), 0) "
                 "from pg_largeobject_metadata")
    query = os.path.join(tempfile.mkdtemp(dir=env.get("BENCH_SCRATCH", "/tmp")), "checksum.sql")
    with open(query, "w") as f:
        f.write(" union all ".join(parts) + ";\n")
    out = sh("psql -X -At -F '|' -v ON_ERROR_STOP=1 -f %s %s" % (query, db), env, capture=True)
    shutil.rmtree(os.path.dirname(query), ignore_errors=True)
    return dict(line.split("|", 1) for line in out.splitlines() if line)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", default="2")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--out", help="write PREFIX.md and PREFIX.json (default bench/results/db-<date>)")
    ap.add_argument("--keep", action="store_true", help="keep the scratch folder")
    args = ap.parse_args()
    if args.runs < 1:
        raise SystemExit("db_bench.py: --runs needs a positive whole number")
    date = datetime.date.today().isoformat()
    prefix = args.out or os.path.join(HERE, "results", "db-" + date)
    env = dict(os.environ, BENCH_NAME=os.environ.get("BENCH_NAME", "db"), BENCH_T0=str(T0))
    for cmd, pkg in (("restic", "restic"), ("gzip", "gzip"), ("pg_dump", "postgresql-client"),
                     ("/usr/bin/time", "time")):
        if shutil.which(cmd) is None:
            lib("bench_need %s %s" % (cmd, pkg), env)
    coffer = lib("bench_coffer %s" % REPO, env).strip()

    base = os.environ.get("BENCH_DIR", "/tmp")
    os.makedirs(base, exist_ok=True)
    work = tempfile.mkdtemp(prefix="coffer-db-bench.", dir=base)
    os.chmod(work, 0o755)  # an own server runs as the postgres user and keeps its folder in here
    own_server = "COFFER_TEST_PGHOST" not in env
    pg_dir = os.path.join(work, "pg")
    try:
        if own_server:
            log("starting PostgreSQL (tests/fixtures/pg_server.sh)")
            for line in sh("bash %s/tests/fixtures/pg_server.sh start %s auto" % (REPO, pg_dir), env,
                           capture=True).splitlines():
                if line.startswith("export ") and "=" in line:
                    k, v = line[len("export "):].split("=", 1)
                    env[k] = v.strip("'\"")
        env.update(PGHOST=env["COFFER_TEST_PGHOST"], PGPORT=env["COFFER_TEST_PGPORT"],
                   PGUSER=env["COFFER_TEST_PGUSER"], PGDATABASE="postgres",
                   DB_HOST=env["COFFER_TEST_PGHOST"], DB_PORT=env["COFFER_TEST_PGPORT"],
                   DB_USER=env["COFFER_TEST_PGUSER"], DB_NAME="school")
        for k in ("PGPASSWORD", "DB_PASSWORD", "BACKUP_PATHS", "S3_MODE", "RESTIC_REPOSITORY", "BACKUP_PASSPHRASE"):
            env.pop(k, None)
        passfile = os.path.join(work, "passphrase")
        with open(os.open(passfile, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
            f.write(os.urandom(18).hex() + "\n")
        env.update(BENCH_SCRATCH=work, BACKUP_PASSPHRASE_FILE=passfile, RESTIC_PASSWORD_FILE=passfile,
                   RESTIC_CACHE_DIR=os.path.join(work, "restic-cache"))
        run_bench(args, env, coffer, work, prefix, date)
    finally:
        if own_server:
            subprocess.run(["bash", "%s/tests/fixtures/pg_server.sh" % REPO, "stop", pg_dir],
                           env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if args.keep:
            log("kept " + work)
        else:
            shutil.rmtree(work, ignore_errors=True)


def run_bench(args, env, coffer, work, prefix, date):
    shared = next((d for d in SHARED_CANDIDATES if os.path.exists(os.path.join(d, "school.sql"))), None)
    if shared:
        shared = os.path.realpath(shared)
        load, mutate = os.path.join(shared, "school.sql"), os.path.join(shared, "school_mutate.sql")
        source = "reference workload %s" % load
        name = "school.sql"
    else:
        load = os.path.join(REPO, "tests", "fixtures", "school_fixture.sql")
        mutate = os.path.join(REPO, "tests", "fixtures", "school_fixture_mutate.sql")
        # The fixture's scale 1 is about 10 MB, school.sql's about 20 times that.
        args.scale = "%g" % (float(args.scale) * 20)
        source = ("NOT the reference workload: school.sql (/work/shared/workload) was not found, so the project's "
                  "tests/fixtures/school_fixture.sql stands in, at 20 times the scale asked for")
        name = "school_fixture.sql"
        log("WARNING: the reference workload school.sql was not found; using tests/fixtures/school_fixture.sql")
    psql = "psql -X -q -v ON_ERROR_STOP=1 -v scale=%s" % args.scale
    log("loading %s at scale %s" % (name, args.scale))
    t = time.monotonic()
    for db in ("school", "school_next", "restored_coffer", "restored_pg"):
        sh("dropdb --if-exists %s" % db, env)
    sh("createdb school && %s -f %s school >/dev/null" % (psql, load), env)
    sh("createdb -T school school_next && %s -v day=1 -f %s school_next >/dev/null" % (psql, mutate), env)
    log("loaded in %.0f s" % (time.monotonic() - t))
    db_bytes = int(sh("psql -X -At -c \"select pg_database_size('school')\"", env, capture=True))
    expected = checksum("school_next", env)  # what a restore of day 1 must give back
    dump = os.path.join(work, "day1.dump")
    sh("pg_dump -Fc -f %s school_next" % dump, env)
    b = Bench(work, env)
    meta = b.meta
    meta.update(workload="%s at scale %s (%.0f MiB on the server), then one day of %s (psql -v day=1)" % (
        name, args.scale, db_bytes / 2**20, os.path.basename(mutate)), workload_source=source,
        db_bytes=db_bytes, dump_fc_day1_bytes=os.path.getsize(dump), scale=args.scale, runs=args.runs, date=date,
        load_before=open("/proc/loadavg").read().split()[:3])
    meta["load_before"] = " ".join(meta["load_before"])

    def swap(day):  # the database named school holds day 0 or day 1
        if day == 1:
            sh("psql -X -q -c 'alter database school rename to school_prev' -c "
               "'alter database school_next rename to school'", env)
        else:
            sh("psql -X -q -c 'alter database school rename to school_next' -c "
               "'alter database school_prev rename to school'", env)

    verified = []
    for run in range(1, args.runs + 1):
        log("database run %d of %d" % (run, args.runs))
        out = os.path.join(work, "out")
        shutil.rmtree(out, ignore_errors=True)
        shutil.rmtree(env["RESTIC_CACHE_DIR"], ignore_errors=True)
        os.makedirs(out)
        crepo, rrepo, gz = os.path.join(out, "coffer"), os.path.join(out, "restic"), os.path.join(out, "school.sql.gz")
        ce = dict(env, BACKUP_DIR=crepo)
        sh("%s -q init" % coffer, ce)
        sh("restic -q -r %s init" % rrepo, env)
        restic = "pg_dump school | restic -q -r %s backup --stdin --stdin-filename school.sql" % rrepo
        cfull = "%s -q create --only database --type %%s" % coffer

        b.measure(run, "coffer", "full", cfull % "full", ce, size=crepo)
        b.measure(run, "pg_dump -Fc", "full", "pg_dump -Fc school > /dev/null")
        b.measure(run, "pg_dump -Fc -Z0", "full", "pg_dump -Fc -Z0 school > /dev/null")
        b.measure(run, "pg_dump (plain)", "full", "pg_dump school > /dev/null")
        b.measure(run, "pg_dump | gzip", "full", "pg_dump school | gzip > %s" % gz, size=gz)
        os.remove(gz)
        b.measure(run, "pg_dump | restic", "full", restic, size=rrepo)

        swap(1)
        try:
            for op in ("incremental", "nochange"):
                before = du(crepo)
                b.measure(run, "coffer", op, cfull % "incremental", ce, size=crepo, added_from=before)
                before = du(rrepo)
                b.measure(run, "pg_dump | restic", op, restic, size=rrepo, added_from=before)
            b.measure(run, "coffer", "restore",
                      "%s -q restore latest --type database --target-db restored_coffer" % coffer, ce)
            b.measure(run, "pg_restore -j2", "restore", "createdb restored_pg && pg_restore -j2 -d restored_pg %s" % dump,
                      size=dump)
            if run == 1:
                for tool, db in (("coffer", "restored_coffer"), ("pg_restore -j2", "restored_pg")):
                    got = checksum(db, env)
                    ok = got == expected
                    verified.append("%s %s" % (tool, "yes" if ok else "NO"))
                    if not ok:
                        bad = sorted(k for k in set(got) | set(expected) if got.get(k) != expected.get(k))
                        log("WARNING: %s restore differs from day 1 in: %s" % (tool, ", ".join(bad)))
            sh("dropdb restored_coffer && dropdb restored_pg", env)
        finally:
            swap(0)
        shutil.rmtree(out, ignore_errors=True)

    meta["load_after"] = " ".join(open("/proc/loadavg").read().split()[:3])
    meta["verified"] = ", ".join(verified) + " (every table's row count and sum of row hashes, sequences, " \
                                             "large objects, against day 1)"
    meta["settings"] = ("coffer defaults (pg_dump -Fc -Z0 streamed into the chunk store, zstd 3, AES-256-GCM; "
                        "restore runs pg_restore -j2); restic defaults (repo v2, compression auto)")
    meta["notes"] = ("CPU time and peak RSS are those of the tool's own processes (pg_dump, gzip, restic, coffer, "
                     "pg_restore), not of the PostgreSQL server that serves or loads the data. The -Fc file "
                     "that pg_restore reads is made once, untimed, and its size is the pg_restore row's size; "
                     "the pg_dump > /dev/null rows have no size. Restores are of day 1 (the latest backup).")
    for line in lib("META=/dev/stdout; bench_machine_meta %s %s restic pg_dump gzip" % (work, coffer), env).splitlines():
        meta.update(json.loads(line))
    doc = {"meta": meta, "raw": b.raw}
    write_outputs(doc, prefix)
    if any(v.endswith(" NO") for v in verified):
        raise SystemExit("db_bench.py: a restore differed from the source database (see above)")


def write_outputs(doc, prefix):
    spec = report.PARTS["db"]
    summary = report.summarise(doc["raw"], spec["tools"])
    peers = [t for t in spec["tools"] if t != "coffer"]
    rows = report.ratios(summary, spec["ops"], peers)
    doc = dict(doc, results=[{"tool": t, "op": o, **cell} for (t, o), cell in summary.items()], ratios=rows)
    m = doc["meta"]
    lines = ["# coffer database benchmark, %s" % m["date"], "",
             "Machine: %s cores, %s, %s RAM, kernel %s. coffer %s; PostgreSQL %s, restic %s." % (
                 m.get("nproc"), m.get("cpu"), m.get("memory"), m.get("kernel"), m.get("version_coffer"),
                 m.get("version_postgresql"), m.get("version_restic")), "",
             "Workload: %s. Source: %s. Median of %s runs; page cache %s." % (
                 m["workload"], m["workload_source"], m["runs"], m["cache"]), "",
             "Restores checked (run 1): %s." % m["verified"], ""]
    lines += report.figure_table(summary, spec["tools"], spec["ops"]) + [""]
    lines += report.ratio_table(rows, spec["ops"], peers) + ["", "Notes: " + m["notes"], ""]
    os.makedirs(os.path.dirname(os.path.abspath(prefix)), exist_ok=True)
    with open(prefix + ".md", "w") as f:
        f.write("\n".join(lines))
    with open(prefix + ".json", "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    if not os.environ.get("BENCH_QUIET_REPORT"):
        print("\n".join(lines))
    log("wrote %s.md and .json" % prefix)


if __name__ == "__main__":
    main()
