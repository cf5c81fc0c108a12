#include "engine/backup_id.h"

#include <ctime>

namespace coffer {

static std::tm utc(std::chrono::system_clock::time_point when) {
  std::time_t t = std::chrono::system_clock::to_time_t(when);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return tm;
}

std::string make_backup_id(BackupType type, std::chrono::system_clock::time_point when,
                           const std::function<bool(const std::string&)>& taken) {
  std::tm tm = utc(when);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d_%H%M%S", &tm);
  std::string base = std::string(backup_type_name(type)) + "_" + buf;
  if (!taken(base)) return base;
  for (int n = 2;; ++n) {
    std::string id = base + "_" + std::to_string(n);
    if (!taken(id)) return id;
  }
}

}  // namespace coffer
