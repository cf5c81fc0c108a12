// The notification hook: a command run (by /bin/sh -c) after a failed job, or after every job,
// with the job's details in environment variables:
//   COFFER_JOB (full, incremental, differential, cleanup, verify), COFFER_STATUS (success|failure),
//   COFFER_ERROR, COFFER_BACKUP_ID, COFFER_BYTES_ADDED, COFFER_SUMMARY, COFFER_SLOT, COFFER_STARTED,
//   COFFER_ENDED (ISO 8601 UTC), COFFER_DURATION_SECONDS, COFFER_CATCH_UP (true|false), COFFER_HOST.
// Settings: NOTIFY_COMMAND ("" = none), NOTIFY_ON (failure|always, default failure),
// NOTIFY_TIMEOUT_SECONDS (default 30).
// The command never sees coffer's secrets (BACKUP_PASSPHRASE, DB_PASSWORD, AWS_SECRET_ACCESS_KEY,
// AWS_SESSION_TOKEN, PGPASSWORD are removed from its environment). It runs in its own process
// group; at the timeout the whole group gets SIGTERM, then SIGKILL, so a hook that hangs, or
// leaves children behind, never stalls the scheduler. Its failure is logged, never thrown.
#pragma once

#include <chrono>
#include <string>

#include "schedule/schedule_config.h"
#include "schedule/scheduler.h"

namespace coffer::schedule {

struct NotifySettings {
  std::string command;  // "" = no hook
  bool always = false;  // NOTIFY_ON=always: after every job, not only failed ones
  std::chrono::seconds timeout{30};
};

// Throws Error(kConfig) naming NOTIFY_ON / NOTIFY_TIMEOUT_SECONDS for bad values.
NotifySettings load_notify_settings(const EnvLookup& env);

struct NotifyOutcome {
  bool ran = false;        // false: no command, or not wanted for this job
  int exit_code = 0;       // 128+signal when killed
  bool timed_out = false;
  std::string output;      // stdout+stderr, at most 4 KiB
};

class Notifier {
 public:
  explicit Notifier(NotifySettings settings) : settings_(std::move(settings)) {}

  // Runs the hook for this job if wanted; logs the outcome (warning when it failed or hung).
  NotifyOutcome job_finished(const JobRun& run);

 private:
  NotifySettings settings_;
};

}  // namespace coffer::schedule
