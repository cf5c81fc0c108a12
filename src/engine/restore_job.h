// Restores files of one backup: into their original folders or under a target folder, all of
// them or the paths asked for. Every chunk is checked against its id before it is written, and
// every file is written under a temporary name and renamed only when complete.
#pragma once

#include <functional>

#include "coffer/backup_types.h"
#include "repo/repository.h"

namespace coffer {

struct RestoreJobOptions {
  RestoreOptions restore;
  bool restore_owner = false;
  std::function<void(const Progress&)> on_progress;
};

// Throws Error(kNotFound) for an unknown backup or an --include path it does not hold,
// Error(kDamaged) for a damaged file (unless partial: then it is listed in errors and skipped).
RestoreResult run_restore(Repository& repo, const std::string& backup_id, const RestoreJobOptions& options);

}  // namespace coffer
