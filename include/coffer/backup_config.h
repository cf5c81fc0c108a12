// The effective configuration of coffer. Filled by config::load() from defaults, a TOML config
// file, environment variables and command-line flags (flags > environment > file > defaults),
// or set directly by programs that use the library.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace coffer {

enum class S3Mode { kOff, kCopy, kRepository };
enum class DbBackupMode { kLogical, kPhysical };

struct BackupConfig {
  // Where the repository and backup_log.json live. Default: ./backups
  std::filesystem::path backup_dir = "backups";
  // File trees to back up (BACKUP_PATHS, colon-separated). Default: none.
  std::vector<std::filesystem::path> backup_paths;
  // Retention (see `coffer cleanup`): a backup is kept when ANY rule keeps it.
  // RETENTION_DAYS: backups younger than this many days stay. Default: 30. Must be >= 1.
  int retention_days = 30;
  // KEEP_LAST: the N newest backups stay. KEEP_DAILY / KEEP_WEEKLY / KEEP_MONTHLY / KEEP_YEARLY:
  // the newest backup of each of the N newest days / ISO weeks / months / years (UTC) that hold
  // a backup stays. Default: 0 (rule off). Must be >= 0.
  int keep_last = 0;
  int keep_daily = 0;
  int keep_weekly = 0;
  int keep_monthly = 0;
  int keep_yearly = 0;
  // LOCK_WAIT_SECONDS: how long an operation waits for a conflicting lock (a backup for a
  // running cleanup, a cleanup for running backups) before failing. Default: 0 (fail at once).
  int lock_wait_seconds = 0;

  // Compression (COMPRESSION=true|false|zstd|gzip|lz4|none, COMPRESSION_ALGORITHM,
  // COMPRESSION_LEVEL). Default: zstd level 3.
  bool compression = true;
  std::string compression_algorithm = "zstd";
  int compression_level = 3;
  // DB_COMPRESSION_KEEP_UP: while compression falls behind pg_dump, compress the dump at the
  // codec's fastest level, so the dump (and the snapshot it holds open on the server) is not
  // slowed by it. Default: true; false always uses COMPRESSION_LEVEL.
  bool db_compression_keep_up = true;

  // Encryption (ENCRYPTION=true|false). Default: on. The passphrase comes from
  // BACKUP_PASSPHRASE or BACKUP_PASSPHRASE_FILE (the file wins when both are set).
  bool encryption = true;
  std::optional<std::string> passphrase;  // secret: never logged or printed
  std::filesystem::path passphrase_file;

  // PostgreSQL (DB_HOST, DB_PORT, DB_NAME, DB_USER, DB_PASSWORD).
  std::string db_host = "localhost";
  int db_port = 5432;
  std::string db_name;
  std::string db_user;
  std::optional<std::string> db_password;  // secret

  // Physical backups and the WAL archive (docs/pitr.md). DB_BACKUP_MODE: logical (pg_dump, the
  // default: needs no access to the server's files) or physical (a base backup of the whole
  // cluster, restorable to any moment with the WAL that `coffer wal-push` archives).
  DbBackupMode db_backup_mode = DbBackupMode::kLogical;
  // DB_DATA_DIR: the cluster's data folder. Empty: the server's data_directory (physical backup),
  // the working folder (wal-push and wal-fetch, which PostgreSQL runs there).
  std::filesystem::path db_data_dir;
  // ARCHIVE_TIMEOUT: seconds a physical backup waits for the WAL segment that makes it consistent
  // to reach the archive before it fails. Default: 60.
  int archive_timeout_seconds = 60;
  // WAL_KEY_CACHE: wal-push and wal-fetch keep the unwrapped keys in a 0600 cache file
  // (repo/key_cache.h says what that costs). Default: true.
  bool wal_key_cache = true;
  // DRILL_SQL: a file of queries that must each return true in a drill's scratch database
  // (`coffer drill`; source/postgres/restored_checks.h says how it is split). Empty: none.
  std::filesystem::path drill_sql;

  // S3 (S3_BUCKET, S3_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN).
  // Keys left unset are read from the AWS shared credentials file (AWS_SHARED_CREDENTIALS_FILE,
  // default ~/.aws/credentials), profile AWS_PROFILE (default "default").
  std::string s3_bucket;
  std::string s3_region = "us-east-1";
  std::string aws_access_key_id;
  std::optional<std::string> aws_secret_access_key;  // secret
  std::optional<std::string> aws_session_token;      // secret
  std::string aws_profile;                         // AWS_PROFILE: "" = "default"
  std::filesystem::path aws_shared_credentials_file;  // AWS_SHARED_CREDENTIALS_FILE
  // S3_MODE: off; copy (BACKUP_DIR is primary, each backup is then copied to S3); repository
  // (the repository lives on S3, BACKUP_DIR holds only backup_log.json).
  // Default: copy when S3_BUCKET is set, else off.
  S3Mode s3_mode = S3Mode::kOff;
  std::string s3_endpoint;           // S3_ENDPOINT: "" = AWS (https://s3.<region>.amazonaws.com)
  std::string s3_prefix = "backups/";  // S3_PREFIX
  bool s3_path_style = false;        // S3_PATH_STYLE; default true when S3_ENDPOINT is set
  std::string s3_storage_class;      // S3_STORAGE_CLASS: "" = the bucket's default
  std::string s3_sse;                // S3_SSE: "", "AES256" or "aws:kms"
  std::string s3_sse_kms_key_id;     // S3_SSE_KMS_KEY_ID (with S3_SSE=aws:kms)
  std::filesystem::path s3_ca_bundle;  // S3_CA_BUNDLE: PEM file; "" = the system's CAs
  bool s3_verify_tls = true;         // S3_VERIFY_TLS
  int s3_retry_seconds = 120;        // S3_RETRY_SECONDS: total time one request may retry
};

}  // namespace coffer
