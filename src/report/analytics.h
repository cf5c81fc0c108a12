// Backup analytics from what a repository already records: its backups (manifests), the attempts
// in backup_log.json, the size of its objects and of its unique chunks, and the free space where
// it lives. Pure: no I/O, so every figure is tested on a synthetic history (analytics_test.cpp).
// `coffer status`, `coffer report`, the dashboard page and the metrics show these figures.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "coffer/backup_manager.h"
#include "coffer/backup_types.h"
#include "coffer/clock.h"
#include "coffer/history.h"

namespace coffer::report {

// Where the repository's bytes go, and how much room is left there.
struct Room {
  std::string name;  // "BACKUP_DIR's filesystem" or "the S3 quota"
  std::string where;  // the folder, or the bucket
  uint64_t free_bytes = 0;
  std::optional<uint64_t> quota_bytes;  // S3 quota only
};

struct AnalyticsInput {
  std::vector<BackupInfo> backups;     // committed, as BackupManager::list_backups() returns them
  std::vector<HistoryRecord> history;  // backup_log.json, oldest first
  TimePoint now{};
  uint64_t stored_bytes = 0;  // the repository's objects now
  BackupManager::ChunkTotals chunks;
  std::vector<Room> rooms;  // each forecast "days left"
  double max_age_hours = 26;  // longer between two successful backups is a gap
  double min_days_left = 14;  // fewer days left in a room: a warning
};

// One attempt of `coffer create` (backup_log.json), success or failure.
struct Attempt {
  std::string time;  // as recorded
  TimePoint at{};
  std::string type;  // full, incremental or differential
  std::string backup_id;
  bool ok = false;
  double duration_seconds = 0;
  uint64_t bytes_added = 0;  // successes only
  std::string error;         // failures only
};

struct TypeStats {
  uint64_t attempts = 0;
  uint64_t successes = 0;
  uint64_t failures = 0;
  double mean_duration_seconds = 0;    // of the successes
  double median_duration_seconds = 0;  // of the successes
  double mean_bytes_added = 0;         // of the successes
};

struct SizePoint {
  TimePoint at{};
  std::string time;
  uint64_t bytes = 0;  // the repository's size after the backup or cleanup logged then
};

// More than max_age_hours without a successful backup.
struct Gap {
  TimePoint from{};
  TimePoint to{};  // `now` for a gap still open
  bool open = false;
  double hours() const { return std::chrono::duration<double>(to - from).count() / 3600; }
};

struct RoomForecast {
  Room room;
  std::optional<double> days_left;  // nullopt: the repository does not grow
};

struct Analytics {
  std::vector<Attempt> attempts;  // oldest first, as in the log (times that do not parse: left out)
  std::map<std::string, TypeStats> types;  // full, incremental, differential (always all three)
  uint64_t logical_bytes = 0;     // what the backups kept hold: files, dumps, data folders
  uint64_t unique_raw_bytes = 0;  // their unique chunks before compression
  uint64_t stored_bytes = 0;
  std::optional<double> dedup_ratio;        // logical / unique raw
  std::optional<double> compression_ratio;  // unique raw / unique stored (in packs)
  std::vector<SizePoint> size_series;       // oldest first
  std::optional<double> growth_bytes_per_day;  // least squares over the last 30 days; nullopt: too few points
  std::vector<RoomForecast> rooms;
  std::vector<Gap> gaps;               // oldest first
  std::vector<std::string> warnings;   // a room with fewer than min_days_left days left
  double min_days_left = 14;
  bool empty() const { return attempts.empty() && size_series.empty(); }
};

Analytics analyze(const AnalyticsInput& in);

// The figures as `coffer status --json` ("analytics") and `coffer report --json` print them.
nlohmann::json to_json(const Analytics& a);

}  // namespace coffer::report
