#include "util/pipe_server.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include "coffer/error.h"
#include "testing/fixtures.h"

namespace coffer {
namespace {
namespace fs = std::filesystem;

class PipeServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test_support::make_temp_dir("coffer-pipes");
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  fs::path dir_;
};

std::string read_all(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  EXPECT_GE(fd, 0) << path;
  std::string out;
  char buf[65536];
  while (ssize_t n = ::read(fd, buf, sizeof buf)) {
    if (n < 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

std::string pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7 + i / 4096) % 26);
  return s;
}

TEST_F(PipeServerTest, ProducesWhatIsOpenedAndNothingElse) {
  const std::string big = pattern(3 << 20);  // more than the pipe holds: the producer waits for the reader
  std::atomic<bool> c_produced{false};
  PipeServer server(dir_.string());
  server.add("a.dat", [&](PipeServer::Writer& w) {
    for (size_t at = 0; at < big.size(); at += 100000) w.write(as_bytes(std::string_view(big).substr(at, 100000)));
  });
  server.add("b.dat", [](PipeServer::Writer& w) { w.write(as_bytes("hello")); });
  server.add("c.dat", [&](PipeServer::Writer&) { c_produced = true; });
  server.add("empty.dat", [](PipeServer::Writer&) {});
  server.start();
  EXPECT_TRUE(fs::is_fifo(dir_ / "a.dat"));
  EXPECT_FALSE(fs::exists(dir_ / ".coffer-probe"));  // start() checked that opens are seen, and tidied up
  std::string b = read_all(path("b.dat"));
  std::string a = read_all(path("a.dat"));
  std::string empty = read_all(path("empty.dat"));
  EXPECT_EQ(b, "hello");
  EXPECT_TRUE(a == big) << "read " << a.size() << " of " << big.size() << " bytes";
  EXPECT_EQ(empty, "");
  server.stop();
  EXPECT_FALSE(c_produced);
  EXPECT_EQ(server.pipes_opened(), 3u);
  EXPECT_FALSE(server.failure());
}

TEST_F(PipeServerTest, AFailedProducerLeavesItsPipeWithoutEndOfFileAndStopsTheReader) {
  PipeServer server(dir_.string());
  server.add("t.dat", [](PipeServer::Writer& w) {
    w.write(as_bytes("partial"));
    fail(ErrorCategory::kDamaged, "chunk 42 is damaged");
  });
  server.start();
  // The guarded reader stands for pg_restore: a child that waits to be stopped.
  pid_t reader = ::fork();
  ASSERT_GE(reader, 0);
  if (reader == 0) {
    for (;;) ::pause();
  }
  server.guard_reader(reader);
  int fd = ::open(path("t.dat").c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  for (int i = 0; i < 500 && !server.failure(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_TRUE(server.failure());
  int st = 0;
  ASSERT_EQ(::waitpid(reader, &st, 0), reader);
  EXPECT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM) << "the guarded reader was not stopped";
  char buf[64];
  EXPECT_EQ(::read(fd, buf, sizeof buf), 7);
  // The bytes so far must not look like the whole file: no end-of-file while the server runs.
  EXPECT_EQ(::read(fd, buf, sizeof buf), -1);
  EXPECT_EQ(errno, EAGAIN);
  try {
    std::rethrow_exception(server.failure());
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "chunk 42 is damaged");
  }
  server.stop();
  EXPECT_EQ(::read(fd, buf, sizeof buf), 0);  // stopped: now it ends
  ::close(fd);
}

TEST_F(PipeServerTest, StopEndsAProducerWhoseReaderStopsReading) {
  std::atomic<bool> stopped_writing{false};
  PipeServer server(dir_.string());
  server.add("t.dat", [&](PipeServer::Writer& w) {
    const std::string block(1 << 20, 'x');
    try {
      for (int i = 0; i < 100; ++i) w.write(as_bytes(block));
    } catch (const PipeServer::Stopped&) {
      stopped_writing = true;
      throw;
    }
  });
  server.start();
  int fd = ::open(path("t.dat").c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  char buf[4096];
  EXPECT_GT(::read(fd, buf, sizeof buf), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto t0 = std::chrono::steady_clock::now();
  server.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  EXPECT_TRUE(stopped_writing);
  EXPECT_FALSE(server.failure());  // stopping is not a failure
  ::close(fd);
}

TEST_F(PipeServerTest, TheKeeperStopsTheReaderWhenTheServerDies) {
  // The server runs in a child process, SIGKILLed while a reader is in the middle of a file:
  // the keeper must stop the reader (SIGTERM) rather than let it see end-of-file.
  int ready[2], told[2], saw[2];
  ASSERT_EQ(::pipe(ready), 0);
  ASSERT_EQ(::pipe(told), 0);
  ASSERT_EQ(::pipe(saw), 0);
  const char one = 1;
  pid_t server = ::fork();
  ASSERT_GE(server, 0);
  if (server == 0) {
    PipeServer s(dir_.string());
    s.add("t.dat", [](PipeServer::Writer& w) {
      w.write(as_bytes("partial"));
      for (;;) ::pause();  // never finishes
    });
    s.start();
    [[maybe_unused]] ssize_t n = ::write(ready[1], &one, 1);
    pid_t reader = 0;
    n = ::read(told[0], &reader, sizeof reader);
    s.guard_reader(reader);
    n = ::write(ready[1], &one, 1);
    for (;;) ::pause();
  }
  char c;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);  // serving
  pid_t reader = ::fork();
  ASSERT_GE(reader, 0);
  if (reader == 0) {
    int fd = ::open(path("t.dat").c_str(), O_RDONLY);
    char buf[64];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0) {
      ssize_t w = ::write(saw[1], &one, 1);
      (void)w;
    }
    ::_exit(n == 0 ? 42 : 43);  // 42: it saw end-of-file
  }
  ASSERT_EQ(::write(told[1], &reader, sizeof reader), static_cast<ssize_t>(sizeof reader));
  ASSERT_EQ(::read(ready[0], &c, 1), 1);  // the keeper knows the reader
  ASSERT_EQ(::read(saw[0], &c, 1), 1);    // the reader has the first bytes
  ::kill(server, SIGKILL);
  int st = 0;
  ::waitpid(server, &st, 0);
  ASSERT_EQ(::waitpid(reader, &st, 0), reader);
  EXPECT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM)
      << "the reader " << (WIFEXITED(st) && WEXITSTATUS(st) == 42 ? "saw end-of-file" : "ended otherwise");
  for (int* p : {ready, told, saw}) {
    ::close(p[0]);
    ::close(p[1]);
  }
}

TEST_F(PipeServerTest, RefusesAPipeItCannotMake) {
  PipeServer server(dir_.string());
  server.add("x.dat", [](PipeServer::Writer&) {});
  EXPECT_THROW(server.add("missing/x.dat", [](PipeServer::Writer&) {}), Error);
  EXPECT_GE(PipeServer::raise_open_file_limit(), 1024u);
}

}  // namespace
}  // namespace coffer
