#include <spdlog/spdlog.h>

#include "cli.h"

namespace coffer::cli {

Runner add_restore(CLI::App& app, GlobalOptions& g) {
  auto* cmd = app.add_subcommand("restore", "restore a backup");
  struct Args {
    std::string id, type = "full", target, existing;
    std::vector<std::string> include;
    bool overwrite = false, partial = false;
    std::string target_db;
    std::vector<std::string> tables;
    bool clean = false;
    int jobs = 2;
    bool no_lock = false;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("backup_id", a->id, "backup to restore (see `coffer list`), or 'latest'")->required();
  cmd->add_option("--type", a->type, "full, files or database")->check(CLI::IsMember({"full", "files", "database"}));
  cmd->add_option("--target", a->target, "restore under this folder instead of the original paths");
  cmd->add_option("--include", a->include, "path inside the backup to restore (repeatable)");
  cmd->add_option("--existing", a->existing,
                  "what to do where a file to restore already exists (every place is checked before "
                  "anything is written): fail (default: refuse, listing them), skip (keep them, restore only "
                  "what is missing), if-different (replace those whose content differs from the backup), "
                  "overwrite (replace all)")
      ->check(CLI::IsMember({"fail", "skip", "if-different", "overwrite"}));
  cmd->add_flag("--overwrite", a->overwrite, "replace existing files (= --existing overwrite)");
  cmd->add_flag("--partial", a->partial, "skip damaged files instead of failing (exit code 1)");
  cmd->add_option("--target-db", a->target_db, "restore the database into this (new or empty) database");
  cmd->add_option("--table", a->tables, "restore only this table: name or schema.name (repeatable)");
  cmd->add_flag("--clean", a->clean, "restore into a database that has tables, replacing them");
  cmd->add_option("--jobs", a->jobs, "parallel pg_restore jobs (default 2)")->check(CLI::Range(1, 64));
  cmd->add_flag("--no-lock", a->no_lock, "take no repository lock (one that cannot be written to); warns");
  return [&g, a] {
    const bool database = a->type != "files";  // DB_* settings matter only when a database is restored
    auto manager = make_manager(g, config::Uses{.retention = false, .writing = false, .database = database});
    manager->set_no_lock(a->no_lock);
    RestoreOptions o;
    o.scope = a->type == "database" ? BackupScope::kDatabase : a->type == "files" ? BackupScope::kFiles : BackupScope::kAll;
    if (!a->target_db.empty()) o.target_db = a->target_db;
    o.tables = a->tables;
    o.clean = a->clean;
    o.jobs = a->jobs;
    if (!a->target.empty()) o.target = a->target;
    o.include = a->include;
    o.overwrite = a->overwrite;
    if (a->existing == "skip") o.existing = ExistingFiles::kSkip;
    if (a->existing == "if-different") o.existing = ExistingFiles::kIfDifferent;
    if (a->existing == "overwrite") o.existing = ExistingFiles::kOverwrite;
    if (a->overwrite && !a->existing.empty() && a->existing != "overwrite")
      fail(ErrorCategory::kInput, "--overwrite contradicts --existing " + a->existing + ": give one of them");
    o.partial = a->partial;
    RestoreResult r = manager->restore_from_backup(a->id, o);
    if (!r.removed_temps.empty())
      spdlog::warn("removed {} unfinished temporary file(s) an interrupted restore had left, e.g. {}",
                   r.removed_temps.size(), r.removed_temps.front());
    bool mismatches = r.database && !r.database->row_count_mismatches.empty();
    if (g.json) {
      nlohmann::json db = nullptr;
      if (r.database) {
        nlohmann::json mm = nlohmann::json::array();
        for (const auto& m : r.database->row_count_mismatches)
          mm.push_back({{"table", m.table}, {"expected", m.expected}, {"actual", m.actual}});
        db = {{"dbname", r.database->dbname},
              {"method", r.database->method},
              {"kept_as", r.database->kept_as.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.database->kept_as)},
              {"tables_restored", r.database->tables_restored},
              {"row_count_mismatches", mm},
              {"warnings", r.database->warnings}};
      }
      print_json({{"backup_id", r.backup_id},
                  {"files_restored", r.files_restored},
                  {"bytes_restored", r.bytes_restored},
                  {"files_kept", r.files_kept},
                  {"removed_temps", r.removed_temps},
                  {"errors", r.errors},
                  {"database", db}});
    } else {
      clear_progress();
      if (r.database) {
        for (const auto& m : r.database->row_count_mismatches)
          spdlog::error("row count of {} differs: {} at backup time, {} restored", m.table, m.expected, m.actual);
        if (!g.quiet)
          std::printf("restored database %s (%llu tables, row counts %s) from %s\n", r.database->dbname.c_str(),
                      static_cast<unsigned long long>(r.database->tables_restored),
                      mismatches ? "DIFFER" : "match", r.backup_id.c_str());
      }
      for (const auto& e : r.errors) spdlog::error("skipped damaged file {}", e);
      if (!g.quiet && o.scope != BackupScope::kDatabase && (r.files_restored > 0 || !r.database)) {
        std::string notes;
        if (r.files_kept) notes += ", " + std::to_string(r.files_kept) + " existing files kept as they were";
        if (!r.errors.empty()) notes += ", " + std::to_string(r.errors.size()) + " damaged files skipped";
        std::printf("restored %llu files (%s) from %s%s\n", static_cast<unsigned long long>(r.files_restored),
                    human_bytes(r.bytes_restored).c_str(), r.backup_id.c_str(), notes.c_str());
      }
    }
    return r.errors.empty() && !mismatches ? 0 : 1;
  };
}

}  // namespace coffer::cli
