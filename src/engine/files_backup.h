// The files part of a backup: walk the roots, reuse the chunks of files unchanged since the
// parent backup, read and store the rest (several readers at once), return the file list.
// The physical database backup uses it too, with its own rules (FileRules).
#pragma once

#include <sys/stat.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "coffer/backup_types.h"
#include "repo/chunk_store.h"
#include "repo/file_entry.h"
#include "repo/manifest.h"
#include "repo/repository.h"
#include "source/files/tree_walker.h"
#include "util/byte_source.h"

namespace coffer {

// How a kind of tree is backed up; the defaults are the file trees' (BACKUP_PATHS).
struct FileRules {
  // Leaves an entry (and what is below it) out, silently. `source` is its path on disk.
  std::function<bool(const std::filesystem::path& source, const struct ::stat& st)> exclude;
  // The chunker for a file; null (or no function) for the repository's file chunker.
  std::function<const ChunkerParams*(const files::FileEntry& entry)> chunker;
  // A source to read instead of `file`, wrapping it (a check on the bytes as they pass); null to
  // read `file` itself.
  std::function<std::unique_ptr<ByteSource>(ByteSource& file, const files::FileEntry& entry)> check;
  // The stored chunks a file's new chunks may be stored as deltas against (the same file in the
  // last backup: a relation file's page changed in a few bytes); null for none.
  std::function<std::unique_ptr<DeltaBaseSource>(const files::FileEntry& entry)> delta_bases;
  // Whether a file whose size, mtime, ctime and inode match the parent's is taken as unchanged.
  bool reuse_unchanged = true;
  // Whether a file that changed while read is worth a warning (not in a live data folder).
  bool quiet_changes = false;
};

// `unreadable`: an entry that exists but cannot be read (path on disk, message); it makes the
// backup incomplete. `backup_dir` (the repository, or where backup_log.json lives) is left out.
// Counts files and bytes into `info`. Throws coffer::Error; the store is then to be aborted.
std::vector<files::FileEntry> backup_files(Repository& repo, ChunkStore& store,
                                           const std::vector<files::WalkRoot>& roots, const Manifest* parent,
                                           BackupInfo& info, const std::function<void(const std::string&)>& warn,
                                           const std::function<void(const std::string&, const std::string&)>& unreadable,
                                           const std::filesystem::path& backup_dir,
                                           const std::function<void(const Progress&)>& on_progress,
                                           const FileRules& rules = {});

}  // namespace coffer
