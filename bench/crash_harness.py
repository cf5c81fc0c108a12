#!/usr/bin/env python3
"""Crash-consistency harness: SIGKILL coffer at many points during create, the S3 off-site copy
and cleanup, and check after every kill that nothing was lost.

    bench/crash_harness.py [--trials N] [--ops create,copy,cleanup] [--seed S] [--json] [--keep]

Each trial starts from a fresh copy of a baseline repository (so trials are independent), kills
one coffer run, either at a named fail point (COFFER_FAILPOINT, checked by coffer itself) or at a
random moment of the run (a timer in this script), runs `coffer unlock` (the documented way to
clear the lock a dead process left; it removes only stale locks), then checks:
  - `verify --read-data` passes (the repository is consistent);
  - every backup that existed before the killed run is still listed and restores byte-identical;
  - the killed run either left no backup, or a whole one that restores identically;
  - the next run (create, or cleanup again) succeeds, and verify passes after it;
  - copy: the S3 copy verifies with `--source s3 verify --read-data` after the kill and, once the
    next backup has copied again, restores byte-identical from S3 alone.
Prints a table (trials, killed before/after the commit, finished before the kill, failures) and
exits 1 on any failed check. Needs a built coffer (COFFER, default build/coffer); the copy trials
start their own S3 server (tests/fixtures/s3_server.sh). Not part of the test suite: the test
suite runs a few of these kills (tests/integration/test_kill.py); this runs many.
"""

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from coffer_testlib import (  # noqa: E402
    default_settings, diff_trees, make_tree, run_coffer, snapshot_tree, write_passphrase)

FAILPOINTS = {
    "create": ["create-after-pack-stored", "create-before-index", "create-before-manifest", "create-after-manifest"],
    "copy": ["copy-after-object", "copy-after-packs", "copy-after-indexes"],
    "cleanup": ["cleanup-after-manifests-removed", "cleanup-after-packs-written", "cleanup-after-index-written",
                "cleanup-after-old-indexes-removed", "cleanup-during-pack-removal"],
}


class CheckFailed(Exception):
    pass


def must(result, *codes, what=""):
    codes = codes or (0,)
    if result.code not in codes:
        raise CheckFailed(f"{what or ' '.join(result.argv[1:])}: exit {result.code}\n{result.err[-2000:]}")
    return result


class Harness:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        self.work = tempfile.mkdtemp(prefix="coffer-crash-")
        self.results = []
        self.s3 = None

    # -- helpers
    def env(self, repo, src, **extra):
        e = default_settings(repo, make_tree.root_paths(src), self.passphrase)
        e.update({k: str(v) for k, v in extra.items()})
        return e

    def coffer(self, env, *argv, timeout=300):
        return run_coffer(list(argv), env, self.work, timeout)

    def backups(self, env, *source):
        r = must(self.coffer(env, "--json", *source, "list"))
        return [b["backup_id"] for b in json.loads(r.out)]

    def restore_equals(self, env, backup_id, expected, *source):
        target = tempfile.mkdtemp(prefix="restore-", dir=self.work)
        shutil.rmtree(target)
        must(self.coffer(env, *source, "restore", backup_id, "--type", "files", "--target", target))
        diff = diff_trees(expected, snapshot_tree(target))
        shutil.rmtree(target, ignore_errors=True)
        if diff:
            raise CheckFailed(f"restore of {backup_id} differs: " + "; ".join(diff[:5]))

    def run_killed(self, env, argv, failpoint, delay):
        """Runs coffer; kills it at `failpoint` (coffer kills itself) or after `delay` seconds.
        Returns 'killed' or 'finished'."""
        if failpoint:
            env = dict(env, COFFER_FAILPOINT=failpoint)
        log = open(os.path.join(self.work, "killed.log"), "wb")
        from coffer_testlib import clean_env, coffer_binary
        proc = subprocess.Popen([coffer_binary()] + argv, env=clean_env(env), cwd=self.work,
                                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        if delay is not None:
            deadline = time.monotonic() + delay
            while proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.001)
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=300)
        if proc.returncode == -signal.SIGKILL:
            # The documented recovery: a lock whose process died stays until `coffer unlock`
            # (it is reported, never removed silently). unlock removes only stale locks.
            must(self.coffer(env, "unlock"), what="coffer unlock after the kill")
            return "killed"
        if proc.returncode not in (0,):
            with open(os.path.join(self.work, "killed.log"), errors="replace") as f:
                raise CheckFailed(f"{' '.join(argv)} failed by itself (exit {proc.returncode}): {f.read()[-1500:]}")
        return "finished"

    def timed(self, env, argv):
        t = time.monotonic()
        must(self.coffer(env, *argv))
        return time.monotonic() - t

    def kill_plan(self, op, n, op_seconds):
        """Trial n: a named fail point for the first rounds, random moments after that."""
        points = FAILPOINTS[op]
        if n < 2 * len(points):
            return points[n % len(points)], None
        return None, self.rng.uniform(0.0, op_seconds * 1.2)

    # -- setup shared by the ops
    def baseline(self):
        self.passphrase = write_passphrase(os.path.join(self.work, "passphrase"))
        self.src = os.path.join(self.work, "src")
        make_tree.create(self.src, scale=self.args.scale, seed=3)
        self.pristine = os.path.join(self.work, "pristine")
        env = self.env(self.pristine, self.src)
        self.snaps = {}
        for t in ("full", "incremental", "full", "incremental"):
            r = must(self.coffer(env, "--json", "create", "--type", t))
            self.snaps[json.loads(r.out)["backup_id"]] = snapshot_tree(self.src)
            make_tree.mutate(self.src, seed=len(self.snaps))
        self.src_snapshot = snapshot_tree(self.src)
        self.src_pristine = os.path.join(self.work, "src-pristine")
        shutil.copytree(self.src, self.src_pristine, symlinks=True)

    def fresh_trial(self, n):
        repo = os.path.join(self.work, f"trial-{n}")
        shutil.rmtree(repo, ignore_errors=True)
        shutil.copytree(self.pristine, repo, symlinks=True)
        return repo

    # -- ops
    def trial_create(self, n, op_seconds):
        repo = self.fresh_trial(n)
        env = self.env(repo, self.src)
        failpoint, delay = self.kill_plan("create", n, op_seconds)
        outcome = self.run_killed(env, ["create", "--type", "incremental"], failpoint, delay)
        committed = self.check_after_create_kill(env, outcome)
        shutil.rmtree(repo, ignore_errors=True)
        return failpoint or f"random {delay:.3f} s", outcome if outcome == "finished" else f"killed, {committed}"

    def check_after_create_kill(self, env, outcome, *source):
        must(self.coffer(env, *source, "verify", "--read-data"), what="verify --read-data after the kill")
        listed = self.backups(env, *source)
        before = list(self.snaps)
        if listed[:len(before)] != before:
            raise CheckFailed(f"earlier backups changed: {listed}")
        new = listed[len(before):]
        if len(new) > 1 or (outcome == "finished" and len(new) != 1):
            raise CheckFailed(f"unexpected backups after the run: {new} ({outcome})")
        for backup_id, snap in self.snaps.items():
            self.restore_equals(env, backup_id, snap, *source)
        if new:
            self.restore_equals(env, new[0], self.src_snapshot, *source)
        r = must(self.coffer(env, "--json", "create", "--type", "incremental"), what="the next create")
        next_id = json.loads(r.out)["backup_id"]
        must(self.coffer(env, "verify"), what="verify after the next create")
        self.restore_equals(env, next_id, self.src_snapshot)
        return "committed" if new else "nothing committed"

    def trial_copy(self, n, op_seconds):
        repo = self.fresh_trial(n)
        prefix = f"crash/{os.getpid()}-{n}/"
        env = self.env(repo, self.src, S3_MODE="copy", S3_PREFIX=prefix, **self.s3_settings())
        failpoint, delay = self.kill_plan("copy", n, op_seconds)
        # The first copy uploads the whole repository (the baseline was local only).
        outcome = self.run_killed(env, ["create", "--type", "incremental"], failpoint, delay)
        # Whatever reached S3 must be consistent on its own (possibly holding no backup yet).
        r = self.coffer(env, "--source", "s3", "verify", "--read-data")
        if r.code not in (0, 4):  # 4: nothing (no repository) on S3 yet
            raise CheckFailed(f"S3 copy inconsistent after the kill: exit {r.code}\n{r.err[-1500:]}")
        committed = self.check_after_create_kill(env, outcome)  # local side; the next create copies again
        must(self.coffer(env, "--source", "s3", "verify", "--read-data"), what="S3 verify after the next create")
        s3_ids = self.backups(env, "--source", "s3")
        for backup_id, snap in self.snaps.items():
            if backup_id not in s3_ids:
                raise CheckFailed(f"{backup_id} is not on S3 after a completed copy")
            self.restore_equals(env, backup_id, snap, "--source", "s3")
        shutil.rmtree(repo, ignore_errors=True)
        return failpoint or f"random {delay:.3f} s", outcome if outcome == "finished" else f"killed, {committed}"

    def trial_cleanup(self, n, op_seconds):
        repo = self.fresh_trial(n)
        env = self.env(repo, self.src, KEEP_LAST=1, RETENTION_DAYS=1, COFFER_NOW="2099-01-01T00:00:00Z")
        failpoint, delay = self.kill_plan("cleanup", n, op_seconds)
        outcome = self.run_killed(env, ["cleanup", "--force"], failpoint, delay)
        must(self.coffer(env, "verify", "--read-data"), what="verify --read-data after the kill")
        listed = self.backups(env)
        removed = len(self.snaps) - len(listed)
        for backup_id in listed:
            if backup_id in self.snaps:
                self.restore_equals(env, backup_id, self.snaps[backup_id])
            else:
                raise CheckFailed(f"unknown backup {backup_id} after cleanup")
        must(self.coffer(env, "cleanup", "--force"), what="the next cleanup")
        must(self.coffer(env, "verify", "--read-data"), what="verify after the next cleanup")
        for backup_id in self.backups(env):
            self.restore_equals(env, backup_id, self.snaps[backup_id])
        shutil.rmtree(repo, ignore_errors=True)
        detail = "nothing committed" if removed == 0 else "committed"
        return failpoint or f"random {delay:.3f} s", outcome if outcome == "finished" else f"killed, {detail}"

    # -- S3
    def s3_settings(self):
        if self.s3 is None:
            d = os.path.join(self.work, "s3")
            out = subprocess.run([os.path.join(ROOT, "tests/fixtures/s3_server.sh"), "start", d, "auto", "coffer-crash"],
                                 check=True, capture_output=True, text=True).stdout
            vals = {}
            for line in out.splitlines():
                if line.startswith("export "):
                    k, _, v = line[len("export "):].partition("=")
                    vals[k] = v.strip("'\"")
            self.s3_dir = d
            self.s3 = {"S3_BUCKET": vals["COFFER_TEST_S3_BUCKET"], "S3_ENDPOINT": vals["COFFER_TEST_S3_ENDPOINT"],
                       "S3_REGION": vals.get("COFFER_TEST_S3_REGION") or "us-east-1",
                       "AWS_ACCESS_KEY_ID": vals["COFFER_TEST_S3_ACCESS_KEY"],
                       "AWS_SECRET_ACCESS_KEY": vals["COFFER_TEST_S3_SECRET_KEY"], "S3_RETRY_SECONDS": "5"}
        return self.s3

    def close(self):
        if self.s3 is not None:
            subprocess.run([os.path.join(ROOT, "tests/fixtures/s3_server.sh"), "stop", self.s3_dir],
                           capture_output=True)
        if not self.args.keep:
            shutil.rmtree(self.work, ignore_errors=True)

    # -- main loop
    def run(self):
        self.baseline()
        for op in self.args.ops:
            trial = getattr(self, f"trial_{op}")
            # How long the killed operation takes unkilled, so random kills land inside it.
            probe = self.fresh_trial("probe")
            extra = {}
            argv = ["create", "--type", "incremental"]
            if op == "copy":
                extra = dict(S3_MODE="copy", S3_PREFIX=f"crash/{os.getpid()}-probe/", **self.s3_settings())
            if op == "cleanup":
                extra = dict(KEEP_LAST=1, RETENTION_DAYS=1, COFFER_NOW="2099-01-01T00:00:00Z")
                argv = ["cleanup", "--force"]
            op_seconds = self.timed(self.env(probe, self.src, **extra), argv)
            shutil.rmtree(probe, ignore_errors=True)
            stats = {"op": op, "trials": 0, "killed, nothing committed": 0, "killed, committed": 0, "finished": 0,
                     "failures": [], "seconds": op_seconds}
            t0 = time.monotonic()
            for n in range(self.args.trials):
                # Each trial starts from the same source tree as the baseline's last backup + a mutate.
                shutil.rmtree(self.src)
                shutil.copytree(self.src_pristine, self.src, symlinks=True)
                try:
                    point, outcome = trial(n, op_seconds)
                    stats[outcome] += 1
                except CheckFailed as e:
                    stats["failures"].append(f"trial {n}: {e}")
                    print(f"  FAIL {op} trial {n}: {e}", file=sys.stderr)
                    point = "?"
                stats["trials"] += 1
                if not self.args.json:
                    print(f"\r{op}: {n + 1}/{self.args.trials} trials ({point})" + " " * 20, end="", file=sys.stderr)
            stats["wall_seconds"] = time.monotonic() - t0
            print(file=sys.stderr)
            self.results.append(stats)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--trials", type=int, default=50, help="trials per operation (default 50)")
    ap.add_argument("--ops", default="create,copy,cleanup")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--scale", type=float, default=0.1, help="make_tree scale of the source tree")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the scratch folder")
    args = ap.parse_args()
    args.ops = [o for o in args.ops.split(",") if o]
    for op in args.ops:
        if op not in FAILPOINTS:
            ap.error(f"unknown op {op!r}: use create, copy, cleanup")
    os.environ.setdefault("COFFER_BIN", os.environ.get("COFFER", os.path.join(ROOT, "build", "coffer")))
    h = Harness(args)
    try:
        h.run()
    finally:
        h.close()
    failed = sum(len(r["failures"]) for r in h.results)
    if args.json:
        print(json.dumps(h.results, indent=2))
    else:
        print("| operation | trials | killed before its commit | killed after its commit | finished before the kill "
              "| failed checks | op time s | wall s |")
        print("|---|---|---|---|---|---|---|---|")
        for r in h.results:
            print(f"| {r['op']} | {r['trials']} | {r['killed, nothing committed']} | {r['killed, committed']} | "
                  f"{r['finished']} | {len(r['failures'])} | {r['seconds']:.2f} | {r['wall_seconds']:.0f} |")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
