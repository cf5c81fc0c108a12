#include "export/atomic_output.h"

#include <unistd.h>

#include <fstream>

#include <gtest/gtest.h>

#include "coffer/error.h"
#include "testing/fixtures.h"

namespace coffer::exporting {
namespace {

namespace fs = std::filesystem;

TEST(AtomicOutputTest, TheNameAppearsOnlyWhenCommitted) {
  test_support::TempDir dir("atomic-output");
  const std::string path = (dir.path / "db.sql.gz").string();
  {
    AtomicOutput out(path);
    ASSERT_EQ(::write(out.fd(), "abc", 3), 3);
    EXPECT_FALSE(fs::exists(path));
    EXPECT_TRUE(fs::exists(out.temp_path()));
    EXPECT_EQ(out.commit(), 3u);
  }
  EXPECT_EQ(fs::file_size(path), 3u);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator()), 1);
}

TEST(AtomicOutputTest, AFailedExportLeavesNothing) {
  test_support::TempDir dir("atomic-output");
  const std::string path = (dir.path / "files.tar").string();
  {
    AtomicOutput out(path);
    ASSERT_EQ(::write(out.fd(), "partial", 7), 7);
  }  // no commit: an error on the way
  EXPECT_TRUE(fs::is_empty(dir.path));
}

TEST(AtomicOutputTest, AnExistingFileIsNeverReplaced) {
  test_support::TempDir dir("atomic-output");
  const std::string path = (dir.path / "keep.tar").string();
  std::ofstream(path) << "precious";
  try {
    AtomicOutput out(path);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kInput);
    EXPECT_NE(std::string(e.what()).find("exists"), std::string::npos);
  }
  std::ifstream in(path);
  std::string s;
  in >> s;
  EXPECT_EQ(s, "precious");
}

}  // namespace
}  // namespace coffer::exporting
