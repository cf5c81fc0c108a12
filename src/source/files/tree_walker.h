// Walks the backup roots and reports every entry in a deterministic order (roots in the given
// order, then depth-first with names sorted bytewise). Never follows symlinks.
#pragma once

#include <sys/stat.h>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "repo/file_entry.h"

namespace coffer::files {

struct WalkRoot {
  std::filesystem::path source;  // absolute path on disk
  std::string name;              // first path component in the backup
};

// Names the roots by their base names ("/srv/app/uploads" -> "uploads"); duplicates get a
// suffix ("logs", "logs-2"). Throws Error(kConfig) naming BACKUP_PATHS when a root does not
// exist or is not a directory or regular file.
std::vector<WalkRoot> name_roots(const std::vector<std::filesystem::path>& paths);

struct WalkCallbacks {
  // Called for each entry. `source` is the path on disk. For kFile entries `chunks` is empty:
  // the caller reads the content. Hard links: the first path seen for an inode with nlink > 1
  // is reported as kFile, later ones as kHardlink pointing to it.
  std::function<void(FileEntry& entry, const std::filesystem::path& source)> on_entry;
  // Sockets, FIFOs, devices (skipped), entries that vanished.
  std::function<void(const std::string& message)> on_warning;
  // An entry (file, symlink, directory) that exists but could not be read (permissions, I/O
  // error): left out, so the backup is incomplete. `source` is its path on disk. Unset: on_warning.
  std::function<void(const std::filesystem::path& source, const std::string& message)> on_unreadable;
  // True to leave an entry (and what is below it) out of the walk without a word; the caller
  // warns. E.g. the repository folder inside a backed-up folder.
  std::function<bool(const std::filesystem::path& source, const struct ::stat& st)> exclude;
};

void walk(const std::vector<WalkRoot>& roots, const WalkCallbacks& callbacks);

// Fills metadata from lstat; returns false (and sets errno) when lstat fails.
bool stat_entry(const std::filesystem::path& source, FileEntry& entry);

}  // namespace coffer::files
