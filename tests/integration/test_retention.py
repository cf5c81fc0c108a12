"""Retention, cleanup and locks, end to end with the real binary.

Backups are made "on" simulated days through the COFFER_NOW testing hook; cleanup runs "later"
the same way. The policy's expected outcome comes from a small independent implementation here
(Python's own calendar and ISO weeks). Crashes are injected with COFFER_FAILPOINT, which makes
coffer SIGKILL itself (or pause) at named points of a cleanup.
"""

import datetime
import json
import os
import signal
import socket
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from coffer_testlib import (  # noqa: E402
    CofferTestCase, check, check_fails_cleanly, make_tree, read_backup_log, repo_files, repo_fingerprint,
    snapshot_tree, start_coffer)

UTC = datetime.timezone.utc
FAILPOINTS = ("cleanup-after-manifests-removed", "cleanup-after-packs-written", "cleanup-after-index-written",
              "cleanup-after-old-indexes-removed", "cleanup-during-pack-removal")

# A dozen backups at irregular times (two on one day, gaps, a day boundary a minute apart).
SCHEDULE = (
    ("2024-10-28T02:00:00Z", "full"),          # Monday, ISO week 44
    ("2024-10-30T14:30:00Z", "incremental"),
    ("2024-11-01T02:00:00Z", "incremental"),
    ("2024-11-01T21:15:00Z", "incremental"),
    ("2024-11-03T02:00:00Z", "differential"),  # Sunday, still week 44
    ("2024-11-04T02:00:00Z", "full"),          # week 45
    ("2024-11-06T09:45:00Z", "incremental"),
    ("2024-11-07T02:00:00Z", "incremental"),
    ("2024-11-10T23:59:00Z", "incremental"),   # Sunday night, week 45
    ("2024-11-11T00:01:00Z", "incremental"),   # Monday, week 46
    ("2024-11-12T02:00:00Z", "incremental"),
    ("2024-11-13T02:00:00Z", "incremental"),
)
CLEANUP_NOW = "2024-11-14T12:00:00Z"
POLICY = {"RETENTION_DAYS": 2, "KEEP_DAILY": 3, "KEEP_WEEKLY": 2, "KEEP_MONTHLY": 2}


def parse_time(iso):
    return datetime.datetime.strptime(iso[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)


def expected_kept(backups, now, policy, pinned=()):
    """The policy computed independently: backups are dicts from `list --json`."""
    order = sorted(backups, key=lambda b: (parse_time(b["timestamp"]), b["backup_id"]), reverse=True)
    keep = {b["backup_id"] for b in backups
            if now - parse_time(b["timestamp"]) < datetime.timedelta(days=policy.get("RETENTION_DAYS", 30))}
    keep |= {b["backup_id"] for b in order[:policy.get("KEEP_LAST", 0)]}
    buckets = (("KEEP_DAILY", lambda t: t.date()), ("KEEP_WEEKLY", lambda t: t.isocalendar()[:2]),
               ("KEEP_MONTHLY", lambda t: (t.year, t.month)), ("KEEP_YEARLY", lambda t: t.year))
    for setting, bucket_of in buckets:
        seen = []
        for b in order:
            if len(seen) >= policy.get(setting, 0):
                break
            bucket = bucket_of(parse_time(b["timestamp"]))
            if bucket not in seen:
                seen.append(bucket)
                keep.add(b["backup_id"])
    fulls = [b for b in order if b["backup_type"] == "full"]
    if fulls:
        keep.add(fulls[0]["backup_id"])
    return keep | set(pinned)


def repo_bytes(backup_dir):
    """Bytes of the repository's objects (packs, indexes, manifests, pins); the log and locks aside."""
    return sum(os.path.getsize(p) for sub in ("data", "index", "snapshots", "pins")
               for p in repo_files(backup_dir, sub))


def dead_pid():
    """A pid that is certainly not running: a child that has exited and been reaped."""
    p = subprocess.Popen(["true"])
    p.wait()
    return p.pid


def now_iso():
    return datetime.datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def write_lock(backup_dir, name, pid, command, exclusive, host=None, refreshed=None):
    """Writes a lock object as another coffer process would (last refreshed now, by default)."""
    os.makedirs(os.path.join(backup_dir, "locks"), exist_ok=True)
    path = os.path.join(backup_dir, "locks", name)
    with open(path, "w") as f:
        json.dump({"host": host or socket.gethostname(), "pid": pid, "command": command,
                   "started": "2024-12-01T02:00:00.000000Z", "refreshed": refreshed or now_iso(),
                   "exclusive": exclusive}, f)
    return path


def lock_files(backup_dir):
    return repo_files(backup_dir, "locks")


def read_text(path):
    with open(path, errors="replace") as f:
        return f.read()


class RetentionTest(CofferTestCase):

    def at(self, iso, **extra):
        env = {"COFFER_NOW": iso}
        env.update({k: str(v) for k, v in extra.items()})
        return env

    def dozen_backups(self):
        """Twelve backups over simulated days, the tree mutated before each; returns
        {backup id: snapshot of the tree it holds}."""
        self.make_tree(scale=0.1, seed=5)
        snaps = {}
        for n, (when, kind) in enumerate(SCHEDULE):
            if n:
                make_tree.mutate(self.src, seed=n)
            out = self.create(kind, env=self.at(when))
            snaps[out["backup_id"]] = snapshot_tree(self.src)
        self.assertEqual(len(self.list_backups()), 12)
        return snaps

    def cleanup_json(self, *flags, expect=0, env=None):
        r, out = self.coffer_json("cleanup", *flags, expect=expect, env=env)
        return out

    # ------------------------------------------------------------------ the policy, end to end

    def test_dozen_backups_cleanup_follows_policy_shrinks_and_keeps_the_rest_whole(self):
        snaps = self.dozen_backups()
        backups = self.list_backups()
        want_kept = expected_kept(backups, parse_time(CLEANUP_NOW), POLICY)
        want_removed = sorted(set(snaps) - want_kept)
        self.assertEqual(len(want_removed), 6, "the schedule is meant to remove half of the backups")
        env = self.at(CLEANUP_NOW, **POLICY)

        # Dry run: the same decisions, with reasons, and nothing changes.
        before = repo_fingerprint(self.backup_dir)
        dry = self.cleanup_json("--dry-run", env=env)
        self.assertTrue(dry["dry_run"])
        self.assertEqual(sorted(dry["removed"]), want_removed)
        for b in dry["backups"]:
            self.assertTrue(b["reasons"], b)
            self.assertEqual(b["keep"], b["backup_id"] in want_kept, b)
        reasons = {b["backup_id"]: b["reasons"] for b in dry["backups"]}
        self.assertIn("weekly 2024-W45", reasons["incremental_20241110_235900"])
        self.assertIn("monthly 2024-10", reasons["incremental_20241030_143000"])
        self.assertIn("newest full backup", reasons["full_20241104_020000"])
        self.assertGreater(dry["bytes_freed"], 0)
        self.assertEqual(repo_fingerprint(self.backup_dir), before, "--dry-run changed the repository")

        size_before = repo_bytes(self.backup_dir)
        out = self.cleanup_json(env=env)
        size_after = repo_bytes(self.backup_dir)
        print(f"\ndozen backups: {size_before} bytes before cleanup, {size_after} after; "
              f"reported freed {out['bytes_freed']} (dry-run estimate {dry['bytes_freed']}), "
              f"{out['packs_deleted']} packs deleted, {out['packs_rewritten']} rewritten", file=sys.stderr)
        self.assertEqual(sorted(out["removed"]), want_removed)
        self.assertLess(size_after, size_before, "the repository did not shrink")
        self.assertEqual(out["bytes_freed"], size_before - size_after, "reported bytes freed are not the real ones")
        self.assertLess(abs(dry["bytes_freed"] - out["bytes_freed"]), 0.15 * out["bytes_freed"] + 4096,
                        "the dry run's estimate is far off")
        self.assertEqual(len(repo_files(self.backup_dir, "index")), 1, "one index file should replace the others")

        self.assertEqual(sorted(b["backup_id"] for b in self.list_backups()), sorted(want_kept))
        self.coffer("verify", "--read-data", expect=0)
        for backup_id in sorted(want_kept):
            self.restore_and_compare(backup_id, snaps[backup_id])

        full_log = read_backup_log(self.backup_dir)
        # Before removing anything, cleanup logs what it is about to remove ("started"), so a
        # cleanup killed midway is not mistaken for lost backups by verify.
        started = [r for r in full_log if r["status"] == "started"]
        self.assertEqual(len(started), 1, full_log[-3:])
        self.assertEqual(sorted(started[0]["metadata"]["removing"]), want_removed)
        log = [r for r in full_log if r["status"] != "started"]
        dry_rec, real_rec = log[-2], log[-1]
        for rec, is_dry in ((dry_rec, True), (real_rec, False)):
            self.assertEqual(rec["backup_type"], "cleanup")
            self.assertEqual(rec["status"], "success")
            self.assertEqual(rec["timestamp"], "2024-11-14T12:00:00.000000Z")
            self.assertEqual(rec["metadata"]["dry_run"], is_dry)
            self.assertEqual(sorted(rec["metadata"]["removed"]), want_removed)
        self.assertEqual(real_rec["metadata"]["bytes_freed"], out["bytes_freed"])
        self.assertEqual(real_rec["metadata"]["packs_deleted"], out["packs_deleted"])
        self.assertEqual(real_rec["metadata"]["packs_rewritten"], out["packs_rewritten"])

        # Run again: nothing left to do.
        again = self.cleanup_json(env=env)
        self.assertEqual((again["removed"], again["bytes_freed"]), ([], 0))

    def test_refuses_a_policy_that_keeps_nothing_unless_forced_and_keeps_pinned(self):
        self.make_tree(scale=0.05, seed=6)
        pinned = self.create("full", env=self.at("2024-01-01T00:00:00Z"))["backup_id"]
        self.assertEqual(pinned, "full_20240101_000000")
        make_tree.mutate(self.src, seed=1)
        old_full = self.create("full", env=self.at("2024-02-01T00:00:00Z"))["backup_id"]
        make_tree.mutate(self.src, seed=2)
        newest_full = self.create("full", env=self.at("2024-03-01T00:00:00Z"))["backup_id"]
        snap = snapshot_tree(self.src)
        make_tree.mutate(self.src, seed=3)
        _, last = self.coffer_json("create", "--type", "incremental", "--keep", env=self.at("2024-03-02T00:00:00Z"))
        self.assertTrue(last["pinned"])
        self.coffer("pin", pinned, expect=0)
        self.assertIn("already pinned", self.coffer("pin", pinned, expect=0).out)
        check_fails_cleanly(self.coffer("pin", "full_20200101_000000"), 4)
        listed = {b["backup_id"]: b["pinned"] for b in self.list_backups()}
        self.assertEqual(listed, {pinned: True, old_full: False, newest_full: False, last["backup_id"]: True})
        self.assertIn("PINNED", self.coffer("list", expect=0).out)

        self.coffer("unpin", last["backup_id"], expect=0)
        env = self.at("2025-01-01T00:00:00Z", RETENTION_DAYS=30)
        before = repo_fingerprint(self.backup_dir)
        r = check_fails_cleanly(self.coffer("cleanup", env=env), 3)
        self.assertIn("keeps none of the 4 backups", r.err)
        self.assertIn("--force", r.err)
        self.assertEqual(repo_fingerprint(self.backup_dir), before, "a refused cleanup changed the repository")
        failed = read_backup_log(self.backup_dir)[-1]
        self.assertEqual((failed["backup_type"], failed["status"]), ("cleanup", "failed"))
        self.assertIn("--force", failed["error"])

        out = self.cleanup_json("--force", env=env)
        self.assertEqual(sorted(out["removed"]), sorted([old_full, last["backup_id"]]))
        reasons = {b["backup_id"]: b["reasons"] for b in out["backups"]}
        self.assertEqual(reasons[pinned], ["pinned"])
        self.assertEqual(reasons[newest_full], ["newest full backup"])
        self.coffer("verify", "--read-data", expect=0)
        self.assertEqual(sorted(b["backup_id"] for b in self.list_backups()), sorted([pinned, newest_full]))
        self.restore_and_compare(newest_full, snap)

    def test_bad_retention_settings_are_clear_errors(self):
        self.make_tree(scale=0.02, seed=1)
        self.create("full")
        for name, value in (("RETENTION_DAYS", "0"), ("RETENTION_DAYS", "-1"), ("KEEP_DAILY", "seven"),
                            ("KEEP_LAST", "-2"), ("LOCK_WAIT_SECONDS", "soon")):
            r = check_fails_cleanly(self.coffer("cleanup", env={name: value}), 2)
            self.assertIn(f"{name}='{value}'", r.err)

    # ------------------------------------------------------------------ locks

    def test_stale_locks_are_reported_with_their_holder_and_removed_by_unlock(self):
        self.make_tree(scale=0.02, seed=2)
        self.create("full")
        host = socket.gethostname()

        # A shared lock left by a create that died: another create goes ahead but says so...
        gone = dead_pid()
        shared = write_lock(self.backup_dir, "dead-create", gone, "coffer create", False)
        r = self.coffer("create", "--type", "incremental", expect=0)
        self.assertIn("stale lock", r.err)
        self.assertIn(f"pid {gone}", r.err)
        self.assertIn("coffer unlock", r.err)
        # ...while a cleanup is blocked by it, and is told who holds it and what to do.
        r = check_fails_cleanly(self.coffer("cleanup"), 3)
        for part in (f"host {host}", f"pid {gone}", "`coffer create`", "started 2024-12-01T02:00:00Z",
                     "no longer running", "coffer unlock"):
            self.assertIn(part, r.err)
        self.assertTrue(os.path.exists(shared), "a stale lock must never be removed silently")

        # An exclusive lock left by a cleanup that died blocks backups.
        gone2 = dead_pid()
        write_lock(self.backup_dir, "dead-cleanup", gone2, "coffer cleanup", True)
        r = check_fails_cleanly(self.coffer("create", "--type", "incremental"), 3)
        for part in (f"pid {gone2}", "`coffer cleanup`", "exclusive", "coffer unlock"):
            self.assertIn(part, r.err)
        self.assertEqual(self.list_backups()[-1]["backup_type"], "incremental")  # list needs no lock

        # A live lock (this test process, on this host) is not stale.
        live = write_lock(self.backup_dir, "live", os.getpid(), "coffer verify", False)
        r = self.coffer("unlock", expect=0)
        self.assertIn(f"pid {gone}", r.out)
        self.assertIn(f"pid {gone2}", r.out)
        self.assertIn("2 stale locks removed", r.out)
        self.assertEqual(lock_files(self.backup_dir), [live])
        self.coffer("create", "--type", "incremental", expect=0)
        _, out = self.coffer_json("unlock", "--all")
        self.assertEqual([l["pid"] for l in out["removed"]], [os.getpid()])
        self.assertEqual(lock_files(self.backup_dir), [])

        # A cleanup killed on this host five minutes ago (two refresh intervals are 2 minutes):
        # its lock is abandoned, and the next backup removes it and says so instead of failing.
        gone3 = dead_pid()
        five_min_ago = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=5)).strftime(
            "%Y-%m-%dT%H:%M:%S.000000Z")
        write_lock(self.backup_dir, "killed-cleanup", gone3, "coffer cleanup", True, refreshed=five_min_ago)
        r = self.coffer("create", "--type", "incremental", expect=0)
        self.assertIn("removed the abandoned lock", r.err)
        self.assertIn(f"pid {gone3}", r.err)
        self.assertEqual(lock_files(self.backup_dir), [])
        self.cleanup_json()
        self.assertEqual(lock_files(self.backup_dir), [], "a finished command left its lock behind")

    def test_backup_meeting_a_cleanup_fails_naming_it_or_waits(self):
        self.make_tree(scale=0.05, seed=3)
        for n, day in enumerate(("01", "02", "03")):
            if n:
                make_tree.mutate(self.src, seed=n)
            self.create("incremental", env=self.at(f"2024-12-{day}T02:00:00Z"))
        # The cleanup pauses 3 s holding its exclusive lock.
        env = dict(self.env, **self.at("2024-12-10T00:00:00Z", KEEP_LAST=1, RETENTION_DAYS=1,
                                       COFFER_FAILPOINT="cleanup-after-manifests-removed:sleep=3000"))
        proc = start_coffer(["cleanup"], env, self.tmp, os.path.join(self.tmp, "cleanup.log"))
        try:
            deadline = time.monotonic() + 20
            while not lock_files(self.backup_dir):
                self.assertIsNone(proc.poll(), "cleanup ended before taking its lock")
                self.assertLess(time.monotonic(), deadline, "cleanup never took its lock")
                time.sleep(0.01)
            make_tree.mutate(self.src, seed=9)
            r = check_fails_cleanly(self.coffer("create", "--type", "incremental"), 3)
            for part in ("`coffer cleanup`", "exclusive", f"pid {proc.pid}", f"host {socket.gethostname()}",
                         "started ", "LOCK_WAIT_SECONDS"):
                self.assertIn(part, r.err)
            self.assertNotIn("coffer unlock", r.err, "a live lock must not be called stale")
            started = time.monotonic()
            snap = snapshot_tree(self.src)
            out = self.create("incremental", env={"LOCK_WAIT_SECONDS": "60"})
            waited = time.monotonic() - started
            self.assertIsNotNone(proc.poll(), "the backup ran while the cleanup still held its lock")
        finally:
            proc.wait(timeout=60)
        self.assertEqual(proc.returncode, 0, read_text(os.path.join(self.tmp, "cleanup.log")))
        print(f"\nbackup waited {waited:.1f} s for the cleanup's lock", file=sys.stderr)
        self.coffer("verify", "--read-data", expect=0)
        self.restore_and_compare(out["backup_id"], snap)

    def test_backup_and_cleanup_at_the_same_time(self):
        self.make_tree(scale=0.05, seed=4)
        self.create("full", env=self.at("2024-12-01T02:00:00Z"))
        waits = {"LOCK_WAIT_SECONDS": "60"}
        for n in range(1, 4):
            make_tree.mutate(self.src, seed=n)
            snap = snapshot_tree(self.src)
            create_env = dict(self.env, **self.at(f"2024-12-0{n + 1}T02:00:00Z", **waits))
            cleanup_env = dict(self.env, **self.at("2024-12-20T00:00:00Z", KEEP_LAST=2, RETENTION_DAYS=1, **waits))
            logs = [os.path.join(self.tmp, f"{what}-{n}.log") for what in ("create", "cleanup")]
            procs = [start_coffer(["--json", "create", "--type", "incremental"], create_env, self.tmp, logs[0]),
                     start_coffer(["cleanup"], cleanup_env, self.tmp, logs[1])]
            for p, log in zip(procs, logs):
                p.wait(timeout=120)
                self.assertEqual(p.returncode, 0, read_text(log))
            ids = [b["backup_id"] for b in self.list_backups()]
            self.assertIn(f"incremental_2024120{n + 1}_020000", ids, "the concurrent backup is missing")
            self.coffer("verify", "--read-data", expect=0)
            self.restore_and_compare(f"incremental_2024120{n + 1}_020000", snap, f"round{n}")
            self.assertEqual(lock_files(self.backup_dir), [])

    # ------------------------------------------------------------------ crashes

    def test_sigkill_at_each_cleanup_point_leaves_a_repository_the_next_cleanup_finishes(self):
        self.make_tree(scale=0.05, seed=8)
        snaps = {}
        day = 0

        def backup(kind):
            nonlocal day
            day += 1
            make_tree.mutate(self.src, seed=day)
            out = self.create(kind, env=self.at(f"2024-11-{day:02d}T02:00:00Z"))
            snaps[out["backup_id"]] = snapshot_tree(self.src)

        backup("full")
        # Each round adds three backups; keeping the last two (the newest of them a full one)
        # lets the older ones go, and with them data that the kept ones no longer hold.
        policy = {"KEEP_LAST": 2, "RETENTION_DAYS": 1}
        for point in FAILPOINTS:
            with self.subTest(failpoint=point):
                for kind in ("incremental", "incremental", "full"):
                    backup(kind)
                env = self.at("2024-12-31T00:00:00Z", **policy)
                dry = self.cleanup_json("--dry-run", env=env)
                kept = sorted(b["backup_id"] for b in dry["backups"] if b["keep"])
                self.assertTrue(dry["removed"], "nothing to remove: the crash would test nothing")

                killed = self.coffer("cleanup", env=dict(env, COFFER_FAILPOINT=point))
                self.assertEqual(killed.code, -signal.SIGKILL, f"the fail point {point} was not reached:\n{killed}")

                # The dead cleanup's lock is stale and blocks everything until `coffer unlock`.
                r = check_fails_cleanly(self.coffer("verify"), 3)
                self.assertIn("`coffer cleanup`", r.err)
                self.assertIn("coffer unlock", r.err)
                self.assertIn("1 stale locks removed", self.coffer("unlock", expect=0).out)

                self.assertEqual(sorted(b["backup_id"] for b in self.list_backups()), kept)
                self.coffer("verify", "--read-data", expect=0)
                for backup_id in kept:
                    self.restore_and_compare(backup_id, snaps[backup_id], f"{point}-{backup_id}")

                done = self.cleanup_json(env=env)
                self.assertEqual(done["removed"], [])
                self.assertEqual(len(repo_files(self.backup_dir, "index")), 1)
                self.coffer("verify", "--read-data", expect=0)
                again = self.cleanup_json(env=env)
                self.assertEqual((again["packs_deleted"], again["packs_rewritten"], again["bytes_freed"]), (0, 0, 0),
                                 "the cleanup after the crash left work undone")
        check(self.coffer("list"), 0)


if __name__ == "__main__":
    unittest.main()
