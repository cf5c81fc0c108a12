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
  // Backups older than this many days are removed by cleanup. Default: 30. Must be >= 1.
  int retention_days = 30;

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
