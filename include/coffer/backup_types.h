// Public value types of the coffer library API.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace coffer {

enum class BackupType { kFull, kIncremental, kDifferential };

const char* backup_type_name(BackupType t);  // "full", "incremental", "differential"
std::optional<BackupType> backup_type_from_name(const std::string& name);

// What one backup holds and cost; returned by create and by list.
struct BackupInfo {
  std::string backup_id;         // e.g. "full_20241201_020000"
  BackupType type = BackupType::kFull;
  std::string parent;            // backup compared against for change detection ("" for full)
  std::string timestamp;         // start time, ISO 8601 UTC
  std::string status;            // "success" (committed) or "failed" (log only)
  uint64_t file_count = 0;       // regular files in the backup
  uint64_t size_bytes = 0;       // logical bytes of all files
  uint64_t bytes_added = 0;      // bytes this backup added to the repository (after dedup,
                                 // compression and encryption)
  uint64_t files_read = 0;       // files whose content was read (changed or new)
  double duration_seconds = 0;
  std::vector<std::string> warnings;  // files that vanished, changed while read, were skipped
  std::string hostname;
};

struct RestoreOptions {
  std::optional<std::string> target;   // restore under this folder instead of original paths
  std::vector<std::string> include;    // paths inside the backup; empty = everything
  bool overwrite = false;              // replace existing files
  bool partial = false;                // skip damaged files instead of failing
};

struct RestoreResult {
  std::string backup_id;
  uint64_t files_restored = 0;
  uint64_t bytes_restored = 0;
  std::vector<std::string> errors;     // damaged files skipped (only with partial)
};

struct VerifyOptions {
  std::optional<std::string> backup_id;  // nullopt = every backup
  bool read_data = false;                // also decrypt and re-hash every chunk
};

struct VerifyProblem {
  std::string backup_id;  // "" when not tied to one backup
  std::string path;       // file inside the backup, "" when not tied to one
  std::string object;     // repository object (pack, index, manifest), "" when none
  std::string problem;
};

struct VerifyResult {
  bool ok = true;
  uint64_t backups_checked = 0;
  uint64_t chunks_checked = 0;
  std::vector<VerifyProblem> problems;
};

// Progress of a long operation, reported on the caller's thread, at most a few times a second.
struct Progress {
  std::string phase;         // "scan", "backup", "restore", "verify"
  uint64_t files_done = 0;
  uint64_t files_total = 0;
  uint64_t bytes_done = 0;
  uint64_t bytes_total = 0;
};

}  // namespace coffer
