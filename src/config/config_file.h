// Reads a TOML config file (--config): one key per setting, the setting's name in lower case.
#pragma once

#include <filesystem>

#include "config/raw_settings.h"

namespace coffer::config {

// Adds each key of `file` to `raw` (origin kFile) and records the file's name for messages.
// Throws Error(kConfig) naming the file when it is missing, a folder or not TOML (with the line),
// or holds an unknown key or a value of the wrong TOML type (naming the key). A secret's value is
// never quoted, not even from a syntax error on its line.
void read_config_file(const std::filesystem::path& file, RawSettings& raw);

}  // namespace coffer::config
