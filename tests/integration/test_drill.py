"""`coffer drill`: a backup restored into a scratch database and a scratch folder on the real
server, checked (row counts, every row read, btree indexes with amcheck, DRILL_SQL probes, every
file read back against the backup's chunk ids), and both removed afterwards, also when a check
fails or the drill is killed. The outcome goes into backup_log.json, `status --json` and the
notification hook; the real database and folders are never touched.
"""

import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from coffer_testlib import (  # noqa: E402
    check, check_fails_cleanly, default_settings, flip_byte, make_tree, new_temp_dir, pack_files, remove_tree,
    run_coffer, snapshot_tree, write_passphrase)
from test_database import DatabaseTestCase, db_settings  # noqa: E402

EXIT_INPUT, EXIT_CONFIG, EXIT_DAMAGED = 3, 2, 5
FIXTURE_TABLES = 10  # school_fixture.sql


def scratch_dbs_of(pg, backup_id):
    """The databases that drills of `backup_id` created and have not dropped: their marker comment
    names the backup (other tests on the shared server make and drop databases meanwhile)."""
    rows = pg.query("SELECT datname FROM pg_database WHERE shobj_description(oid, 'pg_database') "
                    f"LIKE 'coffer drill in progress: backup={backup_id} %'")
    return {row[0] for row in rows}


def checks_by_name(result):
    return {(c["part"], c["name"]): c for c in result["checks"]}


class DrillTest(DatabaseTestCase):
    """One backup of the school fixture and a file tree, drilled in several ways."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.dir = new_temp_dir("drill")
        cls.addClassCleanup(remove_tree, cls.dir)
        cls.tree = os.path.join(cls.dir, "src")
        make_tree.create(cls.tree, scale=0.03, seed=7, odd=True)
        cls.tree_snapshot = snapshot_tree(cls.tree)
        cls.drill_env = default_settings(os.path.join(cls.dir, "repo"), make_tree.root_paths(cls.tree),
                                         write_passphrase(os.path.join(cls.dir, "passphrase")))
        cls.drill_env.update(db_settings(cls.pg, cls.source_db))
        cls.backup = check(run_coffer(["--json", "create", "--type", "full"], cls.drill_env, cls.dir), 0).json()

    def setUp(self):
        super().setUp()
        self.env = dict(self.drill_env)
        self.tmpdir = os.path.join(self.tmp, "tmpdir")  # the drill's TMPDIR: what it leaves is seen here
        os.makedirs(self.tmpdir)
        self.env["TMPDIR"] = self.tmpdir

    def scratch_dbs(self):
        return scratch_dbs_of(self.pg, self.backup["backup_id"])

    def drill(self, *args, expect=0, env=None):
        return self.coffer("--json", "drill", *args, expect=expect, env=env)

    def log(self):
        with open(os.path.join(self.dir, "repo", "backup_log.json")) as f:
            return json.load(f)

    def assert_nothing_left(self, scratch_db=None):
        self.assertEqual(self.scratch_dbs(), set(), "a scratch database is left")
        if scratch_db:
            self.assertFalse(self.pg.exists(scratch_db), f"scratch database {scratch_db} is left")
        self.assertEqual(os.listdir(self.tmpdir), [], "a scratch folder is left in TMPDIR")

    def test_a_good_backup_passes_checks_everything_and_leaves_nothing_behind(self):
        out = self.drill().json()
        self.assertTrue(out["passed"], json.dumps(out, indent=1))
        self.assertEqual(out["backup_id"], self.backup["backup_id"])
        checks = checks_by_name(out)
        for key in (("database", "restore"), ("database", "row counts"), ("database", "read through"),
                    ("database", "btree indexes"), ("files", "restore"), ("files", "file contents")):
            self.assertEqual(checks[key]["status"], "passed", checks.get(key))
        self.assertEqual(out["tables"], FIXTURE_TABLES)
        expected_rows = sum(int(t["rows"]) for t in self.backup["database"]["tables"])
        self.assertEqual(out["rows"], expected_rows)
        self.assertGreater(out["indexes"], 5)  # primary keys and the fixture's btree indexes
        self.assertEqual(out["files"], self.backup["file_count"])
        self.assertTrue(out["scratch_db"].startswith("coffer_drill_"), out["scratch_db"])
        self.assertTrue(out["scratch_dir"].startswith(self.tmpdir), out["scratch_dir"])
        self.assertGreater(out["database_restore_seconds"], 0)
        self.assertGreater(out["files_restore_seconds"], 0)
        self.assert_nothing_left(out["scratch_db"])
        # The real database and folders are as they were.
        self.assertEqual(self.pg.checksums(self.source_db), self.source_sums)
        self.assertEqual(snapshot_tree(self.tree), self.tree_snapshot)
        # Recorded, and seen by status.
        rec = self.log()[-1]
        self.assertEqual((rec["backup_type"], rec["status"], rec["backup_id"]),
                         ("drill", "success", self.backup["backup_id"]))
        self.assertEqual(len(rec["metadata"]["checks"]), len(out["checks"]))
        status = self.coffer("--json", "status").json()
        self.assertEqual(status["last_drill"]["status"], "success")
        self.assertEqual(status["types"]["drill"]["last_success"]["backup_id"], self.backup["backup_id"])

    def test_a_probe_that_returns_false_fails_the_drill_names_it_records_and_notifies(self):
        probes = os.path.join(self.tmp, "probes.sql")
        with open(probes, "w") as f:
            f.write("-- the school's own checks\n"
                    "select count(*) > 0 from users;\n"
                    "select count(*) > 1000000\n  from enrollments;\n")
        hook_out = os.path.join(self.tmp, "hook.env")
        r = self.drill(env={"DRILL_SQL": probes, "NOTIFY_COMMAND": f"env | grep ^COFFER_ > '{hook_out}'"},
                       expect=EXIT_DAMAGED)
        out = r.json()
        self.assertFalse(out["passed"])
        checks = checks_by_name(out)
        self.assertEqual(checks[("database", "probe 1")]["status"], "passed")
        failed = checks[("database", "probe 2")]
        self.assertEqual(failed["status"], "failed")
        self.assertIn("line 3: select count(*) > 1000000", failed["detail"])
        self.assertIn("returned 'f', not true", failed["detail"])
        self.assertEqual(checks[("files", "file contents")]["status"], "passed")  # the other checks still ran
        self.assert_nothing_left()
        rec = self.log()[-1]
        self.assertEqual((rec["backup_type"], rec["status"]), ("drill", "failed"))
        self.assertIn("database probe 2", rec["error"])
        with open(hook_out) as f:
            hook = dict(line.rstrip("\n").split("=", 1) for line in f if "=" in line)
        self.assertEqual(hook["COFFER_JOB"], "drill")
        self.assertEqual(hook["COFFER_STATUS"], "failure")
        self.assertEqual(hook["COFFER_BACKUP_ID"], self.backup["backup_id"])
        self.assertIn("probe 2", hook["COFFER_ERROR"])
        status = self.coffer("--json", "status", expect=1).json()
        self.assertIn("the last drill failed", status["problem"])

    def test_a_probes_file_that_cannot_be_read_or_split_fails_before_anything_is_restored(self):
        r = self.drill(env={"DRILL_SQL": os.path.join(self.tmp, "missing.sql")}, expect=EXIT_CONFIG)
        self.assertIn("DRILL_SQL", r.err)
        bad = os.path.join(self.tmp, "bad.sql")
        with open(bad, "w") as f:
            f.write("select true;\nselect false\n")
        r = self.drill(env={"DRILL_SQL": bad}, expect=EXIT_CONFIG)
        self.assertIn("line 2", r.err)
        self.assert_nothing_left()

    def test_a_scratch_name_that_is_taken_is_refused_and_left_alone(self):
        taken = self.new_db("taken", scale=0.01)
        sums = self.pg.checksums(taken)
        for name in (taken, self.source_db):
            with self.subTest(name=name):
                r = self.drill("--scratch-db", name, expect=EXIT_INPUT)
                self.assertIn(f"database {name} on ", r.err)
                self.assertIn("--scratch-db", r.err)
        self.assertEqual(self.pg.checksums(taken), sums)
        self.assertEqual(self.pg.checksums(self.source_db), self.source_sums)
        self.assert_nothing_left()
        # A new name of the user's choosing is created and dropped.
        chosen = self.new_db_name("chosen")
        out = self.drill("--scratch-db", chosen).json()
        self.assertEqual(out["scratch_db"], chosen)
        self.assertFalse(self.pg.exists(chosen))

    def test_a_drill_killed_mid_way_is_cleaned_up_by_the_next(self):
        for point in ("drill-database-restored", "drill-files-restored"):
            with self.subTest(failpoint=point):
                r = self.drill(env={"COFFER_FAILPOINT": point}, expect=None)
                self.assertEqual(r.code, -9, f"not killed at {point}:\n{r}")
                left_db = self.scratch_dbs()
                left_dir = os.listdir(self.tmpdir)
                if point == "drill-database-restored":
                    self.assertEqual(len(left_db), 1, "the killed drill left no scratch database to sweep")
                else:
                    # its scratch folder, and what the database part beside it had in TMPDIR
                    self.assertGreaterEqual(len(left_dir), 1, "the killed drill left no scratch folder to sweep")
                out = self.drill().json()
                self.assertTrue(out["passed"], json.dumps(out, indent=1))
                swept = " ".join(out["warnings"])
                # Killed in the files part, the database part beside it may have been dropping its
                # scratch database already (the server finishes that DROP): only a drill killed in
                # the database part surely leaves one for the next to sweep.
                if point == "drill-database-restored":
                    self.assertIn(f"dropped database {left_db.pop()}, the scratch database of a drill", swept)
                if left_dir:
                    self.assertIn("scratch item(s)", swept)
                self.assert_nothing_left()


class DamagedDrillTest(DatabaseTestCase):
    def test_a_damaged_chunk_fails_the_drill_naming_the_table_or_the_file(self):
        self.make_tree(scale=0.02, seed=3)
        self.env.update(db_settings(self.pg, self.source_db))
        tmpdir = os.path.join(self.tmp, "tmpdir")
        os.makedirs(tmpdir)
        self.env["TMPDIR"] = tmpdir
        # One part per repository: every pack then holds chunks of the part drilled.
        for part, named in (("database", ("the dump's data for TABLE ", "the dump's header and table of contents")),
                            ("files", ("uploads/",))):
            with self.subTest(part=part):
                repo = os.path.join(self.tmp, f"repo-{part}")
                self.coffer("create", "--type", "full", "--only", part, env={"BACKUP_DIR": repo}, expect=0)
                for p in pack_files(repo):
                    flip_byte(p)
                r = self.coffer("--json", "drill", env={"BACKUP_DIR": repo})
                check_fails_cleanly(r, EXIT_DAMAGED)
                out = r.json()
                self.assertFalse(out["passed"])
                restore = checks_by_name(out)[(part, "restore")]
                self.assertEqual(restore["status"], "failed")
                # A table's data, or (when the damage is met there first) the dump's table of contents
                self.assertTrue(any(n in restore["detail"] for n in named), restore["detail"])
                with open(os.path.join(repo, "backup_log.json")) as f:
                    rec = json.load(f)[-1]
                self.assertEqual((rec["backup_type"], rec["status"]), ("drill", "failed"))
                self.assertEqual(scratch_dbs_of(self.pg, out["backup_id"]), set())
                self.assertEqual(os.listdir(tmpdir), [])


if __name__ == "__main__":
    unittest.main()
