#include "coffer/report.h"

#include <gtest/gtest.h>

#include <map>

#include "coffer/error.h"

namespace coffer {
namespace {

TEST(Report, ByteSizes) {
  EXPECT_EQ(parse_byte_size("1073741824"), 1073741824u);
  EXPECT_EQ(parse_byte_size("500G"), 500ull << 30);
  EXPECT_EQ(parse_byte_size("500GB"), 500ull << 30);
  EXPECT_EQ(parse_byte_size("2TiB"), 2ull << 40);
  EXPECT_EQ(parse_byte_size("1.5M"), 3ull << 19);
  EXPECT_EQ(parse_byte_size("64K"), 64ull << 10);
  EXPECT_EQ(parse_byte_size("10B"), 10u);
  for (const char* bad : {"", "G", "ten", "5X", "-1G", "5 G", "1e30T"})
    EXPECT_FALSE(parse_byte_size(bad).has_value()) << bad;
}

std::function<std::optional<std::string>(const std::string&)> settings(std::map<std::string, std::string> m) {
  return [m](const std::string& name) -> std::optional<std::string> {
    auto it = m.find(name);
    if (it == m.end()) return std::nullopt;
    return it->second;
  };
}

TEST(Report, SettingsAndTheirErrors) {
  ReportSettings s = report_settings(settings({}));
  EXPECT_EQ(s.max_age_hours, 26);
  EXPECT_EQ(s.min_days_left, 14);
  EXPECT_FALSE(s.s3_quota_bytes);
  s = report_settings(settings({{"STATUS_MIN_DAYS_LEFT", "3.5"}, {"S3_QUOTA", "1T"}, {"STATUS_MAX_AGE_HOURS", "2"}}));
  EXPECT_EQ(s.min_days_left, 3.5);
  EXPECT_EQ(s.max_age_hours, 2);
  EXPECT_EQ(s.s3_quota_bytes, 1ull << 40);
  for (auto [name, value] : std::map<std::string, std::string>{
           {"STATUS_MIN_DAYS_LEFT", "0"}, {"STATUS_MAX_AGE_HOURS", "soon"}, {"S3_QUOTA", "lots"}}) {
    try {
      report_settings(settings({{name, value}}));
      ADD_FAILURE() << name << "=" << value << " was accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.category(), ErrorCategory::kConfig);
      EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace coffer
