#include "util/progress_ticker.h"

#include <chrono>
#include <utility>

namespace coffer {

ProgressTicker::ProgressTicker(std::function<void()> tick) {
  if (!tick) return;
  thread_ = std::thread([this, tick = std::move(tick)] {
    std::unique_lock lock(mu_);
    while (!cv_.wait_for(lock, std::chrono::milliseconds(200), [&] { return stopped_; })) tick();
  });
}

ProgressTicker::~ProgressTicker() { stop(); }

void ProgressTicker::stop() {
  {
    std::lock_guard lock(mu_);
    stopped_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace coffer
