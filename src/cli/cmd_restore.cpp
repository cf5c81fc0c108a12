#include <spdlog/spdlog.h>

#include "cli.h"

namespace coffer::cli {
namespace {

template <class Args>
int run_point_in_time(GlobalOptions& g, Args& a) {
  if (a.type == "files")
    fail(ErrorCategory::kInput, "--pgdata restores the database (a physical backup): use --type database");
  PointInTimeOptions o = a.pitr;
  if (!a.to_time.empty()) o.to_time = a.to_time;
  if (!a.to_lsn.empty()) o.to_lsn = a.to_lsn;
  if (!a.to_xid.empty()) o.to_xid = a.to_xid;
  if (!a.to_name.empty()) o.to_name = a.to_name;
  for (const std::string& t : a.tablespaces) {
    const size_t eq = t.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == t.size())
      fail(ErrorCategory::kInput, "--tablespace '" + t + "': give OLD=NEW (the folder at backup time or the tablespace's OID, the new folder)");
    o.tablespaces.emplace_back(t.substr(0, eq), t.substr(eq + 1));
  }
  std::error_code ec;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) o.program = self.string();
  auto manager = make_manager(g, config::Uses{.retention = false, .writing = false, .database = false});
  manager->set_no_lock(a.no_lock);
  PointInTimeResult r = manager->restore_to_point_in_time(a.id, o);
  if (g.json) {
    print_json({{"backup_id", r.backup_id},
                {"pgdata", r.pgdata},
                {"target", r.target},
                {"files_restored", r.files_restored},
                {"bytes_restored", r.bytes_restored},
                {"wal_from", r.wal_from},
                {"wal_to", r.wal_to},
                {"start", r.start_hint},
                {"warnings", r.warnings}});
  } else if (!g.quiet) {
    clear_progress();
    std::printf("restored physical backup %s into %s (%llu files, %s); WAL %s..%s is in the archive\n"
                "recovery target: %s\nstart the server: %s\n",
                r.backup_id.c_str(), r.pgdata.c_str(), static_cast<unsigned long long>(r.files_restored),
                human_bytes(r.bytes_restored).c_str(), r.wal_from.c_str(), r.wal_to.c_str(), r.target.c_str(),
                r.start_hint.c_str());
  }
  return 0;
}

}  // namespace

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
    PointInTimeOptions pitr;
    std::string to_time, to_lsn, to_xid, to_name;
    std::vector<std::string> tablespaces;
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
  auto* pitr = cmd->add_option_group("point-in-time recovery (a physical backup: DB_BACKUP_MODE=physical)");
  pitr->add_option("--pgdata", a->pitr.pgdata, "write the backup as a data folder here (absent or empty), set up "
                                               "to recover to the target when PostgreSQL starts on it");
  pitr->add_option("--to-time", a->to_time, "stop at this moment; its UTC offset is required: "
                                            "'2026-12-05 10:42:17+01'");
  pitr->add_option("--to-lsn", a->to_lsn, "stop at this WAL location (e.g. 0/3000028)");
  pitr->add_option("--to-xid", a->to_xid, "stop after this transaction");
  pitr->add_option("--to-name", a->to_name, "stop at this restore point (pg_create_restore_point)");
  pitr->add_flag("--immediate", a->pitr.immediate, "stop as soon as the backup is consistent");
  pitr->add_option("--target-action", a->pitr.target_action, "at the target: pause (default), promote or shutdown")
      ->check(CLI::IsMember({"pause", "promote", "shutdown"}));
  pitr->add_option("--target-timeline", a->pitr.target_timeline, "latest (default), current or a timeline number");
  pitr->add_option("--tablespace", a->tablespaces, "OLD=NEW: put the tablespace whose folder at backup time (or OID) is OLD in NEW (repeatable)");
  return [&g, a] {
    if (!a->pitr.pgdata.empty()) return run_point_in_time(g, *a);
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
