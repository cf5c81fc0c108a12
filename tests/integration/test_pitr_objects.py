"""What a physical backup takes of a real cluster's objects, and who may take it (docs/pitr.md,
issue 19): an unlogged table restores empty (its init fork only), a temporary table is not in the
backup, a tablespace restores to its place and to one given with --tablespace (by folder or by
OID), and a role without the backup privileges is refused before the backup starts, with the
GRANTs to run, and no backup listed.
"""

import os
import re
import subprocess
import time
import unittest

import coffer_testlib as lib
from pg_cluster import as_owner, give_to_owner
from test_pitr import PitrTestCase


class PhysicalObjectsTest(PitrTestCase):
    def listed(self):
        return [b["backup_id"] for b in self.coffer_json("list")]

    def test_an_unlogged_table_restores_empty_and_a_temporary_table_is_left_out(self):
        self.pg.sql("CREATE UNLOGGED TABLE scratch (x int); INSERT INTO scratch SELECT generate_series(1, 5000)")
        unlogged = self.pg.sql("SELECT pg_relation_filepath('scratch')")
        # A temporary table lives as long as its session: one held open during the backup.
        session = subprocess.Popen(as_owner([os.path.join(self.pg.bin, "psql"), "-X", "-q", "-h", self.pg.socket,
                                             "-U", "postgres", "-d", "postgres",
                                             "-c", "CREATE TEMP TABLE tt AS SELECT generate_series(1, 5000) x",
                                             "-c", "SELECT pg_sleep(120)"]),
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd="/")
        try:
            deadline = time.time() + 20
            temp = ""
            while not temp:
                self.assertLess(time.time(), deadline, "the temporary table did not appear")
                temp = self.pg.sql("SELECT coalesce(max(pg_relation_filepath(oid)), '') FROM pg_class "
                                   "WHERE relname = 'tt' AND relpersistence = 't'")
                time.sleep(0.1)
            self.assertRegex(os.path.basename(temp), r"^t\d+_\d+$")
            self.assertTrue(os.path.exists(os.path.join(self.pg.data, temp)), temp)
            backup = self.coffer_json("create", "--type", "full")
        finally:
            self.pg.sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(120)%' "
                        "AND pid <> pg_backend_pid()")
            session.wait(timeout=30)

        def as_restored(c):  # before the server starts: it rebuilds unlogged tables from the init fork
            self.assertTrue(os.path.exists(os.path.join(c.data, unlogged + "_init")), unlogged)
            self.assertFalse(os.path.exists(os.path.join(c.data, unlogged)), "an unlogged table's data was restored")
            self.assertFalse(os.path.exists(os.path.join(c.data, temp)), "a temporary table was restored")
            self.assertEqual([f for f in os.listdir(os.path.dirname(os.path.join(c.data, temp)))
                              if re.match(r"^t\d+_", f)], [])

        c = self.restore_and_start(backup["backup_id"], "--immediate", before_start=as_restored)
        self.assertEqual(c.sql("SELECT count(*) FROM scratch"), "0")
        c.sql("INSERT INTO scratch VALUES (1)")  # usable, not damaged
        # (tt's catalog row comes back, as with any base backup: the server drops an orphaned
        # temporary table's row itself; its data file is what a backup must not carry.)



    def test_a_role_without_the_privileges_is_refused_with_the_grants_to_run(self):
        self.pg.sql("CREATE ROLE backup_ops LOGIN")
        before = self.listed()
        as_ops = {"DB_USER": "backup_ops", "DB_DATA_DIR": None}  # the data folder from SHOW data_directory
        r = self.coffer("create", "--type", "full", env=as_ops)
        lib.check_fails_cleanly(r)
        for needed in ("pg_backup_start(text, boolean)", "pg_backup_stop(boolean)", "pg_switch_wal()",
                       "GRANT pg_read_all_settings TO \"backup_ops\""):
            self.assertIn(needed, r.err)
        self.assertEqual(self.listed(), before)
        # Only what is still missing is named.
        self.pg.sql("GRANT EXECUTE ON FUNCTION pg_backup_start(text, boolean) TO backup_ops")
        r = self.coffer("create", "--type", "full", env=as_ops)
        lib.check_fails_cleanly(r)
        self.assertIn("lacks EXECUTE on pg_backup_stop(boolean)", r.err)
        self.assertNotIn("pg_backup_start", r.err)
        self.assertEqual(self.listed(), before)
        self.assertEqual(self.pg.sql("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' "
                                     "AND usename = 'backup_ops'"), "0")
        # With DB_DATA_DIR set, SHOW data_directory is not needed.
        r = self.coffer("create", "--type", "full", env={"DB_USER": "backup_ops"})
        lib.check_fails_cleanly(r)
        self.assertNotIn("pg_read_all_settings", r.err)
        # The GRANTs the message gives are all it takes.
        grants = re.search(r"As a superuser run: (.*?) \(or back up", r.err).group(1)
        self.pg.sql(grants)
        r = self.coffer("--json", "create", "--type", "full", env={"DB_USER": "backup_ops"}, expect=0)
        self.assertEqual(self.listed(), before + [r.json()["backup_id"]])


class TablespaceTest(PitrTestCase):
    def test_a_tablespace_restores_to_its_place_and_to_a_new_one(self):
        place = os.path.join(self.root, "ts-fast")
        os.makedirs(place, mode=0o700)
        give_to_owner(place)
        self.pg.sql(f"CREATE TABLESPACE fast LOCATION '{place}'")
        oid = self.pg.sql("SELECT oid FROM pg_tablespace WHERE spcname = 'fast'")
        self.pg.sql("CREATE TABLE far (id int, t text) TABLESPACE fast")
        self.pg.sql("INSERT INTO far SELECT g, md5(g::text) FROM generate_series(1, 3000) g")
        backup = self.coffer_json("create", "--type", "full")["backup_id"]
        self.pg.sql("INSERT INTO far SELECT g, 'after' FROM generate_series(3001, 3100) g")
        self.wait_archived(self.pg.switch_wal())

        def check(c, where, rows):
            self.assertEqual(c.sql(f"SELECT pg_tablespace_location({oid})"), where)
            self.assertEqual(os.readlink(os.path.join(c.data, "pg_tblspc", oid)), where)
            self.assertEqual(c.sql("SELECT count(*) FROM far"), rows)
            c.sql("INSERT INTO far VALUES (0, 'written after the restore')")

        # Its place is the live cluster's: refused before anything is written.
        dest = os.path.join(self.root, "refused", "data")
        r = self.coffer("restore", backup, "--type", "database", "--pgdata", dest)
        lib.check_fails_cleanly(r)
        self.assertIn(f"tablespace {oid} goes to {place}, which is not empty", r.err)
        self.assertFalse(os.path.exists(dest))
        # Moved, named by its folder at backup time, then by its OID.
        moved = os.path.join(self.root, "ts-moved")
        check(self.restore_and_start(backup, "--tablespace", f"{place}/={moved}"), moved, "3100")
        self.assertTrue(any(n.startswith("PG_") for n in os.listdir(moved)), os.listdir(moved))
        by_oid = os.path.join(self.root, "ts-by-oid")
        check(self.restore_and_start(backup, "--immediate", "--tablespace", f"{oid}={by_oid}"), by_oid, "3000")
        r = self.coffer("restore", backup, "--type", "database", "--pgdata", dest, "--tablespace", "/nowhere=/tmp/x")
        lib.check_fails_cleanly(r)
        self.assertIn(f"it has {place} (OID {oid})", r.err)
        self.assertFalse(os.path.exists(dest))
        # In its place, once the live cluster has let go of it (table and tablespace dropped).
        lsn = self.pg.sql("SELECT pg_current_wal_insert_lsn()")
        self.pg.sql("DROP TABLE far")
        self.pg.sql("DROP TABLESPACE fast")
        self.wait_archived(self.pg.switch_wal())
        self.assertEqual(os.listdir(place), [])
        check(self.restore_and_start(backup, "--to-lsn", lsn), place, "3100")


if __name__ == "__main__":
    unittest.main()
