#include "repo/delta_base_picker.h"

#include <gtest/gtest.h>

namespace coffer {
namespace {

ChunkId id_of(int n) {
  ChunkId id{};
  id[0] = static_cast<uint8_t>(n);
  id[1] = static_cast<uint8_t>(n >> 8);
  id[31] = 1;
  return id;
}

std::vector<ChunkRef> refs(std::initializer_list<int> ns) {
  std::vector<ChunkRef> out;
  for (int n : ns) out.push_back({id_of(n), 100});
  return out;
}

using Ids = std::vector<ChunkId>;

TEST(DeltaBasePicker, ChangedChunksPairWithTheChunkAtTheSamePlaceThenTheLastAnchor) {
  DeltaBasePicker picker(refs({1, 2, 3, 4, 5}));
  EXPECT_EQ(picker.next(id_of(1)), Ids{});                        // unchanged: stored already
  EXPECT_EQ(picker.next(id_of(102)), (Ids{id_of(2), id_of(1)}));  // 2 changed
  EXPECT_EQ(picker.next(id_of(103)), (Ids{id_of(3), id_of(1)}));  // and 3
  EXPECT_EQ(picker.next(id_of(4)), Ids{});
  EXPECT_EQ(picker.next(id_of(105)), (Ids{id_of(5), id_of(4)}));
  EXPECT_EQ(picker.next(id_of(106)), Ids{id_of(4)});  // appended past the end: the old tail only
}

TEST(DeltaBasePicker, AnchorsRealignAfterInsertedAndRemovedChunks) {
  DeltaBasePicker picker(refs({1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(picker.next(id_of(1)), Ids{});
  EXPECT_EQ(picker.next(id_of(200)), (Ids{id_of(2), id_of(1)}));  // an inserted chunk takes 2's place
  EXPECT_EQ(picker.next(id_of(201)), (Ids{id_of(3), id_of(1)}));
  EXPECT_EQ(picker.next(id_of(4)), Ids{});  // 4 anchors again: 2 and 3 were replaced
  EXPECT_EQ(picker.next(id_of(6)), Ids{});  // 5 removed
  EXPECT_EQ(picker.next(id_of(202)), Ids{id_of(6)});
}

TEST(DeltaBasePicker, BeforeAnyAnchorOnlyThePlaceCounts) {
  DeltaBasePicker picker(refs({1, 2}));
  EXPECT_EQ(picker.next(id_of(101)), Ids{id_of(1)});
  EXPECT_EQ(picker.next(id_of(102)), Ids{id_of(2)});
  EXPECT_EQ(picker.next(id_of(103)), Ids{});
}

TEST(DeltaBasePicker, NoPreviousDumpSuggestsNothing) {
  DeltaBasePicker picker({});
  EXPECT_EQ(picker.next(id_of(1)), Ids{});
}

}  // namespace
}  // namespace coffer
