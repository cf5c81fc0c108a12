#include "config/config_loader.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <set>

#include <gtest/gtest.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include "coffer/error.h"
#include "config/aws_credentials.h"
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
    "BACKUP_SCHEDULE_CLEANUP", "BACKUP_SCHEDULE_VERIFY", "TZ", "STATUS_MAX_AGE_HOURS", "METRICS_FILE",
    "METRICS_PORT", "METRICS_ADDRESS", "NOTIFY_COMMAND", "NOTIFY_ON", "NOTIFY_TIMEOUT_SECONDS"};

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
                                                      "S3_SSE", "S3_VERIFY_TLS", "DB_COMPRESSION_KEEP_UP"};
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

TEST_F(ConfigLoaderTest, S3EndpointIsCheckedAtLoadAndCredentialsInItAreNeverShown) {
  for (const std::string good : {"http://127.0.0.1:9000", "https://s3.eu-central-1.amazonaws.com/", "HTTP://minio:80",
                                 "http://[::1]:9000"}) {
    Sources s;
    s.environment = {{"S3_ENDPOINT", good}};
    EXPECT_NO_THROW(config::load(s)) << good;
  }
  for (const std::string bad : {"http://admin:Secret-4711@127.0.0.1:9000", "http://127.0.0.1:9000/path", "http://",
                                "ftp://host", "127.0.0.1:9000", "http://host:0", "http://host:123456", "http://host:x",
                                "http://host?x=1"}) {
    Sources s;
    s.environment = {{"S3_ENDPOINT", bad}};
    try {
      config::load(s);
      ADD_FAILURE() << bad << " was accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.category(), ErrorCategory::kConfig) << bad;
      EXPECT_NE(std::string(e.what()).find("S3_ENDPOINT"), std::string::npos) << e.what();
      EXPECT_EQ(std::string(e.what()).find("Secret-4711"), std::string::npos) << e.what();
    }
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

struct InvalidCase {
  std::string name;
  std::string value;
};

TEST_F(ConfigLoaderTest, InvalidValuesNameTheSettingValueAndOrigin) {
  const std::vector<InvalidCase> cases = {
      {"RETENTION_DAYS", "abc"},   {"RETENTION_DAYS", "0"},     {"RETENTION_DAYS", "-3"},
      {"RETENTION_DAYS", "1.5"},   {"RETENTION_DAYS", " 7"},    {"COMPRESSION", "maybe"},
      {"COMPRESSION_ALGORITHM", "brotli"}, {"COMPRESSION_LEVEL", "fast"},
      {"ENCRYPTION", "sure"},      {"DB_PORT", "70000"},        {"DB_PORT", "0"},
      {"DB_PORT", "99999999999"},
      {"KEEP_LAST", "-1"},         {"KEEP_DAILY", "seven"},     {"KEEP_WEEKLY", "2.5"},
      {"KEEP_MONTHLY", "1e3"},     {"KEEP_YEARLY", "-2"},       {"LOCK_WAIT_SECONDS", "-5"},
      {"LOCK_WAIT_SECONDS", "soon"}, {"LOCK_WAIT_SECONDS", "999999999"},
      {"S3_MODE", "mirror"},       {"S3_ENDPOINT", "127.0.0.1:9000"}, {"S3_PATH_STYLE", "maybe"},
      {"S3_SSE", "aes"},           {"S3_VERIFY_TLS", "sometimes"},    {"S3_RETRY_SECONDS", "0"},
      {"S3_PREFIX", "/abs/"},      {"DB_COMPRESSION_KEEP_UP", "fast"},
  };
  for (const auto& ic : cases) {
    SCOPED_TRACE(ic.name + "=" + ic.value);
    Sources env;
    env.environment[ic.name] = ic.value;
    const std::string msg = config_error([&] { config::load(env); });
    EXPECT_NE(msg.find(ic.name + "='" + ic.value + "'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("(from environment)"), std::string::npos) << msg;
    EXPECT_NE(msg.find("expected"), std::string::npos) << msg;

    Sources flag;
    flag.flags[ic.name] = ic.value;
    EXPECT_NE(config_error([&] { config::load(flag); }).find(ic.name), std::string::npos);
  }
  Sources s;
  s.environment["RETENTION_DAYS"] = "abc";
  EXPECT_EQ(config_error([&] { config::load(s); }),
            "RETENTION_DAYS='abc' (from environment) is not valid: expected a whole number of "
            "days >= 1");
}

TEST_F(ConfigLoaderTest, ABadSettingBlocksOnlyTheCommandsThatUseIt) {
  struct Case {
    std::string name, value;
    config::Uses without;  // the uses that leave out the group holding `name`
  };
  config::Uses no_retention, no_writing, no_database;
  no_retention.retention = false;
  no_writing.writing = false;
  no_database.database = false;
  const std::vector<Case> cases = {
      {"RETENTION_DAYS", "0", no_retention}, {"KEEP_LAST", "-1", no_retention},
      {"COMPRESSION", "maybe", no_writing},  {"COMPRESSION_LEVEL", "99", no_writing},
      {"ENCRYPTION", "sure", no_writing},    {"DB_COMPRESSION_KEEP_UP", "fast", no_writing},
      {"DB_PORT", "abc", no_database},
  };
  auto sink = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(4);
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>("test", sink));
  const BackupConfig defaults = config::load(Sources{});
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name + "=" + c.value);
    Sources s;
    s.environment = {{c.name, c.value}, {"BACKUP_DIR", "/srv/b"}};
    EXPECT_NE(config_error([&] { config::load(s); }).find(c.name), std::string::npos);
    BackupConfig loaded;
    ASSERT_NO_THROW(loaded = config::load(s, c.without));
    EXPECT_EQ(loaded.backup_dir, "/srv/b");
    EXPECT_EQ(loaded.retention_days, defaults.retention_days);
    EXPECT_EQ(loaded.keep_last, defaults.keep_last);
    EXPECT_EQ(loaded.compression_algorithm, defaults.compression_algorithm);
    EXPECT_EQ(loaded.compression_level, defaults.compression_level);
    EXPECT_EQ(loaded.encryption, defaults.encryption);
    EXPECT_EQ(loaded.db_port, defaults.db_port);
    const std::vector<std::string> logged = sink->last_formatted();
    ASSERT_FALSE(logged.empty()) << "the ignored value must be warned about";
    EXPECT_NE(logged.back().find(c.name + "='" + c.value + "'"), std::string::npos) << logged.back();
  }
  // Settings every command uses stay strict.
  Sources s;
  s.environment = {{"LOCK_WAIT_SECONDS", "soon"}};
  config::Uses none;
  none.retention = none.writing = none.database = false;
  EXPECT_NE(config_error([&] { config::load(s, none); }).find("LOCK_WAIT_SECONDS"), std::string::npos);
  spdlog::set_default_logger(previous);
}

TEST_F(ConfigLoaderTest, RetentionRulesDefaultOffAndAcceptZero) {
  const BackupConfig d = config::load(Sources{});
  EXPECT_EQ(d.keep_last + d.keep_daily + d.keep_weekly + d.keep_monthly + d.keep_yearly, 0);
  EXPECT_EQ(d.lock_wait_seconds, 0);
  Sources s;
  s.environment = {{"KEEP_DAILY", "0"}, {"LOCK_WAIT_SECONDS", "0"}, {"KEEP_YEARLY", "10"}};
  const BackupConfig c = config::load(s);
  EXPECT_EQ(c.keep_daily, 0);
  EXPECT_EQ(c.lock_wait_seconds, 0);
  EXPECT_EQ(c.keep_yearly, 10);
  s.environment = {{"KEEP_WEEKLY", "x"}};
  EXPECT_EQ(config_error([&] { config::load(s); }),
            "KEEP_WEEKLY='x' (from environment) is not valid: expected a whole number >= 0 (0 turns the "
            "rule off)");
  const Sources file = with_file("keep_monthly = -1\n");
  EXPECT_NE(config_error([&] { config::load(file); }).find("KEEP_MONTHLY='-1'"), std::string::npos);
}

TEST_F(ConfigLoaderTest, InvalidFileValueNamesTheFile) {
  const Sources s = with_file("db_port = 70000\n");
  const std::string msg = config_error([&] { config::load(s); });
  EXPECT_NE(msg.find("DB_PORT='70000'"), std::string::npos) << msg;
  EXPECT_NE(msg.find(s.config_file->string()), std::string::npos) << msg;
}

TEST_F(ConfigLoaderTest, CompressionLevelOutOfRangeNamesLevelAndAlgorithm) {
  Sources s;
  s.environment = {{"COMPRESSION_LEVEL", "99"}};
  std::string msg = config_error([&] { config::load(s); });
  EXPECT_NE(msg.find("COMPRESSION_LEVEL='99'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("zstd"), std::string::npos) << msg;
  EXPECT_NE(msg.find("1..19"), std::string::npos) << msg;

  s.environment = {{"COMPRESSION_LEVEL", "12"}, {"COMPRESSION", "gzip"}};
  msg = config_error([&] { config::load(s); });
  EXPECT_NE(msg.find("gzip"), std::string::npos) << msg;
  EXPECT_NE(msg.find("1..9"), std::string::npos) << msg;

  s.environment = {{"COMPRESSION_LEVEL", "9"}, {"COMPRESSION", "gzip"}};
  EXPECT_EQ(config::load(s).compression_level, 9);
  s.environment = {{"COMPRESSION_LEVEL", "99"}, {"COMPRESSION_ALGORITHM", "lz4"}};
  EXPECT_EQ(config::load(s).compression_algorithm, "lz4");  // level ignored by lz4
}

// The algorithm names in these messages come from codec/; the wording stays as it was.
TEST_F(ConfigLoaderTest, CompressionMessagesListTheCodecs) {
  Sources s;
  s.environment = {{"COMPRESSION", "maybe"}};
  EXPECT_EQ(config_error([&] { config::load(s); }),
            "COMPRESSION='maybe' (from environment) is not valid: expected true, false, yes, no, 1, 0, on, off "
            "or an algorithm name (zstd, gzip, lz4, none)");
  s.environment = {{"COMPRESSION_ALGORITHM", "brotli"}};
  EXPECT_EQ(config_error([&] { config::load(s); }),
            "COMPRESSION_ALGORITHM='brotli' (from environment) is not valid: expected zstd, gzip, lz4 or none");
  s.environment = {{"COMPRESSION", "true"}, {"COMPRESSION_ALGORITHM", "none"}};
  EXPECT_EQ(config_error([&] { config::load(s); }),
            "COMPRESSION='true' (from environment) contradicts COMPRESSION_ALGORITHM='none' (from environment): "
            "choose zstd, gzip or lz4, or set COMPRESSION=false");
  s.environment = {{"COMPRESSION_ALGORITHM", "gzip"}, {"COMPRESSION_LEVEL", "10"}};
  EXPECT_EQ(config_error([&] { config::load(s); }),
            "COMPRESSION_LEVEL='10' (from environment) is not valid for compression algorithm gzip: expected 1..9");
}

TEST_F(ConfigLoaderTest, CompressionValueSetsAlgorithmAndSwitch) {
  struct Case {
    std::string compression;
    bool on;
    std::string algorithm;
    int level;
  };
  const std::vector<Case> cases = {
      {"gzip", true, "gzip", 6},   {"GZIP", true, "gzip", 6},  {"lz4", true, "lz4", 0},
      {"zstd", true, "zstd", 3},   {"none", false, "none", 0}, {"false", false, "none", 0},
      {"Off", false, "none", 0},   {"0", false, "none", 0},    {"no", false, "none", 0},
      {"TRUE", true, "zstd", 3},   {"yes", true, "zstd", 3},   {"1", true, "zstd", 3},
      {"on", true, "zstd", 3},
  };
  for (const auto& tc : cases) {
    SCOPED_TRACE(tc.compression);
    Sources s;
    s.environment = {{"COMPRESSION", tc.compression}};
    const BackupConfig c = config::load(s);
    EXPECT_EQ(c.compression, tc.on);
    EXPECT_EQ(c.compression_algorithm, tc.algorithm);
    EXPECT_EQ(c.compression_level, tc.level);
  }
}

TEST_F(ConfigLoaderTest, CompressionAndAlgorithmInteraction) {
  Sources s;
  s.environment = {{"COMPRESSION_ALGORITHM", "none"}};
  EXPECT_FALSE(config::load(s).compression);
  EXPECT_EQ(views_by_name(s)["COMPRESSION"].origin, "environment");

  // false wins over an algorithm.
  s.environment = {{"COMPRESSION", "false"}, {"COMPRESSION_ALGORITHM", "gzip"}};
  EXPECT_FALSE(config::load(s).compression);
  EXPECT_EQ(config::load(s).compression_algorithm, "none");

  // Both name an algorithm: the higher source wins; same source disagreeing is an error.
  s.environment = {{"COMPRESSION", "gzip"}};
  s.flags = {{"COMPRESSION_ALGORITHM", "lz4"}};
  EXPECT_EQ(config::load(s).compression_algorithm, "lz4");
  s.flags.clear();
  s.environment = {{"COMPRESSION", "gzip"}, {"COMPRESSION_ALGORITHM", "lz4"}};
  EXPECT_NE(config_error([&] { config::load(s); }).find("COMPRESSION_ALGORITHM"),
            std::string::npos);

  s.environment = {{"COMPRESSION", "true"}, {"COMPRESSION_ALGORITHM", "none"}};
  EXPECT_NE(config_error([&] { config::load(s); }).find("contradicts"), std::string::npos);

  const Sources file = with_file("compression = false\n");
  EXPECT_FALSE(config::load(file).compression);
}

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

TEST_F(ConfigLoaderTest, SecretsNeverAppearInDescribeOrErrors) {
  const std::string secret = "Sekr1t-Zebra-4417";
  Sources s = with_file("db_password = \"" + secret + "\"\n");
  s.environment = {{"BACKUP_PASSPHRASE", secret}};
  s.flags = {{"AWS_SECRET_ACCESS_KEY", secret}};
  auto views = views_by_name(s);
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

// --- read_passphrase ---

TEST_F(ConfigLoaderTest, PassphraseFileStripsOneTrailingNewline) {
  BackupConfig c;
  c.passphrase_file = write("pass", "correct horse\n");
  EXPECT_EQ(config::read_passphrase(c), "correct horse");
  c.passphrase_file = write("pass2", "two newlines\n\n");
  EXPECT_EQ(config::read_passphrase(c), "two newlines\n");
  c.passphrase_file = write("pass3", "crlf\r\n");
  EXPECT_EQ(config::read_passphrase(c), "crlf");
  c.passphrase_file = write("pass4", "no newline");
  EXPECT_EQ(config::read_passphrase(c), "no newline");
}

TEST_F(ConfigLoaderTest, PassphraseFileWinsOverEnvironmentValue) {
  BackupConfig c;
  c.passphrase = "from-env";
  EXPECT_EQ(config::read_passphrase(c), "from-env");
  c.passphrase_file = write("pass", "from-file\n");
  EXPECT_EQ(config::read_passphrase(c), "from-file");
  EXPECT_EQ(config::read_passphrase(BackupConfig{}), std::nullopt);
}

TEST_F(ConfigLoaderTest, PassphraseViaLoadFromFileSetting) {
  Sources s;
  s.environment = {{"BACKUP_PASSPHRASE_FILE", write("pass", "loaded\n").string()},
                   {"ENCRYPTION", "true"}};
  EXPECT_EQ(config::read_passphrase(config::load(s)), "loaded");
}

TEST_F(ConfigLoaderTest, MissingOrEmptyPassphraseFileIsAnError) {
  BackupConfig c;
  c.passphrase_file = dir_ / "absent-pass";
  std::string msg = config_error([&] { config::read_passphrase(c); });
  EXPECT_NE(msg.find("absent-pass"), std::string::npos) << msg;

  c.passphrase_file = write("empty", "\n");
  msg = config_error([&] { config::read_passphrase(c); });
  EXPECT_NE(msg.find("empty"), std::string::npos) << msg;

  c.passphrase_file = dir_;
  EXPECT_NE(config_error([&] { config::read_passphrase(c); }).find(dir_.string()),
            std::string::npos);

  BackupConfig direct;
  direct.passphrase = "";
  config_error([&] { config::read_passphrase(direct); });
}

TEST_F(ConfigLoaderTest, EncryptionWithoutPassphraseLoadsFine) {
  Sources s;
  s.environment = {{"ENCRYPTION", "yes"}};
  const BackupConfig c = config::load(s);
  EXPECT_TRUE(c.encryption);
  EXPECT_EQ(config::read_passphrase(c), std::nullopt);
}

TEST_F(ConfigLoaderTest, WarnsWhenPassphraseFileIsReadableByOthers) {
  auto sink = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(16);
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>("test", sink));

  BackupConfig c;
  c.passphrase_file = write("private", "p\n", 0600);
  config::read_passphrase(c);
  const size_t quiet = sink->last_formatted().size();
  c.passphrase_file = write("shared", "p\n", 0644);
  config::read_passphrase(c);
  const auto lines = sink->last_formatted();
  spdlog::set_default_logger(previous);

  EXPECT_EQ(quiet, 0u);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("shared"), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("chmod 600"), std::string::npos) << lines[0];
}

}  // namespace
}  // namespace coffer

// --- S3 settings ---

namespace coffer {

TEST_F(ConfigLoaderTest, S3ModesAndDefaults) {
  EXPECT_EQ(config::load(Sources{}).s3_mode, S3Mode::kOff);
  Sources s;
  s.environment = {{"S3_BUCKET", "b"}, {"AWS_ACCESS_KEY_ID", "a"}, {"AWS_SECRET_ACCESS_KEY", "s"}};
  BackupConfig c = config::load(s);
  EXPECT_EQ(c.s3_mode, S3Mode::kCopy);  // a bucket alone means off-site copies
  EXPECT_EQ(c.s3_prefix, "backups/");
  EXPECT_FALSE(c.s3_path_style);        // AWS itself: virtual-hosted
  EXPECT_TRUE(c.s3_verify_tls);
  EXPECT_EQ(views_by_name(s)["S3_MODE"].value, "copy");
  EXPECT_EQ(views_by_name(s)["S3_MODE"].origin, "environment");

  s.environment["S3_ENDPOINT"] = "http://127.0.0.1:4568";
  s.environment["S3_MODE"] = "Repository";
  s.environment["S3_PREFIX"] = "team/a";
  c = config::load(s);
  EXPECT_EQ(c.s3_mode, S3Mode::kRepository);
  EXPECT_TRUE(c.s3_path_style);  // an endpoint (MinIO, Ceph, s3rver) means path-style
  EXPECT_EQ(c.s3_prefix, "team/a/");
  s.environment["S3_PATH_STYLE"] = "false";
  EXPECT_FALSE(config::load(s).s3_path_style);

  Sources no_bucket;
  no_bucket.environment = {{"S3_MODE", "copy"}};
  const std::string msg = config_error([&] { config::load(no_bucket); });
  EXPECT_NE(msg.find("S3_BUCKET"), std::string::npos) << msg;
  no_bucket.environment["S3_MODE"] = "off";
  EXPECT_EQ(config::load(no_bucket).s3_mode, S3Mode::kOff);
}

TEST_F(ConfigLoaderTest, KeysComeFromTheSharedCredentialsFileWhenUnset) {
  const fs::path creds = write("credentials",
                               "# comment\n[default]\naws_access_key_id = AKIADEF\n"
                               "aws_secret_access_key = def-secret\n\n[profile ci]\n"
                               "AWS_ACCESS_KEY_ID=AKIACI\naws_secret_access_key=ci-secret\n"
                               "aws_session_token = ci-token\n");
  Sources s;
  s.environment = {{"S3_BUCKET", "b"}, {"AWS_SHARED_CREDENTIALS_FILE", creds.string()}};
  BackupConfig c = config::load(s);
  EXPECT_EQ(c.aws_access_key_id, "AKIADEF");
  EXPECT_EQ(c.aws_secret_access_key.value_or(""), "def-secret");
  EXPECT_FALSE(c.aws_session_token);
  auto v = views_by_name(s);
  EXPECT_EQ(v["AWS_ACCESS_KEY_ID"].origin, "credentials file");
  EXPECT_EQ(v["AWS_SECRET_ACCESS_KEY"].value, "<redacted>");

  s.environment["AWS_PROFILE"] = "ci";
  c = config::load(s);
  EXPECT_EQ(c.aws_access_key_id, "AKIACI");
  EXPECT_EQ(c.aws_session_token.value_or(""), "ci-token");

  // Variables win over the file.
  s.environment["AWS_ACCESS_KEY_ID"] = "AKIAENV";
  s.environment["AWS_SECRET_ACCESS_KEY"] = "env-secret";
  c = config::load(s);
  EXPECT_EQ(c.aws_access_key_id, "AKIAENV");
  EXPECT_EQ(c.aws_secret_access_key.value_or(""), "env-secret");
  EXPECT_FALSE(c.aws_session_token);  // a token belongs to the file's keys only

  s.environment.erase("AWS_ACCESS_KEY_ID");
  s.environment.erase("AWS_SECRET_ACCESS_KEY");
  s.environment["AWS_PROFILE"] = "nope";
  std::string msg = config_error([&] { config::load(s); });
  EXPECT_NE(msg.find("AWS_PROFILE"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[nope]"), std::string::npos) << msg;

  s.environment["AWS_SHARED_CREDENTIALS_FILE"] = (dir_ / "missing").string();
  msg = config_error([&] { config::load(s); });
  EXPECT_NE(msg.find("AWS_SHARED_CREDENTIALS_FILE"), std::string::npos) << msg;
}

TEST_F(ConfigLoaderTest, CredentialsFileSyntaxErrorsHideTheLine) {
  const auto profiles = config::parse_aws_credentials("[a]\nk = v = w\n[ profile b ]\nx=1\n", "f");
  EXPECT_EQ(profiles.at("a").at("k"), "v = w");
  EXPECT_EQ(profiles.at("b").at("x"), "1");
  const std::string msg = config_error([] { config::parse_aws_credentials("[a]\nTopSecretValue\n", "f"); });
  EXPECT_NE(msg.find("line 2"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("TopSecretValue"), std::string::npos) << msg;
  EXPECT_NE(config_error([] { config::parse_aws_credentials("key = before_section\n", "f"); }).find("line 1"),
            std::string::npos);
}

}  // namespace coffer
