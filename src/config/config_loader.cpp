// Config loading: collect raw text per setting from file, environment and flags (the highest
// source wins per setting), then parse and validate each into BackupConfig.
#include "config/config_loader.h"

#include <cstdlib>

#include "coffer/error.h"
#include "coffer/redact.h"
#include "config/config_file.h"
#include "config/interpreter.h"
#include "config/raw_settings.h"
#include "config/settings.h"

namespace coffer::config {
namespace {

RawSettings collect(const Sources& sources) {
  RawSettings raw;
  if (sources.config_file) read_config_file(*sources.config_file, raw);
  for (const auto& [name, value] : sources.environment) {
    // The environment holds many unrelated variables; only known, non-empty ones count.
    if (value.empty() || !find_setting(name)) continue;
    raw.values[name] = RawValue{value, std::nullopt, Origin::kEnvironment};
  }
  for (const auto& [name, value] : sources.flags) {
    if (!find_setting(name)) {
      fail(ErrorCategory::kInternal, "flag mapped to unknown setting '" + name + "'");
    }
    raw.values[name] = RawValue{value, std::nullopt, Origin::kFlag};
  }
  return raw;
}

std::string display_value(const BackupConfig& c, const std::string& name) {
  auto secret = [](const std::optional<std::string>& s) {
    return s ? std::string("<redacted>") : std::string();
  };
  if (name == "BACKUP_DIR") return c.backup_dir.string();
  if (name == "BACKUP_PATHS") {
    std::string out;
    for (const auto& p : c.backup_paths) out += (out.empty() ? "" : ":") + p.string();
    return out;
  }
  if (name == "RETENTION_DAYS") return std::to_string(c.retention_days);
  if (name == "KEEP_LAST") return std::to_string(c.keep_last);
  if (name == "KEEP_DAILY") return std::to_string(c.keep_daily);
  if (name == "KEEP_WEEKLY") return std::to_string(c.keep_weekly);
  if (name == "KEEP_MONTHLY") return std::to_string(c.keep_monthly);
  if (name == "KEEP_YEARLY") return std::to_string(c.keep_yearly);
  if (name == "LOCK_WAIT_SECONDS") return std::to_string(c.lock_wait_seconds);
  if (name == "COMPRESSION") return c.compression ? "true" : "false";
  if (name == "COMPRESSION_ALGORITHM") return c.compression_algorithm;
  if (name == "COMPRESSION_LEVEL") return std::to_string(c.compression_level);
  if (name == "DB_COMPRESSION_KEEP_UP") return c.db_compression_keep_up ? "true" : "false";
  if (name == "ENCRYPTION") return c.encryption ? "true" : "false";
  if (name == "BACKUP_PASSPHRASE") return secret(c.passphrase);
  if (name == "BACKUP_PASSPHRASE_FILE") return c.passphrase_file.string();
  if (name == "DB_HOST") return c.db_host;
  if (name == "DB_PORT") return std::to_string(c.db_port);
  if (name == "DB_NAME") return c.db_name;
  if (name == "DB_USER") return c.db_user;
  if (name == "DB_BACKUP_MODE") return c.db_backup_mode == DbBackupMode::kPhysical ? "physical" : "logical";
  if (name == "DB_DATA_DIR") return c.db_data_dir.string();
  if (name == "ARCHIVE_TIMEOUT") return std::to_string(c.archive_timeout_seconds);
  if (name == "WAL_KEY_CACHE") return c.wal_key_cache ? "true" : "false";
  if (name == "DRILL_SQL") return c.drill_sql.string();
  if (name == "DB_PASSWORD") return secret(c.db_password);
  if (name == "S3_BUCKET") return c.s3_bucket;
  if (name == "S3_REGION") return c.s3_region;
  if (name == "AWS_ACCESS_KEY_ID") return c.aws_access_key_id;
  if (name == "AWS_SECRET_ACCESS_KEY") return secret(c.aws_secret_access_key);
  if (name == "AWS_SESSION_TOKEN") return secret(c.aws_session_token);
  if (name == "AWS_PROFILE") return c.aws_profile;
  if (name == "AWS_SHARED_CREDENTIALS_FILE") return c.aws_shared_credentials_file.string();
  if (name == "S3_MODE") {
    return c.s3_mode == S3Mode::kOff ? "off" : c.s3_mode == S3Mode::kCopy ? "copy" : "repository";
  }
  if (name == "S3_ENDPOINT") return redact_url_credentials(c.s3_endpoint);
  if (name == "S3_PREFIX") return c.s3_prefix;
  if (name == "S3_PATH_STYLE") return c.s3_path_style ? "true" : "false";
  if (name == "S3_STORAGE_CLASS") return c.s3_storage_class;
  if (name == "S3_SSE") return c.s3_sse;
  if (name == "S3_SSE_KMS_KEY_ID") return c.s3_sse_kms_key_id;
  if (name == "S3_CA_BUNDLE") return c.s3_ca_bundle.string();
  if (name == "S3_VERIFY_TLS") return c.s3_verify_tls ? "true" : "false";
  if (name == "S3_RETRY_SECONDS") return std::to_string(c.s3_retry_seconds);
  fail(ErrorCategory::kInternal, "no display rule for setting " + name);
}

}  // namespace

std::vector<SettingFlag> setting_flags() {
  std::vector<SettingFlag> out;
  for (const Setting& s : settings())
    if (!s.flag.empty()) out.push_back({s.flag, s.name, flag_help(s)});
  return out;
}

const std::vector<std::string>& setting_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const auto& s : settings()) out.emplace_back(s.name);
    return out;
  }();
  return names;
}

std::map<std::string, std::string> process_environment() {
  std::map<std::string, std::string> env;
  for (const auto& name : setting_names()) {
    if (const char* value = std::getenv(name.c_str())) env[name] = value;
  }
  return env;
}

std::string setting_hint(const Sources& sources, const std::string& name) {
  Sources lenient = sources;
  RawSettings raw;
  try {
    raw = collect(lenient);
  } catch (const Error&) {
    lenient.config_file.reset();  // a broken config file: use what the rest says
    raw = collect(lenient);
  }
  auto it = raw.values.find(name);
  return it == raw.values.end() ? std::string() : it->second.text;
}

std::filesystem::path backup_dir_hint(const Sources& sources) {
  std::string dir = setting_hint(sources, "BACKUP_DIR");
  if (dir.empty()) return BackupConfig{}.backup_dir;
  return dir;
}

BackupConfig load(const Sources& sources, Uses uses) { return interpret(collect(sources), uses).config; }

std::vector<SettingView> describe(const Sources& sources) {
  const RawSettings raw = collect(sources);
  const Interpretation interpreted = interpret(raw);
  std::vector<SettingView> out;
  for (const Setting& setting : settings()) {
    const std::string& name = setting.name;
    if (setting.service) {
      auto it = raw.values.find(name);
      const std::string text = it == raw.values.end() ? "" : setting.secret ? "<redacted>" : it->second.text;
      out.push_back({name, text,
                     origin_name(it == raw.values.end() ? Origin::kDefault : it->second.origin)});
      continue;
    }
    out.push_back({name, display_value(interpreted.config, name), origin_name(interpreted.origin_of(name))});
  }
  return out;
}

std::map<std::string, std::string> service_settings(const Sources& sources) {
  std::map<std::string, std::string> out;
  for (const auto& [name, value] : collect(sources).values)
    if (const Setting* setting = find_setting(name); setting && setting->service) out[name] = value.text;
  return out;
}

}  // namespace coffer::config
