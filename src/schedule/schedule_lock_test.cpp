#include "schedule/schedule_lock.h"

#include <stdlib.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "coffer/error.h"
#include "testing/fixtures.h"

namespace coffer::schedule {
namespace {
namespace fs = std::filesystem;

TEST(ScheduleLockTest, SecondSchedulerIsRefusedNamingTheFirst) {
  test_support::TempDir tmp("coffer-schedlock");
  const fs::path dir = tmp.path / "repo";  // not there yet: made
  {
    auto first = ScheduleLock::acquire(dir);
    try {
      ScheduleLock::acquire(dir);  // flock: a second open file description conflicts, same process or not
      ADD_FAILURE() << "a second scheduler got the lock";
    } catch (const Error& e) {
      EXPECT_EQ(e.category(), ErrorCategory::kInput);
      const std::string what = e.what();
      EXPECT_NE(what.find("pid " + std::to_string(::getpid())), std::string::npos) << what;
      EXPECT_NE(what.find(dir.string()), std::string::npos) << what;
    }
  }
  // Released with its holder: the next one starts.
  EXPECT_NO_THROW(ScheduleLock::acquire(dir));
}

}  // namespace
}  // namespace coffer::schedule
