// Temporary files and folders in TMPDIR that a later run can tell are abandoned. A database
// restore stages what pg_restore reads there (the whole dump on the staged path, which can be as
// large as the database); a restore killed with SIGKILL cannot remove it. Each one is locked
// (flock) by the process that made it, and stays locked while that process, or a child forked
// from it, lives; remove_abandoned_temps() removes the ones nobody holds.
//
// The name only appears once the lock is held (made under "coffer-new-", locked, renamed), so a
// sweep never takes a temp that is being made for one that was abandoned.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "util/bytes.h"

namespace coffer {

inline constexpr const char* kHeldTempPrefix = "coffer-restore-";

struct HeldTemp {
  std::string path;  // TMPDIR/coffer-restore-XXXXXX
  int lock_fd = -1;  // holds the lock; close it (after removing the temp) to let it go
  int file_fd = -1;  // a file: open for writing (0600). A folder: -1 (0700)
};

// Makes a held temp file or folder. nullopt with *error set (naming TMPDIR and the cause) when
// it cannot be made.
std::optional<HeldTemp> make_held_temp(bool folder, std::string* error);

// Removes, from TMPDIR, this user's coffer-restore-* files and folders that no process holds.
struct SweepResult {
  size_t removed = 0;
  uint64_t bytes = 0;
};
SweepResult remove_abandoned_temps();
// This user's coffer-restore-* items in TMPDIR that no process holds (what the sweep removes).
std::vector<std::string> abandoned_temps();

// A held 0600 temp file, removed when this goes (and, should the process be killed, by the next
// remove_abandoned_temps()). `what` names it in errors ("temporary archive").
class HeldTempFile {
 public:
  explicit HeldTempFile(std::string what);
  ~HeldTempFile();
  HeldTempFile(const HeldTempFile&) = delete;
  HeldTempFile& operator=(const HeldTempFile&) = delete;
  // Appends; throws coffer::Error (kStorage) naming the file, free space and TMPDIR.
  void write(ByteView data);
  // Closes the file for writing (it stays on disk until this object goes).
  void close();
  const std::string& path() const { return path_; }

 private:
  std::string what_;
  int fd_ = -1;
  int lock_fd_ = -1;
  std::string path_;
};

// A held 0700 temp folder (a drill's scratch folder), removed with all it holds when this goes,
// or by the next remove_abandoned_temps() should the process be killed.
class HeldTempDir {
 public:
  // Throws coffer::Error (kStorage) naming TMPDIR.
  HeldTempDir();
  ~HeldTempDir();
  HeldTempDir(const HeldTempDir&) = delete;
  HeldTempDir& operator=(const HeldTempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  int lock_fd_ = -1;
  std::string path_;
};

}  // namespace coffer
