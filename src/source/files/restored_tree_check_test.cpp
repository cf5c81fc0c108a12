#include "source/files/restored_tree_check.h"

#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>

#include "codec/crypto.h"
#include "testing/fixtures.h"

namespace coffer::files {
namespace {

namespace fs = std::filesystem;

ChunkId id_of(ByteView data) {
  static const Key key{};  // any fixed key: the check only compares ids of one function
  return keyed_blake3(key, data);
}

// A file entry for `content`, cut into pieces of `piece` bytes, as a backup records it.
FileEntry file_entry(const std::string& path, const std::string& content, size_t piece = 4) {
  FileEntry e;
  e.path = path;
  e.type = EntryType::kFile;
  e.mode = 0644;
  e.size = content.size();
  for (size_t at = 0; at < content.size(); at += piece) {
    std::string part = content.substr(at, piece);
    e.chunks.push_back({id_of(as_bytes(part)), static_cast<uint32_t>(part.size())});
  }
  return e;
}

FileEntry entry(const std::string& path, EntryType type, const std::string& target = "") {
  FileEntry e;
  e.path = path;
  e.type = type;
  if (type == EntryType::kSymlink) e.link_target = target;
  if (type == EntryType::kHardlink) e.hardlink_target = target;
  return e;
}

class RestoredTreeCheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(dir_.path / "uploads" / "2024");
    write("uploads/2024/a.txt", "hello world, twice: hello world");
    write("uploads/b.txt", "second file");
    fs::create_symlink("2024/a.txt", dir_.path / "uploads" / "latest");
    fs::create_hard_link(dir_.path / "uploads" / "b.txt", dir_.path / "uploads" / "b-link.txt");
    entries_ = {entry("uploads", EntryType::kDirectory), entry("uploads/2024", EntryType::kDirectory),
                file_entry("uploads/2024/a.txt", "hello world, twice: hello world"),
                file_entry("uploads/b.txt", "second file"), entry("uploads/b-link.txt", EntryType::kHardlink, "uploads/b.txt"),
                entry("uploads/latest", EntryType::kSymlink, "2024/a.txt")};
  }
  void write(const std::string& rel, const std::string& content) {
    std::ofstream(dir_.path / rel, std::ios::binary) << content;
  }
  test_support::TempDir dir_{"coffer-treecheck"};
  std::vector<FileEntry> entries_;
};

TEST_F(RestoredTreeCheckTest, AFaithfulRestorePassesWithEveryByteRead) {
  TreeCheck c = check_restored_tree(dir_.path, entries_, id_of);
  EXPECT_TRUE(c.problems.empty()) << c.problems.front();
  EXPECT_EQ(c.entries, 6u);
  EXPECT_EQ(c.files, 2u);
  EXPECT_EQ(c.bytes, 31u + 11u);
}

TEST_F(RestoredTreeCheckTest, ChangedContentSizeLinksAndMissingEntriesAreEachNamed) {
  write("uploads/2024/a.txt", "hello world, twice: hello WORLD");  // same size, one piece differs
  write("uploads/b.txt", "second file!");
  fs::remove(dir_.path / "uploads" / "b-link.txt");
  write("uploads/b-link.txt", "second file");  // a copy, not a link
  fs::remove(dir_.path / "uploads" / "latest");
  fs::create_symlink("elsewhere", dir_.path / "uploads" / "latest");
  entries_.push_back(entry("uploads/gone", EntryType::kDirectory));
  TreeCheck c = check_restored_tree(dir_.path, entries_, id_of);
  ASSERT_EQ(c.problems.size(), 5u);
  EXPECT_EQ(c.problems[0], "uploads/2024/a.txt: content differs from the backup's in bytes 24..28");
  EXPECT_EQ(c.problems[1], "uploads/b.txt: 12 bytes, 11 recorded");
  EXPECT_EQ(c.problems[2], "uploads/b-link.txt: is not a hard link of uploads/b.txt");
  EXPECT_EQ(c.problems[3], "uploads/latest: points to elsewhere, not 2024/a.txt");
  EXPECT_EQ(c.problems[4].rfind("uploads/gone: missing after the restore", 0), 0u) << c.problems[4];
}

TEST_F(RestoredTreeCheckTest, AnUnreadableModeIsReadAllTheSameAndProblemsAreCapped) {
  fs::permissions(dir_.path / "uploads" / "b.txt", fs::perms::none);
  TreeCheck ok = check_restored_tree(dir_.path, entries_, id_of);
  EXPECT_TRUE(ok.problems.empty()) << ok.problems.front();
  std::vector<FileEntry> many;
  for (int i = 0; i < 5; ++i) many.push_back(entry("uploads/missing" + std::to_string(i), EntryType::kDirectory));
  TreeCheck capped = check_restored_tree(dir_.path, many, id_of, 2);
  EXPECT_EQ(capped.problems.size(), 2u);
  EXPECT_EQ(capped.more_problems, 3u);
}

}  // namespace
}  // namespace coffer::files
