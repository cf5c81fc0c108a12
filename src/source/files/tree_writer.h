// Writes restored entries under a target directory, safely:
//  - never outside the target: paths are checked with is_safe_relative_path, and every
//    directory on the way is opened with O_NOFOLLOW relative to its parent (openat), so a
//    symlink restored earlier (or planted) cannot redirect a write;
//  - a file is written to a temporary name in its directory and renamed only when complete;
//  - existing files are not overwritten unless options.overwrite.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "source/files/file_entry.h"
#include "util/bytes.h"

namespace coffer::files {

struct WriterOptions {
  bool overwrite = false;
  bool restore_owner = false;  // chown (only meaningful as root)
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
  // Applies directory modes and mtimes, deepest first (after their contents were written).
  void finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace coffer::files
