// One backup of the file trees into a repository: walk, detect changes against the parent
// backup, store new content, write the file list, commit (packs -> index -> manifest).
#pragma once

#include <functional>
#include <string>

#include "codec/compression.h"
#include "coffer/backup_config.h"
#include "coffer/backup_types.h"
#include "repo/repository.h"

namespace coffer {

struct BackupJobOptions {
  BackupType type = BackupType::kFull;
  // kAll backs up what is configured (files when BACKUP_PATHS is set, the database when DB_NAME
  // is); kFiles / kDatabase require that part's settings.
  BackupScope scope = BackupScope::kAll;
  CompressionSpec compression;
  std::function<void(const Progress&)> on_progress;
  std::function<void(const std::string&)> on_warning;
  // Called after the packs and index are stored, just before the manifest commits the backup;
  // throws to stop (the caller's repository lock was removed meanwhile).
  std::function<void()> before_commit;
  // Ids the new backup must not take besides those of the repository's backups (the log's
  // failed attempts).
  std::function<bool(const std::string&)> id_taken;
};

// Runs the backup and returns what it committed. Throws coffer::Error on failure; then nothing
// is committed (packs written so far are unreferenced and removed by cleanup).
BackupInfo run_backup(Repository& repo, const BackupConfig& config, const BackupJobOptions& options);

// What a new backup compares with, found in one pass over the manifests.
struct BackupBases {
  // The backup an incremental (latest of any type) or differential (latest full) compares
  // against; none for a full backup. With need_files, backups without files are passed over.
  std::optional<Manifest> parent;
  // The newest backup of database `db_name` (any type): its dump's chunks are the bases new dump
  // chunks are stored as deltas against. None when db_name is empty.
  std::optional<Manifest> last_dump;
};
BackupBases find_bases(Repository& repo, BackupType type, bool need_files, const std::string& db_name);

}  // namespace coffer
