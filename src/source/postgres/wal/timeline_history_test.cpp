#include "source/postgres/wal/timeline_history.h"

#include <gtest/gtest.h>

namespace coffer::pg::wal {
namespace {

// As PostgreSQL 15 writes 00000003.history: timeline 1 left at 0/4000A28, 2 at 0/9000000.
constexpr const char* kThree =
    "1\t0/4000A28\tbefore 2026-12-05 11:58:56.734598+00\n"
    "\n"
    "# a comment\n"
    "2\t0/9000000\tno recovery target specified\n";

TEST(TimelineHistoryTest, ABackupReachesATimelineThatLeftItsOwnAfterItEnded) {
  const std::vector<TimelineSwitch> h = parse_history(kThree);
  EXPECT_FALSE(timeline_unreachable(1, 0x2000100, 3, h));   // ended before timeline 2 left 1
  EXPECT_FALSE(timeline_unreachable(1, 0x4000A28, 3, h));   // ended exactly where it left
  EXPECT_FALSE(timeline_unreachable(2, 0x8000000, 3, h));
  EXPECT_FALSE(timeline_unreachable(3, 0xA000000, 3, {}));  // its own timeline
  // The backup went on past the switch on its own timeline: that WAL is not on the way.
  std::optional<std::string> why = timeline_unreachable(1, 0x5000000, 3, h);
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("left timeline 1 at LSN 0/4000A28, before the backup ended (LSN 0/5000000)"), std::string::npos)
      << *why;
  why = timeline_unreachable(2, 0x1000000, 1, {});
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("older than"), std::string::npos) << *why;
  why = timeline_unreachable(4, 0x1000000, 5, parse_history("1\t0/3000000\tx\n"));  // 5 left 1, not 4
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("does not descend"), std::string::npos) << *why;
}

}  // namespace
}  // namespace coffer::pg::wal
