#include "source/postgres/wal/wal_retention.h"

#include <algorithm>

#include "source/postgres/wal/wal_chain.h"
#include "source/postgres/wal/wal_names.h"

namespace coffer::pg::wal {

WalRetentionPlan plan_wal_retention(const std::vector<std::string>& names, const std::vector<std::string>& kept_starts) {
  WalRetentionPlan plan;
  for (const std::string& s : kept_starts) {
    std::optional<FileName> f = parse_file_name(s);
    if (!f || f->kind != FileKind::kSegment) return {};  // a start we cannot place: keep everything
    if (plan.keep_from.empty() || position_before(s, plan.keep_from)) plan.keep_from = s;
  }
  if (plan.keep_from.empty()) return plan;
  for (const std::string& name : names) {
    std::optional<FileName> f = parse_file_name(name);
    if (f && f->kind != FileKind::kTimelineHistory && position_before(name, plan.keep_from)) plan.remove.push_back(name);
  }
  std::sort(plan.remove.begin(), plan.remove.end());
  return plan;
}

}  // namespace coffer::pg::wal
