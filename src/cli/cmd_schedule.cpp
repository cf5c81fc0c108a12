// `coffer schedule`: the long-lived service that runs backups, cleanup and verify by cron.
#include <spdlog/spdlog.h>

#include <unistd.h>

#include <csignal>
#include <thread>

#include "cli/cli.h"
#include "schedule/schedule_config.h"
#include "schedule/scheduler.h"
#include "util/clock.h"

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

std::optional<TimePoint> newest_full(const GlobalOptions& g) {
  try {
    std::optional<TimePoint> newest;
    for (const BackupInfo& b : make_manager(g)->list_backups())
      if (b.type == BackupType::kFull)
        if (auto t = parse_iso8601_utc(b.timestamp); t && (!newest || *t > *newest)) newest = t;
    return newest;
  } catch (const Error& e) {
    if (e.category() == ErrorCategory::kNotFound) return std::nullopt;  // no repository yet
    throw;
  }
}

// Each job gets a fresh manager, so a cleanup's changes are seen by the next backup.
std::function<void()> job_for(const std::string& name, const GlobalOptions& g) {
  if (auto type = backup_type_from_name(name))
    return [&g, type = *type] {
      BackupInfo b = make_manager(g)->create_backup(type);
      spdlog::info("backup {}: {} files, {} added", b.backup_id, b.file_count, human_bytes(b.bytes_added));
    };
  if (name == "cleanup")
    return [&g] {
      CleanupResult r = make_manager(g)->cleanup();
      spdlog::info("cleanup: {} backups removed, {} freed", r.removed.size(), human_bytes(r.bytes_freed));
    };
  return [&g] {
    VerifyResult r = make_manager(g)->verify();
    if (!r.ok)
      fail(ErrorCategory::kDamaged, "verify found " + std::to_string(r.problems.size()) +
                                        " problem(s): run `coffer verify` for details");
    spdlog::info("verify: {} backups, {} chunks checked", r.backups_checked, r.chunks_checked);
  };
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
    schedule::ScheduleConfig sc = schedule::load_schedule_config_from_environment();
    if (!once_at->empty()) {
      std::optional<TimePoint> t = parse_iso8601_utc(*once_at);
      if (!t)
        fail(ErrorCategory::kInput, "--once-at: \"" + *once_at + "\" is not a UTC time like 2024-12-01T00:00:00Z");
      nlohmann::json out = nlohmann::json::array();
      for (const auto& j : sc.jobs) {
        std::optional<TimePoint> n = j.cron.next_after(*t, sc.time_zone);
        std::string when = n ? format_iso8601_utc(*n) : "never";
        out.push_back({{"job", j.name}, {"cron", j.cron.text()}, {"next_run", when}});
        if (!g.json) std::printf("%-13s %-20s next %s (%s)\n", j.name.c_str(), j.cron.text().c_str(), when.c_str(),
                                 sc.time_zone.c_str());
      }
      if (g.json) print_json({{"time_zone", sc.time_zone}, {"jobs", out}});
      return 0;
    }
    if (g.source == "s3") fail(ErrorCategory::kInput, "--source s3 is not for `coffer schedule`");
    load_config(g);  // a bad setting fails now, not at 02:00
    if (sc.jobs.empty()) fail(ErrorCategory::kConfig, "every BACKUP_SCHEDULE_* job is off: nothing to schedule");

    std::vector<schedule::ScheduledTask> tasks;
    for (const auto& j : sc.jobs) tasks.push_back({j.name, j.cron, job_for(j.name, g)});
    schedule::SchedulerOptions opts;
    opts.time_zone = sc.time_zone;
    opts.last_full = newest_full(g);
    opts.max_jobs = *max_jobs;

    g_stop_signal = 0;
    install_stop_handlers();
    schedule::SchedulerHooks hooks;
    hooks.now = [] { return std::chrono::system_clock::now(); };
    hooks.sleep_until = [](TimePoint until) {
      // Short steps: a signal (or a clock change) is noticed within a second.
      auto left = until - std::chrono::system_clock::now();
      if (left > std::chrono::seconds(1)) left = std::chrono::seconds(1);
      if (left > decltype(left)::zero() && !g_stop_signal) std::this_thread::sleep_for(left);
    };
    hooks.stop_requested = [] { return g_stop_signal != 0; };

    spdlog::set_pattern("[%Y-%m-%d %H:%M:%S] %^%l%$: %v");  // a service log wants times
    spdlog::info("coffer schedule started (pid {})", static_cast<long>(getpid()));
    schedule::Scheduler scheduler(std::move(tasks), std::move(hooks), opts);
    int ran = scheduler.run();
    if (g_stop_signal)
      spdlog::info("received {}: stopped cleanly after {} job(s)", g_stop_signal == SIGTERM ? "SIGTERM" : "SIGINT",
                   ran);
    return 0;
  };
}

}  // namespace coffer::cli
