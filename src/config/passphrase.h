// The repository passphrase, read as the configuration says: from BACKUP_PASSPHRASE_FILE or
// BACKUP_PASSPHRASE.
#pragma once

#include <optional>
#include <string>

#include "coffer/backup_config.h"

namespace coffer::config {

// Reads the passphrase per the config (file first, then BACKUP_PASSPHRASE). Strips one trailing
// newline from a file. Returns nullopt when neither is set. Throws Error(kConfig) when the file
// cannot be read (naming the file), and warns (spdlog) when the file is readable by others.
std::optional<std::string> read_passphrase(const BackupConfig& config);

}  // namespace coffer::config
