// Asks the kernel to start reading the files a backup will read next, a bounded number of bytes
// ahead of the reader, so that on a cold cache a file's first read finds its pages arriving
// instead of waiting a disk round trip per file (the readers take one file at a time).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace coffer::files {

class ReadAhead {
 public:
  // The file to read at position i of the reader's order (path and size), or nullopt when
  // position i is not read. Called from the read-ahead thread only.
  using ItemAt = std::function<std::optional<std::pair<std::string, uint64_t>>(size_t)>;

  // Starts a thread hinting positions 0..count-1 in order, never more than `window_bytes` of
  // file content past the reader's position (reader_at).
  ReadAhead(size_t count, ItemAt item_at, uint64_t window_bytes);
  ~ReadAhead();  // stops the thread
  ReadAhead(const ReadAhead&) = delete;
  ReadAhead& operator=(const ReadAhead&) = delete;

  // The reader has moved on to position i: files before it no longer count against the window.
  void reader_at(size_t i);
  // Files hinted so far (for tests).
  size_t hinted() const;

 private:
  void run();

  const size_t count_;
  const ItemAt item_at_;
  const uint64_t window_bytes_;
  mutable std::mutex mu_;
  std::condition_variable moved_;
  size_t reader_ = 0;
  bool stop_ = false;
  size_t hinted_ = 0;
  std::thread thread_;
};

}  // namespace coffer::files
