#include "util/fd_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "coffer/error.h"
#include "testing/fixtures.h"

namespace coffer {
namespace {

TEST(FdIo, WritesEverythingThroughAPipe) {
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  std::string text(100000, 'x');  // more than a pipe holds: the reader drains it meanwhile
  std::string got;
  std::thread reader([&] {
    char buf[4096];
    while (ssize_t n = ::read(p[0], buf, sizeof buf)) got.append(buf, static_cast<size_t>(n));
  });
  EXPECT_EQ(write_fully(p[1], as_bytes(text)), 0);
  ::close(p[1]);
  reader.join();
  ::close(p[0]);
  EXPECT_EQ(got, text);
}

TEST(FdIo, FailureNamesWhatWasWritten) {
  int fd = ::open("/dev/full", O_WRONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  try {
    write_all(fd, as_bytes("data"), "the test file");
    FAIL() << "wrote to /dev/full";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kStorage);
    EXPECT_NE(std::string(e.what()).find("cannot write the test file: No space left"), std::string::npos) << e.what();
  }
  ::close(fd);
}

TEST(FdIo, NewFilesAreOnlyTheCallersAndNeverReplaceOne) {
  test_support::TempDir dir("coffer-fdio");
  const std::string path = (dir.path / "f").string();
  write_new_file(path, as_bytes("contents"));
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_size, 8);
  try {
    create_new_file(path);
    FAIL() << "an existing file was opened as new";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kStorage);
    EXPECT_NE(std::string(e.what()).find("cannot create " + path), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace coffer
