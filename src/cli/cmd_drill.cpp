// `coffer drill [<id>|latest]`: restores a backup into a scratch database and folder, checks what
// came back, removes both, records the result in backup_log.json and tells the notification
// hook (README, "Restore drills"). Exit 0 when it passed, 5 when a check failed.
#include <cstdio>
#include <filesystem>

#include <spdlog/spdlog.h>

#include "cli.h"
#include "coffer/clock.h"
#include "coffer/error.h"
#include "coffer/schedule_service.h"

namespace coffer::cli {
namespace {

nlohmann::json drill_json(const DrillResult& r) {
  nlohmann::json checks = nlohmann::json::array();
  for (const DrillCheck& c : r.checks)
    checks.push_back({{"part", c.part}, {"name", c.name}, {"status", c.status}, {"detail", c.detail}});
  auto opt = [](const std::string& s) { return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s); };
  return {{"backup_id", r.backup_id},
          {"passed", r.passed},
          {"scratch_db", opt(r.scratch_db)},
          {"scratch_dir", opt(r.scratch_dir)},
          {"database_restore_seconds", r.database_restore_seconds},
          {"database_check_seconds", r.database_check_seconds},
          {"files_restore_seconds", r.files_restore_seconds},
          {"files_check_seconds", r.files_check_seconds},
          {"duration_seconds", r.duration_seconds},
          {"tables", r.tables},
          {"rows", r.rows},
          {"indexes", r.indexes},
          {"probes", r.probes},
          {"files", r.files},
          {"bytes", r.bytes},
          {"checks", checks},
          {"warnings", r.warnings}};
}

void print_human(const DrillResult& r) {
  std::printf("drill of %s: %s in %.1f s\n", r.backup_id.c_str(), r.passed ? "PASSED" : "FAILED", r.duration_seconds);
  for (const DrillCheck& c : r.checks)
    std::printf("  %-6s  %-8s  %-13s  %s\n", c.status == "passed" ? "ok" : c.status == "failed" ? "FAILED" : "skip",
                c.part.c_str(), c.name.c_str(), c.detail.c_str());
  std::printf("time to restore (what a real recovery would take): database %.1f s, files %.1f s; checks %.1f s\n",
              r.database_restore_seconds, r.files_restore_seconds, r.database_check_seconds + r.files_check_seconds);
}

}  // namespace

Runner add_drill(CLI::App& app, GlobalOptions& g) {
  auto* cmd = app.add_subcommand("drill", "prove a backup: restore it into a scratch database and folder, check every "
                                          "table, index and file (and DRILL_SQL's probes), then remove both");
  struct Args {
    std::string id = "latest";
    DrillOptions o;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("backup_id", a->id, "the backup, or latest (the default)");
  cmd->add_option("--scratch-db", a->o.scratch_db,
                  "the scratch database to create (must not exist; default coffer_drill_<random>)");
  cmd->add_option("--jobs", a->o.jobs, "pg_restore -j (default 2)")->check(CLI::Range(1, 64));
  return [&g, a] {
    auto manager = make_manager(g, config::Uses{.retention = false, .writing = false, .database = true});
    std::error_code ec;
    const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (!ec) a->o.program = self.string();  // a physical drill's server runs its wal-fetch
    const TimePoint started = std::chrono::system_clock::now();
    schedule::FinishedJob job{"drill", false, "", a->id == "latest" ? "" : a->id, "", started, started};
    auto notify = [&] {
      job.ended = std::chrono::system_clock::now();
      try {
        schedule::notify_job_finished(service_settings_of(g), job);
      } catch (const Error& e) {
        spdlog::warn("notification hook not run: {}", e.what());
      }
    };
    DrillResult r;
    try {
      r = manager->drill(a->id, a->o);
    } catch (const Error& e) {
      job.error = e.what();
      notify();
      throw;
    }
    clear_progress();
    job.ok = r.passed;
    job.backup_id = r.backup_id;
    job.error = drill_failure_summary(r);
    job.summary = "drill of " + r.backup_id + (r.passed ? " passed" : " FAILED") + " in " +
                  std::to_string(static_cast<int>(r.duration_seconds + 0.5)) + " s";
    notify();
    if (g.json)
      print_json(drill_json(r));
    else if (!g.quiet || !r.passed)
      print_human(r);
    if (!r.passed) spdlog::error("drill of {} FAILED: {}", r.backup_id, job.error);  // also with --json
    return r.passed ? 0 : exit_code(ErrorCategory::kDamaged);
  };
}

}  // namespace coffer::cli
