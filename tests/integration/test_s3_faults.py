"""S3 faults at the command level: a repository on S3 reached through a proxy that fails a third
of the requests (500, 503 SlowDown, connection resets, answers cut off after the server acted).
Backup, verify and restore still succeed and the restored tree is identical."""
import os
import re
import subprocess
import sys
import time

from coffer_testlib import check_fails_cleanly, snapshot_tree
from test_s3 import S3TestCase

PROXY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "s3_fault_proxy.py")


class FaultyS3Test(S3TestCase):
    def start_proxy(self, rate):
        port = self.s3["ENDPOINT"].rsplit(":", 1)[1].strip("/")
        self.proxy_log = os.path.join(self.tmp, "proxy.log")
        proxy = subprocess.Popen([sys.executable, PROXY, port, "--rate", str(rate), "--seed", "7",
                                  "--log", self.proxy_log], stdout=subprocess.PIPE, text=True)
        self.addCleanup(proxy.wait, 10)
        self.addCleanup(proxy.kill)
        line = proxy.stdout.readline().split()
        self.assertEqual(line[0], "PORT", line)
        return f"http://127.0.0.1:{line[1]}"

    def test_backup_and_restore_through_failing_s3(self):
        self.env["S3_MODE"] = "repository"
        self.env["S3_ENDPOINT"] = self.start_proxy(rate=0.33)
        self.env["S3_RETRY_SECONDS"] = "60"
        self.make_tree(scale=0.05, seed=11)
        before = snapshot_tree(self.src)
        full = self.create("full")
        _, v = self.coffer_json("verify", "--read-data")
        self.assertTrue(v["ok"], v)
        self.restore_and_compare(full["backup_id"], before)
        with open(self.proxy_log) as f:
            kinds = [line.split()[0] for line in f if line.strip()]
        # The proxy really failed requests, of every kind, and coffer got through anyway.
        for kind in ("500", "503", "reset", "truncate"):
            self.assertIn(kind, kinds, f"no '{kind}' fault was injected: {len(kinds)} requests")
        self.assertGreater(kinds.count("ok"), 0)

    def test_retries_last_s3_retry_seconds_not_a_fixed_number_of_attempts(self):
        """README: S3_RETRY_SECONDS bounds the retries. Before, 8 attempts ended them after about
        half of 12 s here, and about 15 s at the default 120."""
        self.env["S3_ENDPOINT"] = self.start_proxy(rate=1.0)  # every request fails
        self.env["S3_RETRY_SECONDS"] = "12"  # backoff waits up to 3 s (a quarter) each
        started = time.monotonic()
        r = self.coffer("--source", "s3", "list", timeout=60)
        took = time.monotonic() - started
        check_fails_cleanly(r, 6)
        m = re.search(r"failed after (\d+) attempts over ([\d.]+) s", r.err)
        self.assertTrue(m, r.err)
        attempts, seconds = int(m.group(1)), float(m.group(2))
        self.assertGreater(attempts, 8, r.err)  # the old bound
        self.assertGreaterEqual(seconds, 8.0, r.err)  # at most one backoff (3 s here) short of the 12 s
        self.assertLess(took, 30, r.err)
        with open(self.proxy_log) as f:
            self.assertGreaterEqual(sum(1 for line in f if line.strip()), attempts)
