"""Helpers for coffer's integration tests (Python 3 standard library only).

The tests run the real binary named by COFFER_BIN (ctest sets it). Every run gets a clean
environment: PATH, sanitizer options, and only the settings the test passes, so a developer's
BACKUP_* variables or config never leak in. Set COFFER_KEEP_TMP=1 to keep the temp dirs.
"""

import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import unittest
from typing import NamedTuple, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "fixtures"))
import make_tree  # noqa: E402  (path set just above)

COMMAND_TIMEOUT = float(os.environ.get("COFFER_TEST_TIMEOUT", "120"))
PASSPHRASE = "correct horse battery staple 7f3a"
# Passed through from the caller's environment; nothing else is.
PASSTHROUGH_ENV = ("PATH", "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "TSAN_OPTIONS")
EXIT_INTERNAL = 70


# ---------------------------------------------------------------- running coffer

def coffer_binary():
    """Absolute path of the coffer binary; raises AssertionError (a test failure, never a
    skip) when COFFER_BIN is unset or does not name an executable."""
    path = os.environ.get("COFFER_BIN")
    if not path:
        raise AssertionError("COFFER_BIN is not set: build coffer and run e.g. "
                             "COFFER_BIN=$PWD/build/coffer python3 -m unittest (ctest sets it)")
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise AssertionError(f"COFFER_BIN={path!r} is not an executable file: build coffer first")
    return os.path.abspath(path)


def clean_env(settings):
    """PATH (+ sanitizer options) plus `settings`; a value of None leaves that variable out."""
    env = {k: os.environ[k] for k in PASSTHROUGH_ENV if k in os.environ}
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    for k, v in settings.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = str(v)
    return env


def _clip(text, limit=4000):
    return text if len(text) <= limit else text[:limit] + f"\n... ({len(text) - limit} more chars)"


class Result:
    """One coffer run. Unpacks as (code, out, err)."""

    def __init__(self, argv, code, out, err):
        self.argv, self.code, self.out, self.err = argv, code, out, err

    def __iter__(self):
        return iter((self.code, self.out, self.err))

    @property
    def output(self):
        return self.out + "\n" + self.err

    def json(self):
        try:
            return json.loads(self.out)
        except ValueError as e:
            raise AssertionError(f"stdout is not JSON ({e}):\n{self}") from None

    def try_json(self):
        try:
            return json.loads(self.out)
        except ValueError:
            return None

    def __str__(self):
        cmd = " ".join(json.dumps(a, ensure_ascii=False) if (" " in a or not a) else a
                       for a in ["coffer"] + self.argv[1:])
        status = f"killed by signal {-self.code}" if self.code < 0 else f"exit {self.code}"
        return f"$ {cmd}\n-> {status}\n--- stdout\n{_clip(self.out)}\n--- stderr\n{_clip(self.err)}"


def run_coffer(args, settings, cwd, timeout=COMMAND_TIMEOUT):
    """Runs coffer with a clean environment made of `settings`; returns a Result."""
    argv = [coffer_binary()] + [str(a) for a in args]
    try:
        p = subprocess.run(argv, env=clean_env(settings), cwd=cwd, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        raise AssertionError(f"coffer {' '.join(argv[1:])} did not finish in {timeout:.0f} s; "
                             f"stderr so far:\n{_clip((e.stderr or b'').decode(errors='replace'))}")
    return Result(argv, p.returncode, p.stdout.decode("utf-8", "surrogateescape"),
                  p.stderr.decode("utf-8", "surrogateescape"))


def start_coffer(args, settings, cwd, log_path):
    """Starts coffer in the background, stdout and stderr to `log_path`. Returns the Popen."""
    log = open(log_path, "wb")
    try:
        return subprocess.Popen([coffer_binary()] + [str(a) for a in args], env=clean_env(settings),
                                cwd=cwd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    finally:
        log.close()


def check(result, *codes):
    """Asserts that the run ended with one of `codes`; returns it."""
    if result.code not in codes:
        want = " or ".join(str(c) for c in codes)
        raise AssertionError(f"expected exit {want}, got:\n{result}")
    return result


def check_fails_cleanly(result, *codes):
    """A failure: one of `codes` (any non-zero exit if none given), never a crash, a signal or
    an internal error, and with a message on stderr."""
    if codes:
        check(result, *codes)
    elif result.code <= 0 or result.code == EXIT_INTERNAL:
        raise AssertionError(f"expected a clean failure (exit 1..69), got:\n{result}")
    if not result.err.strip():
        raise AssertionError(f"failed without a message on stderr:\n{result}")
    return result


def default_settings(backup_dir, roots, passphrase_file):
    return {"BACKUP_DIR": backup_dir, "BACKUP_PATHS": ":".join(roots),
            "BACKUP_PASSPHRASE_FILE": passphrase_file}


def write_passphrase(path, passphrase=PASSPHRASE):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(passphrase + "\n")
    os.chmod(path, 0o600)
    return path


# ---------------------------------------------------------------- tree snapshots

class Entry(NamedTuple):
    type: str                  # "dir", "file", "symlink" or "other"
    mode: int                  # permission bits (07777); 0 for symlinks
    size: int                  # files only, else 0
    content: Optional[str]     # files: sha256; symlinks: the target, verbatim
    mtime_ns: Optional[int]    # files (and dirs when asked for); None otherwise
    links: tuple = ()          # files: all paths in the snapshot sharing this inode, if > 1

    def describe(self):
        parts = [self.type]
        if self.type != "symlink":
            parts.append(f"mode={self.mode:04o}")
        if self.type == "file":
            parts += [f"size={self.size}", f"sha256={self.content[:16]}"]
        if self.type == "symlink":
            parts.append(f"-> {self.content!r}")
        if self.mtime_ns is not None:
            parts.append(f"mtime_ns={self.mtime_ns}")
        if self.links:
            parts.append("hard links=" + ", ".join(show(p) for p in self.links))
        return " ".join(parts)


def show(path):
    """A path as a readable one-line string (newlines escaped, unicode kept)."""
    return json.dumps(path, ensure_ascii=False)


def _sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def snapshot_tree(root, dir_mtimes=False):
    """{relative path ('/'-separated, root itself excluded): Entry} for everything under root.

    Files are compared by content, permission bits and mtime (ns); symlinks by target;
    directories by existence and permission bits (their mtimes change whenever their content
    does, so they are left out unless dir_mtimes). Hard links: each file lists every path in
    the snapshot that shares its inode. Owners and atimes are not compared."""
    entries, inodes = {}, {}

    def walk(abs_dir, rel_dir):
        with os.scandir(abs_dir) as it:
            names = sorted(e.name for e in it)
        for name in names:
            p = os.path.join(abs_dir, name)
            rel = f"{rel_dir}/{name}" if rel_dir else name
            st = os.lstat(p)
            mode = stat.S_IMODE(st.st_mode)
            if stat.S_ISDIR(st.st_mode):
                entries[rel] = Entry("dir", mode, 0, None, st.st_mtime_ns if dir_mtimes else None)
                walk(p, rel)
            elif stat.S_ISREG(st.st_mode):
                entries[rel] = Entry("file", mode, st.st_size, _sha256(p), st.st_mtime_ns)
                if st.st_nlink > 1:
                    inodes.setdefault((st.st_dev, st.st_ino), []).append(rel)
            elif stat.S_ISLNK(st.st_mode):
                entries[rel] = Entry("symlink", 0, 0, os.readlink(p), None)
            else:
                entries[rel] = Entry("other", mode, 0, None, None)

    walk(root, "")
    for group in inodes.values():
        if len(group) > 1:
            for rel in group:
                entries[rel] = entries[rel]._replace(links=tuple(sorted(group)))
    return entries


def subtree(snapshot, prefix):
    """The entries at `prefix` and below it."""
    return {k: v for k, v in snapshot.items() if k == prefix or k.startswith(prefix + "/")}


def ancestors(path):
    """'a/b/c' -> ['a', 'a/b']"""
    parts = path.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts))]


def diff_trees(expected, actual):
    """Human-readable differences, one line each."""
    lines = []
    for k in sorted(set(expected) | set(actual)):
        e, a = expected.get(k), actual.get(k)
        if a is None:
            lines.append(f"missing    {show(k)}: expected {e.describe()}")
        elif e is None:
            lines.append(f"unexpected {show(k)}: {a.describe()}")
        elif e != a:
            fields = [f"{f} expected {getattr(e, f)!r} got {getattr(a, f)!r}"
                      for f in Entry._fields if getattr(e, f) != getattr(a, f)]
            lines.append(f"differs    {show(k)}: " + "; ".join(fields))
    return lines


def assert_trees_equal(expected, actual, what="restored tree"):
    lines = diff_trees(expected, actual)
    if lines:
        shown = "\n  ".join(lines[:50])
        more = f"\n  ... and {len(lines) - 50} more" if len(lines) > 50 else ""
        raise AssertionError(f"{what} differs from the original in {len(lines)} entries "
                             f"({len(expected)} expected, {len(actual)} found):\n  {shown}{more}")


def tree_bytes(root):
    """Total size of the regular files under root."""
    total = 0
    for dirpath, _, files in os.walk(root):
        for name in files:
            st = os.lstat(os.path.join(dirpath, name))
            if stat.S_ISREG(st.st_mode):
                total += st.st_size
    return total


# ---------------------------------------------------------------- repository files

def repo_fingerprint(backup_dir, exclude=("backup_log.json", "locks")):
    """{relative path: sha256} of the repository's files, leaving out the top-level names in
    `exclude` (the attempt log grows on every run; lock files come and go)."""
    out = {}
    for dirpath, dirnames, files in os.walk(backup_dir):
        rel_dir = os.path.relpath(dirpath, backup_dir)
        if rel_dir == ".":
            dirnames[:] = [d for d in dirnames if d not in exclude]
            files = [f for f in files if f not in exclude]
        for name in files:
            p = os.path.join(dirpath, name)
            rel = os.path.relpath(p, backup_dir)
            out[rel] = _sha256(p) if os.path.isfile(p) and not os.path.islink(p) else "not a file"
    return out


def repo_files(backup_dir, subdir):
    """Sorted paths of the committed files under BACKUP_DIR/subdir (temp names left out)."""
    out = []
    for dirpath, _, files in os.walk(os.path.join(backup_dir, subdir)):
        out += [os.path.join(dirpath, f) for f in files if not f.startswith(".tmp")]
    return sorted(out)


def pack_files(backup_dir):
    return repo_files(backup_dir, "data")


def file_contains(root, needle):
    """Paths of the files under root whose bytes contain `needle` (bytes)."""
    hits = []
    for dirpath, _, files in os.walk(root):
        for name in files:
            p = os.path.join(dirpath, name)
            if os.path.isfile(p) and not os.path.islink(p):
                with open(p, "rb") as f:
                    if needle in f.read():
                        hits.append(p)
    return hits


def flip_byte(path, offset=None):
    """Inverts one byte (default: the middle one) in place. Returns the offset."""
    size = os.path.getsize(path)
    if size == 0:
        raise AssertionError(f"{path} is empty: nothing to damage")
    offset = size // 2 if offset is None else offset
    mode = stat.S_IMODE(os.stat(path).st_mode)
    os.chmod(path, mode | stat.S_IWUSR)
    with open(path, "r+b") as f:
        f.seek(offset)
        b = f.read(1)
        f.seek(offset)
        f.write(bytes([b[0] ^ 0xFF]))
    os.chmod(path, mode)
    return offset


def read_backup_log(backup_dir):
    path = os.path.join(backup_dir, "backup_log.json")
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        log = json.load(f)
    if not isinstance(log, list):
        raise AssertionError(f"{path} is not a JSON array")
    return log


def remove_tree(path):
    def retry_writable(func, p, _exc):
        try:
            os.chmod(os.path.dirname(p), 0o700)
            os.chmod(p, 0o700)
        except OSError:
            pass
        func(p)
    if os.environ.get("COFFER_KEEP_TMP"):
        print(f"kept {path}", file=sys.stderr)
        return
    shutil.rmtree(path, onerror=retry_writable)


def new_temp_dir(label):
    return tempfile.mkdtemp(prefix=f"coffer-itest-{label}-")


# ---------------------------------------------------------------- test case base

class CofferTestCase(unittest.TestCase):
    """Per test: a temp dir (removed afterwards), a passphrase file (0600) and default settings
    {BACKUP_DIR: tmp/repo, BACKUP_PATHS: the roots of tmp/src, BACKUP_PASSPHRASE_FILE}.
    Call self.make_tree() to fill tmp/src."""

    maxDiff = None

    def setUp(self):
        super().setUp()
        try:
            self.bin = coffer_binary()
        except AssertionError as e:
            self.fail(str(e))
        self.tmp = new_temp_dir(self._testMethodName)
        self.addCleanup(remove_tree, self.tmp)
        self.passphrase_file = write_passphrase(os.path.join(self.tmp, "passphrase"))
        self.src = os.path.join(self.tmp, "src")
        self.backup_dir = os.path.join(self.tmp, "repo")
        self.env = default_settings(self.backup_dir, make_tree.root_paths(self.src), self.passphrase_file)

    # -- running
    def coffer(self, *args, env=None, settings=None, expect=None, cwd=None, timeout=COMMAND_TIMEOUT):
        """Runs coffer with self.env updated by `env` (or exactly `settings`). A value of None in
        `env` removes that variable. With `expect`, asserts the exit code."""
        s = dict(self.env if settings is None else settings)
        s.update(env or {})
        r = run_coffer(args, s, cwd or self.tmp, timeout)
        if expect is not None:
            check(r, *(expect if isinstance(expect, tuple) else (expect,)))
        return r

    def coffer_json(self, *args, expect=0, **kw):
        r = self.coffer("--json", *args, expect=expect, **kw)
        return r, r.json()

    def create(self, backup_type, **kw):
        """Runs create --type T --json, expects success; returns the parsed output."""
        _, out = self.coffer_json("create", "--type", backup_type, **kw)
        self.assertIsInstance(out, dict, "create --json must print an object")
        self.assertEqual(out.get("status"), "success", out)
        return out

    def list_backups(self, **kw):
        _, out = self.coffer_json("list", **kw)
        self.assertIsInstance(out, list, "list --json must print an array")
        return out

    def restore(self, backup_id, target=None, *extra, expect=0, **kw):
        args = ["restore", backup_id, "--type", "files"]
        if target is not None:
            args += ["--target", target]
        return self.coffer(*args, *extra, expect=expect, **kw)

    # -- trees
    def make_tree(self, scale=0.05, seed=1, odd=False, dest=None):
        return make_tree.create(dest or self.src, scale=scale, seed=seed, odd=odd)

    def new_dir(self, label):
        """A fresh, not yet existing path inside the test's temp dir."""
        path = os.path.join(self.tmp, label)
        n = 2
        while os.path.lexists(path):
            path, n = os.path.join(self.tmp, f"{label}-{n}"), n + 1
        return path

    def restore_and_compare(self, backup_id, expected, label=None, *extra, env=None):
        """Restores `backup_id` with --target into a new dir and compares it with `expected`
        (a snapshot of the source dir holding the roots). Returns the target."""
        target = self.new_dir(label or f"restore-{backup_id}")
        self.restore(backup_id, target, *extra, env=env)
        assert_trees_equal(expected, snapshot_tree(target), f"restore of {backup_id}")
        return target
