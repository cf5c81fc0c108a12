#include "export/tar_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "testing/fixtures.h"

namespace coffer::exporting {
namespace {

namespace fs = std::filesystem;

files::FileEntry entry(const std::string& path, files::EntryType type, uint32_t mode, int64_t mtime_ns) {
  files::FileEntry e;
  e.path = path;
  e.type = type;
  e.mode = mode;
  e.uid = ::geteuid();
  e.gid = ::getegid();
  e.mtime_ns = mtime_ns;
  return e;
}

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Writes the entries (files get `content`), extracts with GNU tar, returns the folder.
void write_and_extract(const std::vector<files::FileEntry>& entries, const std::string& content, bool zstd,
                       const fs::path& dir) {
  const fs::path tar = dir / (zstd ? "out.tar.zst" : "out.tar");
  int fd = ::open(tar.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  ASSERT_GE(fd, 0);
  {
    TarWriter w(fd, zstd);
    for (const auto& e : entries) {
      w.begin(e);
      if (e.type == files::EntryType::kFile) w.write(ByteView(reinterpret_cast<const uint8_t*>(content.data()), e.size));
    }
    w.finish();
  }
  ::close(fd);
  fs::create_directory(dir / "x");
  const std::string cmd = std::string("tar --extract ") + (zstd ? "--zstd " : "") + "--same-permissions --file '" +
                          tar.string() + "' --directory '" + (dir / "x").string() + "' 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
}

TEST(TarWriterTest, GnuTarExtractsTheTreeAsRecorded) {
  test_support::TempDir dir("tar-writer");
  const std::string long_name = "uploads/" + std::string(180, 'n') + "/" + std::string(120, 'f') + ".pdf";
  const std::string latin1 = "uploads/caf\xe9.txt";  // not UTF-8
  const int64_t mtime = 1733400000123456789;
  auto file = [&](const std::string& p, uint32_t mode, uint64_t size) {
    auto e = entry(p, files::EntryType::kFile, mode, mtime);
    e.size = size;
    return e;
  };
  std::vector<files::FileEntry> entries = {
      entry("uploads", files::EntryType::kDirectory, 0750, mtime),
      entry("uploads/" + std::string(180, 'n'), files::EntryType::kDirectory, 0755, mtime),
      file("uploads/a.txt", 0640, 5),
      file(long_name, 0600, 3),
      file(latin1, 0644, 4),
      entry("uploads/link", files::EntryType::kSymlink, 0777, mtime),
      entry("uploads/hard", files::EntryType::kHardlink, 0640, mtime),
  };
  entries[5].link_target = "a.txt";
  entries[6].hardlink_target = "uploads/a.txt";
  write_and_extract(entries, "hello", false, dir.path);
  const fs::path x = dir.path / "x";
  EXPECT_EQ(read_all(x / "uploads/a.txt"), "hello");
  EXPECT_EQ(read_all(x / long_name), "hel");
  EXPECT_EQ(read_all(x / latin1), "hell");
  EXPECT_EQ(fs::read_symlink(x / "uploads/link"), "a.txt");
  struct stat a{}, h{}, f{};
  ASSERT_EQ(::stat((x / "uploads/a.txt").c_str(), &a), 0);
  ASSERT_EQ(::stat((x / "uploads/hard").c_str(), &h), 0);
  EXPECT_EQ(a.st_ino, h.st_ino);  // one file, two names
  EXPECT_EQ(a.st_mode & 07777, 0640u);
  ASSERT_EQ(::stat((x / long_name).c_str(), &f), 0);
  EXPECT_EQ(f.st_mode & 07777, 0600u);
  EXPECT_EQ(f.st_mtim.tv_sec, mtime / 1000000000);
  EXPECT_EQ(f.st_mtim.tv_nsec, mtime % 1000000000);
}

TEST(TarWriterTest, ZstdCompressedArchivesExtractToo) {
  test_support::TempDir dir("tar-writer");
  auto f = entry("data.bin", files::EntryType::kFile, 0644, 1733400000000000000);
  f.size = 5;
  write_and_extract({f}, "bytes", true, dir.path);
  EXPECT_EQ(read_all(dir.path / "x/data.bin"), "bytes");
}

}  // namespace
}  // namespace coffer::exporting
