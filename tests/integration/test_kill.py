"""A create killed with SIGKILL at any moment leaves the repository consistent: verify
--read-data passes, the killed run is not listed, earlier backups restore identically, and the
next create works."""

import os
import random
import signal
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from coffer_testlib import (  # noqa: E402
    COMMAND_TIMEOUT, CofferTestCase, make_tree, snapshot_tree, start_coffer)

BATCH_BYTES = 4 * 1024 * 1024  # fresh incompressible data before each killed run
POLL_SECONDS = 0.002


def all_files(root):
    """Every file under root, temp names included."""
    out = set()
    for dirpath, _, files in os.walk(root):
        out.update(os.path.join(dirpath, f) for f in files)
    return out


class KillTest(CofferTestCase):

    def test_sigkill_during_create(self):
        self.make_tree(scale=0.5, seed=7)  # about 10 MB, mostly incompressible
        snap = snapshot_tree(self.src)
        started = time.monotonic()
        full = self.create("full")
        full_seconds = time.monotonic() - started
        committed = [(full["backup_id"], snap)]  # (backup id, tree at its time), oldest first

        # When to kill, given (seconds since start, whether a new file appeared under data/).
        triggers = (
            ("at the first new file in data/ (or 0.3 s)", lambda t, new_data: new_data or t >= 0.3),
            ("after 0.1 s", lambda t, new_data: t >= 0.1),
            ("half way through a full backup's time", lambda t, new_data: t >= max(0.05, full_seconds / 2)),
        )
        landed = []
        for n, (label, should_kill) in enumerate(triggers):
            with self.subTest(kill=label):
                make_tree.add_random_files(os.path.join(self.src, "uploads", f"batch_{n}"), BATCH_BYTES,
                                           random.Random(f"kill-batch-{n}"), prefix=f"B{n}_")
                if self.kill_round(n, should_kill, committed):
                    landed.append(label)
        self.assertTrue(landed, "coffer finished before every kill, so nothing was tested: make the tree larger")
        self.coffer("verify", "--read-data", expect=0)
        self.restore_and_compare(committed[0][0], committed[0][1], "first-full-at-end")

        # A killed create leaves the pack it was filling as a temp file in data/ (and its lock):
        # cleanup, which keeps every backup here, removes the temp files with the packs no index lists.
        data_dir = os.path.join(self.backup_dir, "data")
        temps = lambda: sorted(f for f in all_files(data_dir) if os.path.basename(f).startswith(".tmp-"))
        print(f"\n{len(temps())} temp files in data/ before cleanup", file=sys.stderr)
        self.coffer("unlock", expect=0)
        self.coffer("cleanup", expect=0)
        self.assertEqual(temps(), [], "cleanup left the temp files of killed backups")
        self.assertEqual([b["backup_id"] for b in self.list_backups()], [c[0] for c in committed])
        self.coffer("verify", "--read-data", expect=0)
        self.restore_and_compare(committed[-1][0], committed[-1][1], "last-after-cleanup")

    def kill_round(self, n, should_kill, committed):
        """Starts a full create, SIGKILLs it when should_kill says so, then checks the repository.
        Returns True when the kill landed before the run committed anything."""
        before = [b["backup_id"] for b in self.list_backups()]
        self.assertEqual(before, [c[0] for c in committed])
        snap = snapshot_tree(self.src)
        data_dir = os.path.join(self.backup_dir, "data")
        data_before = all_files(data_dir)
        log_path = os.path.join(self.tmp, f"killed-{n}.log")
        proc = start_coffer(["create", "--type", "full"], self.env, self.tmp, log_path)
        start = time.monotonic()
        try:
            while proc.poll() is None:
                elapsed = time.monotonic() - start
                if should_kill(elapsed, bool(all_files(data_dir) - data_before)):
                    proc.send_signal(signal.SIGKILL)
                    break
                if elapsed > COMMAND_TIMEOUT:
                    proc.kill()
                    self.fail(f"coffer create ran for more than {COMMAND_TIMEOUT:.0f} s")
                time.sleep(POLL_SECONDS)
        finally:
            proc.wait()
        killed = proc.returncode == -signal.SIGKILL
        written = len(all_files(data_dir) - data_before)
        print(f"\nkill round {n}: {'killed' if killed else 'finished'} after {time.monotonic() - start:.2f} s, "
              f"{written} new files in data/", file=sys.stderr)
        with open(log_path, errors="replace") as f:
            log = f.read()
        if not killed:
            self.assertEqual(proc.returncode, 0, f"create failed without being killed:\n{log}")

        listed = [b["backup_id"] for b in self.list_backups()]
        self.assertEqual(listed[:len(before)], before, "earlier backups changed after a kill")
        new = listed[len(before):]
        if killed and new:
            # The kill came after the run committed: then its backup must be whole (checked below).
            print(f"kill {n} came after the commit of {new}", file=sys.stderr)
        self.assertLessEqual(len(new), 1, f"one create added several backups: {new}")
        if not killed:
            self.assertEqual(len(new), 1, "a create that finished is not listed")

        self.coffer("verify", "--read-data", expect=0)
        self.restore_and_compare(committed[-1][0], committed[-1][1], f"round{n}-earlier")
        if new:
            committed.append((new[0], snap))
            self.restore_and_compare(new[0], snap, f"round{n}-finished")

        next_id = self.create("incremental")["backup_id"]
        self.assertEqual([b["backup_id"] for b in self.list_backups()], [c[0] for c in committed] + [next_id])
        committed.append((next_id, snap))
        self.restore_and_compare(next_id, snap, f"round{n}-next")
        return killed and not new


class FailpointKillTest(CofferTestCase):
    """A create that dies at each named point of its commit sequence (COFFER_FAILPOINT: coffer
    SIGKILLs itself there) leaves a consistent repository: before the manifest nothing is listed,
    after it the backup is whole; either way the next create works. bench/crash_harness.py runs
    many more such kills, at random moments too."""

    POINTS = ("create-after-pack-stored", "create-before-index", "create-before-manifest", "create-after-manifest")

    def test_kill_at_each_commit_step(self):
        self.make_tree(scale=0.1, seed=11)
        first = self.create("full")["backup_id"]
        first_snap = snapshot_tree(self.src)
        for n, point in enumerate(self.POINTS):
            with self.subTest(failpoint=point):
                make_tree.add_random_files(os.path.join(self.src, "uploads", f"fp_{n}"), 256 * 1024,
                                           random.Random(point), prefix=f"F{n}_")
                snap = snapshot_tree(self.src)
                before = [b["backup_id"] for b in self.list_backups()]
                r = self.coffer("create", "--type", "incremental", env={"COFFER_FAILPOINT": point})
                self.assertEqual(r.code, -signal.SIGKILL, f"coffer did not die at {point}:\n{r}")
                self.coffer("unlock", expect=0)  # the lock the dead process left
                self.coffer("verify", "--read-data", expect=0)
                listed = [b["backup_id"] for b in self.list_backups()]
                new = listed[len(before):]
                self.assertEqual(listed[:len(before)], before)
                self.assertEqual(len(new), 1 if point == "create-after-manifest" else 0, listed)
                if new:
                    self.restore_and_compare(new[0], snap, f"{point}-committed")
                self.restore_and_compare(first, first_snap, f"{point}-first")
                nxt = self.create("incremental")["backup_id"]
                self.restore_and_compare(nxt, snap, f"{point}-next")


if __name__ == "__main__":
    unittest.main()
