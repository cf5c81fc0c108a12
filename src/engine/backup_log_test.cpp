#include "engine/backup_log.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "coffer/clock.h"
#include "testing/fixtures.h"

namespace coffer {

namespace fs = std::filesystem;

class BackupLogTest : public ::testing::Test {
 protected:
  std::string file_text() const {
    std::ifstream in(dir_ / "backup_log.json");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  void write_file(const std::string& text) const { std::ofstream(dir_ / "backup_log.json") << text; }

  test_support::TempDir temp_{"backup-log-test"};
  const fs::path dir_ = temp_.path;
};

namespace {

HistoryRecord cleanup_success(const std::string& timestamp) {
  HistoryRecord r;
  r.backup_type = "cleanup";
  r.status = "success";
  r.timestamp = timestamp;
  r.cleanup.removed = {"full_20241101_020000"};
  return r;
}

}  // namespace

TEST_F(BackupLogTest, AMissingLogIsEmpty) {
  EXPECT_TRUE(BackupLog(dir_).read().empty());
  EXPECT_TRUE(BackupLog(dir_).ids().empty());
}

TEST_F(BackupLogTest, AppendedRecordsReadBackTyped) {
  BackupLog log(dir_);
  log.append(cleanup_success("2024-12-01T03:00:00.000000Z"));
  const auto started = std::chrono::system_clock::from_time_t(1733018400);  // 2024-12-01 02:00:00 UTC
  Error error(ErrorCategory::kDatabase, "cannot connect to http://user:secret@db");
  HistoryRecord failed = failed_attempt_record(BackupType::kFull, started, 0.5, "shop", error);
  EXPECT_EQ(log.append_with_new_id(failed, started, [](const std::string& id) { return id == "full_20241201_020000"; }),
            "full_20241201_020000_2");
  EXPECT_EQ(log.append_with_new_id(failed, started, {}), "full_20241201_020000");  // taken by no one now

  const std::vector<HistoryRecord> records = log.read();
  ASSERT_EQ(records.size(), 3u);
  EXPECT_TRUE(records[0].is_cleanup());
  EXPECT_EQ(records[0].cleanup.removed, std::vector<std::string>{"full_20241101_020000"});
  EXPECT_EQ(records[1].backup_id, "full_20241201_020000_2");
  EXPECT_EQ(records[1].status, "failed");
  EXPECT_EQ(records[1].timestamp, format_iso8601_utc(started));
  EXPECT_EQ(records[1].error_category, "database");
  EXPECT_EQ(records[1].error, "cannot connect to http://***@db") << "credentials in a URL are redacted";
  ASSERT_TRUE(records[1].backup.database.has_value());
  EXPECT_EQ(records[1].backup.database->name, "shop");
  EXPECT_FALSE(records[1].backup.database->dumped);
  EXPECT_FALSE(records[1].backup.host.empty());
  EXPECT_EQ(log.ids(), (std::set<std::string>{"full_20241201_020000", "full_20241201_020000_2"}));
}

TEST_F(BackupLogTest, RecordsAlreadyThereAreKeptWhole) {
  // A record of a later version, with a field this one does not know, and a stray entry.
  const nlohmann::json before = nlohmann::json::parse(
      R"([{"backup_id": "full_20241201_020000", "backup_type": "full", "status": "success",
           "future_field": [1.25, {"x": null}], "metadata": {"host": "h", "future": 0.0}}, 42])");
  write_file(before.dump());
  BackupLog(dir_).append(cleanup_success("2024-12-01T03:00:00.000000Z"));
  const nlohmann::json after = nlohmann::json::parse(file_text());
  ASSERT_EQ(after.size(), 3u);
  EXPECT_EQ(after[0].dump(), before[0].dump());
  EXPECT_EQ(after[1], 42);
  EXPECT_EQ(after[2]["backup_type"], "cleanup");
  EXPECT_EQ(BackupLog(dir_).read().size(), 2u) << "the stray entry is passed over";
}

TEST_F(BackupLogTest, ADamagedLogThrowsOnReadAndIsSetAsideOnAppend) {
  write_file("[{\"backup_id\": \"full_2024");
  EXPECT_THROW(
      {
        try {
          BackupLog(dir_).read();
        } catch (const Error& e) {
          EXPECT_EQ(e.category(), ErrorCategory::kDamaged);
          throw;
        }
      },
      Error);
  EXPECT_TRUE(BackupLog(dir_).ids().empty());
  std::vector<std::string> warnings;
  BackupLog(dir_, [&](const std::string& w) { warnings.push_back(w); }).append(cleanup_success("2024-12-01T03:00:00Z"));
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("backup_log.json.damaged-"), std::string::npos) << warnings[0];
  EXPECT_EQ(BackupLog(dir_).read().size(), 1u);
  int aside = 0;
  for (const auto& entry : fs::directory_iterator(dir_))
    aside += entry.path().filename().string().rfind("backup_log.json.damaged-", 0) == 0;
  EXPECT_EQ(aside, 1);
}

}  // namespace coffer
