// `coffer drill`: proves a backup by restoring it into scratch places and checking what came
// back. The database goes into a scratch database on the configured server (RestoreTarget's
// drill mode: created new, never committed, always dropped), where its row counts are compared
// with the backup's, every row is read through, btree indexes are checked with amcheck and the
// administrator's probes (DRILL_SQL) run (source/postgres/restored_checks.h). The files go into
// a held scratch folder in TMPDIR and are read back and compared with the backup's chunk ids
// (source/files/restored_tree_check.h). A physical backup is written into a scratch data folder
// (restore_physical, recovery target immediate, promote) and started as a throwaway server
// (source/postgres/physical/scratch_server.h) whose restore_command is `wal_fetch`; every
// database of it is read through and index-checked, the probes run in DB_NAME (or postgres),
// and the server is stopped and the folder removed. What a killed drill leaves is removed by the next one
// (the database by its marker comment, the folder by its lock). The real database and folders
// are never touched.
#pragma once

#include <functional>
#include <string>

#include "coffer/backup_config.h"
#include "coffer/backup_types.h"
#include "repo/repository.h"

namespace coffer {

// Runs every check it can and reports each (DrillResult::checks); a failed check does not
// throw. Throws Error(kConfig) for a DRILL_SQL file that cannot be read or split, Error(kInput)
// for a scratch database name that is taken, Error(kNotFound) for an unknown backup, before
// anything is restored.
DrillResult run_drill(Repository& repo, const std::string& backup_id, const BackupConfig& config,
                      const DrillOptions& options, const std::string& wal_fetch,
                      const std::function<void(const std::string&)>& warn,
                      const std::function<void(const Progress&)>& on_progress);

}  // namespace coffer
