#include "engine/backup_id.h"

#include <gtest/gtest.h>

#include <set>

namespace coffer {

TEST(BackupId, ReadableUtcName) {
  auto t = std::chrono::system_clock::from_time_t(1733018400);  // 2024-12-01 02:00:00 UTC
  EXPECT_EQ(make_backup_id(BackupType::kFull, t, [](auto&) { return false; }), "full_20241201_020000");
  EXPECT_EQ(make_backup_id(BackupType::kIncremental, t, [](auto&) { return false; }),
            "incremental_20241201_020000");
}

TEST(BackupId, UniqueWithinOneSecond) {
  auto t = std::chrono::system_clock::from_time_t(1733018400);
  std::set<std::string> taken;
  for (int i = 0; i < 4; ++i)
    taken.insert(make_backup_id(BackupType::kFull, t, [&](const std::string& id) { return taken.count(id) > 0; }));
  EXPECT_EQ(taken, (std::set<std::string>{"full_20241201_020000", "full_20241201_020000_2", "full_20241201_020000_3",
                                          "full_20241201_020000_4"}));
}

}  // namespace coffer
