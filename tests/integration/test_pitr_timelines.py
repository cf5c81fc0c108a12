"""Point-in-time recovery across timelines, on a real PostgreSQL cluster (docs/pitr.md, issue 19):
a restore that is promoted becomes timeline 2 of the same cluster and archives into the same
repository; a physical backup of it is on timeline 2; restores reach a moment on the new
timeline and one on the old (which went on writing on timeline 1), and a timeline the archive
does not reach is refused before anything is written.
"""

import os
import time
import unittest

import coffer_testlib as lib
from test_pitr import PitrTestCase


def timeline_of(cluster):
    return int(cluster.sql("SELECT substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8)"), 16)


def now_utc(cluster):
    """The server's clock as a --to-time value."""
    return cluster.sql("SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || 'Z'")


class TimelineTest(PitrTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.pg.sql("CREATE TABLE events (id serial PRIMARY KEY, note text)")
        cls.pg.sql("INSERT INTO events (note) VALUES ('base')")
        cls.b1 = cls.coffer_cls(["--json", "create", "--type", "full"]).json()
        cls.pg.sql("INSERT INTO events (note) VALUES ('tl1 before fork')")
        time.sleep(1.1)
        cls.fork_time = now_utc(cls.pg)
        time.sleep(1.1)
        cls.pg.sql("INSERT INTO events (note) VALUES ('tl1 after fork')")

    def wait_archived_on(self, cluster, segment, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if cluster.sql("SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver") >= segment:
                return
            time.sleep(0.1)
        raise AssertionError(f"{segment} was not archived:\n{cluster.sql('SELECT * FROM pg_stat_archiver')}\n"
                             f"{cluster.log_tail()}")

    def notes(self, cluster):
        return cluster.sql("SELECT string_agg(note, ',' ORDER BY id) FROM events")

    def refused_early(self, *args, says):
        dest = os.path.join(self.root, f"refused-{len(os.listdir(self.root))}")
        r = self.coffer("restore", *args, "--type", "database", "--pgdata", dest)
        lib.check_fails_cleanly(r)
        self.assertIn(says, r.err)
        self.assertFalse(os.path.exists(dest), "a refused restore wrote its data folder")
        return r

    def test_restores_reach_the_new_timeline_and_the_old(self):
        self.wait_archived(self.pg.switch_wal())
        # The restore promoted at the fork is timeline 2 of the same cluster, archiving into the
        # same repository: its history file and its segments reach the archive.
        tl2 = self.restore_and_start(self.b1["backup_id"], "--to-time", self.fork_time, name="tl2", archive=True)
        self.assertEqual(timeline_of(tl2), 2)
        self.assertEqual(self.notes(tl2), "base,tl1 before fork")
        tl2.sql("INSERT INTO events (note) VALUES ('tl2 a')")
        self.wait_archived_on(tl2, tl2.switch_wal())
        history = os.path.join(self.root, "00000002.history")
        self.coffer("wal-fetch", "00000002.history", history, expect=0, env={"DB_DATA_DIR": tl2.data})
        with open(history) as f:
            self.assertRegex(f.read(), r"^1\t[0-9A-F]+/[0-9A-F]+\t")

        # A physical backup of timeline 2, then more on both timelines.
        b2 = self.coffer_json("create", "--type", "full", env={"DB_HOST": tl2.socket, "DB_DATA_DIR": tl2.data})
        self.assertEqual(b2["physical"]["timeline"], 2, b2["physical"])
        tl2.sql("INSERT INTO events (note) VALUES ('tl2 b')")
        time.sleep(1.1)
        on_tl2 = now_utc(tl2)
        time.sleep(1.1)
        tl2.sql("INSERT INTO events (note) VALUES ('tl2 c')")
        self.wait_archived_on(tl2, tl2.switch_wal())
        self.pg.sql("INSERT INTO events (note) VALUES ('tl1 later')")
        time.sleep(1.1)
        on_tl1 = now_utc(self.pg)
        time.sleep(1.1)
        # Recovery to a time ends at the first commit after it: without one, PostgreSQL stops
        # with "recovery ended before configured recovery target was reached".
        self.pg.sql("INSERT INTO events (note) VALUES ('tl1 after target')")
        self.wait_archived(self.pg.switch_wal())

        # The new timeline from its own backup, and from the timeline 1 backup through the fork.
        c = self.restore_and_start(b2["backup_id"], "--to-time", on_tl2)
        self.assertEqual(self.notes(c), "base,tl1 before fork,tl2 a,tl2 b")
        # Its data folder holds the first restore's recovery settings (a time before this
        # backup): a restore to the end of the archive must not stop there.
        c = self.restore_and_start(b2["backup_id"])
        self.assertEqual(self.notes(c), "base,tl1 before fork,tl2 a,tl2 b,tl2 c")
        c = self.restore_and_start(self.b1["backup_id"], "--to-time", on_tl2, "--target-timeline", "2")
        self.assertEqual(self.notes(c), "base,tl1 before fork,tl2 a,tl2 b")
        # Chosen by coffer: the newest backup on the way to timeline 2 that ends before the target.
        out = self.coffer_json("restore", "latest", "--type", "database", "--pgdata",
                               os.path.join(self.root, "pick-tl2", "data"), "--to-time", on_tl2)
        self.assertEqual(out["backup_id"], b2["backup_id"], out)

        # The old timeline: it went on after the fork, which only --target-timeline 1 follows.
        c = self.restore_and_start(self.b1["backup_id"], "--to-time", on_tl1, "--target-timeline", "1")
        self.assertEqual(self.notes(c), "base,tl1 before fork,tl1 after fork,tl1 later")
        # "latest" with timeline 1 cannot start from the newer backup on timeline 2.
        c = self.restore_and_start("latest", "--to-time", on_tl1, "--target-timeline", "1")
        self.assertEqual(self.notes(c), "base,tl1 before fork,tl1 after fork,tl1 later")

        # Unreachable timelines, refused before anything is written.
        self.refused_early(self.b1["backup_id"], "--target-timeline", "7", says="00000007.history")
        self.refused_early(b2["backup_id"], "--target-timeline", "1", says="older than")
        # A backup of the old timeline after the fork cannot reach timeline 2, the newest, which
        # recovery follows by default: refused (PostgreSQL would stop at start), and passed over
        # when coffer chooses.
        b3 = self.coffer_json("create", "--type", "full")
        self.assertEqual(b3["physical"]["timeline"], 1, b3["physical"])
        r = self.refused_early(b3["backup_id"], says="--target-timeline latest (the newest archived timeline, 2)")
        self.assertIn("left timeline 1 at LSN", r.err)
        out = self.coffer_json("restore", "latest", "--type", "database", "--pgdata",
                               os.path.join(self.root, "pick-latest", "data"))
        self.assertEqual(out["backup_id"], b2["backup_id"], out)
        out = self.coffer_json("restore", "latest", "--type", "database", "--target-timeline", "current",
                               "--pgdata", os.path.join(self.root, "pick-current", "data"))
        self.assertEqual(out["backup_id"], b3["backup_id"], out)
        # verify follows each backup's WAL across the switch it is on the way to, or its own timeline.
        out = self.coffer_json("verify", expect=None)
        self.assertTrue(out["ok"], out)


if __name__ == "__main__":
    unittest.main()
