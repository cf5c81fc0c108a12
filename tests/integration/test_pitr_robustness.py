"""wal-push under what archive_command meets in production (docs/pitr.md, issue 19): a push killed
with SIGKILL at any moment and then repeated never leaves a half segment that wal-fetch returns;
storage failing mid-write or after the write; the repository unwritable for a while, during which
PostgreSQL keeps the segments and retries, and after which the archive has no gap.
"""

import os
import pwd
import signal
import stat
import subprocess
import time
import unittest

import coffer_testlib as lib
from pg_cluster import RUN_AS
from test_pitr import PitrTestCase, run_as_owner

FAULTS = "COFFER_STORAGE_FAULTS"


def archived_names(repo):
    """The WAL file names in a local repository's archive, without hidden temp files."""
    out = []
    for folder, _, files in os.walk(os.path.join(repo, "wal")):
        out += [f for f in files if not f.startswith(".")]
    return sorted(out)


def temp_files(repo):
    return [os.path.join(d, f) for d, _, files in os.walk(os.path.join(repo, "wal")) for f in files if f.startswith(".tmp-")]


class WalPushRobustnessTest(PitrTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.pg.sql("CREATE TABLE w (id serial, t text)")

    def segment_copy(self):
        """An archived segment's bytes (the server recycles its own copy)."""
        self.pg.sql("INSERT INTO w (t) SELECT md5(g::text) FROM generate_series(1, 2000) g")
        seg = self.pg.switch_wal()
        self.wait_archived(seg)
        copy = os.path.join(self.root, "copy-" + seg)
        self.coffer("wal-fetch", seg, copy, expect=0)
        with open(copy, "rb") as f:
            return f.read()

    def second_repository(self, name):
        """A new repository (its own archive), and settings for coffer calls on it."""
        env = dict(self.env, BACKUP_DIR=os.path.join(self.root, name), DB_DATA_DIR=self.pg.data)
        lib.check(run_as_owner([self.bin, "init"], env), 0)
        return env

    def place(self, name, content):
        """`content` under WAL file name `name` in a folder of the owner's; returns the path."""
        folder = os.path.join(self.root, "pg_wal_copy")
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, name)
        with open(path, "wb") as f:
            f.write(content)
        if RUN_AS:
            pw = pwd.getpwnam(RUN_AS)
            for p in (folder, path):
                os.chown(p, pw.pw_uid, pw.pw_gid)
        return path

    def fetched(self, env, name):
        """What wal-fetch returns for `name`: None when missing (exit 1), else the bytes."""
        dest = os.path.join(self.root, "fetched")
        if os.path.exists(dest):
            os.remove(dest)
        r = run_as_owner([self.bin, "wal-fetch", name, dest], env)
        if r.code == 1:
            self.assertFalse(os.path.exists(dest), "a missing file was written")
            return None
        lib.check(r, 0)
        with open(dest, "rb") as f:
            return f.read()

    def push_as_owner(self, env, path):
        """wal-push started as the owner, not through runuser: a signal must reach coffer itself."""
        kwargs = {}
        if RUN_AS:
            pw = pwd.getpwnam(RUN_AS)
            kwargs = dict(user=pw.pw_uid, group=pw.pw_gid, extra_groups=[])
        return subprocess.Popen([self.bin, "wal-push", path], env=lib.clean_env(env), cwd="/", stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kwargs)

    def test_a_push_killed_at_any_moment_then_repeated_never_leaves_a_half_segment(self):
        content = self.segment_copy()
        env = self.second_repository("killed")
        # How long one push takes here (the key cache warm; the median of three), to spread kills over it.
        lib.check(run_as_owner([self.bin, "wal-push", self.place("00000001000000000000008F", content)], env), 0)
        took = []
        for name in ("000000010000000000000090", "000000010000000000000091", "000000010000000000000092"):
            t0 = time.time()
            self.assertEqual(self.push_as_owner(env, self.place(name, content)).wait(), 0)
            took.append(time.time() - t0)
        whole = sorted(took)[1]
        folder = os.path.join(env["BACKUP_DIR"], "wal", os.listdir(os.path.join(env["BACKUP_DIR"], "wal"))[0],
                              "0000000100000000")
        killed = mid_write = 0
        for i in range(16):
            name = f"0000000100000000000000{0xA0 + i:02X}"
            path = self.place(name, content)
            temps = set(temp_files(env["BACKUP_DIR"]))
            p = self.push_as_owner(env, path)
            if i < 8:  # at moments spread over a push: start, keys, reading, compressing, ...
                time.sleep(whole * i / 8)
            else:  # as soon as its temp object appears: while it is written, synced or linked
                deadline = time.time() + 5
                while p.poll() is None and time.time() < deadline and \
                        not any(f.startswith(".tmp-") and os.path.join(folder, f) not in temps for f in os.listdir(folder)):
                    pass
            p.send_signal(signal.SIGKILL)
            if p.wait() == -signal.SIGKILL:
                killed += 1
                mid_write += len(set(temp_files(env["BACKUP_DIR"])) - temps) > 0
            got = self.fetched(env, name)
            self.assertIn(got, (None, content), f"wal-fetch returned {len(got or b'')} other bytes for {name}")
            # PostgreSQL repeats the push: it succeeds, and the archive holds exactly the file.
            again = run_as_owner([self.bin, "--json", "wal-push", path], env)
            lib.check(again, 0)
            self.assertEqual(again.json()["already_archived"], got is not None, again)
            self.assertEqual(self.fetched(env, name), content)
        print(f"\nwal-push SIGKILLed {killed} of 16 times (one push: {whole:.3f} s), "
              f"{mid_write} with its temp object written in part")
        self.assertGreaterEqual(killed, 8, "the kills came too late to test anything")
        self.assertGreater(mid_write, 0, "no kill struck while the object was being written")
        # Cleanup removes the killed pushes' temp objects once they are an hour old (wal-push takes
        # no lock: a younger one may be a push in progress, and stays).
        left = temp_files(env["BACKUP_DIR"])
        self.assertTrue(left, "the killed pushes left no temp object")
        young, old = left[0], left[1:]
        for t in old:
            os.utime(t, (time.time() - 3700, time.time() - 3700))
        lib.check(run_as_owner([self.bin, "cleanup"], env), 0)
        self.assertEqual(temp_files(env["BACKUP_DIR"]), [young])

    def test_a_storage_failure_during_or_after_the_write_is_repaired_by_the_repeat(self):
        content = self.segment_copy()
        env = self.second_repository("faults")
        # Half the object written under a temp name, then ENOSPC; the object stored whole, then
        # the folder's fsync failed: both fail the push, PostgreSQL repeats it.
        for name, fault, there in (("0000000100000000000000B0", "short", False),
                                   ("0000000100000000000000B1", "fsync", True)):
            with self.subTest(fault=fault):
                path = self.place(name, content)
                r = run_as_owner([self.bin, "wal-push", path], dict(env, **{FAULTS: f"put:wal/:1:{fault}"}))
                lib.check_fails_cleanly(r)
                self.assertIn("injected", r.err)
                self.assertEqual(self.fetched(env, name), content if there else None)
                again = run_as_owner([self.bin, "--json", "wal-push", path], env)
                lib.check(again, 0)
                self.assertEqual(again.json()["already_archived"], there, again)
                self.assertEqual(self.fetched(env, name), content)

    def test_an_unwritable_repository_delays_archiving_without_a_gap(self):
        backup = self.coffer_json("create", "--type", "full")
        start = backup["physical"]["start_wal"]
        wal = os.path.join(self.repo, "wal")
        folders = [d for d, _, _ in os.walk(wal)]
        modes = {d: stat.S_IMODE(os.stat(d).st_mode) for d in folders}
        failed_before = int(self.pg.sql("SELECT failed_count FROM pg_stat_archiver"))
        for d in folders:
            os.chmod(d, 0o555)
        try:
            held = []
            for _ in range(3):
                self.pg.sql("INSERT INTO w (t) SELECT md5(g::text) FROM generate_series(1, 500) g")
                held.append(self.pg.switch_wal())
            deadline = time.time() + 20
            while int(self.pg.sql("SELECT failed_count FROM pg_stat_archiver")) < failed_before + 2:
                self.assertLess(time.time(), deadline, self.pg.sql("SELECT * FROM pg_stat_archiver"))
                time.sleep(0.2)
            self.pg.sql("CHECKPOINT")
            # PostgreSQL keeps what it could not archive, and says why.
            pg_wal = os.path.join(self.pg.data, "pg_wal")
            for seg in held:
                self.assertTrue(os.path.exists(os.path.join(pg_wal, seg)), seg)
                self.assertTrue(os.path.exists(os.path.join(pg_wal, "archive_status", seg + ".ready")), seg)
            self.assertNotIn(held[-1], archived_names(self.repo))
            self.assertIn("archive command failed", self.pg.log_tail(200))
        finally:
            for d, m in modes.items():
                os.chmod(d, m)
        # Writable again: the next segment wakes the archiver, which catches up in order.
        last = self.pg.switch_wal()
        self.wait_archived(last)
        names = [n for n in archived_names(self.repo) if len(n) == 24 and n[:8] == start[:8]]
        numbers = [int(n[8:16], 16) * 256 + int(n[16:], 16) for n in names]
        first, newest = int(start[8:16], 16) * 256 + int(start[16:], 16), max(numbers)
        self.assertEqual(sorted(x for x in numbers if x >= first), list(range(first, newest + 1)),
                         f"a gap in the archive after the repository was unwritable: {names}")
        for seg in held:
            self.assertIn(seg, names)
        out = self.coffer_json("verify", "--read-data")  # its own WAL gap check agrees
        self.assertTrue(out["ok"], out)
        self.assertGreaterEqual(out["wal_files_checked"], len(held) + 1, out)
        # And it restores: every row written while the repository was unwritable is back.
        rows = self.pg.sql("SELECT count(*) FROM w")
        c = self.restore_and_start(backup["backup_id"])
        self.assertEqual(c.sql("SELECT count(*) FROM w"), rows)


if __name__ == "__main__":
    unittest.main()
