#include "source/files/read_ahead.h"
#include "testing/fixtures.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

namespace coffer::files {
namespace {

namespace fs = std::filesystem;

// Polls until `done` holds or a second has passed: the read-ahead runs on its own thread.
template <class F>
bool eventually(F done) {
  for (int i = 0; i < 1000; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return done();
}

class ReadAheadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test_support::make_temp_dir("coffer-read-ahead");
    for (int i = 0; i < 6; ++i) std::ofstream(dir_ / std::to_string(i)) << std::string(1000, 'x');
  }
  void TearDown() override { fs::remove_all(dir_); }
  ReadAhead::ItemAt every_file() {
    return [this](size_t i) -> std::optional<std::pair<std::string, uint64_t>> {
      return std::pair{(dir_ / std::to_string(i)).string(), uint64_t{1000}};
    };
  }
  fs::path dir_;
};

TEST_F(ReadAheadTest, StaysWithinTheWindowAheadOfTheReader) {
  ReadAhead ra(6, every_file(), 2500);  // room for two 1000-byte files
  ASSERT_TRUE(eventually([&] { return ra.hinted() == 2; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(ra.hinted(), 2u) << "hinted past the window while the reader stood still";
  ra.reader_at(2);  // files 0 and 1 are read: two more fit
  ASSERT_TRUE(eventually([&] { return ra.hinted() == 4; }));
  ra.reader_at(5);  // the reader skipped ahead: files 2-4 are too late to help
  EXPECT_TRUE(eventually([&] { return ra.hinted() == 5; }));
}

TEST_F(ReadAheadTest, SkipsPositionsThatAreNotReadAndMissingFiles) {
  auto some = [this](size_t i) -> std::optional<std::pair<std::string, uint64_t>> {
    if (i % 2 == 1) return std::nullopt;  // not read (unchanged, or not a file)
    if (i == 4) return std::pair{(dir_ / "gone").string(), uint64_t{10}};  // vanished: still harmless
    return std::pair{(dir_ / std::to_string(i)).string(), uint64_t{1000}};
  };
  ReadAhead ra(6, some, 1 << 20);
  EXPECT_TRUE(eventually([&] { return ra.hinted() == 3; }));
}

TEST_F(ReadAheadTest, AFileLargerThanTheWindowIsHintedOnceTheReaderIsThere) {
  ReadAhead ra(6, every_file(), 500);
  ASSERT_TRUE(eventually([&] { return ra.hinted() == 1; }));  // nothing ahead: hinted anyway
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(ra.hinted(), 1u);
  ra.reader_at(1);
  EXPECT_TRUE(eventually([&] { return ra.hinted() == 2; }));
}

TEST_F(ReadAheadTest, StopsWhenDestroyedWhileWaiting) {
  auto start = std::chrono::steady_clock::now();
  { ReadAhead ra(6, every_file(), 1000); }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
}

}  // namespace
}  // namespace coffer::files
