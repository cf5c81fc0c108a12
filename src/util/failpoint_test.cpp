#include "util/failpoint.h"

#include <signal.h>
#include <stdlib.h>

#include <chrono>

#include <gtest/gtest.h>

namespace coffer {
namespace {

class FailpointTest : public ::testing::Test {
 protected:
  void TearDown() override { ::unsetenv("COFFER_FAILPOINT"); }
};

TEST_F(FailpointTest, UnsetOrOtherNamesDoNothing) {
  ::unsetenv("COFFER_FAILPOINT");
  failpoint("cleanup-after-index-written");
  ::setenv("COFFER_FAILPOINT", "cleanup-after-index,other", 1);
  failpoint("cleanup-after-index-written");  // a prefix is not a match
}

TEST_F(FailpointTest, NamedPointKillsTheProcessWithSigkill) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        ::setenv("COFFER_FAILPOINT", "first,cleanup-after-index-written", 1);
        failpoint("cleanup-after-index-written");
      },
      ::testing::KilledBySignal(SIGKILL), "");
}

TEST_F(FailpointTest, SleepActionPausesAndReturns) {
  ::setenv("COFFER_FAILPOINT", "slow:sleep=120", 1);
  auto start = std::chrono::steady_clock::now();
  failpoint("slow");
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_GE(elapsed, std::chrono::milliseconds(120));
  EXPECT_LT(elapsed, std::chrono::seconds(3));
}

}  // namespace
}  // namespace coffer
