"""A database restore never destroys its target before the restored data is whole (issue 17).

A whole-database restore goes into a scratch database that takes the target's name (keeping its
owner, privileges, settings and comment) only after pg_restore and the row-count check passed;
a failure leaves the target exactly as it was. Also: `latest` is the newest backup that holds
what the restore asks for, and a part the backup lacks fails the restore before anything is
written. Needs the test server (see test_database.py).
"""

import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_database as tdb  # noqa: E402  (its helpers; its tests are not collected here)
from coffer_testlib import check_fails_cleanly, flip_byte, pack_files, snapshot_tree  # noqa: E402
from pg_fixture import quote_ident, quote_literal  # noqa: E402

EXIT_INPUT, EXIT_NOT_FOUND, EXIT_DAMAGED, EXIT_DATABASE = 3, 4, 5, 7

PROPS_SQL = """
SELECT pg_get_userbyid(d.datdba), d.datconnlimit, coalesce(d.datacl::text, 'default'),
       coalesce((SELECT array_to_string(setconfig, ';') FROM pg_db_role_setting
                 WHERE setdatabase = d.oid AND setrole = 0), ''),
       coalesce(shobj_description(d.oid, 'pg_database'), '')
FROM pg_database d WHERE d.datname = {db}
"""


class RestoreSafetyTest(tdb.DatabaseTestCase):

    def leftovers(self):
        """coffer's scratch and replaced databases on the server now."""
        rows = self.pg.query("SELECT datname FROM pg_database WHERE datname LIKE 'coffer\\_restore\\_%' "
                             "OR datname LIKE 'coffer\\_replaced\\_%'")
        return sorted(r[0] for r in rows)

    def props(self, db):
        return self.pg.query(PROPS_SQL.format(db=quote_literal(db)))

    def backup_of(self, db):
        self.env["DB_NAME"] = db
        return self.coffer_json("create", "--type", "full", "--only", "database")[1]["backup_id"]

    def test_damaged_dump_with_clean_leaves_the_live_database_as_it_was(self):
        # Seen on the old main: every table emptied and no indexes left, then exit 5.
        db = self.new_db("live")
        backup = self.backup_of(db)
        self.pg.mutate(db, day=1, scale=0.05)
        sums_m, schema_m = self.pg.checksums(db), self.pg.schema(db)
        flip_byte(max(pack_files(self.env["BACKUP_DIR"]), key=os.path.getsize))
        r = check_fails_cleanly(self.restore_db(backup, "--clean", expect=None), EXIT_DAMAGED)
        self.assert_db_equals(db, sums_m, schema_m, "the live database after a failed --clean restore")
        self.assertIn(f"database {db} was left as it was", r.err, r)
        self.assertEqual(self.leftovers(), [], "the failed restore left a scratch database")

    def test_clean_swaps_in_the_restored_database_with_its_properties(self):
        db = self.new_db("props")
        self.pg.psql(f"ALTER DATABASE {quote_ident(db)} OWNER TO coffer_pw;"
                     f"ALTER DATABASE {quote_ident(db)} CONNECTION LIMIT 40;"
                     f"REVOKE ALL ON DATABASE {quote_ident(db)} FROM PUBLIC;"
                     f"GRANT CONNECT ON DATABASE {quote_ident(db)} TO PUBLIC;"
                     f"ALTER DATABASE {quote_ident(db)} SET search_path = \"$user\", reporting, public;"
                     f"ALTER DATABASE {quote_ident(db)} SET work_mem = '8MB';"
                     f"COMMENT ON DATABASE {quote_ident(db)} IS 'the school''s data'")
        props = self.props(db)
        sums_a, schema_a = self.pg.checksums(db), self.pg.schema(db)
        backup = self.backup_of(db)
        self.pg.mutate(db, day=1, scale=0.05)
        r = self.restore_db(backup, "--clean", "--json")
        self.assertEqual(r.json()["database"]["method"], "into a scratch database, then swapped into place")
        self.assert_db_equals(db, sums_a, schema_a, "restore --clean")
        self.assertEqual(self.props(db), props, "the replaced database's owner, limit, privileges, settings, comment")
        self.assertEqual(self.leftovers(), [], "the restore left a scratch or replaced database")

    def test_clean_is_refused_while_sessions_use_the_database(self):
        db = self.new_db("busy")
        backup = self.backup_of(db)
        self.pg.mutate(db, day=1, scale=0.05)
        sums_m = self.pg.checksums(db)
        sleeper = subprocess.Popen(["psql", "-X", "-q", "-h", self.pg.host, "-p", self.pg.port, "-U", self.pg.user,
                                    "-d", db, "-c", "SELECT pg_sleep(60)"], env=self.pg.env(),
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 20
            while self.pg.query(f"SELECT count(*) FROM pg_stat_activity WHERE datname = {quote_literal(db)}") == [["0"]]:
                self.assertLess(time.monotonic(), deadline, "the sleeping session never connected")
                time.sleep(0.1)
            r = check_fails_cleanly(self.restore_db(backup, "--clean", expect=None), EXIT_INPUT)
            self.assertIn("session(s) are connected to database " + db, r.err)
            self.assertIn("pg_terminate_backend", r.err, "the message should give the way out")
        finally:
            sleeper.kill()
            sleeper.wait()
        self.assert_db_equals(db, sums_m, what="the database a refused restore left")
        self.assertEqual(self.leftovers(), [])

    def test_failed_restore_into_a_new_database_leaves_no_half_built_one(self):
        # coffer_pw (CREATEDB, not a superuser) cannot give the restored tables their owner
        # (postgres): pg_restore fails. The old main left the new database half built, and the
        # rerun then failed differently ("already has tables").
        backup = self.backup_of(self.source_db)
        target = self.new_db_name("halfbuilt")
        as_pw = {"DB_USER": "coffer_pw", "DB_PASSWORD": self.pg.password()}
        for attempt in (1, 2):
            r = check_fails_cleanly(self.restore_db(backup, target_db=target, expect=None, env=as_pw), EXIT_DATABASE)
            self.assertFalse(self.pg.exists(target), f"attempt {attempt} left the target database")
            self.assertIn(f"database {target} was not created", r.err, f"attempt {attempt}:\n{r}")
        self.assertEqual(self.leftovers(), [])

    def test_table_restore_with_clean_runs_in_place_in_one_transaction(self):
        db = self.new_db("tables")
        sums_a = self.pg.checksums(db)
        backup = self.backup_of(db)
        self.pg.mutate(db, day=1, scale=0.05)
        sums_m = self.pg.checksums(db)
        r = self.restore_db(backup, "--clean", "--table", "messages", "--json")
        self.assertEqual(r.json()["database"]["method"], "in place, in one transaction")
        # What pg_restore -t leaves out is said, not left for the application to find.
        self.assertIn("owned sequences are not restored; --clean drops them with the table", r.err)
        self.assertEqual(self.pg.query("SELECT count(*) FROM pg_class WHERE relname = 'message_id_seq'", db=db),
                         [["0"]], "the warning describes what happened: the owned sequence went with the table")
        got = self.pg.checksums(db)
        for key in self.user_tables(sums_m):
            want = sums_a if key == ("public", "messages") else sums_m
            self.assertEqual(got[key], want[key], f"{key} after restoring only public.messages")


class LatestHoldsWhatIsAskedTest(tdb.DatabaseTestCase):
    """A full backup (database and files), then a newer one of the files only."""

    def setUp(self):
        super().setUp()
        self.make_tree(scale=0.01, seed=17)
        self.files_a = snapshot_tree(self.src)
        self.both = self.create("full")["backup_id"]
        time.sleep(1.1)  # backup ids have a one-second resolution
        self.files_only = self.coffer_json("create", "--type", "full", "--only", "files")[1]["backup_id"]
        self.assertNotEqual(self.both, self.files_only)

    def test_latest_database_is_the_newest_backup_with_a_database(self):
        target = self.new_db_name("latestdb")
        r = self.restore_db("latest", target_db=target)
        self.assertEqual(r.json()["backup_id"], self.both)
        self.assert_db_equals(target, self.source_sums, what="restore latest --type database")

    def test_latest_full_is_the_newest_backup_with_both_parts(self):
        target_db = self.new_db_name("latestfull")
        target_dir = self.new_dir("latestfull")
        r = self.coffer("--json", "restore", "latest", "--type", "full", "--target", target_dir,
                        "--target-db", target_db, expect=0)
        self.assertEqual(r.json()["backup_id"], self.both)
        self.assertIsInstance(r.json()["database"], dict)
        self.assert_db_equals(target_db, self.source_sums, what="restore latest --type full (database)")
        tdb.assert_trees_equal(self.files_a, snapshot_tree(target_dir), "restore latest --type full (files)")

    def test_full_restore_of_a_backup_without_a_database_fails_before_writing(self):
        target_db = self.new_db_name("nodb")
        target_dir = self.new_dir("nodb")
        r = check_fails_cleanly(self.coffer("restore", self.files_only, "--type", "full", "--target", target_dir,
                                            "--target-db", target_db, expect=None), EXIT_NOT_FOUND)
        self.assertIn(f"backup {self.files_only} holds no database", r.err)
        self.assertIn(self.both, r.err, "the message should name the newest backup with a database")
        self.assertIn("--type files", r.err)
        self.assertFalse(os.path.exists(target_dir) and os.listdir(target_dir), "files were restored")
        self.assertFalse(self.pg.exists(target_db))


if __name__ == "__main__":
    unittest.main()
