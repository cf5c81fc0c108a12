// `coffer export <id|latest> --type database|files --format F --output PATH|-`: a backup's part
// as plain files for tools without coffer (docs in README, "Export"). With --output - the
// archive goes to standard output, so the summary goes to standard error.
#include <cstdio>

#include "cli.h"
#include "coffer/human_bytes.h"

namespace coffer::cli {

Runner add_export(CLI::App& app, GlobalOptions& g) {
  auto* cmd = app.add_subcommand("export", "write a backup's database dump (sql.gz, custom, directory) or files (tar, "
                                           "tar.zst) as plain files that psql, pg_restore or tar read without coffer");
  struct Args {
    std::string id;
    std::string type;
    ExportOptions o;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("backup_id", a->id, "the backup, or latest (the newest holding the part)")->required();
  cmd->add_option("--type", a->type, "database or files")->required()->check(CLI::IsMember({"database", "files"}));
  cmd->add_option("--format", a->o.format, "database: sql.gz, custom or directory; files: tar or tar.zst")->required();
  cmd->add_option("--output", a->o.output, "a new file (a new folder for directory), or - for standard output")->required();
  cmd->add_option("--include", a->o.include, "files: only this path inside the backup (repeatable)");
  return [&g, a] {
    auto manager = make_manager(g, kReading);
    ExportOptions o = a->o;
    o.scope = a->type == "files" ? BackupScope::kFiles : BackupScope::kDatabase;
    ExportResult r = manager->export_backup(a->id, o);
    clear_progress();
    FILE* to = o.output == "-" ? stderr : stdout;
    const nlohmann::json j = {{"backup_id", r.backup_id},       {"format", r.format},
                              {"output", r.output},             {"entries", r.entries},
                              {"bytes_read", r.bytes_read},     {"bytes_written", r.bytes_written},
                              {"duration_seconds", r.duration_seconds}};
    if (g.json && o.output != "-") {
      print_json(j);
    } else if (g.json) {
      std::fprintf(stderr, "%s\n", j.dump(2).c_str());  // standard output carries the archive
    } else if (!g.quiet) {
      std::fprintf(to, "exported %s (%s) to %s: %llu %s, %s read, %s written in %.1f s\n", r.backup_id.c_str(),
                   r.format.c_str(), r.output == "-" ? "standard output" : r.output.c_str(),
                   static_cast<unsigned long long>(r.entries), o.scope == BackupScope::kFiles ? "entries" : "tables",
                   human_bytes(r.bytes_read).c_str(), human_bytes(r.bytes_written).c_str(), r.duration_seconds);
    }
    return 0;
  };
}

}  // namespace coffer::cli
