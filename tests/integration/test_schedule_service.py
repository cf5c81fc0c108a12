"""`coffer schedule` as a service, against the real PostgreSQL and file tree: a schedule that
fires every few seconds (six-field cron, seconds first) read from the config file; backups and a
cleanup run; metrics are served over HTTP and written to a textfile; the notification hook gets
each job's details; `status` reports while it runs; SIGTERM stops it with exit 0, and the last
backup restores exactly. Also: a failing job is notified and counted and the scheduler goes on,
even when the hook hangs; a metrics port in use fails at start, before anything runs.

Needs the test PostgreSQL (see test_database.py); missing settings fail, never skip.
"""

import os
import re
import signal
import socket
import sys
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from coffer_testlib import (  # noqa: E402
    CofferTestCase, assert_trees_equal, check_fails_cleanly, read_backup_log, snapshot_tree, start_coffer)
from test_database import DatabaseTestCase, free_port  # noqa: E402

WAIT_SECONDS = 120


def parse_metrics(text):
    """{'name{labels}': float} of a Prometheus text exposition."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        key, _, value = line.rpartition(" ")
        out[key] = float(value)
    return out


def http_metrics(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        assert r.status == 200
        assert r.headers["Content-Type"].startswith("text/plain")
        return parse_metrics(r.read().decode())


class ScheduleServiceTest(DatabaseTestCase):

    def start_service(self, env):
        self.log_path = os.path.join(self.tmp, "schedule.log")
        proc = start_coffer(["--config", self.config_path, "schedule"], dict(self.env, **env), self.tmp,
                            self.log_path)
        self.addCleanup(lambda: (proc.poll() is None) and (proc.kill(), proc.wait()))
        return proc

    def service_log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def wait_for(self, proc, done, what):
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            log = self.service_log()
            if done(log):
                return log
            self.assertIsNone(proc.poll(), f"coffer schedule exited early:\n{log}")
            time.sleep(0.2)
        self.fail(f"{what} did not happen within {WAIT_SECONDS} s:\n{self.service_log()}")

    def stop(self, proc):
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=WAIT_SECONDS)
        log = self.service_log()
        self.assertEqual(code, 0, log)
        self.assertIn("stopped cleanly", log)
        return log

    def write_config(self, text):
        self.config_path = os.path.join(self.tmp, "coffer.toml")
        with open(self.config_path, "w") as f:
            f.write(text)

    def test_runs_backups_and_cleanup_serves_metrics_notifies_and_stops(self):
        self.make_tree()
        # The schedule comes from the config file: a yearly full (so only the catch-up full runs),
        # an incremental every 3 seconds and a cleanup every 10.
        self.write_config('backup_schedule_full = "0 0 1 1 *"\n'
                          'backup_schedule_incremental = "*/3 * * * * *"\n'
                          'backup_schedule_cleanup = "5/10 * * * * *"\n')
        port = free_port()
        metrics_file = os.path.join(self.tmp, "coffer.prom")
        notes = os.path.join(self.tmp, "notifications")
        proc = self.start_service({
            "METRICS_PORT": port, "METRICS_FILE": metrics_file, "NOTIFY_ON": "always",
            "NOTIFY_COMMAND": f'echo "$COFFER_JOB $COFFER_STATUS $COFFER_BACKUP_ID" >> {notes}'})

        def enough(log):
            return log.count("incremental: finished") >= 2 and "cleanup: finished" in log
        self.wait_for(proc, enough, "two incrementals and a cleanup")

        # While it runs: metrics over HTTP and status.
        m = http_metrics(port)
        self.assertEqual(m['coffer_job_runs_total{job="full"}'], 1)
        self.assertGreaterEqual(m['coffer_job_runs_total{job="incremental"}'], 2)
        self.assertGreaterEqual(m['coffer_job_runs_total{job="cleanup"}'], 1)
        self.assertEqual(m['coffer_job_failures_total{job="incremental"}'], 0)
        self.assertGreater(m['coffer_backup_last_bytes_added{job="full"}'], 0)
        self.assertGreater(m["coffer_repository_size_bytes"], 0)
        self.assertLess(abs(m['coffer_job_last_success_timestamp_seconds{job="incremental"}'] - time.time()), 60)
        _, status = self.coffer_json("--config", self.config_path, "status", expect=0)
        self.assertTrue(status["healthy"], status)
        self.assertIsNotNone(status["types"]["incremental"]["last_success"])
        self.assertEqual([j["job"] for j in status["schedule"]["jobs"]], ["full", "incremental", "cleanup", "drill"])

        log = self.stop(proc)
        self.assertIn("catch-up", log)

        # The textfile matches what was served, with the final counts.
        with open(metrics_file) as f:
            final = parse_metrics(f.read())
        self.assertGreaterEqual(final['coffer_job_runs_total{job="incremental"}'],
                                m['coffer_job_runs_total{job="incremental"}'])
        self.assertEqual(final['coffer_job_runs_total{job="full"}'], 1)

        records = [r for r in read_backup_log(self.backup_dir)]
        kinds = [(r["backup_type"], r["status"]) for r in records]
        self.assertEqual(kinds[0], ("full", "success"), kinds)
        self.assertGreaterEqual(kinds.count(("incremental", "success")), 2, kinds)
        self.assertIn(("cleanup", "success"), kinds)
        self.assertNotIn("failed", [s for _, s in kinds])

        # One notification per job, in order, with the backup id of each backup.
        with open(notes) as f:
            lines = f.read().splitlines()
        backups = [r for r in records if r["backup_type"] != "cleanup"]
        ids = [line.split()[2] for line in lines if line.split()[0] in ("full", "incremental")]
        self.assertEqual(ids, [r["backup_id"] for r in backups][:len(ids)])
        self.assertGreaterEqual(len(ids), 3)
        self.assertTrue(all(line.split()[1] == "success" for line in lines), lines)
        self.assertTrue(any(line.startswith("cleanup success") for line in lines), lines)

        # The newest backup restores the database and the files exactly.
        target_db = self.new_db_name("svc")
        target = self.new_dir("restored")
        self.coffer("restore", "latest", "--type", "full", "--target", target, "--target-db", target_db, expect=0)
        self.assert_db_equals(target_db, self.source_sums)
        assert_trees_equal(snapshot_tree(self.src), snapshot_tree(target), "files restored after the service ran")

    def test_failed_jobs_are_notified_counted_and_a_hanging_hook_is_cut_off(self):
        self.make_tree()
        self.write_config('backup_schedule_full = "0 0 1 1 *"\n'
                          'backup_schedule_incremental = "*/2 * * * * *"\n'
                          'backup_schedule_cleanup = "off"\n')
        port = free_port()
        notes = os.path.join(self.tmp, "notifications")
        missing_db = self.new_db_name("missing")  # never created: every backup fails
        proc = self.start_service({
            "DB_NAME": missing_db, "METRICS_PORT": port, "NOTIFY_TIMEOUT_SECONDS": 1,
            "NOTIFY_COMMAND": f'echo "$COFFER_JOB $COFFER_STATUS $COFFER_ERROR" >> {notes}; sleep 60'})
        self.wait_for(proc, lambda log: log.count("incremental: failed") >= 2, "two failed incrementals")
        m = http_metrics(port)
        self.assertEqual(m['coffer_job_failures_total{job="full"}'], 1)
        self.assertGreaterEqual(m['coffer_job_failures_total{job="incremental"}'], 2)
        self.assertEqual(m['coffer_job_last_run_success{job="incremental"}'], 0)
        log = self.stop(proc)
        self.assertIn("hung: stopped after NOTIFY_TIMEOUT_SECONDS=1 s", log)
        with open(notes) as f:
            lines = f.read().splitlines()
        self.assertTrue(lines[0].startswith("full failure "), lines)
        self.assertIn(missing_db, lines[0])
        self.assertTrue(any(line.startswith("incremental failure") for line in lines), lines)
        self.assertFalse(re.search(r"sleep 60", " ".join(lines)))
        failed = [r for r in read_backup_log(self.backup_dir) if r["status"] == "failed"]
        self.assertGreaterEqual(len(failed), 3)

    def test_metrics_port_in_use_fails_before_anything_runs(self):
        self.make_tree()
        self.write_config("")
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen(1)
            r = self.coffer("--config", self.config_path, "schedule",
                            env={"METRICS_PORT": busy.getsockname()[1]}, timeout=30)
        check_fails_cleanly(r, 2)
        self.assertIn("METRICS_PORT", r.err)
        self.assertIn("in use", r.err)
        self.assertFalse(os.path.exists(os.path.join(self.backup_dir, "config")))
        self.assertEqual(read_backup_log(self.backup_dir), [])


class ScheduleSettingsTest(CofferTestCase):
    """Schedule settings from the config file, overridden by the environment; bad ones at start."""

    def test_config_file_schedule_and_environment_override(self):
        path = os.path.join(self.tmp, "coffer.toml")
        with open(path, "w") as f:
            f.write('backup_schedule_full = "30 1 * * *"\nbackup_schedule_verify = "0 4 * * 0"\n'
                    'tz = "Europe/Berlin"\nmetrics_port = 9187\n')
        _, out = self.coffer_json("--config", path, "schedule", "--once-at", "2026-01-10T00:00:00Z")
        jobs = {j["job"]: j for j in out["jobs"]}
        self.assertEqual(out["time_zone"], "Europe/Berlin")
        self.assertEqual(jobs["full"]["next_run"][:19], "2026-01-10T00:30:00")  # 01:30 CET
        self.assertEqual(jobs["verify"]["next_run"][:19], "2026-01-11T03:00:00")  # Sunday 04:00 CET
        _, out = self.coffer_json("--config", path, "schedule", "--once-at", "2026-01-10T00:00:00Z",
                                  env={"BACKUP_SCHEDULE_FULL": "0 5 * * *", "TZ": "UTC"})
        self.assertEqual({j["job"]: j["next_run"][:19] for j in out["jobs"]}["full"], "2026-01-10T05:00:00")
        _, settings = self.coffer_json("--config", path, "config")
        by_name = {s["name"]: s for s in settings}
        self.assertEqual(by_name["BACKUP_SCHEDULE_FULL"]["origin"], "file")
        self.assertEqual(by_name["METRICS_PORT"]["value"], "9187")

    def test_bad_service_settings_fail_at_start_naming_the_setting(self):
        self.make_tree()
        for name, value in [("NOTIFY_ON", "sometimes"), ("NOTIFY_TIMEOUT_SECONDS", "0"),
                            ("METRICS_PORT", "99999"), ("METRICS_ADDRESS", "localhost"),
                            ("METRICS_FILE", os.path.join(self.tmp, "no", "such", "dir", "x.prom")),
                            ("BACKUP_SCHEDULE_INCREMENTAL", "*/5 * * * * * *")]:
            r = self.coffer("schedule", env={name: value}, timeout=30)
            check_fails_cleanly(r, 2)
            self.assertIn(name, r.err)
        self.assertFalse(os.path.exists(os.path.join(self.backup_dir, "config")))


if __name__ == "__main__":
    unittest.main()
