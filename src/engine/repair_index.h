// `coffer repair index`: rebuilds the index from the packs themselves, for when index files are
// lost or damaged. Every pack's sealed header lists its blobs (pack.h), so the index can always
// be recomputed; only packs whose header is damaged are lost, and they are named.
//
// Order (crash-safe like cleanup): read every pack header first; write ONE new index file for
// all readable packs; then remove the old index files. A crash before the removal leaves old and
// new side by side, which is harmless (the same packs listed twice). Packs are never deleted or
// changed here. Run under the exclusive lock.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "coffer/backup_types.h"
#include "repo/repository.h"

namespace coffer {

struct RepairIndexOptions {
  bool dry_run = false;  // read and report; write and remove nothing
  std::function<void(const std::string&)> on_warning;
  std::function<void(const Progress&)> on_progress;
  std::function<void()> check_lock;  // throws when the lock was lost
};

// Throws Error(kStorage) when storage fails; damaged packs are reported, not thrown.
RepairIndexResult run_repair_index(Repository& repo, const RepairIndexOptions& options);

}  // namespace coffer
