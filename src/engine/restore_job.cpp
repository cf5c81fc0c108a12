#include "engine/restore_job.h"

#include <chrono>
#include <map>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "coffer/error.h"
#include "engine/restore_conflicts.h"
#include "repo/tree_stream.h"
#include "repo/blob_prefetcher.h"
#include "source/files/tree_writer.h"
#include "util/failpoint.h"

namespace coffer {
namespace fs = std::filesystem;
using files::EntryType;
using files::FileEntry;

namespace {

bool is_under(const std::string& path, const std::string& prefix) {
  return path == prefix || (path.size() > prefix.size() && path.compare(0, prefix.size(), prefix) == 0 &&
                            path[prefix.size()] == '/');
}

std::string first_component(const std::string& path) { return path.substr(0, path.find('/')); }

// Keeps the entries under the include paths, plus the directories above them.
std::vector<FileEntry> select(std::vector<FileEntry> entries, const std::vector<std::string>& include,
                              const std::string& backup_id) {
  if (include.empty()) return entries;
  std::vector<std::string> wanted;
  for (std::string inc : include) {
    while (inc.size() > 1 && inc.back() == '/') inc.pop_back();
    if (!files::is_safe_relative_path(inc))
      fail(ErrorCategory::kInput, "--include '" + inc + "' is not a relative path inside the backup (e.g. uploads/2024)");
    wanted.push_back(inc);
  }
  std::set<std::string> ancestors;
  std::vector<bool> matched(wanted.size(), false);
  std::vector<FileEntry> out;
  for (FileEntry& e : entries) {
    bool keep = false;
    for (size_t i = 0; i < wanted.size(); ++i)
      if (is_under(e.path, wanted[i])) keep = matched[i] = true;
    if (!keep) continue;
    for (size_t p = e.path.find('/'); p != std::string::npos; p = e.path.find('/', p + 1))
      ancestors.insert(e.path.substr(0, p));
    out.push_back(std::move(e));
  }
  for (size_t i = 0; i < wanted.size(); ++i)
    if (!matched[i]) fail(ErrorCategory::kNotFound, "backup " + backup_id + " has no path '" + wanted[i] + "'");
  // Parent directories (with their metadata) come first, as in the walk order.
  std::vector<FileEntry> result;
  for (const FileEntry& e : entries)
    if (e.type == EntryType::kDirectory && ancestors.count(e.path) && !e.path.empty()) result.push_back(e);
  std::erase_if(result, [&](const FileEntry& d) {
    return std::any_of(out.begin(), out.end(), [&](const FileEntry& o) { return o.path == d.path; });
  });
  result.insert(result.end(), std::make_move_iterator(out.begin()), std::make_move_iterator(out.end()));
  return result;
}

}  // namespace

struct FilesRestore::State {
  Repository* repo;
  std::string backup_id;
  RestoreJobOptions options;
  ExistingFiles policy = ExistingFiles::kFail;
  std::vector<FileEntry> full_tree, entries;
  std::unique_ptr<files::TreeWriter> target_writer;
  std::map<std::string, std::unique_ptr<files::TreeWriter>> writers;  // root name -> writer
  std::unordered_map<std::string, const FileEntry*> all_tree_files;   // path in backup -> entry
  std::vector<Placement> placements;
  std::vector<PlaceAction> actions;
  std::vector<std::string> removed_temps;

  const FileEntry* content_of(const std::string& path) const {
    auto it = all_tree_files.find(path);
    return it == all_tree_files.end() ? nullptr : it->second;
  }
};

FilesRestore::~FilesRestore() = default;

FilesRestore::FilesRestore(Repository& repo, const std::string& backup_id, const RestoreJobOptions& options)
    : st_(std::make_unique<State>()) {
  State& st = *st_;
  st.repo = &repo;
  st.backup_id = backup_id;
  st.options = options;
  const RestoreOptions& opt = st.options.restore;
  Manifest manifest = repo.read_manifest(backup_id);
  const bool physical = options.physical_roots.has_value();
  if (physical) {
    if (!manifest.physical)
      fail(ErrorCategory::kNotFound, "backup " + backup_id + " holds no physical database backup (made with "
                                     "DB_BACKUP_MODE=physical); see `coffer list`");
    manifest.roots.clear();  // the physical part's roots, to the folders asked for
    for (const auto& [name, folder] : *options.physical_roots) manifest.roots.push_back({name, folder});
  }
  st.full_tree = [&] {
    try {
      return read_tree(repo, physical ? manifest.physical->tree : manifest.tree, backup_id);
    } catch (const Error& e) {
      if (e.category() != ErrorCategory::kNotFound) throw;
      fail(ErrorCategory::kDamaged, "the file list of backup " + backup_id + " cannot be read: " + e.what() +
                                        " (run `coffer verify`; if index files were lost, `coffer repair index`)");
    }
  }();
  st.entries = select(st.full_tree, opt.include, backup_id);

  // Where each root goes: under --target as <target>/<root name>, or back to its source path
  // (a writer on the source's parent folder, with the root renamed to the source's base name).
  std::map<std::string, std::string> rename_root;  // root name -> first path component on disk
  st.policy = opt.overwrite ? ExistingFiles::kOverwrite : opt.existing;
  files::WriterOptions wopts{false, options.restore_owner};  // replacing is decided per entry
  if (opt.target) st.target_writer = std::make_unique<files::TreeWriter>(fs::path(*opt.target), wopts);
  for (const ManifestRoot& r : manifest.roots) {
    fs::path source(r.source);
    if (opt.target) {
      rename_root[r.name] = r.name;
    } else {
      if (!source.is_absolute() || source.filename().empty())
        fail(ErrorCategory::kDamaged, "backup " + backup_id + " has an unusable source path for root " + r.name +
                                          ": restore with --target");
      rename_root[r.name] = source.filename().string();
      st.writers[r.name] = std::make_unique<files::TreeWriter>(source.parent_path(), wopts);
    }
  }
  auto writer_for = [&](const FileEntry& e, FileEntry& local) -> files::TreeWriter& {
    std::string root = first_component(e.path);
    auto it = rename_root.find(root);
    if (it == rename_root.end())
      fail(ErrorCategory::kDamaged, "backup " + backup_id + " lists '" + e.path + "' outside its roots");
    local = e;
    local.path = it->second + e.path.substr(root.size());
    if (e.type == EntryType::kHardlink) {
      std::string troot = first_component(e.hardlink_target);
      if (troot != root) fail(ErrorCategory::kDamaged, "hard link " + e.path + " points into another root");
      local.hardlink_target = it->second + e.hardlink_target.substr(troot.size());
    }
    return opt.target ? *st.target_writer : *st.writers.at(root);
  };

  for (const FileEntry& e : st.full_tree)
    if (e.type == EntryType::kFile) st.all_tree_files[e.path] = &e;

  // Every place is looked at before anything is written: a refused restore writes nothing.
  st.placements.reserve(st.entries.size());
  for (const FileEntry& e : st.entries) {
    Placement p{&e, {}, nullptr};
    p.writer = &writer_for(e, p.local);
    st.placements.push_back(std::move(p));
  }
  st.actions = plan_existing(st.placements, st.policy, repo.sealer(),
                             [&st](const std::string& path) { return st.content_of(path); }, st.removed_temps);
}

RestoreResult run_restore(Repository& repo, const std::string& backup_id, const RestoreJobOptions& options) {
  return FilesRestore(repo, backup_id, options).run(options.on_progress);
}

RestoreResult FilesRestore::run(const std::function<void(const Progress&)>& on_progress) {
  State& st = *st_;
  Repository& repo = *st.repo;
  const std::string& backup_id = st.backup_id;
  const RestoreOptions& opt = st.options.restore;
  const std::vector<FileEntry>& entries = st.entries;
  const std::vector<PlaceAction>& actions = st.actions;
  const std::vector<Placement>& placements = st.placements;
  const ExistingFiles policy = st.policy;
  auto content_of = [&st](const std::string& path) { return st.content_of(path); };
  RestoreResult result;
  result.backup_id = backup_id;
  result.removed_temps = st.removed_temps;
  Progress progress{"restore"};
  for (size_t i = 0; i < entries.size(); ++i)
    if (entries[i].type == EntryType::kFile && actions[i] != PlaceAction::kKeep) {
      ++progress.files_total;
      progress.bytes_total += entries[i].size;
    }
  auto last_report = std::chrono::steady_clock::now();
  auto report = [&](bool force) {
    if (!on_progress) return;
    auto now = std::chrono::steady_clock::now();
    if (!force && now - last_report < std::chrono::milliseconds(200)) return;
    last_report = now;
    on_progress(progress);
  };

  // Chunks of the files to write, in the order they are written, fetched ahead on a few threads.
  std::vector<ChunkId> order;
  for (size_t i = 0; i < entries.size(); ++i)
    if (entries[i].type == EntryType::kFile && actions[i] != PlaceAction::kKeep)
      for (const ChunkRef& c : entries[i].chunks) order.push_back(c.id);
  // Up to 32 chunks (and 32 MiB) ahead: with a window of 16 a thread waited for the writer to take
  // its whole run before fetching the next (files restore 0.83 -> 0.77 s with 32 and 2 MiB runs).
  BlobPrefetcher prefetch(repo, std::move(order), 0, 32);

  // `prefetched`: the file's chunks come from `prefetch` (its next ones), else straight from the
  // repository (the content of a hard link whose first link was not written).
  std::unordered_set<std::string> damaged;  // paths in the backup skipped with --partial
  auto restore_content = [&](const FileEntry& e, files::TreeWriter& w, const FileEntry& local, bool prefetched) {
    size_t taken = 0;
    try {
      auto out = w.begin_file(local);
      for (const ChunkRef& c : e.chunks) {
        ++taken;  // counted before the read: a chunk whose read throws is taken too
        Bytes data = prefetched ? prefetch.next() : repo.read_blob(c.id);
        out->write(data);
        if (taken == 1) failpoint("restore-during-file");
        progress.bytes_done += data.size();
        report(false);
      }
      out->commit();
      ++result.files_restored;
      result.bytes_restored += e.size;
      return true;
    } catch (const Error& err) {
      if (prefetched) prefetch.skip(e.chunks.size() - taken);  // keep the order in step
      bool damage = err.category() == ErrorCategory::kDamaged || err.category() == ErrorCategory::kNotFound;
      if (!damage) throw;
      std::string msg = e.path + ": " + err.what();
      if (!opt.partial)
        fail(ErrorCategory::kDamaged, "cannot restore " + msg +
                                          " (nothing was written for this file: what was there is unchanged; "
                                          "--partial restores the rest)");
      result.errors.push_back(msg);
      damaged.insert(e.path);
      return false;
    }
  };

  std::unordered_set<std::string> restored_files;  // paths in the backup
  for (size_t i = 0; i < entries.size(); ++i) {
    const FileEntry& e = entries[i];
    const FileEntry& local = placements[i].local;
    files::TreeWriter& w = *placements[i].writer;
    if (actions[i] == PlaceAction::kKeep) {
      if (e.type != EntryType::kDirectory) ++result.files_kept;
      continue;
    }
    // Replacing only where the plan said so; an existing directory's metadata only on overwrite.
    w.set_overwrite(actions[i] == PlaceAction::kReplace ||
                    (e.type == EntryType::kDirectory && policy == ExistingFiles::kOverwrite));
    switch (e.type) {
      case EntryType::kDirectory: w.make_directory(local); break;
      case EntryType::kSymlink: w.make_symlink(local); break;
      case EntryType::kFile:
        if (restore_content(e, w, local, true)) restored_files.insert(e.path);
        ++progress.files_done;
        break;
      case EntryType::kHardlink:
        if (restored_files.count(e.hardlink_target)) {
          w.make_hardlink(local);
        } else if (!damaged.count(e.hardlink_target)) {
          // Its first link was not written (not selected, or kept as it was): the content as a file.
          const FileEntry* content = content_of(e.hardlink_target);
          if (!content)
            fail(ErrorCategory::kDamaged, "hard link " + e.path + " points to a file the backup does not hold");
          FileEntry as_file = local;
          as_file.type = EntryType::kFile;
          as_file.size = content->size;
          as_file.chunks = content->chunks;
          FileEntry named = *content;
          named.path = e.path;
          restore_content(named, w, as_file, false);
        }  // else: its first link is damaged and was skipped (already reported)
        break;
    }
  }
  if (st.target_writer) st.target_writer->finish();
  for (auto& [name, w] : st.writers) w->finish();
  report(true);
  return result;
}

}  // namespace coffer
