#include "engine/wal_push_state.h"

#include <fstream>

#include <gtest/gtest.h>

#include "testing/fixtures.h"

namespace coffer {
namespace {

TimePoint at(int seconds) { return TimePoint{} + std::chrono::hours(24 * 20000) + std::chrono::seconds(seconds); }

TEST(WalPushStateTest, NoFileIsNoState) {
  test_support::TempDir dir("wal-state");
  EXPECT_TRUE(WalPushState(dir.path).read().empty());
}

TEST(WalPushStateTest, FailuresCountUntilASuccessAndOnlyTheFirstOfAFileIsReported) {
  test_support::TempDir dir("wal-state");
  WalPushState state(dir.path);
  state.stored("7-15", "000000010000000000000003", at(0));
  EXPECT_TRUE(state.failed("7-15", "000000010000000000000004", at(10), "storage: disk full"));
  EXPECT_FALSE(state.failed("7-15", "000000010000000000000004", at(20), "storage: disk full"));
  EXPECT_TRUE(state.failed("7-15", "000000010000000000000005", at(30), "other"));  // another file
  WalArchiveStatus s = state.read().at("7-15");
  EXPECT_EQ(s.last_archived, "000000010000000000000003");
  EXPECT_EQ(s.last_archived_time, format_iso8601_utc(at(0)));
  EXPECT_EQ(s.failed_pushes, 3u);
  EXPECT_EQ(s.last_failed, "000000010000000000000005");
  EXPECT_EQ(s.last_error, "other");
  EXPECT_EQ(s.last_failed_time, format_iso8601_utc(at(30)));

  state.stored("7-15", "000000010000000000000004", at(40));
  s = state.read().at("7-15");
  EXPECT_EQ(s.failed_pushes, 0u);
  EXPECT_EQ(s.last_failed, "");
  EXPECT_EQ(s.last_archived, "000000010000000000000004");
  EXPECT_TRUE(state.failed("7-15", "000000010000000000000005", at(50), "again"));  // a new streak
}

TEST(WalPushStateTest, ClustersAreKeptApartAndADamagedFileStartsAfresh) {
  test_support::TempDir dir("wal-state");
  WalPushState state(dir.path);
  state.stored("7-15", "000000010000000000000003", at(0));
  state.stored("8-16", "000000010000000000000009", at(1));
  EXPECT_EQ(state.read().size(), 2u);
  std::ofstream(dir.path / "wal_push_state.json") << "{not json";
  EXPECT_TRUE(state.read().empty());
  state.stored("7-15", "000000010000000000000004", at(2));
  EXPECT_EQ(state.read().at("7-15").last_archived, "000000010000000000000004");
}

}  // namespace
}  // namespace coffer
