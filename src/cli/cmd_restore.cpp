#include <spdlog/spdlog.h>

#include "cli/cli.h"

namespace coffer::cli {

Runner add_restore(CLI::App& app, GlobalOptions& g) {
  auto* cmd = app.add_subcommand("restore", "restore a backup");
  struct Args {
    std::string id, type = "full", target;
    std::vector<std::string> include;
    bool overwrite = false, partial = false;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("backup_id", a->id, "backup to restore (see `coffer list`), or 'latest'")->required();
  cmd->add_option("--type", a->type, "full, files or database")->check(CLI::IsMember({"full", "files", "database"}));
  cmd->add_option("--target", a->target, "restore under this folder instead of the original paths");
  cmd->add_option("--include", a->include, "path inside the backup to restore (repeatable)");
  cmd->add_flag("--overwrite", a->overwrite, "replace existing files");
  cmd->add_flag("--partial", a->partial, "skip damaged files instead of failing (exit code 1)");
  return [&g, a] {
    if (a->type == "database")
      fail(ErrorCategory::kInput, "this backup holds no database: database backups are not available yet");
    auto manager = make_manager(g);
    RestoreOptions o;
    if (!a->target.empty()) o.target = a->target;
    o.include = a->include;
    o.overwrite = a->overwrite;
    o.partial = a->partial;
    RestoreResult r = manager->restore_from_backup(a->id, o);
    if (g.json) {
      print_json({{"backup_id", r.backup_id},
                  {"files_restored", r.files_restored},
                  {"bytes_restored", r.bytes_restored},
                  {"errors", r.errors}});
    } else {
      for (const auto& e : r.errors) spdlog::error("skipped damaged file {}", e);
      if (!g.quiet)
        clear_progress();
        std::printf("restored %llu files (%s) from %s%s\n", static_cast<unsigned long long>(r.files_restored),
                    human_bytes(r.bytes_restored).c_str(), r.backup_id.c_str(),
                    r.errors.empty() ? "" : (", " + std::to_string(r.errors.size()) + " damaged files skipped").c_str());
    }
    return r.errors.empty() ? 0 : 1;
  };
}

}  // namespace coffer::cli
