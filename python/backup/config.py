"""BackupConfig: coffer's settings as keyword arguments."""

import os

from . import _core

# Each keyword and the setting it gives (README's table of settings; the environment's name).
SETTINGS = {
    "backup_dir": "BACKUP_DIR", "backup_paths": "BACKUP_PATHS", "retention_days": "RETENTION_DAYS",
    "keep_last": "KEEP_LAST", "keep_daily": "KEEP_DAILY", "keep_weekly": "KEEP_WEEKLY",
    "keep_monthly": "KEEP_MONTHLY", "keep_yearly": "KEEP_YEARLY", "lock_wait_seconds": "LOCK_WAIT_SECONDS",
    "compression": "COMPRESSION", "compression_algorithm": "COMPRESSION_ALGORITHM",
    "compression_level": "COMPRESSION_LEVEL", "db_compression_keep_up": "DB_COMPRESSION_KEEP_UP",
    "encryption": "ENCRYPTION", "passphrase": "BACKUP_PASSPHRASE", "passphrase_file": "BACKUP_PASSPHRASE_FILE",
    "db_host": "DB_HOST", "db_port": "DB_PORT", "db_name": "DB_NAME", "db_user": "DB_USER",
    "db_password": "DB_PASSWORD", "db_backup_mode": "DB_BACKUP_MODE", "db_data_dir": "DB_DATA_DIR",
    "archive_timeout_seconds": "ARCHIVE_TIMEOUT", "wal_key_cache": "WAL_KEY_CACHE", "s3_bucket": "S3_BUCKET",
    "s3_region": "S3_REGION", "aws_access_key_id": "AWS_ACCESS_KEY_ID",
    "aws_secret_access_key": "AWS_SECRET_ACCESS_KEY", "aws_session_token": "AWS_SESSION_TOKEN",
    "aws_profile": "AWS_PROFILE", "aws_shared_credentials_file": "AWS_SHARED_CREDENTIALS_FILE",
    "s3_mode": "S3_MODE", "s3_endpoint": "S3_ENDPOINT", "s3_prefix": "S3_PREFIX", "s3_path_style": "S3_PATH_STYLE",
    "s3_storage_class": "S3_STORAGE_CLASS", "s3_sse": "S3_SSE", "s3_sse_kms_key_id": "S3_SSE_KMS_KEY_ID",
    "s3_ca_bundle": "S3_CA_BUNDLE", "s3_verify_tls": "S3_VERIFY_TLS", "s3_retry_seconds": "S3_RETRY_SECONDS",
}
SECRETS = frozenset({"passphrase", "db_password", "aws_secret_access_key", "aws_session_token"})


def _setting_text(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ":".join(os.fspath(v) for v in value)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return str(value)


class BackupConfig:
    """coffer's configuration, as keyword arguments named like README's settings in lower case
    (db_host for DB_HOST; passphrase and passphrase_file for BACKUP_PASSPHRASE[_FILE];
    archive_timeout_seconds for ARCHIVE_TIMEOUT). What is not given comes from the environment
    variable of the same setting, then `config_file` (TOML, as `coffer --config`), then the
    CLI's defaults: so a config that names only the database works where BACKUP_PASSPHRASE_FILE
    is set. Every value is checked as the CLI checks it: ConfigError names a bad one.

    Each field is readable as an attribute (config.db_port); repr() never shows a secret
    (passphrase, db_password, aws_secret_access_key, aws_session_token).

        BackupConfig(db_host="localhost", db_port=5432, db_name="innovative_school",
                     db_user="postgres", db_password="password", backup_dir="./backups",
                     retention_days=30, compression=True, s3_bucket="innovative-school-backups")
    """

    def __init__(self, *, config_file=None, **settings):
        unknown = sorted(set(settings) - set(SETTINGS))
        if unknown:
            raise TypeError(f"BackupConfig() got unexpected keyword argument(s): {', '.join(unknown)}")
        given = {SETTINGS[k]: _setting_text(v) for k, v in settings.items() if v is not None}
        self._core = _core.load_config(given, os.fspath(config_file) if config_file is not None else None)
        self._values = self._core.values()

    def __getattr__(self, name):
        values = self.__dict__.get("_values")
        if values is not None and name in values:
            return values[name]
        raise AttributeError(f"BackupConfig has no field {name!r}")

    def __setattr__(self, name, value):
        if name in SETTINGS:
            raise AttributeError("BackupConfig is read-only: make a new one with the changed setting")
        super().__setattr__(name, value)

    def as_dict(self, secrets=False):
        """Every field by name; secrets as None unless `secrets`."""
        return {k: (v if secrets or k not in SECRETS else None) for k, v in self._values.items()}

    def __repr__(self):
        def shown(k, v):
            if k in SECRETS:
                return "<redacted>" if v else "None"
            return repr(v)
        return "BackupConfig(" + ", ".join(f"{k}={shown(k, v)}" for k, v in self._values.items()) + ")"
