// The coffer library API: what the CLI (and any other program) calls.
//
//   coffer::BackupConfig config;               // or config::load(...)
//   config.backup_dir = "/srv/backups";
//   config.backup_paths = {"/srv/app/uploads"};
//   config.passphrase = "...";
//   coffer::BackupManager manager(config);
//   coffer::BackupInfo b = manager.create_full_backup();
//   manager.restore_from_backup(b.backup_id, {.target = "/tmp/restore"});
//
// Every method throws coffer::Error (see error.h) on failure. Each create_* and cleanup call
// appends one record to BACKUP_DIR/backup_log.json, success or failure. A BackupManager is not
// thread-safe; several processes may use one repository at once: create, restore, verify and
// pin take a shared repository lock, cleanup an exclusive one (see docs/repository-format.md).
// A conflicting lock is waited for up to LOCK_WAIT_SECONDS, then Error(kInput) names its holder.
// A local repository on read-only media (a mounted snapshot, a write-protected disk) can be
// listed, verified and restored from: those take no lock there, and say so in a warning; the
// commands that write to it fail with Error(kStorage) saying it is read-only.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "coffer/backup_config.h"
#include "coffer/backup_types.h"
#include "coffer/error.h"
#include "coffer/history.h"

namespace coffer {

class Repository;
class RepoLock;
class WalPushState;

class BackupManager {
 public:
  explicit BackupManager(BackupConfig config);
  ~BackupManager();

  // Creates the repository in backup_dir (create_* also do it on first use).
  void init_repository();

  BackupInfo create_full_backup() { return create_backup(BackupType::kFull); }
  BackupInfo create_incremental_backup() { return create_backup(BackupType::kIncremental); }
  BackupInfo create_differential_backup() { return create_backup(BackupType::kDifferential); }
  // scope kAll backs up what is configured: the files (BACKUP_PATHS) and the database (DB_NAME),
  // in parallel, under one backup id; the backup succeeds only when every part does.
  // keep = true pins the new backup (no cleanup removes it until it is unpinned).
  BackupInfo create_backup(BackupType type, BackupScope scope = BackupScope::kAll, bool keep = false);

  // Committed backups, oldest first.
  std::vector<BackupInfo> list_backups();
  // `backup_id` may be "latest". options.scope picks files, database or both (kAll).
  RestoreResult restore_from_backup(const std::string& backup_id, const RestoreOptions& options = {});
  VerifyResult verify(const VerifyOptions& options = {});
  // Writes a part of backup `backup_id` ("latest" allowed) as plain files (ExportOptions), under
  // the shared lock, every chunk checked on the way. Throws Error(kInput) for a format the part
  // does not have or an output that exists, Error(kNotFound) for a backup without that part.
  ExportResult export_backup(const std::string& backup_id, const ExportOptions& options);
  // A restore drill (`coffer drill`): restores backup `backup_id` ("latest": the newest) into a
  // scratch database and a scratch folder, checks what came back (row counts, every row read
  // through, btree indexes with amcheck, the DRILL_SQL probes, every file's content against the
  // backup's chunk ids), and removes both, under the shared lock. What a killed drill left is
  // removed first. A failed check does not throw (DrillResult::passed, and each check, say it);
  // Error(kInput) for a scratch database that exists, Error(kConfig) for a bad DRILL_SQL file.
  // Appends a "drill" record to backup_log.json in every case.
  DrillResult drill(const std::string& backup_id, const DrillOptions& options = {});

  // Point-in-time recovery (docs/pitr.md). archive_command = 'coffer wal-push %p' stores each WAL
  // file of the cluster in DB_DATA_DIR (default: the working folder, where PostgreSQL runs it),
  // durably, before it returns; the same file again is fine, other content under its name is
  // refused. Neither call takes the repository lock; both use the key cache (WAL_KEY_CACHE).
  // Each push is noted in BACKUP_DIR/wal_push_state.json (status, metrics); the first failure of
  // a file also goes into backup_log.json (backup_type "wal-push", backup_id the file's name).
  WalPushResult wal_push(const std::string& path);
  // restore_command = 'coffer wal-fetch %f %p': false when the archive does not hold `name`
  // (recovery asks for files past the end of the archive: that is how it ends).
  bool wal_fetch(const std::string& name, const std::string& destination);
  // Writes physical backup `backup_id` ("" or "latest": the newest that ends before the target)
  // into options.pgdata, set up to recover to the target when the server starts there.
  PointInTimeResult restore_to_point_in_time(const std::string& backup_id, const PointInTimeOptions& options);
  // The WAL archives, per cluster: this host's record of its pushes and, with `list_archive`,
  // what the repository holds (one listing; skip it where that is costly, as the metrics do).
  std::vector<WalArchiveStatus> wal_status(bool list_archive = true);

  // Applies the retention policy (RETENTION_DAYS, KEEP_*) and deletes the data no remaining
  // backup needs, under the exclusive lock. Crash-safe at every step; see engine/cleanup_job.h.
  CleanupResult cleanup(const CleanupOptions& options = {});
  // Pins / unpins a backup ("latest" allowed). Return false when it already was / was not.
  bool pin(const std::string& backup_id);
  bool unpin(const std::string& backup_id);
  // Removes stale locks (every lock with `all`); returns what was removed. Needs no passphrase.
  std::vector<LockInfo> unlock(bool all = false);

  // Rebuilds the index from the packs' own headers (lost or damaged index files), under the
  // exclusive lock; a dry run reads and reports only, under a shared lock. Packs are never
  // changed. See engine/repair_index.h.
  RepairIndexResult repair_index(bool dry_run = false);

  // The attempts BACKUP_DIR/backup_log.json records (create and cleanup, success or failure),
  // oldest first; none when there is no log yet. Throws Error(kDamaged) when the log is not a
  // JSON array of records (the next create or cleanup sets it aside). Needs no repository and no
  // passphrase. See newest_success() in history.h for when each job last succeeded.
  std::vector<HistoryRecord> history() const;

  // Total size in bytes of the repository's objects (local folder or S3 prefix), backup_log.json
  // excluded. 0 when there is no repository yet. Needs no passphrase.
  uint64_t repository_bytes();

  // What deduplication and compression came to: the repository's unique chunks (every index
  // file), their bytes before compression (a delta blob counts its delta) and as stored
  // (compressed and sealed, in packs). Reads the index: needs the passphrase. Zeros when there
  // is no repository yet.
  struct ChunkTotals {
    uint64_t chunks = 0;
    uint64_t raw_bytes = 0;
    uint64_t stored_bytes = 0;
  };
  ChunkTotals chunk_totals();

  // Checks the S3 settings (S3_BUCKET, the credentials, S3_ENDPOINT, ...) without asking S3:
  // throws Error(kConfig) naming what is missing or bad. For commands that reach S3 only later
  // (cleanup of the off-site copy, the scheduler's jobs), so a bad setting fails them at start.
  void check_s3_settings() const;

  // Called during long operations, a few times a second at most, from any of the operation's
  // threads (one at a time). It is also how a caller cancels: an exception it throws ends the
  // operation as a failure would (nothing commits; a create logs a coffer::Error it throws as the
  // attempt's error) and propagates to the caller.
  void set_progress_callback(std::function<void(const Progress&)> cb) { on_progress_ = std::move(cb); }
  // Called for each warning (skipped or changed files, ...) as it happens.
  void set_warning_callback(std::function<void(const std::string&)> cb) { on_warning_ = std::move(cb); }

  const BackupConfig& config() const { return config_; }

  // `--source s3`: list, restore, verify and cleanup work on the repository on S3 (S3_BUCKET,
  // S3_PREFIX) instead of BACKUP_DIR; the log stays in BACKUP_DIR. Set before the first call.
  void set_source_s3(bool on) { source_s3_ = on; }
  bool source_s3() const { return source_s3_; }
  // `--no-lock` (as restic's): list, restore and verify take no repository lock, with a warning,
  // for a repository this process cannot write to (e.g. read-only S3 credentials). A cleanup
  // running meanwhile could remove what they read.
  void set_no_lock(bool on) { no_lock_ = on; }

 private:
  Repository& repository(bool create_if_missing);
  // The repository for wal-push and wal-fetch: opened with the key cache, index not loaded.
  Repository& wal_repository();
  void note_failed_push(WalPushState& state, const std::string& path, std::chrono::system_clock::time_point started_at,
                        std::chrono::steady_clock::time_point started, const Error& error);
  // S3_MODE=copy: checks the S3 settings and that S3 holds this repository (or nothing) before
  // a backup is made (offsite_copy.h). Throws Error(kConfig); S3 out of reach is a warning.
  void check_offsite_before_backup();
  std::vector<BackupInfo> committed_backups(bool with_offsite);
  std::string resolve_id(const std::string& backup_id);
  // The lock of a command that writes to the repository; a read-only one is refused (kStorage).
  std::unique_ptr<RepoLock> lock(Repository& repo, bool exclusive, const std::string& command);
  // The shared lock of a command that only reads: none (with a warning) under set_no_lock() or
  // when the local repository is read-only.
  std::unique_ptr<RepoLock> read_lock(Repository& repo, const std::string& command);
  // Why the local repository cannot be written to ("Read-only file system"); nullopt when it
  // can, or when it is on S3 (there only a write tells).
  std::optional<std::string> read_only_reason() const;

  BackupConfig config_;
  std::unique_ptr<Repository> repo_;
  std::function<void(const Progress&)> on_progress_;
  std::function<void(const std::string&)> on_warning_;
  bool source_s3_ = false;
  bool no_lock_ = false;
};

}  // namespace coffer
