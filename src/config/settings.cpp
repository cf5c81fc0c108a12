#include "config/settings.h"

#include <algorithm>
#include <cctype>

#include "codec/compression.h"

namespace coffer::config {
namespace {

Setting plain(const char* name, Kind kind, std::string default_text, std::string doc, const char* flag = "") {
  return {name, kind, false, false, std::move(default_text), std::move(doc), flag};
}
Setting secret(const char* name, std::string default_text, std::string doc) {
  return {name, Kind::kString, true, false, std::move(default_text), std::move(doc), ""};
}
Setting service(const char* name, std::string default_text, std::string doc) {
  return {name, Kind::kText, false, true, std::move(default_text), std::move(doc), ""};
}

// "3 (zstd), 6 (gzip)": the default level of each codec that has levels.
std::string default_levels() {
  std::string out;
  for (Codec c : kAllCodecs) {
    if (level_range(c).first == level_range(c).second) continue;
    out += (out.empty() ? "" : ", ") + std::to_string(default_level(c)) + " (" + codec_name(c) + ")";
  }
  return out;
}

}  // namespace

const std::vector<Setting>& settings() {
  static const std::vector<Setting> table = {
      plain("BACKUP_DIR", Kind::kPath, "./backups", "repository folder, default ./backups", "--backup-dir"),
      plain("BACKUP_PATHS", Kind::kPathList, "(none)", "folders to back up, colon-separated", "--paths"),
      plain("RETENTION_DAYS", Kind::kInt, "30", "days to keep backups", "--retention-days"),
      plain("KEEP_LAST", Kind::kInt, "0 (off)", "cleanup keeps the N newest backups"),
      plain("KEEP_DAILY", Kind::kInt, "0 (off)", "cleanup keeps the newest backup of each of the N newest days"),
      plain("KEEP_WEEKLY", Kind::kInt, "0 (off)", "cleanup keeps the newest backup of each of the N newest ISO weeks"),
      plain("KEEP_MONTHLY", Kind::kInt, "0 (off)", "cleanup keeps the newest backup of each of the N newest months"),
      plain("KEEP_YEARLY", Kind::kInt, "0 (off)", "cleanup keeps the newest backup of each of the N newest years"),
      plain("LOCK_WAIT_SECONDS", Kind::kInt, "0", "how long to wait for a conflicting lock"),
      plain("COMPRESSION", Kind::kCompression, "true", "true|false|" + codec_names("|", "|", true), "--compression"),
      plain("COMPRESSION_ALGORITHM", Kind::kString, "zstd", codec_names("|", "|", true)),
      plain("COMPRESSION_LEVEL", Kind::kInt, default_levels(), "codec level", "--compression-level"),
      plain("DB_COMPRESSION_KEEP_UP", Kind::kBool, "true", "compress the dump faster while compression falls behind"),
      plain("ENCRYPTION", Kind::kBool, "true", "true|false, for a new repository", "--encryption"),
      secret("BACKUP_PASSPHRASE", "", "the passphrase itself"),
      plain("BACKUP_PASSPHRASE_FILE", Kind::kPath, "", "file holding the passphrase", "--passphrase-file"),
      plain("DB_HOST", Kind::kString, "localhost", "PostgreSQL server's host"),
      plain("DB_PORT", Kind::kInt, "5432", "PostgreSQL server's port"),
      plain("DB_NAME", Kind::kString, "(none)", "database to back up; unset = files only"),
      plain("DB_USER", Kind::kString, "", "PostgreSQL role"),
      secret("DB_PASSWORD", "", "PostgreSQL role's password"),
      plain("DB_BACKUP_MODE", Kind::kString, "logical", "logical (pg_dump) or physical (base backup + WAL)",
            "--db-mode"),
      plain("DB_DATA_DIR", Kind::kPath, "the server's data_directory", "the cluster's data folder (physical mode)"),
      plain("ARCHIVE_TIMEOUT", Kind::kInt, "60", "seconds a physical backup waits for its last WAL to be archived"),
      plain("WAL_KEY_CACHE", Kind::kBool, "true", "wal-push and wal-fetch cache the unwrapped keys (0600 file)"),
      plain("DRILL_SQL", Kind::kPath, "(none)", "file of queries that must each return true in a drill"),
      plain("S3_BUCKET", Kind::kString, "(none)", "S3 bucket; setting it turns on S3"),
      plain("S3_REGION", Kind::kString, "us-east-1", "S3 region"),
      plain("AWS_ACCESS_KEY_ID", Kind::kString, "from the credentials file", "S3 access key id"),
      secret("AWS_SECRET_ACCESS_KEY", "from the credentials file", "S3 secret access key"),
      secret("AWS_SESSION_TOKEN", "from the credentials file", "S3 session token"),
      plain("AWS_PROFILE", Kind::kString, "default", "profile of the credentials file"),
      plain("AWS_SHARED_CREDENTIALS_FILE", Kind::kPath, "~/.aws/credentials", "where unset S3 keys are read from"),
      plain("S3_MODE", Kind::kString, "copy if S3_BUCKET is set, else off", "off, copy or repository"),
      plain("S3_ENDPOINT", Kind::kString, "AWS (https://s3.<region>.amazonaws.com)", "URL of an S3-compatible server"),
      plain("S3_PREFIX", Kind::kString, "backups/", "key prefix of the repository in the bucket"),
      plain("S3_PATH_STYLE", Kind::kBool, "true when S3_ENDPOINT is set, else false", "path-style S3 addressing"),
      plain("S3_STORAGE_CLASS", Kind::kString, "bucket default", "storage class of uploaded objects"),
      plain("S3_SSE", Kind::kString, "none", "server-side encryption: AES256 or aws:kms"),
      plain("S3_SSE_KMS_KEY_ID", Kind::kString, "none", "KMS key id for S3_SSE=aws:kms"),
      plain("S3_CA_BUNDLE", Kind::kPath, "system CAs", "PEM file of trusted CAs"),
      plain("S3_VERIFY_TLS", Kind::kBool, "true", "check S3's TLS certificate"),
      plain("S3_RETRY_SECONDS", Kind::kInt, "120", "how long one S3 request may be retried"),
      service("BACKUP_SCHEDULE_FULL", "0 2 * * *", "when `coffer schedule` runs full backups (cron)"),
      service("BACKUP_SCHEDULE_INCREMENTAL", "0 9-17 * * *", "when it runs incremental backups (cron)"),
      service("BACKUP_SCHEDULE_DIFFERENTIAL", "off", "when it runs differential backups (cron)"),
      service("BACKUP_SCHEDULE_CLEANUP", "0 3 * * *", "when it runs cleanup (cron)"),
      service("BACKUP_SCHEDULE_VERIFY", "off", "when it runs verify (cron)"),
      service("BACKUP_SCHEDULE_DRILL", "0 4 * * sun#1", "when it runs a restore drill of the newest backup (cron)"),
      service("TZ", "UTC", "time zone of the schedule"),
      service("STATUS_MAX_AGE_HOURS", "26", "`coffer status` is unhealthy when the newest backup is older"),
      service("STATUS_MIN_DAYS_LEFT", "14", "`coffer status` warns when storage runs out sooner at the current growth"),
      service("S3_QUOTA", "(none)", "the bucket's quota for the repository (500G, 2T): days left are forecast"),
      service("METRICS_FILE", "(none)", "Prometheus textfile written after every job"),
      service("METRICS_PORT", "0 (off)", "port of the HTTP /metrics endpoint"),
      service("METRICS_ADDRESS", "127.0.0.1", "address of the HTTP /metrics endpoint"),
      {"DASHBOARD_TOKEN", Kind::kText, true, true, "(none)",
       "token the dashboard (GET / beside /metrics) requires; needed beyond loopback", ""},
      service("NOTIFY_COMMAND", "(none)", "command run after a scheduled job"),
      service("NOTIFY_ON", "failure", "which jobs NOTIFY_COMMAND runs after"),
      service("NOTIFY_TIMEOUT_SECONDS", "30", "how long NOTIFY_COMMAND may run"),
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

std::string flag_help(const Setting& setting) { return setting.doc + " (" + setting.name + ")"; }

std::string codec_names(const std::string& separator, const std::string& last_separator, bool with_none) {
  std::vector<std::string> names;
  for (Codec c : kAllCodecs)
    if (with_none || c != Codec::kNone) names.emplace_back(codec_name(c));
  std::string out;
  for (size_t i = 0; i < names.size(); ++i)
    out += (i == 0 ? "" : i + 1 == names.size() ? last_separator : separator) + names[i];
  return out;
}

}  // namespace coffer::config
