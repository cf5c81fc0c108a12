// A hostile repository: a backup whose file list was crafted (by someone holding the keys, or by
// a bug) to write outside the restore target. Restore must refuse it cleanly and write nothing
// outside the target.
#include "engine/restore_job.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "coffer/error.h"
#include "repo/tree_stream.h"
#include "repo/chunk_store.h"
#include "storage/local/local_storage.h"
#include "testing/fixtures.h"

namespace coffer {
namespace fs = std::filesystem;
using files::EntryType;
using files::FileEntry;

class HostileRestoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    test_support::TempRepository t = test_support::make_temp_repository("coffer-hostile", true, "repo");
    dir_ = t.dir;
    repo_ = std::move(t.repo);
    fs::create_directories(dir_ / "target");
    fs::create_directories(dir_ / "outside");
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Commits a backup whose tree stream holds `entries` as given (nothing validates them here).
  std::string commit(std::vector<FileEntry> entries, const std::string& id) {
    ChunkStore store(*repo_, {Codec::kZstd, 1}, 1);
    for (FileEntry& e : entries)
      if (e.type == EntryType::kFile) {
        std::string content = "payload of " + e.path;
        e.chunks = {store.add(BlobType::kData, as_bytes(content))};
        e.size = content.size();
      }
    Manifest m;
    m.info.backup_id = id;
    m.info.timestamp = "2026-01-01T00:00:00.000000Z";
    m.roots = {{"uploads", "/srv/uploads"}};
    m.tree = write_tree(store, repo_->tree_chunker(), entries);
    store.commit();
    EXPECT_TRUE(repo_->write_manifest(m, nullptr));
    return id;
  }

  static FileEntry file(const std::string& path) {
    FileEntry e;
    e.path = path;
    e.type = EntryType::kFile;
    e.mode = 0644;
    return e;
  }
  static FileEntry dir(const std::string& path) {
    FileEntry e;
    e.path = path;
    e.type = EntryType::kDirectory;
    e.mode = 0755;
    return e;
  }
  static FileEntry symlink(const std::string& path, const std::string& target) {
    FileEntry e;
    e.path = path;
    e.type = EntryType::kSymlink;
    e.mode = 0777;
    e.link_target = target;
    return e;
  }

  // Restores under target/ and expects a clean refusal; returns the error text.
  std::string refused(const std::string& id) {
    RestoreJobOptions o;
    o.restore.target = (dir_ / "target").string();
    try {
      run_restore(*repo_, id, o);
    } catch (const Error& e) {
      EXPECT_NE(e.category(), ErrorCategory::kInternal) << e.what();
      return e.what();
    }
    ADD_FAILURE() << "restore of " << id << " went ahead";
    return "";
  }

  // Every file that exists anywhere under dir_ except the repository and the target.
  std::vector<std::string> written_outside() {
    std::vector<std::string> out;
    for (auto it = fs::recursive_directory_iterator(dir_); it != fs::recursive_directory_iterator(); ++it) {
      fs::path rel = fs::relative(it->path(), dir_);
      std::string first = rel.begin()->string();
      if (first == "repo" || first == "target") continue;
      if (!it->is_directory()) out.push_back(rel.string());
    }
    return out;
  }

  fs::path dir_;
  std::unique_ptr<Repository> repo_;
};

TEST_F(HostileRestoreTest, DotDotPathsAreRefused) {
  std::string msg = refused(commit({dir("uploads"), file("uploads/../../outside/evil.txt")}, "full_20260101_000001"));
  EXPECT_NE(msg.find("file list"), std::string::npos) << msg;
  EXPECT_EQ(written_outside(), std::vector<std::string>{});
}

TEST_F(HostileRestoreTest, AbsolutePathsAreRefused) {
  std::string abs = (dir_ / "outside" / "abs.txt").string();
  refused(commit({dir("uploads"), file(abs)}, "full_20260101_000002"));
  EXPECT_FALSE(fs::exists(abs));
  EXPECT_EQ(written_outside(), std::vector<std::string>{});
}

TEST_F(HostileRestoreTest, FilesBehindARestoredSymlinkAreNeverWrittenThroughIt) {
  // "uploads/link" -> the outside folder, then a file "uploads/link/planted.txt".
  refused(commit({dir("uploads"), symlink("uploads/link", (dir_ / "outside").string()),
                  file("uploads/link/planted.txt")},
                 "full_20260101_000003"));
  EXPECT_FALSE(fs::exists(dir_ / "outside" / "planted.txt"));
  EXPECT_EQ(written_outside(), std::vector<std::string>{});
}

TEST_F(HostileRestoreTest, EmptyAndDotComponentsAreRefused) {
  for (const char* path : {"uploads//x", "uploads/./x", "uploads/x/", ""}) {
    static int n = 10;
    refused(commit({dir("uploads"), file(path)}, "full_20260101_0000" + std::to_string(n++)));
  }
  EXPECT_EQ(written_outside(), std::vector<std::string>{});
}

}  // namespace coffer
