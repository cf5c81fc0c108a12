"""Throwaway PostgreSQL clusters for the point-in-time recovery tests (standard library only).

Each Cluster is a data folder of its own, initialised with data checksums, WAL archiving on and
archive_command = coffer wal-push; it listens on a Unix socket in its own folder only (no TCP
port to collide with), so tests can start as many as they need, including the ones a restore
writes. As root the server, and every coffer command these tests run, runs as the `postgres`
user: the archiver's coffer and the tests' coffer must share one repository, owned by it.
"""

import glob
import os
import pwd
import shutil
import subprocess
import tempfile

RUN_AS = "postgres" if os.geteuid() == 0 else None


def pg_bin():
    """The newest installed server's bin folder; an AssertionError when none is installed."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(p.split("/")[4]))
    if not found:
        raise AssertionError("no PostgreSQL server under /usr/lib/postgresql: run scripts/setup.sh")
    return os.path.dirname(found[-1])


def as_owner(argv):
    """argv run as the cluster owner (postgres when we are root)."""
    return (["runuser", "-u", RUN_AS, "--"] + argv) if RUN_AS else argv


def give_to_owner(path):
    """Makes `path` (a folder or file) the cluster owner's, when we are root."""
    if RUN_AS:
        pw = pwd.getpwnam(RUN_AS)
        os.chown(path, pw.pw_uid, pw.pw_gid)


def owned_temp_dir(label):
    """A fresh temp folder that the cluster owner may use (0700, theirs)."""
    path = tempfile.mkdtemp(prefix=f"coffer-pitr-{label}-")
    give_to_owner(path)
    return path


class Cluster:
    def __init__(self, root, env, name="primary"):
        """`root`: a folder the owner may write; the cluster lives in root/<name>. `env`: the
        settings archive_command's coffer gets (BACKUP_DIR, BACKUP_PASSPHRASE_FILE, ...)."""
        self.dir = os.path.join(root, name)
        self.data = os.path.join(self.dir, "data")
        self.socket = self.dir
        self.log = os.path.join(self.dir, "server.log")
        self.env = dict(env)
        self.bin = pg_bin()
        self.running = False

    # ------------------------------------------------------------ life cycle
    def init(self, coffer_bin, archive=True, extra_conf=""):
        os.makedirs(self.dir, exist_ok=True)
        give_to_owner(self.dir)
        self._run([os.path.join(self.bin, "initdb"), "-D", self.data, "-U", "postgres", "--auth=trust",
                   "-E", "UTF8", "--locale=C.UTF-8", "--data-checksums"])
        command = f"'{coffer_bin}' wal-push %p" if archive else ""
        with open(os.path.join(self.data, "postgresql.conf"), "a") as f:
            f.write(self.conf(command) + extra_conf)
        return self

    def conf(self, archive_command):
        return f"""
# coffer PITR test cluster
listen_addresses = ''
unix_socket_directories = '{self.socket}'
port = 5432
wal_level = replica
archive_mode = {'on' if archive_command else 'off'}
archive_command = '{archive_command.replace("'", "''")}'
archive_timeout = 0
max_wal_senders = 2
fsync = off
synchronous_commit = on
shared_buffers = 32MB
max_connections = 20
logging_collector = off
"""

    def start(self):
        env = dict(os.environ)
        env.update(self.env)
        self._run([os.path.join(self.bin, "pg_ctl"), "-D", self.data, "-l", self.log, "-w", "-t", "60", "start"],
                  env=env)
        self.running = True
        return self

    def stop(self, mode="fast"):
        if self.running:
            subprocess.run(as_owner([os.path.join(self.bin, "pg_ctl"), "-D", self.data, "-m", mode, "-w", "stop"]),
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd="/")
            self.running = False

    def wait_ready(self, timeout=60):
        """Waits until the server accepts connections and is out of recovery, or promoted."""
        self._run([os.path.join(self.bin, "pg_isready"), "-h", self.socket, "-t", str(timeout)])

    # ------------------------------------------------------------ SQL
    def sql(self, query, db="postgres"):
        """Runs `query` with psql; returns stdout stripped (unaligned, tuples only)."""
        p = subprocess.run(as_owner([os.path.join(self.bin, "psql"), "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1",
                                     "-h", self.socket, "-U", "postgres", "-d", db, "-c", query]),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd="/")
        if p.returncode != 0:
            raise AssertionError(f"psql failed ({p.returncode}) on {query!r}:\n{p.stderr.decode()}\n"
                                 f"server log:\n{self.log_tail()}")
        return p.stdout.decode().strip()

    def switch_wal(self):
        """Closes the current segment (it is archived next) and returns its name."""
        return self.sql("SELECT pg_walfile_name(pg_switch_wal())")

    def log_tail(self, lines=40):
        try:
            with open(self.log, errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return "(no server log)"

    def _run(self, argv, env=None):
        p = subprocess.run(as_owner(argv), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd="/")
        if p.returncode != 0:
            raise AssertionError(f"{' '.join(argv)} failed ({p.returncode}):\n{p.stdout.decode(errors='replace')}\n"
                                 f"server log:\n{self.log_tail()}")
        return p.stdout.decode()

    def remove(self):
        self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)
