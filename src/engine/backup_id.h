// Readable, unique backup ids: "<type>_<YYYYMMDD>_<HHMMSS>" in UTC, with "_2", "_3", ... added
// when that name is taken (two backups started in the same second).
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "coffer/backup_types.h"

namespace coffer {

std::string make_backup_id(BackupType type, std::chrono::system_clock::time_point when,
                           const std::function<bool(const std::string&)>& taken);

// ISO 8601 UTC with microseconds, e.g. "2024-12-01T02:00:00.000000Z": sorts in time order
// even for backups started within one second.
std::string iso8601_utc(std::chrono::system_clock::time_point when);

}  // namespace coffer
