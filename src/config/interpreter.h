// Interprets the settings' raw text: parses and checks each value into a BackupConfig. Every
// message of an invalid value names the setting, its value (never a secret's), the source it came
// from and what is allowed.
#pragma once

#include <map>
#include <string>

#include "coffer/backup_config.h"
#include "config/config_loader.h"
#include "config/raw_settings.h"

namespace coffer::config {

// The configuration the raw settings make, and where each effective value came from.
struct Interpretation {
  BackupConfig config;
  // By setting name; one absent is at its default. A value derived from another setting has that
  // one's origin (S3_MODE copy from S3_BUCKET; keys read from the AWS credentials file).
  std::map<std::string, Origin> origins;
  Origin origin_of(const std::string& name) const;  // kDefault when absent
};

// Throws Error(kConfig) for an invalid value in a group of settings `uses` includes; in a group it
// leaves out, a bad value is a warning and the group keeps its defaults.
Interpretation interpret(RawSettings raw, Uses uses = {});

}  // namespace coffer::config
