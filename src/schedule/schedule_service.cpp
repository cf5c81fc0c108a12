#include "coffer/schedule_service.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <thread>

#include <spdlog/spdlog.h>

#include "coffer/backup_manager.h"
#include "coffer/human_bytes.h"
#include "coffer/report.h"
#include "report/html_report.h"
#include "schedule/metrics.h"
#include "schedule/metrics_server.h"
#include "schedule/notifier.h"
#include "schedule/schedule_config.h"
#include "schedule/schedule_lock.h"
#include "schedule/scheduler.h"

namespace coffer::schedule {

namespace {

using ManagerFactory = ScheduleService::ManagerFactory;

// When each job last succeeded before this start (backups from the repository, cleanups and drills
// from the log): seeds "last success" for metrics, and the full backup's for the catch-up. A job that
// never succeeded is absent.
std::map<std::string, TimePoint> last_successes(const ManagerFactory& make_manager) {
  std::map<std::string, TimePoint> newest;
  try {
    auto manager = make_manager();
    const std::vector<BackupInfo> backups = manager->list_backups();
    std::vector<HistoryRecord> history;
    try {
      history = manager->history();
    } catch (const Error& e) {
      if (e.category() != ErrorCategory::kDamaged) throw;
      spdlog::warn("{}", e.what());  // the first backup sets it aside; it must not stop the service
    }
    for (const char* job : {"full", "incremental", "differential", "cleanup", "drill"})
      if (std::optional<JobSuccess> s = newest_success(job, backups, history)) newest[job] = s->time;
  } catch (const Error& e) {
    if (e.category() != ErrorCategory::kNotFound) throw;  // no repository yet: nothing to seed
  }
  return newest;
}

// When the newest backup that reached S3 was made (S3_MODE=copy), from backup_log.json: seeds the
// off-site age metric, without asking S3 at start.
std::optional<TimePoint> newest_offsite(const BackupManager& manager) {
  std::optional<TimePoint> newest;
  try {
    for (const HistoryRecord& rec : manager.history()) {
      if (rec.status != "success" || !rec.backup.offsite || !rec.backup.offsite->copied) continue;
      std::optional<TimePoint> t = parse_iso8601_utc(rec.timestamp);
      if (t && (!newest || *t > *newest)) newest = t;
    }
  } catch (const Error& e) {
    spdlog::warn("metrics: cannot read the backup log: {}", e.what());
  }
  return newest;
}

std::string drill_summary(const DrillResult& r) {
  char seconds[64];
  std::snprintf(seconds, sizeof seconds, "%.1f s (database %.1f s, files %.1f s to restore)", r.duration_seconds,
                r.database_restore_seconds, r.files_restore_seconds);
  return r.backup_id + " " + (r.passed ? "passed" : "FAILED") + ": " + std::to_string(r.checks.size()) +
         " checks, " + std::to_string(r.tables) + " tables, " + std::to_string(r.files) + " files, in " + seconds;
}

// Each job gets a fresh manager, so a cleanup's changes are seen by the next backup.
std::function<JobOutput()> job_for(const std::string& name, const ManagerFactory& make_manager) {
  if (auto type = backup_type_from_name(name))
    return [make_manager, type = *type] {
      BackupInfo b = make_manager()->create_backup(type);
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
      JobOutput out{b.backup_id, b.bytes_added, 0, summary};
      if (b.offsite_copy) {
        out.offsite_copied = b.offsite_copy->copied;
        // As `create` exits 6: the job failed, though the backup is usable locally.
        if (!b.offsite_copy->copied)
          out.failure = "backup " + b.backup_id + " is committed locally but NOT off-site: " + b.offsite_copy->error;
      }
      return out;
    };
  if (name == "cleanup")
    return [make_manager] {
      CleanupResult r = make_manager()->cleanup();
      std::string summary = std::to_string(r.removed.size()) + " backups removed, " + human_bytes(r.bytes_freed) + " freed";
      spdlog::info("cleanup: {}", summary);
      return JobOutput{"", 0, r.bytes_freed, summary};
    };
  if (name == "drill")
    return [make_manager] {
      DrillOptions options;
      std::error_code ec;
      const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
      if (!ec) options.program = self.string();  // a physical drill's server runs its wal-fetch
      DrillResult r = make_manager()->drill("latest", options);
      JobOutput out{r.backup_id, 0, 0, drill_summary(r)};
      if (!r.passed) {  // it ran: the run fails, and the hook still sees which backup and how
        out.failure = "drill of " + r.backup_id + " FAILED: " + drill_failure_summary(r);
        spdlog::error("drill: {}", out.failure);
      } else {
        spdlog::info("drill: {}", out.summary);
      }
      return out;
    };
  return [make_manager] {
    VerifyResult r = make_manager()->verify();
    if (!r.ok)
      fail(ErrorCategory::kDamaged, "verify found " + std::to_string(r.problems.size()) +
                                        " problem(s): run `coffer verify` for details");
    std::string summary = std::to_string(r.backups_checked) + " backups, " + std::to_string(r.chunks_checked) +
                          " chunks checked";
    spdlog::info("verify: {}", summary);
    return JobOutput{"", 0, 0, summary};
  };
}

AnalyticsGauges gauges_of(const nlohmann::json& a) {
  auto opt = [](const nlohmann::json& v) { return v.is_null() ? std::nullopt : std::optional<double>(v.get<double>()); };
  AnalyticsGauges g;
  g.growth_bytes_per_day = opt(a["growth_bytes_per_day"]);
  g.dedup_ratio = opt(a["dedup_ratio"]);
  g.compression_ratio = opt(a["compression_ratio"]);
  for (const char* room : {"disk", "s3_quota"})
    if (!a[room].is_null() && !a[room]["days_left"].is_null()) g.days_left[room] = a[room]["days_left"].get<double>();
  return g;
}

// Metrics after each job: record it, re-measure the repository and its analytics, rewrite the
// textfile. Failures here are logged, never allowed to stop the scheduler.
void update_metrics(Metrics& metrics, const MetricsSettings& ms, const ReportSettings& rs,
                    const ManagerFactory& make_manager) {
  try {
    const BackupReport report(*make_manager(), rs, job_now());
    const nlohmann::json a = report.analytics_json();
    metrics.set_repository_bytes(a["stored_bytes"].get<uint64_t>());
    metrics.set_analytics(gauges_of(a));
    for (const std::string& w : report.warnings()) spdlog::warn("{}", w);
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

// GET /: the dashboard, rendered at most every kPageCacheSeconds (each render opens the
// repository, deriving its key), and reloaded by the browser every kPageRefreshSeconds.
constexpr int kPageRefreshSeconds = 60;
constexpr int kPageCacheSeconds = 10;

MetricsServer::Render dashboard_page(const ManagerFactory& make_manager, const ReportSettings& rs) {
  struct Cache {
    std::string page;
    std::chrono::steady_clock::time_point made{};
  };
  auto cache = std::make_shared<Cache>();  // the server answers one request at a time
  return [make_manager, rs, cache] {
    const auto now = std::chrono::steady_clock::now();
    if (!cache->page.empty() && now - cache->made < std::chrono::seconds(kPageCacheSeconds)) return cache->page;
    try {
      cache->page = BackupReport(*make_manager(), rs, job_now()).html(kPageRefreshSeconds);
    } catch (const std::exception& e) {
      cache->page = "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><meta http-equiv=\"refresh\" content=\"" +
                    std::to_string(kPageRefreshSeconds) + "\"><title>coffer</title></head><body><h1>coffer</h1>" +
                    "<p>The repository cannot be read: " + report::html_escape(e.what()) + "</p></body></html>\n";
    }
    cache->made = now;
    return cache->page;
  };
}

}  // namespace

ScheduleService::ScheduleService(Settings settings)
    : settings_(std::move(settings)), schedule_(std::make_unique<const ScheduleConfig>(load_schedule_config(settings_))) {}

ScheduleService::~ScheduleService() = default;

const std::string& ScheduleService::time_zone() const { return schedule_->time_zone; }

std::vector<JobRuns> ScheduleService::next_runs(TimePoint after, int count) const {
  std::vector<JobRuns> out;
  for (const JobSchedule& j : schedule_->jobs)
    out.push_back({j.name, j.cron.text(), j.cron.next_n(after, schedule_->time_zone, count)});
  return out;
}

int ScheduleService::run(const ManagerFactory& make_manager, const Control& control) {
  const std::unique_ptr<BackupManager> configured = make_manager();  // a bad setting fails now
  const BackupConfig& cfg = configured->config();
  if (cfg.s3_mode != S3Mode::kOff) configured->check_s3_settings();  // and so does a bad S3 one
  if (schedule_->jobs.empty()) fail(ErrorCategory::kConfig, "every BACKUP_SCHEDULE_* job is off: nothing to schedule");
  const MetricsSettings ms = load_metrics_settings(settings_);
  const ReportSettings rs = report_settings(settings_);
  const std::string page_token = settings_("DASHBOARD_TOKEN").value_or("");
  Notifier notifier(load_notify_settings(settings_));
  // Held until this run ends: a second scheduler on this repository stops here.
  const auto only_scheduler = ScheduleLock::acquire(cfg.backup_dir);

  const std::map<std::string, TimePoint> known = last_successes(make_manager);
  auto metrics = std::make_shared<Metrics>(std::chrono::system_clock::now());
  for (const auto& [job, t] : known) metrics->seed_last_success(job, t);
  if (cfg.s3_mode == S3Mode::kCopy)
    if (std::optional<TimePoint> t = newest_offsite(*configured)) metrics->seed_newest_offsite(*t);
  metrics->set_wal_source([make_manager] { return make_manager()->wal_status(false); });
  std::unique_ptr<MetricsServer> server;
  if (ms.port != 0) {  // a port in use fails here, before any job
    server = std::make_unique<MetricsServer>(ms.address, ms.port, [metrics] { return metrics->render(); },
                                             dashboard_page(make_manager, rs), page_token);
    spdlog::info("metrics: http://{}:{}/metrics, dashboard: http://{}:{}/", ms.address, server->port(), ms.address,
                 server->port());
    if (page_token.empty() && ms.address.rfind("127.", 0) != 0)
      spdlog::warn("the dashboard (GET /) is refused on {}: set DASHBOARD_TOKEN to serve it beyond loopback", ms.address);
  }
  update_metrics(*metrics, ms, rs, make_manager);

  std::vector<ScheduledTask> tasks;
  for (const JobSchedule& j : schedule_->jobs) tasks.push_back({j.name, j.cron, job_for(j.name, make_manager)});
  SchedulerOptions opts;
  opts.time_zone = schedule_->time_zone;
  if (auto it = known.find("full"); it != known.end()) opts.last_full = it->second;
  opts.max_jobs = control.max_jobs;

  if (control.started) control.started();
  const std::function<bool()> stop = control.stop_requested ? control.stop_requested : [] { return false; };
  SchedulerHooks hooks;
  hooks.now = [] { return std::chrono::system_clock::now(); };
  hooks.sleep_until = [stop](TimePoint until) {
    // Short steps: a stop (or a clock change) is noticed within a second.
    auto left = until - std::chrono::system_clock::now();
    if (left > std::chrono::seconds(1)) left = std::chrono::seconds(1);
    if (left > decltype(left)::zero() && !stop()) std::this_thread::sleep_for(left);
  };
  hooks.stop_requested = stop;
  hooks.job_finished = [&](const JobRun& run) {
    metrics->record(run);
    update_metrics(*metrics, ms, rs, make_manager);
    notifier.job_finished(run);
  };

  spdlog::set_pattern("[%Y-%m-%d %H:%M:%S] %^%l%$: %v");  // a service log wants times
  spdlog::info("coffer schedule started (pid {})", static_cast<long>(getpid()));
  Scheduler scheduler(std::move(tasks), std::move(hooks), opts);
  return scheduler.run();
}

bool notify_job_finished(const ScheduleService::Settings& settings, const FinishedJob& job) {
  JobRun run;
  run.name = job.job;
  run.slot = job.started;
  run.started = job.started;
  run.ended = job.ended;
  run.ok = job.ok;
  run.error = job.error;
  run.output.backup_id = job.backup_id;
  run.output.summary = job.summary;
  return Notifier(load_notify_settings(settings)).job_finished(run).ran;
}

}  // namespace coffer::schedule
