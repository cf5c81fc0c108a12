"""Point-in-time recovery with S3 (docs/pitr.md, "S3"): the WAL archive and physical backups in a
repository on S3 (S3_MODE=repository) and in the off-site copy (S3_MODE=copy), and a disaster
recovery from S3 alone on an empty machine that PostgreSQL recovers to a moment. Needs the test
S3 servers (COFFER_TEST_S3_* and COFFER_TEST_S3V_*, the latter checking signatures); the tests
FAIL (never skip) without them. awscli checks and damages what coffer wrote.
"""

import os
import random
import shutil
import subprocess
import sys
import time

import coffer_testlib as lib
from pg_cluster import give_to_owner
from test_pitr import PitrTestCase, run_as_owner
from test_s3 import AWS, s3_server

PROXY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "s3_fault_proxy.py")


class S3PitrTestCase(PitrTestCase):
    """An archiving cluster whose archiver and coffer runs reach S3 under a prefix of their own."""
    SERVER = "COFFER_TEST_S3V"
    S3_MODE = "repository"

    @classmethod
    def extra_settings(cls):
        cls.s3 = s3_server(cls.SERVER)
        cls.prefix = f"coffer-pitr/{cls.__name__}-{os.getpid()}-{random.randrange(10**9)}/"
        return {"S3_MODE": cls.S3_MODE, "S3_BUCKET": cls.s3["BUCKET"], "S3_ENDPOINT": cls.s3["ENDPOINT"],
                "S3_REGION": cls.s3["REGION"], "S3_PREFIX": cls.prefix, "AWS_ACCESS_KEY_ID": cls.s3["ACCESS_KEY"],
                "AWS_SECRET_ACCESS_KEY": cls.s3["SECRET_KEY"], "S3_RETRY_SECONDS": "10"}

    @classmethod
    def stop_servers(cls):
        try:
            super().stop_servers()
        finally:
            if hasattr(cls, "prefix"):
                cls.aws("s3", "rm", "--recursive", f"s3://{cls.s3['BUCKET']}/{cls.prefix}", check=False)

    @classmethod
    def aws(cls, *args, check=True):
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "AWS_ACCESS_KEY_ID": cls.s3["ACCESS_KEY"],
               "AWS_SECRET_ACCESS_KEY": cls.s3["SECRET_KEY"], "AWS_DEFAULT_REGION": cls.s3["REGION"],
               "HOME": cls.root}
        p = subprocess.run([AWS, "--endpoint-url", cls.s3["ENDPOINT"], *args], env=env, capture_output=True,
                           timeout=120)
        if check and p.returncode != 0:
            raise AssertionError(f"aws {' '.join(args)} failed ({p.returncode}): {p.stderr.decode()}")
        return p.stdout

    def s3_keys(self, under=""):
        """Keys under the class's prefix (relative to it) that start with `under`."""
        out = self.aws("s3", "ls", "--recursive", f"s3://{self.s3['BUCKET']}/{self.prefix}{under}", check=False)
        keys = set()
        for line in out.decode().splitlines():
            parts = line.split(None, 3)
            if len(parts) == 4 and parts[3].startswith(self.prefix + under):
                keys.add(parts[3][len(self.prefix):])
        return keys

    def s3_object(self, key):
        return self.aws("s3", "cp", f"s3://{self.s3['BUCKET']}/{self.prefix}{key}", "-")

    def wal_key(self, segment):
        cluster = f"{self.pg.sql('SELECT system_identifier FROM pg_control_system()')}-" \
                  f"{self.pg.sql('SHOW server_version_num')[:2]}"
        return f"wal/{cluster}/{segment[:16]}/{segment}"

    def start_proxy(self, *args):
        """A fault-injecting proxy in front of the class's S3 server; returns its endpoint."""
        port = self.s3["ENDPOINT"].rsplit(":", 1)[1].strip("/")
        self.proxy_log = os.path.join(self.root, f"proxy-{self._testMethodName}-{time.monotonic_ns()}.log")
        proxy = subprocess.Popen([sys.executable, PROXY, port, "--seed", "3", "--log", self.proxy_log, *args],
                                 stdout=subprocess.PIPE, text=True)
        self.addCleanup(proxy.wait, 10)
        self.addCleanup(proxy.kill)
        line = proxy.stdout.readline().split()
        self.assertEqual(line[0], "PORT", line)
        return f"http://127.0.0.1:{line[1]}"

    def proxy_faults(self):
        with open(self.proxy_log) as f:
            return [line.split() for line in f if line.strip() and not line.startswith("ok ")]

    def archived_segment(self):
        """A segment the archiver has just archived (after a row written into it)."""
        self.pg.sql("CREATE TABLE IF NOT EXISTS w (x int); INSERT INTO w VALUES (1)")
        seg = self.pg.switch_wal()
        self.wait_archived(seg)
        return seg

    def fetch(self, segment, dest, env=None):
        return self.coffer("wal-fetch", segment, dest, env=dict(env or {}, DB_DATA_DIR=self.pg.data))

    def push(self, path, env=None):
        """wal-push of `path` (a copy of an archived segment in the class's root), as the archiver runs it."""
        return run_as_owner([self.bin, "--json", "wal-push", os.path.basename(path)],
                            dict(self.db_env, DB_DATA_DIR=self.pg.data, **(env or {})), cwd=os.path.dirname(path))

    def kept_copy(self, segment):
        """The archived `segment`'s bytes, fetched into the class's root (the server recycles its own)."""
        dest = os.path.join(self.root, "kept-" + segment)
        if not os.path.exists(dest):
            lib.check(self.fetch(segment, dest), 0)
        with open(dest, "rb") as f:
            return f.read()


class RepositoryOnS3Test(S3PitrTestCase):
    """S3_MODE=repository on the server that checks signatures: BACKUP_DIR holds no repository."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.pg.sql("CREATE TABLE grades (id int PRIMARY KEY, note text)")
        cls.pg.sql("INSERT INTO grades SELECT g, 'base' FROM generate_series(1, 2000) g")
        r = cls.coffer_cls(["--json", "create", "--type", "full"])
        if r.code != 0:
            raise AssertionError(f"physical backup on S3 failed:\n{r}\n{cls.pg.log_tail()}")
        cls.backup = r.json()

    def test_wal_and_the_physical_backup_are_on_s3_and_restore_to_a_time(self):
        self.assertIn(f"snapshots/{self.backup['backup_id']}", self.s3_keys("snapshots/"))
        self.assertTrue(self.s3_keys("wal/"), "no WAL on S3")
        self.assertFalse(os.path.exists(os.path.join(self.repo, "config")))
        self.assertFalse(os.path.exists(os.path.join(self.repo, "wal")))
        self.pg.sql("INSERT INTO grades VALUES (100001, 'before')")
        time.sleep(1.1)
        target = self.pg.sql("SELECT to_char(clock_timestamp(), 'YYYY-MM-DD HH24:MI:SS.US') || '+00:00'")
        time.sleep(1.1)
        self.pg.sql("INSERT INTO grades VALUES (100002, 'after')")
        last = self.pg.switch_wal()
        self.wait_archived(last)
        self.assertIn(self.wal_key(last), self.s3_keys("wal/"))
        c = self.restore_and_start("latest", "--to-time", target)
        self.assertEqual(c.sql("SELECT string_agg(note, ',') FROM grades WHERE id > 100000"), "before")
        self.assertEqual(c.sql("SELECT count(*) FROM grades"), "2001")

    def test_fetch_retries_transient_errors_and_tells_absent_from_unreachable(self):
        seg = self.archived_segment()
        content = self.kept_copy(seg)
        # S3 fails the GET of that segment twice (a 503, then a reset): wal-fetch retries, and
        # PostgreSQL gets the file, not "missing".
        endpoint = self.start_proxy("--rate", "0", "--once", f"GET .*/{seg}", "503", "--once", f"GET .*/{seg}", "reset")
        dest = os.path.join(self.root, "fetched-" + seg)
        r = self.fetch(seg, dest, env={"S3_ENDPOINT": endpoint})
        lib.check(r, 0)
        with open(dest, "rb") as f:
            self.assertEqual(f.read(), content)
        self.assertEqual([k[0] for k in self.proxy_faults()], ["503", "reset"])
        # Truly absent (a 404): exit 1, quietly: that is how recovery ends.
        r = self.fetch("00000001000000FF000000FE", os.path.join(self.root, "never"))
        self.assertEqual((r.code, r.err.strip()), (1, ""), r)
        # S3 out of reach after the retries: exit 126 with the reason, which stops recovery
        # instead of ending it early at the wrong moment. Nothing is left under the name.
        endpoint = self.start_proxy("--rate", "1")
        dest = os.path.join(self.root, "unreachable-" + seg)
        started = time.monotonic()
        r = self.fetch(seg, dest, env={"S3_ENDPOINT": endpoint, "S3_RETRY_SECONDS": "3"})
        self.assertEqual(r.code, 126, r)
        self.assertIn("recovery stops here", r.err)
        self.assertGreater(time.monotonic() - started, 2, r)  # it retried, for S3_RETRY_SECONDS
        self.assertFalse(os.path.exists(dest))
        # A bucket that does not exist (a typo on the machine that restores) is no "missing file"
        # either: every answer but a 404 for the object stops recovery.
        for setting in ({"S3_BUCKET": "no-such-bucket-" + str(os.getpid())},
                        {"BACKUP_PASSPHRASE_FILE": os.path.join(self.root, "no-passphrase-here")}):
            r = self.fetch(seg, dest, env=setting)
            self.assertEqual(r.code, 126, r)
            self.assertIn("recovery stops here", r.err)
            self.assertFalse(os.path.exists(dest))

    def test_push_succeeds_only_once_s3_has_acknowledged_the_object(self):
        seg = self.archived_segment()
        content = self.kept_copy(seg)
        # A name of this cluster that the server will not reach in this test: a new object.
        name = seg[:8] + "0000007F" + seg[16:]
        path = os.path.join(self.root, name)
        with open(path, "wb") as f:
            f.write(content)
        give_to_owner(path)
        # Every request fails: wal-push exits non-zero (PostgreSQL keeps the file and retries), and
        # nothing is on S3.
        r = self.push(path, env={"S3_ENDPOINT": self.start_proxy("--rate", "1"), "S3_RETRY_SECONDS": "2"})
        lib.check_fails_cleanly(r)
        self.assertLess(r.code, 126, r)  # archive_command above 125 would make the archiver exit
        self.assertNotIn(self.wal_key(name), self.s3_keys("wal/"))
        # S3 stores the object but the answer is lost (cut off): the retry finds the object with
        # our bytes and wal-push succeeds; fetching returns exactly the file.
        endpoint = self.start_proxy("--rate", "0", "--once", f"PUT .*/{name}", "truncate")
        r = self.push(path, env={"S3_ENDPOINT": endpoint})
        lib.check(r, 0)
        self.assertEqual([k[:2] for k in self.proxy_faults()], [["truncate", "PUT"]])
        self.assertIn(self.wal_key(name), self.s3_keys("wal/"))
        dest = os.path.join(self.root, "back-" + name)
        lib.check(self.fetch(name, dest), 0)
        with open(dest, "rb") as f:
            self.assertEqual(f.read(), content)


class CopyModeTest(S3PitrTestCase):
    """S3_MODE=copy: the repository in BACKUP_DIR, each archived WAL file in the off-site copy too."""
    SERVER = "COFFER_TEST_S3"
    S3_MODE = "copy"

    def local_object(self, key):
        with open(os.path.join(self.repo, key), "rb") as f:
            return f.read()

    def test_each_push_reaches_the_copy_without_waiting_for_other_data(self):
        seg = self.archived_segment()
        key = self.wal_key(seg)
        # The first push made the prefix this repository (keys and config), then stored the file.
        self.assertEqual(self.s3_object(key), self.local_object(key))
        self.assertEqual(self.s3_object("config"), self.local_object("config"))
        # A backup's packs are not in the copy (removed there: a copy that failed), and a WAL file
        # is missing too. A push uploads its own file only: one PUT, whatever else the copy lacks.
        failed_copy = self.coffer("create", "--type", "full",
                                  env={"S3_ENDPOINT": self.start_proxy("--rate", "1"), "S3_RETRY_SECONDS": "1"})
        lib.check(failed_copy, 6)  # the backup is made, its copy failed
        self.assertFalse(self.s3_keys("data/"))
        self.aws("s3", "rm", f"s3://{self.s3['BUCKET']}/{self.prefix}{key}")
        name = seg[:8] + "0000007E" + seg[16:]
        path = os.path.join(self.root, name)
        with open(path, "wb") as f:
            f.write(self.kept_copy(seg))
        give_to_owner(path)
        r = self.push(path, env={"S3_ENDPOINT": self.start_proxy("--rate", "0")})
        lib.check(r, 0)
        with open(self.proxy_log) as f:
            puts = [line.split()[2] for line in f if line.split()[1] == "PUT"]
        self.assertEqual([p.rsplit("/", 1)[1] for p in puts], [name], puts)
        # The next backup's copy uploads what the copy lacks: the packs and the WAL file.
        second = self.coffer_json("create", "--type", "full")
        self.assertEqual(second["offsite_copy"]["status"], "copied", second)
        self.assertIn(key, self.s3_keys("wal/"))
        self.assertTrue(self.s3_keys("data/"))
        self.assertIn(f"snapshots/{second['backup_id']}", self.s3_keys("snapshots/"))

    def test_a_push_the_copy_did_not_acknowledge_fails_and_its_retry_uploads_it(self):
        seg = self.archived_segment()
        name = seg[:8] + "0000007D" + seg[16:]
        path = os.path.join(self.root, name)
        with open(path, "wb") as f:
            f.write(self.kept_copy(seg))
        give_to_owner(path)
        key = self.wal_key(name)
        r = self.push(path, env={"S3_ENDPOINT": self.start_proxy("--rate", "1"), "S3_RETRY_SECONDS": "2"})
        lib.check_fails_cleanly(r)
        self.assertLess(r.code, 126, r)  # PostgreSQL keeps the file and retries
        self.assertIn(name, r.err)
        self.assertIn("not in the off-site copy", r.err)
        self.assertTrue(os.path.exists(os.path.join(self.repo, key)))  # stored locally first
        self.assertNotIn(key, self.s3_keys("wal/"))
        # PostgreSQL's retry: the local archive has it already; the copy gets it now.
        r = self.push(path)
        lib.check(r, 0)
        self.assertTrue(r.json()["already_archived"], r)
        self.assertEqual(self.s3_object(key), self.local_object(key))


class DisasterRecoveryFromS3Test(S3PitrTestCase):
    """The database host is lost: on an empty machine (no BACKUP_DIR, no key cache, only the S3
    settings and the passphrase) a physical backup and the WAL after it come back from the
    off-site copy, and PostgreSQL recovers to a moment between two commits."""
    S3_MODE = "copy"

    def test_restore_to_a_moment_from_s3_alone(self):
        self.pg.sql("CREATE TABLE grades (id int PRIMARY KEY, note text)")
        self.pg.sql("INSERT INTO grades SELECT g, 'base' FROM generate_series(1, 3000) g")
        backup = self.coffer_json("create", "--type", "full")
        self.assertEqual(backup["offsite_copy"]["status"], "copied", backup)
        self.pg.sql("INSERT INTO grades VALUES (100001, 'before')")
        time.sleep(1.1)
        target = self.pg.sql("SELECT to_char(clock_timestamp(), 'YYYY-MM-DD HH24:MI:SS.US') || '+00:00'")
        time.sleep(1.1)
        self.pg.sql("INSERT INTO grades VALUES (100002, 'after')")
        self.wait_archived(self.pg.switch_wal())
        self.pg.stop("immediate")  # the host is gone; so is its repository
        shutil.move(self.repo, self.repo + ".lost")

        machine = os.path.join(self.root, "new-machine")
        os.makedirs(machine)
        give_to_owner(machine)
        passphrase = lib.write_passphrase(os.path.join(machine, "passphrase"))
        give_to_owner(passphrase)
        empty = {"BACKUP_DIR": os.path.join(machine, "backups"), "BACKUP_PASSPHRASE_FILE": passphrase,
                 "XDG_CACHE_HOME": os.path.join(machine, "cache"), "HOME": machine,
                 "DB_HOST": None, "DB_PORT": None, "DB_USER": None, "DB_DATA_DIR": None, "DB_BACKUP_MODE": None}
        c = self.restore_and_start("latest", "--to-time", target, name="new-machine/pg", env=empty,
                                   flags=("--source", "s3"))
        with open(os.path.join(c.data, "postgresql.auto.conf")) as f:
            conf = f.read()
        self.assertIn("--source s3", conf)
        self.assertNotIn(self.s3["SECRET_KEY"], conf)  # the server's environment gives it, as the output says
        self.assertTrue(any("S3 settings in its environment" in w for w in c.restore_output["warnings"]),
                        c.restore_output)
        self.assertEqual(c.sql("SELECT string_agg(note, ',') FROM grades WHERE id > 100000"), "before")
        self.assertEqual(c.sql("SELECT count(*) FROM grades"), "3001")
        # Every WAL file came from S3: this machine had no BACKUP_DIR, and nothing was written there.
        backup_dir = empty["BACKUP_DIR"]
        self.assertEqual(os.listdir(backup_dir) if os.path.exists(backup_dir) else [], [])
        self.assertIn("restored log file", c.log_tail(400))
