// Writes restored entries under a target directory, safely:
//  - never outside the target: paths are checked with is_safe_relative_path, and every
//    directory on the way is opened with O_NOFOLLOW relative to its parent (openat), so a
//    symlink restored earlier (or planted) cannot redirect a write;
//  - a file is written to a temporary name in its directory and renamed only when complete,
//    so a file being replaced is either the old one or the new one, never half of each;
//  - a temporary file is flock()ed while it exists, so a later restore can tell one a killed
//    restore left behind (remove_abandoned_temps) from one that is being written;
//  - all-zero runs of a file are left as holes (a sparse file restores sparse);
//  - existing files are not overwritten unless options.overwrite.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "repo/file_entry.h"
#include "util/bytes.h"

namespace coffer::files {

struct WriterOptions {
  bool overwrite = false;
  bool restore_owner = false;  // chown (only meaningful as root)
};

// What a restore finds where an entry goes.
struct Existing {
  enum class Kind { kNone, kDirectory, kFile, kSymlink, kOther };
  Kind kind = Kind::kNone;
  uint64_t size = 0;        // kFile
  std::string link_target;  // kSymlink
  int fd = -1;              // kFile: open read-only (owned: closed by the destructor)
  Existing() = default;
  Existing(Existing&& o) noexcept;
  Existing& operator=(Existing&&) = delete;
  ~Existing();
};

// One file being restored. Destroying it without commit() removes the temporary file.
class FileWriter {
 public:
  virtual ~FileWriter() = default;
  virtual void write(ByteView data) = 0;
  // fsyncs? no (restore speed); sets mode, owner, mtime; renames into place.
  virtual void commit() = 0;
};

class TreeWriter {
 public:
  // Creates `target` (and parents) if missing.
  TreeWriter(std::filesystem::path target, WriterOptions options);
  ~TreeWriter();

  // All throw Error(kInput) for unsafe paths or refused overwrites (naming the path), and
  // Error(kStorage) on I/O failures (naming the path and errno text).
  void make_directory(const FileEntry& e);
  std::unique_ptr<FileWriter> begin_file(const FileEntry& e);
  void make_symlink(const FileEntry& e);
  void make_hardlink(const FileEntry& e);
  // What is at `path` (relative to the target) now, seen without following symlinks and without
  // creating anything; a regular file is opened for reading when `open_file`. Throws as the
  // writers do for a symlink or a non-directory on the way.
  Existing inspect(const std::string& path, bool open_file);
  // Removes the temporary files (.coffer-tmp-<32 hex digits>, nothing else) that a killed restore
  // left in the directory `path` ("" = the target itself): those no running restore holds.
  // Returns them as shown().
  std::vector<std::string> remove_abandoned_temps(const std::string& path);
  // Changes options.overwrite for the entries written after this call (a restore decides per
  // entry whether the thing already there may be replaced).
  void set_overwrite(bool overwrite);
  // `path` as messages show it: under the target, control characters escaped.
  std::string shown(const std::string& path) const;

  // Applies directory modes and mtimes, deepest first (after their contents were written).
  void finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace coffer::files
