#!/usr/bin/env python3
"""Database benchmark: coffer next to pg_dump, pg_dump | restic backup --stdin and pg_restore -j2,
on the same database in the same run.

    bench/db_bench.py [--scale S] [--runs N] [--port P]

Starts a throwaway PostgreSQL (tests/fixtures/pg_server.sh), loads the reference school workload
(../shared/workload/school.sql when it exists, else the project's tests/fixtures/school_fixture.sql),
copies it and applies one day of changes to the copy (school_mutate.sql / school_fixture_mutate.sql).
Measures: full backup wall time (coffer --only database vs pg_dump -Fc > /dev/null), bytes stored by
the full and added by the next day (coffer vs restic --stdin), and restore wall time (coffer restore
--type database vs pg_restore -j2 from a local dump file). Writes bench/results/db-<date>.md/.json.
"""
import argparse
import datetime
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
SHARED = os.path.join(os.path.dirname(REPO), "shared", "workload")


def sh(cmd, env=None, capture=False):
    r = subprocess.run(cmd, shell=True, env=env, check=True, text=True,
                       stdout=subprocess.PIPE if capture else subprocess.DEVNULL)
    return r.stdout if capture else None


def timed(cmd, env=None):
    t = time.monotonic()
    sh(cmd, env)
    return time.monotonic() - t


def du(path):
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            total += os.path.getsize(os.path.join(root, f))
    return total


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", default="1")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--port", default="auto")
    args = ap.parse_args()
    coffer = os.environ.get("COFFER", os.path.join(REPO, "build", "coffer"))
    if shutil.which("restic") is None:
        sh("apt-get install -y -qq restic >/dev/null")
    work = tempfile.mkdtemp(prefix="coffer-dbbench-")
    os.chmod(work, 0o755)  # the server runs as the postgres user
    pg_dir = os.path.join(work, "pg")
    exports = sh(f"bash {REPO}/tests/fixtures/pg_server.sh start {pg_dir} {args.port}", capture=True)
    env = dict(os.environ)
    for line in exports.splitlines():
        line = line.replace("export ", "")
        if "=" in line:
            k, v = line.split("=", 1)
            env[k] = v.strip("'\"")
    env.update(PGHOST=env["COFFER_TEST_PGHOST"], PGPORT=env["COFFER_TEST_PGPORT"], PGUSER=env["COFFER_TEST_PGUSER"],
               DB_HOST=env["COFFER_TEST_PGHOST"], DB_PORT=env["COFFER_TEST_PGPORT"], DB_USER=env["COFFER_TEST_PGUSER"],
               BACKUP_PASSPHRASE="bench", RESTIC_PASSWORD="bench")
    try:
        if os.path.exists(os.path.join(SHARED, "school.sql")):
            load, mutate, source = f"{SHARED}/school.sql", f"{SHARED}/school_mutate.sql", "shared/workload/school.sql"
        else:
            load = f"{REPO}/tests/fixtures/school_fixture.sql"
            mutate, source = f"{REPO}/tests/fixtures/school_fixture_mutate.sql", "tests/fixtures/school_fixture.sql"
        print(f"loading {source} at scale {args.scale}...", file=sys.stderr)
        sh("createdb day0", env)
        sh(f"psql -q -v scale={args.scale} -f {load} day0 >/dev/null 2>&1", env)
        sh("createdb -T day0 day1", env)
        sh(f"psql -q -v scale={args.scale} -v day=1 -f {mutate} day1 >/dev/null 2>&1", env)
        db_size = int(sh("psql -At -c \"select pg_database_size('day0')\" day0", env, capture=True))
        results = {k: [] for k in ("pg_dump_s", "coffer_full_s", "coffer_full_bytes", "coffer_incr_bytes",
                                   "restic_full_s", "restic_full_bytes", "restic_incr_bytes",
                                   "pg_restore_j2_s", "coffer_restore_s")}
        dump_file = os.path.join(work, "day0.dump")
        for run in range(args.runs):
            print(f"run {run + 1}/{args.runs}", file=sys.stderr)
            results["pg_dump_s"].append(timed("pg_dump -Fc day0 > /dev/null", env))
            repo = os.path.join(work, f"coffer-{run}")
            e = dict(env, BACKUP_DIR=repo)
            results["coffer_full_s"].append(timed(f"{coffer} -q create --only database", dict(e, DB_NAME="day0")))
            full = du(repo)
            sh(f"{coffer} -q create --type incremental --only database", dict(e, DB_NAME="day1"))
            results["coffer_full_bytes"].append(full)
            results["coffer_incr_bytes"].append(du(repo) - full)
            rrepo = os.path.join(work, f"restic-{run}")
            er = dict(env, RESTIC_REPOSITORY=rrepo)
            sh("restic init -q", er)
            base = du(rrepo)
            results["restic_full_s"].append(
                timed("pg_dump -Fc -Z0 day0 | restic backup -q --stdin --stdin-filename school.dump", er))
            full_r = du(rrepo)
            sh("pg_dump -Fc -Z0 day1 | restic backup -q --stdin --stdin-filename school.dump", er)
            results["restic_full_bytes"].append(full_r - base)
            results["restic_incr_bytes"].append(du(rrepo) - full_r)
            sh(f"pg_dump -Fc day0 > {dump_file}", env)
            sh(f"createdb r_pg_{run}", env)
            results["pg_restore_j2_s"].append(timed(f"pg_restore -j2 -d r_pg_{run} {dump_file}", env))
            first = json.loads(sh(f"{coffer} --json list", e, capture=True))[0]["backup_id"]
            results["coffer_restore_s"].append(
                timed(f"{coffer} -q restore {first} --type database --target-db r_coffer_{run}", e))
        med = {k: statistics.median(v) for k, v in results.items()}
        rows = [
            ("full backup wall s", med["coffer_full_s"], "pg_dump -Fc > /dev/null", med["pg_dump_s"]),
            ("full backup wall s", med["coffer_full_s"], "pg_dump | restic --stdin", med["restic_full_s"]),
            ("full backup stored MB", med["coffer_full_bytes"] / 1e6, "restic", med["restic_full_bytes"] / 1e6),
            ("one day's incremental added MB", med["coffer_incr_bytes"] / 1e6, "restic",
             med["restic_incr_bytes"] / 1e6),
            ("restore wall s", med["coffer_restore_s"], "pg_restore -j2 (local dump)", med["pg_restore_j2_s"]),
        ]
        date = datetime.date.today().isoformat()
        md = [f"# coffer database benchmark, {date}", "",
              f"Machine: {os.cpu_count()} cores. Workload: {source} at scale {args.scale} "
              f"({db_size / 1e6:.0f} MB on the server), then one day of its mutate script. "
              f"Median of {args.runs} runs.", "",
              "| measure | coffer | peer | peer value | coffer / peer |", "|---|---|---|---|---|"]
        for name, c, peer, p in rows:
            md.append(f"| {name} | {c:.2f} | {peer} | {p:.2f} | {c / p:.2f} |")
        md.append("")
        md.append(f"coffer's incremental adds {med['coffer_incr_bytes'] / med['coffer_full_bytes'] * 100:.1f}% of its "
                  f"full backup; restic's adds {med['restic_incr_bytes'] / med['restic_full_bytes'] * 100:.1f}%.")
        text = "\n".join(md) + "\n"
        print(text)
        out = os.path.join(HERE, "results")
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, f"db-{date}.md"), "w") as f:
            f.write(text)
        with open(os.path.join(out, f"db-{date}.json"), "w") as f:
            json.dump({"date": date, "scale": args.scale, "source": source, "db_size_bytes": db_size,
                       "runs": results, "median": med}, f, indent=2)
    finally:
        sh(f"bash {REPO}/tests/fixtures/pg_server.sh stop {pg_dir}")
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
