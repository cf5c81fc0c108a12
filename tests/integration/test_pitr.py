"""Point-in-time recovery on a real PostgreSQL cluster (initdb --data-checksums, archive_mode on,
archive_command = coffer wal-push %p): the WAL archive, physical base backups, and restores to a
moment that PostgreSQL then recovers to. See docs/pitr.md.
"""

import json
import os
import shutil
import subprocess
import time
import unittest

import coffer_testlib as lib
from pg_cluster import Cluster, as_owner, give_to_owner, owned_temp_dir


def run_as_owner(argv, env, cwd="/", timeout=120):
    p = subprocess.run(as_owner(argv), env=lib.clean_env(env), cwd=cwd, stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    return lib.Result(argv, p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace"))


class PitrTestCase(unittest.TestCase):
    """One archiving cluster per class; the repository and every coffer run belong to its owner."""

    @classmethod
    def setUpClass(cls):
        cls.bin = lib.coffer_binary()
        cls.root = owned_temp_dir(cls.__name__)
        # A cleanup, not tearDownClass: it also runs when a subclass's setUpClass fails after the
        # cluster started, so no failing class leaves a server running.
        cls.restored = []
        cls.pg = None
        cls.addClassCleanup(cls.stop_servers)
        cls.repo = os.path.join(cls.root, "repo")
        cls.passphrase_file = os.path.join(cls.root, "passphrase")
        lib.write_passphrase(cls.passphrase_file)
        give_to_owner(cls.passphrase_file)
        cls.cache = os.path.join(cls.root, "cache")
        cls.env = {"BACKUP_DIR": cls.repo, "BACKUP_PASSPHRASE_FILE": cls.passphrase_file,
                   "XDG_CACHE_HOME": cls.cache, "HOME": cls.root}
        cls.env.update(cls.extra_settings())
        cls.pg = Cluster(cls.root, cls.env).init(cls.bin)
        cls.db_env = dict(cls.env, DB_HOST=cls.pg.socket, DB_PORT="5432", DB_USER="postgres",
                          DB_BACKUP_MODE="physical", ARCHIVE_TIMEOUT="60", DB_DATA_DIR=cls.pg.data)
        r = cls.coffer_cls(["init"])
        if r.code != 0:
            raise AssertionError(f"coffer init failed:\n{r}")
        cls.pg.start()

    @classmethod
    def extra_settings(cls):
        """Settings added to every coffer run's and to the archiver's (test_pitr_s3: the S3 ones)."""
        return {}

    @classmethod
    def stop_servers(cls):
        for c in cls.restored:
            c.stop("immediate")
        if cls.pg is not None:
            cls.pg.stop("immediate")
        if not os.environ.get("COFFER_KEEP_TMP"):
            shutil.rmtree(cls.root, ignore_errors=True)

    @classmethod
    def coffer_cls(cls, args, env=None):
        e = dict(cls.db_env if hasattr(cls, "db_env") else cls.env)
        e.update(env or {})
        return run_as_owner([cls.bin] + [str(a) for a in args], e)

    def coffer(self, *args, env=None, expect=None):
        r = self.coffer_cls(list(args), env)
        if expect is not None:
            lib.check(r, *(expect if isinstance(expect, tuple) else (expect,)))
        return r

    def coffer_json(self, *args, env=None, expect=0):
        r = self.coffer("--json", *args, env=env, expect=expect)
        return r.json()

    def wait_archived(self, segment, timeout=30):
        """Waits until the archiver has archived `segment` (pg_stat_archiver)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            last = self.pg.sql("SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver")
            if last and last >= segment:
                return
            time.sleep(0.1)
        raise AssertionError(f"{segment} was not archived in {timeout} s:\n"
                             f"{self.pg.sql('SELECT * FROM pg_stat_archiver')}\n{self.pg.log_tail()}")

    def restore_and_start(self, backup, *target, name=None, env=None, flags=(), archive=False, before_start=None):
        """Restores `backup` with the target options into a new data folder, starts a server on
        it and waits until recovery has reached the target (promoted). Returns the Cluster.
        `env`: settings of the restore and of the restored server over the class's (None: left out);
        `flags`: global flags of the restore (`--source s3`). `archive`: the restored server keeps
        archiving into the repository (a promoted cluster that goes on as the same cluster, on a
        new timeline). `before_start(cluster)`: called on the restored folder before the server
        starts (and changes it)."""
        name = name or f"restored-{len(self.restored)}"
        c = Cluster(self.root, {k: v for k, v in dict(self.env, **(env or {})).items() if v is not None}, name=name)
        os.makedirs(c.dir)
        give_to_owner(c.dir)
        out = self.coffer_json(*flags, "restore", backup, "--type", "database", "--pgdata", c.data,
                               "--target-action", "promote", *target, env=env)
        self.assertEqual(out["pgdata"], c.data, out)
        c.restore_output = out
        # The restored server listens in its own folder, and does not archive: promoted clones of one
        # cluster archiving into one repository would each start a timeline 2 (PostgreSQL picks a
        # new timeline from the archive's history files, but the test's restores are independent).
        with open(os.path.join(c.data, "postgresql.auto.conf"), "a") as f:
            f.write(f"\nunix_socket_directories = '{c.socket}'\n" + ("" if archive else "archive_mode = off\n"))
        if before_start:
            before_start(c)
        c.start()
        self.restored.append(c)
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if c.sql("SELECT pg_is_in_recovery()") == "f":
                    return c
            except AssertionError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"the restored server did not finish recovery:\n{c.log_tail()}")


class WalArchiveTest(PitrTestCase):
    def test_push_is_idempotent_and_never_overwrites(self):
        self.pg.sql("CREATE TABLE IF NOT EXISTS w (x int); INSERT INTO w VALUES (1)")
        seg = self.pg.switch_wal()
        self.wait_archived(seg)
        copy = os.path.join(self.root, "copy-" + seg)
        # The server recycles archived segments; keep a copy of the archived one through fetch.
        self.coffer("wal-fetch", seg, copy, expect=0)
        with open(copy, "rb") as f:
            content = f.read()
        self.assertEqual(len(content), 16 << 20)
        # Again with the same content: success, said to be there already.
        shutil.copy(copy, os.path.join(self.root, seg))
        give_to_owner(os.path.join(self.root, seg))
        again = json.loads(run_as_owner([self.bin, "--json", "wal-push", seg], dict(self.env, DB_DATA_DIR=self.pg.data),
                                        cwd=self.root).out)
        self.assertTrue(again["already_archived"], again)
        # Other content under the name: refused, and the archive keeps the first.
        with open(os.path.join(self.root, seg), "r+b") as f:
            f.seek(8192 * 3)
            f.write(b"\xff" * 16)
        bad = run_as_owner([self.bin, "wal-push", seg], dict(self.env, DB_DATA_DIR=self.pg.data), cwd=self.root)
        lib.check_fails_cleanly(bad)
        self.assertIn(seg, bad.err)
        self.assertIn("not overwritten", bad.err)
        self.coffer("wal-fetch", seg, copy + ".2", expect=0)
        with open(copy + ".2", "rb") as f:
            self.assertEqual(f.read(), content)

    def test_fetch_of_a_missing_file_is_quiet(self):
        dest = os.path.join(self.root, "never")
        r = self.coffer("wal-fetch", "00000001000000FF000000FF", dest)
        self.assertEqual(r.code, 1, r)
        self.assertEqual(r.err.strip(), "", r)
        self.assertFalse(os.path.exists(dest))

    def test_push_refuses_what_is_not_a_wal_file(self):
        junk = os.path.join(self.root, "postgresql.conf")
        with open(junk, "w") as f:
            f.write("x")
        give_to_owner(junk)
        r = run_as_owner([self.bin, "wal-push", junk], dict(self.env, DB_DATA_DIR=self.pg.data))
        lib.check_fails_cleanly(r)
        self.assertIn("is not a WAL file", r.err)


class PointInTimeTest(PitrTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.pg.sql("CREATE TABLE grades (id int PRIMARY KEY, note text)")
        cls.pg.sql("CREATE UNLOGGED TABLE scratch (x int); INSERT INTO scratch SELECT generate_series(1, 1000)")
        cls.pg.sql("INSERT INTO grades SELECT g, 'base' FROM generate_series(1, 5000) g")
        r = cls.coffer_cls(["--json", "create", "--type", "full"])
        if r.code != 0:
            raise AssertionError(f"physical backup failed:\n{r}\n{cls.pg.log_tail()}")
        cls.backup = r.json()

    def test_the_backup_records_what_recovery_needs(self):
        p = self.backup["physical"]
        self.assertEqual(p["timeline"], 1)
        self.assertTrue(p["data_checksums"])
        self.assertEqual(p["page_errors"], [])  # our checksum agrees with the server's on every page
        self.assertGreater(p["files"], 500)
        listed = self.coffer_json("list")
        self.assertIn(self.backup["backup_id"], [b["backup_id"] for b in listed])

    def test_restore_to_a_time_keeps_what_was_committed_before_it_only(self):
        self.pg.sql("INSERT INTO grades VALUES (100001, 'before')")
        time.sleep(1.1)
        # The target in another time zone than the server's UTC: India, +05:30.
        target = self.pg.sql("SELECT to_char(clock_timestamp() AT TIME ZONE 'Asia/Kolkata',"
                             " 'YYYY-MM-DD HH24:MI:SS.US') || '+05:30'")
        time.sleep(1.1)
        self.pg.sql("INSERT INTO grades VALUES (100002, 'after')")
        self.wait_archived(self.pg.switch_wal())
        c = self.restore_and_start("latest", "--to-time", target)
        self.assertEqual(c.sql("SELECT note FROM grades WHERE id BETWEEN 100001 AND 199999 ORDER BY id"), "before")
        self.assertEqual(c.sql("SELECT count(*) FROM scratch"), "0")  # unlogged: restored empty

    def test_restore_to_an_lsn_and_to_latest(self):
        self.pg.sql("INSERT INTO grades VALUES (200001, 'lsn-before')")
        lsn = self.pg.sql("SELECT pg_current_wal_insert_lsn()")
        self.pg.sql("INSERT INTO grades VALUES (200002, 'lsn-after')")
        self.wait_archived(self.pg.switch_wal())
        c = self.restore_and_start(self.backup["backup_id"], "--to-lsn", lsn)
        self.assertEqual(c.sql("SELECT string_agg(note, ',') FROM grades WHERE id BETWEEN 200001 AND 299999"), "lsn-before")
        latest = self.restore_and_start(self.backup["backup_id"])
        self.assertEqual(latest.sql("SELECT string_agg(note, ',' ORDER BY id) FROM grades WHERE id BETWEEN 200001 AND 299999"),
                         "lsn-before,lsn-after")

    def test_restore_to_a_named_point_and_a_transaction(self):
        self.pg.sql("INSERT INTO grades VALUES (300001, 'named-before')")
        self.pg.sql("SELECT pg_create_restore_point('before-exam-import')")
        xid = self.pg.sql("BEGIN; INSERT INTO grades VALUES (300002, 'xid'); SELECT txid_current(); COMMIT;")
        self.pg.sql("INSERT INTO grades VALUES (300003, 'named-after')")
        self.wait_archived(self.pg.switch_wal())
        named = self.restore_and_start("latest", "--to-name", "before-exam-import")
        self.assertEqual(named.sql("SELECT string_agg(note, ',') FROM grades WHERE id BETWEEN 300001 AND 399999"), "named-before")
        by_xid = self.restore_and_start("latest", "--to-xid", xid.splitlines()[-1])
        self.assertEqual(by_xid.sql("SELECT string_agg(note, ',' ORDER BY id) FROM grades WHERE id BETWEEN 300001 AND 399999"),
                         "named-before,xid")

    def test_bad_targets_are_refused_before_anything_is_written(self):
        dest = os.path.join(self.root, "refused")
        r = self.coffer("restore", "latest", "--type", "database", "--pgdata", dest, "--to-time", "2026-12-05 10:00:00")
        lib.check_fails_cleanly(r)
        self.assertIn("no UTC offset", r.err)
        self.assertFalse(os.path.exists(dest))
        # A time before the backup ended: no backup can reach it.
        r = self.coffer("restore", "latest", "--type", "database", "--pgdata", dest, "--to-time", "2001-01-01 00:00:00Z")
        lib.check_fails_cleanly(r)
        self.assertIn("before", r.err)
        self.assertFalse(os.path.exists(dest))
        # A data folder that is not empty.
        os.makedirs(dest)
        give_to_owner(dest)
        with open(os.path.join(dest, "PG_VERSION"), "w") as f:
            f.write("15\n")
        r = self.coffer("restore", "latest", "--type", "database", "--pgdata", dest)
        lib.check_fails_cleanly(r)
        self.assertIn("not empty", r.err)
        self.assertEqual(os.listdir(dest), ["PG_VERSION"])


class PhysicalBackupChecksTest(PitrTestCase):
    def test_an_incremental_after_one_percent_of_rows_changed_stores_a_small_fraction(self):
        self.pg.sql("CREATE TABLE marks (id int PRIMARY KEY, student int, mark int, note text)")
        self.pg.sql("INSERT INTO marks SELECT g, g % 997, g % 20, md5(g::text) FROM generate_series(1, 200000) g")
        self.pg.sql("VACUUM (FREEZE) marks")  # as a table that has been read: hint bits set, no pruning due
        self.pg.sql("CHECKPOINT")
        full = self.coffer_json("create", "--type", "full")
        self.pg.sql("UPDATE marks SET mark = mark + 1 WHERE id % 100 = 0")  # 1% of the rows
        self.pg.sql("CHECKPOINT")
        incr = self.coffer_json("create", "--type", "incremental")
        self.assertEqual(incr["backup_type"], "incremental", incr)
        ratio = incr["bytes_added"] / full["bytes_added"]
        print(f"\nphysical full: {full['bytes_added']} bytes added, incremental after 1% of rows updated: "
              f"{incr['bytes_added']} ({ratio:.1%})")
        # 1% of rows spread over the table touch most of its pages, each in a few bytes (a row's
        # xmax, the page LSN and checksum) plus the new row versions: changed chunks are stored as
        # deltas against the same place in the last backup. 3.0% when measured (86% stored whole).
        self.assertLess(ratio, 0.15, (full["bytes_added"], incr["bytes_added"]))

    def test_a_damaged_page_is_reported_not_copied_silently(self):
        self.pg.sql("CREATE TABLE damaged (id int, t text); INSERT INTO damaged SELECT g, 'row ' || g FROM generate_series(1, 100) g")
        self.pg.sql("CHECKPOINT")
        rel = self.pg.sql("SELECT pg_relation_filepath('damaged')")
        self.pg.stop()
        try:
            path = os.path.join(self.pg.data, rel)
            with open(path, "r+b") as f:
                f.seek(8000)
                byte = f.read(1)
                f.seek(8000)
                f.write(bytes([byte[0] ^ 0xFF]))
        finally:
            self.pg.start()
        out = self.coffer_json("create", "--type", "full")
        self.assertIn(f"{rel} block 0", out["physical"]["page_errors"], out["physical"]["page_errors"])
        self.assertTrue(any("page checksum failure" in w for w in out["warnings"]), out["warnings"])
        self.pg.sql("DROP TABLE damaged")

    def test_a_server_without_archiving_is_refused_with_what_to_set(self):
        other = Cluster(self.root, self.env, name="no-archive").init(self.bin, archive=False)
        other.start()
        try:
            r = self.coffer("create", "--type", "full", env={"DB_HOST": other.socket, "DB_DATA_DIR": other.data})
            lib.check_fails_cleanly(r)
            self.assertIn("archive_mode = off", r.err)
            self.assertIn("archive_command = 'coffer wal-push %p'", r.err)
        finally:
            other.remove()

    def test_a_data_folder_of_another_cluster_is_refused(self):
        other = Cluster(self.root, self.env, name="stranger").init(self.bin)
        try:
            r = self.coffer("create", "--type", "full", env={"DB_DATA_DIR": other.data})
            lib.check_fails_cleanly(r)
            self.assertIn("DB_DATA_DIR", r.err)
            self.assertIn("system identifier", r.err)
        finally:
            other.remove()


if __name__ == "__main__":
    unittest.main()
