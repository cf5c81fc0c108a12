#include "schedule/schedule_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include "coffer/clock.h"
#include "coffer/error.h"
#include "util/host.h"

namespace coffer::schedule {

namespace {

std::string read_all(int fd) {
  std::string text;
  char buf[512];
  ssize_t n;
  for (off_t at = 0; (n = ::pread(fd, buf, sizeof buf, at)) > 0; at += n) text.append(buf, static_cast<size_t>(n));
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

}  // namespace

std::unique_ptr<ScheduleLock> ScheduleLock::acquire(const std::filesystem::path& backup_dir) {
  std::error_code ec;
  std::filesystem::create_directories(backup_dir, ec);
  const std::filesystem::path path = backup_dir / "schedule.lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) fail(ErrorCategory::kStorage, "cannot open " + path.string() + ": " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    std::string holder = err == EWOULDBLOCK ? read_all(fd) : "";
    ::close(fd);
    if (err != EWOULDBLOCK) fail(ErrorCategory::kStorage, "cannot lock " + path.string() + ": " + std::strerror(err));
    fail(ErrorCategory::kInput, "another `coffer schedule` already runs on the repository in " + backup_dir.string() +
                                    " (" + (holder.empty() ? "holder unknown" : holder) + "; lock " + path.string() +
                                    "): only one scheduler per repository, or every slot would run twice. Stop "
                                    "that one first, or use it");
  }
  const std::string me = "pid " + std::to_string(::getpid()) + " on " + this_host() + ", started " +
                         format_iso8601_utc(std::chrono::system_clock::now()) + "\n";
  // Best effort: the flock is the lock; the text only names its holder.
  const bool named = ::ftruncate(fd, 0) == 0 && ::pwrite(fd, me.data(), me.size(), 0) == static_cast<ssize_t>(me.size());
  (void)named;
  return std::unique_ptr<ScheduleLock>(new ScheduleLock(fd));
}

ScheduleLock::~ScheduleLock() { ::close(fd_); }

}  // namespace coffer::schedule
