#include "export/atomic_output.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "coffer/error.h"

namespace coffer::exporting {

std::string AtomicOutput::temp_name(const std::string& path) {
  return path + ".coffer-tmp-" + std::to_string(::getpid());
}

AtomicOutput::AtomicOutput(std::string path) : path_(std::move(path)) {
  if (is_stdout()) {
    fd_ = STDOUT_FILENO;
    return;
  }
  struct stat st{};
  if (::lstat(path_.c_str(), &st) == 0)
    fail(ErrorCategory::kInput, path_ + " exists: an export never replaces a file; remove it or name another");
  temp_ = temp_name(path_);
  fd_ = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd_ < 0) fail(ErrorCategory::kStorage, "cannot create " + temp_ + ": " + std::strerror(errno));
}

AtomicOutput::~AtomicOutput() {
  if (is_stdout() || committed_) return;
  if (fd_ >= 0) ::close(fd_);
  ::unlink(temp_.c_str());
}

uint64_t AtomicOutput::commit() {
  if (is_stdout()) {
    committed_ = true;
    return 0;
  }
  struct stat st{};
  const bool ok = ::fsync(fd_) == 0 && ::fstat(fd_, &st) == 0;
  const int err = errno;
  ::close(fd_);
  fd_ = -1;
  if (!ok) fail(ErrorCategory::kStorage, "cannot write " + temp_ + ": " + std::strerror(err));
  if (::rename(temp_.c_str(), path_.c_str()) != 0)
    fail(ErrorCategory::kStorage, "cannot rename " + temp_ + " to " + path_ + ": " + std::strerror(errno));
  committed_ = true;
  return static_cast<uint64_t>(st.st_size);
}

}  // namespace coffer::exporting
