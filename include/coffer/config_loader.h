// Builds a BackupConfig from defaults, a TOML file, environment variables and flags, as the
// coffer command does; for any program that configures coffer the same way.
// Precedence: flags > environment > file > defaults. Every value is validated here; an invalid
// one throws Error(kConfig) whose message names the setting, the bad value (unless secret) and
// what is allowed.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "coffer/backup_config.h"

namespace coffer::config {

// Where the inputs come from. Keys of `environment` and `flags` are setting names as the
// environment spells them (BACKUP_DIR, RETENTION_DAYS, ...): the CLI maps each flag to one.
struct Sources {
  std::map<std::string, std::string> environment;   // usually from environ
  std::optional<std::filesystem::path> config_file; // --config; must exist when given
  std::map<std::string, std::string> flags;
};

// Snapshot of the process environment, restricted to the settings coffer knows.
std::map<std::string, std::string> process_environment();

// Which groups of settings a command uses. A bad value in a group it does not use does not stop
// it (RETENTION_DAYS=0 must not block a restore): that group keeps its defaults and a warning
// names the value. The default, all used, is for commands that use them all (and `config`).
struct Uses {
  bool retention = true;  // RETENTION_DAYS, KEEP_*: cleanup, schedule
  bool writing = true;    // COMPRESSION*, ENCRYPTION, DB_COMPRESSION_KEEP_UP: create, init, schedule
  bool database = true;   // DB_PORT: create, restore, schedule
};

BackupConfig load(const Sources& sources, Uses uses = {});

// BACKUP_DIR as the sources give it, without validating any other setting: where a failed
// attempt is logged when the configuration itself is invalid.
std::filesystem::path backup_dir_hint(const Sources& sources);
// A (non-secret) setting's text as the sources give it, unvalidated; "" when unset. For the same
// use: DB_NAME names the database a failed attempt was for.
std::string setting_hint(const Sources& sources, const std::string& name);

// One line of `coffer config`: the setting's name, its value (secrets shown as "<redacted>",
// unset ones as ""), and where it came from: "default", "file", "environment" or "flag".
struct SettingView {
  std::string name;
  std::string value;
  std::string origin;
};
// Loads like load() and also reports the origin of every setting, in a stable order.
std::vector<SettingView> describe(const Sources& sources);

// A setting that has a command-line flag (`--backup-dir DIR` sets BACKUP_DIR): the flag, the
// setting it sets (its key in Sources::flags) and the flag's help text.
struct SettingFlag {
  std::string flag;  // "--backup-dir"
  std::string name;  // "BACKUP_DIR"
  std::string help;
};
// Every setting that has a flag, in display order.
std::vector<SettingFlag> setting_flags();

// The settings of the scheduler service (BACKUP_SCHEDULE_*, TZ, STATUS_MAX_AGE_HOURS, METRICS_*,
// NOTIFY_*) as their winning source gives them (flags > environment > file), unvalidated: the
// schedule module checks them. Unset ones are absent.
std::map<std::string, std::string> service_settings(const Sources& sources);

}  // namespace coffer::config
