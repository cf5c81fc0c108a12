#include "config/config_loader.h"

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <set>

#include <gtest/gtest.h>

#include "coffer/error.h"
#include "config/config_test_support.h"

namespace coffer {
namespace {

using config::Sources;
namespace fs = std::filesystem;

using config_test::config_error;

class ConfigLoaderTest : public config_test::TempDirTest {
 protected:
  Sources with_file(const std::string& toml) {
    Sources s;
    s.config_file = write("coffer.toml", toml);
    return s;
  }
};

std::map<std::string, config::SettingView> views_by_name(const Sources& s) {
  std::map<std::string, config::SettingView> out;
  for (const auto& v : config::describe(s)) out[v.name] = v;
  return out;
}

TEST_F(ConfigLoaderTest, DefaultsWhenNothingIsSet) {
  const BackupConfig c = config::load(Sources{});
  const BackupConfig d;
  EXPECT_EQ(c.backup_dir, d.backup_dir);
  EXPECT_TRUE(c.backup_paths.empty());
  EXPECT_EQ(c.retention_days, 30);
  EXPECT_TRUE(c.compression);
  EXPECT_EQ(c.compression_algorithm, "zstd");
  EXPECT_EQ(c.compression_level, 3);
  EXPECT_TRUE(c.encryption);
  EXPECT_FALSE(c.passphrase);
  EXPECT_TRUE(c.passphrase_file.empty());
  EXPECT_EQ(c.db_host, "localhost");
  EXPECT_EQ(c.db_port, 5432);
  EXPECT_FALSE(c.db_password);
  EXPECT_EQ(c.s3_region, "us-east-1");
  EXPECT_FALSE(c.aws_secret_access_key);

  const auto views = config::describe(Sources{});
  ASSERT_EQ(views.size(), config::setting_names().size());
  for (size_t i = 0; i < views.size(); ++i) {
    EXPECT_EQ(views[i].name, config::setting_names()[i]);
    EXPECT_EQ(views[i].origin, "default") << views[i].name;
  }
}

// One value per setting, as environment/flag text and as TOML, and how to read it back.
struct SettingCase {
  std::string name;
  std::string text;
  std::string toml;
  std::function<std::string(const BackupConfig&)> read;
};

std::vector<SettingCase> setting_cases() {
  auto secret = [](const std::optional<std::string>& s) { return s.value_or("<unset>"); };
  return {
      {"BACKUP_DIR", "/srv/b", "\"/srv/b\"", [](auto& c) { return c.backup_dir.string(); }},
      {"BACKUP_PATHS", "/etc", "\"/etc\"",
       [](auto& c) { return c.backup_paths.size() == 1 ? c.backup_paths[0].string() : "?"; }},
      {"RETENTION_DAYS", "7", "7", [](auto& c) { return std::to_string(c.retention_days); }},
      {"KEEP_LAST", "3", "3", [](auto& c) { return std::to_string(c.keep_last); }},
      {"KEEP_DAILY", "7", "7", [](auto& c) { return std::to_string(c.keep_daily); }},
      {"KEEP_WEEKLY", "4", "4", [](auto& c) { return std::to_string(c.keep_weekly); }},
      {"KEEP_MONTHLY", "12", "12", [](auto& c) { return std::to_string(c.keep_monthly); }},
      {"KEEP_YEARLY", "5", "5", [](auto& c) { return std::to_string(c.keep_yearly); }},
      {"LOCK_WAIT_SECONDS", "90", "90", [](auto& c) { return std::to_string(c.lock_wait_seconds); }},
      {"COMPRESSION", "lz4", "\"lz4\"", [](auto& c) { return c.compression_algorithm; }},
      {"COMPRESSION_ALGORITHM", "gzip", "\"gzip\"",
       [](auto& c) { return c.compression_algorithm; }},
      {"COMPRESSION_LEVEL", "12", "12",
       [](auto& c) { return std::to_string(c.compression_level); }},
      {"DB_COMPRESSION_KEEP_UP", "false", "false",
       [](auto& c) { return std::string(c.db_compression_keep_up ? "true" : "false"); }},
      {"ENCRYPTION", "false", "false",
       [](auto& c) { return std::string(c.encryption ? "true" : "false"); }},
      {"BACKUP_PASSPHRASE", "pp", "\"pp\"", [=](auto& c) { return secret(c.passphrase); }},
      {"BACKUP_PASSPHRASE_FILE", "/k", "\"/k\"",
       [](auto& c) { return c.passphrase_file.string(); }},
      {"DB_HOST", "db.example", "\"db.example\"", [](auto& c) { return c.db_host; }},
      {"DB_PORT", "6543", "6543", [](auto& c) { return std::to_string(c.db_port); }},
      {"DB_NAME", "app", "\"app\"", [](auto& c) { return c.db_name; }},
      {"DB_USER", "bob", "\"bob\"", [](auto& c) { return c.db_user; }},
      {"DB_PASSWORD", "pw", "\"pw\"", [=](auto& c) { return secret(c.db_password); }},
      {"DB_BACKUP_MODE", "physical", "\"physical\"",
       [](auto& c) { return std::string(c.db_backup_mode == DbBackupMode::kPhysical ? "physical" : "logical"); }},
      {"DB_DATA_DIR", "/pg/data", "\"/pg/data\"", [](auto& c) { return c.db_data_dir.string(); }},
      {"ARCHIVE_TIMEOUT", "90", "90", [](auto& c) { return std::to_string(c.archive_timeout_seconds); }},
      {"WAL_KEY_CACHE", "false", "false", [](auto& c) { return std::string(c.wal_key_cache ? "true" : "false"); }},
      {"DRILL_SQL", "/etc/coffer/probes.sql", "\"/etc/coffer/probes.sql\"", [](auto& c) { return c.drill_sql.string(); }},
      {"S3_BUCKET", "bkt", "\"bkt\"", [](auto& c) { return c.s3_bucket; }},
      {"S3_REGION", "eu-west-1", "\"eu-west-1\"", [](auto& c) { return c.s3_region; }},
      {"AWS_ACCESS_KEY_ID", "AKIA1", "\"AKIA1\"", [](auto& c) { return c.aws_access_key_id; }},
      {"AWS_SECRET_ACCESS_KEY", "sk", "\"sk\"",
       [=](auto& c) { return secret(c.aws_secret_access_key); }},
      {"AWS_SESSION_TOKEN", "tok", "\"tok\"", [=](auto& c) { return secret(c.aws_session_token); }},
      {"AWS_PROFILE", "prod", "\"prod\"", [](auto& c) { return c.aws_profile; }},
      {"AWS_SHARED_CREDENTIALS_FILE", "/c", "\"/c\"",
       [](auto& c) { return c.aws_shared_credentials_file.string(); }},
      {"S3_MODE", "off", "\"off\"",
       [](auto& c) { return std::string(c.s3_mode == S3Mode::kOff ? "off" : "on"); }},
      {"S3_ENDPOINT", "http://h:9", "\"http://h:9\"", [](auto& c) { return c.s3_endpoint; }},
      {"S3_PREFIX", "p/", "\"p/\"", [](auto& c) { return c.s3_prefix; }},
      {"S3_PATH_STYLE", "true", "true",
       [](auto& c) { return std::string(c.s3_path_style ? "true" : "false"); }},
      {"S3_STORAGE_CLASS", "GLACIER", "\"GLACIER\"", [](auto& c) { return c.s3_storage_class; }},
      {"S3_SSE", "AES256", "\"AES256\"", [](auto& c) { return c.s3_sse; }},
      {"S3_SSE_KMS_KEY_ID", "k1", "\"k1\"", [](auto& c) { return c.s3_sse_kms_key_id; }},
      {"S3_CA_BUNDLE", "/ca.pem", "\"/ca.pem\"", [](auto& c) { return c.s3_ca_bundle.string(); }},
      {"S3_VERIFY_TLS", "false", "false",
       [](auto& c) { return std::string(c.s3_verify_tls ? "true" : "false"); }},
      {"S3_RETRY_SECONDS", "7", "7", [](auto& c) { return std::to_string(c.s3_retry_seconds); }},
  };
}

std::string lower(std::string s) {
  for (auto& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

// The scheduler service's settings: passed through as text (the schedule module validates them).
const std::vector<std::string> kServiceSettings = {
    "BACKUP_SCHEDULE_FULL", "BACKUP_SCHEDULE_INCREMENTAL", "BACKUP_SCHEDULE_DIFFERENTIAL",
    "BACKUP_SCHEDULE_CLEANUP", "BACKUP_SCHEDULE_VERIFY", "BACKUP_SCHEDULE_DRILL", "TZ", "STATUS_MAX_AGE_HOURS",
    "STATUS_MIN_DAYS_LEFT", "S3_QUOTA", "METRICS_FILE", "METRICS_PORT", "METRICS_ADDRESS", "DASHBOARD_TOKEN", "NOTIFY_COMMAND", "NOTIFY_ON", "NOTIFY_TIMEOUT_SECONDS"};

TEST_F(ConfigLoaderTest, CasesCoverEverySetting) {
  std::vector<std::string> names;
  for (const auto& c : setting_cases()) names.push_back(c.name);
  names.insert(names.end(), kServiceSettings.begin(), kServiceSettings.end());
  EXPECT_EQ(names, config::setting_names());
}

TEST_F(ConfigLoaderTest, ServiceSettingsComeFromFileEnvironmentAndFlagsInThatPrecedence) {
  Sources s = with_file(
      "backup_schedule_full = \"30 1 * * *\"\nmetrics_port = 9187\nnotify_on = \"always\"\n"
      "backup_schedule_cleanup = \"0 4 * * *\"\n");
  s.environment = {{"BACKUP_SCHEDULE_FULL", "0 5 * * *"}, {"TZ", "Europe/Berlin"}, {"HOME", "/root"}};
  s.flags = {{"NOTIFY_ON", "failure"}};
  const auto got = config::service_settings(s);
  EXPECT_EQ(got, (std::map<std::string, std::string>{{"BACKUP_SCHEDULE_FULL", "0 5 * * *"},
                                                     {"BACKUP_SCHEDULE_CLEANUP", "0 4 * * *"},
                                                     {"METRICS_PORT", "9187"},
                                                     {"NOTIFY_ON", "failure"},
                                                     {"TZ", "Europe/Berlin"}}));
  auto v = views_by_name(s);
  EXPECT_EQ(v["BACKUP_SCHEDULE_FULL"].origin, "environment");
  EXPECT_EQ(v["BACKUP_SCHEDULE_CLEANUP"].value, "0 4 * * *");
  EXPECT_EQ(v["BACKUP_SCHEDULE_CLEANUP"].origin, "file");
  EXPECT_EQ(v["METRICS_FILE"].origin, "default");
  // A number is fine for these keys; a table is not.
  EXPECT_THROW(config::service_settings(with_file("metrics_port = [1, 2]\n")), Error);
}

TEST_F(ConfigLoaderTest, EachSourceAloneSetsEachSetting) {
  for (const auto& sc : setting_cases()) {
    SCOPED_TRACE(sc.name);
    Sources env;
    env.environment[sc.name] = sc.text;
    EXPECT_EQ(sc.read(config::load(env)), sc.text);
    EXPECT_EQ(views_by_name(env)[sc.name].origin, "environment");

    Sources flag;
    flag.flags[sc.name] = sc.text;
    EXPECT_EQ(sc.read(config::load(flag)), sc.text);
    EXPECT_EQ(views_by_name(flag)[sc.name].origin, "flag");

    const Sources file = with_file(lower(sc.name) + " = " + sc.toml + "\n");
    EXPECT_EQ(sc.read(config::load(file)), sc.text);
    EXPECT_EQ(views_by_name(file)[sc.name].origin, "file");
  }
}

TEST_F(ConfigLoaderTest, FlagBeatsEnvironmentBeatsFileBeatsDefault) {
  const Sources all = with_file(
      "retention_days = 10\ndb_host = \"file-host\"\ndb_name = \"file-db\"\ns3_bucket = \"fb\"\n");
  Sources s = all;
  s.environment = {{"RETENTION_DAYS", "20"}, {"DB_HOST", "env-host"}};
  s.flags = {{"RETENTION_DAYS", "40"}};
  const BackupConfig c = config::load(s);
  EXPECT_EQ(c.retention_days, 40);      // flag > env > file
  EXPECT_EQ(c.db_host, "env-host");     // env > file
  EXPECT_EQ(c.db_name, "file-db");      // file > default
  EXPECT_EQ(c.db_port, 5432);           // default
  auto v = views_by_name(s);
  EXPECT_EQ(v["RETENTION_DAYS"].origin, "flag");
  EXPECT_EQ(v["DB_HOST"].origin, "environment");
  EXPECT_EQ(v["DB_NAME"].origin, "file");
  EXPECT_EQ(v["DB_PORT"].origin, "default");

  // Same for every setting: with all three sources set, each layer removed in turn.
  for (const auto& sc : setting_cases()) {
    if (sc.name == "COMPRESSION" || sc.name == "COMPRESSION_ALGORITHM") continue;  // own test
    // Enumerations, booleans and URLs: "8"/"9" are not valid values; S3ModesAndDefaults covers them.
    static const std::set<std::string> non_numeric = {"S3_MODE", "S3_ENDPOINT", "S3_PREFIX", "S3_PATH_STYLE",
                                                      "S3_SSE", "S3_VERIFY_TLS", "DB_COMPRESSION_KEEP_UP",
                                                      "DB_BACKUP_MODE", "WAL_KEY_CACHE"};
    if (non_numeric.count(sc.name)) continue;
    SCOPED_TRACE(sc.name);
    const std::string key = lower(sc.name);
    Sources layered = with_file(key + " = " + sc.toml + "\n");
    const std::string file_value = sc.text;
    const std::string env_value = sc.name == "COMPRESSION_LEVEL" ? "4" : "8";
    const std::string flag_value = sc.name == "COMPRESSION_LEVEL" ? "5" : "9";
    layered.environment[sc.name] = env_value;
    layered.flags[sc.name] = flag_value;
    if (sc.name == "ENCRYPTION") {
      layered.environment[sc.name] = "on";
      layered.flags[sc.name] = "no";
      EXPECT_FALSE(config::load(layered).encryption);
      layered.flags.clear();
      EXPECT_TRUE(config::load(layered).encryption);
      layered.environment.clear();
      EXPECT_FALSE(config::load(layered).encryption);
      continue;
    }
    EXPECT_EQ(sc.read(config::load(layered)), flag_value);
    layered.flags.clear();
    EXPECT_EQ(sc.read(config::load(layered)), env_value);
    layered.environment.clear();
    EXPECT_EQ(sc.read(config::load(layered)), file_value);
  }
}

TEST_F(ConfigLoaderTest, EmptyEnvironmentValueCountsAsUnset) {
  Sources s = with_file("db_host = \"from-file\"\n");
  s.environment = {{"DB_HOST", ""}, {"RETENTION_DAYS", ""}};
  const BackupConfig c = config::load(s);
  EXPECT_EQ(c.db_host, "from-file");
  EXPECT_EQ(c.retention_days, 30);
}

TEST_F(ConfigLoaderTest, UnrelatedEnvironmentVariablesAreIgnored) {
  Sources s;
  s.environment = {{"PATH", "/bin"}, {"HOME", "/root"}};
  EXPECT_EQ(config::load(s).retention_days, 30);
}


// The algorithm names in these messages come from codec/; the wording stays as it was.
TEST_F(ConfigLoaderTest, BackupPathsFromStringAndArray) {
  Sources env;
  env.environment = {{"BACKUP_PATHS", "/etc:/home/user::/var/www:"}};
  EXPECT_EQ(config::load(env).backup_paths,
            (std::vector<fs::path>{"/etc", "/home/user", "/var/www"}));

  const Sources str = with_file("backup_paths = \"/a:/b\"\n");
  EXPECT_EQ(config::load(str).backup_paths, (std::vector<fs::path>{"/a", "/b"}));

  const Sources arr = with_file("backup_paths = [\"/a\", \"/with:colon\"]\n");
  EXPECT_EQ(config::load(arr).backup_paths, (std::vector<fs::path>{"/a", "/with:colon"}));
  EXPECT_EQ(views_by_name(arr)["BACKUP_PATHS"].value, "/a:/with:colon");

  const Sources bad = with_file("backup_paths = [\"/a\", 3]\n");
  EXPECT_NE(config_error([&] { config::load(bad); }).find("backup_paths"), std::string::npos);
}

// Settings derived from others show their value and the origin of the setting they follow.
TEST_F(ConfigLoaderTest, DescribeShowsDerivedValuesAndTheirOrigins) {
  Sources s;
  s.environment = {{"S3_BUCKET", "b"}, {"COMPRESSION_ALGORITHM", "none"},
                   {"AWS_SHARED_CREDENTIALS_FILE",
                    write("credentials", "[default]\naws_access_key_id = AKIADEF\naws_secret_access_key = sk\n").string()}};
  s.flags = {{"S3_ENDPOINT", "http://127.0.0.1:4568"}};
  auto v = views_by_name(s);
  EXPECT_EQ(v["S3_MODE"].value, "copy");
  EXPECT_EQ(v["S3_MODE"].origin, "environment");
  EXPECT_EQ(v["S3_PATH_STYLE"].value, "true");
  EXPECT_EQ(v["S3_PATH_STYLE"].origin, "flag");
  EXPECT_EQ(v["COMPRESSION"].value, "false");
  EXPECT_EQ(v["COMPRESSION"].origin, "environment");
  EXPECT_EQ(v["AWS_ACCESS_KEY_ID"].value, "AKIADEF");
  EXPECT_EQ(v["AWS_ACCESS_KEY_ID"].origin, "credentials file");
  EXPECT_EQ(v["AWS_SECRET_ACCESS_KEY"].value, "<redacted>");
  EXPECT_EQ(v["AWS_SECRET_ACCESS_KEY"].origin, "credentials file");
}

TEST_F(ConfigLoaderTest, SecretsNeverAppearInDescribeOrErrors) {
  const std::string secret = "Sekr1t-Zebra-4417";
  Sources s = with_file("db_password = \"" + secret + "\"\n");
  s.environment = {{"BACKUP_PASSPHRASE", secret}, {"DASHBOARD_TOKEN", secret}};
  s.flags = {{"AWS_SECRET_ACCESS_KEY", secret}};
  auto views = views_by_name(s);
  EXPECT_EQ(views["DASHBOARD_TOKEN"].value, "<redacted>");  // a service setting, and a secret
  for (const auto& [name, view] : views) {
    EXPECT_EQ(view.value.find(secret), std::string::npos) << name;
  }
  EXPECT_EQ(views["BACKUP_PASSPHRASE"].value, "<redacted>");
  EXPECT_EQ(views["DB_PASSWORD"].value, "<redacted>");
  EXPECT_EQ(views["DB_PASSWORD"].origin, "file");
  EXPECT_EQ(views["AWS_SECRET_ACCESS_KEY"].value, "<redacted>");
  EXPECT_EQ(views["AWS_SECRET_ACCESS_KEY"].origin, "flag");

  // Error paths that see a secret's text: TOML syntax errors and wrong types on secret lines.
  for (const std::string& toml :
       {"backup_passphrase = \"" + secret + "\\q\"", "db_password = " + secret,
        "aws_secret_access_key = [\"" + secret + "\"]", std::string("backup_passphrase = \"\"")}) {
    SCOPED_TRACE(toml);
    const Sources bad = with_file(toml + "\n");
    const std::string msg = config_error([&] { config::load(bad); });
    EXPECT_EQ(msg.find(secret), std::string::npos) << msg;
    EXPECT_EQ(msg.find("Zebra"), std::string::npos) << msg;
    EXPECT_EQ(msg.find("\\q"), std::string::npos) << msg;
  }
  // A secret's value is never quoted, not even when empty.
  const Sources empty = with_file("backup_passphrase = \"\"\n");
  EXPECT_EQ(config_error([&] { config::load(empty); }).rfind("BACKUP_PASSPHRASE (from", 0), 0u);
}

TEST_F(ConfigLoaderTest, UnknownFlagNameIsAnInternalError) {
  Sources s;
  s.flags = {{"RETENTION", "3"}};
  try {
    config::load(s);
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kInternal);
  }
}

TEST_F(ConfigLoaderTest, SettingFlagsFillTheFlagsTheLoaderReads) {
  const std::vector<config::SettingFlag> flags = config::setting_flags();
  ASSERT_FALSE(flags.empty());
  EXPECT_EQ(flags.front().flag, "--backup-dir");
  EXPECT_EQ(flags.front().name, "BACKUP_DIR");
  EXPECT_NE(flags.front().help.find("(BACKUP_DIR)"), std::string::npos) << flags.front().help;
  for (const config::SettingFlag& f : flags) {
    EXPECT_EQ(f.flag.rfind("--", 0), 0u) << f.flag;
    EXPECT_NE(std::find(config::setting_names().begin(), config::setting_names().end(), f.name),
              config::setting_names().end())
        << f.name;
  }
  Sources s;
  s.flags[flags.front().name] = "/srv/from-flag";
  EXPECT_EQ(config::load(s).backup_dir, "/srv/from-flag");
}

TEST_F(ConfigLoaderTest, ProcessEnvironmentReadsOnlyKnownSettings) {
  ::setenv("S3_BUCKET", "env-bucket-123", 1);
  ::setenv("COFFER_UNRELATED_TEST_VAR", "x", 1);
  const auto env = config::process_environment();
  ::unsetenv("S3_BUCKET");
  ::unsetenv("COFFER_UNRELATED_TEST_VAR");
  ASSERT_TRUE(env.count("S3_BUCKET"));
  EXPECT_EQ(env.at("S3_BUCKET"), "env-bucket-123");
  EXPECT_FALSE(env.count("COFFER_UNRELATED_TEST_VAR"));
  for (const auto& [name, value] : env) {
    EXPECT_NE(std::find(config::setting_names().begin(), config::setting_names().end(), name),
              config::setting_names().end());
  }
}

TEST_F(ConfigLoaderTest, PassphraseViaLoadFromFileSetting) {
  Sources s;
  s.environment = {{"BACKUP_PASSPHRASE_FILE", write("pass", "loaded\n").string()},
                   {"ENCRYPTION", "true"}};
  EXPECT_EQ(config::read_passphrase(config::load(s)), "loaded");
}

TEST_F(ConfigLoaderTest, EncryptionWithoutPassphraseLoadsFine) {
  Sources s;
  s.environment = {{"ENCRYPTION", "yes"}};
  const BackupConfig c = config::load(s);
  EXPECT_TRUE(c.encryption);
  EXPECT_EQ(config::read_passphrase(c), std::nullopt);
}

}  // namespace
}  // namespace coffer

