#include "config/config_file.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "config/config_test_support.h"

namespace coffer::config {
namespace {

using config_test::config_error;

class ConfigFileTest : public config_test::TempDirTest {
 protected:
  // Reads `toml` as a config file.
  RawSettings read(const std::string& toml) {
    file_ = write("coffer.toml", toml);
    RawSettings raw;
    read_config_file(file_, raw);
    return raw;
  }
  // The configuration error reading `toml` throws.
  std::string error_of(const std::string& toml) {
    return config_error([&] { read(toml); });
  }

  std::filesystem::path file_;
};

TEST_F(ConfigFileTest, EachKeyIsASettingsTextFromTheFile) {
  const RawSettings raw = read(
      "backup_dir = \"/srv/b\"\nretention_days = 7\nencryption = false\ncompression = \"lz4\"\n"
      "compression_level = 12\nmetrics_port = 9187\nstatus_max_age_hours = 1.5\n"
      "backup_paths = [\"/a\", \"/with:colon\"]\n");
  EXPECT_EQ(raw.config_file, file_.string());
  const std::map<std::string, std::string> want = {
      {"BACKUP_DIR", "/srv/b"},   {"RETENTION_DAYS", "7"}, {"ENCRYPTION", "false"},
      {"COMPRESSION", "lz4"},     {"COMPRESSION_LEVEL", "12"}, {"METRICS_PORT", "9187"},
      {"STATUS_MAX_AGE_HOURS", "1.5"}, {"BACKUP_PATHS", "/a:/with:colon"}};
  ASSERT_EQ(raw.values.size(), want.size());
  for (const auto& [name, text] : want) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(raw.values.count(name));
    EXPECT_EQ(raw.values.at(name).text, text);
    EXPECT_EQ(raw.values.at(name).origin, Origin::kFile);
  }
  // An array keeps its items apart: a colon inside one is not a separator.
  EXPECT_EQ(raw.values.at("BACKUP_PATHS").list, (std::vector<std::string>{"/a", "/with:colon"}));
  EXPECT_FALSE(raw.values.at("BACKUP_DIR").list);
  EXPECT_TRUE(read("").values.empty());
}

TEST_F(ConfigFileTest, UnknownTomlKeyNamesKeyAndFile) {
  const std::string msg = error_of("retention_days = 3\nretension_days = 4\n");
  EXPECT_NE(msg.find("retension_days"), std::string::npos) << msg;
  EXPECT_NE(msg.find(file_.string()), std::string::npos) << msg;
  EXPECT_NE(msg.find("known keys are backup_dir, backup_paths, retention_days"), std::string::npos) << msg;

  EXPECT_NE(error_of("RETENTION_DAYS = 3\n").find("RETENTION_DAYS"), std::string::npos);
  EXPECT_NE(error_of("[db]\nhost = \"x\"\n").find("'db'"), std::string::npos);
}

TEST_F(ConfigFileTest, WrongTomlTypeNamesKey) {
  for (const std::string& toml : std::vector<std::string>{"retention_days = \"30\"", "db_host = 5", "encryption = \"yes\"",
                                 "backup_dir = true", "db_port = 1.5", "backup_paths = [\"/a\", 3]",
                                 "metrics_port = [1, 2]", "compression = 3"}) {
    SCOPED_TRACE(toml);
    const std::string key = toml.substr(0, toml.find(' '));
    EXPECT_NE(error_of(toml + "\n").find("'" + key + "'"), std::string::npos);
  }
  EXPECT_EQ(error_of("db_port = \"x\"\n"), "config file '" + file_.string() + "': key 'db_port' must be an integer");
}

TEST_F(ConfigFileTest, TomlSyntaxErrorNamesFileAndLine) {
  const std::string msg = error_of("retention_days = 3\n\ndb_host = \"unterminated\n");
  EXPECT_NE(msg.find(file_.string()), std::string::npos) << msg;
  EXPECT_NE(msg.find("line 3"), std::string::npos) << msg;
  EXPECT_NE(msg.find("TOML syntax error"), std::string::npos) << msg;
}

TEST_F(ConfigFileTest, ASecretsValueIsNeverQuoted) {
  const std::string secret = "Sekr1t-Zebra-4417";
  for (const std::string& toml : {"backup_passphrase = \"" + secret + "\\q\"", "db_password = " + secret,
                                  "aws_secret_access_key = [\"" + secret + "\"]", "  \"aws_session_token\" = " + secret}) {
    SCOPED_TRACE(toml);
    const std::string msg = error_of(toml + "\n");
    EXPECT_EQ(msg.find("Zebra"), std::string::npos) << msg;
    EXPECT_EQ(msg.find("\\q"), std::string::npos) << msg;
  }
}

TEST_F(ConfigFileTest, MissingFileOrFolderIsAnError) {
  RawSettings raw;
  std::string msg = config_error([&] { read_config_file(dir_ / "nope.toml", raw); });
  EXPECT_NE(msg.find("nope.toml"), std::string::npos) << msg;
  EXPECT_NE(msg.find("does not exist"), std::string::npos) << msg;
  msg = config_error([&] { read_config_file(dir_, raw); });
  EXPECT_EQ(msg, "config file '" + dir_.string() + "' (from --config) is a directory, not a TOML file");
}

}  // namespace
}  // namespace coffer::config
