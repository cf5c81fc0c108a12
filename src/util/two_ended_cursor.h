// Hands out positions 0..count-1, each once, to takers working from the front and takers working
// from the back, until they meet. A backup's file readers use it so that, while one reads from
// the start of the walk order and the other from its end, they are usually in different folders
// with different costs (photos that wait on the disk, logs that keep zstd busy) and the disk and
// the cores are busy at the same time, instead of one after the other.
#pragma once

#include <cstddef>
#include <mutex>
#include <optional>

namespace coffer {

class TwoEndedCursor {
 public:
  explicit TwoEndedCursor(size_t count) : back_(count) {}

  // The next position from the front (ascending) or from the back (descending); nullopt once
  // every position was taken or after stop().
  std::optional<size_t> take(bool from_back) {
    std::lock_guard lock(mu_);
    if (front_ >= back_) return std::nullopt;
    return from_back ? --back_ : front_++;
  }
  void stop() {
    std::lock_guard lock(mu_);
    back_ = front_;
  }

 private:
  std::mutex mu_;
  size_t front_ = 0;  // next position from the front
  size_t back_;       // one past the next position from the back
};

}  // namespace coffer
