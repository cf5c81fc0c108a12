// Locks on a real local storage: conflicts, waiting, refresh, stale detection and unlock.
#include "repo/repo_lock.h"

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "coffer/error.h"
#include "storage/local/local_storage.h"
#include "testing/fixtures.h"

namespace coffer {
namespace fs = std::filesystem;
using namespace std::chrono;
using namespace std::chrono_literals;

namespace {

// A pid that is certainly not running: a child that has exited and been reaped.
int64_t dead_pid() {
  pid_t pid = ::fork();
  if (pid == 0) ::_exit(0);
  ::waitpid(pid, nullptr, 0);
  return pid;
}

LockTiming fast(milliseconds wait = 0ms) {
  LockTiming t;
  t.refresh_interval = 40ms;
  t.stale_after = 10min;
  t.wait = wait;
  return t;
}

std::string error_of(const std::function<void()>& f, ErrorCategory want = ErrorCategory::kInput) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), want) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "expected an error";
  return {};
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

class RepoLockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test_support::make_temp_dir("coffer-lock");
    storage_ = std::make_unique<LocalStorage>(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Writes a lock object as another process would.
  void plant(const std::string& id, const std::string& host, int64_t pid, bool exclusive, TimePoint refreshed,
             const std::string& command = "coffer create") {
    nlohmann::json j{{"host", host},
                     {"pid", pid},
                     {"command", command},
                     {"started", "2024-12-01T02:00:00.000000Z"},
                     {"refreshed", format_iso8601_utc(refreshed)},
                     {"exclusive", exclusive}};
    storage_->put("locks/" + id, as_bytes(j.dump()));
  }
  size_t lock_count() { return storage_->list("locks/").size(); }

  fs::path dir_;
  std::unique_ptr<LocalStorage> storage_;
};

TEST_F(RepoLockTest, SharedLocksCoexistAndAreRemovedWhenReleased) {
  {
    auto a = RepoLock::acquire(*storage_, false, "coffer create", fast());
    auto b = RepoLock::acquire(*storage_, false, "coffer verify", fast());
    EXPECT_NE(a->key(), b->key());
    auto locks = read_locks(*storage_);
    ASSERT_EQ(locks.size(), 2u);
    for (const auto& l : locks) {
      EXPECT_EQ(l.host, this_host());
      EXPECT_EQ(l.pid, ::getpid());
      EXPECT_FALSE(l.exclusive);
      EXPECT_FALSE(l.unreadable);
    }
  }
  EXPECT_EQ(lock_count(), 0u);
}

TEST_F(RepoLockTest, ExclusiveConflictsWithEverythingAndNamesTheHolder) {
  {
    auto cleanup = RepoLock::acquire(*storage_, true, "coffer cleanup", fast(), {}, {"backup-host", 4242});
    std::string msg = error_of([&] { RepoLock::acquire(*storage_, false, "coffer create", fast()); });
    for (const char* part : {"backup-host", "pid 4242", "`coffer cleanup`", "exclusive", "started ",
                             "LOCK_WAIT_SECONDS", dir_.c_str()})
      EXPECT_TRUE(contains(msg, part)) << part << " missing from: " << msg;
    EXPECT_FALSE(contains(msg, "coffer unlock")) << "a live lock is not stale: " << msg;
    EXPECT_EQ(lock_count(), 1u) << "the refused lock must not stay behind";
  }
  auto create = RepoLock::acquire(*storage_, false, "coffer create", fast());
  std::string msg = error_of([&] { RepoLock::acquire(*storage_, true, "coffer cleanup", fast()); });
  EXPECT_TRUE(contains(msg, "`coffer create` (shared) on host " + this_host())) << msg;
  EXPECT_TRUE(contains(msg, "pid " + std::to_string(::getpid()))) << msg;
}

TEST_F(RepoLockTest, WaitsForAHolderThatFinishes) {
  auto holder = RepoLock::acquire(*storage_, true, "coffer cleanup", fast());
  std::thread release([&] {
    std::this_thread::sleep_for(300ms);
    holder.reset();
  });
  auto start = steady_clock::now();
  auto lock = RepoLock::acquire(*storage_, false, "coffer create", fast(10s));
  auto waited = steady_clock::now() - start;
  release.join();
  EXPECT_GE(waited, 250ms);
  EXPECT_LT(waited, 5s);
  EXPECT_EQ(lock_count(), 1u);
}

TEST_F(RepoLockTest, GivesUpWhenTheWaitRunsOut) {
  auto holder = RepoLock::acquire(*storage_, true, "coffer cleanup", fast());
  auto start = steady_clock::now();
  std::string msg = error_of([&] { RepoLock::acquire(*storage_, false, "coffer create", fast(400ms)); });
  auto waited = steady_clock::now() - start;
  EXPECT_GE(waited, 400ms);
  EXPECT_LT(waited, 3s);
  EXPECT_TRUE(contains(msg, "`coffer cleanup`")) << msg;
  EXPECT_EQ(lock_count(), 1u);
}

TEST_F(RepoLockTest, ConflictingLockOfADeadProcessIsStaleAndBlocksAtOnce) {
  int64_t pid = dead_pid();
  // Refreshed within the last two refresh intervals: stale, not yet abandoned.
  plant("dead", this_host(), pid, true, system_clock::now(), "coffer cleanup");
  LockTiming timing = fast(5s);
  timing.refresh_interval = 1min;
  auto start = steady_clock::now();
  std::string msg = error_of([&] { RepoLock::acquire(*storage_, false, "coffer create", timing); });
  EXPECT_LT(steady_clock::now() - start, 2s) << "waiting cannot make a stale lock go away";
  for (std::string part : {std::string("stale"), "pid " + std::to_string(pid), std::string("`coffer cleanup`"),
                           std::string("no longer running"), std::string("`coffer unlock`")})
    EXPECT_TRUE(contains(msg, part)) << part << " missing from: " << msg;
  EXPECT_EQ(lock_count(), 1u) << "the stale lock is reported, never removed silently";
}

TEST_F(RepoLockTest, NonConflictingStaleLockIsReportedNotRemoved) {
  int64_t pid = dead_pid();
  plant("dead", this_host(), pid, false, system_clock::now());
  LockTiming timing = fast();
  timing.refresh_interval = 1min;  // refreshed just now: not abandoned
  std::vector<std::string> warnings;
  {
    auto lock = RepoLock::acquire(*storage_, false, "coffer create", timing, [&](const std::string& w) {
      warnings.push_back(w);
    });
    ASSERT_EQ(warnings.size(), 1u);
    EXPECT_TRUE(contains(warnings[0], "locks/dead")) << warnings[0];
    EXPECT_TRUE(contains(warnings[0], "pid " + std::to_string(pid))) << warnings[0];
    EXPECT_TRUE(contains(warnings[0], "`coffer unlock`")) << warnings[0];
  }
  EXPECT_TRUE(storage_->head("locks/dead"));
}

TEST_F(RepoLockTest, AbandonedLockOfADeadProcessOnThisHostIsRemovedWithAWarning) {
  // A cleanup killed 5 minutes ago on this host: its exclusive lock no longer stops a backup.
  int64_t pid = dead_pid();
  plant("killed", this_host(), pid, true, system_clock::now() - 5min, "coffer cleanup");
  std::vector<std::string> warnings;
  {
    LockTiming timing = fast();
    timing.refresh_interval = 1min;
    auto lock = RepoLock::acquire(*storage_, false, "coffer create", timing,
                                  [&](const std::string& w) { warnings.push_back(w); });
    EXPECT_FALSE(storage_->head("locks/killed"));
  }
  ASSERT_EQ(warnings.size(), 1u);
  for (std::string part : {std::string("removed the abandoned lock locks/killed"), "pid " + std::to_string(pid),
                           std::string("`coffer cleanup`"), std::string("no longer running")})
    EXPECT_TRUE(contains(warnings[0], part)) << part << " missing from: " << warnings[0];
  EXPECT_EQ(lock_count(), 0u);
}

TEST_F(RepoLockTest, OnlyADeadProcessOnThisHostSilentForTwoRefreshesIsAbandoned) {
  const auto now = system_clock::now();
  const int64_t gone = dead_pid();
  LockRecord lock;
  lock.host = this_host();
  lock.pid = gone;
  lock.refreshed = format_iso8601_utc(now - 3min);
  EXPECT_TRUE(abandoned(lock, now, 1min));
  EXPECT_FALSE(abandoned(lock, now, 2min)) << "refreshed within two intervals";
  LockRecord other_host = lock;
  other_host.host = "elsewhere";  // its processes cannot be seen from here
  EXPECT_FALSE(abandoned(other_host, now, 1min));
  LockRecord alive = lock;
  alive.pid = ::getpid();
  EXPECT_FALSE(abandoned(alive, now, 1min));
  LockRecord unreadable = lock;
  unreadable.unreadable = true;
  EXPECT_FALSE(abandoned(unreadable, now, 1min));

  // Through acquire: an old lock of another host, or of a live process here, still blocks.
  plant("far", "elsewhere", gone, true, now - 5min, "coffer cleanup");
  plant("alive", this_host(), ::getpid(), true, now - 5min, "coffer cleanup");
  LockTiming timing = fast();
  timing.refresh_interval = 1min;
  std::string msg = error_of([&] { RepoLock::acquire(*storage_, false, "coffer create", timing); });
  EXPECT_TRUE(contains(msg, "`coffer cleanup`")) << msg;
  EXPECT_EQ(lock_count(), 2u);
}

TEST_F(RepoLockTest, StaleWhenNotRefreshedInTime) {
  auto now = system_clock::now();
  LockRecord fresh{"locks/a", "other-host", 1, "coffer create", "x", format_iso8601_utc(now - 9min), false};
  LockRecord old = fresh;
  old.refreshed = format_iso8601_utc(now - 11min);
  EXPECT_FALSE(stale_reason(fresh, now, 10min));  // another host: its pid is not checked here
  auto why = stale_reason(old, now, 10min);
  ASSERT_TRUE(why);
  EXPECT_TRUE(contains(*why, "11 minutes ago")) << *why;
  LockRecord mine = fresh;
  mine.host = this_host();
  mine.pid = ::getpid();
  EXPECT_FALSE(stale_reason(mine, now, 10min));
  mine.pid = dead_pid();
  EXPECT_TRUE(stale_reason(mine, now, 10min));
}

TEST_F(RepoLockTest, UnreadableLockObjectConflictsAsStale) {
  storage_->put("locks/garbage", as_bytes("{not json"));
  std::string msg = error_of([&] { RepoLock::acquire(*storage_, false, "coffer create", fast()); });
  EXPECT_TRUE(contains(msg, "locks/garbage")) << msg;
  EXPECT_TRUE(contains(msg, "`coffer unlock`")) << msg;
  storage_->put("locks/garbage",
                as_bytes(R"({"host":"h","pid":0,"command":"c","started":"s","refreshed":"r","exclusive":false})"));
  EXPECT_TRUE(read_locks(*storage_)[0].unreadable) << "pid 0 and bad times are not a valid lock";
}

TEST_F(RepoLockTest, HolderRefreshesItsLock) {
  auto lock = RepoLock::acquire(*storage_, true, "coffer cleanup", fast());
  LockRecord first = read_locks(*storage_).at(0);
  std::this_thread::sleep_for(200ms);
  LockRecord later = read_locks(*storage_).at(0);
  EXPECT_GT(later.refreshed, first.refreshed);
  EXPECT_EQ(later.started, first.started);
  EXPECT_EQ(later.key, first.key);
  lock->check_held();  // still there: no throw
}

TEST_F(RepoLockTest, LockRemovedByUnlockAllIsNoticedAndNotRecreated) {
  auto lock = RepoLock::acquire(*storage_, true, "coffer cleanup", fast());
  auto removed = remove_locks(*storage_, true, 10min);
  ASSERT_EQ(removed.size(), 1u);
  EXPECT_EQ(removed[0].command, "coffer cleanup");
  std::this_thread::sleep_for(150ms);
  EXPECT_EQ(lock_count(), 0u) << "the refresher must not bring a removed lock back";
  std::string msg = error_of([&] { lock->check_held(); });
  EXPECT_TRUE(contains(msg, "removed by someone else")) << msg;
}

TEST_F(RepoLockTest, UnlockRemovesOnlyStaleLocksUnlessAll) {
  plant("old", "other-host", 77, false, system_clock::now() - 1h);
  plant("live-elsewhere", "other-host", 78, false, system_clock::now());
  auto mine = RepoLock::acquire(*storage_, false, "coffer verify", fast(), [](const std::string&) {});
  plant("dead", this_host(), dead_pid(), true, system_clock::now());  // after: it would block the acquire
  auto removed = remove_locks(*storage_, false, 10min);
  std::vector<std::string> keys;
  for (const auto& r : removed) keys.push_back(r.key);
  EXPECT_EQ(keys, (std::vector<std::string>{"locks/dead", "locks/old"}));
  EXPECT_TRUE(storage_->head("locks/live-elsewhere"));
  EXPECT_TRUE(storage_->head(mine->key()));
  EXPECT_EQ(remove_locks(*storage_, true, 10min).size(), 2u);
  EXPECT_EQ(lock_count(), 0u);
}

TEST_F(RepoLockTest, RacingExclusiveLocksNeverOverlap) {
  std::atomic<int> inside{0}, most{0}, done{0};
  auto worker = [&] {
    for (int i = 0; i < 5; ++i) {
      auto lock = RepoLock::acquire(*storage_, true, "coffer cleanup", fast(20s));
      int n = ++inside;
      most = std::max(most.load(), n);
      std::this_thread::sleep_for(10ms);
      --inside;
      ++done;
    }
  };
  std::thread a(worker), b(worker), c(worker);
  a.join();
  b.join();
  c.join();
  EXPECT_EQ(done, 15);
  EXPECT_EQ(most, 1);
  EXPECT_EQ(lock_count(), 0u);
}

}  // namespace coffer
