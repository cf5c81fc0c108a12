#!/usr/bin/env python3
"""Point-in-time recovery benchmark: coffer next to pgBackRest (Debian's) and pg_basebackup on the
same PostgreSQL cluster in one run.

    bench/pitr_bench.py [--scale S] [--segments N] [--out PREFIX]

A throwaway cluster (initdb --data-checksums, archive_mode on, as tests/integration/pg_cluster.py
makes them) is loaded with pgbench -i -s S. Then, in one run:
  wal-push: N WAL segments of that cluster, copied aside, pushed one call at a time, as the
    archiver does: coffer wal-push (key cache on, and off), pgbackrest archive-push (zstd level 1,
    AES-256 like coffer's encrypted repository). Segments per second.
  full physical backup: archive_command feeds both archives; coffer create --db-mode physical,
    pgbackrest backup --type=full (zstd 3, AES-256), pg_basebackup -Ft (no compression or
    encryption: the copy alone). Wall seconds.
  incremental after 1% of pgbench_accounts' rows updated: bytes each repository grew by (WAL
    archives left out: the archiver fills both meanwhile).
  restore to a moment: after the incremental, pgbench runs T seconds, a target time is taken, it
    runs T more; each tool restores its newest backup into a new data folder with that target
    (coffer restore --pgdata --to-time, pgbackrest restore --type=time), and the server started on
    it recovers from the tool's own WAL archive until it promotes. Seconds to write the folder and
    seconds of recovery, and rows checked equal between the two restored servers.
Writes PREFIX.json and PREFIX.md (default bench/results/pitr-<date>). Needs root (the cluster and
the tools run as postgres) and pgbackrest (apt-get install pgbackrest).
"""
import argparse
import datetime
import json
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
from pg_cluster import Cluster, as_owner, give_to_owner, owned_temp_dir  # noqa: E402

PASSPHRASE = "bench passphrase 4c1e"


def run(argv, env=None, cwd="/", check=True):
    e = dict(os.environ)
    e.update(env or {})
    t = time.monotonic()
    p = subprocess.run(as_owner(argv), env=e, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    took = time.monotonic() - t
    if check and p.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({p.returncode}):\n{p.stderr.decode(errors='replace')[-3000:]}")
    return p, took


def du(path, skip=()):
    """Bytes of the files under `path`, leaving out its top-level folders named in `skip`."""
    total = 0
    for d, dirs, files in os.walk(path):
        if d == path:
            dirs[:] = [x for x in dirs if x not in skip]
        for f in files:
            try:
                total += os.lstat(os.path.join(d, f)).st_size
            except OSError:
                pass
    return total


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=int, default=20)
    ap.add_argument("--segments", type=int, default=24)
    ap.add_argument("--replay-seconds", type=int, default=20, help="pgbench before and after the restore target")
    ap.add_argument("--out", default=os.path.join(HERE, "results", "pitr-" + datetime.date.today().isoformat()))
    args = ap.parse_args()
    coffer = os.environ.get("COFFER") or os.path.join(REPO, "build", "coffer")
    if not shutil.which("pgbackrest"):
        raise SystemExit("pgbackrest is not installed: apt-get install pgbackrest")
    root = owned_temp_dir("bench")
    pw = os.path.join(root, "passphrase")
    with open(pw, "w") as f:
        f.write(PASSPHRASE + "\n")
    os.chmod(pw, 0o600)
    give_to_owner(pw)
    env = {"BACKUP_DIR": os.path.join(root, "coffer-repo"), "BACKUP_PASSPHRASE_FILE": pw,
           "XDG_CACHE_HOME": os.path.join(root, "cache"), "HOME": root}
    pgbr_conf = os.path.join(root, "pgbackrest.conf")
    pg = Cluster(root, env)
    with open(pgbr_conf, "w") as f:
        f.write(f"""[global]
repo1-path={root}/pgbackrest-repo
repo1-cipher-type=aes-256-cbc
repo1-cipher-pass={PASSPHRASE}
compress-type=zst
compress-level=3
log-level-console=warn
log-path={root}
lock-path={root}/pgbackrest-lock
spool-path={root}
start-fast=y
[bench]
pg1-path={pg.data}
pg1-socket-path={pg.dir}
pg1-port=5432
""")
    give_to_owner(pgbr_conf)
    env["PGBACKREST_CONFIG"] = pgbr_conf
    pg.env = env
    both = (f"'{coffer}' wal-push %p && pgbackrest --stanza=bench archive-push %p")
    pg.init(coffer, extra_conf="wal_keep_size = '4GB'\n")
    with open(os.path.join(pg.data, "postgresql.conf"), "a") as f:
        f.write("archive_command = '" + both.replace("'", "''") + "'\n")
    results = {"meta": {"date": datetime.datetime.utcnow().isoformat() + "Z", "scale": args.scale,
                        "segments": args.segments, "coffer": coffer,
                        "pgbackrest": run(["pgbackrest", "version"])[0].stdout.decode().strip()}}
    try:
        pg.start()
        run([coffer, "init"], env=env)
        run(["pgbackrest", "--stanza=bench", "stanza-create"], env=env)
        pgbench = os.path.join(pg.bin, "pgbench")
        print(f"loading pgbench scale {args.scale} ...", flush=True)
        run([pgbench, "-i", "-s", str(args.scale), "-h", pg.dir, "-U", "postgres", "postgres"], env=env)
        pg.sql("CHECKPOINT")
        results["meta"]["database_bytes"] = int(pg.sql("SELECT pg_database_size('postgres')"))

        # WAL segments to push: made now, copied aside (the archiver took them too, into both archives).
        stage = os.path.join(root, "segments")
        os.makedirs(stage)
        give_to_owner(stage)
        names = []
        for i in range(args.segments):
            pg.sql(f"INSERT INTO pgbench_history SELECT 1, 1, 1, g, now(), 'x' FROM generate_series(1, 60000) g")
            names.append(pg.switch_wal())
        time.sleep(2)
        for n in names:
            shutil.copy(os.path.join(pg.data, "pg_wal", n), os.path.join(stage, n))
            give_to_owner(os.path.join(stage, n))

        def push_all(label, argv_of, extra_env):
            # Into fresh archives: a coffer repository / a pgBackRest stanza of their own.
            t0 = time.monotonic()
            for n in names:
                run(argv_of(os.path.join(stage, n)), env=dict(env, **extra_env), cwd=pg.data)
            took = time.monotonic() - t0
            print(f"{label}: {len(names) / took:.1f} segments/s", flush=True)
            return {"seconds": took, "segments_per_second": len(names) / took}

        fresh = os.path.join(root, "push-repo")
        run([coffer, "init"], env=dict(env, BACKUP_DIR=fresh))
        results["wal_push_coffer"] = push_all("coffer wal-push (key cache)", lambda p: [coffer, "wal-push", p],
                                              {"BACKUP_DIR": fresh, "DB_DATA_DIR": pg.data})
        fresh2 = os.path.join(root, "push-repo-nocache")
        run([coffer, "init"], env=dict(env, BACKUP_DIR=fresh2))
        results["wal_push_coffer_no_cache"] = push_all(
            "coffer wal-push (no key cache)", lambda p: [coffer, "wal-push", p],
            {"BACKUP_DIR": fresh2, "DB_DATA_DIR": pg.data, "WAL_KEY_CACHE": "false"})
        # pgBackRest: a second stanza on the same cluster, its own repository, zstd level 1.
        conf2 = os.path.join(root, "pgbackrest-push.conf")
        with open(pgbr_conf) as f:
            text = f.read().replace(f"{root}/pgbackrest-repo", f"{root}/pgbackrest-push-repo")
        with open(conf2, "w") as f:
            f.write(text.replace("compress-level=3", "compress-level=1"))
        give_to_owner(conf2)
        run(["pgbackrest", "--stanza=bench", "stanza-create"], env=dict(env, PGBACKREST_CONFIG=conf2))
        results["wal_push_pgbackrest"] = push_all("pgbackrest archive-push", lambda p: ["pgbackrest", "--stanza=bench",
                                                                                    "archive-push", p],
                                                  {"PGBACKREST_CONFIG": conf2})

        # Full physical backups of the same cluster.
        phys = dict(env, DB_HOST=pg.dir, DB_PORT="5432", DB_USER="postgres", DB_BACKUP_MODE="physical",
                    DB_DATA_DIR=pg.data)
        # Repository growth without the WAL archives (the archiver fills both meanwhile).
        before = du(env["BACKUP_DIR"], skip=("wal",))
        p, took = run([coffer, "--json", "create", "--type", "full"], env=phys)
        out = json.loads(p.stdout)
        results["full_coffer"] = {"seconds": took, "bytes_added": out["bytes_added"],
                                  "repo_growth": du(env["BACKUP_DIR"], skip=("wal",)) - before}
        before = du(f"{root}/pgbackrest-repo/backup")
        _, took = run(["pgbackrest", "--stanza=bench", "--type=full", "backup"], env=env)
        results["full_pgbackrest"] = {"seconds": took, "repo_growth": du(f"{root}/pgbackrest-repo/backup") - before}
        base = os.path.join(root, "basebackup")
        _, took = run([os.path.join(pg.bin, "pg_basebackup"), "-h", pg.dir, "-U", "postgres", "-D", base, "-Ft",
                       "-X", "none", "--checkpoint=fast"], env=env)
        results["full_pg_basebackup"] = {"seconds": took, "bytes": du(base)}
        for k in ("full_coffer", "full_pgbackrest", "full_pg_basebackup"):
            print(k, results[k], flush=True)

        # 1% of the accounts updated, then incrementals.
        pg.sql(f"UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid % 100 = 0")
        pg.sql("CHECKPOINT")
        before = du(env["BACKUP_DIR"], skip=("wal",))
        p, took = run([coffer, "--json", "create", "--type", "incremental"], env=phys)
        out = json.loads(p.stdout)
        results["incr_coffer"] = {"seconds": took, "bytes_added": out["bytes_added"],
                                  "repo_growth": du(env["BACKUP_DIR"], skip=("wal",)) - before}
        before = du(f"{root}/pgbackrest-repo/backup")
        _, took = run(["pgbackrest", "--stanza=bench", "--type=incr", "backup"], env=env)
        results["incr_pgbackrest"] = {"seconds": took, "repo_growth": du(f"{root}/pgbackrest-repo/backup") - before}
        for k in ("incr_coffer", "incr_pgbackrest"):
            print(k, results[k], flush=True)

        # Restore to a moment after both incrementals, with WAL to replay from both archives.
        def pgbench_for(seconds):
            run([pgbench, "-n", "-c", "2", "-T", str(seconds), "-h", pg.dir, "-U", "postgres", "postgres"], env=env)
        pgbench_for(args.replay_seconds)
        target = pg.sql("SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00'")
        expected = pg.sql("SELECT count(*) || ' ' || sum(abalance) FROM pgbench_accounts")
        time.sleep(1.1)
        pgbench_for(args.replay_seconds)
        last = pg.switch_wal()
        deadline = time.time() + 120
        while pg.sql("SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver") < last and time.time() < deadline:
            time.sleep(0.2)

        def restored(name, restore_argv, extra_env=None):
            c = Cluster(root, env, name=name)
            os.makedirs(c.dir)
            give_to_owner(c.dir)
            _, wrote = run(restore_argv(c.data), env=dict(env, **(extra_env or {})))
            with open(os.path.join(c.data, "postgresql.auto.conf"), "a") as f:
                f.write(f"\nunix_socket_directories = '{c.socket}'\narchive_mode = off\n")
            t0 = time.monotonic()
            c.start()
            while True:
                try:
                    if c.sql("SELECT pg_is_in_recovery()") == "f":
                        break
                except AssertionError:
                    pass
                if time.monotonic() - t0 > 600:
                    raise SystemExit(f"{name}: recovery did not end:\n{c.log_tail()}")
                time.sleep(0.05)
            recovered = time.monotonic() - t0
            rows = c.sql("SELECT count(*) || ' ' || sum(abalance) FROM pgbench_accounts")
            c.stop("immediate")
            if rows != expected:
                raise SystemExit(f"{name}: restored {rows}, expected {expected} at {target}")
            print(f"{name}: restore {wrote:.1f} s, recovery {recovered:.1f} s", flush=True)
            return {"restore_seconds": wrote, "recovery_seconds": recovered, "total_seconds": wrote + recovered,
                    "data_bytes": du(c.data)}

        wal_between = int(pg.sql(f"SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '{json.loads(p.stdout)['physical']['stop_lsn']}')"))
        results["restore_meta"] = {"target": target, "wal_bytes_after_incremental": wal_between}
        results["restore_coffer"] = restored("restored-coffer", lambda d: [
            coffer, "restore", "latest", "--type", "database", "--pgdata", d, "--to-time", target,
            "--target-action", "promote"])
        results["restore_pgbackrest"] = restored("restored-pgbackrest", lambda d: [
            "pgbackrest", "--stanza=bench", f"--pg1-path={d}", "--type=time", f"--target={target}",
            "--target-action=promote", "restore"])
    finally:
        pg.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)

    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out + ".json", "w") as f:
        json.dump(results, f, indent=2)
    r = results
    lines = [f"# Point-in-time recovery benchmark, {r['meta']['date']}", "",
             f"pgbench scale {args.scale} ({r['meta']['database_bytes'] >> 20} MiB), {args.segments} WAL segments, "
             f"{r['meta']['pgbackrest']}.", "",
             "| what | coffer | pgBackRest | pg_basebackup | coffer / pgBackRest |", "|---|---|---|---|---|",
             f"| wal-push, segments/s (key cache) | {r['wal_push_coffer']['segments_per_second']:.1f} | "
             f"{r['wal_push_pgbackrest']['segments_per_second']:.1f} | | "
             f"{r['wal_push_pgbackrest']['seconds'] / r['wal_push_coffer']['seconds']:.2f}x the rate |",
             f"| wal-push, segments/s (no key cache) | {r['wal_push_coffer_no_cache']['segments_per_second']:.1f} | | | |",
             f"| full physical backup, s | {r['full_coffer']['seconds']:.1f} | {r['full_pgbackrest']['seconds']:.1f} | "
             f"{r['full_pg_basebackup']['seconds']:.1f} | {r['full_coffer']['seconds'] / r['full_pgbackrest']['seconds']:.2f} |",
             f"| full backup, repository bytes | {r['full_coffer']['repo_growth']} | {r['full_pgbackrest']['repo_growth']} | "
             f"{r['full_pg_basebackup']['bytes']} | {r['full_coffer']['repo_growth'] / r['full_pgbackrest']['repo_growth']:.2f} |",
             f"| incremental after 1% of rows updated, bytes | {r['incr_coffer']['repo_growth']} | "
             f"{r['incr_pgbackrest']['repo_growth']} | | "
             f"{r['incr_coffer']['repo_growth'] / max(1, r['incr_pgbackrest']['repo_growth']):.3f} |",
             f"| incremental, s | {r['incr_coffer']['seconds']:.1f} | {r['incr_pgbackrest']['seconds']:.1f} | | "
             f"{r['incr_coffer']['seconds'] / r['incr_pgbackrest']['seconds']:.2f} |",
             f"| restore to a moment: write the data folder, s | {r['restore_coffer']['restore_seconds']:.1f} | "
             f"{r['restore_pgbackrest']['restore_seconds']:.1f} | | "
             f"{r['restore_coffer']['restore_seconds'] / r['restore_pgbackrest']['restore_seconds']:.2f} |",
             f"| restore to a moment: recovery until promoted, s | {r['restore_coffer']['recovery_seconds']:.1f} | "
             f"{r['restore_pgbackrest']['recovery_seconds']:.1f} | | "
             f"{r['restore_coffer']['recovery_seconds'] / r['restore_pgbackrest']['recovery_seconds']:.2f} |",
             f"| restore to a moment: total, s | {r['restore_coffer']['total_seconds']:.1f} | "
             f"{r['restore_pgbackrest']['total_seconds']:.1f} | | "
             f"{r['restore_coffer']['total_seconds'] / r['restore_pgbackrest']['total_seconds']:.2f} |", "",
             f"Restore target: {r['restore_meta']['target']}, "
             f"{r['restore_meta']['wal_bytes_after_incremental'] >> 20} MiB of WAL after the incremental backups "
             f"(pgbench, {args.replay_seconds} s on each side of the target); both restored servers hold the "
             f"same pgbench_accounts rows and balances as the primary had at the target.", ""]
    with open(args.out + ".md", "w") as f:
        f.write("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
