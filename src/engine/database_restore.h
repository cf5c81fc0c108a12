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
// tables and !clean, Error(kDatabase) when PostgreSQL or pg_restore fails.
DatabaseRestoreResult restore_database(Repository& repo, const Manifest& manifest, const BackupConfig& config,
                                       const RestoreOptions& options,
                                       const std::function<void(const std::string&)>& warn);

}  // namespace coffer
