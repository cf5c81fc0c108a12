# Type stubs of the backup package (coffer's Python API); docstrings are in the modules.
import datetime
import enum
import os
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

from .errors import (AuthError as AuthError, BackupError as BackupError, ConfigError as ConfigError,
                     DatabaseError as DatabaseError, InputError as InputError, IntegrityError as IntegrityError,
                     InternalError as InternalError, LockHeldError as LockHeldError, NotFoundError as NotFoundError,
                     StorageError as StorageError)

_Path = Union[str, os.PathLike]

class BackupType(str, enum.Enum):
    FULL = "full"
    INCREMENTAL = "incremental"
    DIFFERENTIAL = "differential"

_Type = Union[BackupType, str]

class BackupConfig:
    backup_dir: str
    backup_paths: List[str]
    retention_days: int
    keep_last: int
    keep_daily: int
    keep_weekly: int
    keep_monthly: int
    keep_yearly: int
    lock_wait_seconds: int
    compression: bool
    compression_algorithm: str
    compression_level: int
    db_compression_keep_up: bool
    encryption: bool
    passphrase: Optional[str]
    passphrase_file: str
    db_host: str
    db_port: int
    db_name: str
    db_user: str
    db_password: Optional[str]
    db_backup_mode: str
    db_data_dir: str
    archive_timeout_seconds: int
    wal_key_cache: bool
    s3_bucket: str
    s3_region: str
    aws_access_key_id: str
    aws_secret_access_key: Optional[str]
    aws_session_token: Optional[str]
    aws_profile: str
    aws_shared_credentials_file: str
    s3_mode: str
    s3_endpoint: str
    s3_prefix: str
    s3_path_style: bool
    s3_storage_class: str
    s3_sse: str
    s3_sse_kms_key_id: str
    s3_ca_bundle: str
    s3_verify_tls: bool
    s3_retry_seconds: int
    def __init__(self, *, config_file: Optional[_Path] = ..., backup_dir: Optional[_Path] = ...,
                 backup_paths: Optional[Sequence[_Path]] = ..., retention_days: Optional[int] = ...,
                 keep_last: Optional[int] = ..., keep_daily: Optional[int] = ..., keep_weekly: Optional[int] = ...,
                 keep_monthly: Optional[int] = ..., keep_yearly: Optional[int] = ...,
                 lock_wait_seconds: Optional[int] = ..., compression: Optional[Union[bool, str]] = ...,
                 compression_algorithm: Optional[str] = ..., compression_level: Optional[int] = ...,
                 db_compression_keep_up: Optional[bool] = ..., encryption: Optional[bool] = ...,
                 passphrase: Optional[str] = ..., passphrase_file: Optional[_Path] = ...,
                 db_host: Optional[str] = ..., db_port: Optional[int] = ..., db_name: Optional[str] = ...,
                 db_user: Optional[str] = ..., db_password: Optional[str] = ..., db_backup_mode: Optional[str] = ...,
                 db_data_dir: Optional[_Path] = ..., archive_timeout_seconds: Optional[int] = ...,
                 wal_key_cache: Optional[bool] = ..., s3_bucket: Optional[str] = ..., s3_region: Optional[str] = ...,
                 aws_access_key_id: Optional[str] = ..., aws_secret_access_key: Optional[str] = ...,
                 aws_session_token: Optional[str] = ..., aws_profile: Optional[str] = ...,
                 aws_shared_credentials_file: Optional[_Path] = ..., s3_mode: Optional[str] = ...,
                 s3_endpoint: Optional[str] = ..., s3_prefix: Optional[str] = ..., s3_path_style: Optional[bool] = ...,
                 s3_storage_class: Optional[str] = ..., s3_sse: Optional[str] = ...,
                 s3_sse_kms_key_id: Optional[str] = ..., s3_ca_bundle: Optional[_Path] = ...,
                 s3_verify_tls: Optional[bool] = ..., s3_retry_seconds: Optional[int] = ...) -> None: ...
    def as_dict(self, secrets: bool = ...) -> Dict[str, Any]: ...

class Progress:
    phase: str
    files_done: int
    files_total: int
    bytes_done: int
    bytes_total: int

class TableRows:
    schema: str
    name: str
    rows: int

class DatabaseInfo:
    name: str
    server_version: str
    server_version_num: int
    pg_dump_version: str
    size_bytes: int
    dump_bytes: int
    tables: List[TableRows]
    duration_seconds: float
    globals: bool

class BackupInfo:
    backup_id: str
    backup_type: BackupType
    timestamp: datetime.datetime
    status: str
    size_bytes: int
    metadata: Dict[str, Any]
    parent: str
    file_count: int
    bytes_added: int
    files_read: int
    duration_seconds: float
    warnings: List[str]
    unreadable: List[str]
    incomplete: bool
    hostname: str
    database: Optional[DatabaseInfo]
    physical: Optional[Any]
    has_files: bool
    pinned: bool
    offsite_copy: Optional[Any]
    offsite: Optional[bool]

class HistoryRecord:
    backup_id: str
    backup_type: Union[BackupType, str]
    timestamp: Optional[datetime.datetime]
    status: str
    size_bytes: int
    file_path: str
    metadata: Dict[str, Any]
    duration_seconds: float
    warnings: List[str]
    error: str
    error_category: str

class RowCountMismatch:
    table: str
    expected: int
    actual: int

class DatabaseRestoreResult:
    dbname: str
    method: str
    kept_as: str
    tables_restored: int
    row_count_mismatches: List[RowCountMismatch]
    warnings: List[str]

class RestoreResult:
    backup_id: str
    files_restored: int
    bytes_restored: int
    files_kept: int
    removed_temps: List[str]
    errors: List[str]
    database: Optional[DatabaseRestoreResult]

class VerifyProblem:
    backup_id: str
    path: str
    object: str
    problem: str

class DrillCheck:
    part: str
    name: str
    status: str
    detail: str

class DrillResult:
    backup_id: str
    passed: bool
    scratch_db: str
    scratch_dir: str
    database_restore_seconds: float
    database_check_seconds: float
    files_restore_seconds: float
    files_check_seconds: float
    duration_seconds: float
    tables: int
    rows: int
    indexes: int
    probes: int
    files: int
    bytes: int
    checks: List[DrillCheck]
    warnings: List[str]

class VerifyResult:
    ok: bool
    backups_checked: int
    chunks_checked: int
    wal_files_checked: int
    problems: List[VerifyProblem]

class CleanupDecision:
    backup_id: str
    backup_type: BackupType
    timestamp: datetime.datetime
    pinned: bool
    keep: bool
    reasons: List[str]

class CleanupResult:
    dry_run: bool
    policy: str
    backups: List[CleanupDecision]
    removed: List[str]
    packs_deleted: int
    packs_rewritten: int
    packs_written: int
    bytes_freed: int
    wal_files_removed: int
    wal_bytes_freed: int
    warnings: List[str]
    duration_seconds: float

class WalArchiveStatus:
    cluster: str
    files: int
    bytes: int
    newest_segment: str
    last_archived: str
    last_archived_time: str
    last_failed: str
    last_failed_time: str
    last_error: str
    failed_pushes: int

class WalPushResult:
    name: str
    cluster: str
    already_archived: bool
    bytes: int
    duration_seconds: float

class PointInTimeResult:
    backup_id: str
    pgdata: str
    target: str
    files_restored: int
    bytes_restored: int
    wal_from: str
    wal_to: str
    start_hint: str
    warnings: List[str]

class LockInfo:
    key: str
    host: str
    pid: int
    command: str
    started: str
    exclusive: bool
    stale_reason: str

class RepairIndexResult:
    dry_run: bool
    packs_scanned: int
    packs_indexed: int
    blobs_indexed: int
    damaged_packs: List[str]
    chunks_before: int
    chunks_recovered: int
    old_index_files: List[str]
    new_index_file: str
    incomplete_backups: List[str]
    warnings: List[str]
    duration_seconds: float

@dataclass
class Status:
    backups: int
    newest: Optional[BackupInfo]
    newest_full: Optional[BackupInfo]
    last_failure: Optional[HistoryRecord]
    repository_bytes: int
    wal_archives: List[WalArchiveStatus]

class BackupManager:
    config: BackupConfig
    def __init__(self, config: BackupConfig, progress: Optional[Callable[[Progress], None]] = ...,
                 source_s3: bool = ..., no_lock: bool = ...) -> None: ...
    def set_progress_callback(self, progress: Optional[Callable[[Progress], None]]) -> None: ...
    def create_full_backup(self, scope: str = ..., keep: bool = ...) -> BackupInfo: ...
    def create_incremental_backup(self, scope: str = ..., keep: bool = ...) -> BackupInfo: ...
    def create_differential_backup(self, scope: str = ..., keep: bool = ...) -> BackupInfo: ...
    def create_backup(self, backup_type: _Type = ..., scope: str = ..., keep: bool = ...) -> BackupInfo: ...
    def init_repository(self) -> None: ...
    def list_backups(self) -> List[BackupInfo]: ...
    def history(self) -> List[HistoryRecord]: ...
    def repository_bytes(self) -> int: ...
    def status(self) -> Status: ...
    def restore_from_backup(self, backup_id: str, restore_type: str = ..., **options: Any) -> bool: ...
    def restore(self, backup_id: str, restore_type: str = ..., *, target: Optional[_Path] = ...,
                paths: Sequence[_Path] = ..., target_db: Optional[str] = ..., tables: Sequence[str] = ...,
                existing: str = ..., overwrite: bool = ..., partial: bool = ..., clean: bool = ...,
                jobs: int = ...) -> RestoreResult: ...
    def restore_to_point_in_time(self, pgdata: _Path, backup_id: str = ..., *, to_time: Optional[str] = ...,
                                 to_lsn: Optional[str] = ..., to_xid: Optional[str] = ..., to_name: Optional[str] = ...,
                                 immediate: bool = ..., target_action: str = ..., target_timeline: str = ...,
                                 tablespaces: Sequence[Tuple[str, str]] = ..., restore_command: str = ...,
                                 program: str = ...) -> PointInTimeResult: ...
    def verify(self, backup_id: Optional[str] = ..., read_data: bool = ...) -> VerifyResult: ...
    def drill(self, backup_id: str = ..., scratch_db: Optional[str] = ..., jobs: int = ...,
              program: str = ...) -> DrillResult: ...
    def cleanup(self, dry_run: bool = ..., force: bool = ...) -> CleanupResult: ...
    def pin(self, backup_id: str) -> bool: ...
    def unpin(self, backup_id: str) -> bool: ...
    def unlock(self, all: bool = ...) -> List[LockInfo]: ...
    def repair_index(self, dry_run: bool = ...) -> RepairIndexResult: ...
    def check_s3_settings(self) -> None: ...
    def wal_push(self, path: _Path) -> WalPushResult: ...
    def wal_fetch(self, name: str, destination: _Path) -> bool: ...
    def wal_status(self, list_archive: bool = ...) -> List[WalArchiveStatus]: ...
