#include "storage/local/local_storage.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>

#include "coffer/error.h"
#include "testing/fixtures.h"

namespace coffer {
namespace fs = std::filesystem;

class LocalStorageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test_support::make_temp_dir("coffer-storage");
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(LocalStorageTest, PutGetHeadListRemove) {
  LocalStorage s(dir_ / "repo");
  s.put("data/ab/abc", as_bytes("hello world"));
  EXPECT_EQ(to_string(s.get("data/ab/abc", 0, Storage::kWhole)), "hello world");
  EXPECT_EQ(to_string(s.get("data/ab/abc", 6, 5)), "world");
  EXPECT_EQ(s.head("data/ab/abc")->size, 11u);
  EXPECT_FALSE(s.head("data/ab/nope"));
  s.put("data/cd/cde", as_bytes("x"));
  s.put("index/1", as_bytes("y"));
  auto objs = s.list("data/");
  std::vector<std::string> keys;
  for (auto& o : objs) keys.push_back(o.key);
  std::sort(keys.begin(), keys.end());
  EXPECT_EQ(keys, (std::vector<std::string>{"data/ab/abc", "data/cd/cde"}));
  s.remove("data/ab/abc");
  s.remove("data/ab/abc");  // missing: not an error
  EXPECT_FALSE(s.head("data/ab/abc"));
}

TEST_F(LocalStorageTest, RootWithTrailingSlashListsTheSameKeys) {
  LocalStorage a(dir_ / "repo");
  a.put("index/abc", as_bytes("1"));
  LocalStorage b((dir_ / "repo").string() + "/");
  ASSERT_EQ(b.list("index/").size(), 1u);
  EXPECT_EQ(b.list("index/")[0].key, "index/abc");
}

TEST_F(LocalStorageTest, FilesArePrivateAndTempFilesHidden) {
  LocalStorage s(dir_ / "repo");
  s.put("keys/k", as_bytes("secret"));
  struct stat st;
  ASSERT_EQ(stat((dir_ / "repo/keys/k").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(stat((dir_ / "repo/keys").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  // A temp file left by a crash is invisible to list().
  FILE* f = fopen((dir_ / "repo/keys/.tmp-dead").c_str(), "w");
  fclose(f);
  EXPECT_EQ(s.list("keys/").size(), 1u);
}

TEST_F(LocalStorageTest, ObjectWriterStreamsIntoAPrivateTempFileThatFinishRenames) {
  LocalStorage s(dir_ / "repo");
  auto temp_files = [&] {
    size_t n = 0;
    for (auto& e : fs::recursive_directory_iterator(dir_ / "repo"))
      if (e.path().filename().string().rfind(".tmp-", 0) == 0) ++n;
    return n;
  };
  auto w = s.begin_object("data/", 64);
  w->append(as_bytes("first "));
  EXPECT_EQ(temp_files(), 1u);  // on disk already, not held in memory
  w->append(as_bytes("second"));
  w->finish("data/ab/abc");
  EXPECT_EQ(temp_files(), 0u);
  EXPECT_EQ(to_string(s.get("data/ab/abc", 0, Storage::kWhole)), "first second");
  struct stat st;
  ASSERT_EQ(stat((dir_ / "repo/data/ab/abc").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  {
    auto dropped = s.begin_object("data/", 64);
    dropped->append(as_bytes("never stored"));
    EXPECT_EQ(temp_files(), 1u);
  }
  EXPECT_EQ(temp_files(), 0u) << "an unfinished object leaves no temp file";
  // A finish that fails (a key that is not valid) stores nothing and leaves nothing behind.
  auto bad = s.begin_object("data/", 64);
  bad->append(as_bytes("x"));
  EXPECT_THROW(bad->finish("../escape"), Error);
  EXPECT_EQ(temp_files(), 0u);
}

TEST_F(LocalStorageTest, PutIfAbsentNeverReplaces) {
  LocalStorage s(dir_ / "repo");
  EXPECT_TRUE(s.put_if_absent("snapshots/a", as_bytes("first")));
  EXPECT_FALSE(s.put_if_absent("snapshots/a", as_bytes("second")));
  EXPECT_EQ(to_string(s.get("snapshots/a", 0, Storage::kWhole)), "first");
  EXPECT_EQ(s.list("snapshots/").size(), 1u);  // no temp file left behind
}

TEST_F(LocalStorageTest, ErrorsNameTheObject) {
  LocalStorage s(dir_ / "repo");
  try {
    s.get("data/zz/missing", 0, Storage::kWhole);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kNotFound);
    EXPECT_NE(std::string(e.what()).find("data/zz/missing"), std::string::npos);
  }
  s.put("a", as_bytes("abc"));
  try {
    s.get("a", 2, 10);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kDamaged);
  }
}

TEST_F(LocalStorageTest, UnusableRootIsAStorageError) {
  FILE* f = fopen((dir_ / "file").c_str(), "w");
  fclose(f);
  try {
    LocalStorage s(dir_ / "file" / "repo");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kStorage);
    EXPECT_NE(std::string(e.what()).find("BACKUP_DIR"), std::string::npos);
  }
}

}  // namespace coffer
