// backup_log.json: one record per attempt (create, and later cleanup), oldest first.
// Appends take an flock on "backup_log.json.lock" and rewrite the file atomically (temp file,
// fsync, rename), so concurrent coffer processes never lose or tear a record.
#pragma once

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

}  // namespace coffer
