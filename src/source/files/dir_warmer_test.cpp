#include "source/files/dir_warmer.h"
#include "testing/fixtures.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

namespace coffer::files {
namespace {

namespace fs = std::filesystem;

class DirWarmerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test_support::make_temp_dir("coffer-dir-warmer");
    for (int i = 0; i < 20; ++i) {
      fs::create_directories(dir_ / std::to_string(i));
      std::ofstream(dir_ / std::to_string(i) / "f") << i;
    }
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

bool eventually(const DirWarmer& w, size_t n) {
  for (int i = 0; i < 2000 && w.warmed() < n; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return w.warmed() == n;
}

TEST_F(DirWarmerTest, ReadsEveryQueuedFolderAndIgnoresWhatCannotBeRead) {
  DirWarmer warmer(3);
  std::vector<std::string> dirs;
  for (int i = 0; i < 20; ++i) dirs.push_back((dir_ / std::to_string(i)).string());
  dirs.push_back((dir_ / "missing").string());
  dirs.push_back((dir_ / "0" / "f").string());  // a file, not a folder
  fs::create_directory_symlink(dir_ / "1", dir_ / "link");
  dirs.push_back((dir_ / "link").string());  // never followed
  warmer.add(dirs);
  EXPECT_TRUE(eventually(warmer, dirs.size())) << warmer.warmed() << " of " << dirs.size();
  EXPECT_TRUE(fs::exists(dir_ / "1" / "f"));  // read, nothing changed
}

// Reading the 300,000 queued folders would take over a second; the walk is over, so they are
// dropped and the destructor returns at once.
TEST_F(DirWarmerTest, StopsWithWorkStillQueued) {
  std::vector<std::string> many(300000, dir_.string());
  DirWarmer* warmer = new DirWarmer(1);
  warmer->add(std::move(many));
  auto start = std::chrono::steady_clock::now();
  delete warmer;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
}

}  // namespace
}  // namespace coffer::files
