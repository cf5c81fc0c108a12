#include "source/postgres/wal/timeline_history.h"

#include "source/postgres/wal/wal_names.h"

namespace coffer::pg::wal {

std::optional<std::string> timeline_unreachable(uint32_t backup_timeline, uint64_t backup_stop_lsn, uint32_t target,
                                                const std::vector<TimelineSwitch>& history) {
  if (target == backup_timeline) return std::nullopt;
  const std::string t = "timeline " + std::to_string(target), b = "timeline " + std::to_string(backup_timeline);
  if (target < backup_timeline) return t + " is older than the backup's " + b;
  for (const TimelineSwitch& s : history) {
    if (s.parent != backup_timeline) continue;
    if (backup_stop_lsn <= s.switch_lsn) return std::nullopt;
    return t + " left " + b + " at LSN " + format_lsn(s.switch_lsn) + ", before the backup ended (LSN " +
           format_lsn(backup_stop_lsn) + ")";
  }
  return t + " does not descend from the backup's " + b;
}

}  // namespace coffer::pg::wal
