"""S3 faults at the command level: a repository on S3 reached through a proxy that fails a third
of the requests (500, 503 SlowDown, connection resets, answers cut off after the server acted).
Backup, verify and restore still succeed and the restored tree is identical."""
import os
import subprocess
import sys

from coffer_testlib import snapshot_tree
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
