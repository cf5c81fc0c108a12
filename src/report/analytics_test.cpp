#include "report/analytics.h"

#include <gtest/gtest.h>

namespace coffer::report {
namespace {

constexpr uint64_t kMiB = 1 << 20;

TimePoint day0() { return *parse_iso8601_utc("2026-11-01T00:00:00Z"); }
TimePoint at_hours(double h) { return day0() + std::chrono::seconds(static_cast<long>(h * 3600)); }

HistoryRecord create(const std::string& type, double hour, bool ok, double seconds, uint64_t added) {
  HistoryRecord r;
  r.backup_type = type;
  r.timestamp = format_iso8601_utc(at_hours(hour));
  r.backup_id = ok ? type + "_" + std::to_string(static_cast<int>(hour)) : "";
  r.status = ok ? "success" : "failed";
  r.duration_seconds = seconds;
  r.backup.bytes_added = added;
  if (!ok) r.error = "disk on fire";
  return r;
}

HistoryRecord cleanup(double hour, uint64_t freed, bool dry_run = false) {
  HistoryRecord r;
  r.backup_type = "cleanup";
  r.timestamp = format_iso8601_utc(at_hours(hour));
  r.status = "success";
  r.cleanup.bytes_freed = freed;
  r.cleanup.dry_run = dry_run;
  return r;
}

BackupInfo backup_of(uint64_t files, uint64_t dump = 0) {
  BackupInfo b;
  b.size_bytes = files;
  if (dump) b.database = DatabaseInfo{}, b.database->dump_bytes = dump;
  return b;
}

TEST(Analytics, CountsAttemptsPerTypeWithMeanAndMedianOfTheSuccesses) {
  AnalyticsInput in;
  in.now = at_hours(100);
  in.history = {create("full", 1, true, 10, 1000), create("full", 25, true, 30, 3000), create("full", 49, true, 200, 2000),
                create("full", 73, false, 5, 0),    create("incremental", 30, true, 2, 100), cleanup(50, 0),
                create("incremental", 31, false, 1, 0)};
  const Analytics a = analyze(in);
  ASSERT_EQ(a.types.size(), 3u);  // differential is there, with nothing
  const TypeStats& full = a.types.at("full");
  EXPECT_EQ(full.attempts, 4u);
  EXPECT_EQ(full.successes, 3u);
  EXPECT_EQ(full.failures, 1u);
  EXPECT_DOUBLE_EQ(full.mean_duration_seconds, 80);  // the failure's 5 s do not count
  EXPECT_DOUBLE_EQ(full.median_duration_seconds, 30);
  EXPECT_DOUBLE_EQ(full.mean_bytes_added, 2000);
  EXPECT_EQ(a.types.at("incremental").failures, 1u);
  EXPECT_EQ(a.types.at("differential").attempts, 0u);
  EXPECT_EQ(a.attempts.size(), 6u);  // the cleanup is not an attempt of a backup
}

TEST(Analytics, WorksTheSizeSeriesBackFromTheSizeNow) {
  AnalyticsInput in;
  in.now = at_hours(100);
  in.stored_bytes = 1000;
  in.history = {create("full", 24, true, 1, 600), create("incremental", 48, true, 1, 100),
                create("full", 60, false, 1, 0),  cleanup(72, 50),
                cleanup(80, 999, true),  // a dry run freed nothing
                create("incremental", 96, true, 1, 200)};
  const Analytics a = analyze(in);
  ASSERT_EQ(a.size_series.size(), 4u);
  EXPECT_EQ(a.size_series[0].bytes, 750u);   // after the full
  EXPECT_EQ(a.size_series[1].bytes, 850u);   // after the incremental
  EXPECT_EQ(a.size_series[2].bytes, 800u);   // after the cleanup
  EXPECT_EQ(a.size_series[3].bytes, 1000u);  // after the last incremental: the size now
  EXPECT_EQ(a.size_series[0].at, at_hours(24));
}

TEST(Analytics, GrowthIsTheTrendOfTheLastThirtyDaysAndForecastsTheDaysLeft) {
  AnalyticsInput in;
  in.now = at_hours(24 * 40);
  // 40 days of 1 MiB a day; the first ten grew 5 MiB a day, and lie outside the window.
  uint64_t size = 0;
  for (int d = 0; d < 40; ++d) {
    const uint64_t added = d < 10 ? 5 * kMiB : kMiB;
    in.history.push_back(create("full", 24.0 * d + 24, true, 1, added));
    size += added;
  }
  in.stored_bytes = size;
  in.rooms = {{"BACKUP_DIR's filesystem", "/backups", 20 * kMiB, std::nullopt}};
  in.min_days_left = 14;
  Analytics a = analyze(in);
  ASSERT_TRUE(a.growth_bytes_per_day.has_value());
  EXPECT_NEAR(*a.growth_bytes_per_day, static_cast<double>(kMiB), kMiB * 0.01);
  ASSERT_EQ(a.rooms.size(), 1u);
  ASSERT_TRUE(a.rooms[0].days_left.has_value());
  EXPECT_NEAR(*a.rooms[0].days_left, 20, 0.3);
  EXPECT_TRUE(a.warnings.empty());

  in.min_days_left = 30;  // 20 days left is now too few
  a = analyze(in);
  ASSERT_EQ(a.warnings.size(), 1u);
  EXPECT_NE(a.warnings[0].find("BACKUP_DIR's filesystem (/backups) has 20"), std::string::npos) << a.warnings[0];
  EXPECT_NE(a.warnings[0].find("days left"), std::string::npos);
  EXPECT_NE(a.warnings[0].find("STATUS_MIN_DAYS_LEFT=30"), std::string::npos);
}

TEST(Analytics, NoForecastFromTooFewPointsOrAShrinkingRepository) {
  AnalyticsInput in;
  in.now = at_hours(48);
  in.stored_bytes = 500;
  in.rooms = {{"BACKUP_DIR's filesystem", "/b", 10, std::nullopt}};
  in.history = {create("full", 24, true, 1, 500)};  // one backup: no trend
  Analytics a = analyze(in);
  EXPECT_FALSE(a.growth_bytes_per_day.has_value());
  EXPECT_FALSE(a.rooms[0].days_left.has_value());
  EXPECT_TRUE(a.warnings.empty());

  in.stored_bytes = 100;  // cleanups freed more than the backups added
  in.history = {create("full", 1, true, 1, 500), cleanup(10, 1000), create("full", 20, true, 1, 100), cleanup(30, 500)};
  a = analyze(in);
  ASSERT_TRUE(a.growth_bytes_per_day.has_value());
  EXPECT_LT(*a.growth_bytes_per_day, 0);
  EXPECT_FALSE(a.rooms[0].days_left.has_value()) << "a shrinking repository never fills its room";
  EXPECT_TRUE(a.warnings.empty());
}

TEST(Analytics, RatiosOfDeduplicationAndCompression) {
  AnalyticsInput in;
  in.now = at_hours(10);
  in.backups = {backup_of(1000), backup_of(1000), backup_of(500, 500)};
  in.chunks = {10, 1000, 250};
  const Analytics a = analyze(in);
  EXPECT_EQ(a.logical_bytes, 3000u);
  ASSERT_TRUE(a.dedup_ratio && a.compression_ratio);
  EXPECT_DOUBLE_EQ(*a.dedup_ratio, 3.0);
  EXPECT_DOUBLE_EQ(*a.compression_ratio, 4.0);
  in.chunks = {};
  EXPECT_FALSE(analyze(in).dedup_ratio.has_value());
  EXPECT_FALSE(analyze(in).compression_ratio.has_value());
}

TEST(Analytics, GapsAreStretchesLongerThanTheAllowedAgeWithoutASuccess) {
  AnalyticsInput in;
  in.max_age_hours = 26;
  in.history = {create("full", 0, true, 1, 1), create("incremental", 10, true, 1, 1), create("full", 30, false, 1, 0),
                create("full", 50, true, 1, 1)};
  in.now = at_hours(60);
  Analytics a = analyze(in);
  ASSERT_EQ(a.gaps.size(), 1u);  // the failure at 30 h does not end it
  EXPECT_EQ(a.gaps[0].from, at_hours(10));
  EXPECT_EQ(a.gaps[0].to, at_hours(50));
  EXPECT_DOUBLE_EQ(a.gaps[0].hours(), 40);
  EXPECT_FALSE(a.gaps[0].open);

  in.now = at_hours(100);  // 50 h since the last success: a gap still open
  a = analyze(in);
  ASSERT_EQ(a.gaps.size(), 2u);
  EXPECT_TRUE(a.gaps[1].open);
  EXPECT_EQ(a.gaps[1].from, at_hours(50));
}

TEST(Analytics, JsonHasEveryFigureAndNullForTheUnknown) {
  AnalyticsInput in;
  in.now = at_hours(10);
  in.history = {create("full", 1, true, 3, 42), create("full", 2, false, 1, 0)};
  in.rooms = {{"BACKUP_DIR's filesystem", "/b", 1000, std::nullopt}, {"the S3 quota", "s3://b/p/", 50, 100}};
  in.stored_bytes = 50;
  const nlohmann::json j = to_json(analyze(in));
  for (const char* key : {"types", "logical_bytes", "unique_raw_bytes", "stored_bytes", "dedup_ratio", "compression_ratio",
                          "growth_bytes_per_day", "disk", "s3_quota", "min_days_left", "gaps", "size_series", "warnings"})
    EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_TRUE(j["dedup_ratio"].is_null());
  EXPECT_TRUE(j["growth_bytes_per_day"].is_null());
  EXPECT_EQ(j["disk"]["path"], "/b");
  EXPECT_EQ(j["s3_quota"]["quota_bytes"], 100);
  EXPECT_EQ(j["s3_quota"]["used_bytes"], 50);
  const auto& series = j["types"]["full"]["series"];
  ASSERT_EQ(series.size(), 2u);
  EXPECT_EQ(series[0]["status"], "success");
  EXPECT_EQ(series[0]["bytes_added"], 42);
  EXPECT_EQ(series[1]["status"], "failed");
  EXPECT_TRUE(series[1]["backup_id"].is_null());
}

}  // namespace
}  // namespace coffer::report
