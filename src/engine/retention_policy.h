// Which backups a cleanup keeps: a pure function of the backups, the policy and the time.
//
// A backup is kept when ANY rule keeps it (like restic's forget):
//   - retention_days: it is younger than N days (RETENTION_DAYS, always on, N >= 1);
//   - keep_last N: it is one of the N newest backups;
//   - keep_daily / keep_weekly / keep_monthly / keep_yearly N: it is the newest backup of its
//     calendar day / ISO week / month / year (UTC), for the N newest such periods that hold a
//     backup (periods without backups do not count);
//   - it is pinned (`coffer create --keep`, `coffer pin`);
//   - it is the newest full backup, or the newest full backup holding files, or the newest full
//     backup holding the database (safety guards, whatever the policy says).
// Every backup restores on its own (incrementals store a whole tree), so no backup is kept for
// another's sake. All backup types count alike in every rule.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "coffer/backup_types.h"

namespace coffer {

struct RetentionPolicy {
  int retention_days = 30;  // >= 1
  int keep_last = 0;        // 0 = rule off (same for the rules below)
  int keep_daily = 0;
  int keep_weekly = 0;
  int keep_monthly = 0;
  int keep_yearly = 0;
};

struct RetentionCandidate {
  std::string backup_id;
  BackupType type = BackupType::kFull;
  std::chrono::system_clock::time_point time;  // when the backup started
  bool pinned = false;
  bool has_files = true;
  bool has_database = false;
};

struct RetentionDecision {
  std::string backup_id;
  bool keep = false;
  // Kept: every rule that keeps it ("within 30 days", "daily 2024-12-01", "pinned", ...).
  // Removed: one sentence saying why it goes.
  std::vector<std::string> reasons;
  // True when a policy rule (days, last, daily, ...) keeps it, not only a pin or a guard.
  bool kept_by_policy = false;
};

// One decision per candidate, in the order given. Ties in time are broken by backup id.
std::vector<RetentionDecision> apply_retention(const std::vector<RetentionCandidate>& backups,
                                               const RetentionPolicy& policy,
                                               std::chrono::system_clock::time_point now);

// "RETENTION_DAYS=30, KEEP_DAILY=7" (only the rules that are on), for messages.
std::string describe_policy(const RetentionPolicy& policy);

}  // namespace coffer
