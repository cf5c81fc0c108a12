#include "repo/repo_lock.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <random>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "codec/crypto.h"
#include "coffer/error.h"

namespace coffer {
namespace {

using namespace std::chrono;

std::string lock_json(const LockRecord& r) {
  return nlohmann::json{{"host", r.host},       {"pid", r.pid},
                        {"command", r.command}, {"started", r.started},
                        {"refreshed", r.refreshed}, {"exclusive", r.exclusive}}
      .dump();
}

LockRecord parse_lock(const std::string& key, const std::string& text) {
  LockRecord r;
  r.key = key;
  try {
    auto j = nlohmann::json::parse(text);
    r.host = j.at("host").get<std::string>();
    r.pid = j.at("pid").get<int64_t>();
    r.command = j.at("command").get<std::string>();
    r.started = j.at("started").get<std::string>();
    r.refreshed = j.at("refreshed").get<std::string>();
    r.exclusive = j.at("exclusive").get<bool>();
    if (r.host.empty() || r.pid <= 0 || !parse_iso8601_utc(r.started) || !parse_iso8601_utc(r.refreshed))
      r.unreadable = true;
  } catch (const nlohmann::json::exception&) {
    r.unreadable = true;
  }
  if (r.unreadable) r.exclusive = true;  // unknown intent: assume the worst
  return r;
}

bool conflicts(bool exclusive, const LockRecord& other) { return exclusive || other.exclusive; }

}  // namespace

std::optional<std::string> stale_reason(const LockRecord& lock, TimePoint now, milliseconds stale_after,
                                        const std::string& host) {
  if (lock.unreadable) return "its lock object is unreadable";
  if (lock.host == host && process_gone(lock.pid))
    return "process " + std::to_string(lock.pid) + " is no longer running on this host";
  auto refreshed = parse_iso8601_utc(lock.refreshed);
  if (refreshed && now - *refreshed > stale_after)
    return "it was last refreshed " + std::to_string(duration_cast<minutes>(now - *refreshed).count()) +
           " minutes ago (" + lock.refreshed.substr(0, 19) + "Z)";
  return std::nullopt;
}

bool abandoned(const LockRecord& lock, TimePoint now, milliseconds refresh_interval, const std::string& host) {
  if (lock.unreadable || lock.host != host || !process_gone(lock.pid)) return false;
  auto refreshed = parse_iso8601_utc(lock.refreshed);
  return refreshed && now - *refreshed > 2 * refresh_interval;
}

std::string describe_lock(const LockRecord& lock) {
  if (lock.unreadable) return "an unreadable lock object " + lock.key;
  return "`" + lock.command + "` (" + (lock.exclusive ? "exclusive" : "shared") + ") on host " + lock.host +
         ", pid " + std::to_string(lock.pid) + ", started " + lock.started.substr(0, 19) + "Z";
}

std::vector<LockRecord> read_locks(Storage& storage) {
  std::vector<LockRecord> out;
  for (const ObjectInfo& o : storage.list("locks/")) {
    try {
      out.push_back(parse_lock(o.key, to_string(storage.get(o.key))));
    } catch (const Error& e) {
      if (e.category() != ErrorCategory::kNotFound) throw;  // released while we looked: not a lock any more
    }
  }
  std::sort(out.begin(), out.end(), [](const LockRecord& a, const LockRecord& b) { return a.key < b.key; });
  return out;
}

std::unique_ptr<RepoLock> RepoLock::acquire(Storage& storage, bool exclusive, const std::string& command,
                                            const LockTiming& timing,
                                            const std::function<void(const std::string&)>& warn,
                                            const LockOwner& owner) {
  LockRecord mine;
  mine.key = "locks/" + to_hex(random_bytes(16));
  mine.host = owner.host.empty() ? this_host() : owner.host;
  mine.pid = owner.pid ? owner.pid : ::getpid();
  mine.command = command;
  mine.exclusive = exclusive;
  mine.started = format_iso8601_utc(system_clock::now());

  const auto deadline = steady_clock::now() + timing.wait;
  std::mt19937 jitter(std::random_device{}());
  milliseconds backoff(50);
  std::vector<std::string> warned;
  while (true) {
    mine.refreshed = format_iso8601_utc(system_clock::now());
    try {
      storage.put(mine.key, as_bytes(lock_json(mine)));
    } catch (...) {
      // The write may have landed before it failed (a lost answer, a failed sync): take it back,
      // or it would block cleanups as a "stale" lock until `coffer unlock`.
      try {
        storage.remove(mine.key);
      } catch (...) {
      }
      throw;
    }
    std::vector<LockRecord> live, stale;
    std::vector<std::string> stale_why;
    auto now = system_clock::now();
    for (LockRecord& other : read_locks(storage)) {
      if (other.key == mine.key) continue;
      if (abandoned(other, now, timing.refresh_interval)) {
        storage.remove(other.key);  // no error when another process removed it first
        if (warn)
          warn("removed the abandoned lock " + other.key + ": " + describe_lock(other) + "; process " +
               std::to_string(other.pid) + " is no longer running on this host and last refreshed the lock at " +
               other.refreshed.substr(0, 19) + "Z");
        continue;
      }
      auto why = stale_reason(other, now, timing.stale_after);
      if (why && !conflicts(exclusive, other)) {
        if (warn && std::find(warned.begin(), warned.end(), other.key) == warned.end()) {
          warn("stale lock " + other.key + ": " + describe_lock(other) + "; " + *why +
               ". If no coffer is running there, remove it with `coffer unlock`");
          warned.push_back(other.key);
        }
        continue;
      }
      if (!conflicts(exclusive, other)) continue;
      if (why) {
        stale.push_back(std::move(other));
        stale_why.push_back(*why);
      } else {
        live.push_back(std::move(other));
      }
    }
    if (live.empty() && stale.empty())
      return std::unique_ptr<RepoLock>(new RepoLock(storage, std::move(mine), timing.refresh_interval));
    storage.remove(mine.key);

    std::string where = storage.describe();
    size_t others = live.size() + stale.size() - 1;
    std::string more = others ? " (and " + std::to_string(others) + " more conflicting locks)" : "";
    if (live.empty())  // waiting cannot help: stale locks stay until someone removes them
      fail(ErrorCategory::kInput, "the repository in " + where + " is locked by a stale lock: " +
                                      describe_lock(stale[0]) + "; " + stale_why[0] + more +
                                      ". If no coffer is running there, remove it with `coffer unlock`");
    auto left = deadline - steady_clock::now();
    if (left <= steady_clock::duration::zero())
      fail(ErrorCategory::kInput,
           "the repository in " + where + " is locked by " + describe_lock(live[0]) + more + "; gave up after " +
               std::to_string(duration_cast<seconds>(timing.wait).count()) +
               " s (LOCK_WAIT_SECONDS). Try again when it has finished, or set LOCK_WAIT_SECONDS to wait longer");
    milliseconds pause(std::uniform_int_distribution<int64_t>(backoff.count() / 2, backoff.count())(jitter));
    std::this_thread::sleep_for(std::min<steady_clock::duration>(pause, left));
    backoff = std::min(backoff * 2, milliseconds(2000));
  }
}

RepoLock::RepoLock(Storage& storage, LockRecord record, milliseconds refresh_interval)
    : storage_(storage), record_(std::move(record)), refresh_interval_(refresh_interval) {
  refresher_ = std::thread([this] { refresh_loop(); });
}

RepoLock::~RepoLock() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  refresher_.join();
  try {
    storage_.remove(record_.key);
  } catch (const std::exception& e) {
    spdlog::warn("could not remove lock {}: {} (remove it with `coffer unlock` once nothing runs)", record_.key,
                 e.what());
  }
}

void RepoLock::refresh_loop() {
  std::unique_lock lock(mu_);
  while (!lost_) {
    if (cv_.wait_for(lock, refresh_interval_, [&] { return stopping_; })) return;
    lock.unlock();
    try {
      // Never recreate a lock someone removed: that would hide their `coffer unlock`.
      if (!storage_.head(record_.key)) {
        lost_ = true;
        spdlog::warn("lock {} was removed by someone else while this operation ran", record_.key);
      } else {
        record_.refreshed = format_iso8601_utc(system_clock::now());
        storage_.put(record_.key, as_bytes(lock_json(record_)));
      }
    } catch (const std::exception& e) {
      spdlog::warn("could not refresh lock {}: {}", record_.key, e.what());  // retried next interval
    }
    lock.lock();
  }
}

void RepoLock::check_held() {
  if (lost_ || !storage_.head(record_.key)) {
    lost_ = true;
    fail(ErrorCategory::kInput, "lock " + record_.key + " of this `" + record_.command +
                                    "` was removed by someone else while it ran (`coffer unlock`?): stopped "
                                    "here to keep the repository safe; run it again");
  }
}

std::vector<LockRecord> remove_locks(Storage& storage, bool all, milliseconds stale_after, const std::string& host) {
  std::vector<LockRecord> removed;
  auto now = system_clock::now();
  for (LockRecord& lock : read_locks(storage)) {
    if (!all && !stale_reason(lock, now, stale_after, host)) continue;
    storage.remove(lock.key);
    removed.push_back(std::move(lock));
  }
  return removed;
}

}  // namespace coffer
