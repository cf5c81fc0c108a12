#include "cli.h"
#include "coffer/schedule_service.h"

namespace coffer::cli {

Runner add_config(CLI::App& app, GlobalOptions& g) {
  app.add_subcommand("config", "print the effective configuration (secrets redacted)");
  return [&g] {
    std::vector<config::SettingView> settings = config::describe(sources_of(g));
    // The scheduler's settings are read by the schedule module: show its defaults, not "".
    for (auto& s : settings)
      if (s.origin == "default" && s.value.empty()) s.value = schedule::default_service_setting(s.name);
    if (g.json) {
      nlohmann::json out = nlohmann::json::array();
      for (const auto& s : settings) out.push_back({{"name", s.name}, {"value", s.value}, {"origin", s.origin}});
      print_json(out);
    } else {
      for (const auto& s : settings) std::printf("%-28s %-40s (%s)\n", s.name.c_str(), s.value.c_str(), s.origin.c_str());
    }
    return 0;
  };
}

}  // namespace coffer::cli
