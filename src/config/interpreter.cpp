// Interpretation of the settings: each raw value parsed and checked into BackupConfig, and the
// settings derived from others (S3_MODE from S3_BUCKET, COMPRESSION from COMPRESSION_ALGORITHM).
#include "config/interpreter.h"

#include <cctype>
#include <charconv>
#include <cstdlib>
#include <limits>
#include <sstream>
#include <utility>

#include <spdlog/spdlog.h>

#include "codec/compression.h"
#include "coffer/error.h"
#include "coffer/redact.h"
#include "config/aws_credentials.h"
#include "config/settings.h"

namespace coffer::config {
namespace {

class Interpreter {
 public:
  explicit Interpreter(RawSettings raw, Uses uses = {}) : raw_(std::move(raw)), uses_(uses) {}

  BackupConfig build() {
    BackupConfig c;
    if (auto v = get("BACKUP_DIR")) c.backup_dir = path_value("BACKUP_DIR", *v);
    if (auto v = get("BACKUP_PATHS")) c.backup_paths = path_list("BACKUP_PATHS", *v);
    settings_used_if(uses_.retention, c, [&] { build_retention(c); });
    if (auto v = get("LOCK_WAIT_SECONDS")) {
      c.lock_wait_seconds = int_in_range("LOCK_WAIT_SECONDS", *v, 0, 7 * 24 * 3600,
                                         "a whole number of seconds from 0 to 604800");
    }
    settings_used_if(uses_.writing, c, [&] { build_compression(c); });
    settings_used_if(uses_.writing, c, [&] {
      if (auto v = get("ENCRYPTION")) c.encryption = bool_value("ENCRYPTION", *v);
    });
    settings_used_if(uses_.writing, c, [&] {
      if (auto v = get("DB_COMPRESSION_KEEP_UP"))
        c.db_compression_keep_up = bool_value("DB_COMPRESSION_KEEP_UP", *v);
    });
    if (auto v = get("BACKUP_PASSPHRASE")) c.passphrase = secret_value("BACKUP_PASSPHRASE", *v);
    if (auto v = get("BACKUP_PASSPHRASE_FILE")) {
      c.passphrase_file = path_value("BACKUP_PASSPHRASE_FILE", *v);
    }
    if (auto v = get("DB_HOST")) c.db_host = v->text;
    settings_used_if(uses_.database, c, [&] {
      if (auto v = get("DB_PORT")) c.db_port = int_in_range("DB_PORT", *v, 1, 65535, "a TCP port number 1..65535");
    });
    if (auto v = get("DB_NAME")) c.db_name = v->text;
    if (auto v = get("DB_USER")) c.db_user = v->text;
    if (auto v = get("DB_PASSWORD")) c.db_password = secret_value("DB_PASSWORD", *v);
    if (auto v = get("DB_BACKUP_MODE")) {
      const std::string t = lower_case(v->text);
      if (t == "logical") c.db_backup_mode = DbBackupMode::kLogical;
      else if (t == "physical") c.db_backup_mode = DbBackupMode::kPhysical;
      else invalid("DB_BACKUP_MODE", *v, "logical (pg_dump) or physical (base backup and WAL archive)");
    }
    if (auto v = get("DB_DATA_DIR")) c.db_data_dir = path_value("DB_DATA_DIR", *v);
    if (auto v = get("ARCHIVE_TIMEOUT"))
      c.archive_timeout_seconds = int_in_range("ARCHIVE_TIMEOUT", *v, 1, 86400, "a whole number of seconds from 1 to 86400");
    if (auto v = get("WAL_KEY_CACHE")) c.wal_key_cache = bool_value("WAL_KEY_CACHE", *v);
    if (auto v = get("DRILL_SQL")) c.drill_sql = path_value("DRILL_SQL", *v);
    if (auto v = get("S3_BUCKET")) c.s3_bucket = v->text;
    if (auto v = get("S3_REGION")) c.s3_region = v->text;
    if (auto v = get("AWS_ACCESS_KEY_ID")) c.aws_access_key_id = v->text;
    if (auto v = get("AWS_SECRET_ACCESS_KEY")) {
      c.aws_secret_access_key = secret_value("AWS_SECRET_ACCESS_KEY", *v);
    }
    build_s3(c);
    return c;
  }

  // Origin of each setting's effective value (derived settings may differ from raw origins).
  std::map<std::string, Origin> origins() const {
    std::map<std::string, Origin> out = derived_origin_;
    for (const auto& [name, value] : raw_.values) out.emplace(name, value.origin);  // derived ones win
    return out;
  }

 private:
  Origin origin_of(const std::string& name) const {
    if (auto it = derived_origin_.find(name); it != derived_origin_.end()) return it->second;
    if (auto it = raw_.values.find(name); it != raw_.values.end()) return it->second.origin;
    return Origin::kDefault;
  }

  // A command that does not use these settings is not blocked by a bad value among them: the
  // defaults stay, and a warning names the value that the commands using it would refuse.
  template <typename Build>
  void settings_used_if(bool used, BackupConfig& c, const Build& build) {
    if (used) return build();
    const BackupConfig before = c;
    try {
      build();
    } catch (const Error& e) {
      if (e.category() != ErrorCategory::kConfig) throw;
      c = before;
      spdlog::warn("{} (ignored here: this command does not use it)", e.what());
    }
  }

  void build_retention(BackupConfig& c) {
    if (auto v = get("RETENTION_DAYS")) {
      c.retention_days = int_in_range("RETENTION_DAYS", *v, 1, std::numeric_limits<int>::max(),
                                      "a whole number of days >= 1");
    }
    const std::pair<const char*, int BackupConfig::*> keeps[] = {
        {"KEEP_LAST", &BackupConfig::keep_last},       {"KEEP_DAILY", &BackupConfig::keep_daily},
        {"KEEP_WEEKLY", &BackupConfig::keep_weekly},   {"KEEP_MONTHLY", &BackupConfig::keep_monthly},
        {"KEEP_YEARLY", &BackupConfig::keep_yearly}};
    for (const auto& [name, field] : keeps) {
      if (auto v = get(name)) {
        c.*field = int_in_range(name, *v, 0, std::numeric_limits<int>::max(),
                                "a whole number >= 0 (0 turns the rule off)");
      }
    }
  }

  std::optional<RawValue> get(const std::string& name) const {
    auto it = raw_.values.find(name);
    if (it == raw_.values.end()) return std::nullopt;
    return it->second;
  }

  std::string origin_phrase(Origin o) const {
    switch (o) {
      case Origin::kDefault: return "default";
      case Origin::kFile: return "config file '" + raw_.config_file + "'";
      case Origin::kEnvironment: return "environment";
      case Origin::kFlag: return "command-line flag";
      case Origin::kCredentialsFile: return "AWS shared credentials file";
    }
    return "default";
  }

  [[noreturn]] void invalid(const std::string& name, const RawValue& v,
                            const std::string& allowed) const {
    const Setting* setting = find_setting(name);
    const std::string shown = setting && setting->secret ? "" : "='" + redact_url_credentials(v.text) + "'";
    fail(ErrorCategory::kConfig, name + shown + " (from " + origin_phrase(v.origin) +
                                     ") is not valid: expected " + allowed);
  }

  // The S3 driver's rules (s3_storage.cpp), checked here so a bad endpoint stops a command at
  // start (exit 2), not after a backup is committed.
  void check_endpoint(const RawValue& v) const {
    const std::string& t = v.text;
    const std::string example = " (e.g. https://s3.eu-central-1.amazonaws.com or http://127.0.0.1:9000)";
    const size_t sep = t.find("://");
    const std::string scheme = sep == std::string::npos ? "" : lower_case(t.substr(0, sep));
    if (scheme != "http" && scheme != "https") invalid("S3_ENDPOINT", v, "a URL starting with http:// or https://" + example);
    std::string authority = t.substr(sep + 3);
    if (!authority.empty() && authority.back() == '/') authority.pop_back();
    if (authority.find('@') != std::string::npos)
      invalid("S3_ENDPOINT", v, "a URL without credentials in it" + example +
                                    ": S3 signs requests with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; set those instead");
    if (authority.empty() || authority.find_first_of("/?# ") != std::string::npos)
      invalid("S3_ENDPOINT", v, "a scheme and host[:port] only, without a path" + example);
    const size_t colon = authority.rfind(':');
    if (colon != std::string::npos && authority.find(']', colon) == std::string::npos) {
      const std::string port = authority.substr(colon + 1);
      if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
          std::stoi(port) < 1 || std::stoi(port) > 65535)
        invalid("S3_ENDPOINT", v, "a port from 1 to 65535 after the host" + example);
    }
  }

  std::filesystem::path path_value(const std::string& name, const RawValue& v) const {
    if (v.text.empty()) invalid(name, v, "a non-empty path");
    return v.text;
  }

  std::vector<std::filesystem::path> path_list(const std::string& name, const RawValue& v) const {
    std::vector<std::filesystem::path> out;
    if (v.list) {
      for (const auto& item : *v.list) {
        if (item.empty()) invalid(name, v, "an array of non-empty paths");
        out.emplace_back(item);
      }
      return out;
    }
    // Colon-separated like PATH; empty segments ("a::b", trailing ':') are skipped.
    std::stringstream in(v.text);
    std::string item;
    while (std::getline(in, item, ':')) {
      if (!item.empty()) out.emplace_back(item);
    }
    return out;
  }

  static std::optional<int> parse_int(const std::string& text) {
    int value = 0;
    const char* begin = text.data();
    const char* end = begin + text.size();
    auto [ptr, ec] = std::from_chars(begin, end, value);
    if (ec != std::errc() || ptr != end || text.empty()) return std::nullopt;
    return value;
  }

  int int_in_range(const std::string& name, const RawValue& v, int min, int max,
                   const std::string& allowed) const {
    auto value = parse_int(v.text);
    if (!value || *value < min || *value > max) invalid(name, v, allowed);
    return *value;
  }

  static std::optional<bool> parse_bool(const std::string& text) {
    const std::string t = lower_case(text);
    if (t == "true" || t == "yes" || t == "1" || t == "on") return true;
    if (t == "false" || t == "no" || t == "0" || t == "off") return false;
    return std::nullopt;
  }

  bool bool_value(const std::string& name, const RawValue& v) const {
    auto b = parse_bool(v.text);
    if (!b) invalid(name, v, "true, false, yes, no, 1, 0, on or off");
    return *b;
  }

  std::string secret_value(const std::string& name, const RawValue& v) const {
    if (v.text.empty()) invalid(name, v, "a non-empty value (leave it unset instead)");
    return v.text;
  }

  static bool is_algorithm(const std::string& name) { return codec_from_name(name).has_value(); }

  // COMPRESSION may be a boolean or an algorithm name; COMPRESSION_ALGORITHM names one too.
  // When both name an algorithm, the higher-precedence source wins (a same-source disagreement is
  // an error). false or "none" turns compression off; explicit true with "none" is a contradiction.
  void build_compression(BackupConfig& c) {
    struct Choice {
      std::string algorithm;
      Origin origin;
    };
    const auto compression_raw = get("COMPRESSION");
    std::optional<bool> enabled;
    std::optional<Choice> by_compression;
    if (compression_raw) {
      const std::string t = lower_case(compression_raw->text);
      if (auto b = parse_bool(t)) {
        enabled = *b;
      } else if (is_algorithm(t)) {
        by_compression = Choice{t, compression_raw->origin};
      } else {
        invalid("COMPRESSION", *compression_raw,
                "true, false, yes, no, 1, 0, on, off or an algorithm name (" +
                    codec_names(", ", ", ", true) + ")");
      }
    }
    std::optional<Choice> by_algorithm;
    if (auto v = get("COMPRESSION_ALGORITHM")) {
      const std::string t = lower_case(v->text);
      if (!is_algorithm(t)) invalid("COMPRESSION_ALGORITHM", *v, codec_names(", ", " or ", true));
      by_algorithm = Choice{t, v->origin};
    }

    std::optional<Choice> chosen = by_compression ? by_compression : by_algorithm;
    if (by_compression && by_algorithm && by_compression->algorithm != by_algorithm->algorithm) {
      if (by_compression->origin == by_algorithm->origin) {
        fail(ErrorCategory::kConfig,
             "COMPRESSION='" + by_compression->algorithm + "' and COMPRESSION_ALGORITHM='" +
                 by_algorithm->algorithm + "' (both from " + origin_phrase(by_algorithm->origin) +
                 ") disagree: set only one of them");
      }
      chosen = by_compression->origin > by_algorithm->origin ? by_compression : by_algorithm;
    }
    if (enabled == true && chosen && chosen->algorithm == "none") {
      fail(ErrorCategory::kConfig,
           "COMPRESSION='" + compression_raw->text + "' (from " +
               origin_phrase(compression_raw->origin) + ") contradicts COMPRESSION_ALGORITHM='none'"
               " (from " + origin_phrase(chosen->origin) +
               "): choose " + codec_names(", ", " or ", false) + ", or set COMPRESSION=false");
    }

    Choice effective{c.compression_algorithm, Origin::kDefault};
    if (enabled == false) {
      effective = Choice{"none", compression_raw->origin};
    } else if (chosen) {
      effective = *chosen;
    }
    const std::string algorithm = effective.algorithm;
    c.compression_algorithm = algorithm;
    c.compression = algorithm != "none";
    derived_origin_["COMPRESSION_ALGORITHM"] = effective.origin;
    // COMPRESSION_ALGORITHM=none alone turns compression off, so it is also COMPRESSION's origin.
    derived_origin_["COMPRESSION"] = compression_raw ? compression_raw->origin
                                     : c.compression ? Origin::kDefault
                                                     : effective.origin;

    const Codec codec = *codec_from_name(algorithm);
    const auto [min, max] = level_range(codec);
    if (auto v = get("COMPRESSION_LEVEL")) {
      auto level = parse_int(v->text);
      if (!level) invalid("COMPRESSION_LEVEL", *v, "a whole number");
      if (min != max && (*level < min || *level > max)) {
        fail(ErrorCategory::kConfig,
             "COMPRESSION_LEVEL='" + v->text + "' (from " + origin_phrase(v->origin) +
                 ") is not valid for compression algorithm " + algorithm + ": expected " +
                 std::to_string(min) + ".." + std::to_string(max));
      }
      c.compression_level = *level;
    } else {
      c.compression_level = default_level(codec);
    }
  }

  void build_s3(BackupConfig& c) {
    if (auto v = get("AWS_SESSION_TOKEN")) c.aws_session_token = secret_value("AWS_SESSION_TOKEN", *v);
    if (auto v = get("AWS_PROFILE")) c.aws_profile = v->text;
    if (auto v = get("AWS_SHARED_CREDENTIALS_FILE")) {
      c.aws_shared_credentials_file = path_value("AWS_SHARED_CREDENTIALS_FILE", *v);
    }
    c.s3_mode = c.s3_bucket.empty() ? S3Mode::kOff : S3Mode::kCopy;
    if (auto v = get("S3_MODE")) {
      const std::string t = lower_case(v->text);
      if (t == "off") c.s3_mode = S3Mode::kOff;
      else if (t == "copy") c.s3_mode = S3Mode::kCopy;
      else if (t == "repository") c.s3_mode = S3Mode::kRepository;
      else invalid("S3_MODE", *v, "off, copy or repository");
      if (c.s3_mode != S3Mode::kOff && c.s3_bucket.empty()) {
        fail(ErrorCategory::kConfig, "S3_MODE=" + t + " (from " + origin_phrase(v->origin) +
                                         ") needs S3_BUCKET: set the bucket, or S3_MODE=off");
      }
    } else if (!c.s3_bucket.empty()) {
      derived_origin_["S3_MODE"] = origin_of("S3_BUCKET");
    }
    if (auto v = get("S3_ENDPOINT")) {
      check_endpoint(*v);
      c.s3_endpoint = v->text;
    }
    if (auto v = get("S3_PREFIX")) {
      if (!v->text.empty() && v->text.front() == '/') invalid("S3_PREFIX", *v, "a key prefix without a leading '/' (e.g. backups/)");
      c.s3_prefix = v->text;
      if (!c.s3_prefix.empty() && c.s3_prefix.back() != '/') c.s3_prefix += '/';
    }
    c.s3_path_style = !c.s3_endpoint.empty();
    if (auto v = get("S3_PATH_STYLE")) {
      c.s3_path_style = bool_value("S3_PATH_STYLE", *v);
    } else if (!c.s3_endpoint.empty()) {
      derived_origin_["S3_PATH_STYLE"] = origin_of("S3_ENDPOINT");
    }
    if (auto v = get("S3_STORAGE_CLASS")) c.s3_storage_class = v->text;
    if (auto v = get("S3_SSE")) {
      if (v->text != "AES256" && v->text != "aws:kms") invalid("S3_SSE", *v, "AES256 or aws:kms");
      c.s3_sse = v->text;
    }
    if (auto v = get("S3_SSE_KMS_KEY_ID")) c.s3_sse_kms_key_id = v->text;
    if (auto v = get("S3_CA_BUNDLE")) c.s3_ca_bundle = path_value("S3_CA_BUNDLE", *v);
    if (auto v = get("S3_VERIFY_TLS")) c.s3_verify_tls = bool_value("S3_VERIFY_TLS", *v);
    if (auto v = get("S3_RETRY_SECONDS")) {
      c.s3_retry_seconds = int_in_range("S3_RETRY_SECONDS", *v, 1, 3600, "a whole number of seconds from 1 to 3600");
    }
    if (c.s3_mode != S3Mode::kOff) fill_from_credentials_file(c);
  }

  // Keys not set anywhere come from the AWS shared credentials file, as the AWS CLI does.
  void fill_from_credentials_file(BackupConfig& c) {
    if (!c.aws_access_key_id.empty() && c.aws_secret_access_key) return;
    std::filesystem::path file = c.aws_shared_credentials_file;
    if (file.empty()) {
      const char* home = std::getenv("HOME");
      if (!home || !*home) return;
      file = std::filesystem::path(home) / ".aws" / "credentials";
    }
    std::error_code ec;
    if (!std::filesystem::exists(file, ec)) {
      if (!c.aws_shared_credentials_file.empty()) {
        fail(ErrorCategory::kConfig, "AWS_SHARED_CREDENTIALS_FILE='" + file.string() +
                                         "' does not exist: check the path");
      }
      return;
    }
    const std::string profile = c.aws_profile.empty() ? "default" : c.aws_profile;
    const auto profiles = read_aws_credentials_file(file);
    auto it = profiles.find(profile);
    if (it == profiles.end()) {
      if (c.aws_profile.empty()) return;
      fail(ErrorCategory::kConfig, "AWS_PROFILE='" + profile + "': no [" + profile + "] section in '" +
                                       file.string() + "'");
    }
    const auto& keys = it->second;
    const bool both_from_file = c.aws_access_key_id.empty() && !c.aws_secret_access_key;
    if (c.aws_access_key_id.empty() && keys.count("aws_access_key_id")) {
      c.aws_access_key_id = keys.at("aws_access_key_id");
      derived_origin_["AWS_ACCESS_KEY_ID"] = Origin::kCredentialsFile;
    }
    if (!c.aws_secret_access_key && keys.count("aws_secret_access_key")) {
      c.aws_secret_access_key = keys.at("aws_secret_access_key");
      derived_origin_["AWS_SECRET_ACCESS_KEY"] = Origin::kCredentialsFile;
    }
    if (both_from_file && !c.aws_session_token && keys.count("aws_session_token")) {
      c.aws_session_token = keys.at("aws_session_token");
      derived_origin_["AWS_SESSION_TOKEN"] = Origin::kCredentialsFile;
    }
  }

  RawSettings raw_;
  Uses uses_;
  std::map<std::string, Origin> derived_origin_;
};

}  // namespace

Origin Interpretation::origin_of(const std::string& name) const {
  auto it = origins.find(name);
  return it == origins.end() ? Origin::kDefault : it->second;
}

Interpretation interpret(RawSettings raw, Uses uses) {
  Interpreter interpreter(std::move(raw), uses);
  Interpretation out;
  out.config = interpreter.build();
  out.origins = interpreter.origins();
  return out;
}

}  // namespace coffer::config
