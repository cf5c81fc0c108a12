"""coffer's backups from Python: the guide's programmatic API on coffer's engine.

    from backup import BackupConfig, BackupManager, BackupType

    config = BackupConfig(db_host="localhost", db_port=5432, db_name="innovative_school",
                          db_user="postgres", db_password="password", backup_dir="./backups",
                          retention_days=30, compression=True, s3_bucket="innovative-school-backups")
    manager = BackupManager(config)
    backups = manager.create_full_backup()
    all_backups = manager.list_backups()
    success = manager.restore_from_backup("backup_id", "full")

coffer's log goes to the logger "backup" (logging.basicConfig(level=logging.DEBUG) shows its
debug lines); failures are backup.errors exceptions. `python3 -m backup ...` runs the coffer
command with the same arguments.
"""

import atexit

from . import _core
from .backup_type import BackupType
from .config import BackupConfig
from .errors import (AuthError, BackupError, ConfigError, DatabaseError, InputError, IntegrityError, InternalError,
                     LockHeldError, NotFoundError, StorageError)
from .manager import BackupManager, Status

BackupInfo = _core.BackupInfo
HistoryRecord = _core.HistoryRecord
Progress = _core.Progress
RestoreResult = _core.RestoreResult
VerifyResult = _core.VerifyResult
DrillResult = _core.DrillResult
CleanupResult = _core.CleanupResult
PointInTimeResult = _core.PointInTimeResult
WalArchiveStatus = _core.WalArchiveStatus

atexit.register(_core._close_log_bridge)

__all__ = ["BackupConfig", "BackupManager", "BackupType", "Status", "BackupInfo", "HistoryRecord", "Progress",
           "RestoreResult", "VerifyResult", "DrillResult", "CleanupResult", "PointInTimeResult", "WalArchiveStatus",
           "BackupError", "ConfigError", "InputError", "LockHeldError", "NotFoundError", "IntegrityError",
           "StorageError", "DatabaseError", "AuthError", "InternalError"]
