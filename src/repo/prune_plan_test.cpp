#include "repo/prune_plan.h"

#include <algorithm>

#include <gtest/gtest.h>

namespace coffer {
namespace {

ChunkId cid(int n) {
  ChunkId id{};
  id[0] = static_cast<uint8_t>(n);
  id[1] = static_cast<uint8_t>(n >> 8);
  return id;
}

// A pack of blobs {chunk number, stored length}.
PackRecord pack(const std::string& id, std::vector<std::pair<int, uint32_t>> blobs) {
  PackRecord p{id, {}};
  uint32_t offset = 0;
  for (auto [n, len] : blobs) {
    p.entries.push_back({BlobType::kData, cid(n), offset, len, len});
    offset += len;
  }
  return p;
}

ChunkSet live(std::initializer_list<int> ns) {
  ChunkSet s;
  for (int n : ns) s.insert(cid(n));
  return s;
}

std::vector<std::string> ids(const std::vector<PackRecord>& v) {
  std::vector<std::string> out;
  for (const auto& p : v) out.push_back(p.id);
  std::sort(out.begin(), out.end());
  return out;
}

using Strings = std::vector<std::string>;

TEST(PrunePlanTest, KeepsRewritesAndDropsByShareOfGarbage) {
  std::vector<PackRecord> indexed = {
      pack("all-live", {{1, 100}, {2, 100}}),
      pack("all-dead", {{3, 100}, {4, 50}}),
      pack("mostly-dead", {{5, 100}, {6, 300}}),      // 75% garbage: rewrite
      pack("a-little-dead", {{7, 400}, {8, 100}}),    // 20% garbage: keep
      pack("exactly-threshold", {{9, 70}, {10, 30}}), // 30% garbage: not above it, keep
  };
  std::unordered_map<std::string, uint64_t> present = {{"all-live", 250},     {"all-dead", 190},
                                                       {"mostly-dead", 440},  {"a-little-dead", 540},
                                                       {"exactly-threshold", 140}};
  PrunePlan plan = plan_prune(indexed, present, live({1, 2, 5, 7, 9}), 0.3);
  EXPECT_EQ(ids(plan.keep), (Strings{"a-little-dead", "all-live", "exactly-threshold"}));
  EXPECT_EQ(plan.drop, Strings{"all-dead"});
  EXPECT_EQ(plan.drop_bytes, 190u);
  ASSERT_EQ(plan.rewrite.size(), 1u);
  EXPECT_EQ(plan.rewrite[0].pack.id, "mostly-dead");
  ASSERT_EQ(plan.rewrite[0].live.size(), 1u);
  EXPECT_EQ(plan.rewrite[0].live[0].id, cid(5));
  EXPECT_EQ(plan.rewrite[0].garbage_bytes, 300u);
  EXPECT_EQ(plan.rewrite_garbage_bytes, 300u);
  EXPECT_TRUE(plan.unindexed.empty());
  EXPECT_EQ(plan.live_chunks_missing, 0u);
  EXPECT_TRUE(plan.changes_index());
}

TEST(PrunePlanTest, NothingToDoLeavesTheIndexAlone) {
  PrunePlan plan = plan_prune({pack("p", {{1, 10}})}, {{"p", 50}}, live({1}));
  EXPECT_EQ(ids(plan.keep), Strings{"p"});
  EXPECT_FALSE(plan.changes_index());
  EXPECT_EQ(plan.drop_bytes, 0u);
}

TEST(PrunePlanTest, PacksNoIndexListsAreLeftovers) {
  PrunePlan plan = plan_prune({pack("p", {{1, 10}})}, {{"p", 50}, {"orphan-b", 70}, {"orphan-a", 30}}, live({1}));
  EXPECT_EQ(plan.unindexed, (Strings{"orphan-a", "orphan-b"}));
  EXPECT_EQ(plan.drop_bytes, 100u);
  EXPECT_FALSE(plan.changes_index()) << "leftovers are deleted without a new index";
}

TEST(PrunePlanTest, ChunkInTwoPacksIsLiveOnlyInTheLeastGarbagePack) {
  // After a cleanup was killed between writing its index and removing the old ones: the copy
  // (new) and the original (old, with garbage) are both indexed.
  std::vector<PackRecord> indexed = {pack("old", {{1, 100}, {2, 100}, {3, 800}}), pack("new", {{1, 100}, {2, 100}})};
  PrunePlan plan = plan_prune(indexed, {{"old", 1100}, {"new", 300}}, live({1, 2}));
  EXPECT_EQ(ids(plan.keep), Strings{"new"});
  EXPECT_EQ(plan.drop, Strings{"old"});
  EXPECT_TRUE(plan.rewrite.empty());
  EXPECT_EQ(plan.drop_bytes, 1100u);
}

TEST(PrunePlanTest, DuplicatesInsideKeptPacksCountAsGarbageOfTheLaterPack) {
  std::vector<PackRecord> indexed = {pack("a", {{1, 100}, {2, 100}}), pack("b", {{2, 100}, {3, 20}})};
  PrunePlan plan = plan_prune(indexed, {{"a", 300}, {"b", 200}}, live({1, 2, 3}));
  EXPECT_EQ(ids(plan.keep), Strings{"a"});
  ASSERT_EQ(plan.rewrite.size(), 1u);  // b: chunk 2 is a's, so 100 of 120 bytes are garbage
  EXPECT_EQ(plan.rewrite[0].pack.id, "b");
  ASSERT_EQ(plan.rewrite[0].live.size(), 1u);
  EXPECT_EQ(plan.rewrite[0].live[0].id, cid(3));
}

TEST(PrunePlanTest, MissingPacksAreNeverRewritten) {
  std::vector<PackRecord> indexed = {pack("gone-but-needed", {{1, 10}, {9, 90}}), pack("gone-copy", {{2, 10}}),
                                     pack("here", {{2, 10}})};
  PrunePlan plan = plan_prune(indexed, {{"here", 40}}, live({1, 2, 5}));
  EXPECT_EQ(ids(plan.keep), (Strings{"gone-but-needed", "here"}));
  EXPECT_EQ(plan.drop, Strings{"gone-copy"});
  EXPECT_TRUE(plan.rewrite.empty());
  EXPECT_EQ(plan.drop_bytes, 0u);
  EXPECT_EQ(plan.live_chunks_missing, 2u);  // chunk 1 (in a missing pack) and chunk 5 (nowhere)
}

TEST(PrunePlanTest, ADeltasBaseStaysLiveWhenOnlyTheDeltaIsReferenced) {
  // Chunk 2 is stored as a delta against chunk 1, chunk 3 as a delta against chunk 2.
  PackRecord base_pack = pack("bases", {{1, 100}, {4, 100}, {5, 100}});
  PackRecord delta_pack = pack("deltas", {{2, 10}, {3, 10}, {6, 2}});
  delta_pack.entries[0].type = BlobType::kDelta;
  delta_pack.entries[0].base = cid(1);
  delta_pack.entries[1].type = BlobType::kDelta;
  delta_pack.entries[1].base = cid(2);  // a base with a delta copy of its own: its base follows
  PrunePlan plan = plan_prune({base_pack, delta_pack}, {{"bases", 400}, {"deltas", 100}}, live({3}));
  // 3 needs 2 needs 1; 4, 5 and 6 are garbage. "bases" is 2/3 garbage: rewritten with 1 only.
  ASSERT_EQ(plan.rewrite.size(), 1u);
  EXPECT_EQ(plan.rewrite[0].pack.id, "bases");
  ASSERT_EQ(plan.rewrite[0].live.size(), 1u);
  EXPECT_EQ(plan.rewrite[0].live[0].id, cid(1));
  EXPECT_EQ(ids(plan.keep), Strings{"deltas"});
  EXPECT_EQ(plan.live_chunks_missing, 0u);
}

TEST(PrunePlanTest, AMissingBaseCountsAsAMissingLiveChunk) {
  PackRecord delta_pack = pack("deltas", {{2, 10}});
  delta_pack.entries[0].type = BlobType::kDelta;
  delta_pack.entries[0].base = cid(1);  // in no pack
  PrunePlan plan = plan_prune({delta_pack}, {{"deltas", 50}}, live({2}));
  EXPECT_EQ(plan.live_chunks_missing, 1u);
}

}  // namespace
}  // namespace coffer
