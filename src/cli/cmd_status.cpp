// `coffer status`: health for humans and monitoring. Exit 1 (unhealthy) when the newest successful
// backup is older than STATUS_MAX_AGE_HOURS (default 26) or there is none; when a job's last
// attempt failed (backup_log.json); with S3_MODE=copy, when the newest backup is not on S3 or S3
// cannot be asked (within a few seconds: S3Patience::kQuick).
#include <cstdlib>
#include <filesystem>

#include <spdlog/spdlog.h>

#include "cli.h"
#include "coffer/clock.h"
#include "coffer/report.h"
#include "coffer/schedule_service.h"

namespace coffer::cli {

namespace {

namespace fs = std::filesystem;

std::string age_text(double seconds) {
  if (seconds < 120) return std::to_string(static_cast<long>(seconds)) + " s";
  if (seconds < 7200) return std::to_string(static_cast<long>(seconds / 60)) + " min";
  if (seconds < 172800) return std::to_string(static_cast<long>(seconds / 3600)) + " h";
  return std::to_string(static_cast<long>(seconds / 86400)) + " days";
}

double seconds_between(TimePoint a, TimePoint b) { return std::chrono::duration<double>(b - a).count(); }

nlohmann::json text_or_null(const std::string& s) { return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s); }

nlohmann::json wal_status_json(const WalArchiveStatus& w, TimePoint now) {
  std::optional<TimePoint> pushed = parse_iso8601_utc(w.last_archived_time);
  const bool listed = w.files > 0 || !w.newest_segment.empty();
  return {{"cluster", w.cluster},
          {"files", listed ? nlohmann::json(w.files) : nlohmann::json(nullptr)},
          {"bytes", listed ? nlohmann::json(w.bytes) : nlohmann::json(nullptr)},
          {"newest_segment", text_or_null(w.newest_segment)},
          {"last_archived", text_or_null(w.last_archived)},
          {"last_archived_time", text_or_null(w.last_archived_time)},
          {"last_archived_age_seconds", pushed ? nlohmann::json(seconds_between(*pushed, now)) : nlohmann::json(nullptr)},
          {"failed_pushes", w.failed_pushes},
          {"last_failed", text_or_null(w.last_failed)},
          {"last_failed_time", text_or_null(w.last_failed_time)},
          {"last_error", text_or_null(w.last_error)}};
}

// Per type: attempts, failures, the median duration and the mean bytes added; then the ratios,
// the growth and the days left.
void print_analytics(const nlohmann::json& a) {
  for (auto& [type, t] : a["types"].items()) {
    if (t["attempts"].get<uint64_t>() == 0) continue;
    std::printf("%-13s %llu attempts, %llu failed, median %.1f s, adds %s on average\n", type.c_str(),
                static_cast<unsigned long long>(t["attempts"].get<uint64_t>()),
                static_cast<unsigned long long>(t["failures"].get<uint64_t>()), t["median_duration_seconds"].get<double>(),
                human_bytes(static_cast<uint64_t>(t["mean_bytes_added"].get<double>())).c_str());
  }
  auto ratio = [](const nlohmann::json& v) { return v.is_null() ? std::string("-") : fmt::format("{:.2f}x", v.get<double>()); };
  std::printf("deduplication %s, compression %s, growth %s\n", ratio(a["dedup_ratio"]).c_str(),
              ratio(a["compression_ratio"]).c_str(),
              a["growth_bytes_per_day"].is_null()
                  ? "unknown (too few backups)"
                  : (human_bytes(static_cast<uint64_t>(std::max(0.0, a["growth_bytes_per_day"].get<double>()))) + "/day")
                        .c_str());
  for (const char* room : {"disk", "s3_quota"}) {
    const auto& r = a[room];
    if (r.is_null()) continue;
    std::printf("%s: %s free, %s\n", room == std::string("disk") ? "BACKUP_DIR's filesystem" : "S3 quota",
                human_bytes(r["free_bytes"].get<uint64_t>()).c_str(),
                r["days_left"].is_null() ? "not filling" : fmt::format("{:.0f} days left", r["days_left"].get<double>()).c_str());
  }
  for (const auto& gap : a["gaps"])
    if (gap["to"].is_null())
      std::printf("gap: no successful backup since %s (%.0f h)\n", short_time(gap["from"].get<std::string>()).c_str(),
                  gap["hours"].get<double>());
}

}  // namespace

Runner add_status(CLI::App& app, GlobalOptions& g) {
  app.add_subcommand("status", "last backups, failures, next runs and repository size; exit 1 when the newest "
                               "backup is older than STATUS_MAX_AGE_HOURS (default 26), a job's last attempt "
                               "failed, or (S3_MODE=copy) the newest backup is not off-site");
  return [&g] {
    const auto settings = service_settings_of(g);
    const ReportSettings report_config = report_settings(settings);
    const double limit_h = report_config.max_age_hours;
    const schedule::ScheduleService service(settings);
    auto manager = make_manager(g, kReading);
    std::vector<std::string> warnings;  // the off-site check's, shown and kept for the verdict
    manager->set_warning_callback([&warnings](const std::string& w) {
      spdlog::warn("{}", w);
      warnings.push_back(w);
    });
    const TimePoint now = job_now();

    // The backups, the log and the analytics of both (growth, days left, ratios, gaps).
    const BackupReport report(*manager, report_config, now);
    const std::vector<BackupInfo>& backups = report.backups();
    const bool repo_exists = report.repository_exists();
    const std::vector<HistoryRecord>& history = report.history();
    nlohmann::json types = nlohmann::json::object();
    for (const char* t : {"full", "incremental", "differential", "cleanup", "drill"}) {
      nlohmann::json last_success = nullptr;
      if (std::optional<JobSuccess> s = newest_success(t, backups, history)) {
        last_success = {{"time", s->timestamp}, {"age_seconds", seconds_between(s->time, now)}};
        if (!s->backup_id.empty()) last_success["backup_id"] = s->backup_id;
      }
      types[t] = {{"last_success", last_success}, {"last_failure", nullptr}};
    }
    std::optional<TimePoint> newest;
    std::string newest_id;
    const BackupInfo* newest_info = nullptr;
    for (const BackupInfo& b : backups) {
      std::optional<TimePoint> t = parse_iso8601_utc(b.timestamp);
      if (t && (!newest || *t > *newest)) newest = t, newest_id = b.backup_id, newest_info = &b;
    }
    // Whether the newest backup's manifest is on S3 (S3_MODE=copy); unknown when S3 could not be asked.
    const bool offsite_known = newest_info && newest_info->offsite.has_value();
    const bool offsite_yes = offsite_known && *newest_info->offsite;
    nlohmann::json last_error = nullptr;
    for (const HistoryRecord& rec : history) {  // oldest first: the last failure per type wins
      if (rec.status != "failed" || !types.contains(rec.backup_type)) continue;
      nlohmann::json f = {{"time", rec.timestamp}, {"error", rec.error.empty() ? std::string("unknown") : rec.error}};
      types[rec.backup_type]["last_failure"] = f;
      last_error = f;
      last_error["type"] = rec.backup_type;
    }

    // The newest drill, passed or not: how long a real recovery would take, and what failed.
    nlohmann::json last_drill = nullptr;
    for (const HistoryRecord& rec : history) {
      if (!rec.is_drill()) continue;
      nlohmann::json failed = nlohmann::json::array();
      for (const DrillCheck& c : rec.drill.checks)
        if (c.status == "failed") failed.push_back(c.part + " " + c.name + ": " + c.detail);
      std::optional<TimePoint> at = parse_iso8601_utc(rec.timestamp);
      last_drill = {{"backup_id", rec.backup_id.empty() ? nlohmann::json(nullptr) : nlohmann::json(rec.backup_id)},
                    {"time", rec.timestamp},
                    {"age_seconds", at ? nlohmann::json(seconds_between(*at, now)) : nlohmann::json(nullptr)},
                    {"status", rec.status},
                    {"duration_seconds", rec.duration_seconds},
                    {"database_restore_seconds", rec.drill.database_restore_seconds},
                    {"files_restore_seconds", rec.drill.files_restore_seconds},
                    {"checks", rec.drill.checks.size()},
                    {"failed_checks", failed},
                    {"error", rec.error.empty() ? nlohmann::json(nullptr) : nlohmann::json(rec.error)}};
    }

    nlohmann::json jobs = nlohmann::json::array();
    for (const schedule::JobRuns& j : service.next_runs(now, 3)) {
      nlohmann::json runs = nlohmann::json::array();
      for (TimePoint t : j.next_runs) runs.push_back(format_iso8601_utc(t));
      jobs.push_back({{"job", j.job}, {"cron", j.cron}, {"next_runs", runs}});
    }

    const double newest_age = newest ? seconds_between(*newest, now) : -1;
    std::vector<std::string> problems;
    if (!newest)
      problems.push_back(repo_exists ? "no successful backup yet"
                                     : "no repository in " + manager->config().backup_dir.string());
    else if (newest_age > limit_h * 3600)
      problems.push_back("newest backup " + newest_id + " is " + age_text(newest_age) + " old (STATUS_MAX_AGE_HOURS=" +
                         std::to_string(static_cast<long>(limit_h)) + ")");
    // S3_MODE=copy: a backup that is not on S3 is not a disaster recovery.
    const bool copy_mode = manager->config().s3_mode == S3Mode::kCopy;
    if (copy_mode && newest && !offsite_yes)
      problems.push_back("newest backup " + newest_id +
                         (offsite_known ? " is NOT off-site (S3_MODE=copy; the next backup copies what is missing)"
                                         : " may not be off-site: " + (warnings.empty() ? "off-site: unknown" : warnings.back())));
    // The last attempt of a job failed (a scheduled backup, or its off-site copy): until it succeeds again.
    for (auto& [name, t] : types.items()) {
      const auto& f = t["last_failure"];
      if (f.is_null()) continue;
      std::optional<TimePoint> failed_at = parse_iso8601_utc(f["time"].get<std::string>());
      std::optional<TimePoint> ok_at =
          t["last_success"].is_null() ? std::nullopt : parse_iso8601_utc(t["last_success"]["time"].get<std::string>());
      if (failed_at && (!ok_at || *failed_at > *ok_at))
        problems.push_back("the last " + name + " failed at " + short_time(f["time"].get<std::string>()) + ": " +
                           f["error"].get<std::string>());
    }
    // The WAL archives (point-in-time recovery): a failing archive fills pg_wal until the server stops.
    std::vector<WalArchiveStatus> wal;
    try {
      wal = manager->wal_status(repo_exists);
    } catch (const Error& e) {
      spdlog::warn("WAL archive status unknown: {}", e.what());
    }
    nlohmann::json wal_json = nlohmann::json::array();
    for (const WalArchiveStatus& w : wal) {
      nlohmann::json j = wal_status_json(w, now);
      const BackupInfo* newest_physical = nullptr;
      for (const BackupInfo& b : backups)
        if (b.physical && b.physical->cluster == w.cluster) newest_physical = &b;
      j["restore_window"] = newest_physical ? (nlohmann::json{{"backup_id", newest_physical->backup_id}, {"window", newest_physical->physical->window
                                                                                          ? to_json(*newest_physical->physical->window)
                                                                                          : nlohmann::json(nullptr)}}) : nlohmann::json(nullptr);
      wal_json.push_back(j);
      if (w.failed_pushes > 0)
        problems.push_back("WAL archiving of cluster " + w.cluster + " is failing: " + std::to_string(w.failed_pushes) +
                           " failed pushes, the last at " + short_time(w.last_failed_time) + " on " + w.last_failed +
                           ": " + w.last_error + " (PostgreSQL keeps WAL in pg_wal until a push succeeds)");
      if (newest_physical && newest_physical->physical->window && !newest_physical->physical->window->first_missing.empty())
        problems.push_back("the WAL archive of cluster " + w.cluster + " has a gap at " +
                           newest_physical->physical->window->first_missing + ": `coffer verify` for details");
    }
    const bool healthy = problems.empty();
    std::string problem;
    for (const std::string& p : problems) problem += (problem.empty() ? "" : "; ") + p;
    // An incomplete backup is still a backup (the age check counts it), but someone must look.
    std::string warning;
    if (newest_info && newest_info->incomplete())
      warning = "newest backup " + newest_id + " is INCOMPLETE: " + std::to_string(newest_info->unreadable.size()) +
                " path(s) could not be read, first " + newest_info->unreadable.front();
    // Room running out (STATUS_MIN_DAYS_LEFT) warns: it is not a failed backup yet.
    for (const std::string& w : report.warnings()) warning += (warning.empty() ? "" : "; ") + w;
    const nlohmann::json analytics = report.analytics_json();
    const fs::path dir = manager->config().backup_dir;
    const uint64_t repo_bytes = analytics["stored_bytes"].get<uint64_t>();

    if (g.json) {
      print_json({{"healthy", healthy},
                  {"problem", problem.empty() ? nlohmann::json(nullptr) : nlohmann::json(problem)},
                  {"warning", warning.empty() ? nlohmann::json(nullptr) : nlohmann::json(warning)},
                  {"max_age_hours", limit_h},
                  {"newest_backup", newest ? nlohmann::json{{"backup_id", newest_id}, {"age_seconds", newest_age}}
                                           : nlohmann::json(nullptr)},
                  {"offsite", copy_mode ? nlohmann::json{{"newest_backup_offsite", offsite_known ? nlohmann::json(offsite_yes)
                                                                                                  : nlohmann::json(nullptr)}}
                                        : nlohmann::json(nullptr)},
                  {"types", types},
                  {"last_error", last_error},
                  {"last_drill", last_drill},
                  {"wal", wal_json},
                  {"analytics", analytics},
                  {"schedule", {{"time_zone", service.time_zone()}, {"jobs", jobs}}},
                  {"repository", {{"path", dir.string()}, {"size_bytes", repo_bytes}, {"backups", backups.size()}}}});
    } else {
      std::printf("status: %s\n", healthy ? "OK" : ("PROBLEM: " + problem).c_str());
      if (!warning.empty()) std::printf("warning: %s\n", warning.c_str());
      std::printf("%-13s %-34s %-20s %-9s %s\n", "TYPE", "LAST SUCCESS", "TIME (UTC)", "AGE", "LAST FAILURE");
      for (auto& [name, t] : types.items()) {
        const auto& s = t["last_success"];
        const auto& f = t["last_failure"];
        std::string fail_text =
            f.is_null() ? "-" : short_time(f["time"].get<std::string>()) + ": " + f["error"].get<std::string>();
        std::printf("%-13s %-34s %-20s %-9s %s\n", name.c_str(),
                    s.is_null() ? "-" : s.value("backup_id", "(cleanup)").c_str(),
                    s.is_null() ? "-" : short_time(s["time"].get<std::string>()).c_str(),
                    s.is_null() ? "-" : age_text(s["age_seconds"].get<double>()).c_str(), fail_text.c_str());
      }
      if (!last_drill.is_null())
        std::printf("last drill: %s of %s at %s, restore took %.1f s (database) + %.1f s (files)\n",
                    last_drill["status"] == "success" ? "passed" : "FAILED",
                    last_drill["backup_id"].is_null() ? "-" : last_drill["backup_id"].get<std::string>().c_str(),
                    short_time(last_drill["time"].get<std::string>()).c_str(),
                    last_drill["database_restore_seconds"].get<double>(), last_drill["files_restore_seconds"].get<double>());
      std::printf("next runs (%s):\n", service.time_zone().c_str());
      for (const auto& j : jobs)
        std::printf("  %-13s %-20s %s\n", j["job"].get<std::string>().c_str(), j["cron"].get<std::string>().c_str(),
                    j["next_runs"].empty() ? "never" : short_time(j["next_runs"][0].get<std::string>()).c_str());
      if (copy_mode)
        std::printf("off-site (S3_MODE=copy): newest backup %s\n",
                    !newest ? "-" : !offsite_known ? "unknown (S3 unreachable)" : offsite_yes ? "copied" : "NOT copied");
      for (const auto& w : wal_json)
        std::printf("WAL archive %s: %s files, %s, newest %s, last push %s%s\n", w["cluster"].get<std::string>().c_str(),
                    w["files"].is_null() ? "?" : std::to_string(w["files"].get<uint64_t>()).c_str(),
                    w["bytes"].is_null() ? "?" : human_bytes(w["bytes"].get<uint64_t>()).c_str(),
                    w["newest_segment"].is_null() ? "-" : w["newest_segment"].get<std::string>().c_str(),
                    w["last_archived_age_seconds"].is_null()
                        ? "unknown on this host"
                        : (age_text(w["last_archived_age_seconds"].get<double>()) + " ago").c_str(),
                    w["failed_pushes"].get<uint64_t>() ? (", " + std::to_string(w["failed_pushes"].get<uint64_t>()) +
                                                          " FAILED pushes since").c_str()
                                                       : "");
      std::printf("repository: %s, %s in %zu backups\n", dir.string().c_str(), human_bytes(repo_bytes).c_str(),
                  backups.size());
      print_analytics(analytics);
    }
    return healthy ? 0 : 1;
  };
}

}  // namespace coffer::cli
