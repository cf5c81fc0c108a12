// Shared pieces of the command-line program: the parsed global options, output helpers and
// the progress line. Each command lives in its own cmd_<name>.cpp.
#pragma once

#include <map>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "coffer/backup_manager.h"
#include "coffer/config_loader.h"
#include "coffer/human_bytes.h"

namespace coffer::cli {

struct GlobalOptions {
  std::string config_file;
  std::map<std::string, std::string> flags;  // setting name -> value, from --backup-dir etc.
  bool json = false;
  bool verbose = false;
  bool quiet = false;
  // --source s3: list, restore, verify and cleanup open the repository on S3, not BACKUP_DIR.
  std::string source = "local";
};

config::Sources sources_of(const GlobalOptions& g);
// The scheduler service's settings (BACKUP_SCHEDULE_*, TZ, METRICS_*, NOTIFY_*, ...) by name, from
// flags, environment and config file in that order of precedence.
std::function<std::optional<std::string>(const std::string&)> service_settings_of(const GlobalOptions& g);
// `uses`: the groups of settings the command uses (see config::Uses); the default is all.
BackupConfig load_config(const GlobalOptions& g, config::Uses uses = {});
// A manager wired to the terminal: progress line on a TTY (not with --json/--quiet), warnings
// to stderr.
std::unique_ptr<BackupManager> make_manager(const GlobalOptions& g, config::Uses uses = {});
// What commands that only read backups use: no retention, compression or encryption settings.
constexpr config::Uses kReading{.retention = false, .writing = false, .database = false};

// Erases the progress line (if one is shown) before printing a result.
void clear_progress();
void print_json(const nlohmann::json& j);
// "2024-12-01T02:00:00.123456Z" -> "2024-12-01 02:00:00" for tables.
std::string short_time(const std::string& iso);
nlohmann::json to_json(const BackupInfo& b);
nlohmann::json to_json(const DatabaseInfo& d);
nlohmann::json to_json(const PhysicalInfo& p);
nlohmann::json to_json(const PhysicalInfo::Window& w);

// Progress line on stderr when it is a terminal; a no-op otherwise.
class ProgressLine {
 public:
  explicit ProgressLine(bool enabled);
  void update(const Progress& p);
  void clear();

 private:
  bool enabled_;
  bool shown_ = false;
  double start_;
};

// Examples, environment variables and exit codes, shown after `coffer --help`'s options.
std::string help_footer();

// Each command registers its subcommand and returns the function that runs it (exit code).
using Runner = std::function<int()>;
Runner add_init(CLI::App& app, GlobalOptions& g);
Runner add_create(CLI::App& app, GlobalOptions& g);
Runner add_list(CLI::App& app, GlobalOptions& g);
Runner add_restore(CLI::App& app, GlobalOptions& g);
Runner add_verify(CLI::App& app, GlobalOptions& g);
Runner add_export(CLI::App& app, GlobalOptions& g);
Runner add_drill(CLI::App& app, GlobalOptions& g);
Runner add_config(CLI::App& app, GlobalOptions& g);
Runner add_cleanup(CLI::App& app, GlobalOptions& g);
Runner add_unlock(CLI::App& app, GlobalOptions& g);
Runner add_pin(CLI::App& app, GlobalOptions& g);
Runner add_unpin(CLI::App& app, GlobalOptions& g);
Runner add_schedule(CLI::App& app, GlobalOptions& g);
Runner add_status(CLI::App& app, GlobalOptions& g);
Runner add_report(CLI::App& app, GlobalOptions& g);
Runner add_repair(CLI::App& app, GlobalOptions& g);
Runner add_wal_push(CLI::App& app, GlobalOptions& g);
Runner add_wal_fetch(CLI::App& app, GlobalOptions& g);

}  // namespace coffer::cli
