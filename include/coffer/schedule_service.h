// The scheduler service (`coffer schedule`): runs backups, cleanup and verify by cron
// (BACKUP_SCHEDULE_*, TZ), with Prometheus metrics (METRICS_*) and a notification hook
// (NOTIFY_*); and the schedule itself, for `coffer status` and `coffer schedule --once-at`. The
// rules of the loop (one job at a time, a catch-up full backup at start, missed slots) are in
// src/schedule/scheduler.h; the settings are in README's table.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "coffer/clock.h"

namespace coffer {

class BackupManager;

namespace schedule {

struct ScheduleConfig;

// What a service setting (BACKUP_SCHEDULE_*, TZ, STATUS_MAX_AGE_HOURS, METRICS_*, NOTIFY_*) is
// when unset, as `coffer config` shows it ("off" for a job that is off); "" when it has none.
std::string default_service_setting(const std::string& name);

// An enabled job and when it runs next.
struct JobRuns {
  std::string job;   // "full", "incremental", "differential", "cleanup", "verify" or "drill"
  std::string cron;  // its expression
  std::vector<TimePoint> next_runs;
};

class ScheduleService {
 public:
  // A service setting's value by name as its winning source gives it (flags > environment >
  // config file: config::service_settings); nullopt when unset.
  using Settings = std::function<std::optional<std::string>(const std::string&)>;
  // A manager on the configured repository, with its callbacks set: one per job (a job sees the
  // repository as the one before left it), and for the metrics.
  using ManagerFactory = std::function<std::unique_ptr<BackupManager>()>;

  // Reads and checks the schedule (BACKUP_SCHEDULE_*, TZ): Error(kConfig) names a bad setting.
  explicit ScheduleService(Settings settings);
  ~ScheduleService();
  ScheduleService(const ScheduleService&) = delete;
  ScheduleService& operator=(const ScheduleService&) = delete;

  // The zone the cron times are in (TZ; "UTC" when unset).
  const std::string& time_zone() const;
  // The enabled jobs, in the order they run when due at once, each with its next `count` runs
  // after `after` (fewer when its expression has no more).
  std::vector<JobRuns> next_runs(TimePoint after, int count) const;

  // How a run is started, stopped and bounded.
  struct Control {
    // Called once, when every check passed and the loop starts (`coffer schedule` installs its
    // SIGTERM/SIGINT handlers here: a signal during start-up still ends the process at once).
    std::function<void()> started;
    // Asked between jobs and at least once a second while waiting: true ends the loop (a running
    // job is never cut short).
    std::function<bool()> stop_requested;
    int max_jobs = -1;  // end after this many jobs (tests); -1: no limit
  };

  // Runs the jobs on their schedules until control says stop; returns how many jobs ran. Before
  // the first job every setting is checked (Error(kConfig): a bad one fails now, not at 02:00)
  // and this process takes the scheduler lock of BACKUP_DIR (Error(kInput) when another
  // scheduler holds it). A failed job is logged and runs again at its next slot. Logs through
  // spdlog, with times from the start of the loop on.
  int run(const ManagerFactory& make_manager, const Control& control);

 private:
  Settings settings_;
  std::unique_ptr<const ScheduleConfig> schedule_;
};

// A job run outside the service that the notification hook should hear of as it hears of the
// service's own: `coffer drill` (a failed drill is worth an alert whoever started it).
struct FinishedJob {
  std::string job;  // "drill"
  bool ok = true;
  std::string error;      // when !ok
  std::string backup_id;
  std::string summary;    // one line for humans
  TimePoint started, ended;
};
// Runs the hook (NOTIFY_COMMAND, NOTIFY_ON, NOTIFY_TIMEOUT_SECONDS) for `job` if wanted, as the
// service does. The hook's own failure is logged, never thrown; a bad NOTIFY_* setting throws
// Error(kConfig). Returns whether the hook ran.
bool notify_job_finished(const ScheduleService::Settings& settings, const FinishedJob& job);

}  // namespace schedule
}  // namespace coffer
