// Which jobs `coffer schedule` runs and when (environment variables, or the same names in lower
// case as config-file keys):
//   BACKUP_SCHEDULE_FULL          default "0 2 * * *"
//   BACKUP_SCHEDULE_INCREMENTAL   default "0 9-17 * * *"
//   BACKUP_SCHEDULE_DIFFERENTIAL  default off
//   BACKUP_SCHEDULE_CLEANUP       default "0 3 * * *"
//   BACKUP_SCHEDULE_VERIFY        default off
//   BACKUP_SCHEDULE_DRILL         default "0 4 * * sun#1" (a restore drill of the newest backup,
//                                 the first Sunday of each month)
//   TZ                            IANA zone for the cron times, default UTC
// "off" or "" disables a job. Bad values throw Error(kConfig) naming the variable, at start.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "schedule/cron_expr.h"

namespace coffer::schedule {

struct JobSchedule {
  std::string name;      // "full", "incremental", "differential", "cleanup", "verify", "drill"
  std::string variable;  // e.g. "BACKUP_SCHEDULE_FULL"
  CronExpr cron;
};

struct ScheduleConfig {
  std::string time_zone = "UTC";
  std::vector<JobSchedule> jobs;  // enabled jobs only, in the order above (ties run in this order)
};

using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

// Helpers for the service's setting readers (schedule, metrics, notification):
// text without surrounding blanks;
std::string trim_blanks(const std::string& s);
// a setting's value without surrounding blanks, nullopt when it is unset or blank;
std::optional<std::string> setting_text(const EnvLookup& env, const std::string& name);
// a whole number of at most 5 digits ("9187"), nullopt for anything else.
std::optional<int> small_whole_number(const std::string& text);

// `env` gives each setting's winning value (environment, config file or flag: see
// config::service_settings).
ScheduleConfig load_schedule_config(const EnvLookup& env);

}  // namespace coffer::schedule
