// Settings as their sources give them, before they are interpreted: the text of each, and which
// source it came from.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace coffer::config {

// Where a value came from. Sources later in this list beat earlier ones (flags > environment >
// file > defaults); the interpreter compares origins so.
enum class Origin { kDefault, kFile, kEnvironment, kFlag, kCredentialsFile };

// As `coffer config` shows it: "default", "file", "environment", "flag", "credentials file".
inline const char* origin_name(Origin o) {
  switch (o) {
    case Origin::kDefault: return "default";
    case Origin::kFile: return "file";
    case Origin::kEnvironment: return "environment";
    case Origin::kFlag: return "flag";
    case Origin::kCredentialsFile: return "credentials file";
  }
  return "default";
}

// A setting's value as given by one source, before parsing.
struct RawValue {
  std::string text;
  std::optional<std::vector<std::string>> list;  // BACKUP_PATHS given as a TOML array
  Origin origin = Origin::kDefault;
};

// The winning raw value of each setting that some source sets, by setting name.
struct RawSettings {
  std::map<std::string, RawValue> values;
  std::string config_file;  // for messages
};

}  // namespace coffer::config
