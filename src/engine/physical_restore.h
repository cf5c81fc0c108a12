// A point-in-time restore (docs/pitr.md): a physical backup written into a new data folder with
// what PostgreSQL needs to recover from it to the target (backup_label, tablespace_map,
// recovery.signal, restore_command and the target in postgresql.auto.conf). Everything that can
// be refused is refused before anything is written: a data folder that is not empty, a target
// before the backup's end, WAL missing between the backup's start and its end (or an LSN
// target), a target timeline the archived history does not reach.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "coffer/backup_config.h"
#include "coffer/backup_types.h"
#include "repo/manifest.h"
#include "repo/repository.h"
#include "source/postgres/physical/recovery_target.h"

namespace coffer {

struct PhysicalRestoreRequest {
  std::string backup_id;  // "" or "latest": the newest physical backup that ends before the target
  PointInTimeOptions options;
  pg::physical::RecoveryTarget target;  // parsed from options
  std::string restore_command;          // resolved (never empty)
  bool restore_owner = false;           // as root: the files get the owner they had (postgres)
};

// The restore_command a restored server runs to fetch WAL from this repository:
// "'/usr/bin/coffer' --backup-dir '/srv/backups' --passphrase-file '/etc/coffer/pass' wal-fetch %f "%p""
// (`program` with the folder and the passphrase file, never the passphrase; --source s3 with
// `source_s3`).
std::string wal_fetch_command(const std::string& program, const BackupConfig& config, bool source_s3);

// Parses and checks the target options (one target at most, a time with its offset, ...).
pg::physical::RecoveryTarget recovery_target_of(const PointInTimeOptions& options);

// Where each tablespace of a backup goes (OID -> folder): its place at backup time, or where a
// --tablespace OLD=NEW moves it (OLD: that place, or the tablespace's OID). Throws Error(kInput)
// for an OLD that names none of them, or a NEW that is not an absolute path (PostgreSQL's
// tablespaces are).
std::map<std::string, std::string> tablespace_places(const std::vector<PhysicalPart::Tablespace>& tablespaces,
                                                     const std::vector<std::pair<std::string, std::string>>& moves,
                                                     const std::string& backup_id);

PointInTimeResult restore_physical(Repository& repo, const PhysicalRestoreRequest& request,
                                   const std::function<void(const Progress&)>& on_progress,
                                   const std::function<void(const std::string&)>& warn);

}  // namespace coffer
