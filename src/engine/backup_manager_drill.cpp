// BackupManager::drill: a restore drill (engine/drill_job.h) under the shared lock, recorded in
// backup_log.json whatever its outcome.
#include <chrono>
#include <filesystem>

#include "coffer/backup_manager.h"
#include "coffer/clock.h"
#include "coffer/error.h"
#include "engine/backup_log.h"
#include "engine/drill_job.h"
#include "engine/physical_restore.h"
#include "repo/repo_lock.h"
#include "repo/repository.h"

namespace coffer {
namespace {

// "2 checks failed: database read through (public.grades: ...); files file contents (...)".
std::string failed_checks(const DrillResult& r) {
  std::string out;
  size_t n = 0;
  for (const DrillCheck& c : r.checks) {
    if (c.status != "failed") continue;
    out += std::string(n++ ? "; " : "") + (c.part.empty() ? "" : c.part + " ") + c.name + " (" + c.detail + ")";
  }
  if (n == 0) return "nothing was restored: the backup holds no part a drill can restore";
  return std::to_string(n) + (n == 1 ? " check failed: " : " checks failed: ") + out;
}

}  // namespace

DrillResult BackupManager::drill(const std::string& backup_id, const DrillOptions& options) {
  const auto started_at = job_now();
  const auto started = std::chrono::steady_clock::now();
  std::string id = backup_id;
  auto log = [&](const DrillResult* r, const Error* error) {
    HistoryRecord record;
    record.backup_id = id == "latest" ? "" : id;
    record.backup_type = "drill";
    record.timestamp = format_iso8601_utc(started_at);
    record.duration_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (r) {
      record.drill = *r;
      record.warnings = r->warnings;
      record.status = r->passed ? "success" : "failed";
      if (!r->passed) {
        record.error = failed_checks(*r);
        record.error_category = category_name(ErrorCategory::kDamaged);
      }
    } else {
      record.status = "failed";
      record.error = error->what();
      record.error_category = category_name(error->category());
    }
    BackupLog(config_.backup_dir, on_warning_).append(record);
  };
  try {
    Repository& repo = repository(false);
    auto held = read_lock(repo, "coffer drill");
    id = resolve_id(backup_id);
    repo.load_index();
    DrillResult result =
        run_drill(repo, id, config_, options, wal_fetch_command(options.program, config_, source_s3_), on_warning_,
                  on_progress_);
    log(&result, nullptr);
    return result;
  } catch (const Error& e) {
    try {
      std::error_code ec;
      if (std::filesystem::is_directory(config_.backup_dir, ec)) log(nullptr, &e);
    } catch (const std::exception&) {
      // ignored on purpose: the drill's own error is the one to report
    }
    throw;
  }
}

std::string drill_failure_summary(const DrillResult& result) { return result.passed ? "" : failed_checks(result); }

}  // namespace coffer
