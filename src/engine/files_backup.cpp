#include "engine/files_backup.h"

#include <algorithm>
#include <chrono>
#include <exception>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>
#include <unordered_set>

#include "coffer/error.h"
#include "repo/tree_stream.h"
#include "source/files/file_source.h"
#include "source/files/read_ahead.h"
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

std::vector<FileEntry> backup_files(Repository& repo, ChunkStore& store, const std::vector<files::WalkRoot>& roots,
                                    const Manifest* parent, BackupInfo& info,
                                    const std::function<void(const std::string&)>& warn,
                                    const std::function<void(const std::string&, const std::string&)>& unreadable,
                                    const fs::path& backup_dir,
                                    const std::function<void(const Progress&)>& on_progress,
                                    const FileRules& rules) {
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
                        if (rules.exclude && rules.exclude(source, st)) return true;
                        if (!repo_dir || st.st_dev != repo_dir->st_dev || st.st_ino != repo_dir->st_ino) return false;
                        warn("BACKUP_DIR " + files::display_path(source.native()) +
                             " is inside a backed-up folder: left out of the backup");
                        return true;
                      }});
  std::vector<uint8_t> state(entries.size(), kRead);
  if (parent && rules.reuse_unchanged) adopt_parent_chunks(repo, *parent, entries, state);
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
    std::unique_ptr<ByteSource> checked = rules.check ? rules.check(*opened.source, e) : nullptr;
    const ChunkerParams* chunker = rules.chunker ? rules.chunker(e) : nullptr;
    std::unique_ptr<DeltaBaseSource> bases = rules.delta_bases ? rules.delta_bases(e) : nullptr;
    e.chunks = store.add_stream(
        checked ? *checked : static_cast<ByteSource&>(*opened.source), BlobType::kData,
        chunker ? *chunker : repo.file_chunker(),
        [&](size_t n) {
          std::lock_guard lock(progress_mu);
          progress.bytes_done += n;
          report(false);
        },
        bases.get(), earlier.empty() ? nullptr : &earlier, Pace::kRatio, lane);
    uint64_t read_size = 0;
    for (const ChunkRef& c : e.chunks) read_size += c.size;
    files::FileSource::AfterRead after = opened.source->check(read_size, e.size, e.mtime_ns);
    if (after.changed) {
      if (!rules.quiet_changes) warn("file changed while it was read: " + source + " (backed up as read)");
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


}  // namespace coffer
