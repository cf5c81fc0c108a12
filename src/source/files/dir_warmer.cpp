#include "source/files/dir_warmer.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

namespace coffer::files {

DirWarmer::DirWarmer(unsigned threads) {
  for (unsigned i = 0; i < threads; ++i) threads_.emplace_back([this] { run(); });
}

DirWarmer::~DirWarmer() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    queue_.clear();
  }
  work_.notify_all();
  for (auto& t : threads_) t.join();
}

void DirWarmer::add(std::vector<std::string> dirs) {
  if (dirs.empty()) return;
  {
    std::lock_guard lock(mu_);
    for (std::string& d : dirs) queue_.push_back(std::move(d));
  }
  work_.notify_all();
}

size_t DirWarmer::warmed() const {
  std::lock_guard lock(mu_);
  return warmed_;
}

void DirWarmer::run() {
  while (true) {
    std::string dir;
    {
      std::unique_lock lock(mu_);
      work_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (stop_) return;
      dir = std::move(queue_.front());
      queue_.pop_front();
    }
    // O_NOFOLLOW: the walk never follows symlinks; a folder replaced by one is not read here.
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0) {
      if (DIR* d = ::fdopendir(fd)) {
        while (::readdir(d) != nullptr) {
        }
        ::closedir(d);  // closes fd
      } else {
        ::close(fd);
      }
    }
    std::lock_guard lock(mu_);
    ++warmed_;
  }
}

}  // namespace coffer::files
