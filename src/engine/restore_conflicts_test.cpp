#include "engine/restore_conflicts.h"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "coffer/error.h"
#include "testing/fixtures.h"

namespace coffer {
namespace {
namespace fs = std::filesystem;
using files::EntryType;
using files::FileEntry;

class RestoreConflictsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    test_support::TempRepository t = test_support::make_temp_repository("coffer-conflicts", true, "repo");
    dir_ = t.dir;
    repo_ = std::move(t.repo);
    target_ = dir_ / "target";
    fs::create_directories(target_);
    writer_ = std::make_unique<files::TreeWriter>(target_, files::WriterOptions{});
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A file entry whose content is `content`, cut into chunks of at most `piece` bytes.
  FileEntry file(const std::string& path, const std::string& content, size_t piece = 1 << 20) const {
    FileEntry e;
    e.path = path;
    e.type = EntryType::kFile;
    e.size = content.size();
    for (size_t at = 0; at < content.size(); at += piece) {
      const std::string part = content.substr(at, piece);
      e.chunks.push_back({repo_->sealer().chunk_id(as_bytes(part)), static_cast<uint32_t>(part.size())});
    }
    return e;
  }
  static FileEntry dir(const std::string& path) {
    FileEntry e;
    e.path = path;
    e.type = EntryType::kDirectory;
    return e;
  }
  void put(const std::string& path, const std::string& content) {
    fs::create_directories((target_ / path).parent_path());
    std::ofstream(target_ / path, std::ios::binary) << content;
  }

  std::vector<PlaceAction> plan(const std::vector<FileEntry>& entries, ExistingFiles policy) {
    std::vector<Placement> placements;
    for (const FileEntry& e : entries) placements.push_back({&e, e, writer_.get()});
    auto content_of = [&](const std::string& path) -> const FileEntry* {
      for (const FileEntry& e : entries)
        if (e.path == path) return &e;
      return nullptr;
    };
    return plan_existing(placements, policy, repo_->sealer(), content_of, removed_);
  }

  fs::path dir_, target_;
  std::unique_ptr<Repository> repo_;
  std::unique_ptr<files::TreeWriter> writer_;
  std::vector<std::string> removed_;
};

TEST_F(RestoreConflictsTest, SameContentComparesEveryChunkAtTheBackupsBoundaries) {
  const std::string content = "0123456789abcdefghij";
  put("f", content);
  const int fd = ::open((target_ / "f").c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  EXPECT_TRUE(same_content(fd, content.size(), file("f", content, 7), repo_->sealer()));
  std::string last_changed = content;
  last_changed.back() = 'X';
  EXPECT_FALSE(same_content(fd, content.size(), file("f", last_changed, 7), repo_->sealer()));
  EXPECT_FALSE(same_content(fd, content.size(), file("f", content + "!", 7), repo_->sealer()));  // other size
  // The size given agrees with the record but the file is shorter (changed meanwhile).
  EXPECT_FALSE(same_content(fd, content.size() + 1, file("f", content + "!", 7), repo_->sealer()));
  ::close(fd);
}

TEST_F(RestoreConflictsTest, DefaultRefusesNamingCountAndFirstFive) {
  std::vector<FileEntry> entries = {dir("r")};
  for (int i = 0; i < 7; ++i) {
    const std::string path = "r/f" + std::to_string(i);
    entries.push_back(file(path, "new"));
    put(path, "old");
  }
  entries.push_back(file("r/missing", "new"));
  try {
    plan(entries, ExistingFiles::kFail);
    FAIL() << "no refusal";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kInput);
    const std::string msg = e.what();
    EXPECT_NE(msg.find("7 paths to restore exist already"), std::string::npos) << msg;
    EXPECT_NE(msg.find("r/f4, and 2 more"), std::string::npos) << msg;
    EXPECT_EQ(msg.find("r/f5"), std::string::npos) << msg;
    EXPECT_EQ(msg.find("r/missing"), std::string::npos) << msg;
    EXPECT_NE(msg.find("nothing was written"), std::string::npos) << msg;
  }
}

TEST_F(RestoreConflictsTest, PoliciesDecidePerEntry) {
  put("r/same", "content");
  put("r/changed", "old content");
  const std::vector<FileEntry> entries = {dir("r"), file("r/same", "content"), file("r/changed", "new content"),
                                          file("r/missing", "x")};
  using A = PlaceAction;
  EXPECT_EQ(plan(entries, ExistingFiles::kSkip), (std::vector<A>{A::kWrite, A::kKeep, A::kKeep, A::kWrite}));
  EXPECT_EQ(plan(entries, ExistingFiles::kIfDifferent),
            (std::vector<A>{A::kWrite, A::kKeep, A::kReplace, A::kWrite}));
  EXPECT_EQ(plan(entries, ExistingFiles::kOverwrite),
            (std::vector<A>{A::kWrite, A::kReplace, A::kReplace, A::kWrite}));
}

TEST_F(RestoreConflictsTest, WhatGoesBelowADisplacedOrMissingFolderIsDecidedWithIt) {
  put("r/d", "a file where the backup has a folder");
  const std::vector<FileEntry> entries = {dir("r"), dir("r/d"), file("r/d/x", "x"), dir("r/new"),
                                          file("r/new/y", "y"), file("r/z", "z")};
  using A = PlaceAction;
  EXPECT_EQ(plan(entries, ExistingFiles::kSkip),
            (std::vector<A>{A::kWrite, A::kKeep, A::kKeep, A::kWrite, A::kWrite, A::kWrite}));
  EXPECT_EQ(plan(entries, ExistingFiles::kOverwrite),
            (std::vector<A>{A::kWrite, A::kReplace, A::kWrite, A::kWrite, A::kWrite, A::kWrite}));
}

TEST_F(RestoreConflictsTest, AFolderWhereAFileGoesIsNeverReplaced) {
  fs::create_directories(target_ / "r" / "f");
  const std::vector<FileEntry> entries = {dir("r"), file("r/f", "x")};
  for (ExistingFiles policy : {ExistingFiles::kIfDifferent, ExistingFiles::kOverwrite}) {
    try {
      plan(entries, policy);
      ADD_FAILURE() << "no refusal";
    } catch (const Error& e) {
      EXPECT_EQ(e.category(), ErrorCategory::kInput);
      EXPECT_NE(std::string(e.what()).find("1 folder is where the backup has a file"), std::string::npos)
          << e.what();
    }
  }
  EXPECT_EQ(plan(entries, ExistingFiles::kSkip), (std::vector<PlaceAction>{PlaceAction::kWrite, PlaceAction::kKeep}));
}

}  // namespace
}  // namespace coffer
