#include "coffer/history.h"

#include <gtest/gtest.h>

namespace coffer {

namespace {

BackupInfo backup(const std::string& id, BackupType type, const std::string& timestamp) {
  BackupInfo b;
  b.backup_id = id;
  b.type = type;
  b.timestamp = timestamp;
  return b;
}

HistoryRecord record(const std::string& type, const std::string& status, const std::string& timestamp) {
  HistoryRecord r;
  r.backup_type = type;
  r.status = status;
  r.timestamp = timestamp;
  return r;
}

}  // namespace

TEST(NewestSuccess, BackupsComeFromTheRepositoryPerType) {
  const std::vector<BackupInfo> backups = {
      backup("full_1", BackupType::kFull, "2024-12-01T02:00:00.000000Z"),
      backup("incremental_1", BackupType::kIncremental, "2024-12-01T09:00:00.000000Z"),
      backup("full_2", BackupType::kFull, "2024-12-02T02:00:00.000000Z"),
      backup("bad_time", BackupType::kFull, "yesterday"),
  };
  // A success the log still names but the repository no longer has does not count.
  const std::vector<HistoryRecord> history = {record("full", "success", "2024-12-03T02:00:00.000000Z")};
  auto full = newest_success("full", backups, history);
  ASSERT_TRUE(full);
  EXPECT_EQ(full->backup_id, "full_2");
  EXPECT_EQ(full->timestamp, "2024-12-02T02:00:00.000000Z");
  EXPECT_EQ(std::chrono::system_clock::to_time_t(full->time), 1733104800);
  EXPECT_EQ(newest_success("incremental", backups, history)->backup_id, "incremental_1");
  EXPECT_FALSE(newest_success("differential", backups, history));
  EXPECT_FALSE(newest_success("verify", backups, history));
}

TEST(NewestSuccess, OfTwoAtOneTimeTheLaterInTheListWins) {
  const std::vector<BackupInfo> backups = {
      backup("full_20241201_020000", BackupType::kFull, "2024-12-01T02:00:00.000000Z"),
      backup("full_20241201_020000_2", BackupType::kFull, "2024-12-01T02:00:00.000000Z"),
  };
  EXPECT_EQ(newest_success("full", backups, {})->backup_id, "full_20241201_020000_2");
}

TEST(NewestSuccess, CleanupsComeFromTheLog) {
  const std::vector<HistoryRecord> history = {
      record("cleanup", "success", "2024-12-02T03:00:00.000000Z"),
      record("cleanup", "success", "2024-12-01T03:00:00.000000Z"),  // logged later, older time
      record("cleanup", "failed", "2024-12-04T03:00:00.000000Z"),
      record("cleanup", "started", "2024-12-05T03:00:00.000000Z"),
      record("full", "success", "2024-12-06T03:00:00.000000Z"),
  };
  auto cleanup = newest_success("cleanup", {backup("full_1", BackupType::kFull, "2024-12-07T02:00:00.000000Z")}, history);
  ASSERT_TRUE(cleanup);
  EXPECT_EQ(cleanup->backup_id, "");
  EXPECT_EQ(cleanup->timestamp, "2024-12-02T03:00:00.000000Z");
  EXPECT_FALSE(newest_success("cleanup", {}, {record("cleanup", "failed", "2024-12-04T03:00:00.000000Z")}));
}

TEST(NewestSuccess, DrillsComeFromTheLogWithTheBackupTheyProved) {
  HistoryRecord passed = record("drill", "success", "2024-12-01T04:00:00.000000Z");
  passed.backup_id = "full_20241201_020000";
  HistoryRecord failed = record("drill", "failed", "2024-12-08T04:00:00.000000Z");
  failed.backup_id = "full_20241208_020000";
  auto drill = newest_success("drill", {}, {passed, failed, record("cleanup", "success", "2024-12-09T03:00:00.000000Z")});
  ASSERT_TRUE(drill);
  EXPECT_EQ(drill->backup_id, "full_20241201_020000");
  EXPECT_EQ(drill->timestamp, "2024-12-01T04:00:00.000000Z");
  EXPECT_FALSE(newest_success("drill", {}, {failed}));
}

}  // namespace coffer
