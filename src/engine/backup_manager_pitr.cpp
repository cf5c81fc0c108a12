// BackupManager's point-in-time recovery calls (docs/pitr.md): the WAL archive's push and
// fetch, and the restore of a physical backup to a moment.
#include <unistd.h>

#include <chrono>
#include <filesystem>

#include "coffer/backup_manager.h"
#include "coffer/error.h"
#include "config/config_loader.h"
#include "engine/physical_restore.h"
#include "engine/storage_factory.h"
#include "engine/wal_jobs.h"
#include "repo/key_cache.h"
#include "repo/repo_lock.h"
#include "repo/repository.h"

namespace coffer {
namespace fs = std::filesystem;
namespace {

CompressionSpec configured_compression(const BackupConfig& c) {
  if (!c.compression) return {Codec::kNone, 0};
  return {codec_from_name(c.compression_algorithm).value_or(Codec::kZstd), c.compression_level};
}

fs::path data_dir_of(const BackupConfig& c) { return c.db_data_dir.empty() ? fs::current_path() : c.db_data_dir; }

// "'/usr/bin/coffer' --backup-dir '/srv/backups' --passphrase-file '/etc/coffer/pass' wal-fetch %f "%p""
std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace

Repository& BackupManager::wal_repository() {
  if (repo_) return *repo_;
  std::shared_ptr<Storage> storage = make_repository_storage(config_, source_s3_, false);
  const KeyCache cache(KeyCache::default_dir());
  repo_ = Repository::open(storage, config::read_passphrase(config_), config_.wal_key_cache ? &cache : nullptr);
  return *repo_;
}

WalPushResult BackupManager::wal_push(const std::string& path) {
  const auto started = std::chrono::steady_clock::now();
  WalPushOutcome o = push_wal_file(wal_repository(), path, data_dir_of(config_),
                                   wal_compression(configured_compression(config_)));
  WalPushResult r;
  r.name = o.name;
  r.cluster = o.cluster;
  r.already_archived = o.already_archived;
  r.bytes = o.bytes;
  r.duration_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return r;
}

bool BackupManager::wal_fetch(const std::string& name, const std::string& destination) {
  return fetch_wal_file(wal_repository(), name, data_dir_of(config_), destination);
}

PointInTimeResult BackupManager::restore_to_point_in_time(const std::string& backup_id,
                                                          const PointInTimeOptions& options) {
  PhysicalRestoreRequest request;
  request.backup_id = backup_id;
  request.options = options;
  request.target = recovery_target_of(options);  // bad input is refused before the repository is opened
  request.restore_owner = ::geteuid() == 0;
  request.restore_command = options.restore_command;
  if (request.restore_command.empty()) {
    request.restore_command = shell_quote(options.program) + " --backup-dir " + shell_quote(fs::absolute(config_.backup_dir).string());
    if (!config_.passphrase_file.empty())
      request.restore_command += " --passphrase-file " + shell_quote(fs::absolute(config_.passphrase_file).string());
    if (source_s3_) request.restore_command += " --source s3";
    request.restore_command += " wal-fetch %f \"%p\"";
  }
  Repository& repo = repository(false);
  std::unique_ptr<RepoLock> held = read_lock(repo, "coffer restore");
  repo.load_index();
  return restore_physical(repo, request, on_progress_, on_warning_);
}

}  // namespace coffer
