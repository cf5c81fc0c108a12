// The files part of a backup on a real tree: what an incremental reuses and what it reads again,
// the file list it writes, and files that vanish between the walk and the read.
#include "engine/backup_job.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "coffer/error.h"
#include "repo/tree_stream.h"
#include "repo/chunk_store.h"
#include "source/files/tree_walker.h"
#include "storage/local/local_storage.h"
#include "testing/fixtures.h"

namespace coffer {
namespace fs = std::filesystem;
using files::EntryType;
using files::FileEntry;

class BackupFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    test_support::TempRepository t = test_support::make_temp_repository("coffer-backup-files", false, "repo");
    dir_ = t.dir;
    repo_ = std::move(t.repo);
    fs::create_directories(dir_ / "data/uploads/sub");
    write("uploads/a.txt", "alpha");
    write("uploads/sub/b.txt", std::string(300000, 'b'));
    write("uploads/sub/c.bin", "gamma");
    write("uploads/sub-x", "sorts between sub and sub/ bytewise");
    fs::create_symlink("a.txt", dir_ / "data/uploads/link");
    fs::create_hard_link(dir_ / "data/uploads/a.txt", dir_ / "data/uploads/z-hard");
    write("notes.txt", "a root that is a file");
    config_.backup_paths = {dir_ / "data/uploads", dir_ / "data/notes.txt"};
  }
  void TearDown() override { fs::remove_all(dir_); }

  void write(const std::string& rel, const std::string& content) {
    std::ofstream(dir_ / "data" / rel, std::ios::binary) << content;
  }

  BackupInfo backup(BackupType type, std::function<void(const Progress&)> on_progress = {}) {
    BackupJobOptions o;
    o.type = type;
    o.scope = BackupScope::kFiles;
    o.on_progress = std::move(on_progress);
    return run_backup(*repo_, config_, o);
  }

  std::vector<FileEntry> tree_of(const BackupInfo& info) {
    Manifest m = repo_->read_manifest(info.backup_id);
    return read_tree(*repo_, m.tree, info.backup_id);
  }

  std::string content(const FileEntry& e) {
    std::string out;
    for (const ChunkRef& c : e.chunks) {
      Bytes b = repo_->read_blob(c.id);
      out.append(b.begin(), b.end());
    }
    return out;
  }

  // What the walk sees now, in its order.
  std::vector<std::string> walked_paths() {
    std::vector<std::string> paths;
    files::walk(files::name_roots(config_.backup_paths), {[&](FileEntry& e, const fs::path&) { paths.push_back(e.path); }, {}});
    return paths;
  }

  static std::vector<std::string> paths(const std::vector<FileEntry>& entries) {
    std::vector<std::string> out;
    for (const FileEntry& e : entries) out.push_back(e.path);
    return out;
  }

  fs::path dir_;
  std::unique_ptr<Repository> repo_;
  BackupConfig config_;
};

TEST_F(BackupFilesTest, IncrementalReadsOnlyChangedFilesAndWritesTheSameList) {
  BackupInfo full = backup(BackupType::kFull);
  EXPECT_EQ(full.files_read, 5u);  // a, sub/b, sub/c, sub-x, notes.txt (z-hard is a link)
  EXPECT_EQ(full.file_count, 5u);
  auto entries = tree_of(full);
  EXPECT_EQ(paths(entries), walked_paths());  // walk order, every root, nothing left out
  std::map<std::string, std::string> got;
  for (const FileEntry& e : entries)
    if (e.type == EntryType::kFile) got[e.path] = content(e);
  EXPECT_EQ(got["uploads/sub/b.txt"], std::string(300000, 'b'));
  EXPECT_EQ(got["notes.txt"], "a root that is a file");
  EXPECT_EQ(entries.back().path, "notes.txt");

  write("uploads/sub/c.bin", "gamma, changed");
  write("uploads/new.txt", "new");
  BackupInfo incremental = backup(BackupType::kIncremental);
  EXPECT_EQ(incremental.parent, full.backup_id);
  EXPECT_EQ(incremental.files_read, 2u);  // the changed and the new file; the rest reused
  EXPECT_EQ(incremental.file_count, 6u);
  EXPECT_TRUE(incremental.warnings.empty());
  // Reused chunks and freshly read ones give the same list, byte for byte, as a full backup.
  BackupInfo full2 = backup(BackupType::kFull);
  EXPECT_EQ(full2.files_read, 6u);
  EXPECT_EQ(repo_->read_manifest(incremental.backup_id).tree, repo_->read_manifest(full2.backup_id).tree);
  for (const FileEntry& e : tree_of(incremental)) {
    if (e.path == "uploads/sub/c.bin") {
      EXPECT_EQ(content(e), "gamma, changed");
    }
  }
}

TEST_F(BackupFilesTest, ChunksNoLongerStoredAreReadAgain) {
  // A parent whose entry for a.txt matches the file on disk but names a chunk the index lacks.
  FileEntry a;
  ASSERT_TRUE(files::stat_entry(dir_ / "data/uploads/a.txt", a));
  a.path = "uploads/a.txt";
  ChunkRef missing;
  missing.id.fill(0xab);
  missing.size = static_cast<uint32_t>(a.size);
  a.chunks = {missing};
  FileEntry root;
  ASSERT_TRUE(files::stat_entry(dir_ / "data/uploads", root));
  root.path = "uploads";
  Manifest m;
  m.info.backup_id = "full_20200101_000000";
  m.info.timestamp = "2020-01-01T00:00:00.000000Z";
  m.roots = {{"uploads", (dir_ / "data/uploads").string()}};
  {
    ChunkStore store(*repo_, {Codec::kNone, 0}, 1);
    m.tree = write_tree(store, repo_->tree_chunker(), {root, a});
    store.commit();
  }
  ASSERT_TRUE(repo_->write_manifest(m, nullptr));

  BackupInfo incremental = backup(BackupType::kIncremental);
  EXPECT_EQ(incremental.parent, m.info.backup_id);
  EXPECT_EQ(incremental.files_read, 5u);
  for (const FileEntry& e : tree_of(incremental)) {
    if (e.path == "uploads/a.txt") {
      EXPECT_EQ(content(e), "alpha");
      EXPECT_NE(e.chunks.at(0).id, missing.id);
    }
  }
}

TEST_F(BackupFilesTest, TouchedFileIsReadAgain) {
  backup(BackupType::kFull);
  fs::last_write_time(dir_ / "data/uploads/sub/b.txt", fs::file_time_type::clock::now() - std::chrono::hours(1));
  EXPECT_EQ(backup(BackupType::kIncremental).files_read, 1u);
}

TEST_F(BackupFilesTest, FileVanishedAfterTheWalkIsLeftOutWithItsHardLink) {
  bool removed = false;
  BackupInfo info = backup(BackupType::kFull, [&](const Progress& p) {
    if (p.phase == "backup" && !removed) {  // walked, nothing read yet
      fs::remove(dir_ / "data/uploads/a.txt");
      removed = true;
    }
  });
  ASSERT_TRUE(removed);
  ASSERT_EQ(info.warnings.size(), 2u);
  EXPECT_EQ(info.warnings[0], "skipped " + (dir_ / "data/uploads/a.txt").string() + ": vanished during the backup");
  EXPECT_EQ(info.warnings[1], "skipped hard link uploads/z-hard: its first link vanished during the backup");
  EXPECT_EQ(info.file_count, 4u);
  auto got = paths(tree_of(info));
  std::vector<std::string> expected;
  for (const std::string& p : walked_paths())
    if (p != "uploads/z-hard") expected.push_back(p);  // the walk now reports z-hard as the file
  EXPECT_EQ(got, expected);
}

}  // namespace coffer
