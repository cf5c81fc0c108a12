#include "util/host.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>

namespace coffer {
namespace {

TEST(HostTest, NamesThisHostOrTheTestHook) {
  ::unsetenv("COFFER_HOSTNAME");
  char buf[256] = {};
  ::gethostname(buf, sizeof buf - 1);
  EXPECT_EQ(this_host(), buf);
  ::setenv("COFFER_HOSTNAME", "host-b", 1);
  EXPECT_EQ(this_host(), "host-b");
  ::unsetenv("COFFER_HOSTNAME");
}

TEST(HostTest, TellsAGoneProcessFromALiveOne) {
  EXPECT_FALSE(process_gone(::getpid()));
  pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ASSERT_GT(child, 0);
  ::waitpid(child, nullptr, 0);  // reaped: the pid names nobody now
  EXPECT_TRUE(process_gone(child));
  EXPECT_FALSE(process_gone(0));
  EXPECT_FALSE(process_gone(-1));
}

}  // namespace
}  // namespace coffer
