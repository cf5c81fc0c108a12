// The settings coffer reads, in one table: the environment variables are their names, the config
// file's keys their names in lower case, and the command-line flags, `coffer config` and the
// checks of README's list of settings all come from it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace coffer::config {

// How a setting's text is read. kText: a string or a number, checked later by its reader (the
// scheduler service's settings).
enum class Kind { kString, kText, kPath, kPathList, kInt, kBool, kCompression };

struct Setting {
  std::string name;  // the environment variable
  Kind kind;
  bool secret;  // its value is never shown: redacted in `coffer config`, left out of messages
  // Read by `coffer schedule` / `coffer status`, which validate them; not part of BackupConfig.
  bool service;
  std::string default_text;  // the default as README's table states it; "" when unset means nothing
  std::string doc;           // what it is, in one line (a flag's help)
  std::string flag;          // the command-line flag that sets it ("--backup-dir"), or ""
};

// Every setting, in display order (`coffer config`).
const std::vector<Setting>& settings();
// The setting of that name; nullptr when coffer has none.
const Setting* find_setting(std::string_view name);

// ASCII lower case: config file keys are setting names in lower case, and named values (true,
// zstd, copy, ...) are read without regard to case.
std::string lower_case(std::string text);
// The config file's key for a setting, and the setting of a key (nullptr for none: keys are
// lower case only).
std::string file_key(const Setting& setting);
const Setting* find_file_key(std::string_view key);

// The help text of a setting's flag: its doc line and the variable it sets.
std::string flag_help(const Setting& setting);

// codec/'s compression algorithm names, in its order, as text lists them: with separator ", "
// and last_separator " or ", "zstd, gzip, lz4 or none". with_none=false leaves out "none".
std::string codec_names(const std::string& separator, const std::string& last_separator, bool with_none);

}  // namespace coffer::config
