#include "util/fd_io.h"

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

}  // namespace coffer
