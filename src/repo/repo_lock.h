// Repository locks (DESIGN.md invariant 5): create, restore, verify and pin take a shared lock,
// cleanup an exclusive one. A lock is an object `locks/<random id>` on the Storage (so it works
// the same on local disk and S3), plaintext JSON:
//   {"host", "pid", "command", "started", "refreshed", "exclusive"}
// Conflict: an exclusive lock against any other lock. The holder rewrites its object with a new
// `refreshed` time every refresh interval, from a background thread.
//
// Stale: the lock's host is this host and its pid is not running, or it was not refreshed
// within the stale timeout, or its object is unreadable.
//
// Abandoned (a kind of stale): the lock's host is this host, its pid is not running, and it has
// not been refreshed for two refresh intervals. acquire() removes abandoned locks, saying so in
// a warning, so one killed cleanup does not stop every scheduled backup until someone runs
// `coffer unlock`. The refresh age guards against two machines that share a host name (containers
// given one name): a live holder there refreshes its lock every interval, and a cleanup whose
// lock was removed all the same stops at its next check_held(). Every other stale lock is never
// removed silently: one that conflicts blocks (the error says to run `coffer unlock`), one that
// does not is reported as a warning; `coffer unlock` (remove_locks) removes them.
//
// Acquire writes its own lock first and then lists the others, so of two processes that race,
// at least one sees the other; on a conflict it removes its own lock and retries with jittered
// backoff until the wait runs out.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "coffer/clock.h"
#include "storage/storage.h"
#include "util/host.h"

namespace coffer {

struct LockRecord {
  std::string key;  // "locks/<id>"
  std::string host;
  int64_t pid = 0;
  std::string command;    // e.g. "coffer cleanup"
  std::string started;    // ISO 8601 UTC, real time (never COFFER_NOW)
  std::string refreshed;  // ISO 8601 UTC
  bool exclusive = false;
  bool unreadable = false;  // the object could not be parsed (treated as a stale exclusive lock)
};

struct LockTiming {
  std::chrono::milliseconds refresh_interval = std::chrono::seconds(60);
  std::chrono::milliseconds stale_after = std::chrono::minutes(10);
  std::chrono::milliseconds wait{0};  // LOCK_WAIT_SECONDS
};

// Who takes a lock; tests inject other hosts and pids.
struct LockOwner {
  std::string host;  // empty: this host
  int64_t pid = 0;   // 0: this process
};

// Why `lock` is stale, or nullopt when it is live.
std::optional<std::string> stale_reason(const LockRecord& lock, TimePoint now, std::chrono::milliseconds stale_after,
                                        const std::string& host = this_host());
// True when `lock` is abandoned (see above): acquire() removes it.
bool abandoned(const LockRecord& lock, TimePoint now, std::chrono::milliseconds refresh_interval,
               const std::string& host = this_host());
// "`coffer cleanup` (exclusive) on host web1, pid 4711, started 2024-12-01T02:00:00Z"
std::string describe_lock(const LockRecord& lock);

// Every lock object; ones that vanish while being read are left out.
std::vector<LockRecord> read_locks(Storage& storage);

class RepoLock {
 public:
  // Takes the lock or throws Error(kInput) naming the holder (host, pid, command, started) of a
  // conflicting lock, after waiting up to timing.wait for live holders (stale ones make it fail
  // at once, pointing to `coffer unlock`). Non-conflicting stale locks are passed to `warn`.
  // `storage` must outlive the lock.
  static std::unique_ptr<RepoLock> acquire(Storage& storage, bool exclusive, const std::string& command,
                                           const LockTiming& timing = {},
                                           const std::function<void(const std::string&)>& warn = {},
                                           const LockOwner& owner = {});
  // Stops the refresher and removes the lock object.
  ~RepoLock();
  RepoLock(const RepoLock&) = delete;
  RepoLock& operator=(const RepoLock&) = delete;

  // Throws Error(kInput) when this lock's object is gone (someone ran `coffer unlock`): callers
  // check before destructive steps (cleanup) and before committing (create).
  void check_held();
  const std::string& key() const { return record_.key; }

 private:
  RepoLock(Storage& storage, LockRecord record, std::chrono::milliseconds refresh_interval);
  void refresh_loop();

  Storage& storage_;
  LockRecord record_;
  std::chrono::milliseconds refresh_interval_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::atomic<bool> lost_{false};
  std::thread refresher_;
};

// `coffer unlock`: removes the stale locks (every lock with `all`) and returns what it removed.
std::vector<LockRecord> remove_locks(Storage& storage, bool all, std::chrono::milliseconds stale_after,
                                     const std::string& host = this_host());

}  // namespace coffer
