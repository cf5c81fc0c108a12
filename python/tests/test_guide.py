"""The guide's example, verbatim but for the server's address (the test's throwaway PostgreSQL,
whose superuser is trusted on loopback, so the guide's password is not checked), against a real
repository with its off-site copy on the test S3 server; then a restore into a new database,
compared table by table; the listing's fields; the logging bridge."""

import datetime
import logging
import os
import urllib.error
import urllib.request

import pytest

from backup import BackupConfig, BackupManager, BackupType

GUIDE_DB = "innovative_school"
GUIDE_BUCKET = "innovative-school-backups"


def make_bucket(endpoint, bucket):
    """The guide's bucket on the test S3 server (which takes unsigned requests)."""
    try:
        urllib.request.urlopen(urllib.request.Request(f"{endpoint}/{bucket}", method="PUT"), timeout=30)
    except urllib.error.HTTPError as e:
        if e.code != 409:  # it exists already
            raise


@pytest.fixture
def guide_db(pg, database):
    database(GUIDE_DB)
    return pg


def test_the_guides_example_then_a_restore_into_a_new_database(guide_db, s3_env, drop_after, caplog):
    pg = guide_db
    make_bucket(s3_env["ENDPOINT"], GUIDE_BUCKET)
    PG_HOST, PG_PORT = pg.host, int(pg.port)

    config = BackupConfig(
        db_host=PG_HOST,
        db_port=PG_PORT,
        db_name="innovative_school",
        db_user="postgres",
        db_password="password",
        backup_dir="./backups",
        retention_days=30,
        compression=True,
        s3_bucket="innovative-school-backups"
    )
    manager = BackupManager(config)
    backups = manager.create_full_backup()
    all_backups = manager.list_backups()
    success = manager.restore_from_backup(backups.backup_id, "full")

    assert success is True
    assert backups.backup_type == BackupType.FULL == "full"
    assert backups.offsite_copy is not None and backups.offsite_copy.copied, backups.offsite_copy.error
    assert [b.backup_id for b in all_backups] == [backups.backup_id]
    listed = all_backups[0]
    assert listed.status == "success"
    assert isinstance(listed.timestamp, datetime.datetime) and listed.timestamp.utcoffset() == datetime.timedelta(0)
    assert listed.size_bytes == backups.size_bytes
    assert listed.metadata["database"]["name"] == GUIDE_DB
    assert {t.name for t in listed.database.tables} == {name for _, name in pg.tables(GUIDE_DB)}
    assert os.path.isfile("backups/backup_log.json")
    assert manager.history()[-1].backup_id == backups.backup_id

    # A restore into a new database has every table with the same rows; coffer's debug lines
    # reach the logger "backup" only when it is set to DEBUG.
    copy = f"{GUIDE_DB}_copy_{os.getpid()}"
    drop_after(copy)
    assert not [r for r in caplog.records if r.levelno < logging.INFO]
    caplog.set_level(logging.DEBUG, logger="backup")
    result = manager.restore(backups.backup_id, "database", target_db=copy)
    assert result.database.dbname == copy
    assert result.database.row_count_mismatches == []
    assert pg.checksums(copy) == pg.checksums(GUIDE_DB)
    debug = [r.getMessage() for r in caplog.records if r.name == "backup" and r.levelno == logging.DEBUG]
    assert any("database restore" in m for m in debug), debug


def test_restore_from_backup_answers_false_and_logs_why(caplog):
    manager = BackupManager(BackupConfig(backup_dir="./backups", backup_paths=["."]))
    manager.create_full_backup()
    assert manager.restore_from_backup("full_19990101_000000", "files", target="out") is False
    assert any("full_19990101_000000" in r.getMessage() for r in caplog.records if r.levelno == logging.ERROR)


def test_debug_lines_show_only_when_asked(pg, database, drop_after):
    """The guide's switch, logging.basicConfig(level=logging.DEBUG), in a fresh interpreter: a
    database restore's debug lines are on stderr with it, and absent without it."""
    import subprocess
    import sys
    source = database()
    script = ("import logging, sys\n"
              "if sys.argv[1] == 'debug': logging.basicConfig(level=logging.DEBUG)\n"
              "from backup import BackupConfig, BackupManager\n"
              f"m = BackupManager(BackupConfig(backup_dir='b', db_host='{pg.host}', db_port={pg.port}, "
              f"db_user='{pg.user}', db_name='{source}'))\n"
              "b = m.create_full_backup()\n"
              "m.restore(b.backup_id, 'database', target_db=sys.argv[2])\n")
    for mode in ("debug", "default"):
        target = f"{source}_{mode}"
        drop_after(target)
        p = subprocess.run([sys.executable, "-c", script, mode, target], capture_output=True, text=True, timeout=300)
        assert p.returncode == 0, p.stderr
        assert ("DEBUG:backup:database restore" in p.stderr) == (mode == "debug"), p.stderr
