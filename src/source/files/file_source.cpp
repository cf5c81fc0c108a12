#include "source/files/file_source.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "coffer/error.h"

namespace coffer::files {
namespace {

int64_t mtime_ns(const struct stat& st) { return int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec; }

}  // namespace

FileSource::Opened FileSource::open(const std::string& path) {
  Opened out;
  int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    out.problem = errno == ENOENT ? OpenProblem::kVanished : OpenProblem::kUnreadable;
    out.error = std::strerror(errno);
    return out;
  }
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    out.problem = OpenProblem::kNotRegular;
    return out;
  }
  out.source.reset(new FileSource(fd, st));
  return out;
}

FileSource::~FileSource() { ::close(fd_); }

size_t FileSource::read(uint8_t* buf, size_t n) {
  while (true) {
    ssize_t r = ::read(fd_, buf, n);
    if (r >= 0) return static_cast<size_t>(r);
    if (errno != EINTR) fail(ErrorCategory::kStorage, std::string("read failed: ") + std::strerror(errno));
  }
}

FileSource::AfterRead FileSource::check(uint64_t bytes_read, uint64_t listed_size, int64_t listed_mtime_ns) const {
  struct stat now;
  ::fstat(fd_, &now);
  AfterRead a;
  a.mtime_ns = mtime_ns(now);
  a.changed = bytes_read != listed_size || a.mtime_ns != listed_mtime_ns || now.st_size != at_open_.st_size;
  return a;
}

}  // namespace coffer::files
