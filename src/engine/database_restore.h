// Restores the database part of a backup: into DB_NAME (refused when it has tables, unless
// clean) or into a new database (target_db, created when missing); optionally only some tables;
// pg_restore -j from a private temporary copy of the archive; then row counts are compared with
// those recorded at backup time.
#pragma once

#include <functional>
#include <string>

#include "coffer/backup_config.h"
#include "coffer/backup_types.h"
#include "repo/repository.h"

namespace coffer {

// Throws Error(kNotFound) when the backup holds no database, Error(kInput) when the target has
// tables and !clean, Error(kStorage) when TMPDIR has no room for the dump, Error(kDatabase) when
// PostgreSQL or pg_restore fails. `on_progress` (optional) sees each phase, and the bytes staged.
DatabaseRestoreResult restore_database(Repository& repo, const Manifest& manifest, const BackupConfig& config,
                                       const RestoreOptions& options,
                                       const std::function<void(const std::string&)>& warn,
                                       const std::function<void(const Progress&)>& on_progress = {});

}  // namespace coffer
