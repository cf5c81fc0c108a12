// Calls a function every 200 ms on a thread of its own, for progress while the caller's thread
// waits on something that reports nothing itself (pg_restore running).
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace coffer {

class ProgressTicker {
 public:
  // An empty `tick` starts no thread.
  explicit ProgressTicker(std::function<void()> tick);
  ~ProgressTicker();  // stop()
  ProgressTicker(const ProgressTicker&) = delete;
  ProgressTicker& operator=(const ProgressTicker&) = delete;
  // Ends the ticks; no tick runs after this returns. Safe to call twice.
  void stop();

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopped_ = false;
  std::thread thread_;
};

}  // namespace coffer
