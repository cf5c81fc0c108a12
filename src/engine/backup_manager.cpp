#include "coffer/backup_manager.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>

#include "codec/compression.h"
#include "config/config_loader.h"
#include "engine/backup_id.h"
#include "engine/backup_job.h"
#include "engine/backup_log.h"
#include "engine/database_restore.h"
#include "engine/restore_job.h"
#include "engine/verify_job.h"
#include "repo/repository.h"
#include "storage/local_storage.h"

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

Repository& BackupManager::repository(bool create_if_missing) {
  if (repo_) return *repo_;
  std::error_code ec;
  if (!create_if_missing && !fs::is_directory(config_.backup_dir, ec))
    fail(ErrorCategory::kNotFound, "no repository in " + config_.backup_dir.string() +
                                       ": the folder does not exist (check BACKUP_DIR, or run `coffer create`)");
  auto storage = std::make_shared<LocalStorage>(config_.backup_dir);
  std::optional<std::string> passphrase = config::read_passphrase(config_);
  if (Repository::exists(*storage)) {
    repo_ = Repository::open(storage, passphrase);
  } else if (create_if_missing) {
    RepositoryParams params;
    params.encrypted = config_.encryption;
    params.passphrase = passphrase;
    repo_ = Repository::init(storage, params);
  } else {
    repo_ = Repository::open(storage, passphrase);  // throws the "no repository" error
  }
  if (config_.encryption && !repo_->encrypted() && on_warning_)
    on_warning_("this repository is not encrypted (it was created with ENCRYPTION=false)");
  return *repo_;
}

void BackupManager::init_repository() {
  auto storage = std::make_shared<LocalStorage>(config_.backup_dir);
  RepositoryParams params;
  params.encrypted = config_.encryption;
  params.passphrase = config::read_passphrase(config_);
  repo_ = Repository::init(storage, params);
}

static nlohmann::json database_log_json(const DatabaseInfo& d) {
  return {{"name", d.name},
          {"server_version", d.server_version},
          {"pg_dump_version", d.pg_dump_version},
          {"size_bytes", d.size_bytes},
          {"dump_bytes", d.dump_bytes},
          {"table_count", d.tables.size()},
          {"duration_seconds", d.duration_seconds},
          {"globals", d.globals}};
}

BackupInfo BackupManager::create_backup(BackupType type, BackupScope scope) {
  auto started = std::chrono::system_clock::now();
  auto steady = std::chrono::steady_clock::now();
  CompressionSpec compression{Codec::kNone, 0};
  try {
    compression = compression_of(config_);
    Repository& repo = repository(true);
    repo.load_index();
    BackupInfo info = run_backup(repo, config_, {type, scope, compression, on_progress_, on_warning_});
    BackupLog(config_.backup_dir)
        .append({{"backup_id", info.backup_id},
                 {"backup_type", backup_type_name(info.type)},
                 {"timestamp", info.timestamp},
                 {"status", "success"},
                 {"size_bytes", info.size_bytes},
                 {"file_path", (config_.backup_dir / manifest_key(info.backup_id)).string()},
                 {"metadata",
                  {{"compressed", compression.codec != Codec::kNone},
                   {"compression", codec_name(compression.codec)},
                   {"encrypted", repo.encrypted()},
                   {"parent", info.parent},
                   {"hostname", info.hostname},
                   {"files_read", info.files_read},
                   {"files", info.has_files},
                   {"database", info.database ? database_log_json(*info.database) : nlohmann::json(nullptr)}}},
                 {"duration_seconds", info.duration_seconds},
                 {"bytes_added", info.bytes_added},
                 {"file_count", info.file_count},
                 {"warnings", info.warnings}});
    return info;
  } catch (const Error& e) {
    log_failed_attempt(config_.backup_dir, backup_type_name(type), started,
                       std::chrono::duration<double>(std::chrono::steady_clock::now() - steady).count(),
                       {{"compressed", compression.codec != Codec::kNone},
                        {"compression", codec_name(compression.codec)},
                        {"encrypted", config_.encryption}},
                       e.what(), category_name(e.category()));
    throw;
  }
}

std::vector<BackupInfo> BackupManager::list_backups() {
  Repository& repo = repository(false);
  std::vector<BackupInfo> out;
  for (const std::string& id : repo.list_backup_ids()) out.push_back(repo.read_manifest(id).info);
  std::sort(out.begin(), out.end(), [](const BackupInfo& a, const BackupInfo& b) {
    return std::tie(a.timestamp, a.backup_id) < std::tie(b.timestamp, b.backup_id);
  });
  return out;
}

std::string BackupManager::resolve_id(const std::string& backup_id) {
  if (backup_id != "latest") return backup_id;
  auto all = list_backups();
  if (all.empty()) fail(ErrorCategory::kNotFound, "there are no backups in " + config_.backup_dir.string());
  return all.back().backup_id;
}

RestoreResult BackupManager::restore_from_backup(const std::string& backup_id, const RestoreOptions& options) {
  Repository& repo = repository(false);
  std::string id = resolve_id(backup_id);
  repo.load_index();
  Manifest manifest = repo.read_manifest(id);
  bool want_files = options.scope != BackupScope::kDatabase;
  bool want_db = options.scope != BackupScope::kFiles;
  if (options.scope == BackupScope::kFiles && !manifest.info.has_files)
    fail(ErrorCategory::kNotFound, "backup " + id + " holds no files (it was made with --only database)");
  if (options.scope == BackupScope::kDatabase && !manifest.database)
    fail(ErrorCategory::kNotFound, "backup " + id + " holds no database");
  RestoreResult result;
  result.backup_id = id;
  if (want_db && manifest.database) result.database = restore_database(repo, manifest, config_, options, on_warning_);
  if (want_files && manifest.info.has_files) {
    RestoreResult files = run_restore(repo, id, {options, ::geteuid() == 0, on_progress_});
    result.files_restored = files.files_restored;
    result.bytes_restored = files.bytes_restored;
    result.errors = files.errors;
  }
  return result;
}

VerifyResult BackupManager::verify(const VerifyOptions& options) {
  Repository& repo = repository(false);
  VerifyOptions o = options;
  if (o.backup_id) o.backup_id = resolve_id(*o.backup_id);
  return run_verify(repo, o, on_progress_);
}

}  // namespace coffer
