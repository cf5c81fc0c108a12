#include "coffer/history.h"

#include "coffer/clock.h"

namespace coffer {

std::optional<JobSuccess> newest_success(const std::string& job, const std::vector<BackupInfo>& backups,
                                         const std::vector<HistoryRecord>& history) {
  std::optional<JobSuccess> newest;
  auto consider = [&newest](const std::string& backup_id, const std::string& timestamp) {
    std::optional<TimePoint> t = parse_iso8601_utc(timestamp);
    if (t && (!newest || *t >= newest->time)) newest = JobSuccess{backup_id, timestamp, *t};
  };
  if (job == "cleanup" || job == "drill") {
    for (const HistoryRecord& r : history)
      if (r.backup_type == job && r.status == "success") consider(r.backup_id, r.timestamp);
  } else {
    for (const BackupInfo& b : backups)
      if (job == backup_type_name(b.type)) consider(b.backup_id, b.timestamp);
  }
  return newest;
}

}  // namespace coffer
