#include "config/settings.h"

#include <algorithm>
#include <cctype>

namespace coffer::config {

const std::vector<Setting>& settings() {
  static const std::vector<Setting> table = {
      {"BACKUP_DIR", Kind::kPath, false},
      {"BACKUP_PATHS", Kind::kPathList, false},
      {"RETENTION_DAYS", Kind::kInt, false},
      {"KEEP_LAST", Kind::kInt, false},
      {"KEEP_DAILY", Kind::kInt, false},
      {"KEEP_WEEKLY", Kind::kInt, false},
      {"KEEP_MONTHLY", Kind::kInt, false},
      {"KEEP_YEARLY", Kind::kInt, false},
      {"LOCK_WAIT_SECONDS", Kind::kInt, false},
      {"COMPRESSION", Kind::kCompression, false},
      {"COMPRESSION_ALGORITHM", Kind::kString, false},
      {"COMPRESSION_LEVEL", Kind::kInt, false},
      {"DB_COMPRESSION_KEEP_UP", Kind::kBool, false},
      {"ENCRYPTION", Kind::kBool, false},
      {"BACKUP_PASSPHRASE", Kind::kString, true},
      {"BACKUP_PASSPHRASE_FILE", Kind::kPath, false},
      {"DB_HOST", Kind::kString, false},
      {"DB_PORT", Kind::kInt, false},
      {"DB_NAME", Kind::kString, false},
      {"DB_USER", Kind::kString, false},
      {"DB_PASSWORD", Kind::kString, true},
      {"S3_BUCKET", Kind::kString, false},
      {"S3_REGION", Kind::kString, false},
      {"AWS_ACCESS_KEY_ID", Kind::kString, false},
      {"AWS_SECRET_ACCESS_KEY", Kind::kString, true},
      {"AWS_SESSION_TOKEN", Kind::kString, true},
      {"AWS_PROFILE", Kind::kString, false},
      {"AWS_SHARED_CREDENTIALS_FILE", Kind::kPath, false},
      {"S3_MODE", Kind::kString, false},
      {"S3_ENDPOINT", Kind::kString, false},
      {"S3_PREFIX", Kind::kString, false},
      {"S3_PATH_STYLE", Kind::kBool, false},
      {"S3_STORAGE_CLASS", Kind::kString, false},
      {"S3_SSE", Kind::kString, false},
      {"S3_SSE_KMS_KEY_ID", Kind::kString, false},
      {"S3_CA_BUNDLE", Kind::kPath, false},
      {"S3_VERIFY_TLS", Kind::kBool, false},
      {"S3_RETRY_SECONDS", Kind::kInt, false},
      {"BACKUP_SCHEDULE_FULL", Kind::kText, false, true},
      {"BACKUP_SCHEDULE_INCREMENTAL", Kind::kText, false, true},
      {"BACKUP_SCHEDULE_DIFFERENTIAL", Kind::kText, false, true},
      {"BACKUP_SCHEDULE_CLEANUP", Kind::kText, false, true},
      {"BACKUP_SCHEDULE_VERIFY", Kind::kText, false, true},
      {"TZ", Kind::kText, false, true},
      {"STATUS_MAX_AGE_HOURS", Kind::kText, false, true},
      {"METRICS_FILE", Kind::kText, false, true},
      {"METRICS_PORT", Kind::kText, false, true},
      {"METRICS_ADDRESS", Kind::kText, false, true},
      {"NOTIFY_COMMAND", Kind::kText, false, true},
      {"NOTIFY_ON", Kind::kText, false, true},
      {"NOTIFY_TIMEOUT_SECONDS", Kind::kText, false, true},
  };
  return table;
}

const Setting* find_setting(std::string_view name) {
  for (const auto& s : settings()) {
    if (name == s.name) return &s;
  }
  return nullptr;
}

std::string lower_case(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

std::string file_key(const Setting& setting) { return lower_case(setting.name); }

const Setting* find_file_key(std::string_view key) {
  for (const auto& s : settings()) {
    if (key == file_key(s)) return &s;
  }
  return nullptr;
}

}  // namespace coffer::config
