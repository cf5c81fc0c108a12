#include "repo/manifest.h"

#include <gtest/gtest.h>

#include "coffer/error.h"

namespace coffer {

namespace {
Manifest sample() {
  Manifest m;
  m.info.backup_id = "full_20241201_020000";
  m.info.type = BackupType::kFull;
  m.info.timestamp = "2024-12-01T02:00:00.000000Z";
  m.info.file_count = 2;
  m.roots = {{"uploads", "/srv/app/uploads"}};
  m.tree = {{ChunkId{1}, 10}};
  DatabasePart db;
  db.info.name = "school";
  db.info.server_version = "15.18";
  db.info.server_version_num = 150018;
  db.info.dump_bytes = 30;
  db.info.tables = {{"public", "users", 7}, {"Other", "Mixed Case", 0}};
  db.dump_list = {{ChunkId{2}, 20}, {ChunkId{3}, 10}};
  m.database = db;
  return m;
}
}  // namespace

TEST(Manifest, RoundTripWithDatabase) {
  Manifest m = sample();
  Manifest back = manifest_from_json(manifest_to_json(m), "m");
  EXPECT_EQ(back.info.backup_id, m.info.backup_id);
  EXPECT_EQ(back.tree, m.tree);
  ASSERT_TRUE(back.database);
  EXPECT_EQ(back.database->dump_list, m.database->dump_list);
  ASSERT_EQ(back.database->info.tables.size(), 2u);
  EXPECT_EQ(back.database->info.tables[1].name, "Mixed Case");
  EXPECT_EQ(back.database->info.tables[0].rows, 7u);
  ASSERT_TRUE(back.info.database);
  EXPECT_EQ(back.info.database->server_version_num, 150018);
}

TEST(Manifest, RejectsHostileValues) {
  auto expect_damaged = [](nlohmann::json j) {
    try {
      manifest_from_json(j, "manifest X");
      FAIL() << j.dump();
    } catch (const Error& e) {
      EXPECT_EQ(e.category(), ErrorCategory::kDamaged);
      EXPECT_NE(std::string(e.what()).find("manifest X"), std::string::npos);
    }
  };
  nlohmann::json good = manifest_to_json(sample());
  nlohmann::json j = good;
  j["backup_id"] = "../../etc/passwd";
  expect_damaged(j);
  j = good;
  j["roots"][0]["name"] = "..";
  expect_damaged(j);
  j = good;
  j["format_version"] = 2;
  expect_damaged(j);
  j = good;
  j["database"]["format"] = "tar";
  expect_damaged(j);
  j = good;
  j["tree"][0][0] = "abcd";  // short id
  expect_damaged(j);
  j = good;
  j.erase("roots");
  expect_damaged(j);
}

TEST(Manifest, BackupIdValidation) {
  EXPECT_TRUE(is_valid_backup_id("full_20241201_020000"));
  EXPECT_TRUE(is_valid_backup_id("incremental_20241201_020000_2"));
  EXPECT_FALSE(is_valid_backup_id(""));
  EXPECT_FALSE(is_valid_backup_id("a/b"));
  EXPECT_FALSE(is_valid_backup_id(".."));
}

}  // namespace coffer
