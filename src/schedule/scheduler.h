// The `coffer schedule` loop: runs cron-scheduled jobs one at a time.
//
// Rules:
//  - Never two jobs at once. A slot that comes while another job runs is run after it, if it is
//    still that job's latest slot ("waited" log line); older slots missed entirely are logged as
//    skipped. Slots a job misses while it itself runs are skipped (logged), never queued.
//  - A failed job is logged and runs again at its next slot.
//  - Catch-up: at start, when the newest successful full backup is older than the full job's
//    period (+ 1/24 of it as margin) or there is none, one full backup runs first.
//  - stop_requested is checked between jobs and while sleeping; a running job is never cut short.
// Clock, sleep and jobs are injected so tests drive a simulated day in milliseconds.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "schedule/cron_expr.h"

namespace coffer::schedule {

// What a finished job reports, for metrics, notifications and logs.
struct JobOutput {
  std::string backup_id;     // "" for cleanup and verify
  uint64_t bytes_added = 0;  // to the repository (backups)
  uint64_t bytes_freed = 0;  // by cleanup
  std::string summary;       // one line for humans
  // S3_MODE=copy backups: whether the off-site copy succeeded; nullopt when there was none.
  std::optional<bool> offsite_copied;
  // Set when the job did its work but did not fully succeed (a backup committed locally but not
  // copied off-site): the run counts as failed with this error, and the output above still holds.
  std::string failure;
};

struct ScheduledTask {
  std::string name;  // "full" is the one catch-up runs
  CronExpr cron;
  std::function<JobOutput()> run;  // throws on failure
};

struct SchedulerHooks {
  std::function<TimePoint()> now;
  // Sleeps until `until` or less (returning early is fine: the loop re-checks clock and stop).
  std::function<void(TimePoint until)> sleep_until;
  std::function<bool()> stop_requested = [] { return false; };
  // Called after every job, success or failure (metrics, notification). Must not throw; it runs
  // on the scheduler's thread, so it must be bounded in time.
  std::function<void(const struct JobRun&)> job_finished;
};

struct SchedulerOptions {
  std::string time_zone = "UTC";
  // Newest successful full backup; nullopt = none. Only read when catch_up is true.
  std::optional<TimePoint> last_full;
  bool catch_up = true;
  int max_jobs = -1;  // stop after this many jobs have run (tests); -1 = no limit
};

struct JobRun {
  std::string name;
  TimePoint slot;     // the cron slot it ran for (the start time for a catch-up)
  TimePoint started;
  TimePoint ended;
  bool ok = true;
  std::string error;
  bool catch_up = false;
  JobOutput output;  // filled when the job returned (ok, or failed with output.failure)
};

class Scheduler {
 public:
  Scheduler(std::vector<ScheduledTask> tasks, SchedulerHooks hooks, SchedulerOptions options);

  // Runs until stop_requested() or max_jobs; returns the number of jobs run.
  int run();

  const std::vector<JobRun>& history() const { return history_; }
  // Every log line written (also sent to spdlog), for tests and diagnostics.
  const std::vector<std::string>& log_lines() const { return log_; }

  // Period of a cron expression around t: the gap between its next two runs.
  static std::chrono::seconds period_of(const CronExpr& cron, TimePoint t, const std::string& tz);

 private:
  void info(const std::string& line);
  void warn(const std::string& line);
  void run_task(size_t i, TimePoint slot, bool catch_up);
  void collapse_missed(size_t i, TimePoint now);
  TimePoint next_slot(size_t i, TimePoint after) const;
  // Sets task i's next slot, with a log line when a daylight-saving change moves or merges it.
  void plan(size_t i, TimePoint slot);
  bool done() const;

  std::vector<ScheduledTask> tasks_;
  SchedulerHooks hooks_;
  SchedulerOptions options_;
  std::vector<TimePoint> next_;
  std::vector<JobRun> history_;
  std::vector<std::string> log_;
  int jobs_run_ = 0;
};

}  // namespace coffer::schedule
