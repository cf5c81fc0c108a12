#include "util/subprocess.h"

#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstdlib>

#include "coffer/error.h"

namespace coffer {
namespace {

// Designated initializers would trip -Wmissing-field-initializers; build specs by hand.
ProcessSpec spec(std::vector<std::string> argv, bool pipe_stdin = false, bool pipe_stdout = false) {
  ProcessSpec s;
  s.argv = std::move(argv);
  s.pipe_stdin = pipe_stdin;
  s.pipe_stdout = pipe_stdout;
  return s;
}

std::string read_all(Subprocess& p) {
  std::string out;
  uint8_t buf[4096];
  while (size_t n = p.read(buf, sizeof buf)) out.append(reinterpret_cast<char*>(buf), n);
  return out;
}

bool sigpipe_pending() {
  sigset_t pending;
  sigpending(&pending);
  return sigismember(&pending, SIGPIPE) == 1;
}

TEST(SubprocessTest, EchoCapturesStdout) {
  std::string out, err;
  EXPECT_EQ(run_process(spec({"echo", "hello", "two words"}), &out, &err), 0);
  EXPECT_EQ(out, "hello two words\n");
  EXPECT_EQ(err, "");
}

TEST(SubprocessTest, CatRoundTripThroughPipes) {
  Subprocess cat(spec({"cat"}, true, true));
  std::string text = std::string("line one\nline two\0with nul", 26);
  cat.write(reinterpret_cast<const uint8_t*>(text.data()), text.size());
  cat.close_stdin();
  EXPECT_EQ(read_all(cat), text);
  EXPECT_EQ(cat.wait(), 0);
}

TEST(SubprocessTest, OnlyKeptDescriptorsReachTheChild) {
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  ASSERT_EQ(::write(fds[1], "kept", 4), 4);
  ::close(fds[1]);
  const std::string path = "/proc/self/fd/" + std::to_string(fds[0]);  // the child's own fd table
  ProcessSpec without = spec({"cat", path});
  std::string out, err;
  EXPECT_NE(run_process(without, &out, &err), 0);  // close-on-exec: the child has no such fd
  EXPECT_EQ(out, "");
  ProcessSpec with = without;
  with.keep_fds = {fds[0]};
  EXPECT_EQ(run_process(with, &out, &err), 0) << err;
  EXPECT_EQ(out, "kept");
  EXPECT_EQ(::fcntl(fds[0], F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);  // unchanged in coffer
  ::close(fds[0]);
}

TEST(SubprocessTest, StdinIsDevNullWhenNotPiped) {
  std::string out;
  EXPECT_EQ(run_process(spec({"cat"}), &out, nullptr), 0);
  EXPECT_EQ(out, "");
}

TEST(SubprocessTest, EnvSetAndUnsetReachTheChild) {
  ::setenv("COFFER_SUBPROCESS_TEST_GONE", "inherited", 1);
  ::setenv("COFFER_SUBPROCESS_TEST_REPLACED", "old", 1);
  ::setenv("COFFER_SUBPROCESS_TEST_KEPT", "kept", 1);
  std::string out;
  ProcessSpec env = spec({"/usr/bin/env"});
  env.env_set = {{"COFFER_SUBPROCESS_TEST_NEW", "a b=c"}, {"COFFER_SUBPROCESS_TEST_REPLACED", "new"}};
  env.env_unset = {"COFFER_SUBPROCESS_TEST_GONE"};
  int code = run_process(env, &out, nullptr);
  ::unsetenv("COFFER_SUBPROCESS_TEST_GONE");
  ::unsetenv("COFFER_SUBPROCESS_TEST_REPLACED");
  ::unsetenv("COFFER_SUBPROCESS_TEST_KEPT");
  EXPECT_EQ(code, 0);
  EXPECT_NE(out.find("\nCOFFER_SUBPROCESS_TEST_NEW=a b=c\n"), std::string::npos) << out;
  EXPECT_NE(out.find("\nCOFFER_SUBPROCESS_TEST_REPLACED=new\n"), std::string::npos);
  EXPECT_EQ(out.find("COFFER_SUBPROCESS_TEST_REPLACED=old"), std::string::npos);
  EXPECT_EQ(out.find("COFFER_SUBPROCESS_TEST_GONE"), std::string::npos);
  EXPECT_NE(out.find("COFFER_SUBPROCESS_TEST_KEPT=kept\n"), std::string::npos);
}

TEST(SubprocessTest, EnvAllowPassesOnlyTheNamedVariables) {
  ::setenv("COFFER_SUBPROCESS_TEST_SECRET", "hidden", 1);
  ::setenv("COFFER_SUBPROCESS_ALLOWED_A", "a", 1);
  ::setenv("COFFER_SUBPROCESS_EXACT", "e", 1);
  std::string out;
  ProcessSpec env = spec({"/usr/bin/env"});
  env.env_allow = std::vector<std::string>{"COFFER_SUBPROCESS_ALLOWED_*", "COFFER_SUBPROCESS_EXACT"};
  env.env_set = {{"COFFER_SUBPROCESS_TEST_SET", "s"}};
  int code = run_process(env, &out, nullptr);
  ::unsetenv("COFFER_SUBPROCESS_TEST_SECRET");
  ::unsetenv("COFFER_SUBPROCESS_ALLOWED_A");
  ::unsetenv("COFFER_SUBPROCESS_EXACT");
  EXPECT_EQ(code, 0);
  EXPECT_EQ(out.find("COFFER_SUBPROCESS_TEST_SECRET"), std::string::npos) << out;
  EXPECT_EQ(out.find("PATH="), std::string::npos) << "PATH was not allowed: " << out;
  EXPECT_NE(out.find("COFFER_SUBPROCESS_ALLOWED_A=a\n"), std::string::npos) << out;
  EXPECT_NE(out.find("COFFER_SUBPROCESS_EXACT=e\n"), std::string::npos) << out;
  EXPECT_NE(out.find("COFFER_SUBPROCESS_TEST_SET=s\n"), std::string::npos) << out;
}

TEST(SubprocessTest, ExitCodes) {
  EXPECT_EQ(run_process(spec({"true"}), nullptr, nullptr), 0);
  EXPECT_EQ(run_process(spec({"false"}), nullptr, nullptr), 1);
  EXPECT_EQ(run_process(spec({"sh", "-c", "exit 42"}), nullptr, nullptr), 42);
}

TEST(SubprocessTest, KilledChildReports128PlusSignal) {
  EXPECT_EQ(run_process(spec({"sh", "-c", "kill -KILL $$"}), nullptr, nullptr), 128 + SIGKILL);
  Subprocess sleeper(spec({"sleep", "30"}));
  ::kill(sleeper.pid(), SIGTERM);
  EXPECT_EQ(sleeper.wait(), 128 + SIGTERM);
  EXPECT_EQ(sleeper.wait(), 128 + SIGTERM);  // cached
}

TEST(SubprocessTest, LargeOutputIsStreamedNotCaptured) {
  const size_t total = 100u * 1024 * 1024;
  Subprocess head(spec({"head", "-c", std::to_string(total), "/dev/zero"}, false, true));
  std::vector<uint8_t> buf(1 << 20);
  size_t seen = 0;
  bool all_zero = true;
  while (size_t n = head.read(buf.data(), buf.size())) {
    seen += n;
    all_zero = all_zero && buf[0] == 0 && buf[n - 1] == 0;
  }
  EXPECT_EQ(seen, total);
  EXPECT_TRUE(all_zero);
  EXPECT_EQ(head.wait(), 0);
  EXPECT_TRUE(head.captured_output().empty());
}

TEST(SubprocessTest, ChattyStderrDoesNotBlockStdoutAndKeepsTheTail) {
  // 1 MB on stderr before anything on stdout: without draining, the child would block forever.
  Subprocess p(spec({"sh", "-c", "head -c 1000000 /dev/zero | tr '\\0' a >&2; echo END >&2; echo out"},
                    false, true));
  EXPECT_EQ(read_all(p), "out\n");
  EXPECT_EQ(p.wait(), 0);
  EXPECT_EQ(p.error_output().size(), 64u * 1024);
  EXPECT_EQ(p.error_output().substr(p.error_output().size() - 6), "aaEND\n");
}

TEST(SubprocessTest, WritingDrainsStderr) {
  Subprocess p(spec({"sh", "-c", "head -c 1000000 /dev/zero >&2; wc -c"}, true));
  std::vector<uint8_t> data(1000000, 'x');
  p.write(data.data(), data.size());
  EXPECT_EQ(p.wait(), 0);
  EXPECT_EQ(p.captured_output(), "1000000\n");
  EXPECT_EQ(p.error_output().size(), 64u * 1024);
}

TEST(SubprocessTest, RunProcessCapturesBothStreams) {
  std::string out, err;
  int code = run_process(spec({"sh", "-c", "echo to-out; echo to-err >&2; exit 5"}), &out, &err);
  EXPECT_EQ(code, 5);
  EXPECT_EQ(out, "to-out\n");
  EXPECT_EQ(err, "to-err\n");
}

TEST(SubprocessTest, WriteAfterChildStoppedReadingThrowsWithoutSigpipe) {
  Subprocess p(spec({"head", "-c", "1"}, true, true));
  std::vector<uint8_t> data(1 << 20, 'y');
  try {
    for (int i = 0; i < 16; ++i) p.write(data.data(), data.size());
    FAIL() << "write to a closed pipe did not throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kDatabase);
    EXPECT_NE(std::string(e.what()).find("head"), std::string::npos);
  }
  EXPECT_FALSE(sigpipe_pending());
  EXPECT_EQ(read_all(p), "y");
  EXPECT_EQ(p.wait(), 0);
}

TEST(SubprocessTest, MissingProgramIsAClearError) {
  try {
    Subprocess p(spec({"coffer-no-such-program-xyz", "--version"}));
    FAIL() << "started a missing program";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kInternal);
    EXPECT_NE(std::string(e.what()).find("coffer-no-such-program-xyz"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("not found"), std::string::npos);
  }
  EXPECT_THROW(Subprocess(spec({"/nonexistent/bin/tool"})), Error);
  EXPECT_THROW(Subprocess(spec({})), Error);
}

TEST(SubprocessTest, DestructorKillsAndReapsARunningChild) {
  pid_t pid;
  {
    Subprocess p(spec({"sleep", "30"}, true, true));
    pid = p.pid();
    ASSERT_GT(pid, 0);
    EXPECT_EQ(::kill(pid, 0), 0);
  }
  // Reaped: neither running nor a zombie child of ours.
  EXPECT_EQ(::waitpid(pid, nullptr, WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD);
}

}  // namespace
}  // namespace coffer
