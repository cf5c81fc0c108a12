#include "source/files/tree_walker.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>

#include "coffer/error.h"
#include "testing/fixtures.h"

namespace coffer::files {
namespace {

namespace fs = std::filesystem;

class TreeWalkerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test_support::make_temp_dir("coffer-walk");
  }
  void TearDown() override {
    std::error_code ec;
    for (const auto& p : fs::recursive_directory_iterator(dir_, ec)) {
      if (p.is_directory(ec) && !p.is_symlink(ec)) fs::permissions(p.path(), fs::perms::owner_all, ec);
    }
    fs::remove_all(dir_, ec);
  }

  static void write_file(const fs::path& p, const std::string& content) {
    std::ofstream(p, std::ios::binary) << content;
  }

  struct Seen {
    std::vector<FileEntry> entries;
    std::vector<fs::path> sources;
    std::vector<std::string> warnings;
    const FileEntry* find(const std::string& path) const {
      for (const auto& e : entries) {
        if (e.path == path) return &e;
      }
      return nullptr;
    }
  };

  Seen walk_all(const std::vector<WalkRoot>& roots) {
    Seen seen;
    WalkCallbacks cb;
    cb.on_entry = [&](FileEntry& e, const fs::path& source) {
      seen.entries.push_back(e);
      seen.sources.push_back(source);
    };
    cb.on_warning = [&](const std::string& w) { seen.warnings.push_back(w); };
    walk(roots, cb);
    return seen;
  }

  fs::path dir_;
};

void make_socket(const fs::path& p) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  ASSERT_LT(p.native().size(), sizeof addr.sun_path);
  std::strcpy(addr.sun_path, p.c_str());
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0) << std::strerror(errno);
  ::close(fd);  // the socket file stays
}

TEST_F(TreeWalkerTest, WalksDepthFirstInByteOrderWithAllTypes) {
  const fs::path r = dir_ / "data";
  fs::create_directories(r / "b");
  write_file(r / "a.txt", "hello");
  write_file(r / "B.txt", "upper");
  write_file(r / "b.txt", "sibling");
  write_file(r / "b" / "c.txt", "c");
  ASSERT_EQ(::link((r / "a.txt").c_str(), (r / "b" / "hl").c_str()), 0);
  fs::create_directory_symlink("b", r / "dirlink");
  fs::create_symlink("/nonexistent/target", r / "dangling");
  ASSERT_EQ(::mkfifo((r / "fifo").c_str(), 0600), 0);
  make_socket(r / "sock");
  write_file(r / "new\nline", "n");
  write_file(r / "\xff", "invalid utf8 name");

  const Seen seen = walk_all({{r, "data"}});
  std::vector<std::string> paths;
  for (const auto& e : seen.entries) paths.push_back(e.path);
  // Depth-first: "b"'s children come before "b.txt" although "b.txt" < "b/c.txt" as strings.
  const std::vector<std::string> expected = {
      "data",         "data/B.txt",    "data/a.txt",   "data/b",         "data/b/c.txt", "data/b/hl",
      "data/b.txt",   "data/dangling", "data/dirlink", "data/new\nline", "data/\xff"};
  EXPECT_EQ(paths, expected);
  EXPECT_EQ(seen.sources.at(2), r / "a.txt");

  EXPECT_EQ(seen.find("data")->type, EntryType::kDirectory);
  EXPECT_EQ(seen.find("data")->size, 0u);
  EXPECT_EQ(seen.find("data/a.txt")->type, EntryType::kFile);
  EXPECT_EQ(seen.find("data/a.txt")->size, 5u);
  EXPECT_TRUE(seen.find("data/a.txt")->chunks.empty());
  EXPECT_EQ(seen.find("data/b/hl")->type, EntryType::kHardlink);
  EXPECT_EQ(seen.find("data/b/hl")->hardlink_target, "data/a.txt");
  EXPECT_EQ(seen.find("data/dirlink")->type, EntryType::kSymlink);
  EXPECT_EQ(seen.find("data/dirlink")->link_target, "b");
  EXPECT_EQ(seen.find("data/dangling")->link_target, "/nonexistent/target");
  EXPECT_EQ(seen.find("data/new\nline")->type, EntryType::kFile);

  ASSERT_EQ(seen.warnings.size(), 2u);
  EXPECT_EQ(seen.warnings[0], "skipped FIFO: " + (r / "fifo").string());
  EXPECT_EQ(seen.warnings[1], "skipped socket: " + (r / "sock").string());
}

TEST_F(TreeWalkerTest, FillsMetadataFromLstat) {
  const fs::path r = dir_ / "m";
  fs::create_directory(r);
  write_file(r / "f", "12345678");
  ASSERT_EQ(::chmod((r / "f").c_str(), 04751), 0);
  const struct timespec times[2] = {{0, UTIME_OMIT}, {1'600'000'000, 123'456'789}};
  ASSERT_EQ(::utimensat(AT_FDCWD, (r / "f").c_str(), times, 0), 0);
  ASSERT_EQ(::chmod(r.c_str(), 0750), 0);

  const Seen seen = walk_all({{r, "m"}});
  struct stat st;
  ASSERT_EQ(::lstat((r / "f").c_str(), &st), 0);
  const FileEntry* f = seen.find("m/f");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->mode, 04751u);
  EXPECT_EQ(f->mtime_ns, 1'600'000'000'123'456'789);
  EXPECT_EQ(f->ctime_ns, st.st_ctim.tv_sec * 1'000'000'000 + st.st_ctim.tv_nsec);
  EXPECT_EQ(f->uid, st.st_uid);
  EXPECT_EQ(f->gid, st.st_gid);
  EXPECT_EQ(f->inode, st.st_ino);
  EXPECT_EQ(f->dev, st.st_dev);
  EXPECT_EQ(f->size, 8u);
  EXPECT_EQ(seen.find("m")->mode, 0750u);

  FileEntry direct;
  ASSERT_TRUE(stat_entry(r / "f", direct));
  EXPECT_EQ(direct.mtime_ns, f->mtime_ns);
  EXPECT_EQ(direct.type, EntryType::kFile);
  errno = 0;
  EXPECT_FALSE(stat_entry(r / "missing", direct));
  EXPECT_EQ(errno, ENOENT);
}

TEST_F(TreeWalkerTest, DoesNotFollowSymlinksToDirectories) {
  const fs::path r = dir_ / "r";
  fs::create_directories(dir_ / "outside" / "deep");
  write_file(dir_ / "outside" / "secret", "s");
  fs::create_directory(r);
  fs::create_directory_symlink(dir_ / "outside", r / "link");
  const Seen seen = walk_all({{r, "r"}});
  ASSERT_EQ(seen.entries.size(), 2u);
  EXPECT_EQ(seen.entries[1].path, "r/link");
  EXPECT_EQ(seen.entries[1].type, EntryType::kSymlink);
  EXPECT_TRUE(seen.warnings.empty());
}

TEST_F(TreeWalkerTest, HardLinksAreMatchedAcrossRootsAndFileRootsAreSingleEntries) {
  fs::create_directory(dir_ / "one");
  write_file(dir_ / "one" / "x", "shared");
  ASSERT_EQ(::link((dir_ / "one" / "x").c_str(), (dir_ / "single.txt").c_str()), 0);
  const auto roots = name_roots({dir_ / "one", dir_ / "single.txt"});
  const Seen seen = walk_all(roots);
  ASSERT_EQ(seen.entries.size(), 3u);
  EXPECT_EQ(seen.entries[1].path, "one/x");
  EXPECT_EQ(seen.entries[1].type, EntryType::kFile);
  EXPECT_EQ(seen.entries[2].path, "single.txt");
  EXPECT_EQ(seen.entries[2].type, EntryType::kHardlink);
  EXPECT_EQ(seen.entries[2].hardlink_target, "one/x");
  EXPECT_EQ(seen.entries[2].size, 6u);
}

TEST_F(TreeWalkerTest, WarnsAndContinuesWhenEntriesVanish) {
  const fs::path r = dir_ / "v";
  fs::create_directory(r);
  for (const char* n : {"1", "2", "3"}) write_file(r / n, n);
  Seen seen;
  WalkCallbacks cb;
  cb.on_entry = [&](FileEntry& e, const fs::path&) {
    seen.entries.push_back(e);
    if (e.path == "v/1") fs::remove(r / "2");  // listed already, gone before lstat
  };
  cb.on_warning = [&](const std::string& w) { seen.warnings.push_back(w); };
  walk({{r, "v"}}, cb);
  ASSERT_EQ(seen.entries.size(), 3u);
  EXPECT_EQ(seen.entries[2].path, "v/3");
  ASSERT_EQ(seen.warnings.size(), 1u);
  EXPECT_EQ(seen.warnings[0], "vanished while reading: " + (r / "2").string());
}

TEST_F(TreeWalkerTest, WarnsAboutUnreadableDirectories) {
  if (::geteuid() == 0) GTEST_SKIP() << "root can read any directory";
  const fs::path r = dir_ / "u";
  fs::create_directories(r / "locked");
  write_file(r / "locked" / "hidden", "h");
  write_file(r / "z", "z");
  ASSERT_EQ(::chmod((r / "locked").c_str(), 0), 0);
  const Seen seen = walk_all({{r, "u"}});
  ASSERT_EQ(seen.entries.size(), 3u);  // u, u/locked (kept, empty), u/z
  EXPECT_EQ(seen.entries[1].path, "u/locked");
  EXPECT_EQ(seen.entries[2].path, "u/z");
  ASSERT_EQ(seen.warnings.size(), 1u);
  EXPECT_NE(seen.warnings[0].find("cannot read directory " + (r / "locked").string()), std::string::npos);
}

TEST_F(TreeWalkerTest, AFolderThatVanishesIsAWarningNotUnreadable) {
  const fs::path r = dir_ / "v";
  fs::create_directories(r / "d");
  write_file(r / "d" / "x", "x");
  Seen seen;
  std::vector<std::string> unreadable;
  WalkCallbacks cb;
  cb.on_entry = [&](FileEntry& e, const fs::path&) {
    seen.entries.push_back(e);
    if (e.path == "v/d") fs::remove_all(r / "d");  // reported, gone before it is listed
  };
  cb.on_warning = [&](const std::string& w) { seen.warnings.push_back(w); };
  cb.on_unreadable = [&](const fs::path& source, const std::string&) { unreadable.push_back(source.string()); };
  walk({{r, "v"}}, cb);
  EXPECT_TRUE(unreadable.empty());
  ASSERT_EQ(seen.warnings.size(), 1u);
  EXPECT_EQ(seen.warnings[0], "vanished while reading: " + (r / "d").string());
}

TEST_F(TreeWalkerTest, ExcludedEntriesAndWhatIsBelowThemAreLeftOut) {
  const fs::path r = dir_ / "e";
  fs::create_directories(r / "repo" / "data");
  write_file(r / "repo" / "data" / "pack", "p");
  write_file(r / "keep", "k");
  struct stat repo_st;
  ASSERT_EQ(::stat((r / "repo").c_str(), &repo_st), 0);
  Seen seen;
  std::vector<fs::path> excluded;
  WalkCallbacks cb;
  cb.on_entry = [&](FileEntry& e, const fs::path&) { seen.entries.push_back(e); };
  cb.on_warning = [&](const std::string& w) { seen.warnings.push_back(w); };
  cb.exclude = [&](const fs::path& source, const struct ::stat& st) {
    if (st.st_dev != repo_st.st_dev || st.st_ino != repo_st.st_ino) return false;
    excluded.push_back(source);
    return true;
  };
  walk({{r, "e"}}, cb);
  std::vector<std::string> paths;
  for (const auto& e : seen.entries) paths.push_back(e.path);
  EXPECT_EQ(paths, (std::vector<std::string>{"e", "e/keep"}));
  EXPECT_EQ(excluded, (std::vector<fs::path>{r / "repo"}));
  EXPECT_TRUE(seen.warnings.empty());
}

TEST_F(TreeWalkerTest, WarningsEscapeControlCharacters) {
  const fs::path r = dir_ / "w";
  fs::create_directory(r);
  ASSERT_EQ(::mkfifo((r / "bad\nname").c_str(), 0600), 0);
  const Seen seen = walk_all({{r, "w"}});
  ASSERT_EQ(seen.warnings.size(), 1u);
  EXPECT_EQ(seen.warnings[0], "skipped FIFO: " + (r / "bad\\x0aname").string());
}

TEST_F(TreeWalkerTest, NamesRootsByBaseNameWithSuffixesForDuplicates) {
  for (const char* d : {"a/logs", "b/logs", "c/logs", "d/logs-2", "app"}) fs::create_directories(dir_ / d);
  write_file(dir_ / "file.txt", "x");
  const auto roots = name_roots({dir_ / "a/logs", dir_ / "b/logs/", dir_ / "d/logs-2", dir_ / "c/logs",
                                 dir_ / "app/./", dir_ / "a/../file.txt"});
  std::vector<std::string> names;
  for (const auto& r : roots) names.push_back(r.name);
  EXPECT_EQ(names, (std::vector<std::string>{"logs", "logs-2", "logs-2-2", "logs-3", "app", "file.txt"}));
  EXPECT_EQ(roots[1].source, fs::canonical(dir_ / "b/logs"));
  EXPECT_EQ(roots[5].source, fs::canonical(dir_ / "file.txt"));
  EXPECT_TRUE(roots[0].source.is_absolute());
}

TEST_F(TreeWalkerTest, RelativeAndSymlinkedRootsResolveToAbsolutePaths) {
  fs::create_directories(dir_ / "real");
  fs::create_directory_symlink(dir_ / "real", dir_ / "current");
  const fs::path old_cwd = fs::current_path();
  fs::current_path(dir_);
  const auto roots = name_roots({"real", "current"});
  fs::current_path(old_cwd);
  ASSERT_EQ(roots.size(), 2u);
  EXPECT_EQ(roots[0].name, "real");
  EXPECT_EQ(roots[0].source, fs::canonical(dir_ / "real"));
  EXPECT_EQ(roots[1].name, "current");  // the name the user gave, the directory it points to
  EXPECT_EQ(roots[1].source, fs::canonical(dir_ / "real"));
}

TEST_F(TreeWalkerTest, RejectsMissingAndSpecialRootsNamingBackupPaths) {
  const fs::path missing = dir_ / "no-such-dir";
  try {
    name_roots({dir_, missing});
    FAIL() << "accepted a missing root";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kConfig);
    EXPECT_NE(std::string(e.what()).find("BACKUP_PATHS"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(missing.string()), std::string::npos) << e.what();
  }
  ASSERT_EQ(::mkfifo((dir_ / "pipe").c_str(), 0600), 0);
  try {
    name_roots({dir_ / "pipe"});
    FAIL() << "accepted a FIFO root";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kConfig);
    EXPECT_NE(std::string(e.what()).find("not a directory or regular file"), std::string::npos);
  }
}

}  // namespace
}  // namespace coffer::files
