// The tree stream is the repository format: write_tree's bytes must be exactly the JSON lines of
// the entries (so existing backups dedup and restore the same), however the writer produces them.
#include "repo/tree_stream.h"

#include <gtest/gtest.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "coffer/error.h"
#include "storage/local/local_storage.h"
#include "testing/fixtures.h"

namespace coffer {
namespace fs = std::filesystem;
using files::EntryType;
using files::FileEntry;

class TreeStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    test_support::TempRepository t = test_support::make_temp_repository("coffer-tree-stream", false, "repo");
    dir_ = t.dir;
    repo_ = std::move(t.repo);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Enough varied entries for a stream of several tree chunks (16-256 KiB each).
  static std::vector<FileEntry> many_entries(size_t n) {
    std::vector<FileEntry> entries;
    for (size_t i = 0; i < n; ++i) {
      FileEntry e;
      e.path = "root/dir-" + std::to_string(i / 100) + "/file \xff " + std::to_string(i);  // some need _hex
      e.type = i % 7 == 0 ? EntryType::kDirectory : i % 11 == 0 ? EntryType::kSymlink : EntryType::kFile;
      e.mode = 0644;
      e.mtime_ns = static_cast<int64_t>(i) * 1'000'000'007;
      e.inode = i;
      if (e.type == EntryType::kSymlink) e.link_target = "../target-" + std::to_string(i);
      if (e.type == EntryType::kFile) {
        for (uint32_t k = 0; k < 1 + i % 3; ++k) {
          ChunkRef c;
          c.id[0] = static_cast<uint8_t>(i);
          c.id[1] = static_cast<uint8_t>(i >> 8);
          c.id[2] = static_cast<uint8_t>(k);
          c.size = 1000 + k;
          e.chunks.push_back(c);
          e.size += c.size;
        }
      }
      entries.push_back(e);
    }
    return entries;
  }

  // The format, spelled out: one to_json(entry).dump() line per entry.
  static std::string json_lines(const std::vector<FileEntry>& entries) {
    std::string text;
    for (const FileEntry& e : entries) text += files::to_json(e).dump() + "\n";
    return text;
  }

  std::string stored_text(const std::vector<ChunkRef>& refs) {
    std::string text;
    for (const ChunkRef& r : refs) {
      Bytes b = repo_->read_blob(r.id);
      text.append(b.begin(), b.end());
    }
    return text;
  }

  // Stores `text` as a tree stream as it is (no validation), committed.
  std::vector<ChunkRef> store_text(const std::string& text) {
    ChunkStore store(*repo_, {Codec::kNone, 0}, 1);
    MemorySource source(text);
    auto refs = store.add_stream(source, BlobType::kTree, repo_->tree_chunker());
    store.commit();
    return refs;
  }

  fs::path dir_;
  std::unique_ptr<Repository> repo_;
};

TEST_F(TreeStreamTest, WritesExactlyTheJsonLinesInChunksOfTheWholeText) {
  const auto entries = many_entries(20000);
  const std::string expected = json_lines(entries);
  ASSERT_GT(expected.size(), 1u << 20);  // several chunks, and more than one read of the store
  ChunkStore store(*repo_, {Codec::kZstd, 1}, 1);
  const auto refs = write_tree(store, repo_->tree_chunker(), entries);
  MemorySource whole(expected);
  const auto whole_refs = store.add_stream(whole, BlobType::kTree, repo_->tree_chunker());
  store.commit();
  EXPECT_GT(refs.size(), 4u);
  EXPECT_EQ(refs, whole_refs);  // same boundaries, same chunks: dedups against older backups
  EXPECT_EQ(stored_text(refs), expected);
}

TEST_F(TreeStreamTest, EmptyListIsNoChunks) {
  ChunkStore store(*repo_, {Codec::kNone, 0}, 1);
  EXPECT_TRUE(write_tree(store, repo_->tree_chunker(), {}).empty());
  store.commit();
  EXPECT_TRUE(read_tree(*repo_, {}, "b1").empty());
}

TEST_F(TreeStreamTest, ReadsEntriesBackInOrderAcrossChunkBoundaries) {
  const auto entries = many_entries(20000);
  ChunkStore store(*repo_, {Codec::kZstd, 1}, 1);
  const auto refs = write_tree(store, repo_->tree_chunker(), entries);
  store.commit();
  size_t n = 0;
  for_each_tree_entry(*repo_, refs, "b1", [&](FileEntry& e) {
    ASSERT_LT(n, entries.size());
    EXPECT_EQ(files::to_json(e), files::to_json(entries[n])) << n;
    ++n;
  });
  EXPECT_EQ(n, entries.size());
  const auto all = read_tree(*repo_, refs, "b1");
  ASSERT_EQ(all.size(), entries.size());
  EXPECT_EQ(json_lines(all), json_lines(entries));
}

TEST_F(TreeStreamTest, TruncatedListIsDamaged) {
  std::string text = json_lines(many_entries(3));
  text.pop_back();  // the last line lost its newline
  const auto refs = store_text(text);
  size_t seen = 0;
  try {
    for_each_tree_entry(*repo_, refs, "b7", [&](FileEntry&) { ++seen; });
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kDamaged);
    EXPECT_NE(std::string(e.what()).find("file list of backup b7 is truncated"), std::string::npos) << e.what();
  }
  EXPECT_EQ(seen, 2u);
}

TEST_F(TreeStreamTest, DamagedLineNamesTheBackup) {
  const auto refs = store_text(json_lines(many_entries(2)) + "{\"p\": \"root/x\"\n");
  try {
    read_tree(*repo_, refs, "b8");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kDamaged);
    EXPECT_NE(std::string(e.what()).find("file list of backup b8 is damaged"), std::string::npos) << e.what();
  }
  const auto unsafe = store_text("{\"p\":\"../x\",\"t\":\"d\",\"m\":0,\"u\":0,\"g\":0,\"mt\":0,\"ct\":0,\"ino\":0,\"dev\":0,\"s\":0}\n");
  EXPECT_THROW(read_tree(*repo_, unsafe, "b9"), Error);
}

}  // namespace coffer
