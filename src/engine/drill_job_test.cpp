// The drill job on a files-only repository (the database part is test_drill.py's, on the real
// server): what it checks and reports, that it leaves nothing in TMPDIR, that it sweeps what a
// killed drill left, and that bad input fails before anything is restored.
#include "engine/drill_job.h"

#include <gtest/gtest.h>
#include <sys/file.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "coffer/error.h"
#include "repo/chunk_store.h"
#include "repo/tree_stream.h"
#include "testing/fixtures.h"
#include "util/held_temp.h"

namespace coffer {
namespace {
namespace fs = std::filesystem;
using files::EntryType;
using files::FileEntry;

class DrillJobTest : public ::testing::Test {
 protected:
  void SetUp() override {
    test_support::TempRepository t = test_support::make_temp_repository("coffer-drill", true, "repo");
    dir_ = t.dir;
    repo_ = std::move(t.repo);
    fs::create_directories(dir_ / "tmp");
    tmpdir_.emplace("TMPDIR", (dir_ / "tmp").string());  // what the drill leaves is seen here
  }
  void TearDown() override {
    tmpdir_.reset();
    fs::remove_all(dir_);
  }

  // Commits a files backup of `files` (path -> content) under one folder, "uploads".
  std::string commit(const std::map<std::string, std::string>& files, const std::string& id) {
    ChunkStore store(*repo_, {Codec::kZstd, 1}, 1);
    std::vector<FileEntry> entries;
    FileEntry root;
    root.path = "uploads";
    root.type = EntryType::kDirectory;
    root.mode = 0755;
    entries.push_back(root);
    for (const auto& [path, content] : files) {
      FileEntry e;
      e.path = "uploads/" + path;
      e.type = EntryType::kFile;
      e.mode = 0644;
      e.size = content.size();
      e.chunks = {store.add(BlobType::kData, as_bytes(content))};
      entries.push_back(e);
    }
    Manifest m;
    m.info.backup_id = id;
    m.info.timestamp = "2026-12-06T04:00:00.000000Z";
    m.info.file_count = files.size();
    m.roots = {{"uploads", "/srv/uploads"}};
    m.tree = write_tree(store, repo_->tree_chunker(), entries);
    store.commit();
    EXPECT_TRUE(repo_->write_manifest(m, nullptr));
    return id;
  }

  DrillResult drill(const std::string& id, const BackupConfig& config = {}) {
    return run_drill(*repo_, id, config, {}, "", [this](const std::string& w) { warnings_.push_back(w); }, {});
  }

  bool tmp_is_empty() const { return fs::is_empty(dir_ / "tmp"); }

  fs::path dir_;
  std::unique_ptr<Repository> repo_;
  std::optional<test_support::ScopedEnv> tmpdir_;
  std::vector<std::string> warnings_;
};

TEST_F(DrillJobTest, AFilesBackupIsRestoredReadBackAndRemoved) {
  const std::string id = commit({{"a.txt", "first file"}, {"b.bin", std::string(100000, 'x')}}, "full_20261206_040000");
  DrillResult r = drill(id);
  EXPECT_TRUE(r.passed);
  EXPECT_EQ(r.backup_id, id);
  ASSERT_EQ(r.checks.size(), 2u);
  EXPECT_EQ(r.checks[0].part + " " + r.checks[0].name + " " + r.checks[0].status, "files restore passed");
  EXPECT_EQ(r.checks[1].part + " " + r.checks[1].name + " " + r.checks[1].status, "files file contents passed");
  EXPECT_EQ(r.files, 2u);
  EXPECT_EQ(r.bytes, 10u + 100000u);
  EXPECT_EQ(r.scratch_db, "");
  EXPECT_EQ(fs::path(r.scratch_dir).parent_path(), dir_ / "tmp");
  EXPECT_TRUE(tmp_is_empty()) << "the scratch folder is left";
  EXPECT_TRUE(warnings_.empty());
}

TEST_F(DrillJobTest, WhatAKilledDrillLeftInTmpdirIsSweptFirst) {
  const std::string id = commit({{"a.txt", "first file"}}, "full_20261206_040000");
  fs::create_directories(dir_ / "tmp" / (std::string(kHeldTempPrefix) + "left01") / "uploads");  // nobody holds it
  DrillResult r = drill(id);
  EXPECT_TRUE(r.passed);
  ASSERT_EQ(warnings_.size(), 1u);
  EXPECT_NE(warnings_[0].find("removed 1 scratch item(s)"), std::string::npos) << warnings_[0];
  EXPECT_EQ(r.warnings, warnings_);
  EXPECT_TRUE(tmp_is_empty());
}

TEST_F(DrillJobTest, ABackupWithNothingToRestoreFailsSayingSo) {
  const std::string id = commit({}, "full_20261206_040000");
  Manifest m = repo_->read_manifest(id);
  m.info.backup_id = "full_20261206_050000";
  m.roots.clear();
  ASSERT_TRUE(repo_->write_manifest(m, nullptr));
  DrillResult r = drill("full_20261206_050000");
  EXPECT_FALSE(r.passed);
  ASSERT_EQ(r.checks.size(), 1u);
  EXPECT_EQ(r.checks[0].status, "failed");
  EXPECT_NE(r.checks[0].detail.find("holds neither"), std::string::npos) << r.checks[0].detail;
}

TEST_F(DrillJobTest, ABadProbesFileOrAnUnknownBackupFailsBeforeAnythingIsRestored) {
  const std::string id = commit({{"a.txt", "first file"}}, "full_20261206_040000");
  BackupConfig config;
  config.drill_sql = dir_ / "missing.sql";
  try {
    drill(id, config);
    FAIL() << "a missing DRILL_SQL file was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kConfig);
    EXPECT_NE(std::string(e.what()).find("DRILL_SQL file " + config.drill_sql.string()), std::string::npos) << e.what();
  }
  try {
    drill("full_20000101_000000");
    FAIL() << "an unknown backup was drilled";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kNotFound);
  }
  EXPECT_TRUE(tmp_is_empty());
}

}  // namespace
}  // namespace coffer
