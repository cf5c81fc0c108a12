#include "util/held_temp.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "testing/fixtures.h"

namespace coffer {
namespace {

namespace fs = std::filesystem;

// TMPDIR is a folder of the test's own: the sweep must not touch anything else.
class HeldTempTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test_support::make_temp_dir("coffer-heldtest");
    tmpdir_.emplace("TMPDIR", dir_.string());
  }
  void TearDown() override {
    tmpdir_.reset();
    fs::remove_all(dir_);
  }
  HeldTemp make(bool folder) {
    std::string error;
    std::optional<HeldTemp> t = make_held_temp(folder, &error);
    EXPECT_TRUE(t) << error;
    return t.value_or(HeldTemp{});
  }
  fs::path dir_;
  std::optional<test_support::ScopedEnv> tmpdir_;
};

TEST_F(HeldTempTest, MadeUnderTheRestorePrefixPrivateAndNotSweptWhileHeld) {
  HeldTemp folder = make(true);
  HeldTemp file = make(false);
  for (const HeldTemp* t : {&folder, &file}) {
    EXPECT_EQ(fs::path(t->path).parent_path(), dir_);
    EXPECT_EQ(fs::path(t->path).filename().string().rfind(kHeldTempPrefix, 0), 0u) << t->path;
  }
  struct stat st;
  ASSERT_EQ(::stat(folder.path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  EXPECT_EQ(folder.file_fd, -1);
  ASSERT_EQ(::stat(file.path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::write(file.file_fd, "dump", 4), 4);
  std::ofstream(folder.path + "/toc.dat") << "toc";

  SweepResult r = remove_abandoned_temps();
  EXPECT_EQ(r.removed, 0u);
  EXPECT_TRUE(fs::exists(folder.path));
  EXPECT_TRUE(fs::exists(file.path));

  // The owner dies without cleaning up: its descriptors close, and with them the locks.
  ::close(folder.lock_fd);
  ::close(file.lock_fd);
  ::close(file.file_fd);
  r = remove_abandoned_temps();
  EXPECT_EQ(r.removed, 2u);
  EXPECT_EQ(r.bytes, 7u);  // "dump" and "toc"
  EXPECT_FALSE(fs::exists(folder.path));
  EXPECT_FALSE(fs::exists(file.path));
}

TEST_F(HeldTempTest, AForkedChildKeepsItHeld) {
  // The pipe keeper is forked from coffer and outlives it by up to 30 s, holding the pipes.
  HeldTemp folder = make(true);
  int go[2];
  ASSERT_EQ(::pipe(go), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    char c;
    ::close(go[1]);
    (void)::read(go[0], &c, 1);  // until the parent says so
    ::_exit(0);
  }
  ::close(go[0]);
  ::close(folder.lock_fd);  // coffer is gone; the child still has the descriptor
  EXPECT_EQ(remove_abandoned_temps().removed, 0u);
  EXPECT_TRUE(fs::exists(folder.path));
  ::close(go[1]);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_EQ(remove_abandoned_temps().removed, 1u);
  EXPECT_FALSE(fs::exists(folder.path));
}

TEST_F(HeldTempTest, OnlyTheRestorePrefixIsSwept) {
  fs::create_directories(dir_ / "coffer-pgdata");
  std::ofstream(dir_ / "other-file") << "x";
  std::ofstream(dir_ / "coffer-new-abcdef") << "being made";
  std::ofstream(dir_ / (std::string(kHeldTempPrefix) + "old123")) << "left by a coffer without locks";
  EXPECT_EQ(remove_abandoned_temps().removed, 1u);
  EXPECT_TRUE(fs::exists(dir_ / "coffer-pgdata"));
  EXPECT_TRUE(fs::exists(dir_ / "other-file"));
  EXPECT_TRUE(fs::exists(dir_ / "coffer-new-abcdef"));
  EXPECT_FALSE(fs::exists(dir_ / (std::string(kHeldTempPrefix) + "old123")));
}

TEST_F(HeldTempTest, AHeldTempFileIsWrittenAndRemovedWithTheObject) {
  std::string path;
  {
    HeldTempFile f("temporary archive");
    path = f.path();
    EXPECT_EQ(fs::path(path).parent_path(), dir_);
    f.write(ByteView(reinterpret_cast<const uint8_t*>("PGDMP"), 5));
    f.close();
    std::ifstream in(path, std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(text, "PGDMP");
    EXPECT_EQ(remove_abandoned_temps().removed, 0u);  // held while the object lives
  }
  EXPECT_FALSE(fs::exists(path));
}

TEST_F(HeldTempTest, AHeldTempDirIsRemovedWithWhatItHoldsEvenReadOnlyFolders) {
  std::string path;
  {
    HeldTempDir d;
    path = d.path();
    EXPECT_EQ(fs::path(path).parent_path(), dir_);
    fs::create_directories(fs::path(path) / "uploads" / "locked");
    std::ofstream(fs::path(path) / "uploads" / "locked" / "a.txt") << "x";
    fs::permissions(fs::path(path) / "uploads" / "locked", fs::perms::owner_read | fs::perms::owner_exec);
    fs::permissions(fs::path(path) / "uploads", fs::perms::owner_read | fs::perms::owner_exec);
    EXPECT_EQ(remove_abandoned_temps().removed, 0u);  // held while the object lives
  }
  EXPECT_FALSE(fs::exists(path));
}

}  // namespace
}  // namespace coffer
