"""backup_log.json: every attempt gets an id no other record has, every record carries the
guide's fields (failed ones too), and a damaged log is set aside instead of blocking backups.
No database server is needed: a failed attempt is a database backup pointed at a closed port."""

import glob
import os
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from coffer_testlib import CofferTestCase, check_fails_cleanly, read_backup_log  # noqa: E402

EXIT_DATABASE = 7
GUIDE_FIELDS = ("backup_id", "backup_type", "timestamp", "status", "size_bytes", "file_path", "metadata")
GUIDE_METADATA = ("database", "host", "compressed", "encrypted")


def closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class BackupLogTest(CofferTestCase):

    def setUp(self):
        super().setUp()
        self.make_tree(scale=0.01, seed=21)
        self.unreachable_db = {"DB_NAME": "coffer_log_db", "DB_HOST": "127.0.0.1", "DB_PORT": closed_port()}

    def failed_create(self, now=None):
        r = self.coffer("create", "--type", "full", env=dict(self.unreachable_db, COFFER_NOW=now), timeout=90)
        check_fails_cleanly(r, EXIT_DATABASE)
        return read_backup_log(self.backup_dir)[-1]

    def test_ids_are_unique_within_one_second(self):
        # All four attempts are in second T by COFFER_NOW; the first also is by the real clock (it
        # starts just after T begins), as an attempt that does not follow COFFER_NOW would be.
        t = int(time.time()) + 1
        time.sleep(max(0.0, t + 0.05 - time.time()))
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))
        failed = self.failed_create(now)
        first = self.create("full", env={"COFFER_NOW": now})["backup_id"]
        failed_again = self.failed_create(now)
        second = self.create("full", env={"COFFER_NOW": now})["backup_id"]
        log = read_backup_log(self.backup_dir)
        ids = [r["backup_id"] for r in log]
        self.assertEqual([r["status"] for r in log], ["failed", "success", "failed", "success"])
        self.assertEqual(len(set(ids)), 4, f"one id for two attempts: {ids}")
        self.assertEqual(ids, [failed["backup_id"], first, failed_again["backup_id"], second])
        self.assertEqual(sorted(b["backup_id"] for b in self.list_backups()), sorted([first, second]))

    def test_every_record_has_the_guides_fields(self):
        self.create("full")
        self.failed_create()
        log = read_backup_log(self.backup_dir)
        self.assertEqual([r["status"] for r in log], ["success", "failed"])
        for record in log:
            with self.subTest(status=record["status"]):
                self.assertEqual([f for f in GUIDE_FIELDS if f not in record], [], record)
                self.assertEqual([f for f in GUIDE_METADATA if f not in record["metadata"]], [], record)
                self.assertEqual(record["metadata"]["host"], socket.gethostname())
                self.assertEqual(record["metadata"]["hostname"], socket.gethostname(), "kept for older readers")
                self.assertIs(record["metadata"]["encrypted"], True)
                self.assertIs(record["metadata"]["compressed"], True)
        self.assertIsNone(log[0]["metadata"]["database"], "a files-only backup is for no database")
        self.assertEqual(log[1]["metadata"]["database"], {"name": "coffer_log_db"},
                         "the failed record must name the database it was for")

    def test_damaged_log_is_set_aside(self):
        first = self.create("full")["backup_id"]
        path = os.path.join(self.backup_dir, "backup_log.json")
        with open(path, "rb") as f:
            whole = f.read()
        with open(path, "wb") as f:
            f.write(whole[: len(whole) // 2])  # cut off mid-record, as a full disk or a crash can
        r = self.coffer("create", "--type", "incremental", expect=0)
        aside = glob.glob(path + ".damaged-*")
        self.assertEqual(len(aside), 1, f"the damaged log was not set aside: {os.listdir(self.backup_dir)}")
        with open(aside[0], "rb") as f:
            self.assertEqual(f.read(), whole[: len(whole) // 2], "the damaged log's bytes must be kept")
        self.assertIn(path, r.err, f"the warning must name the damaged log:\n{r}")
        self.assertIn(aside[0], r.err, f"the warning must name where it went:\n{r}")
        log = read_backup_log(self.backup_dir)
        self.assertEqual([(x["status"], x["backup_type"]) for x in log], [("success", "incremental")])
        self.assertEqual([b["backup_id"] for b in self.list_backups()][0], first)


if __name__ == "__main__":
    unittest.main()
