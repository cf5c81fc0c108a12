// Restores the database part of a backup: into DB_NAME (refused when it has tables, unless
// clean) or into a new database (target_db, created when missing); optionally only some tables;
// pg_restore -j reading the dump served from the repository (engine/dump_directory.h), or from
// a private staged copy for older backups; then row counts are compared with those recorded at
// backup time.
#pragma once

#include <functional>
#include <string>

#include "coffer/backup_config.h"
#include "coffer/backup_types.h"
#include "repo/repository.h"

namespace coffer {
namespace pg {
class Connection;
}

// A drill's restore (engine/drill_job.h): into a scratch database of its own (RestoreTarget's
// drill mode), which `inspect` checks (the row counts too: the drill reads every row, so the
// restore's own count is skipped), and which is then dropped, whatever happened.
// RestoreOptions' target_db, tables and clean are not used.
struct ScratchRestore {
  std::string name;  // "" = coffer_drill_<random>
  std::function<void(const pg::Connection& conn, const std::string& scratch_db)> inspect;
};

// Throws Error(kNotFound) when the backup holds no database, Error(kInput) when the target has
// tables and !clean, Error(kStorage) when TMPDIR has no room for what is staged, Error(kDamaged)
// for a damaged dump, Error(kDatabase) when PostgreSQL or pg_restore fails. `on_progress`
// (optional) sees each phase, and bytes. `on_checked` (optional) runs once the target database
// is checked (or created) and the tools found, before anything is restored: the errors of bad
// input come before it. `scratch` (optional) makes it a drill's restore (above).
DatabaseRestoreResult restore_database(Repository& repo, const Manifest& manifest, const BackupConfig& config,
                                       const RestoreOptions& options,
                                       const std::function<void(const std::string&)>& warn,
                                       const std::function<void(const Progress&)>& on_progress = {},
                                       const std::function<void()>& on_checked = {},
                                       const ScratchRestore* scratch = nullptr);

}  // namespace coffer
