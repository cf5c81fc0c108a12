"""`coffer status` health and exit code; `coffer schedule` runs a catch-up full backup on an empty
repository and stops cleanly on SIGTERM; bad schedules fail before anything runs."""

import os
import signal
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from coffer_testlib import CofferTestCase, check_fails_cleanly, start_coffer  # noqa: E402

WAIT_SECONDS = 60


class StatusTest(CofferTestCase):

    def test_status_on_empty_repo_is_unhealthy_then_healthy_after_create(self):
        self.make_tree()
        r, out = self.coffer_json("status", expect=1)
        self.assertFalse(out["healthy"])
        self.assertIsNone(out["newest_backup"])
        self.assertEqual([j["job"] for j in out["schedule"]["jobs"]], ["full", "incremental", "cleanup", "drill"])

        full = self.create("full")
        _, out = self.coffer_json("status", expect=0)
        self.assertTrue(out["healthy"], out)
        self.assertEqual(out["types"]["full"]["last_success"]["backup_id"], full["backup_id"])
        self.assertIsNone(out["types"]["incremental"]["last_success"])
        self.assertGreater(out["repository"]["size_bytes"], 0)
        self.assertEqual(len(out["schedule"]["jobs"][0]["next_runs"]), 3)

        # the same backup, seen 27 hours later, is too old
        later = self.coffer("--json", "status", env={"COFFER_NOW": "2099-01-01T00:00:00Z"}, expect=1)
        self.assertIn("old", later.json()["problem"])
        self.coffer("status", env={"STATUS_MAX_AGE_HOURS": "nonsense"}, expect=2)

    def test_status_shows_last_failure(self):
        self.make_tree()
        self.create("full")
        self.coffer("create", "--type", "incremental", env={"BACKUP_PATHS": os.path.join(self.tmp, "missing")})
        # The last attempt failed: unhealthy (issue 25), until the next incremental succeeds.
        _, out = self.coffer_json("status", expect=1)
        failure = out["types"]["incremental"]["last_failure"]
        self.assertIsNotNone(failure, out)
        self.assertTrue(failure["error"])
        self.assertFalse(out["healthy"])
        self.assertIn("the last incremental failed", out["problem"])
        self.create("incremental")
        _, out = self.coffer_json("status", expect=0)
        self.assertTrue(out["healthy"], out)
        self.assertIsNotNone(out["types"]["incremental"]["last_failure"])  # still shown


class ScheduleTest(CofferTestCase):

    def test_invalid_schedule_fails_before_anything_runs(self):
        self.make_tree()
        r = self.coffer("schedule", env={"BACKUP_SCHEDULE_CLEANUP": "0 25 * * *"})
        check_fails_cleanly(r)
        self.assertIn("BACKUP_SCHEDULE_CLEANUP", r.err)
        check_fails_cleanly(self.coffer("schedule", env={"TZ": "Nowhere/Atlantis"}))
        self.assertFalse(os.path.exists(self.backup_dir))

    def wait_for_log(self, proc, log_path, text):
        """The scheduler's log once it holds `text` (or WAIT_SECONDS passed); fails when the
        scheduler exits first."""
        deadline = time.monotonic() + WAIT_SECONDS
        log = ""
        while time.monotonic() < deadline and text not in log:
            time.sleep(0.1)
            with open(log_path, errors="replace") as f:
                log = f.read()
            self.assertIsNone(proc.poll(), f"coffer schedule exited early:\n{log}")
        return log

    def test_catch_up_full_then_sigterm_exits_cleanly(self):
        self.make_tree()
        log_path = os.path.join(self.tmp, "schedule.log")
        env = dict(self.env, BACKUP_SCHEDULE_INCREMENTAL="* * * * *")
        proc = start_coffer(["schedule"], env, self.tmp, log_path)
        try:
            log = self.wait_for_log(proc, log_path, "full: finished")
            self.assertIn("full: finished", log, "no catch-up full backup within the wait")
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(timeout=WAIT_SECONDS)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        with open(log_path, errors="replace") as f:
            log = f.read()
        self.assertEqual(code, 0, log)
        self.assertIn("catch-up", log)
        self.assertIn("stopped cleanly", log)
        backups = self.list_backups()
        self.assertGreaterEqual(len(backups), 1)
        self.assertEqual(backups[0]["backup_type"], "full")
        self.assertEqual(backups[0]["status"], "success")

    def test_second_scheduler_on_one_repository_says_so_and_exits(self):
        self.make_tree()
        self.create("full")  # recent: no catch-up, the first scheduler just waits for its slots
        log_path = os.path.join(self.tmp, "schedule.log")
        first = start_coffer(["schedule"], self.env, self.tmp, log_path)
        try:
            self.assertIn("next run", self.wait_for_log(first, log_path, "next run"), "the first scheduler never waited")
            r = self.coffer("schedule", timeout=30)
            check_fails_cleanly(r, 3)
            self.assertIn("another `coffer schedule`", r.err)
            self.assertIn(f"pid {first.pid}", r.err)
            self.assertIn(self.backup_dir, r.err)
            first.send_signal(signal.SIGTERM)
            self.assertEqual(first.wait(timeout=WAIT_SECONDS), 0)
        finally:
            if first.poll() is None:
                first.kill()
                first.wait()
        # The lock went with its holder: the next scheduler runs.
        self.coffer("schedule", "--max-jobs", "1", env={"BACKUP_SCHEDULE_INCREMENTAL": "* * * * * *"}, expect=0,
                    timeout=90)

    def test_config_shows_the_schedule_defaults(self):
        _, settings = self.coffer_json("config")
        by_name = {s["name"]: s for s in settings}
        for name, value in (("BACKUP_SCHEDULE_FULL", "0 2 * * *"), ("BACKUP_SCHEDULE_INCREMENTAL", "0 9-17 * * *"),
                            ("BACKUP_SCHEDULE_DIFFERENTIAL", "off"), ("BACKUP_SCHEDULE_CLEANUP", "0 3 * * *"),
                            ("BACKUP_SCHEDULE_VERIFY", "off"), ("BACKUP_SCHEDULE_DRILL", "0 4 * * sun#1"), ("TZ", "UTC"), ("STATUS_MAX_AGE_HOURS", "26")):
            self.assertEqual((by_name[name]["value"], by_name[name]["origin"]), (value, "default"), name)
        _, settings = self.coffer_json("config", env={"BACKUP_SCHEDULE_FULL": "30 1 * * *"})
        self.assertEqual({s["name"]: s["value"] for s in settings}["BACKUP_SCHEDULE_FULL"], "30 1 * * *")

    def test_max_jobs_runs_one_job_and_exits(self):
        self.make_tree()
        self.create("full")  # recent full: no catch-up, the first job is the per-minute incremental
        r = self.coffer("schedule", "--max-jobs", "1", env={"BACKUP_SCHEDULE_INCREMENTAL": "* * * * *"},
                        expect=0, timeout=90)
        self.assertNotIn("catch-up", r.err)
        self.assertEqual([b["backup_type"] for b in self.list_backups()], ["full", "incremental"])


    def test_damaged_backup_log_does_not_stop_the_service(self):
        self.make_tree()
        self.coffer("init", expect=0)
        log_path = os.path.join(self.backup_dir, "backup_log.json")
        with open(log_path, "w") as f:
            f.write('[{"backup_id": "full_2026')  # cut off
        r = self.coffer("schedule", "--max-jobs", "1", expect=0, timeout=90)
        self.assertIn("catch-up", r.err)
        self.assertEqual([b["backup_type"] for b in self.list_backups()], ["full"])
        self.assertEqual(len([n for n in os.listdir(self.backup_dir) if n.startswith("backup_log.json.damaged-")]), 1)


if __name__ == "__main__":
    unittest.main()
