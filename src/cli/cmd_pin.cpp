// `coffer pin <id>` and `coffer unpin <id>`: a pinned backup is never removed by cleanup.
#include "cli.h"

namespace coffer::cli {
namespace {

Runner add_pin_command(CLI::App& app, GlobalOptions& g, bool pin) {
  auto* cmd = app.add_subcommand(pin ? "pin" : "unpin", pin ? "keep a backup through every cleanup"
                                                            : "let cleanup's policy decide about a backup again");
  auto id = std::make_shared<std::string>();
  cmd->add_option("backup_id", *id, "the backup (see `coffer list`), or 'latest'")->required();
  return [&g, id, pin] {
    auto manager = make_manager(g, kReading);
    bool changed = pin ? manager->pin(*id) : manager->unpin(*id);
    if (g.json)
      print_json({{"backup_id", *id}, {"pinned", pin}, {"changed", changed}});
    else if (!g.quiet)
      std::printf("%s %s\n", id->c_str(),
                  pin ? (changed ? "pinned" : "was already pinned") : (changed ? "unpinned" : "was not pinned"));
    return 0;
  };
}

}  // namespace

Runner add_pin(CLI::App& app, GlobalOptions& g) { return add_pin_command(app, g, true); }
Runner add_unpin(CLI::App& app, GlobalOptions& g) { return add_pin_command(app, g, false); }

}  // namespace coffer::cli
