// backup_log.json: one record per attempt (create, and later cleanup), oldest first.
// Appends take an flock on "backup_log.json.lock" and rewrite the file atomically (temp file,
// fsync, rename), so concurrent coffer processes never lose or tear a record. A damaged log
// (not a JSON array) never blocks an append: it is set aside as backup_log.json.damaged-<time>,
// with a warning, and a new log is started.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

namespace coffer {

class BackupLog {
 public:
  using Warn = std::function<void(const std::string&)>;
  explicit BackupLog(std::filesystem::path backup_dir, Warn warn = {});
  void append(const nlohmann::json& record);
  // Appends `record` with a backup_id for `started` that no record in the log and nothing for
  // which `taken` is true has (a failed attempt must not share the id of a backup); returns it.
  std::string append_with_new_id(nlohmann::json record, const std::string& backup_type,
                                 std::chrono::system_clock::time_point started,
                                 const std::function<bool(const std::string&)>& taken);
  // All records; a missing file is an empty log. Throws Error(kDamaged) when unparseable.
  nlohmann::json read() const;
  // The backup ids of all records (none when the log is missing or damaged).
  std::set<std::string> ids() const;

 private:
  void update(const std::function<void(nlohmann::json& log)>& change);
  nlohmann::json read_or_set_aside();
  std::filesystem::path path_;
  Warn warn_;
};

// Appends a "failed" record for an attempt that ended with `error`, when `backup_dir` exists,
// under an id no other record and no backup in the repository (`taken`) has. `metadata` gets
// the guide's fields it lacks (database: {"name": db_name}, host and hostname: this host,
// compressed and encrypted: null when unknown). Never throws: failing to
// log must not hide the backup's own error.
void log_failed_attempt(const std::filesystem::path& backup_dir, const std::string& backup_type,
                        std::chrono::system_clock::time_point started, double duration_seconds,
                        nlohmann::json metadata, const std::string& db_name, const std::string& error,
                        const std::string& category, const std::function<bool(const std::string&)>& taken = {},
                        const BackupLog::Warn& warn = {});

}  // namespace coffer
