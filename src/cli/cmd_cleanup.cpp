#include <spdlog/spdlog.h>

#include <optional>

#include "cli.h"

namespace coffer::cli {

namespace {

nlohmann::json result_json(const CleanupResult& r, const std::string& acts_on) {
  nlohmann::json backups = nlohmann::json::array();
  for (const auto& b : r.backups)
    backups.push_back({{"backup_id", b.backup_id},
                       {"backup_type", backup_type_name(b.type)},
                       {"timestamp", b.timestamp},
                       {"pinned", b.pinned},
                       {"keep", b.keep},
                       {"reasons", b.reasons}});
  return {{"acts_on", acts_on},
          {"dry_run", r.dry_run},
          {"policy", r.policy},
          {"backups", backups},
          {"removed", r.removed},
          {"packs_deleted", r.packs_deleted},
          {"packs_rewritten", r.packs_rewritten},
          {"packs_written", r.packs_written},
          {"bytes_freed", r.bytes_freed},
          {"wal_files_removed", r.wal_files_removed},
          {"wal_bytes_freed", r.wal_bytes_freed},
          {"warnings", r.warnings},
          {"duration_seconds", r.duration_seconds}};
}

void print_result(const CleanupResult& r) {
  std::printf("policy: %s\n", r.policy.c_str());
  for (const auto& b : r.backups) {
    std::string reasons;
    for (const auto& why : b.reasons) reasons += (reasons.empty() ? "" : ", ") + why;
    const char* action = b.keep ? "keep" : r.dry_run ? "would remove" : "remove";
    std::printf("%-*s %-34s %-20s %s\n", r.dry_run ? 12 : 6, action, b.backup_id.c_str(),
                short_time(b.timestamp).c_str(), reasons.c_str());
  }
  if (r.dry_run)
    std::printf("dry run: would remove %zu backups, delete %llu packs and rewrite %llu, freeing about %s; "
                "nothing was changed\n",
                r.removed.size(), static_cast<unsigned long long>(r.packs_deleted),
                static_cast<unsigned long long>(r.packs_rewritten), human_bytes(r.bytes_freed).c_str());
  else
    std::printf("removed %zu backups, deleted %llu packs, rewrote %llu packs, freed %s (%llu bytes) in %.1f s\n",
                r.removed.size(), static_cast<unsigned long long>(r.packs_deleted),
                static_cast<unsigned long long>(r.packs_rewritten), human_bytes(r.bytes_freed).c_str(),
                static_cast<unsigned long long>(r.bytes_freed), r.duration_seconds);
  if (r.wal_files_removed)
    std::printf("WAL archive: %s %llu files older than the oldest kept physical backup (%s)\n",
                r.dry_run ? "would remove" : "removed", static_cast<unsigned long long>(r.wal_files_removed),
                human_bytes(r.wal_bytes_freed).c_str());
}

}  // namespace

Runner add_cleanup(CLI::App& app, GlobalOptions& g) {
  auto* cmd = app.add_subcommand("cleanup", "remove backups the retention policy lets go, and the data only they used");
  auto o = std::make_shared<CleanupOptions>();
  cmd->add_flag("--dry-run", o->dry_run, "list what would go and why, and the bytes it would free; change nothing");
  cmd->add_flag("--force", o->force, "go ahead even when the policy's rules keep none of the backups");
  return [&g, o] {
    auto manager = make_manager(g, config::Uses{.retention = true, .writing = false, .database = false});
    const bool copy_mode = manager->config().s3_mode == S3Mode::kCopy;
    const std::string acts_on = g.source == "s3" || manager->config().s3_mode == S3Mode::kRepository
                                    ? "s3"
                                    : "local";
    if (copy_mode) manager->check_s3_settings();  // a bad S3 setting fails now, not after the local cleanup
    CleanupResult r = manager->cleanup(*o);
    // In copy mode the off-site copy follows the same policy: clean it up too, right after.
    std::optional<CleanupResult> offsite;
    std::string offsite_error;
    if (copy_mode && acts_on == "local") {
      try {
        GlobalOptions s3g = g;
        s3g.source = "s3";
        offsite = make_manager(s3g, config::Uses{.retention = true, .writing = false, .database = false})->cleanup(*o);
      } catch (const Error& e) {
        offsite_error = e.what();
      }
    }
    if (g.json) {
      nlohmann::json out = result_json(r, acts_on);
      if (offsite) out["offsite"] = result_json(*offsite, "s3");
      if (!offsite_error.empty()) out["offsite_error"] = offsite_error;
      print_json(out);
      return offsite_error.empty() ? 0 : exit_code(ErrorCategory::kStorage);
    }
    clear_progress();
    if (!g.quiet) {
      if (acts_on == "local")
        std::printf("local repository (%s):\n", manager->config().backup_dir.c_str());
      else
        std::printf("repository on S3 (bucket %s, prefix %s):\n", manager->config().s3_bucket.c_str(),
                    manager->config().s3_prefix.c_str());
      print_result(r);
      if (offsite) {
        std::printf("off-site copy on S3 (bucket %s, prefix %s), same policy:\n", manager->config().s3_bucket.c_str(),
                    manager->config().s3_prefix.c_str());
        print_result(*offsite);
      }
    }
    if (!offsite_error.empty()) {
      spdlog::error("the local cleanup is done, but the off-site copy on S3 was not cleaned up: {}", offsite_error);
      return exit_code(ErrorCategory::kStorage);
    }
    return 0;
  };
}

}  // namespace coffer::cli
