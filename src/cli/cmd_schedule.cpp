// `coffer schedule`: the long-lived service that runs backups, cleanup and verify by cron.
#include <spdlog/spdlog.h>

#include <unistd.h>

#include <csignal>
#include <thread>

#include "cli/cli.h"
#include "coffer/clock.h"
#include "engine/storage_factory.h"
#include "schedule/metrics.h"
#include "schedule/metrics_server.h"
#include "schedule/notifier.h"
#include "schedule/schedule_config.h"
#include "schedule/schedule_lock.h"
#include "schedule/scheduler.h"

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

// When each job last succeeded before this start (backups from the repository, cleanups from the
// log): seeds "last success" for metrics, and the full backup's for the catch-up. A job that
// never succeeded is absent.
std::map<std::string, TimePoint> last_successes(const GlobalOptions& g) {
  std::map<std::string, TimePoint> newest;
  try {
    auto manager = make_manager(g);
    const std::vector<BackupInfo> backups = manager->list_backups();
    std::vector<HistoryRecord> history;
    try {
      history = manager->history();
    } catch (const Error& e) {
      if (e.category() != ErrorCategory::kDamaged) throw;
      spdlog::warn("{}", e.what());  // the first backup sets it aside; it must not stop the service
    }
    for (const char* job : {"full", "incremental", "differential", "cleanup"})
      if (std::optional<JobSuccess> s = newest_success(job, backups, history)) newest[job] = s->time;
  } catch (const Error& e) {
    if (e.category() != ErrorCategory::kNotFound) throw;  // no repository yet: nothing to seed
  }
  return newest;
}

// When the newest backup that reached S3 was made (S3_MODE=copy), from backup_log.json: seeds the
// off-site age metric, without asking S3 at start.
std::optional<TimePoint> newest_offsite(const BackupConfig& config) {
  std::optional<TimePoint> newest;
  try {
    for (const HistoryRecord& rec : BackupManager(config).history()) {
      if (rec.status != "success" || !rec.backup.offsite || !rec.backup.offsite->copied) continue;
      std::optional<TimePoint> t = parse_iso8601_utc(rec.timestamp);
      if (t && (!newest || *t > *newest)) newest = t;
    }
  } catch (const Error& e) {
    spdlog::warn("metrics: cannot read the backup log: {}", e.what());
  }
  return newest;
}

// Each job gets a fresh manager, so a cleanup's changes are seen by the next backup.
std::function<schedule::JobOutput()> job_for(const std::string& name, const GlobalOptions& g) {
  if (auto type = backup_type_from_name(name))
    return [&g, type = *type] {
      BackupInfo b = make_manager(g)->create_backup(type);
      std::string summary = b.backup_id + ": " + std::to_string(b.file_count) + " files" +
                            (b.database ? " and database " + b.database->name : "") + ", " +
                            human_bytes(b.bytes_added) + " added";
      if (b.incomplete()) {  // committed, so not a failure; the summary (and the hook) must say so
        summary += ", INCOMPLETE: " + std::to_string(b.unreadable.size()) + " path(s) could not be read, first " +
                   b.unreadable.front();
        spdlog::warn("backup {}", summary);
      } else {
        spdlog::info("backup {}", summary);
      }
      schedule::JobOutput out{b.backup_id, b.bytes_added, 0, summary};
      if (b.offsite_copy) {
        out.offsite_copied = b.offsite_copy->copied;
        // As `create` exits 6: the job failed, though the backup is usable locally.
        if (!b.offsite_copy->copied)
          out.failure = "backup " + b.backup_id + " is committed locally but NOT off-site: " + b.offsite_copy->error;
      }
      return out;
    };
  if (name == "cleanup")
    return [&g] {
      CleanupResult r = make_manager(g)->cleanup();
      std::string summary = std::to_string(r.removed.size()) + " backups removed, " + human_bytes(r.bytes_freed) + " freed";
      spdlog::info("cleanup: {}", summary);
      return schedule::JobOutput{"", 0, r.bytes_freed, summary};
    };
  return [&g] {
    VerifyResult r = make_manager(g)->verify();
    if (!r.ok)
      fail(ErrorCategory::kDamaged, "verify found " + std::to_string(r.problems.size()) +
                                        " problem(s): run `coffer verify` for details");
    std::string summary = std::to_string(r.backups_checked) + " backups, " + std::to_string(r.chunks_checked) +
                          " chunks checked";
    spdlog::info("verify: {}", summary);
    return schedule::JobOutput{"", 0, 0, summary};
  };
}

// Metrics after each job: record it, re-measure the repository, rewrite the textfile. Failures
// here are logged, never allowed to stop the scheduler.
void update_metrics(schedule::Metrics& metrics, const schedule::MetricsSettings& ms, const GlobalOptions& g) {
  try {
    metrics.set_repository_bytes(make_manager(g)->repository_bytes());
  } catch (const std::exception& e) {
    spdlog::warn("metrics: cannot measure the repository: {}", e.what());
  }
  if (ms.file.empty()) return;
  try {
    metrics.write_file(ms.file);
  } catch (const std::exception& e) {
    spdlog::warn("metrics: {}", e.what());
  }
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
    const auto service = service_settings_of(g);
    schedule::ScheduleConfig sc = schedule::load_schedule_config(service);
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
    const BackupConfig cfg = load_config(g);  // a bad setting fails now, not at 02:00
    if (cfg.s3_mode != S3Mode::kOff) make_s3_storage(cfg);  // and so does a bad S3 one
    if (sc.jobs.empty()) fail(ErrorCategory::kConfig, "every BACKUP_SCHEDULE_* job is off: nothing to schedule");
    const schedule::MetricsSettings ms = schedule::load_metrics_settings(service);
    schedule::Notifier notifier(schedule::load_notify_settings(service));
    // Held until this process ends: a second scheduler on this repository stops here.
    const auto only_scheduler = schedule::ScheduleLock::acquire(cfg.backup_dir);

    const std::map<std::string, TimePoint> known = last_successes(g);
    auto metrics = std::make_shared<schedule::Metrics>(std::chrono::system_clock::now());
    for (const auto& [job, t] : known) metrics->seed_last_success(job, t);
    if (cfg.s3_mode == S3Mode::kCopy)
      if (std::optional<TimePoint> t = newest_offsite(cfg)) metrics->seed_newest_offsite(*t);
    std::unique_ptr<schedule::MetricsServer> server;
    if (ms.port != 0) {  // a port in use fails here, before any job
      server = std::make_unique<schedule::MetricsServer>(ms.address, ms.port, [metrics] { return metrics->render(); });
      spdlog::info("metrics: http://{}:{}/metrics", ms.address, server->port());
    }
    update_metrics(*metrics, ms, g);

    std::vector<schedule::ScheduledTask> tasks;
    for (const auto& j : sc.jobs) tasks.push_back({j.name, j.cron, job_for(j.name, g)});
    schedule::SchedulerOptions opts;
    opts.time_zone = sc.time_zone;
    if (auto it = known.find("full"); it != known.end()) opts.last_full = it->second;
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
    hooks.job_finished = [&](const schedule::JobRun& run) {
      metrics->record(run);
      update_metrics(*metrics, ms, g);
      notifier.job_finished(run);
    };

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
