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
#include "repo/tree_stream.h"
#include "repo/chunk_store.h"
#include "repo/delta_base_picker.h"
#include "repo/repo_lock.h"
#include "source/files/file_source.h"
#include "source/files/read_ahead.h"
#include "source/files/tree_walker.h"
#include "util/failpoint.h"
#include "util/two_ended_cursor.h"

namespace coffer {
namespace fs = std::filesystem;
using files::EntryType;
using files::FileEntry;

namespace {

bool unchanged(const FileEntry& now, const FileEntry& before) {
  return before.type == EntryType::kFile && now.size == before.size && now.mtime_ns == before.mtime_ns &&
         now.ctime_ns == before.ctime_ns && now.inode == before.inode;
}


}  // namespace

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

// How far the kernel is asked to read ahead of the files being read: enough to keep reads in
// flight across many small files, small next to the page cache.
constexpr uint64_t kReadAheadBytes = 64 << 20;

// What phase 2 does with one entry (one byte per entry).
enum EntryState : uint8_t {
  kRead = 0,       // read the content (or not a file)
  kParentSeen,     // the parent has this path, but the file changed: read it
  kGrown,          // changed and grown (a log appended to): read it; the entry holds the parent's
                   // chunks, likely still its beginning (ChunkStore::add_stream's `earlier`)
  kReuseCandidate, // unchanged since the parent: its chunks are in the entry, reused if all still stored
  kDropped,        // vanished or no longer a regular file: left out
};

// Where an entry is on disk: its root's source plus the rest of its backup path (as the walk
// built it), so no path per entry is kept.
class SourcePaths {
 public:
  explicit SourcePaths(const std::vector<files::WalkRoot>& roots) : roots_(roots) {}
  std::string of(const std::string& path) const {
    const size_t slash = path.find('/');
    const std::string_view name = std::string_view(path).substr(0, slash);
    for (const files::WalkRoot& root : roots_) {
      if (root.name != name) continue;
      std::string source = root.source.native();  // plain strings: no fs::path parsing per file
      if (slash == std::string::npos) return source;
      if (source.back() != '/') source += '/';   // the root "/" already ends in one
      return source.append(path, slash + 1);
    }
    fail(ErrorCategory::kInternal, "backup entry " + files::display_path(path) + " is under no backup root");
  }

 private:
  const std::vector<files::WalkRoot>& roots_;
};

// Streams the parent's file list (never held whole) and gives each unchanged file its old chunks,
// looked up by path. Only the first parent entry for a path counts.
void adopt_parent_chunks(Repository& repo, const Manifest& parent, std::vector<FileEntry>& entries,
                         std::vector<uint8_t>& state) {
  std::vector<uint32_t> files_by_path;  // indices of this walk's files, sorted by path
  for (size_t i = 0; i < entries.size(); ++i)
    if (entries[i].type == EntryType::kFile) files_by_path.push_back(static_cast<uint32_t>(i));
  if (files_by_path.empty()) return;
  std::sort(files_by_path.begin(), files_by_path.end(),
            [&](uint32_t a, uint32_t b) { return entries[a].path < entries[b].path; });
  for_each_tree_entry(repo, parent.tree, parent.info.backup_id, [&](FileEntry& before) {
    if (before.type != EntryType::kFile) return;
    auto it = std::lower_bound(files_by_path.begin(), files_by_path.end(), before.path,
                               [&](uint32_t i, const std::string& p) { return entries[i].path < p; });
    if (it == files_by_path.end() || entries[*it].path != before.path || state[*it] != kRead) return;
    FileEntry& now = entries[*it];
    if (unchanged(now, before)) {
      now.chunks = std::move(before.chunks);
      state[*it] = kReuseCandidate;
    } else if (now.size > before.size && before.chunks.size() > 1) {
      now.chunks = std::move(before.chunks);
      state[*it] = kGrown;
    } else {
      state[*it] = kParentSeen;
    }
  });
}

}  // namespace

// The files part: walk, reuse unchanged files' chunks, read and store the rest.
// `unreadable`: an entry that exists but cannot be read (path on disk, message); it makes the
// backup incomplete. `backup_dir` (the repository, or where backup_log.json lives) is left out.
static std::vector<FileEntry> backup_files(Repository& repo, ChunkStore& store, const std::vector<files::WalkRoot>& roots,
                                    const Manifest* parent, BackupInfo& info,
                                    const std::function<void(const std::string&)>& warn,
                                    const std::function<void(const std::string&, const std::string&)>& unreadable,
                                    const fs::path& backup_dir,
                                    const std::function<void(const Progress&)>& on_progress) {
  // Phase 1: walk (metadata only), which also gives progress its totals. (The vector's unused
  // capacity is never touched, so it costs address space, not memory.)
  std::vector<FileEntry> entries;
  Progress progress{"scan"};
  std::optional<struct ::stat> repo_dir;
  if (struct ::stat st; !backup_dir.empty() && ::stat(backup_dir.c_str(), &st) == 0) repo_dir = st;
  files::walk(roots, {[&](FileEntry& e, const fs::path&) {
                        if (e.type == EntryType::kFile) {
                          ++progress.files_total;
                          progress.bytes_total += e.size;
                        }
                        entries.push_back(std::move(e));
                      },
                      [&](const std::string& w) { warn(w); },
                      [&](const fs::path& source, const std::string& w) { unreadable(source.string(), w); },
                      [&](const fs::path& source, const struct ::stat& st) {
                        if (!repo_dir || st.st_dev != repo_dir->st_dev || st.st_ino != repo_dir->st_ino) return false;
                        warn("BACKUP_DIR " + files::display_path(source.native()) +
                             " is inside a backed-up folder: left out of the backup");
                        return true;
                      }});
  std::vector<uint8_t> state(entries.size(), kRead);
  if (parent) adopt_parent_chunks(repo, *parent, entries, state);
  const SourcePaths sources(roots);

  // Phase 2: content, read by several threads at once (each takes the next file): reading,
  // chunking and hashing overlap with each other and with the store's compress/encrypt workers,
  // and on a cold cache several reads are in flight. Entries keep their walk order.
  progress.phase = "backup";
  std::mutex progress_mu;  // guards progress, info's counters and last_report
  std::chrono::steady_clock::time_point last_report{};  // the first report goes out at once
  auto report = [&](bool force) {  // caller holds progress_mu
    if (!on_progress) return;
    auto now = std::chrono::steady_clock::now();
    if (!force && now - last_report < std::chrono::milliseconds(200)) return;
    last_report = now;
    on_progress(progress);
  };
  // Returns false when the file is to be left out of the backup.
  auto back_up_file = [&](size_t i, unsigned lane) -> bool {
    FileEntry& e = entries[i];
    if (state[i] == kReuseCandidate) {
      if (std::all_of(e.chunks.begin(), e.chunks.end(),
                      [&](const ChunkRef& c) { return repo.index().contains(c.id); }))
        return true;
      e.chunks.clear();
    }
    const std::string source = sources.of(e.path);
    files::FileSource::Opened opened = files::FileSource::open(source);
    switch (opened.problem) {
      case files::FileSource::OpenProblem::kNone:
        break;
      case files::FileSource::OpenProblem::kVanished:
        warn("skipped " + source + ": vanished during the backup");
        return false;
      case files::FileSource::OpenProblem::kNotRegular:
        warn("skipped " + source + ": no longer a regular file");
        return false;
      case files::FileSource::OpenProblem::kUnreadable:
        unreadable(source, "skipped " + source + ": " + opened.error);
        return false;
    }
    std::vector<ChunkRef> earlier;
    if (state[i] == kGrown) earlier = std::move(e.chunks);
    e.chunks = store.add_stream(
        *opened.source, BlobType::kData, repo.file_chunker(),
        [&](size_t n) {
          std::lock_guard lock(progress_mu);
          progress.bytes_done += n;
          report(false);
        },
        nullptr, earlier.empty() ? nullptr : &earlier, Pace::kRatio, lane);
    uint64_t read_size = 0;
    for (const ChunkRef& c : e.chunks) read_size += c.size;
    files::FileSource::AfterRead after = opened.source->check(read_size, e.size, e.mtime_ns);
    if (after.changed) {
      warn("file changed while it was read: " + source + " (backed up as read)");
      e.size = read_size;
      e.mtime_ns = after.mtime_ns;
      e.ctime_ns = 0;  // forces the next incremental to read it again
    }
    std::lock_guard lock(progress_mu);
    ++info.files_read;
    return true;
  };

  report(true);  // totals known, nothing read yet
  // Readers take files from both ends of the walk order (TwoEndedCursor says why); the kernel
  // starts reading the next files of each end while these are read, chunked and stored. What to
  // read is fixed before the readers start (they change sizes and states as they go; paths stay).
  std::vector<uint64_t> to_read(entries.size(), 0);
  for (size_t i = 0; i < entries.size(); ++i)
    if (entries[i].type == EntryType::kFile && state[i] != kReuseCandidate) to_read[i] = entries[i].size;
  // The back takes 16 MiB blocks (a pack's worth), each in walk order (TwoEndedCursor).
  TwoEndedCursor cursor(to_read, 16u << 20);
  const size_t n = entries.size();
  auto read_ahead_of = [&](bool from_back) {
    return std::make_unique<files::ReadAhead>(
        n,
        [&, from_back](size_t k) -> std::optional<std::pair<std::string, uint64_t>> {
          const size_t i = from_back ? cursor.back_order()[k] : k;
          if (to_read[i] == 0) return std::nullopt;
          return std::pair{sources.of(entries[i].path), to_read[i]};
        },
        kReadAheadBytes / 2);
  };
  const unsigned producers = std::clamp(std::thread::hardware_concurrency(), 1u, 4u);
  const bool two_ends = producers > 1;
  std::unique_ptr<files::ReadAhead> ahead[2] = {read_ahead_of(false), two_ends ? read_ahead_of(true) : nullptr};
  std::exception_ptr failure;
  auto producer = [&](bool from_back) {
    try {
      while (std::optional<size_t> next = cursor.take(from_back)) {
        const size_t i = *next;
        if (entries[i].type != EntryType::kFile) continue;
        ahead[from_back]->reader_at(from_back ? cursor.back_rank(i) : i);
        // Each end's files fill packs of their own (ChunkStore lanes): a restore, which goes
        // in walk order, then reads each pack's chunks in order.
        bool keep = back_up_file(i, from_back ? 1 : 0);
        std::lock_guard lock(progress_mu);
        if (keep) {
          ++info.file_count;
          info.size_bytes += entries[i].size;
        } else {
          state[i] = kDropped;
        }
        progress.files_done++;
        report(false);
      }
    } catch (...) {
      std::lock_guard lock(progress_mu);
      if (!failure) failure = std::current_exception();
      cursor.stop();  // the others stop after their current file
    }
  };
  std::vector<std::thread> threads;
  for (unsigned t = 1; t < producers; ++t) threads.emplace_back(producer, t % 2 == 1);
  producer(false);
  for (auto& t : threads) t.join();
  // The read-ahead threads look up entries' paths until they stop: stop them before the entries
  // are moved below (a moved-from path is empty, "under no backup root", and the thread's
  // exception ended the process).
  ahead[0].reset();
  ahead[1].reset();
  if (failure) std::rethrow_exception(failure);
  {
    std::lock_guard lock(progress_mu);
    report(true);
  }

  // Leave out the dropped files, and in place (no second list). A hard link's first path is always
  // a file of this walk, so it is missing only when dropped here: such a link cannot be restored
  // as a link, so it is dropped with a warning.
  std::unordered_set<std::string> dropped_files;
  for (size_t i = 0; i < entries.size(); ++i)
    if (state[i] == kDropped) dropped_files.insert(entries[i].path);
  size_t kept = 0;
  for (size_t i = 0; i < entries.size(); ++i) {
    if (state[i] == kDropped) continue;
    FileEntry& e = entries[i];
    if (e.type == EntryType::kHardlink && dropped_files.count(e.hardlink_target)) {
      warn("skipped hard link " + e.path + ": its first link vanished during the backup");
      continue;
    }
    if (kept != i) entries[kept] = std::move(e);
    ++kept;
  }
  entries.erase(entries.begin() + static_cast<std::ptrdiff_t>(kept), entries.end());
  return entries;
}

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
  if (options.scope == BackupScope::kAll) {  // back up what is configured
    want_files = !config.backup_paths.empty();
    want_db = !config.db_name.empty();
    if (!want_files && !want_db)
      fail(ErrorCategory::kConfig,
           "nothing to back up: set BACKUP_PATHS (folders, colon-separated) and/or DB_NAME (the database)");
  }
  if (want_files && config.backup_paths.empty())
    fail(ErrorCategory::kConfig, "BACKUP_PATHS is empty: set it to the folders to back up (colon-separated)");
  if (want_db && config.db_name.empty())
    fail(ErrorCategory::kConfig, "DB_NAME is not set: set it to the database to back up");
  std::vector<files::WalkRoot> roots;
  if (want_files) roots = files::name_roots(config.backup_paths);

  info.type = options.type;
  info.hostname = this_host();
  info.timestamp = format_iso8601_utc(started);
  info.has_files = want_files;

  // The last dump is looked for only when deltas can use it: a full backup then reads no manifest.
  BackupBases bases =
      find_bases(repo, options.type, want_files, want_db && dump_deltas_enabled(repo) ? config.db_name : "");
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
        dump_bases = dump_delta_bases(repo, bases.last_dump, warn);
        // The files part shows progress when there is one; a database-only backup shows the dump's.
        database = backup_database(store, repo.db_chunker(), config, warn, dump_bases.dump.get(),
                                   want_files ? std::function<void(const Progress&)>() : options.on_progress);
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
