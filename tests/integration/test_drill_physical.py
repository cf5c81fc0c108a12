"""`coffer drill` of a physical backup on a real archiving cluster: the backup is written into a
scratch data folder, a throwaway server started on it recovers to the backup's end with the
archived WAL (wal-fetch) and promotes, every database is read through and index-checked, the
DRILL_SQL probes run, and the server is stopped and the folder removed. The scratch server never
archives into the live cluster's archive; one a killed drill left running is stopped by the next.
"""

import os
import time
import unittest

from pg_cluster import give_to_owner
from test_pitr import PitrTestCase


def postgres_processes_under(folder):
    """Pids of postgres processes whose working folder is under `folder` (a data folder there)."""
    pids = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            exe = os.path.basename(os.readlink(f"/proc/{pid}/exe"))
            cwd = os.readlink(f"/proc/{pid}/cwd")
        except OSError:
            continue
        if exe == "postgres" and cwd.startswith(folder + "/"):
            pids.append(int(pid))
    return pids


class PhysicalDrillTest(PitrTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.pg.sql("CREATE TABLE drilled (id int PRIMARY KEY, body text); "
                   "INSERT INTO drilled SELECT g, repeat(md5(g::text), 20) FROM generate_series(1, 5000) g")
        out = cls.coffer_cls(["--json", "create", "--type", "full"])
        if out.code != 0:
            raise AssertionError(f"physical backup failed:\n{out}")
        cls.backup = out.json()

    def setUp(self):
        self.tmpdir = os.path.join(self.root, f"tmp-{self._testMethodName}")
        os.makedirs(self.tmpdir)
        give_to_owner(self.tmpdir)

    def other_timelines_in_archive(self):
        """WAL or history files of a timeline other than the live cluster's first one."""
        found = []
        for _, _, files in os.walk(os.path.join(self.repo, "wal")):
            found += [f for f in files if f.endswith(".history") or (len(f) >= 24 and not f.startswith("00000001"))]
        return found

    def test_a_physical_backup_is_recovered_on_a_scratch_server_checked_and_removed(self):
        probes = os.path.join(self.tmpdir, "..", f"probes-{os.getpid()}.sql")
        with open(probes, "w") as f:
            f.write("select count(*) = 5000 from drilled;\nselect count(*) > 5000 from drilled;\n")
        give_to_owner(probes)
        r = self.coffer("--json", "drill", env={"TMPDIR": self.tmpdir, "DRILL_SQL": probes})
        self.assertEqual(r.code, 5, r)  # the second probe is false
        out = r.json()
        checks = {(c["part"], c["name"]): c for c in out["checks"]}
        self.assertEqual(out["backup_id"], self.backup["backup_id"])
        self.assertEqual(checks[("database", "restore")]["status"], "passed", checks)
        self.assertIn("recovered to the backup's end", checks[("database", "restore")]["detail"])
        self.assertEqual(checks[("database", "read through")]["status"], "passed", checks)
        self.assertEqual(checks[("database", "btree indexes")]["status"], "passed", checks)
        self.assertEqual(checks[("database", "probe 1")]["status"], "passed", checks)
        self.assertEqual(checks[("database", "probe 2")]["status"], "failed", checks)
        self.assertGreaterEqual(out["rows"], 5000)
        self.assertGreaterEqual(out["indexes"], 1)
        self.assertGreater(out["database_restore_seconds"], 0)
        self.assertNotIn(("database", "row counts"), checks)  # a physical backup records none
        # Nothing left: no server, no folder; the live cluster's archive got nothing from it.
        self.assertEqual(postgres_processes_under(self.tmpdir), [])
        self.assertEqual(os.listdir(self.tmpdir), [])
        self.assertEqual(self.other_timelines_in_archive(), [])
        self.assertEqual(self.pg.sql("SELECT count(*) FROM drilled"), "5000")

    def test_a_drill_killed_with_its_server_running_is_cleaned_up_by_the_next(self):
        r = self.coffer("drill", env={"TMPDIR": self.tmpdir, "COFFER_FAILPOINT": "drill-server-started"})
        self.assertIn(r.code, (-9, 137), r)  # SIGKILL (137 through runuser, as the cluster's owner)
        left = postgres_processes_under(self.tmpdir)
        self.assertTrue(left, "the killed drill's server is not running: nothing to clean up")
        out = self.coffer_json("drill", env={"TMPDIR": self.tmpdir})
        self.assertTrue(out["passed"], out)
        self.assertIn("stopped the server that a killed drill left running", " ".join(out["warnings"]))
        deadline = time.time() + 10
        while postgres_processes_under(self.tmpdir) and time.time() < deadline:
            time.sleep(0.1)
        self.assertEqual(postgres_processes_under(self.tmpdir), [])
        self.assertEqual(os.listdir(self.tmpdir), [])
        self.assertEqual(self.other_timelines_in_archive(), [])


if __name__ == "__main__":
    unittest.main()
