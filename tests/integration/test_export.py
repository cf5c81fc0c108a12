"""`coffer export`: a backup's database as plain SQL (sql.gz), a custom or a directory archive, and
its files as tar or tar.zst, read back by the tools people use without coffer: gunzip and psql,
pg_restore (-j for the directory), GNU tar. What they restore equals what was backed up, table by
table and file by file; bad input and a damaged repository never leave a half-written export.
"""

import gzip
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from coffer_testlib import (  # noqa: E402
    assert_trees_equal, check, check_fails_cleanly, default_settings, flip_byte, make_tree, new_temp_dir,
    pack_files, remove_tree, run_coffer, snapshot_tree, write_passphrase)
from test_database import DatabaseTestCase, db_settings  # noqa: E402

EXIT_INPUT, EXIT_NOT_FOUND, EXIT_DAMAGED = 3, 4, 5


class ExportTest(DatabaseTestCase):
    """One backup of the school fixture and an awkward file tree, exported in every format."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.dir = new_temp_dir("export")
        cls.addClassCleanup(remove_tree, cls.dir)
        cls.tree = os.path.join(cls.dir, "src")
        make_tree.create(cls.tree, scale=0.05, seed=5, odd=True)
        cls.tree_snapshot = snapshot_tree(cls.tree)
        cls.export_env = default_settings(os.path.join(cls.dir, "repo"), make_tree.root_paths(cls.tree),
                                          write_passphrase(os.path.join(cls.dir, "passphrase")))
        cls.export_env.update(db_settings(cls.pg, cls.source_db))
        cls.backup = check(run_coffer(["--json", "create", "--type", "full"], cls.export_env, cls.dir), 0).json()

    def setUp(self):
        super().setUp()
        self.env = dict(self.export_env)

    def export(self, *args, expect=0):
        return self.coffer("export", self.backup["backup_id"], *args, expect=expect)

    def test_sql_gz_passes_gunzip_and_psql_restores_it_table_by_table(self):
        out = os.path.join(self.tmp, "school.sql.gz")
        r = self.coffer("--json", "export", "latest", "--type", "database", "--format", "sql.gz", "--output", out,
                        expect=0).json()
        self.assertEqual(r["backup_id"], self.backup["backup_id"])
        self.assertEqual(r["bytes_written"], os.path.getsize(out))
        subprocess.run(["gzip", "-t", out], check=True)
        with gzip.open(out, "rt") as f:
            self.assertIn("PostgreSQL database dump", f.read(4096))
        target = self.new_db_name("sqlgz")
        self.pg.create_db(target)
        p = subprocess.run(f"gunzip -c '{out}' | psql -X -q -v ON_ERROR_STOP=1 -d '{target}' -h '{self.pg.host}' "
                           f"-p {self.pg.port} -U '{self.pg.user}' -w", shell=True, env=self.pg.env(),
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.assertEqual(p.returncode, 0, p.stderr[-2000:])
        self.assert_db_equals(target, self.source_sums, self.source_schema)

    def test_custom_and_directory_archives_restore_with_pg_restore(self):
        for fmt, extra in (("custom", []), ("directory", ["-j", "2"])):
            with self.subTest(format=fmt):
                out = os.path.join(self.tmp, f"school.{fmt}")
                self.export("--type", "database", "--format", fmt, "--output", out)
                if fmt == "directory":
                    self.assertIn("toc.dat", os.listdir(out))
                target = self.new_db_name(fmt)
                self.pg.create_db(target)
                p = subprocess.run(["pg_restore", "--exit-on-error", *extra, "-d", target, "-h", self.pg.host,
                                    "-p", self.pg.port, "-U", self.pg.user, "-w", out], env=self.pg.env(),
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                self.assertEqual(p.returncode, 0, p.stderr[-2000:])
                self.assert_db_equals(target, self.source_sums, self.source_schema)

    def test_tar_extracts_with_gnu_tar_to_the_identical_tree(self):
        out = os.path.join(self.tmp, "files.tar")
        self.export("--type", "files", "--format", "tar", "--output", out)
        x = os.path.join(self.tmp, "x")
        os.makedirs(x)
        subprocess.run(["tar", "--extract", "--same-permissions", "--file", out, "--directory", x], check=True)
        assert_trees_equal(self.tree_snapshot, snapshot_tree(x), "tree extracted by GNU tar")

    def test_tar_zst_streams_to_standard_output(self):
        x = os.path.join(self.tmp, "x")
        os.makedirs(x)
        settings = dict(self.env)
        p = subprocess.run(f"'{self.bin}' export latest --type files --format tar.zst --output - | "
                           f"tar --extract --zstd --same-permissions --directory '{x}'", shell=True,
                           env={**os.environ, **{k: v for k, v in settings.items() if v is not None}},
                           cwd=self.tmp, stderr=subprocess.PIPE, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("exported", p.stderr)  # the summary goes to stderr: stdout is the archive
        assert_trees_equal(self.tree_snapshot, snapshot_tree(x), "tree extracted from the stream")

    def test_one_path_only(self):
        root = sorted(os.listdir(self.tree))[0]
        out = os.path.join(self.tmp, "one.tar")
        self.export("--type", "files", "--format", "tar", "--output", out, "--include", root)
        x = os.path.join(self.tmp, "x")
        os.makedirs(x)
        subprocess.run(["tar", "-xf", out, "-C", x], check=True)
        self.assertEqual(os.listdir(x), [root])

    def test_bad_input_is_refused_and_writes_nothing(self):
        out = os.path.join(self.tmp, "out")
        r = self.export("--type", "files", "--format", "sql.gz", "--output", out, expect=EXIT_INPUT)
        self.assertIn("use tar, tar.zst", r.err)
        r = self.export("--type", "database", "--format", "directory", "--output", "-", expect=EXIT_INPUT)
        self.assertIn("folder", r.err)
        check_fails_cleanly(self.coffer("export", "full_20000101_000000", "--type", "files", "--format", "tar",
                                        "--output", out), EXIT_NOT_FOUND)
        with open(out, "w") as f:
            f.write("precious")
        r = self.export("--type", "files", "--format", "tar", "--output", out, expect=EXIT_INPUT)
        self.assertIn("exists", r.err)
        with open(out) as f:
            self.assertEqual(f.read(), "precious")
        self.assertEqual(sorted(os.listdir(self.tmp)), sorted(["out", "passphrase"]))


class DamagedExportTest(DatabaseTestCase):
    def test_a_damaged_chunk_fails_the_export_and_leaves_no_file(self):
        self.make_tree(scale=0.02, seed=3)
        self.env.update(db_settings(self.pg, self.source_db))
        # One part per repository: every pack then holds chunks of the part exported.
        for part, cases in (("files", (("tar",), ("tar.zst",))), ("database", (("custom",), ("sql.gz",), ("directory",)))):
            repo = os.path.join(self.tmp, f"repo-{part}")
            self.coffer("create", "--type", "full", "--only", part, env={"BACKUP_DIR": repo}, expect=0)
            for p in pack_files(repo):
                flip_byte(p)
            for (fmt,) in cases:
                with self.subTest(format=fmt):
                    out = os.path.join(self.tmp, f"export-{fmt}")
                    r = self.coffer("export", "latest", "--type", part, "--format", fmt, "--output", out,
                                    env={"BACKUP_DIR": repo})
                    check_fails_cleanly(r, EXIT_DAMAGED)
                    self.assertFalse(os.path.exists(out))
                    self.assertEqual([n for n in os.listdir(self.tmp) if "coffer-tmp" in n], [])


if __name__ == "__main__":
    unittest.main()
