// The scheduler service through its public API: the schedule it reads, and a real run on a local
// repository (the catch-up full backup it starts with).
#include "coffer/schedule_service.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "coffer/backup_manager.h"
#include "testing/fixtures.h"

namespace coffer::schedule {

namespace fs = std::filesystem;

namespace {

ScheduleService::Settings settings_of(std::map<std::string, std::string> m) {
  return [m](const std::string& name) -> std::optional<std::string> {
    auto it = m.find(name);
    if (it == m.end()) return std::nullopt;
    return it->second;
  };
}

TimePoint at(const std::string& iso) { return *parse_iso8601_utc(iso); }

ErrorCategory category_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.category();
  }
  ADD_FAILURE() << "no error";
  return ErrorCategory::kInternal;
}

class ScheduleServiceRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(dir_ / "files");
    std::ofstream(dir_ / "files/a.txt") << "alpha";
    config_.backup_dir = dir_ / "repo";
    config_.backup_paths = {dir_ / "files"};
    config_.encryption = false;
  }

  ScheduleService::ManagerFactory factory() {
    return [this] { return std::make_unique<BackupManager>(config_); };
  }

  test_support::TempDir temp_{"schedule-service-test"};
  const fs::path dir_ = temp_.path;
  BackupConfig config_;
};

}  // namespace

TEST(ScheduleService, NextRunsOfTheEnabledJobsInTheirZone) {
  ScheduleService service(settings_of({{"BACKUP_SCHEDULE_FULL", "0 2 * * *"},
                                       {"BACKUP_SCHEDULE_INCREMENTAL", "off"},
                                       {"BACKUP_SCHEDULE_CLEANUP", "30 3 * * *"},
                                       {"BACKUP_SCHEDULE_DRILL", "off"},
                                       {"TZ", "Europe/Berlin"}}));
  EXPECT_EQ(service.time_zone(), "Europe/Berlin");
  const std::vector<JobRuns> jobs = service.next_runs(at("2024-12-01T00:00:00Z"), 2);
  ASSERT_EQ(jobs.size(), 2u);
  EXPECT_EQ(jobs[0].job, "full");
  EXPECT_EQ(jobs[0].cron, "0 2 * * *");
  // 02:00 in Berlin is 01:00 UTC in winter
  EXPECT_EQ(jobs[0].next_runs, (std::vector<TimePoint>{at("2024-12-01T01:00:00Z"), at("2024-12-02T01:00:00Z")}));
  EXPECT_EQ(jobs[1].job, "cleanup");
  EXPECT_EQ(jobs[1].next_runs.front(), at("2024-12-01T02:30:00Z"));
}

TEST(ScheduleService, DefaultsAndBadSettings) {
  ScheduleService defaults(settings_of({}));
  EXPECT_EQ(defaults.time_zone(), "UTC");
  std::vector<std::string> names;
  for (const JobRuns& j : defaults.next_runs(at("2024-12-01T00:00:00Z"), 1)) names.push_back(j.job);
  EXPECT_EQ(names, (std::vector<std::string>{"full", "incremental", "cleanup", "drill"}));
  EXPECT_EQ(default_service_setting("BACKUP_SCHEDULE_FULL"), "0 2 * * *");
  EXPECT_EQ(default_service_setting("BACKUP_SCHEDULE_VERIFY"), "off");
  EXPECT_EQ(default_service_setting("BACKUP_SCHEDULE_DRILL"), "0 4 * * sun#1");
  EXPECT_EQ(default_service_setting("TZ"), "UTC");
  EXPECT_EQ(default_service_setting("DB_NAME"), "");
  EXPECT_EQ(category_of([] { ScheduleService(settings_of({{"BACKUP_SCHEDULE_FULL", "61 * * * *"}})); }),
            ErrorCategory::kConfig);
  EXPECT_EQ(category_of([] { ScheduleService(settings_of({{"TZ", "Mars/Olympus"}})); }), ErrorCategory::kConfig);
}

TEST_F(ScheduleServiceRunTest, WithEveryJobOffNothingRuns) {
  ScheduleService service(settings_of(
      {{"BACKUP_SCHEDULE_FULL", "off"}, {"BACKUP_SCHEDULE_INCREMENTAL", "off"}, {"BACKUP_SCHEDULE_CLEANUP", "off"},
       {"BACKUP_SCHEDULE_DRILL", "off"}}));
  bool started = false;
  ScheduleService::Control control;
  control.started = [&] { started = true; };
  EXPECT_EQ(category_of([&] { service.run(factory(), control); }), ErrorCategory::kConfig);
  EXPECT_FALSE(started);
  EXPECT_FALSE(fs::exists(config_.backup_dir / "backup_log.json"));
}

TEST_F(ScheduleServiceRunTest, StartsWithACatchUpFullBackupAndWritesMetrics) {
  const fs::path metrics = dir_ / "coffer.prom";
  // The full job's next slot is hours away: only the catch-up can run it now.
  ScheduleService service(settings_of({{"BACKUP_SCHEDULE_FULL", "0 2 * * *"},
                                       {"BACKUP_SCHEDULE_INCREMENTAL", "off"},
                                       {"BACKUP_SCHEDULE_CLEANUP", "off"},
                                       {"METRICS_FILE", metrics.string()}}));
  int started = 0;
  ScheduleService::Control control;
  control.started = [&] { ++started; };
  control.max_jobs = 1;
  EXPECT_EQ(service.run(factory(), control), 1);
  EXPECT_EQ(started, 1);

  BackupManager manager(config_);
  const std::vector<BackupInfo> backups = manager.list_backups();
  ASSERT_EQ(backups.size(), 1u);
  EXPECT_EQ(backups[0].type, BackupType::kFull);
  const std::vector<HistoryRecord> history = manager.history();
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(history[0].backup_id, backups[0].backup_id);
  EXPECT_EQ(history[0].status, "success");

  std::ifstream in(metrics);
  std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_NE(text.find("coffer_job_last_run_success{job=\"full\"} 1"), std::string::npos) << text;

  // A stop asked for before the first job ends the loop before it: the full backup is now
  // recent, so nothing is due.
  control.stop_requested = [] { return true; };
  control.max_jobs = -1;
  EXPECT_EQ(service.run(factory(), control), 0);
  EXPECT_EQ(manager.list_backups().size(), 1u);
}

TEST_F(ScheduleServiceRunTest, ADrillRunsOnItsScheduleAndIsRecordedWithItsMetrics) {
  const fs::path metrics = dir_ / "coffer.prom";
  test_support::ScopedEnv tmpdir("TMPDIR", dir_.string());  // the drill's scratch folder
  ScheduleService service(settings_of({{"BACKUP_SCHEDULE_FULL", "0 2 * * *"},
                                       {"BACKUP_SCHEDULE_INCREMENTAL", "off"},
                                       {"BACKUP_SCHEDULE_CLEANUP", "off"},
                                       {"BACKUP_SCHEDULE_DRILL", "* * * * * *"},
                                       {"METRICS_FILE", metrics.string()}}));
  ScheduleService::Control control;
  control.max_jobs = 2;  // the catch-up full backup, then a drill of it
  EXPECT_EQ(service.run(factory(), control), 2);
  BackupManager manager(config_);
  const std::vector<HistoryRecord> history = manager.history();
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[1].backup_type, "drill");
  EXPECT_EQ(history[1].status, "success") << history[1].error;
  EXPECT_EQ(history[1].backup_id, history[0].backup_id);
  std::ifstream in(metrics);
  std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_NE(text.find("coffer_job_last_run_success{job=\"drill\"} 1"), std::string::npos) << text;
}

}  // namespace coffer::schedule
