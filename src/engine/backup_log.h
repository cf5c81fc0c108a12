// backup_log.json: one record per attempt (create, and later cleanup), oldest first.
// Appends take an flock on "backup_log.json.lock" and rewrite the file atomically (temp file,
// fsync, rename), so concurrent coffer processes never lose or tear a record.
#pragma once

#include <chrono>
#include <filesystem>

#include <nlohmann/json.hpp>

namespace coffer {

class BackupLog {
 public:
  explicit BackupLog(std::filesystem::path backup_dir);
  void append(const nlohmann::json& record);
  // All records; a missing file is an empty log. Throws Error(kDamaged) when unparseable.
  nlohmann::json read() const;

 private:
  std::filesystem::path path_;
};

// Appends a "failed" record for an attempt that ended with `error`, when `backup_dir` exists.
// Never throws: failing to log must not hide the backup's own error.
void log_failed_attempt(const std::filesystem::path& backup_dir, const std::string& backup_type,
                        std::chrono::system_clock::time_point started, double duration_seconds,
                        const nlohmann::json& metadata, const std::string& error, const std::string& category);

}  // namespace coffer
