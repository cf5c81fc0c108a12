// The history of a repository's jobs, as BACKUP_DIR/backup_log.json records it: one record per
// attempt of `coffer create`, `coffer cleanup` or `coffer drill`, success or failure, oldest
// first. BackupManager::history() reads it; create, cleanup and drill append to it.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "coffer/backup_types.h"
#include "coffer/error.h"

namespace coffer {

// One record of backup_log.json. Which fields the file holds follows from backup_type and
// status (see each group below); the file's names are given where a member's differs.
struct HistoryRecord {
  // Every record (the guide's fields, with size_bytes, file_path and metadata below).
  std::string backup_id;    // "" (null in the file) for cleanups; a drill's: the backup it restored
  std::string backup_type;  // "full", "incremental", "differential", "cleanup" or "drill"
  std::string timestamp;    // ISO 8601 UTC: a backup's start, the time a cleanup logged
  std::string status;       // "success", "failed", or "started" (a cleanup about to remove)
  // Every record but a "started" one.
  double duration_seconds = 0;
  std::vector<std::string> warnings;
  // "failed" records only.
  std::string error;           // the message
  std::string error_category;  // category_name() of the error

  // The database a backup was for.
  struct Database {
    std::string name;
    // true: a successful backup, whose record has the fields below; a failed attempt's record
    // names the database only.
    bool dumped = false;
    std::string server_version;
    std::string pg_dump_version;
    uint64_t size_bytes = 0;
    uint64_t dump_bytes = 0;
    uint64_t table_count = 0;
    double duration_seconds = 0;
    bool globals = false;
  };

  // A create's record (backup_type full, incremental or differential).
  struct Backup {
    uint64_t size_bytes = 0;
    std::string file_path;  // where the manifest is; "" (null) for a failed attempt
    uint64_t bytes_added = 0;
    uint64_t file_count = 0;
    // metadata, every record:
    std::string host;                  // metadata.host, and metadata.hostname for older readers
    std::optional<bool> compressed;    // null: the attempt failed before the setting was known
    std::string compression;           // codec name; "" (absent) when unknown
    std::optional<bool> encrypted;     // null: as compressed
    std::optional<Database> database;  // null: a backup of files only
    // metadata, "success" records only:
    std::string parent;
    uint64_t files_read = 0;
    bool has_files = true;  // metadata.files
    // S3_MODE=copy: how the off-site copy went; null otherwise.
    std::optional<BackupInfo::OffsiteCopy> offsite;
    // "success" records only (and "incomplete", which is whether unreadable has any path).
    bool pinned = false;
    std::vector<std::string> unreadable;
  } backup;

  // A cleanup's record (metadata).
  struct Cleanup {
    std::vector<std::string> removing;  // "started" records: the backups it is about to remove
    // The other records:
    std::vector<std::string> removed;
    uint64_t bytes_freed = 0;
    uint64_t packs_deleted = 0;
    uint64_t packs_rewritten = 0;
    bool dry_run = false;
    std::string policy;  // "" in "started" records
  } cleanup;

  // A drill's record (metadata): what it restored, each check and its outcome, the timings. A
  // drill that passed is a "success"; one with a failed check, or that could not run, "failed"
  // (error: the failed checks, or why it could not run).
  DrillResult drill;

  bool is_cleanup() const { return backup_type == "cleanup"; }
  bool is_drill() const { return backup_type == "drill"; }
};

// When a job last succeeded.
struct JobSuccess {
  std::string backup_id;  // "" for a cleanup
  std::string timestamp;  // ISO 8601 UTC, as recorded
  std::chrono::system_clock::time_point time;
};

// The newest success of `job`: for "full", "incremental" and "differential" the newest of
// `backups` of that type (the committed ones, oldest first, as BackupManager::list_backups()
// returns them: the repository, not the log, says what exists); for "cleanup" and "drill" the
// newest successful one in `history` (a drill's backup_id: the backup it proved). Of two at the same time the later one in its list wins;
// entries whose time does not parse are passed over. nullopt when there is none.
std::optional<JobSuccess> newest_success(const std::string& job, const std::vector<BackupInfo>& backups,
                                         const std::vector<HistoryRecord>& history);

// Logs a create that failed before a BackupManager could be made (an invalid configuration): a
// "failed" record in backup_dir/backup_log.json, when that folder exists, for the database
// `db_name` ("" = none). Never throws (the configuration's own error is the one to report);
// what goes wrong with the log itself goes to `warn`.
void log_failed_create(const std::filesystem::path& backup_dir, BackupType type, const std::string& db_name,
                       const Error& error, const std::function<void(const std::string&)>& warn = {});

}  // namespace coffer
