#include "util/two_ended_cursor.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <thread>
#include <vector>

namespace coffer {
namespace {

TEST(TwoEndedCursor, BackTakesBlocksFromTheEndEachAscending) {
  // Weights 10 each, blocks of at least 25: [7,10), [4,7), [1,4), [0,1).
  TwoEndedCursor c(std::vector<uint64_t>(10, 10), 25);
  EXPECT_EQ(c.back_order(), (std::vector<size_t>{7, 8, 9, 4, 5, 6, 1, 2, 3, 0}));
  EXPECT_EQ(c.back_rank(4), 3u);
  std::vector<size_t> back;
  while (auto p = c.take(true)) back.push_back(*p);
  EXPECT_EQ(back, c.back_order());  // alone, the back takes its whole order
  EXPECT_EQ(c.take(false), std::nullopt);
}

TEST(TwoEndedCursor, FrontAscendsAndTheyMeetWithoutOverlap) {
  TwoEndedCursor c(std::vector<uint64_t>(10, 10), 25);
  EXPECT_EQ(c.take(false), 0u);
  EXPECT_EQ(c.take(true), 7u);  // claims [7,10)
  EXPECT_EQ(c.take(false), 1u);
  EXPECT_EQ(c.take(false), 2u);
  EXPECT_EQ(c.take(false), 3u);
  EXPECT_EQ(c.take(true), 8u);
  EXPECT_EQ(c.take(true), 9u);
  EXPECT_EQ(c.take(true), 4u);  // claims [4,7): the front got [1,4) first
  EXPECT_EQ(c.take(false), 6u);  // the front met it and takes the block's end
  EXPECT_EQ(c.take(true), 5u);
  EXPECT_EQ(c.take(true), std::nullopt);
  EXPECT_EQ(c.take(false), std::nullopt);
}

TEST(TwoEndedCursor, ABlockIsCutWhereTheFrontAlreadyIs) {
  TwoEndedCursor c(std::vector<uint64_t>(10, 10), 25);
  for (size_t i = 0; i < 6; ++i) EXPECT_EQ(c.take(false), i);
  EXPECT_EQ(c.take(true), 7u);  // [7,10)
  EXPECT_EQ(c.take(true), 8u);
  EXPECT_EQ(c.take(true), 9u);
  EXPECT_EQ(c.take(true), 6u);  // [4,7) less what the front took
  EXPECT_EQ(c.take(true), std::nullopt);
  EXPECT_EQ(c.take(false), std::nullopt);
}

TEST(TwoEndedCursor, StopEndsBothSidesAndEmptyHasNothing) {
  TwoEndedCursor c(std::vector<uint64_t>(10, 1), 3);
  EXPECT_EQ(c.take(true), 7u);
  c.stop();
  EXPECT_EQ(c.take(false), std::nullopt);
  EXPECT_EQ(c.take(true), std::nullopt);
  TwoEndedCursor empty({}, 3);
  EXPECT_EQ(empty.take(false), std::nullopt);
  EXPECT_EQ(empty.take(true), std::nullopt);
  EXPECT_TRUE(empty.back_order().empty());
}

TEST(TwoEndedCursor, EveryPositionGoesToExactlyOneTakerAcrossThreads) {
  constexpr size_t kCount = 100000;
  std::vector<uint64_t> weights(kCount);
  for (size_t i = 0; i < kCount; ++i) weights[i] = (i * 7919) % 1000;  // zeros included
  TwoEndedCursor c(weights, 20000);
  std::vector<std::vector<size_t>> got(4);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < got.size(); ++t)
    threads.emplace_back([&, t] {
      while (auto i = c.take(t % 2 == 1)) got[t].push_back(*i);
    });
  for (auto& t : threads) t.join();
  std::vector<size_t> all;
  for (const auto& g : got) all.insert(all.end(), g.begin(), g.end());
  std::sort(all.begin(), all.end());
  ASSERT_EQ(all.size(), kCount);
  for (size_t i = 0; i < kCount; ++i) ASSERT_EQ(all[i], i);
}

}  // namespace
}  // namespace coffer
