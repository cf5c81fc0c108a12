#include "source/postgres/wal/wal_chain.h"

#include <cstdint>
#include <optional>
#include <sstream>

#include "source/postgres/wal/timeline_history.h"
#include "source/postgres/wal/wal_names.h"

namespace coffer::pg::wal {

std::vector<TimelineSwitch> parse_history(const std::string& text) {
  std::vector<TimelineSwitch> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string tli, lsn;
    if (!(fields >> tli >> lsn) || tli[0] == '#') continue;
    std::optional<uint64_t> at = parse_lsn(lsn);
    if (!at || tli.find_first_not_of("0123456789") != std::string::npos || tli.size() > 9) continue;
    out.push_back({static_cast<uint32_t>(std::stoul(tli)), *at});
  }
  return out;
}

namespace {

// The newest timeline recovery from the backup can follow, and the steps to it: each timeline
// with the LSN it ended at (none for the last).
struct Step {
  uint32_t timeline;
  std::optional<uint64_t> end_lsn;
};

std::vector<Step> path_from(const ChainInput& in) {
  uint32_t newest = in.timeline;
  for (const auto& [tli, lines] : in.histories)
    if (tli > newest && !timeline_unreachable(in.timeline, in.stop_lsn, tli, lines)) newest = tli;
  if (newest == in.timeline) return {{in.timeline, std::nullopt}};
  std::vector<Step> path;
  bool on_path = false;
  for (const TimelineSwitch& s : in.histories.at(newest)) {
    on_path = on_path || s.parent == in.timeline;
    if (on_path) path.push_back({s.parent, s.switch_lsn});
  }
  path.push_back({newest, std::nullopt});
  return path;
}

}  // namespace

Chain follow_chain(const ChainInput& in) {
  Chain chain;
  const std::optional<FileName> start = parse_file_name(in.start_segment);
  if (!start || start->kind != FileKind::kSegment) return chain;
  uint64_t n = segment_number(*start, in.segment_bytes);
  auto have = [&](uint32_t tli, uint64_t number) { return in.names.count(segment_name(tli, number, in.segment_bytes)) > 0; };
  for (const Step& step : path_from(in)) {
    chain.timelines.push_back(step.timeline);
    // A timeline ends in the segment holding its switch LSN; the next timeline's copy of that
    // segment holds the same WAL up to the switch, and recovery reads that one.
    // The newest timeline has no end: it runs to the end of the archive.
    const bool bounded = step.end_lsn.has_value();
    const uint64_t last = bounded ? segment_of_lsn(*step.end_lsn, in.segment_bytes) : UINT64_MAX;
    for (; n < last; ++n) {
      if (!have(step.timeline, n)) {
        if (bounded) {
          chain.first_missing = segment_name(step.timeline, n, in.segment_bytes);
        } else {  // the end of the archive, or a gap when later WAL of this timeline exists
          for (const std::string& name : in.names) {
            std::optional<FileName> f = parse_file_name(name);
            if (f && f->kind == FileKind::kSegment && f->timeline == step.timeline &&
                segment_number(*f, in.segment_bytes) > n) {
              chain.first_missing = segment_name(step.timeline, n, in.segment_bytes);
              break;
            }
          }
        }
        break;
      }
      chain.segments.push_back(segment_name(step.timeline, n, in.segment_bytes));
    }
    if (!chain.first_missing.empty()) break;
  }
  chain.files = chain.segments.size();
  if (!chain.segments.empty()) chain.last_segment = chain.segments.back();
  return chain;
}

bool position_before(const std::string& a, const std::string& b) {
  return a.substr(8, 16) < b.substr(8, 16);
}

}  // namespace coffer::pg::wal
