#include "engine/backup_log.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>

#include "coffer/error.h"

namespace coffer {
namespace fs = std::filesystem;

BackupLog::BackupLog(fs::path backup_dir) : path_(std::move(backup_dir) / "backup_log.json") {}

nlohmann::json BackupLog::read() const {
  std::ifstream in(path_);
  if (!in) return nlohmann::json::array();
  std::stringstream ss;
  ss << in.rdbuf();
  try {
    nlohmann::json j = nlohmann::json::parse(ss.str());
    if (!j.is_array()) throw std::runtime_error("not a JSON array");
    return j;
  } catch (const std::exception& e) {
    fail(ErrorCategory::kDamaged, "backup log " + path_.string() + " is damaged: " + e.what() +
                                      " (move it aside; a new one will be started)");
  }
}

void BackupLog::append(const nlohmann::json& record) {
  fs::path lock_path = path_.string() + ".lock";
  int lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd < 0)
    fail(ErrorCategory::kStorage, "cannot open " + lock_path.string() + ": " + std::strerror(errno));
  struct Unlock {
    int fd;
    ~Unlock() { ::close(fd); }  // closing releases the flock
  } unlock{lock_fd};
  if (::flock(lock_fd, LOCK_EX) != 0)
    fail(ErrorCategory::kStorage, "cannot lock " + lock_path.string() + ": " + std::strerror(errno));

  nlohmann::json log = read();
  log.push_back(record);
  std::string text = log.dump(2) + "\n";
  fs::path tmp = path_.string() + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) fail(ErrorCategory::kStorage, "cannot write " + tmp.string() + ": " + std::strerror(errno));
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  int err = errno;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path_.c_str()) != 0) {
    ::unlink(tmp.c_str());
    fail(ErrorCategory::kStorage, "cannot write " + path_.string() + ": " + std::strerror(ok ? errno : err));
  }
}

}  // namespace coffer
