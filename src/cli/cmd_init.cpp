#include <spdlog/spdlog.h>

#include "cli.h"

namespace coffer::cli {

Runner add_init(CLI::App& app, GlobalOptions& g) {
  app.add_subcommand("init", "create the repository in BACKUP_DIR");
  return [&g] {
    auto manager = make_manager(g, config::Uses{.retention = false, .writing = true, .database = false});
    manager->init_repository();
    if (g.json)
      print_json({{"repository", manager->config().backup_dir.string()}, {"encrypted", manager->config().encryption}});
    else if (!g.quiet)
      std::printf("created %s repository in %s\n", manager->config().encryption ? "an encrypted" : "an unencrypted",
                  manager->config().backup_dir.c_str());
    return 0;
  };
}

}  // namespace coffer::cli
