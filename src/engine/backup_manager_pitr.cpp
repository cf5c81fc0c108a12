// BackupManager's point-in-time recovery calls (docs/pitr.md): the WAL archive's push and
// fetch, and the restore of a physical backup to a moment.
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>

#include <spdlog/spdlog.h>

#include "coffer/backup_manager.h"
#include "coffer/error.h"
#include "config/config_loader.h"
#include "engine/offsite_copy.h"
#include "engine/physical_restore.h"
#include "engine/storage_factory.h"
#include "engine/backup_log.h"
#include "engine/wal_jobs.h"
#include "engine/wal_push_state.h"
#include "repo/key_cache.h"
#include "repo/repo_lock.h"
#include "repo/repository.h"
#include "source/postgres/wal/cluster_id.h"
#include "source/postgres/wal/wal_archive.h"
#include "source/postgres/wal/wal_names.h"
#include "util/host.h"

namespace coffer {
namespace fs = std::filesystem;
namespace {

CompressionSpec configured_compression(const BackupConfig& c) {
  if (!c.compression) return {Codec::kNone, 0};
  return {codec_from_name(c.compression_algorithm).value_or(Codec::kZstd), c.compression_level};
}

fs::path data_dir_of(const BackupConfig& c) { return c.db_data_dir.empty() ? fs::current_path() : c.db_data_dir; }

// S3_MODE=copy: the file just archived goes to the off-site copy too, and only it (never the
// packs the copy may lack: the next backup's copy uploads those). wal-push succeeds only once
// both hold it, as pgBackRest's archive-push with several repositories: success with a copy on
// this host only would let PostgreSQL recycle WAL that losing the host loses (docs/pitr.md, S3).
void copy_wal_offsite(Repository& repo, Storage& remote, const WalPushOutcome& pushed) {
  const std::string key = pg::wal::WalArchive::key_of(pushed.cluster, pushed.name);
  try {
    copy_object_offsite(repo.storage(), remote, key);
  } catch (const Error& e) {
    fail(e.category() == ErrorCategory::kConfig ? ErrorCategory::kConfig : ErrorCategory::kStorage,
         "WAL file " + pushed.name + " is archived in " + repo.storage().describe() +
             " but not in the off-site copy (S3_MODE=copy), so it is not reported archived; PostgreSQL keeps "
             "it and tries again: " + e.what());
  }
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
  const auto started_at = std::chrono::system_clock::now();
  WalPushState state(config_.backup_dir);
  const bool noting = fs::is_directory(config_.backup_dir);  // S3 repositories may have no local folder
  WalPushOutcome o;
  try {
    Repository& repo = wal_repository();
    o = push_wal_file(repo, path, data_dir_of(config_), wal_compression(configured_compression(config_)));
    if (config_.s3_mode == S3Mode::kCopy && !source_s3_) copy_wal_offsite(repo, *make_s3_storage(config_), o);
  } catch (const Error& e) {
    if (noting) note_failed_push(state, path, started_at, started, e);
    throw;
  }
  if (noting) {
    try {
      state.stored(o.cluster, o.name, job_now());
    } catch (const Error& e) {
      spdlog::warn("cannot note the push in {}: {}", config_.backup_dir.string(), e.what());
    }
  }
  WalPushResult r;
  r.name = o.name;
  r.cluster = o.cluster;
  r.already_archived = o.already_archived;
  r.bytes = o.bytes;
  r.duration_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return r;
}

// A failed push, in wal_push_state.json (every one) and backup_log.json (the first of its file,
// as the archiver retries every few seconds). Never throws: the push's own error is the news.
void BackupManager::note_failed_push(WalPushState& state, const std::string& path,
                                     std::chrono::system_clock::time_point started_at,
                                     std::chrono::steady_clock::time_point started, const Error& error) {
  const std::string name = fs::path(path).filename().string();
  std::string cluster = "unknown";
  try {
    cluster = pg::wal::read_cluster_id(data_dir_of(config_)).name();
  } catch (const Error&) {
  }
  try {
    if (!state.failed(cluster, name, job_now(), error.what())) return;
    HistoryRecord record;
    record.backup_id = name;
    record.backup_type = "wal-push";
    record.timestamp = format_iso8601_utc(started_at);
    record.status = "failed";
    record.duration_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    record.error = error.what();
    record.error_category = category_name(error.category());
    record.backup.host = this_host();
    BackupLog(config_.backup_dir).append(record);
  } catch (const Error& e) {
    spdlog::warn("cannot note the failed push in {}: {}", config_.backup_dir.string(), e.what());
  }
}

std::vector<WalArchiveStatus> BackupManager::wal_status(bool list_archive) {
  std::map<std::string, WalArchiveStatus> by_cluster = WalPushState(config_.backup_dir).read();
  if (list_archive) {
    Repository& repo = repository(false);
    for (const std::string& cluster : pg::wal::WalArchive::clusters(repo.storage())) {
      WalArchiveStatus& s = by_cluster[cluster];
      s.cluster = cluster;
      pg::wal::WalArchive archive(repo, cluster);
      for (const pg::wal::WalArchive::File& f : archive.files()) {
        ++s.files;
        s.bytes += f.stored_bytes;
        std::optional<pg::wal::FileName> n = pg::wal::parse_file_name(f.name);
        if (n && n->kind == pg::wal::FileKind::kSegment &&
            (s.newest_segment.empty() || pg::wal::position_before(s.newest_segment, f.name) ||
             (s.newest_segment.substr(8) == f.name.substr(8) && s.newest_segment < f.name)))
          s.newest_segment = f.name;
      }
    }
  }
  std::vector<WalArchiveStatus> out;
  for (auto& [cluster, s] : by_cluster) out.push_back(std::move(s));
  return out;
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
  if (request.restore_command.empty()) request.restore_command = wal_fetch_command(options.program, config_, source_s3_);
  Repository& repo = repository(false);
  std::unique_ptr<RepoLock> held = read_lock(repo, "coffer restore");
  repo.load_index();
  PointInTimeResult result = restore_physical(repo, request, on_progress_, on_warning_);
  if (repository_on_s3(config_, source_s3_)) {
    // Secrets never go on the command line that restore_command is: the server needs them.
    result.warnings.push_back(
        "the restored server's restore_command (coffer wal-fetch) reads WAL from S3: start the server with the S3 "
        "settings in its environment (S3_BUCKET, S3_ENDPOINT, S3_REGION, S3_PREFIX" +
        std::string(source_s3_ ? "" : ", S3_MODE=repository") +
        ", and AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or the AWS shared credentials file); they are not "
        "written into postgresql.auto.conf");
    if (on_warning_) on_warning_(result.warnings.back());
  }
  return result;
}

}  // namespace coffer
