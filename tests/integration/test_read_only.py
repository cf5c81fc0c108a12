"""A repository on read-only media (a mounted snapshot, a write-protected disk, a read-only NFS
export) can be listed, verified (also --read-data) and restored from, files and database: no lock
is written there, with a warning that none was taken, and nothing in it changes. The commands that
write to it (create, cleanup, pin) fail with an error saying it is read-only. `--no-lock` skips
the lock on purpose.

As root (CI) the repository is seen through a read-only bind mount, which even root cannot write
to; otherwise its files are made read-only (chmod -R a-w)."""

import json
import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from coffer_testlib import (  # noqa: E402
    CofferTestCase, assert_trees_equal, check_fails_cleanly, repo_fingerprint, snapshot_tree)
from test_database import DatabaseTestCase  # noqa: E402

EXIT_INPUT, EXIT_STORAGE = 3, 6
NO_LOCK_WARNING = "no lock was taken"


def read_only_view(test, path):
    """`path` as read-only media for the rest of `test`; returns the path to use."""
    if os.geteuid() != 0:
        subprocess.run(["chmod", "-R", "a-w", path], check=True)
        test.addCleanup(subprocess.run, ["chmod", "-R", "u+w", path], check=True)
        return path
    view = path + "-ro"
    os.mkdir(view)
    r = subprocess.run(["mount", "--bind", path, view], capture_output=True, text=True)
    if r.returncode != 0:
        raise AssertionError(f"mount --bind {path} {view} failed (the test needs CAP_SYS_ADMIN as root): {r.stderr}")
    test.addCleanup(subprocess.run, ["umount", view], check=True)
    r = subprocess.run(["mount", "-o", "remount,bind,ro", view], capture_output=True, text=True)
    if r.returncode != 0:
        raise AssertionError(f"cannot make the bind mount {view} read-only: {r.stderr}")
    if os.access(view, os.W_OK):
        raise AssertionError(f"{view} is still writable: nothing would be tested")
    return view


def whole_fingerprint(repo):
    """Every file of the repository, the log and the locks included."""
    return repo_fingerprint(repo, exclude=())


class ReadOnlyRepositoryTest(CofferTestCase):

    def setUp(self):
        super().setUp()
        self.make_tree(scale=0.02, seed=31)
        self.full = self.create("full")["backup_id"]
        self.expected = snapshot_tree(self.src)
        self.before = whole_fingerprint(self.backup_dir)
        self.env["BACKUP_DIR"] = read_only_view(self, self.backup_dir)

    def assert_unchanged(self):
        self.assertEqual(whole_fingerprint(self.backup_dir), self.before, "the read-only repository changed")

    def test_list_verify_and_restore(self):
        listed = [b["backup_id"] for b in self.list_backups()]
        self.assertEqual(listed, [self.full])
        for args in (["verify"], ["verify", "--read-data"], ["verify", self.full, "--read-data"]):
            with self.subTest(args=args):
                r, out = self.coffer_json(*args)
                self.assertIs(out["ok"], True, out)
                self.assertIn(NO_LOCK_WARNING, r.err, f"no warning that no lock was taken:\n{r}")
                self.assertIn("read-only", r.err)
        target = self.new_dir("restored")
        r = self.restore("latest", target)
        self.assertIn(NO_LOCK_WARNING, r.err, f"no warning that no lock was taken:\n{r}")
        assert_trees_equal(self.expected, snapshot_tree(target))
        self.assert_unchanged()

    def test_writing_commands_are_refused_clearly(self):
        for args in (["create", "--type", "incremental"], ["cleanup"], ["pin", self.full]):
            with self.subTest(args=args):
                r = self.coffer(*args, env={"KEEP_LAST": 1})
                check_fails_cleanly(r, EXIT_STORAGE)
                self.assertRegex(r.err, "read-only|Read-only|not writable", f"the error must say why:\n{r}")
                self.assertIn(self.env["BACKUP_DIR"], r.err)
        self.assert_unchanged()


class NoLockFlagTest(CofferTestCase):
    """--no-lock on a writable repository: verify and restore go on past a live exclusive lock
    (a cleanup's, held by this test process) that stops them without the flag."""

    def setUp(self):
        super().setUp()
        self.make_tree(scale=0.01, seed=32)
        self.full = self.create("full")["backup_id"]
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        os.makedirs(os.path.join(self.backup_dir, "locks"), exist_ok=True)
        with open(os.path.join(self.backup_dir, "locks", "held-by-test"), "w") as f:
            json.dump({"host": os.uname().nodename, "pid": os.getpid(), "command": "coffer cleanup",
                       "started": now, "refreshed": now, "exclusive": True}, f)
        self.env["LOCK_WAIT_SECONDS"] = 0

    def test_no_lock_reads_past_an_exclusive_lock(self):
        target = self.new_dir("restored")
        check_fails_cleanly(self.restore(self.full, target, expect=None), EXIT_INPUT)
        check_fails_cleanly(self.coffer("verify"), EXIT_INPUT)
        r = self.coffer("verify", "--no-lock", expect=0)
        self.assertIn(NO_LOCK_WARNING, r.err)
        self.assertIn("--no-lock", r.err)
        r = self.restore(self.full, target, "--no-lock")
        self.assertIn(NO_LOCK_WARNING, r.err)
        assert_trees_equal(snapshot_tree(self.src), snapshot_tree(target))
        self.assertEqual(os.listdir(os.path.join(self.backup_dir, "locks")), ["held-by-test"])


class ReadOnlyDatabaseRestoreTest(DatabaseTestCase):

    def test_database_restores_from_read_only_media(self):
        self.make_tree(scale=0.01, seed=33)
        backup = self.create("full")["backup_id"]
        before = whole_fingerprint(self.backup_dir)
        self.env["BACKUP_DIR"] = read_only_view(self, self.backup_dir)
        target = self.new_db_name("ro")
        r = self.restore_db(backup, target_db=target)
        self.assertIn(NO_LOCK_WARNING, r.err)
        self.check_restore_json(r, target, len(self.user_tables(self.source_sums)))
        self.assert_db_equals(target, self.source_sums)
        self.assertEqual(whole_fingerprint(self.backup_dir), before, "the read-only repository changed")


if __name__ == "__main__":
    unittest.main()
