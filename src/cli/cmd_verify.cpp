#include <spdlog/spdlog.h>

#include "cli.h"

namespace coffer::cli {

Runner add_verify(CLI::App& app, GlobalOptions& g) {
  auto* cmd = app.add_subcommand("verify", "check the repository (all backups, or one)");
  auto id = std::make_shared<std::string>();
  auto read_data = std::make_shared<bool>(false);
  cmd->add_option("backup_id", *id, "only this backup");
  cmd->add_flag("--read-data", *read_data, "also read, decrypt and re-hash every chunk");
  auto no_lock = std::make_shared<bool>(false);
  cmd->add_flag("--no-lock", *no_lock, "take no repository lock (one that cannot be written to); warns");
  return [&g, id, read_data, no_lock] {
    auto manager = make_manager(g, kReading);
    manager->set_no_lock(*no_lock);
    VerifyOptions o;
    if (!id->empty()) o.backup_id = *id;
    o.read_data = *read_data;
    VerifyResult r = manager->verify(o);
    if (g.json) {
      nlohmann::json problems = nlohmann::json::array();
      auto opt = [](const std::string& s) { return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s); };
      for (const auto& p : r.problems)
        problems.push_back({{"backup_id", opt(p.backup_id)}, {"path", opt(p.path)}, {"object", opt(p.object)},
                            {"problem", p.problem}});
      print_json({{"ok", r.ok}, {"backups_checked", r.backups_checked}, {"chunks_checked", r.chunks_checked},
                  {"wal_files_checked", r.wal_files_checked}, {"problems", problems}});
    } else {
      clear_progress();
      for (const auto& p : r.problems) {
        std::string where = p.backup_id.empty() ? "" : "backup " + p.backup_id + ": ";
        if (!p.path.empty()) where += p.path + ": ";
        if (!p.object.empty()) where += p.object + ": ";
        std::printf("DAMAGED %s%s\n", where.c_str(), p.problem.c_str());
      }
      if (!g.quiet || !r.ok)
        std::printf("%s: %llu backups checked%s%s, %zu problems\n", r.ok ? "ok" : "DAMAGED",
                    static_cast<unsigned long long>(r.backups_checked),
                    o.read_data ? (", " + std::to_string(r.chunks_checked) + " chunks read").c_str() : "",
                    r.wal_files_checked ? (", " + std::to_string(r.wal_files_checked) + " WAL segments " +
                                           (o.read_data ? "read" : "present")).c_str() : "",
                    r.problems.size());
    }
    return r.ok ? 0 : 1;
  };
}

}  // namespace coffer::cli
