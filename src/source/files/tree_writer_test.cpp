#include "source/files/tree_writer.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>
#include <fstream>
#include <sstream>

#include "coffer/error.h"
#include "testing/fixtures.h"

namespace coffer::files {
namespace {

namespace fs = std::filesystem;

FileEntry dir_entry(const std::string& path, uint32_t mode = 0755, int64_t mtime_ns = 0) {
  FileEntry e;
  e.path = path;
  e.type = EntryType::kDirectory;
  e.mode = mode;
  e.mtime_ns = mtime_ns;
  return e;
}

FileEntry file_entry(const std::string& path, uint32_t mode = 0644, int64_t mtime_ns = 0) {
  FileEntry e = dir_entry(path, mode, mtime_ns);
  e.type = EntryType::kFile;
  return e;
}

FileEntry symlink_entry(const std::string& path, const std::string& target, int64_t mtime_ns = 0) {
  FileEntry e = dir_entry(path, 0777, mtime_ns);
  e.type = EntryType::kSymlink;
  e.link_target = target;
  return e;
}

FileEntry hardlink_entry(const std::string& path, const std::string& target) {
  FileEntry e = dir_entry(path, 0644);
  e.type = EntryType::kHardlink;
  e.hardlink_target = target;
  return e;
}

int64_t mtime_of(const fs::path& p) {
  struct stat st;
  EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
  return st.st_mtim.tv_sec * 1'000'000'000 + st.st_mtim.tv_nsec;
}

uint32_t mode_of(const fs::path& p) {
  struct stat st;
  EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
  return st.st_mode & 07777;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_entry(TreeWriter& w, const FileEntry& e, const std::string& content) {
  auto f = w.begin_file(e);
  f->write(as_bytes(content));
  f->commit();
}

// Runs `action`, expecting an Error of `category` whose message contains `needle`.
template <typename F>
void expect_error(F action, ErrorCategory category, const std::string& needle) {
  try {
    action();
    ADD_FAILURE() << "no error; expected one containing: " << needle;
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), category) << e.what();
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

size_t open_fd_count() {
  size_t n = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

class TreeWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Not "coffer-restore-": a database restore running meanwhile sweeps those (util/held_temp.h).
    dir_ = test_support::make_temp_dir("coffer-tree-writer-test");
    target_ = dir_ / "target";
    outside_ = dir_ / "outside";
    fs::create_directory(outside_);
  }
  void TearDown() override {
    std::error_code ec;
    for (const auto& p : fs::recursive_directory_iterator(dir_, ec)) {
      if (p.is_directory(ec) && !p.is_symlink(ec)) fs::permissions(p.path(), fs::perms::owner_all, ec);
    }
    fs::remove_all(dir_, ec);
  }

  // Every leftover temporary file anywhere under the test directory.
  std::vector<fs::path> temp_files() const {
    std::vector<fs::path> found;
    for (const auto& p : fs::recursive_directory_iterator(dir_)) {
      if (p.path().filename().string().starts_with(".coffer-tmp-")) found.push_back(p.path());
    }
    return found;
  }

  fs::path dir_, target_, outside_;
};

TEST_F(TreeWriterTest, RestoresFilesDirectoriesSymlinksAndHardlinksWithMetadata) {
  const bool root = ::geteuid() == 0;
  const int64_t t1 = 1'600'000'000'111'111'111, t2 = 1'500'000'000'222'222'222;
  const int64_t t3 = 1'400'000'000'333'333'333, t4 = 1'300'000'000'444'444'444;
  WriterOptions options;
  options.restore_owner = root;
  TreeWriter w(target_, options);

  FileEntry top = dir_entry("r", 0751, t1);
  FileEntry sub = dir_entry("r/sub", 0500, t2);  // read-only: its contents must still be written
  FileEntry f = file_entry("r/sub/f", 0640, t3);
  FileEntry exe = file_entry("r/exe", 02755, t4);
  if (root) top.uid = 1234, top.gid = 5678, f.uid = 4321, f.gid = 8765;
  FileEntry link = symlink_entry("r/link", "sub/f", t4);
  if (root) link.uid = 99, link.gid = 98;
  w.make_directory(top);
  w.make_directory(sub);
  write_entry(w, f, "hello world");
  write_entry(w, exe, "");
  w.make_symlink(link);
  w.make_hardlink(hardlink_entry("r/sub/hl", "r/sub/f"));
  // No search permission: its own contents' metadata must be applied before its mode.
  w.make_directory(dir_entry("r/nox", 0600, t3));
  w.make_directory(dir_entry("r/nox/inner", 0705, t4));
  w.finish();

  const fs::path r = target_ / "r";
  EXPECT_EQ(read_file(r / "sub" / "f"), "hello world");
  EXPECT_EQ(mode_of(r), 0751u);
  EXPECT_EQ(mode_of(r / "sub"), 0500u);
  EXPECT_EQ(mode_of(r / "sub" / "f"), 0640u);
  EXPECT_EQ(mode_of(r / "exe"), 02755u);
  EXPECT_EQ(fs::file_size(r / "exe"), 0u);
  EXPECT_EQ(mtime_of(r), t1);  // applied after its contents were created
  EXPECT_EQ(mtime_of(r / "sub"), t2);
  EXPECT_EQ(mtime_of(r / "sub" / "f"), t3);
  EXPECT_EQ(mtime_of(r / "exe"), t4);
  EXPECT_EQ(mtime_of(r / "link"), t4);  // the link's own time, not its target's
  EXPECT_TRUE(fs::is_symlink(r / "link"));
  EXPECT_EQ(mode_of(r / "nox"), 0600u);
  ASSERT_EQ(::chmod((r / "nox").c_str(), 0700), 0);
  EXPECT_EQ(mode_of(r / "nox" / "inner"), 0705u);
  EXPECT_EQ(mtime_of(r / "nox" / "inner"), t4);
  EXPECT_EQ(fs::read_symlink(r / "link"), "sub/f");

  struct stat a, b;
  ASSERT_EQ(::lstat((r / "sub" / "f").c_str(), &a), 0);
  ASSERT_EQ(::lstat((r / "sub" / "hl").c_str(), &b), 0);
  EXPECT_EQ(a.st_ino, b.st_ino);
  EXPECT_EQ(a.st_nlink, 2u);
  if (root) {
    struct stat st;
    ASSERT_EQ(::lstat(r.c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, 1234u);
    EXPECT_EQ(st.st_gid, 5678u);
    EXPECT_EQ(a.st_uid, 4321u);
    EXPECT_EQ(a.st_gid, 8765u);
    ASSERT_EQ(::lstat((r / "link").c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, 99u);
    EXPECT_EQ(st.st_gid, 98u);
  }
  EXPECT_TRUE(temp_files().empty());
}

TEST_F(TreeWriterTest, WithoutRestoreOwnerFilesBelongToTheRestorer) {
  TreeWriter w(target_, {});
  FileEntry f = file_entry("f");
  f.uid = 4321;
  f.gid = 8765;
  write_entry(w, f, "x");
  struct stat st;
  ASSERT_EQ(::lstat((target_ / "f").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, ::geteuid());
}

TEST_F(TreeWriterTest, TimesBefore1970AreRestored) {
  TreeWriter w(target_, {});
  write_entry(w, file_entry("old", 0644, -1'500'000'000), "x");  // 1969-12-31T23:59:58.5
  struct stat st;
  ASSERT_EQ(::lstat((target_ / "old").c_str(), &st), 0);
  EXPECT_EQ(st.st_mtim.tv_sec, -2);
  EXPECT_EQ(st.st_mtim.tv_nsec, 500'000'000);
}

TEST_F(TreeWriterTest, UncommittedWriterLeavesNothing) {
  TreeWriter w(target_, {});
  w.make_directory(dir_entry("r"));
  {
    auto f = w.begin_file(file_entry("r/partial"));
    f->write(as_bytes(std::string("half of it")));
    EXPECT_EQ(temp_files().size(), 1u);
    EXPECT_EQ(temp_files()[0].parent_path(), target_ / "r");
  }
  EXPECT_TRUE(temp_files().empty());
  EXPECT_FALSE(fs::exists(target_ / "r" / "partial"));
}

TEST_F(TreeWriterTest, CommitTwiceIsABug) {
  TreeWriter w(target_, {});
  auto f = w.begin_file(file_entry("f"));
  f->commit();
  expect_error([&] { f->commit(); }, ErrorCategory::kInternal, "twice");
}

TEST_F(TreeWriterTest, RefusesUnsafePaths) {
  TreeWriter w(target_, {});
  const std::string escape = "../outside/x";
  for (const std::string& bad : {escape, std::string("/tmp/x"), std::string("a/../../outside/x"),
                                 std::string("a//b"), std::string(""), std::string("a/./b")}) {
    expect_error([&] { w.make_directory(dir_entry(bad)); }, ErrorCategory::kInput, "unsafe path");
    expect_error([&] { w.begin_file(file_entry(bad)); }, ErrorCategory::kInput, "unsafe path");
    expect_error([&] { w.make_symlink(symlink_entry(bad, "t")); }, ErrorCategory::kInput, "unsafe path");
    expect_error([&] { w.make_hardlink(hardlink_entry(bad, "ok")); }, ErrorCategory::kInput, "unsafe path");
    expect_error([&] { w.make_hardlink(hardlink_entry("ok", bad)); }, ErrorCategory::kInput, "unsafe path");
  }
  EXPECT_TRUE(fs::is_empty(outside_));
  EXPECT_TRUE(fs::is_empty(target_));
}

TEST_F(TreeWriterTest, NeverWritesThroughARestoredSymlink) {
  std::ofstream(outside_ / "secret") << "outside data";
  TreeWriter w(target_, {});
  w.make_directory(dir_entry("r"));
  w.make_symlink(symlink_entry("r/a", outside_.string()));  // verbatim target: pointing out is fine
  EXPECT_EQ(fs::read_symlink(target_ / "r" / "a"), outside_);

  const std::string through = "refusing to restore through symlink";
  expect_error([&] { w.begin_file(file_entry("r/a/evil")); }, ErrorCategory::kInput, through);
  expect_error([&] { w.make_directory(dir_entry("r/a/evil")); }, ErrorCategory::kInput, through);
  expect_error([&] { w.make_directory(dir_entry("r/a/evil/deeper")); }, ErrorCategory::kInput, through);
  expect_error([&] { w.make_symlink(symlink_entry("r/a/evil", "x")); }, ErrorCategory::kInput, through);
  expect_error([&] { w.make_hardlink(hardlink_entry("r/a/evil", "r/a/secret")); }, ErrorCategory::kInput,
               through);
  // Linking an outside file into the target would leak it: refused too.
  expect_error([&] { w.make_hardlink(hardlink_entry("r/leak", "r/a/secret")); }, ErrorCategory::kInput,
               through);
  w.finish();
  EXPECT_EQ(fs::directory_iterator(outside_)->path().filename(), "secret");
  EXPECT_EQ(std::distance(fs::directory_iterator(outside_), fs::directory_iterator()), 1);
  EXPECT_FALSE(fs::exists(target_ / "r" / "leak"));
  EXPECT_TRUE(temp_files().empty());
}

TEST_F(TreeWriterTest, NeverWritesThroughAPlantedSymlink) {
  fs::create_directory(target_);
  fs::create_directory_symlink(outside_, target_ / "r");
  TreeWriter w(target_, {});
  expect_error([&] { w.make_directory(dir_entry("r")); }, ErrorCategory::kInput, "exists; use --overwrite");
  expect_error([&] { w.begin_file(file_entry("r/f")); }, ErrorCategory::kInput,
               "refusing to restore through symlink " + (target_ / "r").string());
  EXPECT_TRUE(fs::is_empty(outside_));
  // A file where a directory should be is refused as well.
  std::ofstream(target_ / "plain") << "x";
  expect_error([&] { w.begin_file(file_entry("plain/f")); }, ErrorCategory::kInput, "is not a directory");
}

TEST_F(TreeWriterTest, RefusesToOverwriteExistingEntries) {
  fs::create_directories(target_ / "r");
  std::ofstream(target_ / "r" / "f") << "old";
  fs::create_symlink("old-target", target_ / "r" / "l");
  TreeWriter w(target_, {});
  w.make_directory(dir_entry("r", 0700));  // an existing directory merges
  const std::string shown = (target_ / "r" / "f").string();
  expect_error([&] { w.begin_file(file_entry("r/f")); }, ErrorCategory::kInput, shown + " exists; use --overwrite");
  expect_error([&] { w.make_symlink(symlink_entry("r/f", "t")); }, ErrorCategory::kInput, "exists");
  expect_error([&] { w.make_symlink(symlink_entry("r/l", "t")); }, ErrorCategory::kInput, "exists");
  w.make_directory(dir_entry("r/d"));
  write_entry(w, file_entry("r/src"), "source");
  expect_error([&] { w.make_hardlink(hardlink_entry("r/f", "r/src")); }, ErrorCategory::kInput, "exists");
  expect_error([&] { w.make_directory(dir_entry("r/f")); }, ErrorCategory::kInput, "exists");

  // The file appears after begin_file: the final rename still refuses to replace it.
  auto late = w.begin_file(file_entry("r/late"));
  late->write(as_bytes(std::string("restored")));
  std::ofstream(target_ / "r" / "late") << "appeared meanwhile";
  expect_error([&] { late->commit(); }, ErrorCategory::kInput, "exists");
  late.reset();
  w.finish();

  EXPECT_EQ(read_file(target_ / "r" / "f"), "old");
  EXPECT_EQ(read_file(target_ / "r" / "late"), "appeared meanwhile");
  EXPECT_EQ(fs::read_symlink(target_ / "r" / "l"), "old-target");
  EXPECT_TRUE(temp_files().empty());
}

TEST_F(TreeWriterTest, OverwritesWhenAsked) {
  fs::create_directories(target_ / "r" / "d");
  std::ofstream(target_ / "r" / "f") << "old";
  std::ofstream(target_ / "r" / "l") << "a file where a symlink goes";
  std::ofstream(target_ / "r" / "h") << "old";
  std::ofstream(target_ / "r" / "x") << "a file where a directory goes";
  ASSERT_EQ(::chmod((target_ / "r").c_str(), 0755), 0);
  WriterOptions options;
  options.overwrite = true;
  TreeWriter w(target_, options);
  w.make_directory(dir_entry("r", 0710, 1'000'000'000'000'000'000));
  write_entry(w, file_entry("r/f", 0600), "new");
  w.make_symlink(symlink_entry("r/l", "f"));
  w.make_hardlink(hardlink_entry("r/h", "r/f"));
  w.make_hardlink(hardlink_entry("r/h", "r/f"));  // again: already the same inode
  w.make_directory(dir_entry("r/x"));
  expect_error([&] { w.begin_file(file_entry("r/d")); }, ErrorCategory::kInput, "is a directory");
  w.finish();

  EXPECT_EQ(read_file(target_ / "r" / "f"), "new");
  EXPECT_EQ(mode_of(target_ / "r" / "f"), 0600u);
  EXPECT_EQ(fs::read_symlink(target_ / "r" / "l"), "f");
  EXPECT_EQ(read_file(target_ / "r" / "h"), "new");
  EXPECT_TRUE(fs::is_directory(target_ / "r" / "x"));
  EXPECT_EQ(mode_of(target_ / "r"), 0710u);  // an existing directory takes the backup's metadata
  EXPECT_EQ(mtime_of(target_ / "r"), 1'000'000'000'000'000'000);
  EXPECT_TRUE(temp_files().empty());
}

TEST_F(TreeWriterTest, ExistingDirectoriesKeepTheirModeWithoutOverwrite) {
  fs::create_directories(target_ / "r");
  ASSERT_EQ(::chmod((target_ / "r").c_str(), 0755), 0);
  TreeWriter w(target_, {});
  w.make_directory(dir_entry("r", 0700));
  write_entry(w, file_entry("r/new"), "merged");
  w.finish();
  EXPECT_EQ(mode_of(target_ / "r"), 0755u);
  EXPECT_EQ(read_file(target_ / "r" / "new"), "merged");
}

TEST_F(TreeWriterTest, RestoresUnusualNames) {
  TreeWriter w(target_, {});
  const std::vector<std::string> names = {"new\nline", "ünïcødé 日本語 🎉", "with space", "\xff\xfe",
                                          ".coffer-tmp-0000000000000000"};
  w.make_directory(dir_entry("r\nd"));
  for (const auto& name : names) {
    write_entry(w, file_entry("r\nd/" + name), "content of " + name);
    w.make_symlink(symlink_entry("r\nd/" + name + ".l", name));
  }
  w.finish();
  for (const auto& name : names) {
    EXPECT_EQ(read_file(target_ / "r\nd" / name), "content of " + name);
    EXPECT_EQ(fs::read_symlink(target_ / "r\nd" / (name + ".l")), name);
  }
  // Messages show such names on one line.
  expect_error([&] { w.begin_file(file_entry("r\nd/new\nline")); }, ErrorCategory::kInput, "r\\x0ad/new\\x0aline");
}

TEST_F(TreeWriterTest, CreatesMissingParentsPrivately) {
  TreeWriter w(target_ / "not" / "yet", {});
  write_entry(w, file_entry("a/b/c", 0644), "deep");
  w.finish();
  EXPECT_EQ(read_file(target_ / "not" / "yet" / "a" / "b" / "c"), "deep");
  EXPECT_EQ(mode_of(target_ / "not" / "yet" / "a"), 0700u);  // no entry: no mode to restore
}

TEST_F(TreeWriterTest, HardlinkToMissingTargetIsNotFound) {
  TreeWriter w(target_, {});
  w.make_directory(dir_entry("r"));
  expect_error([&] { w.make_hardlink(hardlink_entry("r/h", "r/missing")); }, ErrorCategory::kNotFound,
               "was not restored");
  expect_error([&] { w.make_hardlink(hardlink_entry("r/h", "nodir/missing")); }, ErrorCategory::kNotFound,
               "does not exist");
  w.make_directory(dir_entry("r/d"));
  expect_error([&] { w.make_hardlink(hardlink_entry("r/h", "r/d")); }, ErrorCategory::kInput,
               "not a regular file");
}

TEST_F(TreeWriterTest, DeepTreesDoNotExhaustFileDescriptors) {
  const size_t before = open_fd_count();
  TreeWriter w(target_, {});
  std::string path = "d";
  std::vector<std::string> dirs;
  for (int depth = 0; depth < 150; ++depth) {
    w.make_directory(dir_entry(path, 0755, depth));
    write_entry(w, file_entry(path + "/f"), std::to_string(depth));
    dirs.push_back(path);
    path += "/d";
  }
  EXPECT_LE(open_fd_count(), before + 70);
  // Back up to a shallow level and down again through levels whose fds were closed.
  write_entry(w, file_entry("d/d/g"), "shallow");
  write_entry(w, file_entry(dirs[140] + "/g"), "deep again");
  w.finish();
  EXPECT_LE(open_fd_count(), before + 1);
  EXPECT_EQ(read_file(target_ / (dirs[149] + "/f")), "149");
  EXPECT_EQ(read_file(target_ / (dirs[140] + "/g")), "deep again");
  EXPECT_EQ(mtime_of(target_ / dirs[120]), 120);
  EXPECT_EQ(mtime_of(target_ / dirs[3]), 3);
}

}  // namespace

TEST_F(TreeWriterTest, ZeroBlocksBecomeHolesAndTheSizeIsKept) {
  TreeWriter w(target_, {});
  FileEntry e = file_entry("sparse");
  auto f = w.begin_file(e);
  const Bytes zeros(8u << 20, 0);
  Bytes data(4096, 'x');
  f->write(zeros);                               // 8 MiB hole
  f->write(data);                                // one block of data
  f->write(ByteView(zeros).first(1000));         // zeros starting a block ...
  f->write(ByteView(data).first(96));            // ... that data follows in: they read back as zeros
  f->write(zeros);                               // 8 MiB hole at the end: only the size says so
  f->commit();
  struct stat st;
  ASSERT_EQ(::stat((target_ / "sparse").c_str(), &st), 0);
  EXPECT_EQ(static_cast<uint64_t>(st.st_size), 2 * zeros.size() + 4096 + 1000 + 96);
  EXPECT_LE(static_cast<uint64_t>(st.st_blocks) * 512, 64u * 1024) << "holes were written out";
  const std::string back = read_file(target_ / "sparse");
  ASSERT_EQ(back.size(), static_cast<size_t>(st.st_size));
  EXPECT_EQ(back.substr(zeros.size(), 4096), std::string(4096, 'x'));
  EXPECT_EQ(back.substr(zeros.size() + 4096, 1000), std::string(1000, '\0'));
  EXPECT_EQ(back.substr(zeros.size() + 5096, 96), std::string(96, 'x'));
  EXPECT_EQ(back.find('x', zeros.size() + 5192), std::string::npos);
  EXPECT_EQ(back.find('x'), zeros.size());
}

TEST_F(TreeWriterTest, RemovesOnlyAbandonedTempsOfItsOwnNaming) {
  fs::create_directories(target_ / "d");
  const std::string ours = ".coffer-tmp-0123456789abcdef0123456789abcdef";
  const std::string held = ".coffer-tmp-fedcba9876543210fedcba9876543210";
  for (const std::string& name : {ours, held, std::string(".coffer-tmp-mine"), std::string(".coffer-tmp-0123")})
    std::ofstream(target_ / "d" / name) << "x";
  const int lock = ::open((target_ / "d" / held).c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(lock, 0);
  ASSERT_EQ(::flock(lock, LOCK_EX), 0);  // a restore still writing it
  TreeWriter w(target_, {});
  EXPECT_TRUE(w.remove_abandoned_temps("d").empty()) << "a temp just made may not be locked yet";
  // Make them look old: ctime cannot be set, so wait it out.
  ::sleep(2);
  const auto removed = w.remove_abandoned_temps("d");
  ASSERT_EQ(removed.size(), 1u);
  EXPECT_NE(removed[0].find(ours), std::string::npos);
  EXPECT_FALSE(fs::exists(target_ / "d" / ours));
  EXPECT_TRUE(fs::exists(target_ / "d" / held));
  EXPECT_TRUE(fs::exists(target_ / "d" / ".coffer-tmp-mine"));
  EXPECT_TRUE(fs::exists(target_ / "d" / ".coffer-tmp-0123"));
  ::close(lock);
}

TEST_F(TreeWriterTest, ATempBeingWrittenIsLocked) {
  TreeWriter w(target_, {});
  auto f = w.begin_file(file_entry("f"));
  const auto temps = temp_files();
  ASSERT_EQ(temps.size(), 1u);
  const int fd = ::open(temps[0].c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  EXPECT_NE(::flock(fd, LOCK_EX | LOCK_NB), 0) << "a sweep could take a temp that is being written";
  f->write(as_bytes("content"));
  f->commit();
  EXPECT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0) << "the lock outlived the file";
  ::close(fd);
}

TEST_F(TreeWriterTest, InspectSeesWithoutCreating) {
  TreeWriter w(target_, {});
  EXPECT_EQ(w.inspect("a/b/c", false).kind, Existing::Kind::kNone);
  EXPECT_FALSE(fs::exists(target_ / "a"));
  fs::create_directories(target_ / "a");
  std::ofstream(target_ / "a" / "f") << "12345";
  fs::create_symlink("somewhere", target_ / "a" / "l");
  Existing f = w.inspect("a/f", true);
  EXPECT_EQ(f.kind, Existing::Kind::kFile);
  EXPECT_EQ(f.size, 5u);
  EXPECT_GE(f.fd, 0);
  EXPECT_EQ(w.inspect("a", false).kind, Existing::Kind::kDirectory);
  Existing l = w.inspect("a/l", true);
  EXPECT_EQ(l.kind, Existing::Kind::kSymlink);
  EXPECT_EQ(l.link_target, "somewhere");
  expect_error([&] { w.inspect("a/l/x", false); }, ErrorCategory::kInput, "symlink");
}

}  // namespace coffer::files
