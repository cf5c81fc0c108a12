#include "util/locked_file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "coffer/error.h"

namespace coffer {

void with_file_lock(const std::filesystem::path& lock_path, const std::function<void()>& fn) {
  int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) fail(ErrorCategory::kStorage, "cannot open " + lock_path.string() + ": " + std::strerror(errno));
  struct Unlock {
    int fd;
    ~Unlock() { ::close(fd); }  // closing releases the flock
  } unlock{fd};
  if (::flock(fd, LOCK_EX) != 0)
    fail(ErrorCategory::kStorage, "cannot lock " + lock_path.string() + ": " + std::strerror(errno));
  fn();
}

void replace_file(const std::filesystem::path& path, const std::string& text, bool sync) {
  const std::filesystem::path tmp = path.string() + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) fail(ErrorCategory::kStorage, "cannot write " + tmp.string() + ": " + std::strerror(errno));
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && (!sync || ::fsync(fd) == 0);
  int err = errno;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    if (ok) err = errno;
    ::unlink(tmp.c_str());
    fail(ErrorCategory::kStorage, "cannot write " + path.string() + ": " + std::strerror(err));
  }
}

}  // namespace coffer
