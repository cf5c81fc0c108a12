#include "engine/backup_job.h"


#include <atomic>
#include <chrono>
#include <algorithm>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>
#include <string_view>
#include <unordered_set>

#include <spdlog/spdlog.h>

#include "coffer/clock.h"
#include "coffer/error.h"
#include "engine/backup_id.h"
#include "engine/database_backup.h"
#include "engine/files_backup.h"
#include "engine/physical_backup.h"
#include "repo/tree_stream.h"
#include "repo/chunk_store.h"
#include "repo/delta_base_picker.h"
#include "repo/repo_lock.h"
#include "source/files/tree_walker.h"
#include "util/failpoint.h"
#include "util/two_ended_cursor.h"

namespace coffer {
namespace fs = std::filesystem;
using files::FileEntry;

BackupBases find_bases(Repository& repo, BackupType type, bool need_files, const std::string& db_name) {
  BackupBases bases;
  if (type == BackupType::kFull && db_name.empty()) return bases;
  // Timestamps have one-second resolution; ids break ties (suffix _2 sorts after the base).
  auto newer = [](const Manifest& m, const std::optional<Manifest>& than) {
    return !than || std::tie(m.info.timestamp, m.info.backup_id) > std::tie(than->info.timestamp, than->info.backup_id);
  };
  for (const std::string& id : repo.list_backup_ids()) {
    Manifest m = repo.read_manifest(id);
    if (!db_name.empty() && m.database && m.database->info.name == db_name && newer(m, bases.last_dump))
      bases.last_dump = m;
    if (type == BackupType::kFull) continue;
    if (type == BackupType::kDifferential && m.info.type != BackupType::kFull) continue;
    if (need_files && !m.info.has_files) continue;
    if (newer(m, bases.parent)) bases.parent = std::move(m);
  }
  return bases;
}

namespace {

// Whether this backup may store changed dump chunks as deltas against the last dump's.
bool dump_deltas_enabled(Repository& repo) {
  // A repository on S3 (S3_MODE=repository) would read each base back with a request of its
  // own, thousands per backup: there changed chunks are stored whole. (A cache of whole packs
  // of the last dump would fix that; the local repository with an off-site copy has deltas.)
  if (!repo.supports_deltas() || repo.storage().remote()) return false;
  // Testing hook: the same backups without deltas, to measure what they save.
  const char* off = std::getenv("COFFER_DB_DELTAS");
  return !(off && std::string(off) == "off");
}

// The newest backup with a physical part: its relation files are the bases of the new one's deltas.
std::optional<Manifest> last_physical(Repository& repo) {
  std::optional<Manifest> last;
  for (const std::string& id : repo.list_backup_ids()) {
    Manifest m = repo.read_manifest(id);
    if (m.physical && (!last || m.physical->info.stop_time > last->physical->info.stop_time)) last = std::move(m);
  }
  return last;
}

// Pairs the new dump's chunks, and the chunks of its chunk list, with the last dump's (deltas).
// None without a last dump, or when its chunk list cannot be read: the backup then stores
// changed chunks whole, and verify reports the damage.
struct DumpDeltaBases {
  std::unique_ptr<DeltaBasePicker> dump, list;
};

DumpDeltaBases dump_delta_bases(Repository& repo, const std::optional<Manifest>& last_dump,
                                const std::function<void(const std::string&)>& warn) {
  if (!last_dump) return {};
  const DatabasePart& db = *last_dump->database;
  try {
    return {std::make_unique<DeltaBasePicker>(read_ref_list(repo, db.dump_list, db.info.dump_bytes,
                                                            "database dump of backup " + last_dump->info.backup_id)),
            std::make_unique<DeltaBasePicker>(db.dump_list)};
  } catch (const Error& e) {
    if (e.category() != ErrorCategory::kDamaged && e.category() != ErrorCategory::kNotFound) throw;
    warn(std::string("the last database dump cannot be read, so changed chunks are stored whole: ") + e.what());
    return {};
  }
}

}  // namespace

BackupInfo run_backup(Repository& repo, const BackupConfig& config, const BackupJobOptions& options) {
  auto started = job_now();  // COFFER_NOW in tests
  auto steady_start = std::chrono::steady_clock::now();
  BackupInfo info;
  std::mutex warn_mu;  // the database part warns from its own thread
  auto warn = [&](const std::string& w) {
    std::lock_guard lock(warn_mu);
    info.warnings.push_back(w);
    if (options.on_warning) options.on_warning(w);
  };
  auto unreadable = [&](const std::string& source, const std::string& w) {
    warn(w);
    std::lock_guard lock(warn_mu);
    info.unreadable.push_back(source);
  };

  bool want_files = options.scope != BackupScope::kDatabase;
  bool want_db = options.scope != BackupScope::kFiles;
  const bool physical = config.db_backup_mode == DbBackupMode::kPhysical;
  if (options.scope == BackupScope::kAll) {  // back up what is configured
    want_files = !config.backup_paths.empty();
    want_db = !config.db_name.empty() || physical;
    if (!want_files && !want_db)
      fail(ErrorCategory::kConfig,
           "nothing to back up: set BACKUP_PATHS (folders, colon-separated) and/or DB_NAME (the database)");
  }
  if (want_files && config.backup_paths.empty())
    fail(ErrorCategory::kConfig, "BACKUP_PATHS is empty: set it to the folders to back up (colon-separated)");
  if (want_db && !physical && config.db_name.empty())
    fail(ErrorCategory::kConfig, "DB_NAME is not set: set it to the database to back up");
  std::vector<files::WalkRoot> roots;
  if (want_files) roots = files::name_roots(config.backup_paths);

  info.type = options.type;
  info.hostname = this_host();
  info.timestamp = format_iso8601_utc(started);
  info.has_files = want_files;

  // The last dump is looked for only when deltas can use it: a full backup then reads no manifest.
  BackupBases bases =
      find_bases(repo, options.type, want_files,
                 want_db && !physical && dump_deltas_enabled(repo) ? config.db_name : "");
  std::optional<Manifest>& parent = bases.parent;
  if (options.type != BackupType::kFull && !parent) {
    warn(std::string("no earlier ") + (options.type == BackupType::kDifferential ? "full " : "") +
         "backup to compare with: taking a full backup instead");
    info.type = BackupType::kFull;
  }
  if (parent) info.parent = parent->info.backup_id;  // its file list is read as the files part runs

  ChunkStore store(repo, options.compression);
  Manifest manifest;
  // The database part runs on its own thread, next to the files part; both feed one store.
  std::optional<DatabasePart> database;
  std::optional<PhysicalPart> physical_part;
  std::exception_ptr db_failure;
  // Which part failed first: the other one then only stopped because of it ("aborted"), and the
  // error to report is the first one's.
  enum class FirstFailure { kNone, kDatabase, kFiles };
  std::atomic<FirstFailure> first_failure{FirstFailure::kNone};
  auto claim_first = [&](FirstFailure who) {
    FirstFailure none = FirstFailure::kNone;
    first_failure.compare_exchange_strong(none, who);
  };
  std::thread db_thread;
  DumpDeltaBases dump_bases;
  if (want_db) {
    db_thread = std::thread([&] {
      try {
        // The files part shows progress when there is one; a database-only backup shows the database's.
        auto db_progress = want_files ? std::function<void(const Progress&)>() : options.on_progress;
        if (physical) {
          std::optional<Manifest> last = dump_deltas_enabled(repo) ? last_physical(repo) : std::nullopt;
          physical_part = backup_physical(repo, store, config, {warn, unreadable, db_progress}, last ? &*last : nullptr);
        } else {
          dump_bases = dump_delta_bases(repo, bases.last_dump, warn);
          database = backup_database(store, repo.db_chunker(), config, warn, dump_bases.dump.get(), db_progress);
        }
      } catch (...) {
        db_failure = std::current_exception();
        claim_first(FirstFailure::kDatabase);
        store.abort();  // stop the files part early: the backup has failed
      }
    });
  }
  std::vector<FileEntry> kept;
  try {
    if (want_files) kept = backup_files(repo, store, roots, parent ? &*parent : nullptr, info, warn, unreadable,
                                      config.backup_dir, options.on_progress);
  } catch (...) {
    claim_first(FirstFailure::kFiles);
    store.abort();
    if (db_thread.joinable()) db_thread.join();
    if (first_failure == FirstFailure::kDatabase && db_failure) std::rethrow_exception(db_failure);
    throw;
  }
  if (db_thread.joinable()) db_thread.join();
  if (db_failure) std::rethrow_exception(db_failure);
  if (database) {
    database->dump_list = write_ref_list(store, repo.tree_chunker(), database->dump, dump_bases.list.get());
    manifest.database = std::move(*database);
    info.database = manifest.database->info;
  }
  if (physical_part) {
    manifest.physical = std::move(*physical_part);
    info.physical = manifest.physical->info;
  }

  for (const auto& r : roots) manifest.roots.push_back({r.name, r.source.string()});
  manifest.tree = write_tree(store, repo.tree_chunker(), kept);
  std::vector<FileEntry>().swap(kept);  // stored: free the list before commit() grows the index
  store.commit();  // packs, then index
  failpoint("create-before-manifest");

  ChunkStoreStats stats = store.stats();
  if (stats.chunks_fast > 0)
    spdlog::debug("{} of {} new chunks compressed at the fastest level to keep up with pg_dump", stats.chunks_fast,
                  stats.chunks_new);
  info.bytes_added = stats.bytes_stored;
  info.duration_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - steady_start).count();
  manifest.metadata = {{"compressed", options.compression.codec != Codec::kNone},
                       {"compression", codec_name(options.compression.codec)},
                       {"compression_level", options.compression.level},
                       {"encrypted", repo.encrypted()},
                       {"chunks_new", stats.chunks_new},
                       {"chunks_known", stats.chunks_known},
                       {"chunks_delta", stats.chunks_delta},
                       // database chunks compressed at the codec's fastest level to keep up with pg_dump
                       {"chunks_fast_level", stats.chunks_fast},
                       {"bytes_new_raw", stats.bytes_new_raw},
                       {"tool", "coffer 0.1.0"}};
  // The manifest is the commit point: write it under a free id (put_if_absent closes races).
  if (options.before_commit) options.before_commit();
  while (true) {
    auto ids = repo.list_backup_ids();
    info.backup_id = make_backup_id(info.type, started, [&](const std::string& id) {
      return std::binary_search(ids.begin(), ids.end(), id) || (options.id_taken && options.id_taken(id));
    });
    manifest.info = info;
    if (repo.write_manifest(manifest, nullptr)) break;
  }
  failpoint("create-after-manifest");  // committed; the log record and off-site copy come after
  info.status = "success";
  return info;
}

}  // namespace coffer
