// What a cleanup does with the packs, decided from the index alone (a pure function):
// given every indexed pack, the packs present in storage and the chunks the remaining backups
// reference, each pack is kept, rewritten (its live blobs copied into new packs) or dropped,
// and packs no index lists are leftovers of interrupted runs.
//
// A chunk stored in several packs (after an interrupted cleanup, or two backups racing) is live
// in one of them only: packs with the least garbage claim their live chunks first, so a pack
// that was already copied ends up with nothing live and is dropped.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "repo/index.h"

namespace coffer {

using ChunkSet = std::unordered_set<ChunkId, ChunkIdHash>;

struct PackRewrite {
  PackRecord pack;                // every entry, as indexed
  std::vector<PackEntry> live;    // the blobs to copy
  uint64_t garbage_bytes = 0;     // stored bytes of the blobs left behind
};

struct PrunePlan {
  std::vector<PackRecord> keep;          // listed again, unchanged
  std::vector<PackRewrite> rewrite;
  std::vector<std::string> drop;         // indexed packs holding nothing live
  std::vector<std::string> unindexed;    // packs in storage that no index file lists
  uint64_t drop_bytes = 0;               // stored size of drop + unindexed
  uint64_t rewrite_garbage_bytes = 0;
  uint64_t live_chunks_missing = 0;      // referenced chunks that no present pack holds (damage)
  bool changes_index() const { return !rewrite.empty() || !drop.empty(); }
};

// `indexed`: every pack the index files list (one record per pack id). `present`: pack id ->
// stored size for the packs in storage. `live`: the chunks the remaining backups reference; the
// bases their delta blobs need are added to it. A pack is rewritten when more than `rewrite_threshold`
// of its blob bytes are garbage. Packs missing from storage are never rewritten; they are kept
// when they hold a live chunk nobody else has (verify reports them), else dropped.
PrunePlan plan_prune(const std::vector<PackRecord>& indexed, const std::unordered_map<std::string, uint64_t>& present,
                     ChunkSet live, double rewrite_threshold = 0.3);

}  // namespace coffer
