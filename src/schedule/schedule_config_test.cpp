#include "schedule/schedule_config.h"

#include <gtest/gtest.h>

#include <map>

#include "coffer/error.h"

namespace coffer::schedule {
namespace {

EnvLookup env_of(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

std::string jobs_of(const ScheduleConfig& c) {
  std::string out;
  for (const JobSchedule& j : c.jobs) out += j.name + "=" + j.cron.text() + ";";
  return out;
}

TEST(ScheduleConfig, DefaultsAreTheDocumentedSchedule) {
  ScheduleConfig c = load_schedule_config(env_of({}));
  EXPECT_EQ(c.time_zone, "UTC");
  EXPECT_EQ(jobs_of(c), "full=0 2 * * *;incremental=0 9-17 * * *;cleanup=0 3 * * *;drill=0 4 * * sun#1;");
}

TEST(ScheduleConfig, VariablesOverrideEnableAndDisable) {
  ScheduleConfig c = load_schedule_config(env_of({{"BACKUP_SCHEDULE_FULL", "0 1 * * sun"},
                                                  {"BACKUP_SCHEDULE_INCREMENTAL", "off"},
                                                  {"BACKUP_SCHEDULE_DIFFERENTIAL", "30 12 * * *"},
                                                  {"BACKUP_SCHEDULE_CLEANUP", ""},
                                                  {"BACKUP_SCHEDULE_VERIFY", " @weekly "},
                                                  {"BACKUP_SCHEDULE_DRILL", "off"},
                                                  {"TZ", "Europe/Berlin"}}));
  EXPECT_EQ(c.time_zone, "Europe/Berlin");
  EXPECT_EQ(jobs_of(c), "full=0 1 * * sun;differential=30 12 * * *;verify=@weekly;");
}

TEST(ScheduleConfig, InvalidExpressionNamesTheVariable) {
  try {
    load_schedule_config(env_of({{"BACKUP_SCHEDULE_CLEANUP", "0 25 * * *"}}));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kConfig);
    EXPECT_NE(std::string(e.what()).find("BACKUP_SCHEDULE_CLEANUP"), std::string::npos) << e.what();
  }
}

TEST(ScheduleConfig, UnknownTimeZoneIsAConfigError) {
  try {
    load_schedule_config(env_of({{"TZ", "Mars/Olympus_Mons"}}));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kConfig);
    EXPECT_NE(std::string(e.what()).find("TZ"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace coffer::schedule
