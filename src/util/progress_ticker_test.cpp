#include "util/progress_ticker.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace coffer {
namespace {

TEST(ProgressTickerTest, TicksUntilStoppedAndNeverAfter) {
  std::atomic<int> ticks{0};
  ProgressTicker ticker([&] { ++ticks; });
  for (int i = 0; i < 100 && ticks < 2; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_GE(ticks.load(), 2);
  ticker.stop();
  const int at_stop = ticks.load();
  std::this_thread::sleep_for(std::chrono::milliseconds(450));
  EXPECT_EQ(ticks.load(), at_stop);
  ticker.stop();  // twice is fine
}

TEST(ProgressTickerTest, StopsAtOnceRatherThanAfterTheNextTick) {
  std::atomic<int> ticks{0};
  const auto start = std::chrono::steady_clock::now();
  {
    ProgressTicker ticker([&] { ++ticks; });
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(150));
  EXPECT_EQ(ticks.load(), 0);
}

}  // namespace
}  // namespace coffer
