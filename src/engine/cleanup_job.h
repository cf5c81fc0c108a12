// `coffer cleanup`: applies the retention policy and deletes what no remaining backup needs.
// The caller holds the repository's exclusive lock (repo/repo_lock.h) for the whole run.
//
// Nothing is changed until every remaining backup's references are known (a damaged manifest
// or file list stops the run before any deletion). Then, in this order, so that a SIGKILL at
// any point leaves every kept backup restorable and `verify` passing, and the next cleanup
// finishes the job:
//   (a) remove the manifests of the backups that go (from here on they are gone);
//   (b) copy the live blobs of mostly-garbage packs into new packs;
//   (c) write ONE index file listing every pack that stays (kept + new);
//   (d) remove every older index file;
//   (e) remove the packs no index lists any more: dropped and rewritten ones, and leftovers of
//       interrupted backups or cleanups (safe because the exclusive lock keeps backups out);
//   (f) remove the temp files of packs that killed backups were writing (same reason);
//   (g) remove the archived WAL older than every kept physical backup (pg/wal/wal_retention.h).
// Fail points (util/failpoint.h) sit between these steps for the crash tests:
//   cleanup-after-manifests-removed, cleanup-after-packs-written, cleanup-after-index-written,
//   cleanup-after-old-indexes-removed, cleanup-during-pack-removal.
#pragma once

#include <functional>

#include "coffer/backup_types.h"
#include "coffer/clock.h"
#include "engine/retention_policy.h"
#include "repo/repository.h"

namespace coffer {

struct CleanupJobOptions {
  RetentionPolicy policy;
  TimePoint now;  // the policy's "now" (COFFER_NOW in tests)
  CleanupOptions cleanup;
  double rewrite_threshold = 0.3;  // rewrite a pack when more than this share of it is garbage
  std::function<void(const std::string&)> on_warning;
  // Called before each destructive step; throws to stop (the exclusive lock was lost).
  std::function<void()> check_lock;
  // Called with the ids about to go, before the first manifest is removed (the backup log records
  // them, so a cleanup killed midway is not mistaken for lost backups by verify).
  std::function<void(const std::vector<std::string>&)> before_removing;
};

// Throws Error(kInput) when the policy's rules keep none of the backups and force is off,
// Error(kDamaged) when a remaining backup's references cannot be read (nothing changed then).
CleanupResult run_cleanup(Repository& repo, const CleanupJobOptions& options);

}  // namespace coffer
