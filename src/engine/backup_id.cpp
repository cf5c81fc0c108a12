#include "engine/backup_id.h"

#include <cstdio>
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

std::string iso8601_utc(std::chrono::system_clock::time_point when) {
  std::tm tm = utc(when);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  auto micros = std::chrono::duration_cast<std::chrono::microseconds>(when.time_since_epoch()).count() % 1000000;
  char frac[16];
  std::snprintf(frac, sizeof frac, ".%06lldZ", static_cast<long long>(micros));
  return std::string(buf) + frac;
}

}  // namespace coffer
