#include "config/settings.h"

#include <map>
#include <set>
#include <string>

#include <gtest/gtest.h>

namespace coffer::config {
namespace {

TEST(SettingsTest, NamesAreUniqueUpperCaseVariableNames) {
  std::set<std::string> seen;
  for (const Setting& s : settings()) {
    const std::string name = s.name;
    SCOPED_TRACE(name);
    EXPECT_TRUE(seen.insert(name).second) << "listed twice";
    ASSERT_FALSE(name.empty());
    EXPECT_EQ(name.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"), std::string::npos);
    EXPECT_NE(name.front(), '_');
  }
}

TEST(SettingsTest, EachSettingIsFoundByItsNameAndByItsFileKey) {
  for (const Setting& s : settings()) {
    SCOPED_TRACE(s.name);
    EXPECT_EQ(find_setting(s.name), &s);
    EXPECT_EQ(find_file_key(file_key(s)), &s);
  }
  EXPECT_EQ(file_key(*find_setting("BACKUP_DIR")), "backup_dir");
  EXPECT_EQ(find_setting("backup_dir"), nullptr);   // the environment's names are upper case
  EXPECT_EQ(find_file_key("BACKUP_DIR"), nullptr);  // the file's keys are lower case
  EXPECT_EQ(find_file_key("Backup_Dir"), nullptr);
  EXPECT_EQ(find_setting("PATH"), nullptr);
  EXPECT_EQ(find_file_key(""), nullptr);
}

TEST(SettingsTest, SecretsAreStringsAndServiceSettingsAreText) {
  std::set<std::string> secrets;
  for (const Setting& s : settings()) {
    if (s.secret) {
      secrets.insert(s.name);
      if (!s.service) {
        EXPECT_EQ(s.kind, Kind::kString) << s.name;
      }
    }
    if (s.service) {
      EXPECT_EQ(s.kind, Kind::kText) << s.name;
    }
  }
  EXPECT_EQ(secrets, (std::set<std::string>{"BACKUP_PASSPHRASE", "DB_PASSWORD", "AWS_SECRET_ACCESS_KEY",
                                            "AWS_SESSION_TOKEN", "DASHBOARD_TOKEN"}));
}

TEST(SettingsTest, FlagsAreUniqueAndNoSecretHasOne) {
  std::map<std::string, std::string> flags;  // flag -> setting
  for (const Setting& s : settings()) {
    SCOPED_TRACE(s.name);
    EXPECT_FALSE(s.doc.empty());
    if (s.flag.empty()) continue;
    // A value on the command line is seen by every user of the machine (ps): never a secret's.
    EXPECT_FALSE(s.secret);
    EXPECT_TRUE(flags.emplace(s.flag, s.name).second) << s.flag << " given twice";
    EXPECT_EQ(s.flag.rfind("--", 0), 0u) << s.flag;
    EXPECT_EQ(s.flag.find_first_not_of("-abcdefghijklmnopqrstuvwxyz"), std::string::npos) << s.flag;
  }
  EXPECT_EQ(flags, (std::map<std::string, std::string>{{"--backup-dir", "BACKUP_DIR"},
                                                       {"--paths", "BACKUP_PATHS"},
                                                       {"--passphrase-file", "BACKUP_PASSPHRASE_FILE"},
                                                       {"--compression", "COMPRESSION"},
                                                       {"--compression-level", "COMPRESSION_LEVEL"},
                                                       {"--encryption", "ENCRYPTION"},
                                                       {"--db-mode", "DB_BACKUP_MODE"},
                                                       {"--retention-days", "RETENTION_DAYS"}}));
}

TEST(SettingsTest, FlagHelpNamesTheVariable) {
  EXPECT_EQ(flag_help(*find_setting("RETENTION_DAYS")), "days to keep backups (RETENTION_DAYS)");
  EXPECT_EQ(flag_help(*find_setting("BACKUP_DIR")), "repository folder, default ./backups (BACKUP_DIR)");
}

// The compression settings' texts list codec/'s algorithms and levels.
TEST(SettingsTest, CompressionTextsComeFromTheCodecs) {
  EXPECT_EQ(codec_names(", ", " or ", true), "zstd, gzip, lz4 or none");
  EXPECT_EQ(codec_names(", ", ", ", true), "zstd, gzip, lz4, none");
  EXPECT_EQ(codec_names(", ", " or ", false), "zstd, gzip or lz4");
  EXPECT_EQ(find_setting("COMPRESSION")->doc, "true|false|zstd|gzip|lz4|none");
  EXPECT_EQ(find_setting("COMPRESSION_ALGORITHM")->doc, "zstd|gzip|lz4|none");
  EXPECT_EQ(find_setting("COMPRESSION_LEVEL")->default_text, "3 (zstd), 6 (gzip)");
}

TEST(SettingsTest, LowerCaseChangesAsciiLettersOnly) {
  EXPECT_EQ(lower_case("S3_SSE_KMS_KEY_ID"), "s3_sse_kms_key_id");
  EXPECT_EQ(lower_case("Zstd"), "zstd");
  EXPECT_EQ(lower_case("\xC3\x84-1"), "\xC3\x84-1");
}

}  // namespace
}  // namespace coffer::config
