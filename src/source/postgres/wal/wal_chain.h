// The WAL that recovery from a base backup reads, as the archive holds it: the segments from the
// backup's start segment on its timeline, across every timeline switch of the newest timeline that
// descends from it (the switch points come from the archived .history files), up to the newest
// segment that follows without a gap. Verify reports the gaps, list shows the restore window,
// and restore refuses a target the chain does not reach.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace coffer::pg::wal {

// One line of a timeline history file: timeline `parent` ended at `switch_lsn`.
struct TimelineSwitch {
  uint32_t parent = 0;
  uint64_t switch_lsn = 0;
};
// The lines of a .history file's text, oldest ancestor first; comment and blank lines skipped,
// lines that do not parse ignored (PostgreSQL's own reader ignores them too).
std::vector<TimelineSwitch> parse_history(const std::string& text);

struct ChainInput {
  std::set<std::string> names;                             // every file in the archive
  std::map<uint32_t, std::vector<TimelineSwitch>> histories;  // timeline -> its .history lines
  uint64_t segment_bytes = 16u << 20;
  uint32_t timeline = 0;        // the backup's
  std::string start_segment;    // the backup's start_wal
  // The backup's stop LSN: a timeline that left the backup's timeline before it is not on the
  // way (recovery from the backup cannot follow it; 0: every descendant is).
  uint64_t stop_lsn = 0;
};

struct Chain {
  // The timelines recovery follows, in order (the backup's first), and the segments it reads.
  std::vector<uint32_t> timelines;
  uint64_t files = 0;                  // segments present along the chain
  std::vector<std::string> segments;   // their names, in recovery order
  // The last segment recovery can read without a gap ("" when even the start one is missing).
  std::string last_segment;
  // The first segment the chain needs that the archive lacks while later WAL exists ("" when
  // the chain runs to the archive's newest segment on its last timeline).
  std::string first_missing;
};

// Follows the chain from in.start_segment. The last timeline is the newest one whose history
// names in.timeline as an ancestor, left at or after in.stop_lsn (in.timeline itself when none
// does: a backup made on a timeline after another left it restores with --target-timeline current).
Chain follow_chain(const ChainInput& in);

// Whether segment `a` comes before segment `b` in WAL position (timelines ignored).
bool position_before(const std::string& a, const std::string& b);

}  // namespace coffer::pg::wal
