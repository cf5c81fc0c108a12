"""Every exception class raised by a real failure, each a BackupError carrying coffer's message
and never a secret."""

import glob
import os
import threading

import pytest

import backup
from backup import BackupConfig, BackupManager
from conftest import make_files


def files_manager(**settings):
    make_files("data")
    return BackupManager(BackupConfig(backup_dir="./backups", backup_paths=["data"], **settings))


def test_wrong_database_password_is_a_database_error_without_the_password(pg, database):
    db = database()
    manager = BackupManager(BackupConfig(backup_dir="./backups", db_host=pg.host, db_port=int(pg.port),
                                         db_user="coffer_pw", db_password="not-the-password-1234", db_name=db))
    with pytest.raises(backup.DatabaseError) as e:
        manager.create_backup("full", "database")
    assert isinstance(e.value, backup.BackupError)
    assert e.value.category == "database"
    assert "not-the-password-1234" not in str(e.value)


def test_unknown_backup_id_is_not_found():
    manager = files_manager()
    manager.create_full_backup()
    with pytest.raises(backup.NotFoundError) as e:
        manager.restore("full_19990101_000000", "files", target="out")
    assert "full_19990101_000000" in e.value.message


def test_locked_repository_is_a_lock_held_error():
    """A backup paused in its progress callback holds its lock; a cleanup meanwhile is refused."""
    manager = files_manager()
    manager.create_full_backup()
    make_files("data", count=20, size=300_000, seed=2)
    paused, resume = threading.Event(), threading.Event()

    def hold(progress):
        if progress.phase == "backup":
            paused.set()
            resume.wait(60)

    running = BackupManager(manager.config, progress=hold)
    worker = threading.Thread(target=running.create_full_backup)
    worker.start()
    try:
        assert paused.wait(60), "the backup never reported progress"
        with pytest.raises(backup.LockHeldError) as e:
            manager.cleanup()
        assert isinstance(e.value, backup.InputError)
        assert "locked by" in str(e.value)
    finally:
        resume.set()
        worker.join(120)
    assert len(manager.list_backups()) == 2


def test_damaged_pack_is_an_integrity_error():
    manager = files_manager()
    b = manager.create_full_backup()
    packs = sorted(glob.glob("backups/data/**/*", recursive=True))
    packs = [p for p in packs if os.path.isfile(p)]
    assert packs
    for pack in packs:
        with open(pack, "r+b") as f:
            f.seek(os.path.getsize(pack) // 2)
            byte = f.read(1)
            f.seek(-1, os.SEEK_CUR)
            f.write(bytes([byte[0] ^ 0xFF]))
    assert manager.verify(read_data=True).ok is False
    with pytest.raises(backup.IntegrityError):
        manager.restore(b.backup_id, "files", target="out")


def test_wrong_passphrase_is_an_auth_error():
    files_manager().create_full_backup()
    with open("wrong", "w") as f:
        f.write("a wrong passphrase 42\n")
    os.chmod("wrong", 0o600)
    other = BackupManager(BackupConfig(backup_dir="./backups", passphrase_file="wrong"))
    with pytest.raises(backup.AuthError) as e:
        other.list_backups()
    assert "a wrong passphrase 42" not in str(e.value)


def test_bad_setting_is_a_config_error_naming_it():
    with pytest.raises(backup.ConfigError) as e:
        BackupConfig(retention_days=0)
    assert "RETENTION_DAYS" in str(e.value)


def test_missing_backup_path_is_an_input_or_config_error():
    manager = BackupManager(BackupConfig(backup_dir="./backups", backup_paths=["no-such-folder"]))
    with pytest.raises(backup.BackupError) as e:
        manager.create_full_backup()
    assert "BACKUP_PATHS" in str(e.value)


def test_storage_error_when_the_repository_cannot_be_made():
    open("not-a-folder", "w").close()
    manager = BackupManager(BackupConfig(backup_dir="not-a-folder/backups", backup_paths=["."]))
    with pytest.raises(backup.StorageError) as e:
        manager.create_full_backup()
    assert "not-a-folder" in str(e.value)
