#include "source/files/read_ahead.h"

#include <fcntl.h>
#include <unistd.h>

#include <deque>

namespace coffer::files {

ReadAhead::ReadAhead(size_t count, ItemAt item_at, uint64_t window_bytes)
    : count_(count), item_at_(std::move(item_at)), window_bytes_(window_bytes) {
  thread_ = std::thread([this] { run(); });
}

ReadAhead::~ReadAhead() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  moved_.notify_all();
  thread_.join();
}

void ReadAhead::reader_at(size_t i) {
  {
    std::lock_guard lock(mu_);
    if (i <= reader_) return;
    reader_ = i;
  }
  moved_.notify_all();
}

size_t ReadAhead::hinted() const {
  std::lock_guard lock(mu_);
  return hinted_;
}

void ReadAhead::run() {
  std::deque<std::pair<size_t, uint64_t>> ahead;  // hinted positions at or past the reader, with sizes
  uint64_t ahead_bytes = 0;
  for (size_t i = 0; i < count_; ++i) {
    std::optional<std::pair<std::string, uint64_t>> item = item_at_(i);
    if (!item) continue;
    {
      std::unique_lock lock(mu_);
      while (true) {
        while (!ahead.empty() && ahead.front().first < reader_) {
          ahead_bytes -= ahead.front().second;
          ahead.pop_front();
        }
        // A file larger than the whole window is still hinted once the reader catches up.
        if (stop_ || i < reader_ || ahead.empty() || ahead_bytes + item->second <= window_bytes_) break;
        moved_.wait(lock);
      }
      if (stop_) return;
      if (i < reader_) continue;  // the reader is already there: too late to help
    }
    // O_NOFOLLOW: a path that became a symlink since the walk is the reader's to refuse.
    const int fd = ::open(item->first.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd >= 0) {
      (void)::posix_fadvise(fd, 0, 0, POSIX_FADV_WILLNEED);  // only a hint: errors change nothing
      ::close(fd);
    }
    std::lock_guard lock(mu_);
    ahead.emplace_back(i, item->second);
    ahead_bytes += item->second;
    ++hinted_;
  }
}

}  // namespace coffer::files
