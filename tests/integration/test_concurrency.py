"""Concurrency: two backups at once into one repository, a backup during a cleanup, a cleanup
during a backup, and two hosts (COFFER_HOSTNAME, a testing hook) writing to one S3 repository.
Nothing is lost: every backup that reports success is listed and restores byte-identically, and
whoever has to wait or give up says who holds the lock.

Commands are held at a point with COFFER_FAILPOINT=<name>:sleep=<ms> (src/util/failpoint.h):
`create-before-manifest` (a backup that has stored its packs and index but not yet committed)
and `cleanup-after-manifests-removed`. The S3 test needs the test S3 server (COFFER_TEST_S3_*,
see test_s3.py) and fails without it."""

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from coffer_testlib import (  # noqa: E402
    COMMAND_TIMEOUT, CofferTestCase, check_fails_cleanly, clean_env, coffer_binary, make_tree, read_backup_log,
    repo_files, snapshot_tree)
from test_s3 import S3TestCase  # noqa: E402

HOLD_MS = 4000  # how long a held command keeps its lock


class Running:
    """A coffer command running in the background, stdout and stderr kept apart."""

    def __init__(self, test, args, env, name):
        self.args = [str(a) for a in args]
        self.out_path = os.path.join(test.tmp, f"{name}.out")
        self.err_path = os.path.join(test.tmp, f"{name}.err")
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen([coffer_binary()] + self.args, env=clean_env(env), cwd=test.tmp,
                                         stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        test.addCleanup(self.stop)

    @property
    def pid(self):
        return self.proc.pid

    def running(self):
        return self.proc.poll() is None

    def wait(self):
        try:
            self.proc.wait(timeout=COMMAND_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise AssertionError(f"coffer {' '.join(self.args)} did not finish in {COMMAND_TIMEOUT:.0f} s")
        with open(self.out_path, errors="replace") as f:
            self.out = f.read()
        with open(self.err_path, errors="replace") as f:
            self.err = f.read()
        return self.proc.returncode

    def stop(self):
        if self.running():
            self.proc.kill()
        self.proc.wait()

    def __str__(self):
        return (f"$ coffer {' '.join(self.args)}\n-> exit {self.proc.returncode}\n"
                f"--- stdout\n{self.out}\n--- stderr\n{self.err}")

    def succeeded_json(self, test):
        code = self.wait()
        test.assertEqual(code, 0, str(self))
        return json.loads(self.out)


def wait_until(test, what, condition, proc=None, seconds=30):
    deadline = time.monotonic() + seconds
    while not condition():
        if proc is not None:
            test.assertTrue(proc.running(), f"the command ended before {what}")
        test.assertLess(time.monotonic(), deadline, f"timed out waiting until {what}")
        time.sleep(0.01)


def held(point, ms=HOLD_MS):
    return {"COFFER_FAILPOINT": f"{point}:sleep={ms}"}


class ConcurrencyTest(CofferTestCase):

    def setUp(self):
        super().setUp()
        # Two trees that share most of their content (the same seed), so the two backups race to
        # store the same chunks; each backs up its own copy.
        self.src_b = os.path.join(self.tmp, "src-b")
        self.make_tree(scale=0.05, seed=31)
        self.make_tree(scale=0.05, seed=31, dest=self.src_b)
        make_tree.add_random_files(os.path.join(self.src_b, "uploads", "only-b"), 300_000,
                                   random.Random("only-b"), prefix="B_")
        self.env_b = dict(self.env, BACKUP_PATHS=":".join(make_tree.root_paths(self.src_b)))

    def lock_files(self):
        return repo_files(self.backup_dir, "locks")

    def start(self, name, *args, env=None, base=None):
        return Running(self, args, dict(base or self.env, **(env or {})), name)

    def check_backups_restore(self, expected):
        """`expected`: {backup id: snapshot}; each is listed and restores identically."""
        listed = [b["backup_id"] for b in self.list_backups()]
        for backup_id, snap in expected.items():
            self.assertIn(backup_id, listed)
            self.restore_and_compare(backup_id, snap)

    def test_two_backups_at_once_into_one_repository(self):
        self.coffer("init", expect=0)
        expected = {}
        # Round 0 gives both the same clock, so they want the same backup id.
        for n, (kind, now) in enumerate((("full", {"COFFER_NOW": "2024-12-01T02:00:00Z"}), ("incremental", {}),
                                         ("incremental", {}))):
            with self.subTest(round=n):
                if n:
                    make_tree.mutate(self.src, seed=n)
                    make_tree.mutate(self.src_b, seed=100 + n)
                snap_a, snap_b = snapshot_tree(self.src), snapshot_tree(self.src_b)
                a = self.start(f"a{n}", "--json", "create", "--type", kind, env=now)
                b = self.start(f"b{n}", "--json", "create", "--type", kind, env=now, base=self.env_b)
                out_a, out_b = a.succeeded_json(self), b.succeeded_json(self)
                self.assertNotEqual(out_a["backup_id"], out_b["backup_id"])
                expected[out_a["backup_id"]] = snap_a
                expected[out_b["backup_id"]] = snap_b
                self.assertEqual(sorted(b["backup_id"] for b in self.list_backups()), sorted(expected))
        self.assertEqual(self.lock_files(), [])
        self.coffer("verify", "--read-data", expect=0)
        self.check_backups_restore(expected)
        log = [r for r in read_backup_log(self.backup_dir) if r["backup_type"] != "cleanup"]
        self.assertEqual(sorted(r["backup_id"] for r in log if r["status"] == "success"), sorted(expected))

    # Once a bug: both creates init a repository; the loser of the config race left its key file,
    # and open() could pick it (same passphrase, other keys): the winner's backup then read as
    # damaged. The config now names its key files, and the loser removes its own.
    def test_two_first_backups_into_an_empty_repository(self):
        for trial in range(10):
            repo = os.path.join(self.tmp, f"repo-{trial}")
            env_a, env_b = dict(self.env, BACKUP_DIR=repo), dict(self.env_b, BACKUP_DIR=repo)
            snaps = {"a": snapshot_tree(self.src), "b": snapshot_tree(self.src_b)}
            runs = {"a": Running(self, ["--json", "create", "--type", "full"], env_a, f"first-a{trial}"),
                    "b": Running(self, ["--json", "create", "--type", "full"], env_b, f"first-b{trial}")}
            expected = {}
            for who, run in runs.items():
                if run.wait() == 0:
                    expected[json.loads(run.out)["backup_id"]] = snaps[who]
                else:
                    self.assertEqual(run.proc.returncode, 3, str(run))
                    self.assertIn("created concurrently", run.err, str(run))
            self.assertTrue(expected, "neither first backup succeeded")
            self.coffer("verify", "--read-data", env={"BACKUP_DIR": repo}, expect=0)
            for backup_id, snap in expected.items():
                self.restore_and_compare(backup_id, snap, f"first-{trial}-{backup_id}", env={"BACKUP_DIR": repo})

    def test_backup_during_a_cleanup_waits_or_fails_naming_the_cleanup(self):
        for n, day in enumerate(("01", "02", "03")):
            if n:
                make_tree.mutate(self.src, seed=n)
            self.create("incremental", env={"COFFER_NOW": f"2024-12-{day}T02:00:00Z"})
        cleanup_env = {"COFFER_NOW": "2024-12-10T00:00:00Z", "KEEP_LAST": 1, "RETENTION_DAYS": 1,
                       **held("cleanup-after-manifests-removed")}
        cleanup = self.start("cleanup", "cleanup", env=cleanup_env)
        wait_until(self, "the cleanup holds its lock", self.lock_files, cleanup)
        make_tree.mutate(self.src, seed=9)
        snap = snapshot_tree(self.src)
        r = check_fails_cleanly(self.coffer("create", "--type", "incremental"), 3)
        for part in ("`coffer cleanup`", "exclusive", f"pid {cleanup.pid}", f"host {socket.gethostname()}",
                     "LOCK_WAIT_SECONDS"):
            self.assertIn(part, r.err)
        self.assertEqual(read_backup_log(self.backup_dir)[-1]["status"], "failed")
        out = self.create("incremental", env={"LOCK_WAIT_SECONDS": 60})
        self.assertFalse(cleanup.running(), "the backup ran while the cleanup still held its lock")
        self.assertEqual(cleanup.wait(), 0, str(cleanup))
        self.coffer("verify", "--read-data", expect=0)
        self.restore_and_compare(out["backup_id"], snap)
        self.assertEqual(self.lock_files(), [])

    def test_cleanup_during_a_backup_waits_or_fails_naming_the_backup(self):
        first = self.create("full", env={"COFFER_NOW": "2024-12-01T02:00:00Z"})["backup_id"]
        first_snap = snapshot_tree(self.src)
        make_tree.mutate(self.src, seed=1)
        second = self.create("incremental", env={"COFFER_NOW": "2024-12-02T02:00:00Z"})["backup_id"]
        make_tree.mutate(self.src, seed=5)
        snap = snapshot_tree(self.src)
        # The backup stops for a while after its packs and index are stored, before its manifest.
        backup = self.start("create", "--json", "create", "--type", "incremental",
                            env={"COFFER_NOW": "2024-12-03T02:00:00Z", **held("create-before-manifest")})
        wait_until(self, "the backup holds its lock", self.lock_files, backup)
        policy = {"COFFER_NOW": "2024-12-10T00:00:00Z", "KEEP_LAST": 1, "RETENTION_DAYS": 1}
        r = check_fails_cleanly(self.coffer("cleanup", env=policy), 3)
        for part in ("`coffer create`", "shared", f"pid {backup.pid}", f"host {socket.gethostname()}",
                     "LOCK_WAIT_SECONDS"):
            self.assertIn(part, r.err)
        self.assertNotIn("coffer unlock", r.err, "a live lock must not be called stale")
        self.assertTrue(backup.running(), "the backup was not held long enough to meet the cleanup")
        # Waiting, the cleanup runs after the backup committed: the new backup is one it keeps,
        # and the packs the backup stored before its commit are not garbage.
        _, out = self.coffer_json("cleanup", env=dict(policy, LOCK_WAIT_SECONDS=60))
        self.assertFalse(backup.running(), "the cleanup ran while the backup still held its lock")
        new = backup.succeeded_json(self)["backup_id"]
        self.assertEqual(new, "incremental_20241203_020000")
        self.assertEqual([b["backup_id"] for b in self.list_backups()], [first, new],
                         f"the cleanup did not keep exactly the newest full and the newest backup: {out}")
        self.assertIn(second, out["removed"])
        self.coffer("verify", "--read-data", expect=0)
        self.restore_and_compare(new, snap)
        self.restore_and_compare(first, first_snap)
        self.assertEqual(self.lock_files(), [])


class TwoHostsOnS3Test(S3TestCase):
    """Two hosts share one repository on S3; COFFER_HOSTNAME gives each process its host name."""

    def setUp(self):
        super().setUp()
        self.env["S3_MODE"] = "repository"
        self.src_b = os.path.join(self.tmp, "src-b")
        self.make_tree(scale=0.03, seed=41)
        self.make_tree(scale=0.03, seed=42, dest=self.src_b)
        self.host_a = dict(self.env, COFFER_HOSTNAME="host-a", BACKUP_DIR=os.path.join(self.tmp, "host-a"))
        self.host_b = dict(self.env, COFFER_HOSTNAME="host-b", BACKUP_DIR=os.path.join(self.tmp, "host-b"),
                           BACKUP_PATHS=":".join(make_tree.root_paths(self.src_b)))

    def s3_locks(self):
        return [k for k in self.s3_keys() if k.startswith("locks/")]

    def test_two_hosts_write_one_s3_repository(self):
        self.coffer("init", settings=self.host_a, expect=0)
        expected = {}
        for n in range(2):
            if n:
                make_tree.mutate(self.src, seed=n)
                make_tree.mutate(self.src_b, seed=10 + n)
            snaps = {"host-a": snapshot_tree(self.src), "host-b": snapshot_tree(self.src_b)}
            now = {"COFFER_NOW": f"2024-12-0{n + 1}T02:00:00Z"}  # the same id wanted by both
            runs = {"host-a": Running(self, ["--json", "create", "--type", "incremental"], dict(self.host_a, **now),
                                      f"a{n}"),
                    "host-b": Running(self, ["--json", "create", "--type", "incremental"], dict(self.host_b, **now),
                                      f"b{n}")}
            ids = {host: run.succeeded_json(self)["backup_id"] for host, run in runs.items()}
            self.assertNotEqual(ids["host-a"], ids["host-b"])
            for host, backup_id in ids.items():
                expected[backup_id] = (host, snaps[host])
        listed = {b["backup_id"]: b["hostname"] for b in self.list_backups(settings=self.host_a)}
        self.assertEqual(listed, {i: h for i, (h, _) in expected.items()})

        # host-b's backup is held before its commit, and then dies there, leaving its lock.
        make_tree.mutate(self.src_b, seed=20)
        held_b = Running(self, ["create", "--type", "incremental"],
                         dict(self.host_b, **held("create-before-manifest", 60000)), "held-b")
        wait_until(self, "host-b's backup holds its lock", self.s3_locks, held_b, seconds=60)
        policy = {"KEEP_LAST": 2, "RETENTION_DAYS": 1, "COFFER_NOW": "2024-12-20T00:00:00Z"}
        r = check_fails_cleanly(self.coffer("cleanup", settings=dict(self.host_a, **policy)), 3)
        for part in ("`coffer create`", "host host-b", f"pid {held_b.pid}"):
            self.assertIn(part, r.err)
        held_b.proc.send_signal(signal.SIGKILL)
        held_b.wait()
        # Seen from host-a the dead process's lock is still live (host-a cannot see host-b's
        # processes); host-b sees that its process is gone and calls the lock stale.
        r = check_fails_cleanly(self.coffer("cleanup", settings=dict(self.host_a, **policy)), 3)
        self.assertIn("host host-b", r.err)
        self.assertNotIn("coffer unlock", r.err)
        r = check_fails_cleanly(self.coffer("cleanup", settings=dict(self.host_b, **policy)), 3)
        self.assertIn("coffer unlock", r.err)
        self.assertIn("no longer running", r.err)
        self.assertIn(f"pid {held_b.pid}", self.coffer("unlock", settings=self.host_b, expect=0).out)
        self.assertEqual(self.s3_locks(), [])
        _, out = self.coffer_json("cleanup", settings=dict(self.host_a, **policy))
        kept = [b["backup_id"] for b in self.list_backups(settings=self.host_a)]
        self.assertTrue(kept)
        self.coffer("verify", "--read-data", settings=self.host_a, expect=0)
        for backup_id in kept:
            host, snap = expected[backup_id]
            self.restore_and_compare(backup_id, snap, f"{host}-{backup_id}", env=self.host_a)


if __name__ == "__main__":
    unittest.main()
