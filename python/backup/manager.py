"""BackupManager: the guide's programmatic API on coffer's engine."""

import logging
import os
from dataclasses import dataclass
from typing import List, Optional

from . import _core
from .backup_type import BackupType
from .config import BackupConfig
from .errors import BackupError

_log = logging.getLogger("backup")
_SCOPES = ("full", "all", "database", "files")


def _type_name(backup_type):
    return BackupType(backup_type).value  # ValueError names a bad one


def _scope_name(scope):
    scope = str(scope)
    if scope not in _SCOPES:
        raise ValueError(f"unknown scope {scope!r}: full (or all), database or files")
    return scope


@dataclass
class Status:
    """What `coffer status` reports: the newest backups, the last failures, the sizes."""

    backups: int
    newest: Optional[object]             # BackupInfo of the newest backup, None when none
    newest_full: Optional[object]
    last_failure: Optional[object]       # HistoryRecord of the newest failed attempt, if any
    repository_bytes: int
    wal_archives: List[object]           # WalArchiveStatus per cluster


class BackupManager:
    """Backs up, lists, restores, verifies and cleans up coffer's repository for one BackupConfig.

    Every call raises a backup.errors.BackupError subclass on failure (except
    restore_from_backup, which answers True/False as in the guide). Long calls release the GIL
    and stop on Ctrl-C with KeyboardInterrupt, leaving the repository as a killed coffer would
    (nothing half-committed; the next cleanup removes what the stopped call wrote).
    `progress`, when given, is called with a Progress (phase, files_done/total,
    bytes_done/total) a few times a second during long calls, from coffer's threads with the GIL
    held; an exception it raises stops the call and is raised by it. Warnings and coffer's log go
    to the logger "backup".
    """

    def __init__(self, config: BackupConfig, progress=None, source_s3=False, no_lock=False):
        if not isinstance(config, BackupConfig):
            raise TypeError("BackupManager needs a backup.BackupConfig")
        self.config = config
        self._m = _core.Manager(config._core)
        self._m.set_progress(progress)
        self._m.set_source_s3(bool(source_s3))
        self._m.set_no_lock(bool(no_lock))

    def set_progress_callback(self, progress):
        """Sets (or with None, removes) the progress callback."""
        self._m.set_progress(progress)

    # -- create
    def create_full_backup(self, scope="full", keep=False):
        """A full backup of what is configured (BACKUP_PATHS and DB_NAME); returns its BackupInfo."""
        return self.create_backup(BackupType.FULL, scope, keep)

    def create_incremental_backup(self, scope="full", keep=False):
        """The changes since the newest backup (a full one when there is none)."""
        return self.create_backup(BackupType.INCREMENTAL, scope, keep)

    def create_differential_backup(self, scope="full", keep=False):
        """The changes since the newest full backup (a full one when there is none)."""
        return self.create_backup(BackupType.DIFFERENTIAL, scope, keep)

    def create_backup(self, backup_type="full", scope="full", keep=False):
        """A backup of `backup_type` (BackupType or "full"/"incremental"/"differential") of
        `scope`: "full" (files and database), "database" or "files". `keep` pins it."""
        return self._m.create_backup(_type_name(backup_type), _scope_name(scope), bool(keep))

    def init_repository(self):
        """Creates the repository in backup_dir (create does it on first use)."""
        self._m.init_repository()

    # -- read
    def list_backups(self):
        """The committed backups, oldest first, as BackupInfo (backup_id, backup_type,
        timestamp (aware datetime), status, size_bytes, metadata dict, ...)."""
        return self._m.list_backups()

    def history(self):
        """backup_log.json's records (every create and cleanup attempt), oldest first."""
        return self._m.history()

    def repository_bytes(self):
        """The repository's size in bytes (backup_log.json excluded); 0 when there is none."""
        return self._m.repository_bytes()

    def status(self):
        """The newest backups, the newest failure, the repository's size and the WAL archives."""
        backups = self.list_backups()
        fulls = [b for b in backups if b.backup_type == BackupType.FULL]
        failures = [r for r in self.history() if r.status == "failed"]
        return Status(len(backups), backups[-1] if backups else None, fulls[-1] if fulls else None,
                      failures[-1] if failures else None, self.repository_bytes(), self._m.wal_status(False))

    # -- restore
    def restore_from_backup(self, backup_id, restore_type="full", **options):
        """The guide's call: restores `backup_id` ("latest" allowed) and answers True, or False
        when the restore failed (the reason is logged to the logger "backup" at ERROR).
        `restore_type`: "full" (database and files), "database" or "files". As the guide's, it
        puts the backup's state back: the database's tables are replaced (clean=True; coffer
        swaps the restored copy in only after its row counts checked out) and files that differ
        from the backup are replaced (existing="if-different"). `options` as restore()'s
        override that. Use restore() for the result and the exception."""
        if self.config.db_name:  # (clean asks for a database part: none without DB_NAME)
            options.setdefault("clean", True)
        options.setdefault("existing", "if-different")
        try:
            self.restore(backup_id, restore_type, **options)
            return True
        except BackupError as e:
            _log.error("restore of %s failed: %s", backup_id, e)
            return False

    def restore(self, backup_id, restore_type="full", *, target=None, paths=(), target_db=None, tables=(),
                existing="fail", overwrite=False, partial=False, clean=False, jobs=2):
        """Restores `backup_id` ("latest" allowed); returns a RestoreResult.

        restore_type: "full" (database and files), "database" or "files".
        target: restore the files under this folder instead of their original paths.
        paths: only these paths inside the backup. existing: what a file finds in its place:
        "fail" (default), "skip", "if-different" or "overwrite" (overwrite=True: the same).
        partial: skip damaged files instead of failing. target_db: restore the database into
        this one (created when missing). tables: only these ("t" or "schema.t"). clean: restore
        into a database that has tables (drops them). jobs: pg_restore -j.
        """
        if overwrite:
            existing = "overwrite"
        return self._m.restore(str(backup_id), _scope_name(restore_type),
                               None if target is None else os.fspath(target), [os.fspath(p) for p in paths],
                               target_db, list(tables), existing, bool(partial), bool(clean), int(jobs))

    def restore_to_point_in_time(self, pgdata, backup_id="latest", *, to_time=None, to_lsn=None, to_xid=None,
                                 to_name=None, immediate=False, target_action="pause", target_timeline="latest",
                                 tablespaces=(), restore_command="", program="coffer"):
        """Writes a physical backup into the empty folder `pgdata`, set up to recover to the
        target (at most one of to_time (with its UTC offset), to_lsn, to_xid, to_name,
        immediate) when PostgreSQL starts there; returns a PointInTimeResult."""
        return self._m.restore_to_point_in_time(str(backup_id), os.fspath(pgdata), to_time, to_lsn, to_xid, to_name,
                                                bool(immediate), target_action, str(target_timeline),
                                                [(str(a), str(b)) for a, b in tablespaces], restore_command, program)

    # -- upkeep
    def verify(self, backup_id=None, read_data=False):
        """Checks the repository (one backup, or all); read_data also decrypts and re-hashes
        every chunk. Returns a VerifyResult whose ok is False when it found damage."""
        return self._m.verify(backup_id, bool(read_data))

    def drill(self, backup_id="latest", scratch_db=None, jobs=2, program="coffer"):
        """A restore drill: restores the backup into a scratch database (scratch_db, which must not
        exist; default coffer_drill_<random>) and a scratch folder, checks row counts, every row,
        the btree indexes, the DRILL_SQL probes and every file, then removes both. Returns a
        DrillResult whose passed is False when a check failed (each check says what). A physical
        backup's drill starts a throwaway server whose restore_command runs `program` wal-fetch."""
        return self._m.drill(str(backup_id), scratch_db or "", int(jobs), str(program))

    def cleanup(self, dry_run=False, force=False):
        """Applies the retention policy (retention_days, keep_*) and frees what no kept backup
        needs; returns a CleanupResult. dry_run changes nothing."""
        return self._m.cleanup(bool(dry_run), bool(force))

    def pin(self, backup_id):
        """Keeps the backup through every cleanup; False when it already was pinned."""
        return self._m.pin(str(backup_id))

    def unpin(self, backup_id):
        """Undoes pin(); False when it was not pinned."""
        return self._m.unpin(str(backup_id))

    def unlock(self, all=False):
        """Removes stale locks (every lock with `all`); returns the LockInfo of each."""
        return self._m.unlock(bool(all))

    def repair_index(self, dry_run=False):
        """Rebuilds the index from the packs' headers; returns a RepairIndexResult."""
        return self._m.repair_index(bool(dry_run))

    def check_s3_settings(self):
        """Raises ConfigError naming a missing or bad S3 setting, without asking S3."""
        self._m.check_s3_settings()

    # -- the WAL archive (point-in-time recovery)
    def wal_push(self, path):
        """Archives one WAL file (what archive_command = 'coffer wal-push %p' does)."""
        return self._m.wal_push(os.fspath(path))

    def wal_fetch(self, name, destination):
        """Fetches archived WAL `name` to `destination`; False when the archive lacks it."""
        return self._m.wal_fetch(str(name), os.fspath(destination))

    def wal_status(self, list_archive=True):
        """The WAL archives per cluster, as WalArchiveStatus."""
        return self._m.wal_status(bool(list_archive))
