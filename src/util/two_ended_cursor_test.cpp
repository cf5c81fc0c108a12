#include "util/two_ended_cursor.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <thread>
#include <vector>

namespace coffer {
namespace {

TEST(TwoEndedCursor, FrontAscendsBackDescendsAndTheyMeet) {
  TwoEndedCursor c(5);
  EXPECT_EQ(c.take(false), 0u);
  EXPECT_EQ(c.take(true), 4u);
  EXPECT_EQ(c.take(true), 3u);
  EXPECT_EQ(c.take(false), 1u);
  EXPECT_EQ(c.take(false), 2u);
  EXPECT_EQ(c.take(false), std::nullopt);
  EXPECT_EQ(c.take(true), std::nullopt);
  EXPECT_EQ(TwoEndedCursor(0).take(false), std::nullopt);
}

TEST(TwoEndedCursor, StopEndsBothSides) {
  TwoEndedCursor c(10);
  EXPECT_EQ(c.take(true), 9u);
  c.stop();
  EXPECT_EQ(c.take(false), std::nullopt);
  EXPECT_EQ(c.take(true), std::nullopt);
}

TEST(TwoEndedCursor, EveryPositionGoesToExactlyOneTakerAcrossThreads) {
  constexpr size_t kCount = 100000;
  TwoEndedCursor c(kCount);
  std::vector<std::vector<size_t>> got(4);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < got.size(); ++t)
    threads.emplace_back([&, t] {
      while (auto i = c.take(t % 2 == 1)) got[t].push_back(*i);
    });
  for (auto& t : threads) t.join();
  std::vector<size_t> all;
  for (size_t t = 0; t < got.size(); ++t) {
    // Each taker's positions run one way.
    EXPECT_TRUE(t % 2 ? std::is_sorted(got[t].rbegin(), got[t].rend()) : std::is_sorted(got[t].begin(), got[t].end()));
    all.insert(all.end(), got[t].begin(), got[t].end());
  }
  std::sort(all.begin(), all.end());
  ASSERT_EQ(all.size(), kCount);
  for (size_t i = 0; i < kCount; ++i) ASSERT_EQ(all[i], i);
}

}  // namespace
}  // namespace coffer
