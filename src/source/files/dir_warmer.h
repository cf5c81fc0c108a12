// Reads directories on a few threads ahead of a depth-first walk, so that on a cold cache the
// walk's own readdir finds their blocks cached: otherwise each
// directory block is one synchronous disk read after another (perf: 928 blocking reads for the
// 889 folders of the reference tree, the largest wait of a cold incremental backup).
// Only a cache warmer: results are dropped, errors ignored; the walk reads everything itself.
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace coffer::files {

class DirWarmer {
 public:
  explicit DirWarmer(unsigned threads);
  ~DirWarmer();  // drops what is still queued and joins the threads
  DirWarmer(const DirWarmer&) = delete;
  DirWarmer& operator=(const DirWarmer&) = delete;

  // Queues folders to read, in the order the walk will reach them.
  void add(std::vector<std::string> dirs);
  size_t warmed() const;  // folders read so far (tests)

 private:
  void run();

  mutable std::mutex mu_;
  std::condition_variable work_;
  std::deque<std::string> queue_;
  bool stop_ = false;
  size_t warmed_ = 0;
  std::vector<std::thread> threads_;
};

}  // namespace coffer::files
