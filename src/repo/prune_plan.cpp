#include "repo/prune_plan.h"

#include <algorithm>
#include <numeric>

namespace coffer {

namespace {

// A delta blob is readable only with its base, so the base of every copy of a live chunk that is
// stored as a delta is live too; and so on, as a base may have a delta copy of its own.
void add_delta_bases(const std::vector<PackRecord>& indexed, ChunkSet& live) {
  std::unordered_multimap<ChunkId, ChunkId, ChunkIdHash> bases;
  for (const PackRecord& p : indexed)
    for (const PackEntry& e : p.entries)
      if (e.type == BlobType::kDelta) bases.emplace(e.id, e.base);
  if (bases.empty()) return;
  std::vector<ChunkId> todo(live.begin(), live.end());
  while (!todo.empty()) {
    ChunkId id = todo.back();
    todo.pop_back();
    auto [from, to] = bases.equal_range(id);
    for (auto it = from; it != to; ++it)
      if (live.insert(it->second).second) todo.push_back(it->second);
  }
}

}  // namespace

PrunePlan plan_prune(const std::vector<PackRecord>& indexed, const std::unordered_map<std::string, uint64_t>& present,
                     ChunkSet live, double rewrite_threshold) {
  add_delta_bases(indexed, live);
  struct Score {
    size_t pack;
    bool present;
    double live_share;  // of the pack's blob bytes
  };
  std::vector<Score> order;
  for (size_t i = 0; i < indexed.size(); ++i) {
    uint64_t total = 0, alive = 0;
    for (const PackEntry& e : indexed[i].entries) {
      total += e.length;
      if (live.count(e.id)) alive += e.length;
    }
    order.push_back({i, present.count(indexed[i].id) > 0, total ? double(alive) / double(total) : 0.0});
  }
  // Present packs before missing ones, then the most live first; ids make it deterministic.
  std::sort(order.begin(), order.end(), [&](const Score& a, const Score& b) {
    if (a.present != b.present) return a.present;
    if (a.live_share != b.live_share) return a.live_share > b.live_share;
    return indexed[a.pack].id < indexed[b.pack].id;
  });

  PrunePlan plan;
  ChunkSet claimed;
  std::unordered_set<std::string> listed;
  for (const Score& s : order) {
    const PackRecord& pack = indexed[s.pack];
    listed.insert(pack.id);
    PackRewrite r{pack, {}, 0};
    uint64_t total = 0;
    for (const PackEntry& e : pack.entries) {
      total += e.length;
      if (live.count(e.id) && claimed.insert(e.id).second)
        r.live.push_back(e);
      else
        r.garbage_bytes += e.length;
    }
    if (r.live.empty()) {
      plan.drop.push_back(pack.id);
      if (s.present) plan.drop_bytes += present.at(pack.id);
    } else if (s.present && double(r.garbage_bytes) > rewrite_threshold * double(total)) {
      plan.rewrite_garbage_bytes += r.garbage_bytes;
      plan.rewrite.push_back(std::move(r));
    } else {
      if (!s.present) plan.live_chunks_missing += r.live.size();
      plan.keep.push_back(pack);
    }
  }
  for (const auto& [id, size] : present) {
    if (listed.count(id)) continue;
    plan.unindexed.push_back(id);
    plan.drop_bytes += size;
  }
  std::sort(plan.unindexed.begin(), plan.unindexed.end());
  for (const ChunkId& id : live)
    if (!claimed.count(id)) ++plan.live_chunks_missing;
  return plan;
}

}  // namespace coffer
