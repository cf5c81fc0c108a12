#include "util/held_temp.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stdio.h>  // renameat2

#include <cerrno>
#include <cstring>
#include <cstdlib>
#include <filesystem>
#include <utility>

#include "coffer/error.h"
#include "util/fd_io.h"

namespace coffer {
namespace fs = std::filesystem;
namespace {

// Opens `path` (a file or folder, not a link) and takes its lock, waiting for it or not: -1 when
// it cannot be opened or (not waiting) someone holds it.
int lock_now(const std::string& path, bool wait) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) return -1;
  if (::flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Bytes in `p`: its size for a file (`st` is its lstat), the files' below it for a folder.
uint64_t size_of(const fs::path& p, const struct stat& st) {
  if (!S_ISDIR(st.st_mode)) return static_cast<uint64_t>(st.st_size);
  std::error_code ec;
  uint64_t total = 0;
  for (fs::recursive_directory_iterator it(p, ec), end; !ec && it != end; it.increment(ec))
    if (it->is_regular_file(ec)) total += it->file_size(ec);
  return total;
}

// remove_all, and when that fails (a restored folder without write permission, for a user who is
// not root), again after giving every folder under `p` back its owner's rwx.
void remove_tree(const fs::path& p, std::error_code& ec) {
  fs::remove_all(p, ec);
  if (!ec) return;
  std::error_code walk;
  fs::permissions(p, fs::perms::owner_all, fs::perm_options::add, walk);
  for (fs::recursive_directory_iterator it(p, fs::directory_options::skip_permission_denied, walk), end;
       !walk && it != end; it.increment(walk)) {
    std::error_code e;
    if (it->is_directory(e) && !it->is_symlink(e))
      fs::permissions(it->path(), fs::perms::owner_all, fs::perm_options::add, e);
  }
  ec.clear();
  fs::remove_all(p, ec);
}

}  // namespace

std::optional<HeldTemp> make_held_temp(bool folder, std::string* error) {
  const fs::path dir = fs::temp_directory_path();
  std::string made = (dir / "coffer-new-XXXXXX").string();
  HeldTemp t;
  if (folder ? ::mkdtemp(made.data()) == nullptr : (t.file_fd = ::mkostemp(made.data(), O_CLOEXEC)) < 0) {
    *error = "cannot create a temporary " + std::string(folder ? "folder" : "file") + " in " + dir.string() + ": " +
             std::strerror(errno);
    return std::nullopt;
  }
  t.lock_fd = lock_now(made, true);
  // The final name must be new: rename() would replace a file of the same name.
  for (int attempt = 0; t.lock_fd >= 0 && attempt < 100 && t.path.empty(); ++attempt) {
    std::string suffix = made.substr(made.size() - 6);
    if (attempt > 0)
      for (char& c : suffix) c = "abcdefghijklmnopqrstuvwxyz0123456789"[random() % 36];
    const std::string name = (dir / (kHeldTempPrefix + suffix)).string();
    if (::renameat2(AT_FDCWD, made.c_str(), AT_FDCWD, name.c_str(), RENAME_NOREPLACE) == 0)
      t.path = name;
    else if (errno != EEXIST)
      break;
  }
  if (t.path.empty()) {
    *error = "cannot set up temporary " + made + ": " + std::strerror(errno);
    if (t.lock_fd >= 0) ::close(t.lock_fd);
    if (t.file_fd >= 0) ::close(t.file_fd);
    folder ? ::rmdir(made.c_str()) : ::unlink(made.c_str());
    return std::nullopt;
  }
  return t;
}

std::vector<std::string> abandoned_temps() {
  std::vector<std::string> out;
  std::error_code ec;
  const fs::path dir = fs::temp_directory_path(ec);
  if (ec) return out;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().filename().string().rfind(kHeldTempPrefix, 0) != 0) continue;
    struct stat st;
    if (::lstat(it->path().c_str(), &st) != 0 || st.st_uid != ::geteuid()) continue;
    const int fd = lock_now(it->path().string(), false);
    if (fd < 0) continue;  // held
    ::close(fd);
    out.push_back(it->path().string());
  }
  return out;
}

SweepResult remove_abandoned_temps() {
  SweepResult result;
  std::error_code ec;
  const fs::path dir = fs::temp_directory_path(ec);
  if (ec) return result;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.rfind(kHeldTempPrefix, 0) != 0) continue;
    struct stat st;
    if (::lstat(it->path().c_str(), &st) != 0 || st.st_uid != ::geteuid()) continue;
    if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) continue;
    const int fd = lock_now(it->path().string(), false);
    if (fd < 0) continue;  // held: a restore in progress (or not ours to open)
    const uint64_t bytes = size_of(it->path(), st);
    std::error_code rm;
    remove_tree(it->path(), rm);
    ::close(fd);
    if (!rm) {
      ++result.removed;
      result.bytes += bytes;
    }
  }
  return result;
}

HeldTempFile::HeldTempFile(std::string what) : what_(std::move(what)) {
  std::string error;
  std::optional<HeldTemp> held = make_held_temp(false, &error);
  if (!held) fail(ErrorCategory::kStorage, error + " (set TMPDIR to a writable folder)");
  fd_ = held->file_fd;
  lock_fd_ = held->lock_fd;
  path_ = held->path;
}

HeldTempFile::~HeldTempFile() {
  if (fd_ >= 0) ::close(fd_);
  ::unlink(path_.c_str());
  ::close(lock_fd_);
}

void HeldTempFile::write(ByteView data) { write_all(fd_, data, what_ + " " + path_ + " (free space, or set TMPDIR)"); }

void HeldTempFile::close() {
  if (::close(fd_) != 0) fail(ErrorCategory::kStorage, "cannot write " + what_ + " " + path_);
  fd_ = -1;
}

HeldTempDir::HeldTempDir() {
  std::string error;
  std::optional<HeldTemp> held = make_held_temp(true, &error);
  if (!held) fail(ErrorCategory::kStorage, error + " (set TMPDIR to a writable folder)");
  lock_fd_ = held->lock_fd;
  path_ = held->path;
}

HeldTempDir::~HeldTempDir() {
  std::error_code ec;
  remove_tree(path_, ec);
  ::close(lock_fd_);
}

}  // namespace coffer
