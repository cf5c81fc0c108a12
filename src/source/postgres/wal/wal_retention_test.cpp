#include "source/postgres/wal/wal_retention.h"

#include <gtest/gtest.h>

namespace coffer::pg::wal {
namespace {

const std::vector<std::string> kArchive = {
    "000000010000000000000002", "000000010000000000000003", "000000010000000000000003.00000028.backup",
    "000000010000000000000004", "000000010000000000000005.partial", "000000020000000000000005",
    "000000020000000000000006", "000000020000000000000006.00000060.backup", "000000020000000000000007",
    "00000002.history"};

TEST(WalRetentionTest, RemovesWhatLiesBeforeTheOldestKeptBackupsStart) {
  WalRetentionPlan plan = plan_wal_retention(kArchive, {"000000020000000000000006", "000000010000000000000004"});
  EXPECT_EQ(plan.keep_from, "000000010000000000000004");
  EXPECT_EQ(plan.remove, (std::vector<std::string>{"000000010000000000000002", "000000010000000000000003",
                                                   "000000010000000000000003.00000028.backup"}));
}

TEST(WalRetentionTest, KeepsTheStartSegmentItsBackupFileAndEveryHistoryFile) {
  WalRetentionPlan plan = plan_wal_retention(kArchive, {"000000020000000000000006"});
  EXPECT_EQ(plan.remove, (std::vector<std::string>{"000000010000000000000002", "000000010000000000000003",
                                                   "000000010000000000000003.00000028.backup",
                                                   "000000010000000000000004", "000000010000000000000005.partial",
                                                   "000000020000000000000005"}));
}

TEST(WalRetentionTest, WithoutAKeptBackupNothingGoes) {
  EXPECT_TRUE(plan_wal_retention(kArchive, {}).remove.empty());
  EXPECT_EQ(plan_wal_retention(kArchive, {}).keep_from, "");
  EXPECT_TRUE(plan_wal_retention(kArchive, {"not a segment"}).remove.empty());
}

}  // namespace
}  // namespace coffer::pg::wal
