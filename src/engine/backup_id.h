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

}  // namespace coffer
