#include <spdlog/spdlog.h>

#include "cli.h"

namespace coffer::cli {

Runner add_create(CLI::App& app, GlobalOptions& g) {
  auto* cmd = app.add_subcommand("create", "back up the database and the file trees as one backup");
  auto type = std::make_shared<std::string>("full");
  auto only = std::make_shared<std::string>();
  cmd->add_option("--type", *type, "full, incremental or differential")
      ->check(CLI::IsMember({"full", "incremental", "differential"}));
  cmd->add_option("--only", *only, "back up one part: database or files")->check(CLI::IsMember({"database", "files"}));
  auto keep = std::make_shared<bool>(false);
  cmd->add_flag("--keep", *keep, "pin the new backup: no cleanup removes it (until `coffer unpin`)");
  return [&g, type, only, keep] {
    if (g.source == "s3")
      fail(ErrorCategory::kInput, "--source s3 is for list, restore, verify and cleanup; create writes to BACKUP_DIR "
                                  "and copies to S3 (S3_MODE=copy), or writes to S3 directly (S3_MODE=repository)");
    std::unique_ptr<BackupManager> manager;
    try {
      manager = make_manager(g, config::Uses{.retention = false, .writing = true, .database = true});
    } catch (const Error& e) {
      // An invalid configuration is a failed attempt too: log it where BACKUP_DIR points.
      const config::Sources sources = sources_of(g);
      log_failed_create(config::backup_dir_hint(sources), *backup_type_from_name(*type),
                        config::setting_hint(sources, "DB_NAME"), e,
                        [](const std::string& w) { spdlog::warn("{}", w); });
      throw;
    }
    BackupScope scope = *only == "database" ? BackupScope::kDatabase
                        : *only == "files"  ? BackupScope::kFiles
                                            : BackupScope::kAll;
    BackupInfo b = manager->create_backup(*backup_type_from_name(*type), scope, *keep);
    if (g.json) {
      print_json(to_json(b));
    } else if (!g.quiet) {
      clear_progress();
      std::string db;
      if (b.database)
        db = "database " + b.database->name + " (" + std::to_string(b.database->tables.size()) + " tables, " +
             human_bytes(b.database->dump_bytes) + " dump), ";
      std::printf("backup %s done%s: %s%llu files, %s, %s added, %.1f s%s\n", b.backup_id.c_str(),
                  b.pinned ? " (pinned)" : "", db.c_str(),
                  static_cast<unsigned long long>(b.file_count), human_bytes(b.size_bytes).c_str(),
                  human_bytes(b.bytes_added).c_str(), b.duration_seconds,
                  b.warnings.empty() ? "" : (", " + std::to_string(b.warnings.size()) + " warnings").c_str());
    }
    if (b.offsite_copy && !b.offsite_copy->copied) {
      // The backup is usable locally; the exit code tells schedulers that S3 does not have it.
      spdlog::error("backup {} is committed locally but NOT off-site: {} (the next `coffer create` uploads what is "
                    "missing)",
                    b.backup_id, b.offsite_copy->error);
      return exit_code(ErrorCategory::kStorage);
    }
    if (b.offsite_copy && !g.json && !g.quiet)
      std::printf("off-site copy done: %llu objects, %s uploaded\n",
                  static_cast<unsigned long long>(b.offsite_copy->objects), human_bytes(b.offsite_copy->bytes).c_str());
    if (b.incomplete()) {
      // Committed and restorable, but without what could not be read: schedulers must hear of it.
      spdlog::error("backup {} is committed but INCOMPLETE: {} path(s) could not be read and are not in it, first {} "
                    "(give the backup user read access, or move them out of BACKUP_PATHS)",
                    b.backup_id, b.unreadable.size(), b.unreadable.front());
      return kExitIncomplete;
    }
    return 0;
  };
}

}  // namespace coffer::cli
