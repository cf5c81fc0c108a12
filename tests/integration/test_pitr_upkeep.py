"""The WAL archive's upkeep on a real archiving cluster (docs/pitr.md, "Retention" and "Checks"):
cleanup removes the WAL only removed backups needed, verify finds a missing or damaged segment,
list and status show each physical backup's restore window, the newest archived segment and
failed pushes (also in backup_log.json), and a repository that refused pushes for a while ends
with no gap once PostgreSQL's retries get through.
"""

import datetime
import glob
import json
import os
import shutil
import subprocess
import time
import unittest

import coffer_testlib as lib
from test_pitr import PitrTestCase


class WalArchiveUpkeepTest(PitrTestCase):
    """One cluster, two physical backups; the tests run in their numbered order."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.pg.sql("CREATE TABLE grades (id int PRIMARY KEY, note text)")
        cls.pg.sql("INSERT INTO grades SELECT g, 'first' FROM generate_series(1, 1000) g")
        cls.first = cls.coffer_cls(["--json", "create", "--type", "full"]).json()
        for i in range(3):  # WAL between the two backups, that only the first one needs
            cls.pg.sql(f"INSERT INTO grades VALUES ({2000 + i}, 'between')")
            cls.pg.switch_wal()
        cls.second = cls.coffer_cls(["--json", "create", "--type", "full"]).json()
        cls.pg.sql("INSERT INTO grades VALUES (3000, 'after both')")

    def cluster(self):
        return self.second["physical"]["cluster"]

    def archived(self):
        """Every archived file's name -> its path in the (local) repository."""
        root = os.path.join(self.repo, "wal", self.cluster())
        return {os.path.basename(p): p for p in glob.glob(os.path.join(root, "*", "*")) if os.path.isfile(p)}

    def newest_segment(self):
        return max(n for n in self.archived() if len(n) == 24)

    def test_1_list_and_status_show_the_restore_window_and_the_archive(self):
        self.wait_archived(self.pg.switch_wal())
        newest = self.newest_segment()
        listed = {b["backup_id"]: b for b in self.coffer_json("list")}
        for backup in (self.first, self.second):
            self.assertEqual(listed[backup["backup_id"]]["physical"]["wal_segment_bytes"], 16 << 20)
            w = listed[backup["backup_id"]]["physical"]["restore_window"]
            self.assertEqual(w["earliest"], backup["physical"]["stop_time"])
            self.assertEqual(w["latest_wal"], newest, w)
            self.assertIsNone(w["first_missing"])
            self.assertTrue(w["restorable"])
        status = self.coffer_json("status", expect=None)
        [wal] = status["wal"]
        self.assertEqual(wal["cluster"], self.cluster())
        self.assertEqual(wal["newest_segment"], newest)
        self.assertEqual(wal["last_archived"], newest)  # this host's own record of its pushes
        self.assertLess(wal["last_archived_age_seconds"], 120)
        self.assertEqual(wal["failed_pushes"], 0)
        self.assertGreaterEqual(wal["files"], 5)
        self.assertEqual(wal["restore_window"]["backup_id"], self.second["backup_id"])
        self.assertNotIn("WAL", status["problem"] or "")

    def test_2_verify_finds_a_missing_segment_and_a_damaged_one(self):
        for i in range(2):
            self.pg.sql(f"INSERT INTO grades VALUES ({3500 + i}, 'rolled forward')")
            self.wait_archived(self.pg.switch_wal())
        out = self.coffer_json("verify", "--read-data")
        self.assertTrue(out["ok"], out)
        self.assertGreaterEqual(out["wal_files_checked"], 5)

        # A segment in the middle of the second backup's roll-forward goes missing.
        names = sorted(n for n in self.archived() if len(n) == 24 and n > self.second["physical"]["stop_wal"])
        self.assertGreaterEqual(len(names), 2, names)
        gone = names[0]
        path = self.archived()[gone]
        aside = path + ".aside"
        os.rename(path, aside)
        try:
            out = self.coffer_json("verify", expect=1)
            self.assertFalse(out["ok"])
            gaps = [p for p in out["problems"] if "WAL gap" in p["problem"]]
            self.assertEqual({p["backup_id"] for p in gaps}, {self.first["backup_id"], self.second["backup_id"]}, out)
            self.assertIn(gone, gaps[0]["problem"])
            w = {b["backup_id"]: b for b in self.coffer_json("list")}[self.second["backup_id"]]["physical"]["restore_window"]
            self.assertEqual(w["first_missing"], gone)
            self.assertTrue(w["restorable"])  # up to the gap
            status = self.coffer_json("status", expect=1)
            self.assertIn(f"gap at {gone}", status["problem"])
        finally:
            os.rename(aside, path)

        # A stored segment with one byte changed: only reading it finds that.
        with open(path, "r+b") as f:
            f.seek(100)
            b = f.read(1)
            f.seek(100)
            f.write(bytes([b[0] ^ 1]))
        try:
            self.assertTrue(self.coffer_json("verify")["ok"])
            out = self.coffer_json("verify", "--read-data", expect=1)
            self.assertTrue(any(gone in (p["object"] or "") and "unreadable" in p["problem"] for p in out["problems"]), out)
        finally:
            with open(path, "r+b") as f:
                f.seek(100)
                f.write(b)
        self.assertTrue(self.coffer_json("verify", "--read-data")["ok"])

    def test_3_pushes_refused_for_a_while_are_recorded_then_caught_up_without_a_gap(self):
        wal_dir = os.path.join(self.repo, "wal", self.cluster())
        log = os.path.join(self.repo, "backup_log.json")
        subprocess.run(["chmod", "-R", "a-w", wal_dir], check=True)
        try:
            self.pg.sql("INSERT INTO grades VALUES (4000, 'while refused')")
            segment = self.pg.switch_wal()
            deadline = time.time() + 30
            while int(self.pg.sql("SELECT failed_count FROM pg_stat_archiver")) < 2 and time.time() < deadline:
                time.sleep(0.2)
            self.assertGreaterEqual(int(self.pg.sql("SELECT failed_count FROM pg_stat_archiver")), 2)
            status = self.coffer_json("status", expect=1)
            [wal] = status["wal"]
            self.assertGreaterEqual(wal["failed_pushes"], 2)
            self.assertEqual(wal["last_failed"], segment)
            self.assertIn("WAL archiving", status["problem"])
            with open(log) as f:
                records = [r for r in json.load(f) if r["backup_type"] == "wal-push"]
            # The archiver retried; the log has the first failure of the segment, not every retry.
            self.assertEqual([(r["backup_id"], r["status"]) for r in records], [(segment, "failed")])
            self.assertTrue(records[0]["error"])
        finally:
            subprocess.run(["chmod", "-R", "u+w", wal_dir], check=True)
        # PostgreSQL retries (within a minute); afterwards nothing is missing.
        self.wait_archived(segment, timeout=90)
        self.wait_archived(self.pg.switch_wal(), timeout=30)
        status = self.coffer_json("status", expect=None)
        self.assertEqual(status["wal"][0]["failed_pushes"], 0)
        self.assertTrue(self.coffer_json("verify")["ok"])

    def test_4_cleanup_removes_only_the_wal_that_removed_backups_needed(self):
        later = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
        policy = {"COFFER_NOW": later, "RETENTION_DAYS": "1", "KEEP_LAST": "1"}
        before = self.archived()
        keep_from = self.second["physical"]["start_wal"]
        older = sorted(n for n in before if not n.endswith(".history") and n[8:24] < keep_from[8:24])
        self.assertGreaterEqual(len(older), 3, older)

        dry = self.coffer_json("cleanup", "--dry-run", env=policy)
        self.assertEqual(dry["removed"], [self.first["backup_id"]])
        self.assertEqual(dry["wal_files_removed"], len(older))
        self.assertEqual(self.archived().keys(), before.keys())

        out = self.coffer_json("cleanup", env=policy)
        self.assertEqual(out["removed"], [self.first["backup_id"]])
        self.assertEqual(out["wal_files_removed"], len(older))
        self.assertGreater(out["wal_bytes_freed"], 0)
        after = self.archived()
        self.assertEqual(sorted(set(before) - set(after)), older)
        self.assertIn(keep_from, after)
        self.assertTrue(self.coffer_json("verify")["ok"])
        # The kept backup still restores and rolls forward to the newest WAL.
        self.wait_archived(self.pg.switch_wal())
        c = self.restore_and_start(self.second["backup_id"])
        self.assertEqual(c.sql("SELECT note FROM grades WHERE id = 4000"), "while refused")


if __name__ == "__main__":
    unittest.main()
