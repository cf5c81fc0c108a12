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

  // S3 (S3_BUCKET, S3_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY).
  std::string s3_bucket;
  std::string s3_region = "us-east-1";
  std::string aws_access_key_id;
  std::optional<std::string> aws_secret_access_key;  // secret
};

}  // namespace coffer
