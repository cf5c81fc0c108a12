// `coffer schedule`: the long-lived service that runs backups, cleanup and verify by cron
// (coffer/schedule_service.h); this file parses, prints the --once-at plan and turns SIGTERM and
// SIGINT into a clean stop.
#include <spdlog/spdlog.h>

#include <csignal>

#include "cli.h"
#include "coffer/clock.h"
#include "coffer/schedule_service.h"

namespace coffer::cli {

namespace {

volatile std::sig_atomic_t g_stop_signal = 0;

extern "C" void on_stop_signal(int sig) { g_stop_signal = sig; }

void install_stop_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: a sleeping loop wakes up at once
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
}

}  // namespace

Runner add_schedule(CLI::App& app, GlobalOptions& g) {
  auto* cmd = app.add_subcommand("schedule",
                                 "run backups, cleanup and verify on their schedules (BACKUP_SCHEDULE_*, TZ) "
                                 "until SIGTERM/SIGINT");
  auto once_at = std::make_shared<std::string>();
  auto max_jobs = std::make_shared<int>(-1);
  cmd->add_option("--once-at", *once_at,
                  "print each job's next run after this ISO 8601 UTC time (e.g. 2024-12-01T00:00:00Z) and exit; "
                  "nothing runs");
  cmd->add_option("--max-jobs", *max_jobs, "stop after N jobs (tests)")->group("");
  return [&g, once_at, max_jobs] {
    // Every setting is checked before anything runs.
    schedule::ScheduleService service(service_settings_of(g));
    if (!once_at->empty()) {
      std::optional<TimePoint> t = parse_iso8601_utc(*once_at);
      if (!t)
        fail(ErrorCategory::kInput, "--once-at: \"" + *once_at + "\" is not a UTC time like 2024-12-01T00:00:00Z");
      const std::string& zone = service.time_zone();
      nlohmann::json out = nlohmann::json::array();
      for (const schedule::JobRuns& j : service.next_runs(*t, 1)) {
        std::string when = j.next_runs.empty() ? "never" : format_iso8601_utc(j.next_runs.front());
        out.push_back({{"job", j.job}, {"cron", j.cron}, {"next_run", when}});
        if (!g.json)
          std::printf("%-13s %-20s next %s (%s)\n", j.job.c_str(), j.cron.c_str(), when.c_str(), zone.c_str());
      }
      if (g.json) print_json({{"time_zone", zone}, {"jobs", out}});
      return 0;
    }
    if (g.source == "s3") fail(ErrorCategory::kInput, "--source s3 is not for `coffer schedule`");
    g_stop_signal = 0;
    schedule::ScheduleService::Control control;
    control.started = install_stop_handlers;
    control.stop_requested = [] { return g_stop_signal != 0; };
    control.max_jobs = *max_jobs;
    int ran = service.run([&g] { return make_manager(g); }, control);
    if (g_stop_signal)
      spdlog::info("received {}: stopped cleanly after {} job(s)", g_stop_signal == SIGTERM ? "SIGTERM" : "SIGINT",
                   ran);
    return 0;
  };
}

}  // namespace coffer::cli
