#include "coffer/backup_manager.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <future>
#include <mutex>
#include <optional>
#include <set>

#include <spdlog/spdlog.h>

#include "codec/compression.h"
#include "coffer/clock.h"
#include "config/config_loader.h"
#include "engine/backup_job.h"
#include "engine/backup_log.h"
#include "engine/export_job.h"
#include "engine/wal_check.h"
#include "engine/wal_push_state.h"
#include "engine/cleanup_job.h"
#include "engine/database_restore.h"
#include "engine/offsite_copy.h"
#include "engine/repair_index.h"
#include "engine/restore_job.h"
#include "engine/storage_factory.h"
#include "engine/verify_job.h"
#include "repo/pins.h"
#include "repo/repo_lock.h"
#include "repo/repository.h"
#include "storage/local/local_storage.h"

namespace coffer {
namespace fs = std::filesystem;

namespace {

CompressionSpec compression_of(const BackupConfig& c) {
  if (!c.compression) return {Codec::kNone, 0};
  auto codec = codec_from_name(c.compression_algorithm);
  if (!codec)
    fail(ErrorCategory::kConfig, "COMPRESSION_ALGORITHM='" + c.compression_algorithm +
                                     "' is not valid: expected zstd, gzip, lz4 or none");
  return {*codec, c.compression_level};
}

}  // namespace

BackupManager::BackupManager(BackupConfig config) : config_(std::move(config)) {}
BackupManager::~BackupManager() = default;

std::optional<std::string> BackupManager::read_only_reason() const {
  if (repository_on_s3(config_, source_s3_)) return std::nullopt;
  // The locks live in locks/; on a read-only filesystem access() says so even to root (EROFS).
  for (const fs::path& dir : {config_.backup_dir, config_.backup_dir / "locks"}) {
    std::error_code ec;
    if (fs::is_directory(dir, ec) && ::access(dir.c_str(), W_OK) != 0) return std::string(std::strerror(errno));
  }
  return std::nullopt;
}

std::unique_ptr<RepoLock> BackupManager::read_lock(Repository& repo, const std::string& command) {
  std::string why;
  if (no_lock_) {
    why = "--no-lock was given";
  } else if (auto reason = read_only_reason()) {
    why = "the repository " + config_.backup_dir.string() + " is read-only (" + *reason + ")";
  } else {
    return lock(repo, false, command);
  }
  if (on_warning_)
    on_warning_("no lock was taken: " + why + "; a cleanup running at the same time could remove data that `" +
                command + "` reads");
  return nullptr;
}

std::unique_ptr<RepoLock> BackupManager::lock(Repository& repo, bool exclusive, const std::string& command) {
  if (auto reason = read_only_reason())
    fail(ErrorCategory::kStorage, "the repository " + config_.backup_dir.string() + " is read-only (" + *reason +
                                      "): `" + command + "` writes to it; list, verify and restore work on read-only "
                                      "media (or set BACKUP_DIR to a writable copy)");
  LockTiming timing;  // refresh every minute, stale after 10 minutes
  timing.wait = std::chrono::seconds(config_.lock_wait_seconds);
  return RepoLock::acquire(repo.storage(), exclusive, command, timing, on_warning_);
}

Repository& BackupManager::repository(bool create_if_missing) {
  if (repo_) return *repo_;
  std::error_code ec;
  const bool on_s3 = repository_on_s3(config_, source_s3_);
  if (!on_s3 && !create_if_missing && !fs::is_directory(config_.backup_dir, ec))
    fail(ErrorCategory::kNotFound, "no repository in " + config_.backup_dir.string() +
                                       ": the folder does not exist (check BACKUP_DIR, or run `coffer create`)");
  // On S3, BACKUP_DIR still holds backup_log.json.
  if (on_s3) fs::create_directories(config_.backup_dir, ec);
  // Opening writes nothing: a repository on read-only media opens for reading (writers are
  // refused by lock()).
  std::shared_ptr<Storage> storage = make_repository_storage(config_, source_s3_, !create_if_missing);
  std::optional<std::string> passphrase = config::read_passphrase(config_);
  if (Repository::exists(*storage)) {
    repo_ = Repository::open(storage, passphrase);
  } else if (create_if_missing) {
    RepositoryParams params = params_for(*storage);
    params.encrypted = config_.encryption;
    params.passphrase = passphrase;
    repo_ = Repository::init(storage, params);
  } else {
    repo_ = Repository::open(storage, passphrase);  // throws the "no repository" error
  }
  // Which repository a disaster recovery found: the id to compare with the one that copied there.
  if (source_s3_) spdlog::info("repository {} on {}", repo_->id(), repo_->storage().describe());
  if (config_.encryption && !repo_->encrypted() && on_warning_)
    on_warning_("this repository is not encrypted (it was created with ENCRYPTION=false)");
  return *repo_;
}

void BackupManager::init_repository() {
  std::shared_ptr<Storage> storage = make_repository_storage(config_, source_s3_);
  RepositoryParams params = params_for(*storage);
  params.encrypted = config_.encryption;
  params.passphrase = config::read_passphrase(config_);
  repo_ = Repository::init(storage, params);
}

namespace {

HistoryRecord::Database logged_database(const DatabaseInfo& d) {
  HistoryRecord::Database db;
  db.name = d.name;
  db.dumped = true;
  db.server_version = d.server_version;
  db.pg_dump_version = d.pg_dump_version;
  db.size_bytes = d.size_bytes;
  db.dump_bytes = d.dump_bytes;
  db.table_count = d.tables.size();
  db.duration_seconds = d.duration_seconds;
  db.globals = d.globals;
  return db;
}

// backup_log.json's record of a committed backup.
HistoryRecord success_record(const BackupInfo& info, const CompressionSpec& compression, bool encrypted,
                             const std::string& file_path) {
  HistoryRecord r;
  r.backup_id = info.backup_id;
  r.backup_type = backup_type_name(info.type);
  r.timestamp = info.timestamp;
  r.status = "success";
  r.duration_seconds = info.duration_seconds;
  r.warnings = info.warnings;
  HistoryRecord::Backup& b = r.backup;
  b.size_bytes = info.size_bytes;
  b.file_path = file_path;
  b.bytes_added = info.bytes_added;
  b.file_count = info.file_count;
  b.host = info.hostname;
  b.compressed = compression.codec != Codec::kNone;
  b.compression = codec_name(compression.codec);
  b.encrypted = encrypted;
  if (info.database) b.database = logged_database(*info.database);
  b.parent = info.parent;
  b.files_read = info.files_read;
  b.has_files = info.has_files;
  b.offsite = info.offsite_copy;
  b.pinned = info.pinned;
  b.unreadable = info.unreadable;
  return r;
}

}  // namespace

void BackupManager::check_s3_settings() const { make_s3_storage(config_); }

std::vector<HistoryRecord> BackupManager::history() const { return BackupLog(config_.backup_dir).read(); }

void BackupManager::check_offsite_before_backup() {
  // A bad S3 setting fails here (Error(kConfig), exit 2), not after the backup is committed.
  std::shared_ptr<S3Storage> remote = make_s3_storage(config_, S3Patience::kQuick);
  try {
    LocalStorage local(config_.backup_dir);
    check_offsite_target(local, *remote);
  } catch (const Error& e) {
    if (e.category() == ErrorCategory::kConfig) throw;  // another repository there: no backup
    // S3 out of reach: the backup is still worth making; the copy after it tries again.
    if (on_warning_) on_warning_(std::string("cannot check the off-site copy before the backup: ") + e.what());
  }
}

BackupInfo BackupManager::create_backup(BackupType type, BackupScope scope, bool keep) {
  auto started = std::chrono::system_clock::now();
  try {
    started = job_now();  // COFFER_NOW in tests, as the backup's own id and timestamp use
  } catch (const Error&) {
    // an invalid COFFER_NOW fails the backup below, where it is reported
  }
  auto steady = std::chrono::steady_clock::now();
  CompressionSpec compression{Codec::kNone, 0};
  Repository* opened = nullptr;
  try {
    compression = compression_of(config_);
    if (config_.s3_mode == S3Mode::kCopy && !source_s3_) check_offsite_before_backup();
    Repository& repo = repository(true);
    opened = &repo;
    auto held = lock(repo, false, "coffer create");
    repo.load_index();
    // Ids of failed attempts are in the log only: the new backup's id must not be one of them.
    const std::set<std::string> logged = BackupLog(config_.backup_dir).ids();
    // A backup whose lock was removed (`coffer unlock` while it was suspended) must not commit:
    // a cleanup may have deleted data it deduplicated against.
    BackupInfo info = run_backup(repo, config_,
                                 {type, scope, compression, on_progress_, on_warning_, [&held] { held->check_held(); },
                                  [&logged](const std::string& id) { return logged.count(id) > 0; }});
    if (keep) {
      try {
        add_pin(repo.storage(), info.backup_id);
      } catch (const Error& e) {
        fail(e.category(), "backup " + info.backup_id + " was made but could not be pinned: " + e.what() +
                               " (run `coffer pin " + info.backup_id + "`)");
      }
      info.pinned = true;
    }
    // Still under the shared lock: no cleanup can delete packs while they are being copied.
    if (config_.s3_mode == S3Mode::kCopy && !source_s3_) {
      OffsiteCopyResult copy;
      try {
        auto remote = make_s3_storage(config_);
        copy = copy_offsite(repo.storage(), *remote);
      } catch (const Error& e) {
        copy.error = std::string("off-site copy failed: ") + e.what();
      }
      info.offsite_copy = BackupInfo::OffsiteCopy{copy.copied, copy.error, copy.objects, copy.bytes};
    }
    const std::string manifest_path = repository_on_s3(config_, source_s3_)
                                          ? repo.storage().describe() + "/" + manifest_key(info.backup_id)
                                          : (config_.backup_dir / manifest_key(info.backup_id)).string();
    BackupLog(config_.backup_dir, on_warning_)
        .append(success_record(info, compression, repo.encrypted(), manifest_path));
    return info;
  } catch (const Error& e) {
    std::set<std::string> committed;
    try {
      if (opened)
        for (const std::string& id : opened->list_backup_ids()) committed.insert(id);
    } catch (const Error&) {
      // the repository is out of reach: the log's own ids still count
    }
    auto in_repository = [&committed](const std::string& id) { return committed.count(id) > 0; };
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - steady).count();
    HistoryRecord failed =
        failed_attempt_record(type, started, seconds, scope == BackupScope::kFiles ? "" : config_.db_name, e);
    failed.backup.compressed = compression.codec != Codec::kNone;
    failed.backup.compression = codec_name(compression.codec);
    failed.backup.encrypted = opened ? opened->encrypted() : config_.encryption;
    log_failed_attempt(config_.backup_dir, failed, started, in_repository, on_warning_);
    throw;
  }
}

std::vector<BackupInfo> BackupManager::list_backups() {
  std::vector<BackupInfo> out = committed_backups(true);
  if (std::any_of(out.begin(), out.end(), [](const BackupInfo& b) { return b.physical.has_value(); })) {
    // Each physical backup's restore window, from the WAL archive as it is now: a view, so a
    // WAL archive that cannot be read is a warning, not a failed list.
    try {
      const std::map<std::string, WalArchiveStatus> pushes = WalPushState(config_.backup_dir).read();
      fill_restore_windows(repository(false), out, [&](const std::string& name) {
        for (const auto& [cluster, s] : pushes)
          if (s.last_archived == name) return s.last_archived_time;
        return std::string();
      });
    } catch (const Error& e) {
      if (on_warning_) on_warning_(std::string("restore windows unknown: ") + e.what());
    }
  }
  return out;
}

std::vector<BackupInfo> BackupManager::committed_backups(bool with_offsite) {
  Repository& repo = repository(false);
  std::vector<BackupInfo> out;
  std::set<std::string> pins = read_pins(repo.storage());
  for (const std::string& id : repo.list_backup_ids()) {
    try {
      out.push_back(repo.read_manifest(id).info);
    } catch (const Error& e) {
      if (e.category() == ErrorCategory::kNotFound) continue;  // removed by a cleanup while we listed
      throw;
    }
    out.back().pinned = pins.count(id) > 0;
  }
  if (with_offsite && config_.s3_mode == S3Mode::kCopy && !source_s3_) {
    // Which backups are off-site: their manifest is on S3. S3 out of reach is a warning only,
    // after a few seconds at most (S3Patience::kQuick): list and status are read-only views.
    try {
      std::set<std::string> remote;
      for (const ObjectInfo& o : make_s3_storage(config_, S3Patience::kQuick)->list("snapshots/")) remote.insert(o.key);
      for (BackupInfo& b : out) b.offsite = remote.count(manifest_key(b.backup_id)) > 0;
    } catch (const Error& e) {
      if (on_warning_)
        on_warning_(std::string("off-site: unknown (") +
                    (e.category() == ErrorCategory::kStorage ? "S3 unreachable: " : "") + e.what() + ")");
    }
  }
  std::sort(out.begin(), out.end(), [](const BackupInfo& a, const BackupInfo& b) {
    return std::tie(a.timestamp, a.backup_id) < std::tie(b.timestamp, b.backup_id);
  });
  return out;
}

std::string BackupManager::resolve_id(const std::string& backup_id) {
  if (backup_id != "latest") return backup_id;
  auto all = committed_backups(false);
  if (all.empty()) fail(ErrorCategory::kNotFound, "there are no backups in " + repository(false).storage().describe());
  return all.back().backup_id;
}

namespace {

bool holds(const BackupInfo& b, BackupScope scope) {
  if (scope == BackupScope::kDatabase) return b.database.has_value();
  if (scope == BackupScope::kFiles) return b.has_files;
  return b.database.has_value() && b.has_files;
}

// "latest" for a restore: the newest backup (of `backups`, oldest first) that holds what the
// restore asks for; for a full restore, the newest with both parts, else the newest of all.
std::string latest_holding(const std::vector<BackupInfo>& backups, BackupScope scope, const std::string& where) {
  if (backups.empty()) fail(ErrorCategory::kNotFound, "there are no backups in " + where);
  for (auto it = backups.rbegin(); it != backups.rend(); ++it)
    if (holds(*it, scope)) return it->backup_id;
  if (scope == BackupScope::kAll) return backups.back().backup_id;
  fail(ErrorCategory::kNotFound, std::string("no backup in ") + where + " holds " +
                                     (scope == BackupScope::kDatabase ? "a database" : "files"));
}

// "; the newest backup that holds one is ID" (or "; no backup holds one").
std::string newest_other(const std::vector<BackupInfo>& backups, BackupScope part) {
  for (auto it = backups.rbegin(); it != backups.rend(); ++it)
    if (holds(*it, part)) return "; the newest backup that holds " + std::string(part == BackupScope::kFiles ? "files" : "a database") + " is " + it->backup_id;
  return std::string("; no backup holds ") + (part == BackupScope::kFiles ? "files" : "a database");
}

// Both at once: the database restore waits mostly on the server (pg_restore), the files restore
// on this machine's reads and writes, so a full restore takes about as long as the longer one.
// The files start once the database restore has checked its target, so that a refused target
// (tables there and no --clean) restores nothing. One progress line: the files', then the
// database's (its latest is shown again when the files are done); the two threads' callbacks
// are serialized.
void restore_database_and_files(Repository& repo, const Manifest& manifest, const BackupConfig& config,
                                const RestoreOptions& options, const std::function<void(const std::string&)>& on_warning,
                                const std::function<void(const Progress&)>& on_progress, RestoreResult& result,
                                const std::function<void(const std::function<void(const Progress&)>&)>& restore_files) {
  std::mutex mu;
  bool files_done = false;
  std::optional<Progress> held;  // the database's latest, while the files' line is shown
  auto db_progress = [&](const Progress& p) {
    std::lock_guard lock(mu);
    if (!files_done) {
      held = p;
    } else if (on_progress) {
      on_progress(p);
    }
  };
  auto files_progress = [&](const Progress& p) {
    std::lock_guard lock(mu);
    if (on_progress) on_progress(p);
  };
  auto warn = [&](const std::string& w) {
    std::lock_guard lock(mu);
    if (on_warning) on_warning(w);
  };
  auto files_finished = [&] {
    std::lock_guard lock(mu);
    files_done = true;
    if (held && on_progress) on_progress(*held);
  };
  std::promise<void> checked;
  std::atomic<bool> checked_told{false};
  std::future<void> target_checked = checked.get_future();
  std::future<DatabaseRestoreResult> database = std::async(std::launch::async, [&] {
    try {
      return restore_database(repo, manifest, config, options, warn, db_progress, [&] {
        checked_told = true;
        checked.set_value();
      });
    } catch (...) {
      if (!checked_told.exchange(true)) checked.set_exception(std::current_exception());
      throw;
    }
  });
  target_checked.get();  // the database restore's refusal, before any file is written
  try {
    restore_files(files_progress);
  } catch (...) {
    files_finished();
    try {
      database.get();
    } catch (const std::exception& e) {
      warn(std::string("the database restore failed too: ") + e.what());
    }
    throw;
  }
  files_finished();
  result.database = database.get();
}

}  // namespace

RestoreResult BackupManager::restore_from_backup(const std::string& backup_id, const RestoreOptions& options) {
  Repository& repo = repository(false);
  auto held = read_lock(repo, "coffer restore");
  std::vector<BackupInfo> backups = committed_backups(false);
  std::string id = backup_id == "latest" ? latest_holding(backups, options.scope, repo.storage().describe()) : backup_id;
  repo.load_index();
  Manifest manifest = repo.read_manifest(id);
  bool want_files = options.scope != BackupScope::kDatabase;
  bool want_db = options.scope != BackupScope::kFiles;
  // A part asked for (by --type, or, for a full restore, by a target or the configuration) that
  // the backup lacks fails the restore before anything is written: never a silent half restore.
  const bool db_asked = options.scope == BackupScope::kDatabase || options.target_db || options.clean ||
                        !options.tables.empty() || !config_.db_name.empty();
  const bool files_asked = options.scope == BackupScope::kFiles || options.target || !options.include.empty() ||
                           !config_.backup_paths.empty();
  if (want_files && files_asked && !manifest.info.has_files)
    fail(ErrorCategory::kNotFound, "backup " + id + " holds no files (it was made with --only database)" +
                                       newest_other(backups, BackupScope::kFiles) +
                                       (options.scope == BackupScope::kAll ? "; restore only its database with --type database" : ""));
  if (want_db && db_asked && !manifest.database)
    fail(ErrorCategory::kNotFound, "backup " + id + " holds no database (it was made with --only files, or without DB_NAME)" +
                                       newest_other(backups, BackupScope::kDatabase) +
                                       (options.scope == BackupScope::kAll ? "; restore only its files with --type files" : ""));
  RestoreResult result;
  result.backup_id = id;
  const bool db = want_db && manifest.database, files = want_files && manifest.info.has_files;
  // The files' conflicts are settled first: a refused files restore starts no database restore.
  std::optional<FilesRestore> files_restore;
  if (files) files_restore.emplace(repo, id, RestoreJobOptions{options, ::geteuid() == 0, nullptr});
  auto restore_files = [&](const std::function<void(const Progress&)>& on_progress) {
    RestoreResult done = files_restore->run(on_progress);
    result.files_restored = done.files_restored;
    result.bytes_restored = done.bytes_restored;
    result.files_kept = done.files_kept;
    result.removed_temps = done.removed_temps;
    result.errors = done.errors;
  };
  if (db && files) {
    restore_database_and_files(repo, manifest, config_, options, on_warning_, on_progress_, result, restore_files);
  } else if (db) {
    result.database = restore_database(repo, manifest, config_, options, on_warning_, on_progress_);
  } else if (files) {
    restore_files(on_progress_);
  }
  return result;
}

ExportResult BackupManager::export_backup(const std::string& backup_id, const ExportOptions& options) {
  Repository& repo = repository(false);
  auto held = read_lock(repo, "coffer export");
  std::string id = backup_id;
  if (id == "latest") id = latest_holding(committed_backups(false), options.scope, repo.storage().describe());
  repo.load_index();
  return run_export(repo, id, options, on_progress_);
}

VerifyResult BackupManager::verify(const VerifyOptions& options) {
  Repository& repo = repository(false);
  auto held = read_lock(repo, "coffer verify");
  VerifyOptions o = options;
  if (o.backup_id) o.backup_id = resolve_id(*o.backup_id);
  VerifyResult result = run_verify(repo, o, on_progress_);
  // A deleted manifest takes its backup out of sight, not just out of the repository: compare with
  // the log of this repository (not with an off-site copy, which may lag behind).
  if (!o.backup_id && !source_s3_) {
    std::vector<std::string> ids = repo.list_backup_ids();
    std::set<std::string> present(ids.begin(), ids.end()), removed;
    std::vector<HistoryRecord> log;
    try {
      log = history();
    } catch (const Error& e) {
      result.problems.push_back({"", "", "backup_log.json", std::string("cannot read the backup log: ") + e.what()});
      result.ok = false;
    }
    // Cleanups log what they remove before removing it ("removing"), and what they removed.
    for (const HistoryRecord& rec : log) {
      if (!rec.is_cleanup() || rec.cleanup.dry_run) continue;
      removed.insert(rec.cleanup.removing.begin(), rec.cleanup.removing.end());
      removed.insert(rec.cleanup.removed.begin(), rec.cleanup.removed.end());
    }
    for (const HistoryRecord& rec : log) {
      if (rec.status != "success") continue;
      const std::string& id = rec.backup_id;
      if (!present.count(id) && !removed.count(id) && is_valid_backup_id(id)) {
        result.problems.push_back({id, "", manifest_key(id),
                                   "recorded as successful in backup_log.json but missing from the repository "
                                   "(its manifest is gone, and no cleanup removed it)"});
        result.ok = false;
      }
    }
  }
  return result;
}

CleanupResult BackupManager::cleanup(const CleanupOptions& options) {
  auto steady = std::chrono::steady_clock::now();
  auto log = [&](const std::string& status, const CleanupResult* r, const Error* error) {
    HistoryRecord record;
    record.backup_type = "cleanup";
    record.timestamp = format_iso8601_utc(job_now());
    record.status = status;
    record.duration_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - steady).count();
    record.cleanup.dry_run = options.dry_run;
    if (r) {
      record.warnings = r->warnings;
      record.cleanup.removed = r->removed;
      record.cleanup.bytes_freed = r->bytes_freed;
      record.cleanup.packs_deleted = r->packs_deleted;
      record.cleanup.packs_rewritten = r->packs_rewritten;
      record.cleanup.policy = r->policy;
    }
    if (error) {
      record.error = error->what();
      record.error_category = category_name(error->category());
    }
    BackupLog(config_.backup_dir, on_warning_).append(record);
  };
  try {
    Repository& repo = repository(false);
    // A dry run changes nothing: a shared lock keeps cleanups out without holding up backups.
    auto held = options.dry_run ? lock(repo, false, "coffer cleanup --dry-run") : lock(repo, true, "coffer cleanup");
    CleanupJobOptions o;
    o.policy = {config_.retention_days, config_.keep_last,    config_.keep_daily,
                config_.keep_weekly,    config_.keep_monthly, config_.keep_yearly};
    o.now = job_now();
    o.cleanup = options;
    o.on_warning = on_warning_;
    o.check_lock = [&held] { held->check_held(); };
    o.before_removing = [&](const std::vector<std::string>& ids) {
      HistoryRecord started;
      started.backup_type = "cleanup";
      started.timestamp = format_iso8601_utc(job_now());
      started.status = "started";
      started.cleanup.removing = ids;
      BackupLog(config_.backup_dir, on_warning_).append(started);
    };
    CleanupResult result = run_cleanup(repo, o);
    log("success", &result, nullptr);
    return result;
  } catch (const Error& e) {
    try {
      std::error_code ec;
      if (fs::is_directory(config_.backup_dir, ec)) log("failed", nullptr, &e);
    } catch (const std::exception&) {
      // ignored on purpose: the cleanup's own error is the one to report
    }
    throw;
  }
}

bool BackupManager::pin(const std::string& backup_id) {
  Repository& repo = repository(false);
  auto held = lock(repo, false, "coffer pin");
  std::string id = resolve_id(backup_id);
  repo.read_manifest(id);  // unknown id: kNotFound naming it
  return add_pin(repo.storage(), id);
}

bool BackupManager::unpin(const std::string& backup_id) {
  Repository& repo = repository(false);
  auto held = lock(repo, false, "coffer unpin");
  std::string id = resolve_id(backup_id);
  if (!is_valid_backup_id(id))
    fail(ErrorCategory::kInput, "'" + id + "' is not a valid backup id (see `coffer list`)");
  return remove_pin(repo.storage(), id);
}

std::vector<LockInfo> BackupManager::unlock(bool all) {
  // Locks are plaintext: no passphrase is needed to clear them.
  std::error_code ec;
  if (!repository_on_s3(config_, source_s3_) && !fs::is_directory(config_.backup_dir, ec))
    fail(ErrorCategory::kNotFound, "no repository in " + config_.backup_dir.string() + " (check BACKUP_DIR)");
  std::shared_ptr<Storage> held_storage = make_repository_storage(config_, source_s3_);
  Storage& storage = *held_storage;
  if (!Repository::exists(storage))
    fail(ErrorCategory::kNotFound, "no repository in " + storage.describe() + " (check BACKUP_DIR / S3 settings)");
  LockTiming timing;
  auto now = std::chrono::system_clock::now();
  std::vector<LockInfo> out;
  for (const LockRecord& r : remove_locks(storage, all, timing.stale_after)) {
    auto why = stale_reason(r, now, timing.stale_after);
    out.push_back({r.key, r.host, r.pid, r.command, r.started, r.exclusive, why.value_or("")});
  }
  return out;
}

RepairIndexResult BackupManager::repair_index(bool dry_run) {
  Repository& repo = repository(false);
  auto held = dry_run ? read_lock(repo, "coffer repair index --dry-run") : lock(repo, true, "coffer repair index");
  RepairIndexOptions o;
  o.dry_run = dry_run;
  o.on_warning = on_warning_;
  o.on_progress = on_progress_;
  o.check_lock = [&held] {
    if (held) held->check_held();
  };
  return run_repair_index(repo, o);
}

uint64_t BackupManager::repository_bytes() {
  std::error_code ec;
  if (!repository_on_s3(config_, source_s3_) && !fs::is_directory(config_.backup_dir, ec)) return 0;
  std::shared_ptr<Storage> storage = make_repository_storage(config_, source_s3_, true);
  uint64_t total = 0;
  for (const ObjectInfo& o : storage->list(""))
    if (o.key.rfind("backup_log.json", 0) != 0) total += o.size;  // the log and its lock file
  return total;
}

BackupManager::ChunkTotals BackupManager::chunk_totals() {
  std::error_code ec;
  if (!repository_on_s3(config_, source_s3_) && !fs::is_directory(config_.backup_dir, ec)) return {};
  Repository& repo = repository(false);
  repo.load_index();
  ChunkTotals t;
  for (const auto& [id, where] : repo.index().chunks()) {
    ++t.chunks;
    t.raw_bytes += where.raw_length;
    t.stored_bytes += where.length;
  }
  return t;
}

}  // namespace coffer
