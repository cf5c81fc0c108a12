#include "source/postgres/wal/wal_chain.h"

#include <gtest/gtest.h>

#include "source/postgres/wal/wal_names.h"

namespace coffer::pg::wal {
namespace {

constexpr uint64_t k16MiB = 16u << 20;

std::string seg(uint32_t tli, uint64_t n) { return segment_name(tli, n, k16MiB); }

ChainInput on_timeline_1(std::initializer_list<uint64_t> numbers, uint64_t start) {
  ChainInput in;
  for (uint64_t n : numbers) in.names.insert(seg(1, n));
  in.timeline = 1;
  in.start_segment = seg(1, start);
  return in;
}

TEST(WalChainTest, ParsesHistoryLinesAndSkipsTheRest) {
  auto lines = parse_history("1\t0/3000098\tno recovery target specified\n\n# comment\n2\t0/5A000000\tbefore 2026-12-05\nx y\n");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].parent, 1u);
  EXPECT_EQ(lines[0].switch_lsn, 0x3000098u);
  EXPECT_EQ(lines[1].parent, 2u);
  EXPECT_EQ(lines[1].switch_lsn, 0x5A000000u);
}

TEST(WalChainTest, RunsToTheNewestSegmentWithoutAGap) {
  Chain c = follow_chain(on_timeline_1({2, 3, 4, 5, 6}, 3));
  EXPECT_EQ(c.files, 4u);
  EXPECT_EQ(c.segments.front(), seg(1, 3));
  EXPECT_EQ(c.last_segment, seg(1, 6));
  EXPECT_EQ(c.first_missing, "");
  EXPECT_EQ(c.timelines, std::vector<uint32_t>{1});
}

TEST(WalChainTest, StopsAtAGapAndNamesIt) {
  Chain c = follow_chain(on_timeline_1({3, 4, 6, 7}, 3));
  EXPECT_EQ(c.last_segment, seg(1, 4));
  EXPECT_EQ(c.first_missing, seg(1, 5));
}

TEST(WalChainTest, AMissingStartSegmentIsAGapBeforeAnything) {
  Chain c = follow_chain(on_timeline_1({4, 5}, 3));
  EXPECT_EQ(c.files, 0u);
  EXPECT_EQ(c.last_segment, "");
  EXPECT_EQ(c.first_missing, seg(1, 3));
  EXPECT_EQ(follow_chain(on_timeline_1({}, 3)).first_missing, "");  // nothing archived yet: no gap, no chain
}

TEST(WalChainTest, CrossesLogBoundaries) {
  ChainInput in = on_timeline_1({0xFE, 0xFF, 0x100, 0x101}, 0xFE);
  Chain c = follow_chain(in);
  EXPECT_EQ(c.files, 4u);
  EXPECT_EQ(c.segments[2], "000000010000000100000000");
  // With 1 GiB segments there are four per log: the names differ, the arithmetic follows.
  ChainInput big;
  big.segment_bytes = 1u << 30;
  big.timeline = 1;
  for (uint64_t n : {3, 4, 5}) big.names.insert(segment_name(1, n, big.segment_bytes));
  big.start_segment = segment_name(1, 3, big.segment_bytes);
  EXPECT_EQ(big.start_segment, "000000010000000000000003");
  EXPECT_EQ(follow_chain(big).last_segment, "000000010000000100000001");
}

TEST(WalChainTest, FollowsTheNewestTimelineThroughItsSwitchPoints) {
  // Timeline 1 until 0/5000100 (in segment 5), timeline 2 from segment 5 until 0/8000000, then 3.
  ChainInput in = on_timeline_1({3, 4, 5, 6, 7}, 3);  // 1's 5, 6, 7 were written after the switch by an old primary
  in.names.insert(seg(2, 5));
  in.names.insert(seg(2, 6));
  in.names.insert(seg(2, 7));
  in.names.insert(seg(3, 8));
  in.names.insert(seg(3, 9));
  in.histories[2] = {{1, 0x5000100}};
  in.histories[3] = {{1, 0x5000100}, {2, 0x8000000}};
  Chain c = follow_chain(in);
  EXPECT_EQ(c.timelines, (std::vector<uint32_t>{1, 2, 3}));
  EXPECT_EQ(c.segments, (std::vector<std::string>{seg(1, 3), seg(1, 4), seg(2, 5), seg(2, 6), seg(2, 7), seg(3, 8), seg(3, 9)}));
  EXPECT_EQ(c.first_missing, "");

  // A backup taken on timeline 2 follows 2 then 3 only.
  in.timeline = 2;
  in.start_segment = seg(2, 6);
  c = follow_chain(in);
  EXPECT_EQ(c.timelines, (std::vector<uint32_t>{2, 3}));
  EXPECT_EQ(c.last_segment, seg(3, 9));
}

TEST(WalChainTest, ABackupMadeAfterATimelineLeftItsOwnStaysOnItsOwn) {
  // Timeline 2 left 1 at 0/5000100; the old primary went on on 1, and a backup of it ended in 7.
  ChainInput in = on_timeline_1({5, 6, 7, 8}, 6);
  in.names.insert(seg(2, 5));
  in.names.insert(seg(2, 6));
  in.histories[2] = {{1, 0x5000100}};
  in.stop_lsn = 0x7000200;
  Chain c = follow_chain(in);
  EXPECT_EQ(c.timelines, std::vector<uint32_t>{1});
  EXPECT_EQ(c.last_segment, seg(1, 8));
  EXPECT_EQ(c.first_missing, "");
  // One that ended before the switch follows timeline 2.
  in.start_segment = seg(1, 5);
  in.stop_lsn = 0x5000028;
  EXPECT_EQ(follow_chain(in).timelines, (std::vector<uint32_t>{1, 2}));
}

TEST(WalChainTest, AMissingSegmentBeforeASwitchIsAGap) {
  ChainInput in = on_timeline_1({3, 5}, 3);
  in.names.insert(seg(2, 6));
  in.histories[2] = {{1, 0x6000000}};
  Chain c = follow_chain(in);
  EXPECT_EQ(c.last_segment, seg(1, 3));
  EXPECT_EQ(c.first_missing, seg(1, 4));
}

TEST(WalChainTest, ComparesPositionsAcrossTimelines) {
  EXPECT_TRUE(position_before(seg(2, 3), seg(1, 4)));
  EXPECT_FALSE(position_before(seg(1, 4), seg(2, 4)));
  EXPECT_TRUE(position_before("000000010000000000000003.00000028.backup", seg(1, 4)));
}

}  // namespace
}  // namespace coffer::pg::wal
