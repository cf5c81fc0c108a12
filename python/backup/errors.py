"""The exceptions of the backup package: one base class, one subclass per kind of failure.

Every failure of coffer's engine is raised as a BackupError subclass carrying coffer's message
(which names what failed and the way out, and never holds a secret) and its category.
"""


class BackupError(Exception):
    """A failed coffer operation. `message`: coffer's message; `category`: its kind, as
    backup_log.json's error_category spells it ("storage", "not found", ...)."""

    def __init__(self, message, category="internal"):
        super().__init__(message)
        self.message = message
        self.category = category


class ConfigError(BackupError):
    """A setting is missing or invalid (the message names it)."""


class InputError(BackupError):
    """Bad input or a refused action: an unknown path, a restore over existing data, ..."""


class LockHeldError(InputError):
    """Another process holds a conflicting repository lock (LOCK_WAIT_SECONDS was not enough)."""


class NotFoundError(BackupError):
    """A backup, object or file that should exist does not (e.g. an unknown backup id)."""


class IntegrityError(BackupError):
    """Data in the repository failed a check (hash, MAC, parse): damaged."""


class StorageError(BackupError):
    """The storage (local folder or S3) failed: I/O error, permission, network."""


class DatabaseError(BackupError):
    """PostgreSQL or its tools failed: wrong password, server down, pg_dump/pg_restore failed."""


class AuthError(BackupError):
    """A wrong passphrase, or no passphrase for an encrypted repository."""


class InternalError(BackupError):
    """A bug in coffer."""


__all__ = ["BackupError", "ConfigError", "InputError", "LockHeldError", "NotFoundError", "IntegrityError",
           "StorageError", "DatabaseError", "AuthError", "InternalError"]
