#include "config/interpreter.h"

#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include "coffer/error.h"
#include "config/config_test_support.h"

namespace coffer::config {
namespace {

using config_test::config_error;
namespace fs = std::filesystem;

struct Given {
  std::string name;
  std::string text;
  Origin origin = Origin::kEnvironment;
};

// Raw settings as their sources give them; a file's values come from "coffer.toml".
RawSettings given(std::initializer_list<Given> values) {
  RawSettings raw;
  raw.config_file = "coffer.toml";
  for (const Given& g : values) raw.values[g.name] = RawValue{g.text, std::nullopt, g.origin};
  return raw;
}

BackupConfig config_of(std::initializer_list<Given> values, Uses uses = {}) {
  return interpret(given(values), uses).config;
}

using InterpreterTest = config_test::TempDirTest;

TEST(InterpretTest, NothingSetGivesTheDefaults) {
  const Interpretation got = interpret(RawSettings{});
  const BackupConfig d;
  EXPECT_EQ(got.config.backup_dir, d.backup_dir);
  EXPECT_EQ(got.config.retention_days, d.retention_days);
  EXPECT_EQ(got.config.compression_algorithm, "zstd");
  EXPECT_EQ(got.config.compression_level, 3);
  EXPECT_EQ(got.config.s3_mode, S3Mode::kOff);
  for (const auto& [name, origin] : got.origins) EXPECT_EQ(origin, Origin::kDefault) << name;
  EXPECT_EQ(got.origin_of("BACKUP_DIR"), Origin::kDefault);
}

TEST(InterpretTest, S3EndpointIsCheckedAndCredentialsInItAreNeverShown) {
  for (const std::string good : {"http://127.0.0.1:9000", "https://s3.eu-central-1.amazonaws.com/", "HTTP://minio:80",
                                 "http://[::1]:9000"}) {
    EXPECT_NO_THROW(config_of({{"S3_ENDPOINT", good}})) << good;
  }
  for (const std::string bad : {"http://admin:Secret-4711@127.0.0.1:9000", "http://127.0.0.1:9000/path", "http://",
                                "ftp://host", "127.0.0.1:9000", "http://host:0", "http://host:123456", "http://host:x",
                                "http://host?x=1"}) {
    const std::string msg = config_error([&] { config_of({{"S3_ENDPOINT", bad}}); });
    EXPECT_NE(msg.find("S3_ENDPOINT"), std::string::npos) << msg;
    EXPECT_EQ(msg.find("Secret-4711"), std::string::npos) << msg;
  }
}

TEST(InterpretTest, InvalidValuesNameTheSettingValueAndOrigin) {
  const std::vector<std::pair<std::string, std::string>> cases = {
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
  for (const auto& [name, value] : cases) {
    SCOPED_TRACE(name + "=" + value);
    std::string msg = config_error([&] { config_of({{name, value}}); });
    EXPECT_NE(msg.find(name + "='" + value + "'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("(from environment)"), std::string::npos) << msg;
    EXPECT_NE(msg.find("expected"), std::string::npos) << msg;

    msg = config_error([&] { config_of({{name, value, Origin::kFlag}}); });
    EXPECT_NE(msg.find(name + "='" + value + "' (from command-line flag)"), std::string::npos) << msg;
  }
  EXPECT_EQ(config_error([&] { config_of({{"RETENTION_DAYS", "abc"}}); }),
            "RETENTION_DAYS='abc' (from environment) is not valid: expected a whole number of "
            "days >= 1");
  EXPECT_EQ(config_error([&] { config_of({{"DB_PORT", "70000", Origin::kFile}}); }),
            "DB_PORT='70000' (from config file 'coffer.toml') is not valid: expected a TCP port number 1..65535");
}

TEST(InterpretTest, ABadSettingBlocksOnlyTheCommandsThatUseIt) {
  struct Case {
    std::string name, value;
    Uses without;  // the uses that leave out the group holding `name`
  };
  Uses no_retention, no_writing, no_database;
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
  const BackupConfig defaults;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name + "=" + c.value);
    EXPECT_NE(config_error([&] { config_of({{c.name, c.value}, {"BACKUP_DIR", "/srv/b"}}); }).find(c.name),
              std::string::npos);
    BackupConfig loaded;
    ASSERT_NO_THROW(loaded = config_of({{c.name, c.value}, {"BACKUP_DIR", "/srv/b"}}, c.without));
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
  Uses none;
  none.retention = none.writing = none.database = false;
  EXPECT_NE(config_error([&] { config_of({{"LOCK_WAIT_SECONDS", "soon"}}, none); }).find("LOCK_WAIT_SECONDS"),
            std::string::npos);
  spdlog::set_default_logger(previous);
}

TEST(InterpretTest, RetentionRulesDefaultOffAndAcceptZero) {
  const BackupConfig d = config_of({});
  EXPECT_EQ(d.keep_last + d.keep_daily + d.keep_weekly + d.keep_monthly + d.keep_yearly, 0);
  EXPECT_EQ(d.lock_wait_seconds, 0);
  const BackupConfig c = config_of({{"KEEP_DAILY", "0"}, {"LOCK_WAIT_SECONDS", "0"}, {"KEEP_YEARLY", "10"}});
  EXPECT_EQ(c.keep_daily, 0);
  EXPECT_EQ(c.lock_wait_seconds, 0);
  EXPECT_EQ(c.keep_yearly, 10);
  EXPECT_EQ(config_error([&] { config_of({{"KEEP_WEEKLY", "x"}}); }),
            "KEEP_WEEKLY='x' (from environment) is not valid: expected a whole number >= 0 (0 turns the "
            "rule off)");
  EXPECT_NE(config_error([&] { config_of({{"KEEP_MONTHLY", "-1", Origin::kFile}}); }).find("KEEP_MONTHLY='-1'"),
            std::string::npos);
}

TEST(InterpretTest, CompressionLevelOutOfRangeNamesLevelAndAlgorithm) {
  std::string msg = config_error([&] { config_of({{"COMPRESSION_LEVEL", "99"}}); });
  EXPECT_NE(msg.find("COMPRESSION_LEVEL='99'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("zstd"), std::string::npos) << msg;
  EXPECT_NE(msg.find("1..19"), std::string::npos) << msg;

  msg = config_error([&] { config_of({{"COMPRESSION_LEVEL", "12"}, {"COMPRESSION", "gzip"}}); });
  EXPECT_NE(msg.find("gzip"), std::string::npos) << msg;
  EXPECT_NE(msg.find("1..9"), std::string::npos) << msg;

  EXPECT_EQ(config_of({{"COMPRESSION_LEVEL", "9"}, {"COMPRESSION", "gzip"}}).compression_level, 9);
  // lz4 has no levels: any level is accepted and kept.
  const BackupConfig lz4 = config_of({{"COMPRESSION_LEVEL", "99"}, {"COMPRESSION_ALGORITHM", "lz4"}});
  EXPECT_EQ(lz4.compression_algorithm, "lz4");
  EXPECT_EQ(lz4.compression_level, 99);
}

// The algorithm names in these messages come from codec/; the wording stays as it was.
TEST(InterpretTest, CompressionMessagesListTheCodecs) {
  EXPECT_EQ(config_error([&] { config_of({{"COMPRESSION", "maybe"}}); }),
            "COMPRESSION='maybe' (from environment) is not valid: expected true, false, yes, no, 1, 0, on, off "
            "or an algorithm name (zstd, gzip, lz4, none)");
  EXPECT_EQ(config_error([&] { config_of({{"COMPRESSION_ALGORITHM", "brotli"}}); }),
            "COMPRESSION_ALGORITHM='brotli' (from environment) is not valid: expected zstd, gzip, lz4 or none");
  EXPECT_EQ(config_error([&] { config_of({{"COMPRESSION", "true"}, {"COMPRESSION_ALGORITHM", "none"}}); }),
            "COMPRESSION='true' (from environment) contradicts COMPRESSION_ALGORITHM='none' (from environment): "
            "choose zstd, gzip or lz4, or set COMPRESSION=false");
  EXPECT_EQ(config_error([&] { config_of({{"COMPRESSION_ALGORITHM", "gzip"}, {"COMPRESSION_LEVEL", "10"}}); }),
            "COMPRESSION_LEVEL='10' (from environment) is not valid for compression algorithm gzip: expected 1..9");
}

TEST(InterpretTest, CompressionValueSetsAlgorithmAndSwitch) {
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
    const BackupConfig c = config_of({{"COMPRESSION", tc.compression}});
    EXPECT_EQ(c.compression, tc.on);
    EXPECT_EQ(c.compression_algorithm, tc.algorithm);
    EXPECT_EQ(c.compression_level, tc.level);
  }
}

TEST(InterpretTest, CompressionAndAlgorithmInteraction) {
  Interpretation got = interpret(given({{"COMPRESSION_ALGORITHM", "none"}}));
  EXPECT_FALSE(got.config.compression);
  EXPECT_EQ(got.origin_of("COMPRESSION"), Origin::kEnvironment);

  // false wins over an algorithm.
  got = interpret(given({{"COMPRESSION", "false"}, {"COMPRESSION_ALGORITHM", "gzip"}}));
  EXPECT_FALSE(got.config.compression);
  EXPECT_EQ(got.config.compression_algorithm, "none");

  // Both name an algorithm: the higher source wins; same source disagreeing is an error.
  EXPECT_EQ(config_of({{"COMPRESSION", "gzip"}, {"COMPRESSION_ALGORITHM", "lz4", Origin::kFlag}}).compression_algorithm,
            "lz4");
  EXPECT_EQ(config_of({{"COMPRESSION", "gzip", Origin::kFlag}, {"COMPRESSION_ALGORITHM", "lz4"}}).compression_algorithm,
            "gzip");
  EXPECT_NE(config_error([&] { config_of({{"COMPRESSION", "gzip"}, {"COMPRESSION_ALGORITHM", "lz4"}}); })
                .find("COMPRESSION_ALGORITHM"),
            std::string::npos);
  EXPECT_NE(config_error([&] { config_of({{"COMPRESSION", "true"}, {"COMPRESSION_ALGORITHM", "none"}}); })
                .find("contradicts"),
            std::string::npos);

  EXPECT_FALSE(config_of({{"COMPRESSION", "false", Origin::kFile}}).compression);
}

TEST(InterpretTest, S3ModesAndDefaults) {
  EXPECT_EQ(config_of({}).s3_mode, S3Mode::kOff);
  const Interpretation copy =
      interpret(given({{"S3_BUCKET", "b"}, {"AWS_ACCESS_KEY_ID", "a"}, {"AWS_SECRET_ACCESS_KEY", "s"}}));
  EXPECT_EQ(copy.config.s3_mode, S3Mode::kCopy);  // a bucket alone means off-site copies
  EXPECT_EQ(copy.config.s3_prefix, "backups/");
  EXPECT_FALSE(copy.config.s3_path_style);        // AWS itself: virtual-hosted
  EXPECT_TRUE(copy.config.s3_verify_tls);
  EXPECT_EQ(copy.origin_of("S3_MODE"), Origin::kEnvironment);  // from S3_BUCKET

  const Interpretation repo =
      interpret(given({{"S3_BUCKET", "b", Origin::kFile}, {"AWS_ACCESS_KEY_ID", "a"}, {"AWS_SECRET_ACCESS_KEY", "s"},
                       {"S3_ENDPOINT", "http://127.0.0.1:4568", Origin::kFlag}, {"S3_MODE", "Repository"},
                       {"S3_PREFIX", "team/a"}}));
  EXPECT_EQ(repo.config.s3_mode, S3Mode::kRepository);
  EXPECT_TRUE(repo.config.s3_path_style);  // an endpoint (MinIO, Ceph, s3rver) means path-style
  EXPECT_EQ(repo.origin_of("S3_PATH_STYLE"), Origin::kFlag);  // from S3_ENDPOINT
  EXPECT_EQ(repo.config.s3_prefix, "team/a/");
  EXPECT_FALSE(config_of({{"S3_BUCKET", "b"}, {"AWS_ACCESS_KEY_ID", "a"}, {"AWS_SECRET_ACCESS_KEY", "s"},
                          {"S3_ENDPOINT", "http://127.0.0.1:4568"}, {"S3_PATH_STYLE", "false"}})
                   .s3_path_style);

  const std::string msg = config_error([&] { config_of({{"S3_MODE", "copy"}}); });
  EXPECT_NE(msg.find("S3_BUCKET"), std::string::npos) << msg;
  EXPECT_EQ(config_of({{"S3_MODE", "off"}}).s3_mode, S3Mode::kOff);
}

TEST_F(InterpreterTest, KeysComeFromTheSharedCredentialsFileWhenUnset) {
  const std::string creds = write("credentials",
                                  "# comment\n[default]\naws_access_key_id = AKIADEF\n"
                                  "aws_secret_access_key = def-secret\n\n[profile ci]\n"
                                  "AWS_ACCESS_KEY_ID=AKIACI\naws_secret_access_key=ci-secret\n"
                                  "aws_session_token = ci-token\n")
                                .string();
  const Interpretation def = interpret(given({{"S3_BUCKET", "b"}, {"AWS_SHARED_CREDENTIALS_FILE", creds}}));
  EXPECT_EQ(def.config.aws_access_key_id, "AKIADEF");
  EXPECT_EQ(def.config.aws_secret_access_key.value_or(""), "def-secret");
  EXPECT_FALSE(def.config.aws_session_token);
  EXPECT_EQ(def.origin_of("AWS_ACCESS_KEY_ID"), Origin::kCredentialsFile);
  EXPECT_EQ(def.origin_of("AWS_SECRET_ACCESS_KEY"), Origin::kCredentialsFile);

  BackupConfig c =
      config_of({{"S3_BUCKET", "b"}, {"AWS_SHARED_CREDENTIALS_FILE", creds}, {"AWS_PROFILE", "ci"}});
  EXPECT_EQ(c.aws_access_key_id, "AKIACI");
  EXPECT_EQ(c.aws_session_token.value_or(""), "ci-token");

  // Variables win over the file.
  c = config_of({{"S3_BUCKET", "b"}, {"AWS_SHARED_CREDENTIALS_FILE", creds}, {"AWS_PROFILE", "ci"},
                 {"AWS_ACCESS_KEY_ID", "AKIAENV"}, {"AWS_SECRET_ACCESS_KEY", "env-secret"}});
  EXPECT_EQ(c.aws_access_key_id, "AKIAENV");
  EXPECT_EQ(c.aws_secret_access_key.value_or(""), "env-secret");
  EXPECT_FALSE(c.aws_session_token);  // a token belongs to the file's keys only

  std::string msg = config_error(
      [&] { config_of({{"S3_BUCKET", "b"}, {"AWS_SHARED_CREDENTIALS_FILE", creds}, {"AWS_PROFILE", "nope"}}); });
  EXPECT_NE(msg.find("AWS_PROFILE"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[nope]"), std::string::npos) << msg;

  msg = config_error([&] {
    config_of({{"S3_BUCKET", "b"}, {"AWS_SHARED_CREDENTIALS_FILE", (dir_ / "missing").string()}, {"AWS_PROFILE", "nope"}});
  });
  EXPECT_NE(msg.find("AWS_SHARED_CREDENTIALS_FILE"), std::string::npos) << msg;
}

}  // namespace
}  // namespace coffer::config
