#include "config/settings.h"

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
      EXPECT_EQ(s.kind, Kind::kString) << s.name;
    }
    if (s.service) {
      EXPECT_EQ(s.kind, Kind::kText) << s.name;
    }
  }
  EXPECT_EQ(secrets, (std::set<std::string>{"BACKUP_PASSPHRASE", "DB_PASSWORD", "AWS_SECRET_ACCESS_KEY",
                                            "AWS_SESSION_TOKEN"}));
}

TEST(SettingsTest, LowerCaseChangesAsciiLettersOnly) {
  EXPECT_EQ(lower_case("S3_SSE_KMS_KEY_ID"), "s3_sse_kms_key_id");
  EXPECT_EQ(lower_case("Zstd"), "zstd");
  EXPECT_EQ(lower_case("\xC3\x84-1"), "\xC3\x84-1");
}

}  // namespace
}  // namespace coffer::config
