"""The PostgreSQL part: a database backed up with the files under one backup id restores into a
new database with the same rows (per-table checksums) and schema; incremental backups; --only;
refusing to restore over tables; --table; database failures; passwords never shown.

Needs a server: COFFER_TEST_PGHOST / _PGPORT / _PGUSER (a superuser) and COFFER_TEST_PG_PASSWORD
(the password of the role coffer_pw), as printed by tests/fixtures/pg_server.sh; scripts/test.sh
starts one. Missing settings fail the tests, they never skip them. Every class makes its own
databases (coffer_it_<pid>_<n>_<label>) and drops them afterwards.
"""

import fcntl
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from coffer_testlib import (  # noqa: E402
    CofferTestCase, assert_trees_equal, check, check_fails_cleanly, clean_env, coffer_binary,
    default_settings, file_contains, flip_byte, make_tree, new_temp_dir, pack_files, read_backup_log, remove_tree,
    run_coffer, snapshot_tree, start_coffer, write_passphrase)
from pg_fixture import PgServer, diff_checksums, diff_schema, table_label  # noqa: E402

EXIT_CONFIG, EXIT_INPUT, EXIT_DAMAGED, EXIT_DATABASE = 2, 3, 5, 7
DATABASE_FIELDS = ("name", "server_version", "pg_dump_version", "size_bytes", "dump_bytes",
                   "tables", "duration_seconds", "globals")
_db_counter = itertools.count(1)


def unique_db_name(label):
    return f"coffer_it_{os.getpid()}_{next(_db_counter)}_{label}"[:63].lower()


def db_settings(pg, dbname):
    """The DB_* settings that point coffer at `dbname` on the test server as its superuser."""
    return {"DB_HOST": pg.host, "DB_PORT": pg.port, "DB_USER": pg.user, "DB_NAME": dbname,
            "DB_PASSWORD": None}


def tables_of(database_json):
    """{(schema, table): rows} from a create/list "database" object."""
    return {(t["schema"], t["name"]): t["rows"] for t in database_json["tables"]}


def free_port():
    """A loopback TCP port that nothing listens on (right now)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def process_tree(root_pid):
    """{pid: (comm, cmdline bytes)} of root_pid and all its descendants, as they are now."""
    children = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(b")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(name))
    out, todo = {}, [root_pid]
    while todo:
        pid = todo.pop()
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read()
            with open(f"/proc/{pid}/comm", "rb") as f:
                comm = f.read().strip().decode(errors="replace")
        except OSError:
            continue
        out[pid] = (comm, cmdline)
        todo += children.get(pid, [])
    return out


class DatabaseTestCase(CofferTestCase):
    """Adds the test server (self.pg), a source database loaded with the school fixture at
    SOURCE_SCALE for the class (self.source_db, its checksums and schema), and DB_* settings
    pointing at it. Databases are dropped when the test (or class) ends."""

    SOURCE_SCALE = 0.05

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        coffer_binary()  # fail (not skip) right away when the binary is missing
        cls.pg = PgServer.from_env()
        cls.source_db = cls.class_db("src", cls.SOURCE_SCALE)
        cls.source_sums = cls.pg.checksums(cls.source_db)
        cls.source_schema = cls.pg.schema(cls.source_db)

    @classmethod
    def class_db(cls, label, scale, owner=None, user=None, password=None):
        """A new database holding the fixture at `scale`, dropped after the class."""
        name = unique_db_name(label)
        cls.addClassCleanup(cls.pg.drop_db, name)
        cls.pg.create_db(name, owner)
        cls.pg.load_fixture(name, scale, user=user, password=password)
        return name

    def setUp(self):
        super().setUp()
        self.env.update(db_settings(self.pg, self.source_db))

    def new_db_name(self, label):
        """A fresh database name, dropped (if it came to exist) after the test."""
        name = unique_db_name(label)
        self.addCleanup(self.pg.drop_db, name)
        return name

    def new_db(self, label, scale=0.05):
        name = self.new_db_name(label)
        self.pg.create_db(name)
        self.pg.load_fixture(name, scale)
        return name

    def assert_db_equals(self, db, expected_sums, expected_schema=None, what=None):
        what = what or f"database {db}"
        lines = diff_checksums(expected_sums, self.pg.checksums(db))
        if lines:
            self.fail(f"{what} differs in {len(lines)} tables/sequences:\n  " + "\n  ".join(lines))
        if expected_schema is not None:
            diff = diff_schema(expected_schema, self.pg.schema(db))
            if diff:
                self.fail(f"{what}: schema (pg_dump --schema-only) differs:\n" + "\n".join(diff))

    def restore_db(self, backup_id, *extra, target_db=None, expect=0, env=None):
        """restore BACKUP_ID --type database [--target-db NAME] EXTRA... --json."""
        args = ["--json", "restore", backup_id, "--type", "database"]
        if target_db is not None:
            args += ["--target-db", target_db]
        return self.coffer(*args, *extra, expect=expect, env=env)

    def check_restore_json(self, result, dbname, tables_restored):
        out = result.json()
        self.assertIsInstance(out.get("database"), dict, f"restore --json lacks a database object:\n{result}")
        self.assertEqual(out["database"].get("dbname"), dbname)
        self.assertEqual(out["database"].get("tables_restored"), tables_restored)
        self.assertEqual(out["database"].get("row_count_mismatches"), [])
        return out

    def user_tables(self, sums):
        return {k: v for k, v in sums.items() if k[0] != "sequence"}


class DatabaseChainTest(DatabaseTestCase):
    """Built once for the class: the fixture at scale 0.3 plus a file tree; a full backup of
    both (state A); a day of changes to both; an incremental backup (state B)."""

    SOURCE_SCALE = 0.3

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.chain_dir = new_temp_dir("dbchain")
        cls.addClassCleanup(remove_tree, cls.chain_dir)
        cls.chain_src = os.path.join(cls.chain_dir, "src")
        make_tree.create(cls.chain_src, scale=0.05, seed=21)
        cls.chain_env = default_settings(os.path.join(cls.chain_dir, "repo"),
                                         make_tree.root_paths(cls.chain_src),
                                         write_passphrase(os.path.join(cls.chain_dir, "passphrase")))
        cls.chain_env.update(db_settings(cls.pg, cls.source_db))

        cls.files_a = snapshot_tree(cls.chain_src)
        cls.sums_a, cls.schema_a = cls.source_sums, cls.source_schema
        cls.full = check(run_coffer(["--json", "create", "--type", "full"], cls.chain_env, cls.chain_dir), 0).json()

        cls.pg.mutate(cls.source_db, day=1, scale=cls.SOURCE_SCALE)
        make_tree.mutate(cls.chain_src, seed=5)
        cls.files_b = snapshot_tree(cls.chain_src)
        cls.sums_b, cls.schema_b = cls.pg.checksums(cls.source_db), cls.pg.schema(cls.source_db)
        cls.incr = check(run_coffer(["--json", "create", "--type", "incremental"], cls.chain_env,
                                    cls.chain_dir), 0).json()

    def setUp(self):
        super().setUp()
        self.env = dict(self.chain_env)
        self.backup_dir = self.chain_env["BACKUP_DIR"]

    def test_mutation_changed_the_database(self):
        # Guards the tests below: state B must differ from state A, or they prove nothing.
        changed = [table_label(k) for k in self.user_tables(self.sums_a) if self.sums_a[k] != self.sums_b.get(k)]
        for table in ("public.submissions", "public.attendance", "public.messages", "public.audit_log",
                      "public.users"):
            self.assertIn(table, changed)

    def test_create_reports_database_and_files(self):
        for out, sums in ((self.full, self.sums_a), (self.incr, self.sums_b)):
            with self.subTest(backup=out.get("backup_id")):
                self.assertEqual(out.get("status"), "success")
                self.assertGreater(out.get("file_count", 0), 0, "the files part is missing")
                db = out.get("database")
                self.assertIsInstance(db, dict, f"create --json lacks the database object: {out}")
                self.assertEqual([f for f in DATABASE_FIELDS if f not in db], [], f"database object lacks fields: {db}")
                self.assertEqual(db["name"], self.source_db)
                self.assertGreater(db["dump_bytes"], 0)
                self.assertGreater(db["size_bytes"], 0)
                self.assertEqual(tables_of(db), {k: v[0] for k, v in self.user_tables(sums).items()},
                                 "tables and row counts recorded at backup time")

    def test_list_shows_one_backup_per_create_with_database(self):
        listed = self.list_backups()
        self.assertEqual([b.get("backup_id") for b in listed], [self.full["backup_id"], self.incr["backup_id"]],
                         "database and files must share one backup id")
        for b, sums in zip(listed, (self.sums_a, self.sums_b)):
            with self.subTest(backup=b["backup_id"]):
                self.assertIsInstance(b.get("database"), dict, f"list entry lacks the database: {b}")
                self.assertEqual(b["database"]["name"], self.source_db)
                self.assertEqual(tables_of(b["database"]), {k: v[0] for k, v in self.user_tables(sums).items()})
                self.assertGreater(b["file_count"], 0)

    def test_backup_log_records_database(self):
        log = read_backup_log(self.backup_dir)
        self.assertEqual([e.get("backup_id") for e in log], [self.full["backup_id"], self.incr["backup_id"]])
        for e in log:
            with self.subTest(backup=e.get("backup_id")):
                db = e["metadata"].get("database")
                self.assertIsInstance(db, dict, f"metadata.database missing: {e}")
                self.assertEqual(db.get("name"), self.source_db)
                self.assertEqual(db.get("table_count"), len(self.user_tables(self.sums_a)))
                self.assertNotIn("tables", db, "the log carries table_count, not the table list")

    def test_incremental_adds_less_than_full(self):
        full, incr = self.full["bytes_added"], self.incr["bytes_added"]
        print(f"\n  bytes_added: full {full}, incremental {incr} "
              f"(dump_bytes {(self.full.get('database') or {}).get('dump_bytes')} / "
              f"{(self.incr.get('database') or {}).get('dump_bytes')})",
              file=sys.stderr)
        self.assertGreater(full, 0)
        self.assertLess(incr, full, "the incremental backup stored as much as the full one")

    def test_restore_full_into_new_database(self):
        target = self.new_db_name("full")
        r = self.restore_db(self.full["backup_id"], target_db=target)
        self.check_restore_json(r, target, len(self.user_tables(self.sums_a)))
        self.assert_db_equals(target, self.sums_a, self.schema_a, "restore of the full backup")

    def test_restore_incremental_into_new_database(self):
        target = self.new_db_name("incr")
        self.restore_db(self.incr["backup_id"], target_db=target)
        self.assert_db_equals(target, self.sums_b, self.schema_b, "restore of the incremental backup")

    def test_restore_type_full_gives_database_and_files(self):
        target_db = self.new_db_name("both")
        target_dir = self.new_dir("both")
        r = self.coffer("--json", "restore", self.full["backup_id"], "--type", "full",
                        "--target", target_dir, "--target-db", target_db, expect=0)
        self.assertIsInstance(r.json().get("database"), dict, f"restore --json lacks the database:\n{r}")
        self.assert_db_equals(target_db, self.sums_a, self.schema_a, "restore --type full (database)")
        assert_trees_equal(self.files_a, snapshot_tree(target_dir), "restore --type full (files)")

    def test_restore_type_full_with_a_refused_database_restores_no_files(self):
        # Files and database are restored at once, but the files start only after the database
        # restore has accepted its target: a refusal leaves everything untouched.
        busy = self.new_db("busy")
        target_dir = self.new_dir("refused")
        r = self.coffer("restore", self.full["backup_id"], "--type", "full", "--target", target_dir,
                        "--target-db", busy, expect=EXIT_INPUT)
        self.assertIn("--clean", r.err)
        self.assertFalse(os.path.exists(target_dir) and os.listdir(target_dir),
                         f"files were restored although the database was refused:\n{r}")

    def test_restore_type_full_with_refused_files_restores_no_database(self):
        # The other way round: the files' conflicts are settled before the database restore
        # starts, so files in the way leave the database untouched (it is not even created).
        target_dir = self.new_dir("files-in-the-way")
        self.restore(self.full["backup_id"], target_dir)
        target_db = self.new_db_name("not-created")
        r = self.coffer("restore", self.full["backup_id"], "--type", "full", "--target", target_dir,
                        "--target-db", target_db, expect=EXIT_INPUT)
        self.assertIn("--existing skip", r.err)
        self.assertFalse(self.pg.exists(target_db), f"the database restore ran although the files were refused:\n{r}")

    def test_restore_type_files_leaves_databases_alone(self):
        target_dir = self.new_dir("files")
        self.restore(self.incr["backup_id"], target_dir)
        assert_trees_equal(self.files_b, snapshot_tree(target_dir), "restore --type files")
        self.assert_db_equals(self.source_db, self.sums_b, what="the source database after a files restore")

    def test_restore_named_tables_only(self):
        target = self.new_db_name("tables")
        wanted = [("public", "users"), ("reporting", "term_summaries")]
        self.restore_db(self.full["backup_id"], "--table", "users", "--table", "reporting.term_summaries",
                        target_db=target)
        got = self.pg.checksums(target)
        self.assertEqual(sorted(self.user_tables(got)), sorted(wanted), "--table restores exactly those tables")
        for key in wanted:
            self.assertEqual(got[key], self.sums_a[key], f"{table_label(key)} differs from the backup")


class ServedDumpTest(DatabaseTestCase):
    """pg_restore reads the dump as a directory archive whose table files are pipes served from
    the repository, not a staged copy: large objects (written out as files), the staged way
    (COFFER_RESTORE_STAGED, and what older backups get), and a damaged dump, which must stop
    pg_restore rather than hand it a table cut short. TMPDIR is the test's own, to see it left empty."""

    def setUp(self):
        super().setUp()
        self.tmpdir = self.new_dir("tmpdir")
        os.mkdir(self.tmpdir)
        self.env["TMPDIR"] = self.tmpdir

    def assert_no_sessions(self, db, message, seconds=10):
        """Nobody is connected to `db` (waiting up to `seconds` for sessions to end)."""
        sessions = f"SELECT count(*) FROM pg_stat_activity WHERE datname = '{db}'"
        deadline = time.monotonic() + seconds
        while self.pg.query(sessions) != [["0"]] and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertEqual(self.pg.query(sessions), [["0"]], message)

    def backup_only_db(self, db):
        self.env["DB_NAME"] = db
        _, out = self.coffer_json("create", "--type", "full", "--only", "database")
        return out["backup_id"]

    def test_large_objects_served_and_staged(self):
        db = self.new_db("lobs")
        self.pg.psql("SELECT lo_from_bytea(424242, convert_to(repeat('large object ', 50000), 'UTF8'));"
                     "SELECT lo_from_bytea(0, '');", db=db)
        sums, schema = self.pg.checksums(db), self.pg.schema(db)
        lo_sum = "SELECT md5(lo_get(424242)) || ' ' || (SELECT count(*) FROM pg_largeobject_metadata)"
        backup = self.backup_only_db(db)
        for label, env in (("served", {}), ("staged", {"COFFER_RESTORE_STAGED": "1"})):
            with self.subTest(label):
                target = self.new_db_name(label)
                r = self.restore_db(backup, "-v", target_db=target, env=env, expect=0)
                self.assert_db_equals(target, sums, schema, f"{label} restore")
                self.assertEqual(self.pg.query(lo_sum, db=target), self.pg.query(lo_sum, db=db))
                self.assertTrue(self.pg.query(lo_sum, db=db)[0][0].endswith(" 2"), "the source lacks its large objects")
                self.assertEqual(os.listdir(self.tmpdir), [], f"the {label} restore left files in TMPDIR")
                served = "served through pipes" in r.err
                self.assertEqual(served, label == "served", f"{label} restore took the other way:\n{r.err}")

    def test_tables_beyond_the_open_file_limit_are_staged(self):
        # Each served table holds a descriptor until pg_restore reads it: with 600 descriptors,
        # 344 of the 400 tables are pipes (256 are kept spare) and the 56 smallest are files.
        db = self.new_db_name("many")
        self.pg.create_db(db)
        self.pg.psql("DO $$ BEGIN FOR i IN 1..400 LOOP EXECUTE format("
                     "'CREATE TABLE t%s (id int); INSERT INTO t%s SELECT generate_series(1, %s)', i, i, i);"
                     " END LOOP; END $$;", db=db)
        sums = self.pg.checksums(db)
        backup = self.backup_only_db(db)
        target = self.new_db_name("many_r")
        argv = ["prlimit", "--nofile=600:600", coffer_binary(), "-v", "restore", backup, "--type", "database",
                "--target-db", target]
        p = subprocess.run(argv, env=clean_env(self.env), cwd=self.tmp, stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=300)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("344 tables served through pipes", p.stderr)
        self.assert_db_equals(target, sums, what="restore with tables beyond the open-file limit")
        self.assertEqual(os.listdir(self.tmpdir), [], "the restore left files in TMPDIR")

    def test_killed_restore_leaves_no_table_cut_short(self):
        # coffer dies (SIGKILL) right after feeding pg_restore the first part of a table. Its
        # pipes must not end as if that were the whole table: the keeper holds them open, stops
        # pg_restore (whose workers cancel their COPYs), and nobody is left waiting on a pipe.
        expected = {k: v[0] for k, v in self.user_tables(self.source_sums).items()}
        backup = self.backup_only_db(self.source_db)
        target = self.new_db_name("killed")
        r = self.restore_db(backup, target_db=target, expect=None, env={"COFFER_FAILPOINT": "restore-pipe-fed"})
        self.assertEqual(r.code, -9, f"the failpoint did not kill coffer:\n{r}")
        # The restore went into a scratch database (its comment names the target), never the target.
        self.assertFalse(self.pg.exists(target), "the killed restore created its target")
        [[scratch]] = self.pg.query("SELECT datname FROM pg_database WHERE shobj_description(oid, 'pg_database') "
                                    f"LIKE '%target={target} %'")
        self.assert_no_sessions(scratch, "pg_restore is still connected after coffer was killed")
        got = {k: v[0] for k, v in self.user_tables(self.pg.checksums(scratch)).items()}
        cut = {table_label(k): (n, expected.get(k)) for k, n in got.items() if n not in (0, expected.get(k))}
        self.assertEqual(cut, {}, "tables restored in part (rows, expected) after coffer was killed")

        # The killed restore could not remove its folder; once its keeper is gone too (the lock on
        # the folder is free), the next restore removes it and says so.
        left = os.listdir(self.tmpdir)
        self.assertEqual(len(left), 1, f"expected the killed restore's folder in TMPDIR: {left}")
        folder = os.path.join(self.tmpdir, left[0])
        deadline = time.monotonic() + 40
        while True:
            fd = os.open(folder, os.O_RDONLY)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                self.assertLess(time.monotonic(), deadline, "the killed restore's folder stays locked")
                time.sleep(0.1)
            finally:
                os.close(fd)
        again = self.new_db_name("after_kill")
        r = self.restore_db(backup, target_db=again, expect=0)
        self.assertIn("that a killed restore left in", r.err)
        self.assertIn(f"dropped database {scratch}", r.err)
        self.assertFalse(self.pg.exists(scratch), "the next restore left the killed one's scratch database")
        self.assertEqual(os.listdir(self.tmpdir), [], "the next restore left the killed one's folder")
        self.assert_db_equals(again, self.source_sums, what="restore after a killed one")

    def test_damaged_dump_stops_pg_restore(self):
        backup = self.backup_only_db(self.source_db)
        flip_byte(max(pack_files(self.env["BACKUP_DIR"]), key=os.path.getsize))
        target = self.new_db_name("damaged")
        started = time.monotonic()
        r = check_fails_cleanly(self.restore_db(backup, target_db=target, expect=None),
                                EXIT_DAMAGED)
        self.assertLess(time.monotonic() - started, 60, "the failed restore took too long (a reader left waiting?)")
        self.assertIn("the dump's data for TABLE DATA", r.err, f"the error does not name the table:\n{r}")
        self.assertEqual(os.listdir(self.tmpdir), [], "the failed restore left files in TMPDIR")
        # pg_restore and its workers are gone: nobody is connected to the target any more.
        self.assert_no_sessions(target, "pg_restore sessions are still connected after the restore failed")


class OnlyPartTest(DatabaseTestCase):

    def setUp(self):
        super().setUp()
        self.make_tree(scale=0.01, seed=4)

    def test_only_database(self):
        _, out = self.coffer_json("create", "--type", "full", "--only", "database")
        self.assertEqual(out.get("status"), "success")
        self.assertIsInstance(out.get("database"), dict, f"--only database backed up no database: {out}")
        self.assertEqual(out.get("file_count"), 0, f"--only database backed up files: {out}")
        [listed] = self.list_backups()
        self.assertIsInstance(listed.get("database"), dict)
        self.assertEqual(listed["file_count"], 0)
        target = self.new_db_name("onlydb")
        self.restore_db(out["backup_id"], target_db=target)
        self.assert_db_equals(target, self.source_sums, self.source_schema)

    def test_only_files(self):
        _, out = self.coffer_json("create", "--type", "full", "--only", "files")
        self.assertIn("database", out, f"create --json lacks the database field: {out}")
        self.assertIsNone(out["database"], f"--only files backed up the database: {out}")
        self.assertGreater(out["file_count"], 0)
        [listed] = self.list_backups()
        self.assertIsNone(listed.get("database", "absent"))
        target = self.new_dir("onlyfiles")
        self.restore(out["backup_id"], target)
        assert_trees_equal(snapshot_tree(self.src), snapshot_tree(target))

    def test_only_database_without_db_name(self):
        r = self.coffer("create", "--type", "full", "--only", "database", env={"DB_NAME": None})
        check_fails_cleanly(r, EXIT_CONFIG)
        self.assertIn("DB_NAME", r.err)
        snapshots = os.path.join(self.backup_dir, "snapshots")
        self.assertFalse(os.path.isdir(snapshots) and os.listdir(snapshots), "a backup was written")

    def test_without_db_name_backs_up_files_only(self):
        _, out = self.coffer_json("create", "--type", "full", env={"DB_NAME": None})
        self.assertIsNone(out.get("database", "absent"), out)
        self.assertGreater(out["file_count"], 0)

    def test_without_backup_paths_backs_up_database_only(self):
        _, out = self.coffer_json("create", "--type", "full", env={"BACKUP_PATHS": None})
        self.assertIsInstance(out.get("database"), dict, out)
        self.assertEqual(out["file_count"], 0)


class RestoreOverExistingTest(DatabaseTestCase):
    """A backup of a database (state A) that then changes (state M)."""

    def setUp(self):
        super().setUp()
        self.db = self.new_db("live")
        self.env["DB_NAME"] = self.db
        self.sums_a, self.schema_a = self.pg.checksums(self.db), self.pg.schema(self.db)
        self.backup_id = self.coffer_json("create", "--type", "full", "--only", "database")[1]["backup_id"]
        self.pg.mutate(self.db, day=1, scale=0.05)
        self.sums_m = self.pg.checksums(self.db)
        self.assertNotEqual(self.sums_m, self.sums_a)

    def test_refuses_database_with_tables(self):
        r = self.restore_db(self.backup_id, expect=None)
        check_fails_cleanly(r, EXIT_INPUT)
        self.assertIn(self.db, r.err, "the message should name the database")
        self.assert_db_equals(self.db, self.sums_m, what="the refused database")

    def test_refuses_target_db_with_tables(self):
        r = self.restore_db(self.backup_id, target_db=self.db, expect=None)
        check_fails_cleanly(r, EXIT_INPUT)
        self.assert_db_equals(self.db, self.sums_m, what="the refused database")

    def test_clean_replaces_the_tables(self):
        self.restore_db(self.backup_id, "--clean")
        self.assert_db_equals(self.db, self.sums_a, self.schema_a, "restore --clean")

    def test_empty_db_name_is_restored_into(self):
        empty = self.new_db_name("empty")
        self.pg.create_db(empty)
        self.restore_db(self.backup_id, env={"DB_NAME": empty})
        self.assert_db_equals(empty, self.sums_a, self.schema_a, "restore into an empty DB_NAME")


class DatabaseFailureTest(DatabaseTestCase):

    def setUp(self):
        super().setUp()
        self.make_tree(scale=0.01, seed=6)
        self.first = self.create("full")["backup_id"]

    def assert_failed_and_not_listed(self, result):
        check_fails_cleanly(result, EXIT_DATABASE)
        log = read_backup_log(self.backup_dir)
        self.assertEqual(log[-1].get("status"), "failed", log[-1])
        self.assertTrue(str(log[-1].get("error", "")).strip(), f"failed record without an error: {log[-1]}")
        self.assertEqual([b["backup_id"] for b in self.list_backups()], [self.first],
                         "a failed database backup left a backup behind")

    def test_nothing_listening(self):
        port = free_port()
        r = self.coffer("create", "--type", "incremental", env={"DB_PORT": port}, timeout=90)
        self.assert_failed_and_not_listed(r)
        self.assertIn(str(port), r.err, "the message should name the port it could not reach")

    def test_database_does_not_exist(self):
        missing = unique_db_name("missing")
        r = self.coffer("create", "--type", "incremental", env={"DB_NAME": missing})
        self.assert_failed_and_not_listed(r)
        self.assertIn(missing, r.err)

    def test_restore_from_unreachable_server(self):
        r = self.restore_db(self.first, target_db=unique_db_name("x"), env={"DB_PORT": free_port()},
                            expect=None)
        check_fails_cleanly(r, EXIT_DATABASE)


class FilesPartFailureTest(DatabaseTestCase):

    def test_missing_backup_path_fails_the_whole_create(self):
        self.make_tree(scale=0.01, seed=8)
        first = self.create("full")["backup_id"]
        missing = os.path.join(self.tmp, "no-such-dir")
        r = self.coffer("create", "--type", "incremental",
                        env={"BACKUP_PATHS": self.env["BACKUP_PATHS"] + ":" + missing})
        check_fails_cleanly(r, EXIT_CONFIG)
        self.assertIn(missing, r.err)
        self.assertEqual([b["backup_id"] for b in self.list_backups()], [first], "a failed create left a backup")


def newest_pg_bin():
    """The folder of the newest installed PostgreSQL client tools (/usr/lib/postgresql/N/bin)."""
    root = "/usr/lib/postgresql"
    majors = sorted((int(v) for v in os.listdir(root) if v.isdigit()
                     and os.path.exists(os.path.join(root, v, "bin", "pg_dump"))), reverse=True)
    if not majors:
        raise AssertionError(f"no pg_dump under {root}: run scripts/setup.sh")
    return os.path.join(root, str(majors[0]), "bin")


class ToolEnvironmentTest(DatabaseTestCase):
    """pg_dump, pg_dumpall, pg_restore and psql get only what they need from coffer's environment.
    COFFER_PG_BIN points at wrappers that save the environment they were started with
    (/proc/$$/environ) and then run the real tool; the superuser is trusted, so DB_PASSWORD is
    set but not needed, and its passfile still reaches the tools."""

    SECRETS = {"DB_PASSWORD": "db-secret-5b1e0c", "BACKUP_PASSPHRASE": "passphrase-secret-77d2a9",
               "AWS_SECRET_ACCESS_KEY": "aws-secret-0f4c3e", "AWS_SESSION_TOKEN": "aws-token-9e8d7c"}

    def setUp(self):
        super().setUp()
        self.make_tree(scale=0.01, seed=12)
        real = newest_pg_bin()
        self.shims, self.seen = os.path.join(self.tmp, "pg-bin"), os.path.join(self.tmp, "environ")
        os.mkdir(self.shims)
        os.mkdir(self.seen)
        for tool in ("pg_dump", "pg_dumpall", "pg_restore", "psql"):
            path = os.path.join(self.shims, tool)
            with open(path, "w") as f:
                f.write(f'#!/bin/sh\ncat /proc/$$/environ > "{self.seen}/{tool}.$$"\n'
                        f'exec "{real}/{tool}" "$@"\n')
            os.chmod(path, 0o755)
        self.env.update(self.SECRETS, COFFER_PG_BIN=self.shims, AWS_ACCESS_KEY_ID="AKIDTOOLTEST",
                        BACKUP_PASSPHRASE_FILE=None)

    def environments(self):
        """{file name: {variable: value}} of every tool run so far."""
        out = {}
        for name in os.listdir(self.seen):
            with open(os.path.join(self.seen, name), "rb") as f:
                entries = [e.decode(errors="replace") for e in f.read().split(b"\0") if e]
            out[name] = dict(e.split("=", 1) for e in entries)
        return out

    def test_tools_get_no_secrets(self):
        backup = self.create("full")["backup_id"]
        self.restore_db(backup, target_db=self.new_db_name("toolenv"))
        envs = self.environments()
        tools = {name.split(".")[0] for name in envs}
        self.assertLessEqual({"pg_dump", "pg_restore"}, tools, f"the wrappers were not run: {sorted(envs)}")
        for name, env in envs.items():
            for variable, secret in self.SECRETS.items():
                self.assertNotIn(variable, env, f"{name} got {variable}")
                self.assertNotIn(secret, "\n".join(env.values()), f"{name} got the value of {variable}")
            self.assertFalse([v for v in env if v.startswith("AWS_")], f"{name} got AWS settings: {sorted(env)}")
            self.assertIn("PATH", env, f"{name} lost PATH")
        dumps = [env for name, env in envs.items() if name.startswith("pg_dump.") and "PGDATABASE" in env]
        self.assertTrue(dumps, "no pg_dump run against the database was recorded")
        self.assertTrue(all(env.get("PGPASSFILE", "").startswith("/proc/self/fd/") for env in dumps),
                        "pg_dump did not get the passfile DB_PASSWORD is handed over in")


class PasswordTest(DatabaseTestCase):
    """The source database belongs to coffer_pw, which must give a password (scram-sha-256).
    Scale 1, so the create runs long enough to watch its processes. The repository is neither
    encrypted nor compressed, so a password written anywhere in it would show."""

    @classmethod
    def setUpClass(cls):  # instead of DatabaseTestCase's: the source belongs to coffer_pw
        coffer_binary()
        cls.pg = PgServer.from_env()
        cls.password = cls.pg.password()
        cls.source_db = unique_db_name("pw")
        cls.addClassCleanup(cls.pg.drop_db, cls.source_db)
        cls.pg.create_db(cls.source_db, owner="coffer_pw")
        cls.pg.load_fixture(cls.source_db, 1, user="coffer_pw", password=cls.password)
        cls.source_sums = cls.pg.checksums(cls.source_db)

    def setUp(self):
        super().setUp()
        self.make_tree(scale=0.01, seed=9)
        self.env.update(DB_USER="coffer_pw", DB_PASSWORD=self.password, ENCRYPTION="false",
                        COMPRESSION="none", BACKUP_PASSPHRASE_FILE=None)

    def watch(self, args, label):
        """Runs coffer in the background, reading the command lines of it and its children
        until it ends. Returns (exit code, output, {pid: (comm, cmdline)} seen, polls)."""
        log_path = os.path.join(self.tmp, f"{label}.log")
        proc = start_coffer(args, self.env, self.tmp, log_path)
        seen, polls = {}, 0
        deadline = time.monotonic() + 300
        try:
            while proc.poll() is None and time.monotonic() < deadline:
                for pid, (comm, cmdline) in process_tree(proc.pid).items():
                    seen.setdefault((pid, cmdline), comm)
                polls += 1
                time.sleep(0.001)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
        with open(log_path, "rb") as f:
            output = f.read().decode("utf-8", "surrogateescape")
        return proc.returncode, output, seen, polls

    def assert_no_password_on_command_lines(self, seen):
        for (pid, cmdline), comm in seen.items():
            self.assertNotIn(self.password.encode(), cmdline,
                             f"the password is on the command line of {comm} (pid {pid}): "
                             f"{cmdline.replace(bytes(1), b' ')[:200]!r}")

    def test_password_is_never_shown(self):
        code, output, seen, polls = self.watch(["-v", "--json", "create", "--type", "full"], "create")
        self.assertEqual(code, 0, f"create as coffer_pw failed:\n{output}")
        self.assert_no_password_on_command_lines(seen)
        comms = sorted({comm for comm in seen.values()})
        print(f"\n  watched {len(seen)} process command lines in {polls} polls: {', '.join(comms)}",
              file=sys.stderr)
        self.assertGreater(polls, 0, "coffer ended before it could be watched")
        self.assertNotIn(self.password, output, "the password was printed by create")

        outputs = [self.coffer("-v", "list", expect=0), self.coffer("--json", "config", expect=0)]
        target = self.new_db_name("pwrestore")
        code, restore_output, restore_seen, _ = self.watch(
            ["-v", "--json", "restore", "latest", "--type", "database", "--target-db", target], "restore")
        self.assertEqual(code, 0, f"restore as coffer_pw failed:\n{restore_output}")
        self.assert_no_password_on_command_lines(restore_seen)
        self.assertNotIn(self.password, restore_output, "the password was printed by restore")
        for r in outputs:
            self.assertNotIn(self.password, r.output, f"the password was printed:\n{r}")
        config = {s["name"]: s for s in outputs[1].json()}
        self.assertEqual(config["DB_PASSWORD"]["value"], "<redacted>")
        self.assertNotIn(self.password, json.dumps(read_backup_log(self.backup_dir)))
        self.assertEqual(file_contains(self.backup_dir, self.password.encode()), [],
                         "the password was written into BACKUP_DIR")
        self.assert_db_equals(target, self.source_sums, what="restore as coffer_pw")

    def test_killed_backup_leaves_no_password_on_disk(self):
        """coffer killed while pg_dump runs (it cannot clean up): the password was never in a file
        on disk, so nothing is left behind in TMPDIR (it lives in a memfd)."""
        tmpdir = self.new_dir("tmp")
        os.makedirs(tmpdir)
        self.env["TMPDIR"] = tmpdir
        proc = start_coffer(["create", "--type", "full", "--only", "database"], self.env, self.tmp,
                            os.path.join(self.tmp, "killed.log"))
        dumping = False
        deadline = time.monotonic() + 60
        try:
            while proc.poll() is None and time.monotonic() < deadline and not dumping:
                dumping = any(comm == "pg_dump" for comm, _ in process_tree(proc.pid).values())
                time.sleep(0.002)
            tree = process_tree(proc.pid)
        finally:
            proc.kill()
            proc.wait()
        self.assertTrue(dumping, "pg_dump was never seen running: nothing was tested")
        for pid, (comm, _) in tree.items():
            if pid != proc.pid:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self.assertEqual(file_contains(tmpdir, self.password.encode()), [],
                         "the killed backup left its password in a file")
        self.assertEqual(os.listdir(tmpdir), [], "the killed backup left files in TMPDIR")

    def test_wrong_password(self):
        wrong = "wrong-" + self.password[::-1]
        r = self.coffer("create", "--type", "full", "--only", "database", env={"DB_PASSWORD": wrong}, timeout=90)
        check_fails_cleanly(r, EXIT_DATABASE)
        self.assertNotIn(wrong, r.output, "the (wrong) password was printed")
        self.assertNotIn(wrong, json.dumps(read_backup_log(self.backup_dir)))

    def test_no_password_fails_without_prompting(self):
        r = self.coffer("create", "--type", "full", "--only", "database", env={"DB_PASSWORD": None}, timeout=90)
        check_fails_cleanly(r, EXIT_DATABASE)


if __name__ == "__main__":
    unittest.main()
