// backup_log.json: one record per attempt (create and cleanup), oldest first; the records are
// coffer::HistoryRecord (coffer/history.h), their JSON form is engine/history_json.h.
// Appends take an flock on "backup_log.json.lock" and rewrite the file atomically (temp file,
// fsync, rename), so concurrent coffer processes never lose or tear a record; the records
// already there are kept whole, fields this version does not know included. A damaged log (not a JSON array) never
// blocks an append: it is set aside as backup_log.json.damaged-<time>, with a warning, and a new
// log is started.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "coffer/history.h"

namespace coffer {

class BackupLog {
 public:
  using Warn = std::function<void(const std::string&)>;
  explicit BackupLog(std::filesystem::path backup_dir, Warn warn = {});
  void append(const HistoryRecord& record);
  // Appends `record` with a backup_id for `started` that no record in the log and nothing for
  // which `taken` is true has (a failed attempt must not share the id of a backup); returns it.
  std::string append_with_new_id(HistoryRecord record, std::chrono::system_clock::time_point started,
                                 const std::function<bool(const std::string&)>& taken);
  // All records (entries that are not JSON objects are passed over); a missing file is an empty
  // log. Throws Error(kDamaged) when the file is not a JSON array.
  std::vector<HistoryRecord> read() const;
  // The backup ids of all records (none when the log is missing or damaged).
  std::set<std::string> ids() const;

 private:
  nlohmann::json read_json() const;
  void update(const std::function<void(nlohmann::json& log)>& change);
  nlohmann::json read_or_set_aside();
  std::filesystem::path path_;
  Warn warn_;
};

// The record of an attempt of `type` that started at `started` and ended with `error` after
// `duration_seconds`, for the database `db_name` ("" = none), on this host. The caller adds what
// it knew of the settings (compressed, compression, encrypted).
HistoryRecord failed_attempt_record(BackupType type, std::chrono::system_clock::time_point started,
                                    double duration_seconds, const std::string& db_name, const Error& error);

// Appends `record` (a failed_attempt_record) when `backup_dir` exists, under an id no other
// record and no backup in the repository (`taken`) has. Never throws: failing to log must not
// hide the backup's own error.
void log_failed_attempt(const std::filesystem::path& backup_dir, const HistoryRecord& record,
                        std::chrono::system_clock::time_point started,
                        const std::function<bool(const std::string&)>& taken = {}, const BackupLog::Warn& warn = {});

}  // namespace coffer
