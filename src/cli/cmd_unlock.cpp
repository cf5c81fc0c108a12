#include "cli.h"

namespace coffer::cli {

Runner add_unlock(CLI::App& app, GlobalOptions& g) {
  auto* cmd = app.add_subcommand("unlock", "remove stale repository locks (left by coffer processes that died)");
  auto all = std::make_shared<bool>(false);
  cmd->add_flag("--all", *all, "remove every lock, live ones too (only when no coffer is running)");
  return [&g, all] {
    auto manager = make_manager(g, kReading);
    std::vector<LockInfo> removed = manager->unlock(*all);
    if (g.json) {
      nlohmann::json out = nlohmann::json::array();
      for (const auto& l : removed)
        out.push_back({{"lock", l.key},
                       {"host", l.host},
                       {"pid", l.pid},
                       {"command", l.command},
                       {"started", l.started},
                       {"exclusive", l.exclusive},
                       {"stale", l.stale_reason.empty() ? nlohmann::json(nullptr) : nlohmann::json(l.stale_reason)}});
      print_json({{"removed", out}});
      return 0;
    }
    if (g.quiet) return 0;
    for (const auto& l : removed)
      std::printf("removed lock %s: `%s` (%s) on host %s, pid %lld, started %s%s\n", l.key.c_str(), l.command.c_str(),
                  l.exclusive ? "exclusive" : "shared", l.host.c_str(), static_cast<long long>(l.pid),
                  l.started.c_str(), l.stale_reason.empty() ? "" : (" (stale: " + l.stale_reason + ")").c_str());
    std::printf("%zu %slocks removed\n", removed.size(), *all ? "" : "stale ");
    return 0;
  };
}

}  // namespace coffer::cli
