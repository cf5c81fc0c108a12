// Which archived WAL files a cleanup removes (docs/pitr.md, "Retention"): everything before the
// start segment of the oldest physical backup that stays. Recovery from any kept backup reads
// WAL from its own start on, so nothing a kept backup needs (to become consistent, or to roll
// forward to any later moment) goes. Timeline history files always stay (a few bytes each, and
// recovery reads every one it can find).
#pragma once

#include <string>
#include <vector>

namespace coffer::pg::wal {

struct WalRetentionPlan {
  std::string keep_from;            // the oldest kept backup's start segment; "" = keep everything
  std::vector<std::string> remove;  // file names, sorted
};

// `names`: the archive's files; `kept_starts`: start_wal of every physical backup of this
// cluster that stays. With no kept backup, nothing is removed (the WAL may be the only copy of
// the cluster's history; cleanup warns instead).
WalRetentionPlan plan_wal_retention(const std::vector<std::string>& names, const std::vector<std::string>& kept_starts);

}  // namespace coffer::pg::wal
