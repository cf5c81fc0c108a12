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
  db.data_blocks = {{3421, 12}, {3422, 25}};
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
  EXPECT_EQ(back.database->data_blocks, m.database->data_blocks);
}

TEST(Manifest, DatabaseWithoutDataBlocksReadsAsBefore) {
  // Manifests written before data block offsets were kept: restored by staging the dump.
  nlohmann::json j = manifest_to_json(sample());
  j["database"].erase("data_blocks");
  Manifest back = manifest_from_json(j, "m");
  ASSERT_TRUE(back.database);
  EXPECT_TRUE(back.database->data_blocks.empty());
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

// Found by fuzz/fuzz_manifest: numbers were read with nlohmann's get<T>(), which casts floats
// unchecked (1e300 into an int is undefined behaviour) and wraps or truncates integers.
TEST(Manifest, RejectsNumbersThatAreNotWholeOrDoNotFit) {
  const nlohmann::json good = manifest_to_json(sample());
  auto expect_damaged = [&](const nlohmann::json::json_pointer& field, const nlohmann::json& value) {
    nlohmann::json j = good;
    j[field] = value;
    try {
      manifest_from_json(j, "manifest X");
      FAIL() << j.dump();
    } catch (const Error& e) {
      EXPECT_EQ(e.category(), ErrorCategory::kDamaged);
      EXPECT_NE(std::string(e.what()).find("manifest X"), std::string::npos) << e.what();
    }
  };
  using ptr = nlohmann::json::json_pointer;
  expect_damaged(ptr("/format_version"), 1e300);
  expect_damaged(ptr("/format_version"), 4294967297u);  // truncated to 1 before
  expect_damaged(ptr("/file_count"), -1);                // wrapped to 2^64-1 before
  expect_damaged(ptr("/size_bytes"), 1.5);              // truncated to 1 before
  expect_damaged(ptr("/bytes_added"), -1e300);
  expect_damaged(ptr("/tree/0/1"), 4294967296u);         // truncated to 0 before
  expect_damaged(ptr("/tree/0/1"), -10);
  expect_damaged(ptr("/database/server_version_num"), 1e10);
  expect_damaged(ptr("/database/tables/0/2"), -7);
  expect_damaged(ptr("/database/dump_list/1/1"), 10.5);
  // Whole numbers in range still read, whether the JSON holds them signed or unsigned.
  nlohmann::json j = good;
  j["file_count"] = int64_t{5};
  j["database"]["server_version_num"] = uint64_t{150018};
  j["tree"][0][1] = uint64_t{4294967295u};
  Manifest m = manifest_from_json(j, "m");
  EXPECT_EQ(m.info.file_count, 5u);
  EXPECT_EQ(m.database->info.server_version_num, 150018);
  EXPECT_EQ(m.tree[0].size, 4294967295u);
}

TEST(Manifest, BackupIdValidation) {
  EXPECT_TRUE(is_valid_backup_id("full_20241201_020000"));
  EXPECT_TRUE(is_valid_backup_id("incremental_20241201_020000_2"));
  EXPECT_FALSE(is_valid_backup_id(""));
  EXPECT_FALSE(is_valid_backup_id("a/b"));
  EXPECT_FALSE(is_valid_backup_id(".."));
}

}  // namespace coffer
