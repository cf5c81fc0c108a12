// Whether recovery from a base backup can follow to a target timeline. Recovery can follow a
// backup made on timeline P to timeline T only when T's history file (wal_chain.h's
// parse_history) names P and the backup's WAL (up to its stop LSN) lies before the point where T
// left P; otherwise PostgreSQL stops at start ("requested timeline T is not a child of this
// server's history").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "source/postgres/wal/wal_chain.h"

namespace coffer::pg::wal {

// Why recovery from a backup on `backup_timeline` that ends at `backup_stop_lsn` cannot reach
// timeline `target` with history `history` (target's history file; unused when the target is
// the backup's timeline); nullopt when it can.
std::optional<std::string> timeline_unreachable(uint32_t backup_timeline, uint64_t backup_stop_lsn, uint32_t target,
                                                const std::vector<TimelineSwitch>& history);

}  // namespace coffer::pg::wal
