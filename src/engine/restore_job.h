// Restores files of one backup: into their original folders or under a target folder, all of
// them or the paths asked for. Every chunk is checked against its id before it is written, and
// every file is written under a temporary name and renamed only when complete.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "coffer/backup_types.h"
#include "repo/repository.h"

namespace coffer {

struct RestoreJobOptions {
  RestoreOptions restore;
  bool restore_owner = false;
  std::function<void(const Progress&)> on_progress;
  // Restores the physical database part instead of the files: each of its roots ("pgdata",
  // "tblspc-<oid>") to the folder given here (restore.target and restore.include unused).
  std::optional<std::map<std::string, std::string>> physical_roots;
};

// A files restore in two steps. The constructor reads the file list and looks at every place a
// restored entry goes, settling what is in the way (RestoreOptions::existing); it throws before
// anything is written (apart from creating a missing target folder). run() writes.
class FilesRestore {
 public:
  FilesRestore(Repository& repo, const std::string& backup_id, const RestoreJobOptions& options);
  ~FilesRestore();
  RestoreResult run(const std::function<void(const Progress&)>& on_progress);

 private:
  struct State;
  std::unique_ptr<State> st_;
};

// Both steps at once. Throws Error(kNotFound) for an unknown backup or an --include path it does not hold,
// Error(kDamaged) for a damaged file (unless partial: then it is listed in errors and skipped).
RestoreResult run_restore(Repository& repo, const std::string& backup_id, const RestoreJobOptions& options);

}  // namespace coffer
