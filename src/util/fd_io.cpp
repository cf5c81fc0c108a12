#include "util/fd_io.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "coffer/error.h"

namespace coffer {

int write_fully(int fd, ByteView data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    done += static_cast<size_t>(n);
  }
  return 0;
}

void write_all(int fd, ByteView data, const std::string& what) {
  if (int err = write_fully(fd, data)) fail(ErrorCategory::kStorage, "cannot write " + what + ": " + std::strerror(err));
}

int create_new_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) fail(ErrorCategory::kStorage, "cannot create " + path + ": " + std::strerror(errno));
  return fd;
}

void close_written(int fd, const std::string& path) {
  if (::close(fd) != 0) fail(ErrorCategory::kStorage, "cannot write " + path + ": " + std::strerror(errno));
}

void write_new_file(const std::string& path, ByteView data) {
  int fd = create_new_file(path);
  try {
    write_all(fd, data, path);
  } catch (...) {
    ::close(fd);
    throw;
  }
  close_written(fd, path);
}

}  // namespace coffer
