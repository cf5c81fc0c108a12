// One `coffer schedule` per repository: the scheduler holds an flock on BACKUP_DIR/schedule.lock
// for as long as it runs, with its pid, host and start time written in the file. A second one
// finds the lock taken and stops at once (Error(kInput), exit 3), naming the holder. The kernel
// drops the lock when the process ends, however it ends, so a killed scheduler leaves nothing
// to clean up. flock works between processes of one machine (and containers sharing the
// folder); two machines on one S3 repository (S3_MODE=repository) are not seen.
#pragma once

#include <filesystem>
#include <memory>

namespace coffer::schedule {

class ScheduleLock {
 public:
  // Creates BACKUP_DIR when missing. Throws Error(kInput) when another scheduler holds the lock,
  // Error(kStorage) when the file cannot be opened.
  static std::unique_ptr<ScheduleLock> acquire(const std::filesystem::path& backup_dir);
  ~ScheduleLock();
  ScheduleLock(const ScheduleLock&) = delete;
  ScheduleLock& operator=(const ScheduleLock&) = delete;

 private:
  explicit ScheduleLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace coffer::schedule
