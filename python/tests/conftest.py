"""Fixtures of the backup package's tests: a clean environment per test (no coffer setting from
outside; a passphrase file), a working folder, the test PostgreSQL server (COFFER_TEST_PG*, as
scripts/test.sh starts it) and the test S3 server (COFFER_TEST_S3_*). Missing servers fail the
tests, they never skip them. Run from ctest (PYTHONPATH = the build tree's python/)."""

import os
import re
import sys
import uuid

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "fixtures"))
from pg_fixture import PgServer  # noqa: E402

SETTING = re.compile(r"^(BACKUP_|DB_|S3_|AWS_|KEEP_|RETENTION_|COMPRESSION|ENCRYPTION|LOCK_WAIT|ARCHIVE_TIMEOUT|"
                     r"WAL_KEY_CACHE|PG)")
PASSPHRASE = "python module test passphrase"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    """No coffer setting from outside; BACKUP_PASSPHRASE_FILE set, as on a configured machine;
    the working folder is the test's own."""
    for name in list(os.environ):
        if SETTING.match(name):
            monkeypatch.delenv(name)
    passphrase_file = tmp_path / "passphrase"
    passphrase_file.write_text(PASSPHRASE + "\n")
    passphrase_file.chmod(0o600)
    monkeypatch.setenv("BACKUP_PASSPHRASE_FILE", str(passphrase_file))
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def pg():
    return PgServer.from_env()


@pytest.fixture
def database(pg):
    """A new database holding the school fixture, dropped afterwards; yields its name."""
    names = []

    def make(name=None):
        name = name or f"py_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        pg.drop_db(name)
        pg.create_db(name)
        pg.load_fixture(name, scale=0.2)
        names.append(name)
        return name

    yield make
    for name in names:
        pg.drop_db(name)


@pytest.fixture
def drop_after(pg):
    """Databases a test restores into: dropped afterwards."""
    names = []
    yield names.append
    for name in names:
        pg.drop_db(name)


@pytest.fixture
def s3_env(monkeypatch):
    """S3_ENDPOINT and the keys of the test S3 server in the environment, a fresh prefix; returns
    the server's settings."""
    names = ("ENDPOINT", "BUCKET", "ACCESS_KEY", "SECRET_KEY")
    missing = [f"COFFER_TEST_S3_{n}" for n in names if not os.environ.get(f"COFFER_TEST_S3_{n}")]
    if missing:
        pytest.fail(f"{', '.join(missing)} not set: run via scripts/test.sh (it starts the S3 server)")
    s3 = {n: os.environ[f"COFFER_TEST_S3_{n}"] for n in names}
    monkeypatch.setenv("S3_ENDPOINT", s3["ENDPOINT"])
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3["ACCESS_KEY"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3["SECRET_KEY"])
    monkeypatch.setenv("S3_PREFIX", f"python-tests/{uuid.uuid4().hex}/")
    monkeypatch.setenv("S3_RETRY_SECONDS", "3")
    return s3


def make_files(root, count=5, size=10_000, seed=1):
    """`count` files of pseudo-random bytes under `root`; returns {relative path: bytes}."""
    import random
    rng = random.Random(seed)
    out = {}
    for i in range(count):
        path = os.path.join(root, f"d{i % 3}", f"f{i}.bin")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        data = rng.randbytes(size)
        with open(path, "wb") as f:
            f.write(data)
        out[os.path.relpath(path, root)] = data
    return out
