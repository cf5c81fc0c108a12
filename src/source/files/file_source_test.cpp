#include "source/files/file_source.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "testing/fixtures.h"

namespace coffer::files {
namespace {

namespace fs = std::filesystem;

int64_t listed_mtime(const fs::path& p) {
  struct stat st;
  ::stat(p.c_str(), &st);
  return int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

std::string read_all(FileSource& src) {
  std::string out;
  uint8_t buf[7];
  while (size_t n = src.read(buf, sizeof buf)) out.append(reinterpret_cast<char*>(buf), n);
  return out;
}

class FileSourceTest : public ::testing::Test {
 protected:
  test_support::TempDir dir{"coffer-file-source"};
};

TEST_F(FileSourceTest, ReadsTheFileAndSeesNoChange) {
  fs::path f = dir.path / "a";
  std::ofstream(f) << "hello, file source";
  FileSource::Opened o = FileSource::open(f.string());
  ASSERT_EQ(o.problem, FileSource::OpenProblem::kNone);
  EXPECT_EQ(read_all(*o.source), "hello, file source");
  FileSource::AfterRead a = o.source->check(18, 18, listed_mtime(f));
  EXPECT_FALSE(a.changed);
  EXPECT_EQ(a.mtime_ns, listed_mtime(f));
}

TEST_F(FileSourceTest, SeesAFileThatGrewWhileRead) {
  fs::path f = dir.path / "log";
  std::ofstream(f) << "line 1\n";
  const int64_t listed = listed_mtime(f);
  FileSource::Opened o = FileSource::open(f.string());
  ASSERT_TRUE(o.source);
  std::string first = read_all(*o.source);
  std::ofstream(f, std::ios::app) << "line 2 written during the read\n";
  EXPECT_TRUE(o.source->check(first.size(), 7, listed).changed);
}

TEST_F(FileSourceTest, SeesBytesReadThatDifferFromTheListedSize) {
  fs::path f = dir.path / "b";
  std::ofstream(f) << "12345";
  FileSource::Opened o = FileSource::open(f.string());
  ASSERT_TRUE(o.source);
  EXPECT_TRUE(o.source->check(5, 9, listed_mtime(f)).changed);
}

TEST_F(FileSourceTest, NamesWhyAFileCannotBeOpened) {
  EXPECT_EQ(FileSource::open((dir.path / "missing").string()).problem, FileSource::OpenProblem::kVanished);
  fs::create_directory(dir.path / "d");
  EXPECT_EQ(FileSource::open((dir.path / "d").string()).problem, FileSource::OpenProblem::kNotRegular);
  std::ofstream(dir.path / "target") << "x";
  fs::create_symlink(dir.path / "target", dir.path / "link");
  FileSource::Opened link = FileSource::open((dir.path / "link").string());
  EXPECT_EQ(link.problem, FileSource::OpenProblem::kUnreadable);  // O_NOFOLLOW: ELOOP
  EXPECT_FALSE(link.error.empty());
  EXPECT_FALSE(link.source);
}

}  // namespace
}  // namespace coffer::files
