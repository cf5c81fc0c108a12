"""The rest of the API on a real repository: the three backup types, pin/unpin, verify, cleanup,
status, history, restore's options, unlock and repair_index; BackupType taking strings."""

import os

import pytest

from backup import BackupConfig, BackupManager, BackupType
from conftest import make_files


@pytest.fixture
def manager():
    make_files("data", count=6)
    return BackupManager(BackupConfig(backup_dir="backups", backup_paths=["data"], keep_last=1))


def test_the_three_types_and_their_listing(manager):
    full = manager.create_full_backup()
    with open("data/d0/f0.bin", "ab") as f:
        f.write(b"more")
    inc = manager.create_incremental_backup()
    diff = manager.create_backup("differential", "files")
    assert (inc.parent, diff.parent) == (full.backup_id, full.backup_id)
    assert inc.files_read == 1
    listed = manager.list_backups()
    assert [b.backup_type for b in listed] == [BackupType.FULL, BackupType.INCREMENTAL, BackupType.DIFFERENTIAL]
    assert [b.backup_type for b in listed] == ["full", "incremental", "differential"]
    assert [r.backup_id for r in manager.history()] == [b.backup_id for b in listed]
    with pytest.raises(ValueError):
        manager.create_backup("weekly")


def test_pin_cleanup_verify_status(manager):
    first = manager.create_full_backup(keep=True)
    second = manager.create_full_backup()
    assert first.pinned and manager.pin(first.backup_id) is False
    assert manager.unpin(first.backup_id) is True and manager.pin("latest") is True
    plan = manager.cleanup(dry_run=True)
    assert plan.dry_run and {d.backup_id for d in plan.backups} == {first.backup_id, second.backup_id}
    assert manager.cleanup().removed == []  # within RETENTION_DAYS: all stay
    check = manager.verify(read_data=True)
    assert check.ok and check.backups_checked == 2
    status = manager.status()
    assert status.backups == 2 and status.newest.backup_id == second.backup_id
    assert status.newest_full.backup_id == second.backup_id
    assert status.last_failure is None and status.repository_bytes > 0
    assert manager.unlock() == []
    assert manager.repair_index(dry_run=True).packs_scanned >= 1


def test_restore_options(manager):
    b = manager.create_full_backup()
    result = manager.restore(b.backup_id, "files", target="out", paths=["data/d1"])
    restored = sorted(os.path.relpath(os.path.join(d, f), "out") for d, _, fs in os.walk("out") for f in fs)
    assert restored and all("/d1/" in p for p in restored)
    assert result.files_restored == len(restored)
    again = manager.restore(b.backup_id, "files", target="out", existing="skip")
    assert again.files_restored == 6 - len(restored) and again.files_kept == len(restored)
    assert manager.restore_from_backup(b.backup_id, "files", target="out") is True


def test_drill_proves_a_backup_of_database_and_files(database, pg):
    make_files("data", count=4)
    source = database()
    m = BackupManager(BackupConfig(backup_dir="backups", backup_paths=["data"], db_host=pg.host, db_port=int(pg.port),
                                   db_user=pg.user, db_name=source))
    backup = m.create_full_backup()
    result = m.drill()
    assert result.passed, [(c.part, c.name, c.status, c.detail) for c in result.checks]
    assert result.backup_id == backup.backup_id
    assert result.tables == 10 and result.files == 4 and result.indexes > 0
    assert {(c.part, c.name) for c in result.checks} >= {("database", "restore"), ("database", "read through"),
                                                          ("files", "file contents")}
    assert not pg.exists(result.scratch_db) and not os.path.exists(result.scratch_dir)
    assert m.history()[-1].backup_type == "drill"

