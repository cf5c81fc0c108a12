// `coffer wal-push %p` (archive_command) and `coffer wal-fetch %f %p` (restore_command): the WAL
// archive's two calls, one per file, made by PostgreSQL (docs/pitr.md).
#include <spdlog/spdlog.h>

#include "cli.h"

namespace coffer::cli {
namespace {

// restore_command's exit codes, as PostgreSQL reads them: 0 found, 1 not in the archive (normal:
// recovery ends there), and above 125 for an archive that cannot be read, which stops recovery
// (FATAL) instead of ending it early at the wrong moment.
constexpr int kFetchMissing = 1;
constexpr int kFetchUnreachable = 126;

}  // namespace

Runner add_wal_push(CLI::App& app, GlobalOptions& g) {
  auto* cmd = app.add_subcommand("wal-push", "archive one WAL file: archive_command = 'coffer wal-push %p'");
  auto path = std::make_shared<std::string>();
  cmd->add_option("path", *path, "the WAL file (PostgreSQL's %p)")->required();
  return [&g, path] {
    auto manager = make_manager(g, config::Uses{.retention = false, .writing = true, .database = false});
    WalPushResult r = manager->wal_push(*path);
    if (g.json) {
      print_json({{"name", r.name},
                  {"cluster", r.cluster},
                  {"already_archived", r.already_archived},
                  {"bytes", r.bytes},
                  {"duration_seconds", r.duration_seconds}});
    } else if (g.verbose) {
      spdlog::info("{} {} ({})", r.already_archived ? "already archived:" : "archived", r.name, r.cluster);
    }
    return 0;
  };
}

Runner add_wal_fetch(CLI::App& app, GlobalOptions& g) {
  auto* cmd = app.add_subcommand("wal-fetch", "fetch one WAL file: restore_command = 'coffer wal-fetch %f \"%p\"'");
  auto name = std::make_shared<std::string>();
  auto dest = std::make_shared<std::string>();
  cmd->add_option("name", *name, "the WAL file's name (PostgreSQL's %f)")->required();
  cmd->add_option("destination", *dest, "where to write it (PostgreSQL's %p)")->required();
  return [&g, name, dest] {
    try {
      auto manager = make_manager(g, kReading);
      const bool found = manager->wal_fetch(*name, *dest);
      if (g.json) print_json({{"name", *name}, {"found", found}});
      return found ? 0 : kFetchMissing;
    } catch (const std::exception& e) {
      // The storage drivers retried already (S3_RETRY_SECONDS); what is left must stop recovery.
      // Every failure, a setting too (a passphrase file or bucket missing on the machine that
      // restores): PostgreSQL reads exit codes up to 125 as "not in the archive" and would end
      // recovery there, at the wrong moment, and promote.
      spdlog::error("{} (recovery stops here rather than end early at the wrong moment)", e.what());
      return kFetchUnreachable;
    }
  };
}

}  // namespace coffer::cli
