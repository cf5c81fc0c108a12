// Which jobs `coffer schedule` runs and when (environment variables, or the same names in lower
// case as config-file keys):
//   BACKUP_SCHEDULE_FULL          default "0 2 * * *"
//   BACKUP_SCHEDULE_INCREMENTAL   default "0 9-17 * * *"
//   BACKUP_SCHEDULE_DIFFERENTIAL  default off
//   BACKUP_SCHEDULE_CLEANUP       default "0 3 * * *"
//   BACKUP_SCHEDULE_VERIFY        default off
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
  std::string name;      // "full", "incremental", "differential", "cleanup", "verify"
  std::string variable;  // e.g. "BACKUP_SCHEDULE_FULL"
  CronExpr cron;
};

struct ScheduleConfig {
  std::string time_zone = "UTC";
  std::vector<JobSchedule> jobs;  // enabled jobs only, in the order above (ties run in this order)
};

using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

// `env` gives each setting's winning value (environment, config file or flag: see
// config::service_settings).
ScheduleConfig load_schedule_config(const EnvLookup& env);

}  // namespace coffer::schedule
