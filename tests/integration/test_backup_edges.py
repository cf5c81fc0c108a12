"""What a files backup leaves out, and that it says so: a file or folder that cannot be read makes
the backup incomplete (committed, exit 9, marked in backup_log.json, list and status); the
repository inside a backed-up folder is left out with one warning. And `coffer --help` lists
examples, the environment variables and the exit codes."""

import os
import re
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from coffer_testlib import (  # noqa: E402
    CofferTestCase, Result, clean_env, read_backup_log, snapshot_tree)

EXIT_INCOMPLETE = 9


class BackupEdgesTest(CofferTestCase):

    def setUp(self):
        super().setUp()
        self.root = os.path.join(self.src, "data")
        os.makedirs(os.path.join(self.root, "open"))
        for name in ("a.txt", "open/b.txt", "secret.txt"):
            with open(os.path.join(self.root, name), "w") as f:
                f.write(f"content of {name}\n")
        os.makedirs(os.path.join(self.root, "closed"))
        with open(os.path.join(self.root, "closed", "c.txt"), "w") as f:
            f.write("inside a folder nobody may read\n")
        self.env["BACKUP_PATHS"] = self.root

    def coffer_unprivileged(self, *args):
        """coffer without root's power to read anything (when run as root): the permission bits
        apply to it as to any other user."""
        argv = [self.bin] + list(args)
        if os.geteuid() == 0:
            argv = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search"] + argv
        p = subprocess.run(argv, env=clean_env(self.env), cwd=self.tmp, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        return Result(argv, p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace"))

    def test_unreadable_file_and_folder_make_the_backup_incomplete(self):
        secret, closed = os.path.join(self.root, "secret.txt"), os.path.join(self.root, "closed")
        os.chmod(secret, 0)
        os.chmod(closed, 0)
        self.addCleanup(os.chmod, closed, 0o700)
        r = self.coffer_unprivileged("--json", "create", "--type", "full")
        self.assertEqual(r.code, EXIT_INCOMPLETE, r)
        out = r.json()
        self.assertEqual(out["status"], "success", out)  # committed all the same
        self.assertIs(out["incomplete"], True, out)
        self.assertEqual(sorted(out["unreadable"]), sorted([secret, closed]), out)
        self.assertIn("INCOMPLETE", r.err)
        self.assertIn("2 path(s) could not be read", r.err)

        record = read_backup_log(self.backup_dir)[-1]
        self.assertEqual((record["status"], record["incomplete"]), ("success", True), record)
        self.assertEqual(sorted(record["unreadable"]), sorted([secret, closed]), record)
        listed = self.list_backups()[-1]
        self.assertIs(listed["incomplete"], True, listed)

        status = self.coffer("status", expect=0)
        self.assertIn("INCOMPLETE", status.out)
        self.assertIn(out["backup_id"], status.out)
        _, status_json = self.coffer_json("status")
        self.assertIn("INCOMPLETE", status_json["warning"])

        # What could be read is there.
        target = self.new_dir("restored")
        self.restore(out["backup_id"], target)
        with open(os.path.join(target, "data", "open", "b.txt")) as f:
            self.assertEqual(f.read(), "content of open/b.txt\n")
        self.assertFalse(os.path.exists(os.path.join(target, "data", "secret.txt")))

        # Once readable again, the next backup is complete and status has nothing to warn about.
        os.chmod(secret, 0o600)
        os.chmod(closed, 0o700)
        r = self.coffer_unprivileged("--json", "create", "--type", "incremental")
        self.assertEqual(r.code, 0, r)
        self.assertIs(r.json()["incomplete"], False)
        self.assertIs(read_backup_log(self.backup_dir)[-1]["incomplete"], False)
        self.assertNotIn("INCOMPLETE", self.coffer("status", expect=0).out)

    def test_scheduled_incomplete_backup_says_so_in_log_and_hook(self):
        self.create("full")  # recent: no catch-up, the one job is the incremental
        secret = os.path.join(self.root, "secret.txt")
        os.chmod(secret, 0)  # also a new ctime: the incremental reads it again
        summary_file = os.path.join(self.tmp, "summary")
        self.env.update({"BACKUP_SCHEDULE_INCREMENTAL": "* * * * * *", "NOTIFY_ON": "always",
                         "NOTIFY_COMMAND": f'printf "%s" "$COFFER_SUMMARY" > {summary_file}'})
        r = self.coffer_unprivileged("schedule", "--max-jobs", "1")
        self.assertEqual(r.code, 0, r)
        self.assertIn("INCOMPLETE: 1 path(s) could not be read, first " + secret, r.err)
        with open(summary_file) as f:
            self.assertIn("INCOMPLETE", f.read())

    def test_repository_inside_a_backed_up_folder_is_left_out(self):
        self.env["BACKUP_DIR"] = os.path.join(self.root, "backups")
        r = self.coffer("--json", "create", "--type", "full", expect=0)
        warnings = [w for w in r.json()["warnings"] if "BACKUP_DIR" in w]
        self.assertEqual(len(warnings), 1, r)
        self.assertIn(self.env["BACKUP_DIR"], warnings[0])
        self.assertIn("BACKUP_DIR", r.err)
        target = self.new_dir("restored")
        self.restore(r.json()["backup_id"], target)
        restored = snapshot_tree(target)
        self.assertNotIn("data/backups", restored)
        self.assertIn("data/open/b.txt", restored)
        self.assertEqual(r.json()["file_count"], 4, r.json())

    def test_help_shows_examples_environment_and_exit_codes(self):
        r = self.coffer("--help", expect=0)
        for text in ("Examples:", "coffer restore latest", "--existing skip", "Environment variables",
                     "BACKUP_DIR", "BACKUP_PASSPHRASE_FILE", "DB_PASSWORD", "S3_BUCKET", "RETENTION_DAYS",
                     "Exit codes", "9 backup committed but incomplete"):
            self.assertIn(text, r.out)
        r = self.coffer("restore", "--help", expect=0)
        self.assertIn("--existing", r.out)
        self.assertIn("if-different", r.out)

    def test_help_names_every_setting(self):
        """The help's hand-written list of environment variables is checked against the settings
        table, as `coffer config` shows it. A name starting with '_' continues the one before it
        (BACKUP_SCHEDULE_FULL, _INCREMENTAL)."""
        _, settings = self.coffer_json("config")
        named = set()
        full = ""
        for word in re.findall(r"\b_?[A-Z][A-Z0-9_]*\b", self.coffer("--help", expect=0).out):
            if word.startswith("_"):
                word = full[:full.rfind("_")] + word
            else:
                full = word
            named.add(word)
        missing = [s["name"] for s in settings if s["name"] not in named]
        self.assertEqual(missing, [], "coffer --help does not name these settings (src/cli/help_text.cpp)")


if __name__ == "__main__":
    unittest.main()
