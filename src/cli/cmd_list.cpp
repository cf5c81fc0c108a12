#include <algorithm>

#include "cli.h"

namespace coffer::cli {

Runner add_list(CLI::App& app, GlobalOptions& g) {
  app.add_subcommand("list", "list the backups in the repository");
  return [&g] {
    auto manager = make_manager(g, kReading);
    std::vector<BackupInfo> backups = manager->list_backups();
    if (g.json) {
      nlohmann::json out = nlohmann::json::array();
      for (const auto& b : backups) out.push_back(to_json(b));
      print_json(out);
      return 0;
    }
    if (backups.empty()) {
      std::printf("no backups yet\n");
      return 0;
    }
    const bool offsite_known = std::any_of(backups.begin(), backups.end(), [](const BackupInfo& b) { return b.offsite.has_value(); });
    std::printf("%-34s %-13s %-20s %8s %10s %-28s %10s %8s %-6s%s\n", "ID", "TYPE", "TIME (UTC)", "FILES", "SIZE",
                "DATABASE", "ADDED", "SECONDS", "PINNED", offsite_known ? " OFFSITE" : "");
    for (const auto& b : backups) {
      std::string db = "-";
      if (b.database)
        db = b.database->name + " " + std::to_string(b.database->tables.size()) + "t " +
             human_bytes(b.database->dump_bytes) + " " + std::to_string(static_cast<int>(b.database->duration_seconds + 0.5)) + "s";
      std::string files = b.has_files ? std::to_string(b.file_count) : "-";
      std::string offsite = !offsite_known ? "" : !b.offsite ? " ?" : *b.offsite ? " yes" : " NO";
      std::printf("%-34s %-13s %-20s %8s %10s %-28s %10s %8.1f %-6s%s\n", b.backup_id.c_str(), backup_type_name(b.type),
                  short_time(b.timestamp).c_str(), files.c_str(), human_bytes(b.size_bytes).c_str(), db.c_str(),
                  human_bytes(b.bytes_added).c_str(), b.duration_seconds, b.pinned ? "yes" : "-", offsite.c_str());
    }
    return 0;
  };
}

}  // namespace coffer::cli
