"""S3: repository mode, off-site copy mode, disaster recovery with `--source s3`, a failed copy
and its resume. Needs the s3rver that scripts/test.sh starts (COFFER_TEST_S3_*); the tests FAIL
(never skip) without it. awscli (/usr/bin/aws) checks and damages what coffer wrote."""
import json
import os
import random
import subprocess
import time
import unittest

from coffer_testlib import (CofferTestCase, check_fails_cleanly, read_backup_log, remove_tree,
                            snapshot_tree, assert_trees_equal)
from pg_fixture import PgServer, diff_checksums  # tests/fixtures, on the path via coffer_testlib

AWS = "/usr/bin/aws"
S3_VARS = ("ENDPOINT", "BUCKET", "ACCESS_KEY", "SECRET_KEY")


def s3_server(var="COFFER_TEST_S3"):
    """COFFER_TEST_S3: s3rver; COFFER_TEST_S3V: its fork that checks signatures (a wrong secret fails)."""
    missing = [f"{var}_{v}" for v in S3_VARS if not os.environ.get(f"{var}_{v}")]
    if missing:
        raise AssertionError(f"{', '.join(missing)} not set: run via scripts/test.sh, or start a server with "
                             "`eval \"$(tests/fixtures/s3_server.sh start /tmp/coffer-s3 auto coffer-test)\"`"
                             " (add --verify-signatures for COFFER_TEST_S3V_*)")
    return {v: os.environ[f"{var}_{v}"] for v in S3_VARS} | {
        "REGION": os.environ.get(f"{var}_REGION") or "us-east-1"}


class S3TestCase(CofferTestCase):
    SERVER = "COFFER_TEST_S3"

    def setUp(self):
        super().setUp()
        try:
            self.s3 = s3_server(self.SERVER)
        except AssertionError as e:
            self.fail(str(e))
        self.prefix = f"coffer-itest/{self._testMethodName}-{os.getpid()}-{random.randrange(10**9)}/"
        self.env.update({"S3_BUCKET": self.s3["BUCKET"], "S3_ENDPOINT": self.s3["ENDPOINT"],
                         "S3_REGION": self.s3["REGION"], "S3_PREFIX": self.prefix,
                         "AWS_ACCESS_KEY_ID": self.s3["ACCESS_KEY"],
                         "AWS_SECRET_ACCESS_KEY": self.s3["SECRET_KEY"], "S3_RETRY_SECONDS": "3"})
        self.addCleanup(self.aws, "s3", "rm", "--recursive", f"s3://{self.s3['BUCKET']}/{self.prefix}")

    def aws(self, *args, check=True):
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "AWS_ACCESS_KEY_ID": self.s3["ACCESS_KEY"],
               "AWS_SECRET_ACCESS_KEY": self.s3["SECRET_KEY"], "AWS_DEFAULT_REGION": self.s3["REGION"],
               "HOME": self.tmp}
        p = subprocess.run([AWS, "--endpoint-url", self.s3["ENDPOINT"], *args], env=env, capture_output=True,
                           text=True, timeout=60)
        if check and p.returncode != 0:
            raise AssertionError(f"aws {' '.join(args)} failed ({p.returncode}): {p.stderr}")
        return p.stdout

    def s3_keys(self):
        """Keys under the test's prefix, relative to it, as awscli sees them."""
        out = self.aws("s3", "ls", "--recursive", f"s3://{self.s3['BUCKET']}/{self.prefix}", check=False)
        keys = set()
        for line in out.splitlines():
            parts = line.split(None, 3)
            if len(parts) == 4 and parts[3].startswith(self.prefix):
                keys.add(parts[3][len(self.prefix):])
        return keys


class RepositoryModeTest(S3TestCase):
    def test_round_trip_on_s3(self):
        self.env["S3_MODE"] = "repository"
        self.make_tree(scale=0.03, seed=3)
        full = self.create("full")
        before = snapshot_tree(self.src)
        with open(os.path.join(self.src, os.listdir(self.src)[0], "added.txt"), "w") as f:
            f.write("new after the full backup\n")
        incr = self.create("incremental")
        self.assertEqual(incr["parent"], full["backup_id"])
        after = snapshot_tree(self.src)

        # BACKUP_DIR holds only the log; the repository is on S3.
        self.assertEqual(sorted(n for n in os.listdir(self.backup_dir) if not n.startswith("backup_log.json")), [])
        keys = self.s3_keys()
        self.assertIn("config", keys)
        self.assertIn(f"snapshots/{full['backup_id']}", keys)
        self.assertIn(f"snapshots/{incr['backup_id']}", keys)
        self.assertTrue(any(k.startswith("data/") for k in keys), keys)

        ids = [b["backup_id"] for b in self.list_backups()]
        self.assertEqual(ids, [full["backup_id"], incr["backup_id"]])
        self.restore_and_compare(full["backup_id"], before)
        self.restore_and_compare(incr["backup_id"], after)
        _, v = self.coffer_json("verify", "--read-data")
        self.assertTrue(v["ok"], v)
        self.assertGreater(v["chunks_checked"], 0)
        log = read_backup_log(self.backup_dir)
        self.assertTrue(log[-1]["file_path"].startswith("s3://"), log[-1])


class CopyModeTest(S3TestCase):
    def test_copy_list_and_disaster_recovery(self):
        self.make_tree(scale=0.03, seed=5)
        expected = snapshot_tree(self.src)
        b = self.create("full")  # S3_MODE defaults to copy when S3_BUCKET is set
        self.assertEqual(b["offsite_copy"]["status"], "copied", b)
        self.assertGreater(b["offsite_copy"]["objects"], 0)
        keys = self.s3_keys()
        self.assertIn(f"snapshots/{b['backup_id']}", keys)
        self.assertIn("config", keys)
        self.assertFalse(any(k.startswith("locks/") for k in keys), keys)
        local = set()
        for root, _, files in os.walk(self.backup_dir):
            for f in files:
                rel = os.path.relpath(os.path.join(root, f), self.backup_dir)
                if not rel.startswith(("locks", "backup_log.json")):
                    local.add(rel)
        self.assertEqual(local, keys)
        self.assertEqual([x["offsite"] for x in self.list_backups()], [True])
        text = self.coffer("list", expect=0).out
        self.assertIn("OFFSITE", text)
        log = read_backup_log(self.backup_dir)
        self.assertEqual(log[-1]["metadata"]["offsite"]["status"], "copied")

        # Cleanup in copy mode says which side it acts on, and keeps the S3 copy in line too.
        out = self.coffer("cleanup", "--dry-run", expect=0).out
        self.assertIn("local repository", out)
        self.assertIn("off-site copy on S3", out)
        _, c = self.coffer_json("cleanup", "--dry-run")
        self.assertEqual(c["acts_on"], "local")
        self.assertEqual(c["offsite"]["acts_on"], "s3")
        self.assertEqual([x["backup_id"] for x in c["offsite"]["backups"]], [b["backup_id"]])

        # Disaster: BACKUP_DIR and the files are gone. S3 and the passphrase bring them back.
        remove_tree(self.backup_dir)
        remove_tree(self.src)
        _, listed = self.coffer_json("--source", "s3", "list")
        self.assertEqual([x["backup_id"] for x in listed], [b["backup_id"]])
        target = self.new_dir("recovered")
        self.coffer("--source", "s3", "restore", "latest", "--type", "files", "--target", target, expect=0)
        assert_trees_equal(expected, snapshot_tree(target), "restore from S3 alone")
        _, v = self.coffer_json("--source", "s3", "verify", "--read-data")
        self.assertTrue(v["ok"], v)
        self.assertFalse(os.path.exists(os.path.join(self.backup_dir, "config")))

    def test_failed_copy_is_logged_and_resumed(self):
        self.make_tree(scale=0.02, seed=7)
        dead = {"S3_ENDPOINT": "http://127.0.0.1:1", "S3_RETRY_SECONDS": "1"}
        r = self.coffer("--json", "create", "--type", "full", env=dead)
        check_fails_cleanly(r, 6)
        self.assertIn("NOT off-site", r.err)
        self.assertNotIn(self.s3["SECRET_KEY"] + "x", r.err)
        first = r.json()
        self.assertEqual(first["offsite_copy"]["status"], "failed")
        log = read_backup_log(self.backup_dir)
        self.assertEqual(log[-1]["status"], "success")  # committed locally
        self.assertEqual(log[-1]["metadata"]["offsite"]["status"], "failed")
        self.assertTrue(log[-1]["metadata"]["offsite"]["error"])
        listed = self.list_backups()
        self.assertEqual([x["backup_id"] for x in listed], [first["backup_id"]])
        self.assertEqual(listed[0]["offsite"], False)
        self.assertEqual(self.s3_keys(), set())

        # The next create with a good endpoint uploads what was missing, the first backup included.
        second = self.create("incremental")
        self.assertEqual(second["offsite_copy"]["status"], "copied")
        keys = self.s3_keys()
        self.assertIn(f"snapshots/{first['backup_id']}", keys)
        self.assertIn(f"snapshots/{second['backup_id']}", keys)
        self.assertEqual([x["offsite"] for x in self.list_backups()], [True, True])

        # An object deleted behind coffer's back is uploaded again by the next copy.
        pack = sorted(k for k in keys if k.startswith("data/"))[0]
        self.aws("s3", "rm", f"s3://{self.s3['BUCKET']}/{self.prefix}{pack}")
        self.assertNotIn(pack, self.s3_keys())
        third = self.create("incremental")
        self.assertEqual(third["offsite_copy"]["status"], "copied")
        self.assertGreaterEqual(third["offsite_copy"]["objects"], 1)
        self.assertIn(pack, self.s3_keys())


class RepositoryIdentityTest(S3TestCase):
    def test_new_backup_dir_on_a_used_prefix_is_refused_before_anything_is_uploaded(self):
        """Issue 25, 1: repository A copies to the prefix; a new, empty BACKUP_DIR with the same S3
        settings must not write a second key file and index beside A's."""
        self.make_tree(scale=0.02, seed=11)
        a = self.create("full")
        self.assertEqual(a["offsite_copy"]["status"], "copied", a)
        with open(os.path.join(self.backup_dir, "config")) as f:
            a_id = json.load(f)["repository_id"]
        listing = self.s3_keys()
        etags = self.aws("s3api", "list-objects-v2", "--bucket", self.s3["BUCKET"], "--prefix", self.prefix)

        new_dir = self.new_dir("new-repo")
        r = self.coffer("create", "--type", "full", env={"BACKUP_DIR": new_dir})
        check_fails_cleanly(r, 2)
        self.assertIn(a_id, r.err)
        self.assertIn(new_dir, r.err)
        self.assertIn(f"s3://{self.s3['BUCKET']}/{self.prefix}", r.err)
        self.assertIn("S3_PREFIX", r.err)
        self.assertEqual(self.s3_keys(), listing)
        self.assertEqual(self.aws("s3api", "list-objects-v2", "--bucket", self.s3["BUCKET"], "--prefix", self.prefix),
                         etags)
        self.assertFalse(os.path.exists(os.path.join(new_dir, "config")), "no repository was made")

        # A second repository that already exists (made without S3) is refused too, naming both ids.
        b_dir = self.new_dir("repo-b")
        self.coffer("create", "--type", "full", env={"BACKUP_DIR": b_dir, "S3_BUCKET": None, "S3_MODE": None},
                    expect=0)
        with open(os.path.join(b_dir, "config")) as f:
            b_id = json.load(f)["repository_id"]
        r = self.coffer("create", "--type", "incremental", env={"BACKUP_DIR": b_dir})
        check_fails_cleanly(r, 2)
        self.assertIn(a_id, r.err)
        self.assertIn(b_id, r.err)
        self.assertEqual(self.s3_keys(), listing)

        # A's copy is intact: disaster recovery from S3 alone still works, and says which repository it is.
        r, listed = self.coffer_json("--source", "s3", "list", env={"BACKUP_DIR": self.new_dir("empty")})
        self.assertEqual([x["backup_id"] for x in listed], [a["backup_id"]])
        self.assertIn(f"repository {a_id}", r.err)
        # And A's own next copy still succeeds.
        self.assertEqual(self.create("incremental")["offsite_copy"]["status"], "copied")
        self.assertNotIn("backup_log.json", self.s3_keys())
        self.assertNotIn("backup_log.json.lock", self.s3_keys())


def parse_metrics(text):
    """{'name{labels}': float} of a Prometheus text exposition."""
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            out[key] = float(value)
    return out


class OffsiteOutcomeTest(S3TestCase):
    """Issue 25, 2: a failed off-site copy fails the scheduled job everywhere it is reported."""
    SERVER = "COFFER_TEST_S3V"  # checks signatures: a wrong secret fails

    def test_scheduled_backup_with_a_failed_copy_is_a_failed_job(self):
        self.make_tree(scale=0.02, seed=13)
        metrics_file = os.path.join(self.tmp, "coffer.prom")
        notes = os.path.join(self.tmp, "notifications")
        service = {"METRICS_FILE": metrics_file, "BACKUP_SCHEDULE_INCREMENTAL": "off",
                   "BACKUP_SCHEDULE_CLEANUP": "off",
                   "NOTIFY_COMMAND": f'echo "$COFFER_JOB $COFFER_STATUS $COFFER_BACKUP_ID $COFFER_ERROR" >> {notes}'}
        wrong = dict(service, AWS_SECRET_ACCESS_KEY=self.s3["SECRET_KEY"] + "-wrong")
        r = self.coffer("schedule", "--max-jobs", "1", env=wrong, expect=0, timeout=120)  # the catch-up full
        self.assertIn("full: failed", r.err)
        self.assertIn("NOT off-site", r.err)
        self.assertNotIn("full: finished", r.err)
        self.assertNotIn(wrong["AWS_SECRET_ACCESS_KEY"], r.err)
        with open(metrics_file) as f:
            m = parse_metrics(f.read())
        self.assertEqual(m['coffer_job_last_run_success{job="full"}'], 0)
        self.assertEqual(m['coffer_job_failures_total{job="full"}'], 1)
        self.assertEqual(m['coffer_job_last_offsite_copy_success{job="full"}'], 0)
        self.assertNotIn("coffer_offsite_newest_backup_age_seconds", m)  # nothing ever reached S3
        with open(notes) as f:
            lines = f.read().splitlines()
        self.assertEqual(len(lines), 1, lines)
        self.assertTrue(lines[0].startswith("full failure full_"), lines)
        self.assertIn("NOT off-site", lines[0])
        backup_id = lines[0].split()[2]

        # status: unhealthy, naming the backup that is not off-site.
        r, st = self.coffer_json("status", expect=1)
        self.assertFalse(st["healthy"])
        self.assertIn(backup_id, st["problem"])
        self.assertIn("NOT off-site", st["problem"])
        self.assertEqual(st["offsite"]["newest_backup_offsite"], False)

        # The next scheduled backup copies everything: the job succeeds, status is healthy again.
        ok = dict(service, BACKUP_SCHEDULE_INCREMENTAL="* * * * * *")
        r = self.coffer("schedule", "--max-jobs", "1", env=ok, expect=0, timeout=120)
        self.assertIn("incremental: finished", r.err)
        with open(metrics_file) as f:
            m = parse_metrics(f.read())
        self.assertEqual(m['coffer_job_last_offsite_copy_success{job="incremental"}'], 1)
        self.assertLess(m["coffer_offsite_newest_backup_age_seconds"], 120)
        self.assertLess(abs(m["coffer_offsite_newest_backup_timestamp_seconds"] - time.time()), 120)
        self.assertIn(f"snapshots/{backup_id}", self.s3_keys())
        _, st = self.coffer_json("status", expect=0)
        self.assertTrue(st["healthy"], st)
        self.assertEqual(st["offsite"]["newest_backup_offsite"], True)

    def test_status_and_list_with_s3_down_answer_within_seconds(self):
        """Issue 25, 5: the read-only views waited 10-14 s for S3; now a few seconds at most."""
        self.make_tree(scale=0.01, seed=17)
        self.create("full")
        down = {"S3_ENDPOINT": "http://127.0.0.1:1", "S3_RETRY_SECONDS": None}  # default 120 s for real work
        for args, code in ((["list"], 0), (["--json", "status"], 1)):
            started = time.monotonic()
            r = self.coffer(*args, env=down, expect=code, timeout=60)
            took = time.monotonic() - started
            self.assertLess(took, 9, f"{args} took {took:.1f} s")
            self.assertIn("off-site: unknown (S3 unreachable", r.err)
        self.assertIn("may not be off-site", r.json()["problem"])  # unhealthy while S3 cannot be asked


class SettingsCheckedAtStartTest(S3TestCase):
    """Issue 25, 3: credentials in S3_ENDPOINT are never shown; a bad endpoint stops create at start."""

    def test_credentials_in_the_endpoint_are_redacted_and_refused_at_start(self):
        self.make_tree(scale=0.01, seed=19)
        secret = "Pw-in-url-4711"
        endpoint = self.s3["ENDPOINT"].replace("://", f"://admin:{secret}@")
        env = {"S3_ENDPOINT": endpoint}
        os.makedirs(self.backup_dir)  # so that create logs its failed attempts
        shown = []
        for args in (["create", "--type", "full"], ["--json", "create", "--type", "full"], ["config"],
                     ["--json", "config"], ["status"], ["list"], ["--source", "s3", "list"]):
            r = self.coffer(*args, env=env)
            check_fails_cleanly(r, 2)
            self.assertIn("S3_ENDPOINT", r.err)
            self.assertIn("***@", r.err)
            shown.append(r.out + r.err)
        for text in shown:
            self.assertNotIn(secret, text)
        with open(os.path.join(self.backup_dir, "backup_log.json")) as f:
            log_text = f.read()
        self.assertNotIn(secret, log_text)
        self.assertIn("***@", log_text)
        self.assertEqual([x["status"] for x in read_backup_log(self.backup_dir)], ["failed", "failed"])
        self.assertFalse(os.path.exists(os.path.join(self.backup_dir, "snapshots")), "no backup was made")
        self.assertEqual(self.s3_keys(), set())

    def test_malformed_endpoint_is_exit_2_before_the_backup(self):
        self.make_tree(scale=0.01, seed=23)
        for bad in (self.s3["ENDPOINT"] + "/some/path", "http://", "http://127.0.0.1:99999", "ftp://127.0.0.1:21"):
            r = self.coffer("create", "--type", "full", env={"S3_ENDPOINT": bad})
            check_fails_cleanly(r, 2)
            self.assertIn("S3_ENDPOINT", r.err)
        self.assertFalse(os.path.exists(os.path.join(self.backup_dir, "snapshots")), "no backup was made")
        # A missing secret is found at start too, not after the backup.
        r = self.coffer("create", "--type", "full", env={"AWS_SECRET_ACCESS_KEY": None})
        check_fails_cleanly(r, 2)
        self.assertIn("AWS_SECRET_ACCESS_KEY", r.err)
        self.assertFalse(os.path.exists(os.path.join(self.backup_dir, "snapshots")), "no backup was made")


class DisasterRecoveryTest(S3TestCase):
    def test_database_and_files_come_back_from_s3_alone(self):
        """Back up a database and files (copy mode), lose BACKUP_DIR, the database and the files,
        then restore the latest backup with `--source s3` and compare with the original."""
        try:
            pg = PgServer.from_env()
        except AssertionError as e:
            self.fail(str(e))
        db = f"coffer_it_s3_{os.getpid()}_{random.randrange(10**6)}"
        self.addCleanup(pg.drop_db, db)
        pg.create_db(db)
        pg.load_fixture(db, 0.02)
        sums = pg.checksums(db)
        self.env.update({"DB_HOST": pg.host, "DB_PORT": pg.port, "DB_USER": pg.user, "DB_NAME": db,
                         "DB_PASSWORD": None})
        self.make_tree(scale=0.02, seed=11)
        files = snapshot_tree(self.src)
        b = self.create("full")
        self.assertEqual(b["offsite_copy"]["status"], "copied", b)
        self.assertIsNotNone(b["database"])

        remove_tree(self.backup_dir)
        remove_tree(self.src)
        pg.drop_db(db)
        self.assertFalse(pg.exists(db))

        target = self.new_dir("recovered")
        self.coffer("--source", "s3", "restore", "latest", "--type", "full", "--target", target,
                    "--target-db", db, expect=0)
        assert_trees_equal(files, snapshot_tree(target), "files restored from S3 alone")
        lines = diff_checksums(sums, pg.checksums(db))
        self.assertEqual(lines, [], "database restored from S3 alone differs")


if __name__ == "__main__":
    unittest.main()


class CopyModeCleanupTest(S3TestCase):
    def test_cleanup_keeps_the_offsite_copy_in_line_with_the_policy(self):
        self.env["S3_MODE"] = "copy"
        self.make_tree(scale=0.02, seed=5)
        ids = []
        for day in (1, 2, 3):
            self.env["COFFER_NOW"] = f"2024-12-0{day}T02:00:00Z"
            with open(os.path.join(self.src, os.listdir(self.src)[0], f"day{day}.txt"), "w") as f:
                f.write(f"day {day}\n" * 1000)
            ids.append(self.create("full")["backup_id"])
        self.assertEqual({k for k in self.s3_keys() if k.startswith("snapshots/")}, {f"snapshots/{i}" for i in ids})
        self.env.update({"COFFER_NOW": "2024-12-20T02:00:00Z", "RETENTION_DAYS": "1", "KEEP_LAST": "1"})
        _, c = self.coffer_json("cleanup")
        self.assertEqual(sorted(c["removed"]), sorted(ids[:2]))
        self.assertEqual(sorted(c["offsite"]["removed"]), sorted(ids[:2]))
        # Both sides now hold only the newest backup, and it still restores from S3 alone.
        self.assertEqual({k for k in self.s3_keys() if k.startswith("snapshots/")}, {f"snapshots/{ids[2]}"})
        self.assertEqual([b["backup_id"] for b in self.list_backups()], [ids[2]])
        expected = snapshot_tree(self.src)
        remove_tree(self.backup_dir)
        target = self.new_dir("from-s3")
        self.coffer("--source", "s3", "restore", ids[2], "--type", "files", "--target", target, expect=0)
        assert_trees_equal(expected, snapshot_tree(target), "restore from the cleaned-up S3 copy")
