"""Bad settings and bad input: the right exit code, a message that names the problem, no
secret in any output, and no change to the repository."""

import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from coffer_testlib import (  # noqa: E402
    CofferTestCase, check_fails_cleanly, file_contains, read_backup_log, repo_fingerprint,
    snapshot_tree, write_passphrase)

EXIT_CONFIG, EXIT_INPUT, EXIT_NOT_FOUND, EXIT_STORAGE, EXIT_AUTH = 2, 3, 4, 6, 8


class BadInputTest(CofferTestCase):

    def setUp(self):
        super().setUp()
        self.make_tree(scale=0.01, seed=3)

    def make_repo(self):
        """A repository holding one successful full backup; returns its id."""
        return self.create("full")["backup_id"]

    def wrong_passphrase_file(self):
        return write_passphrase(os.path.join(self.tmp, "wrong-passphrase"), "not the passphrase")

    # -- configuration errors (exit 2)

    def test_retention_days_not_a_number(self):
        self.make_repo()
        r = self.coffer("cleanup", env={"RETENTION_DAYS": "abc"})
        check_fails_cleanly(r, EXIT_CONFIG)
        self.assertIn("RETENTION_DAYS", r.err)

    def test_settings_a_command_does_not_use_do_not_block_it(self):
        backup_id = self.make_repo()
        expected = snapshot_tree(self.src)
        # Each is refused by the commands that use it, and only warned about by the others.
        cases = (
            ({"RETENTION_DAYS": "0"}, "RETENTION_DAYS", ("cleanup",)),
            ({"KEEP_LAST": "-1"}, "KEEP_LAST", ("cleanup",)),
            ({"COMPRESSION": "maybe"}, "COMPRESSION", ("create", "--type", "incremental")),
            ({"ENCRYPTION": "perhaps"}, "ENCRYPTION", ("create", "--type", "incremental")),
            ({"DB_PORT": "abc"}, "DB_PORT", ("create", "--type", "incremental")),
        )
        for env, name, user in cases:
            with self.subTest(setting=name):
                target = os.path.join(self.tmp, f"restore-{name}")
                for args in (("list",), ("verify",), ("restore", backup_id, "--type", "files", "--target", target)):
                    r = self.coffer(*args, env=env)
                    self.assertEqual(r.code, 0, f"{name} blocked `{args[0]}`, which does not use it:\n{r}")
                    self.assertIn(name, r.err, f"`{args[0]}` does not warn about the bad {name}:\n{r}")
                self.assertEqual(snapshot_tree(target), expected)
                r = self.coffer(*user, env=env)
                check_fails_cleanly(r, EXIT_CONFIG)
                self.assertIn(name, r.err)
        self.assertEqual([b["backup_id"] for b in self.list_backups()], [backup_id])

    def test_compression_unknown_value(self):
        r = self.coffer("create", "--type", "full", env={"COMPRESSION": "maybe"})
        check_fails_cleanly(r, EXIT_CONFIG)
        self.assertIn("COMPRESSION", r.err)

    def test_backup_path_missing(self):
        missing = os.path.join(self.tmp, "no-such-dir")
        r = self.coffer("create", "--type", "full", env={"BACKUP_PATHS": self.env["BACKUP_PATHS"] + ":" + missing})
        check_fails_cleanly(r, EXIT_CONFIG)
        self.assertIn(missing, r.err)

    def test_encryption_without_passphrase(self):
        r = self.coffer("create", "--type", "full", env={"BACKUP_PASSPHRASE_FILE": None})
        check_fails_cleanly(r, EXIT_CONFIG)
        self.assertIn("PASSPHRASE", r.err.upper())
        self.assertFalse(os.path.exists(os.path.join(self.backup_dir, "snapshots")) and
                         os.listdir(os.path.join(self.backup_dir, "snapshots")))

    def test_passphrase_file_missing(self):
        missing = os.path.join(self.tmp, "no-such-passphrase-file")
        r = self.coffer("create", "--type", "full", env={"BACKUP_PASSPHRASE_FILE": missing})
        check_fails_cleanly(r, EXIT_CONFIG)
        self.assertIn(missing, r.err)

    def test_unknown_option(self):
        r = self.coffer("create", "--type", "full", "--no-such-option")
        check_fails_cleanly(r, EXIT_INPUT)
        self.assertIn("--no-such-option", r.err)

    # -- wrong passphrase (exit 8), repository untouched

    def test_wrong_passphrase(self):
        backup_id = self.make_repo()
        before = repo_fingerprint(self.backup_dir)
        wrong = {"BACKUP_PASSPHRASE_FILE": self.wrong_passphrase_file()}
        target = os.path.join(self.tmp, "restore")
        for args in (("create", "--type", "incremental"), ("list",), ("verify",),
                     ("restore", backup_id, "--type", "files", "--target", target)):
            with self.subTest(command=args[0]):
                check_fails_cleanly(self.coffer(*args, env=wrong), EXIT_AUTH)
        self.assertEqual(repo_fingerprint(self.backup_dir), before, "a wrong passphrase changed the repository")
        self.assertFalse(os.path.exists(target) and snapshot_tree(target), "restore wrote files with a wrong passphrase")
        self.assertEqual([b["backup_id"] for b in self.list_backups()], [backup_id])

    # -- storage failure (exit 6)

    def test_backup_dir_not_writable(self):
        # Root ignores permission bits, so use a path whose parent is a regular file.
        blocker = os.path.join(self.tmp, "regular_file")
        with open(blocker, "w") as f:
            f.write("not a directory\n")
        r = self.coffer("create", "--type", "full", env={"BACKUP_DIR": os.path.join(blocker, "backups")})
        check_fails_cleanly(r, EXIT_STORAGE)
        self.assertIn("regular_file", r.err)

    # -- not found (exit 4)

    def test_unknown_backup_id(self):
        self.make_repo()
        target = os.path.join(self.tmp, "restore")
        r = self.restore("full_19990101_000000", target, expect=None)
        check_fails_cleanly(r, EXIT_NOT_FOUND)
        self.assertIn("full_19990101_000000", r.err)
        self.assertFalse(os.path.exists(target) and snapshot_tree(target), "restore of an unknown id wrote files")
        check_fails_cleanly(self.coffer("verify", "full_19990101_000000"), EXIT_NOT_FOUND)

    def test_latest_of_empty_repository(self):
        self.coffer("init", expect=0)
        self.assertTrue(os.path.isfile(os.path.join(self.backup_dir, "config")))
        r = self.restore("latest", os.path.join(self.tmp, "restore"), expect=None)
        check_fails_cleanly(r, EXIT_NOT_FOUND)

    # -- a repository from a newer coffer

    def test_newer_format_version(self):
        self.make_repo()
        config_path = os.path.join(self.backup_dir, "config")
        with open(config_path) as f:
            config = json.load(f)
        self.assertIn("format_version", config)
        config["format_version"] = 999
        with open(config_path, "w") as f:
            json.dump(config, f)
        before = repo_fingerprint(self.backup_dir)
        target = os.path.join(self.tmp, "restore")
        for args in (("list",), ("verify",), ("create", "--type", "incremental"),
                     ("restore", "latest", "--type", "files", "--target", target)):
            with self.subTest(command=args[0]):
                r = check_fails_cleanly(self.coffer(*args))
                self.assertTrue("version" in r.err.lower() or "999" in r.err,
                                f"the message does not say the format version is too new:\n{r}")
        self.assertEqual(repo_fingerprint(self.backup_dir), before, "a too-new repository was changed")
        self.assertFalse(os.path.exists(target) and snapshot_tree(target))

    # -- secrets

    def test_config_redacts_secrets(self):
        marker = "MARKER-secret-passphrase-8c1f0e"
        secrets = {"BACKUP_PASSPHRASE": marker, "DB_PASSWORD": marker + "-db",
                   "AWS_SECRET_ACCESS_KEY": marker + "-aws"}
        env = dict(secrets, BACKUP_PASSPHRASE_FILE=None)
        outputs = []
        r, settings = self.coffer_json("config", env=env)
        outputs.append(r)
        self.assertIsInstance(settings, list)
        by_name = {s["name"]: s for s in settings}
        for name in secrets:
            self.assertIn(name, by_name)
            self.assertEqual(by_name[name]["value"], "<redacted>", name)
            self.assertEqual(by_name[name]["origin"], "environment", name)
        self.assertEqual(by_name["BACKUP_DIR"]["value"], self.backup_dir)
        self.assertEqual(by_name["BACKUP_DIR"]["origin"], "environment")
        self.assertEqual((by_name["RETENTION_DAYS"]["value"], by_name["RETENTION_DAYS"]["origin"]), ("30", "default"))
        r, flagged = self.coffer_json("--retention-days", "7", "config", env=env)
        outputs.append(r)
        flagged = {s["name"]: s for s in flagged}
        self.assertEqual((flagged["RETENTION_DAYS"]["value"], flagged["RETENTION_DAYS"]["origin"]), ("7", "flag"))
        # The marker works as a passphrase, and shows up nowhere: output, log or repository.
        outputs.append(self.coffer("config", env=env, expect=0))
        outputs.append(self.coffer("-v", "--json", "create", "--type", "full", env=env, expect=0))
        outputs.append(self.coffer("-v", "list", env=env, expect=0))
        outputs.append(self.coffer("-v", "verify", "--read-data", env=env, expect=0))
        outputs.append(self.coffer("-v", "restore", "latest", "--type", "files", "--target",
                                   os.path.join(self.tmp, "restore"), env=env, expect=0))
        outputs.append(self.coffer("-v", "list", env=dict(env, BACKUP_PASSPHRASE="wrong-" + marker),
                                   expect=EXIT_AUTH))
        for r in outputs:
            self.assertNotIn(marker, r.output, f"a secret was printed:\n{r}")
        self.assertEqual(file_contains(self.backup_dir, marker.encode()), [], "a secret was written to the repository")

    # -- failed creates are logged, and leave no backup behind

    def test_failed_creates_are_logged(self):
        good = self.make_repo()
        wrong_passphrase = "not the passphrase"
        cases = (
            ("DB_PORT=abc", {"DB_PORT": "abc"}),
            ("COMPRESSION=maybe", {"COMPRESSION": "maybe"}),
            ("missing backup path", {"BACKUP_PATHS": os.path.join(self.tmp, "no-such-dir")}),
            ("no passphrase", {"BACKUP_PASSPHRASE_FILE": None}),
            ("wrong passphrase", {"BACKUP_PASSPHRASE_FILE": None, "BACKUP_PASSPHRASE": wrong_passphrase}),
        )
        for label, env in cases:
            with self.subTest(case=label):
                before = read_backup_log(self.backup_dir)
                check_fails_cleanly(self.coffer("create", "--type", "incremental", env=env))
                after = read_backup_log(self.backup_dir)
                self.assertEqual(after[:len(before)], before, "earlier log entries changed")
                self.assertEqual(len(after), len(before) + 1, "the failed attempt was not logged")
                entry = after[-1]
                self.assertEqual(entry.get("status"), "failed", entry)
                self.assertIsInstance(entry.get("error"), str, entry)
                self.assertTrue(entry["error"].strip(), entry)
                self.assertNotIn(wrong_passphrase, json.dumps(entry), "the log holds a passphrase")
        self.assertEqual([b["backup_id"] for b in self.list_backups()], [good], "a failed create left a backup")
        self.assertEqual(sorted(os.listdir(os.path.join(self.backup_dir, "snapshots"))), [good])


if __name__ == "__main__":
    unittest.main()
