"""Database dumps stored as deltas: a changed dump chunk is stored as a zstd delta against the
last dump's chunk at the same place. Measured against the same backups with deltas off (the
COFFER_DB_DELTAS=off testing hook) on the same states of one database, in the same run; every
backup restores exactly, verify --read-data checks each delta with its base, and a cleanup that
removes the backups holding the bases keeps the bases that remaining deltas need.

Needs the test PostgreSQL server (see test_database.py).
"""

import os
import shutil
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from coffer_testlib import (  # noqa: E402
    check, check_fails_cleanly, new_temp_dir, pack_files, remove_tree, run_coffer, write_passphrase)
from test_database import DatabaseTestCase, db_settings  # noqa: E402

# Three states of one database, each backed up into both repositories: day 0 (full), day 1
# (incremental), day 2 (full again: its deltas reach back to day 0's chunks).
DAYS = (("2024-11-01T02:00:00Z", "full"), ("2024-11-02T02:00:00Z", "incremental"),
        ("2024-11-03T02:00:00Z", "full"))


class DatabaseDeltaTest(DatabaseTestCase):
    SOURCE_SCALE = 1

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.work = new_temp_dir("dbdelta")
        cls.addClassCleanup(remove_tree, cls.work)
        passphrase = write_passphrase(os.path.join(cls.work, "passphrase"))
        base = dict(db_settings(cls.pg, cls.source_db), BACKUP_PASSPHRASE_FILE=passphrase)
        cls.delta_env = dict(base, BACKUP_DIR=os.path.join(cls.work, "delta"))
        cls.plain_env = dict(base, BACKUP_DIR=os.path.join(cls.work, "plain"), COFFER_DB_DELTAS="off")
        cls.states, cls.delta_backups, cls.plain_backups = [], [], []
        for day, (now, backup_type) in enumerate(DAYS):
            if day > 0:
                cls.pg.mutate(cls.source_db, day=day, scale=cls.SOURCE_SCALE)
            cls.states.append(cls.pg.checksums(cls.source_db))
            for env, out in ((cls.delta_env, cls.delta_backups), (cls.plain_env, cls.plain_backups)):
                args = ["--json", "create", "--only", "database", "--type", backup_type]
                out.append(check(run_coffer(args, dict(env, COFFER_NOW=now), cls.work), 0).json())
            if day == 0:  # the packs of day 0 hold the whole chunks later deltas are made against
                cls.day0_packs = set(pack_files(cls.delta_env["BACKUP_DIR"]))

    def setUp(self):
        super().setUp()
        self.env = dict(self.delta_env)

    def test_the_days_changed_the_database(self):
        # Guards the figures below: each day must change rows all over the big tables.
        for day in (1, 2):
            changed = [k for k in self.states[0] if self.states[day - 1][k] != self.states[day].get(k)]
            self.assertIn(("public", "submissions"), changed)

    def test_deltas_cut_what_a_day_adds(self):
        # Chunk boundaries depend on each repository's keys, so days vary (0.29x-0.47x seen at
        # this scale, where the index and the chunk list weigh more than on a big database). Without
        # deltas the ratio would be about 1: each day must save 30%, the two days together 40%.
        full = self.delta_backups[0]["bytes_added"]
        for day in (1, 2):
            with_deltas = self.delta_backups[day]["bytes_added"]
            without = self.plain_backups[day]["bytes_added"]
            print(f"\n  day {day}: adds {with_deltas} bytes with deltas, {without} without "
                  f"({with_deltas / without:.2f}x; full backup {full})", file=sys.stderr)
            self.assertGreater(with_deltas, 0)
            self.assertLess(with_deltas * 10, without * 7, f"day {day}: deltas saved less than 30%")
        both = sum(b["bytes_added"] for b in self.delta_backups[1:])
        both_without = sum(b["bytes_added"] for b in self.plain_backups[1:])
        self.assertLess(both * 10, both_without * 6, "two days: deltas saved less than 40%")

    def test_every_backup_restores_exactly(self):
        for day, backup in enumerate(self.delta_backups):
            with self.subTest(day=day):
                target = self.new_db_name(f"delta{day}")
                self.restore_db(backup["backup_id"], target_db=target)
                self.assert_db_equals(target, self.states[day], what=f"restore of day {day}")

    def test_verify_reads_every_delta_with_its_base(self):
        r = self.coffer("--json", "verify", "--read-data", expect=0)
        self.assertTrue(r.json().get("ok"), r.output)

    def test_cleanup_keeps_the_bases_remaining_deltas_need(self):
        # On a copy: the other tests use the repository as it is.
        repo = os.path.join(self.tmp, "copy")
        shutil.copytree(self.delta_env["BACKUP_DIR"], repo)
        env = {"BACKUP_DIR": repo, "COFFER_NOW": "2024-11-10T00:00:00Z", "KEEP_LAST": "1", "RETENTION_DAYS": "1"}
        r = self.coffer("--json", "cleanup", env=env, expect=0)
        removed = set(r.json().get("removed", []))
        self.assertEqual(removed, {b["backup_id"] for b in self.delta_backups[:2]}, r.output)
        r = self.coffer("--json", "verify", "--read-data", env=env, expect=0)
        self.assertTrue(r.json().get("ok"), r.output)
        target = self.new_db_name("aftercleanup")
        self.restore_db(self.delta_backups[2]["backup_id"], target_db=target, env=env)
        self.assert_db_equals(target, self.states[2], what="restore of day 2 after the cleanup")

    def test_lost_bases_are_named_and_restore_fails_cleanly(self):
        # Day 0's packs gone: the deltas of days 1 and 2 cannot be applied. verify must say so for
        # those backups (not only for day 0), and a restore must fail, never write other rows.
        repo = os.path.join(self.tmp, "copy")
        shutil.copytree(self.delta_env["BACKUP_DIR"], repo)
        for pack in self.day0_packs:
            os.remove(os.path.join(repo, os.path.relpath(pack, self.delta_env["BACKUP_DIR"])))
        env = {"BACKUP_DIR": repo}
        r = check(self.coffer("--json", "verify", env=env), 1, 5)
        report = r.json()
        self.assertIs(report["ok"], False, r.output)
        for day in (1, 2):
            backup_id = self.delta_backups[day]["backup_id"]
            problems = [p for p in report["problems"] if p.get("backup_id") == backup_id]
            self.assertTrue(any("delta" in p.get("problem", "") for p in problems),
                            f"day {day}: verify does not report its deltas' missing bases:\n{r.output}")
        target = self.new_db_name("lostbases")
        r = self.restore_db(self.delta_backups[2]["backup_id"], target_db=target, env=env, expect=None)
        check_fails_cleanly(r)
        self.assertIn("whose base", r.err, r.output)


if __name__ == "__main__":
    unittest.main()
