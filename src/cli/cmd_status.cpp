// `coffer status`: health for humans and monitoring. Exit 1 (unhealthy) when the newest successful
// backup is older than STATUS_MAX_AGE_HOURS (default 26) or there is none; when a job's last
// attempt failed (backup_log.json); with S3_MODE=copy, when the newest backup is not on S3 or S3
// cannot be asked (within a few seconds: S3Patience::kQuick).
#include <cstdlib>
#include <filesystem>

#include <spdlog/spdlog.h>

#include "cli.h"
#include "coffer/clock.h"
#include "coffer/schedule_service.h"

namespace coffer::cli {

namespace {

namespace fs = std::filesystem;

double max_age_hours(const schedule::ScheduleService::Settings& settings) {
  std::optional<std::string> v = settings("STATUS_MAX_AGE_HOURS");
  if (!v || v->empty()) return 26;
  char* end = nullptr;
  double h = std::strtod(v->c_str(), &end);
  if (*end != '\0' || !(h > 0))
    fail(ErrorCategory::kConfig, "STATUS_MAX_AGE_HOURS: \"" + *v + "\" is not a positive number of hours");
  return h;
}

std::string age_text(double seconds) {
  if (seconds < 120) return std::to_string(static_cast<long>(seconds)) + " s";
  if (seconds < 7200) return std::to_string(static_cast<long>(seconds / 60)) + " min";
  if (seconds < 172800) return std::to_string(static_cast<long>(seconds / 3600)) + " h";
  return std::to_string(static_cast<long>(seconds / 86400)) + " days";
}

double seconds_between(TimePoint a, TimePoint b) { return std::chrono::duration<double>(b - a).count(); }

}  // namespace

Runner add_status(CLI::App& app, GlobalOptions& g) {
  app.add_subcommand("status", "last backups, failures, next runs and repository size; exit 1 when the newest "
                               "backup is older than STATUS_MAX_AGE_HOURS (default 26), a job's last attempt "
                               "failed, or (S3_MODE=copy) the newest backup is not off-site");
  return [&g] {
    const auto settings = service_settings_of(g);
    const double limit_h = max_age_hours(settings);
    const schedule::ScheduleService service(settings);
    auto manager = make_manager(g, kReading);
    std::vector<std::string> warnings;  // the off-site check's, shown and kept for the verdict
    manager->set_warning_callback([&warnings](const std::string& w) {
      spdlog::warn("{}", w);
      warnings.push_back(w);
    });
    const TimePoint now = job_now();

    std::vector<BackupInfo> backups;
    bool repo_exists = true;
    try {
      backups = manager->list_backups();
    } catch (const Error& e) {
      if (e.category() != ErrorCategory::kNotFound) throw;
      repo_exists = false;
    }

    const std::vector<HistoryRecord> history = manager->history();
    nlohmann::json types = nlohmann::json::object();
    for (const char* t : {"full", "incremental", "differential", "cleanup"}) {
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
    const bool healthy = problems.empty();
    std::string problem;
    for (const std::string& p : problems) problem += (problem.empty() ? "" : "; ") + p;
    // An incomplete backup is still a backup (the age check counts it), but someone must look.
    std::string warning;
    if (newest_info && newest_info->incomplete())
      warning = "newest backup " + newest_id + " is INCOMPLETE: " + std::to_string(newest_info->unreadable.size()) +
                " path(s) could not be read, first " + newest_info->unreadable.front();
    const fs::path dir = manager->config().backup_dir;
    const uint64_t repo_bytes = repo_exists ? manager->repository_bytes() : 0;

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
      std::printf("next runs (%s):\n", service.time_zone().c_str());
      for (const auto& j : jobs)
        std::printf("  %-13s %-20s %s\n", j["job"].get<std::string>().c_str(), j["cron"].get<std::string>().c_str(),
                    j["next_runs"].empty() ? "never" : short_time(j["next_runs"][0].get<std::string>()).c_str());
      if (copy_mode)
        std::printf("off-site (S3_MODE=copy): newest backup %s\n",
                    !newest ? "-" : !offsite_known ? "unknown (S3 unreachable)" : offsite_yes ? "copied" : "NOT copied");
      std::printf("repository: %s, %s in %zu backups\n", dir.string().c_str(), human_bytes(repo_bytes).c_str(),
                  backups.size());
    }
    return healthy ? 0 : 1;
  };
}

}  // namespace coffer::cli
