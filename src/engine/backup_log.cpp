#include "engine/backup_log.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>

#include "coffer/backup_types.h"
#include "coffer/error.h"
#include "engine/backup_id.h"
#include "util/redact.h"

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

namespace {

// Every text in a record, with credentials written into a URL (S3_ENDPOINT) taken out.
nlohmann::json redacted(const nlohmann::json& j) {
  if (j.is_string()) return redact_url_credentials(j.get<std::string>());
  if (!j.is_structured()) return j;
  nlohmann::json out = j;
  for (auto& item : out.items()) item.value() = redacted(item.value());
  return out;
}

}  // namespace

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
  log.push_back(redacted(record));
  // Error texts can quote bytes that are not UTF-8 (a damaged file, an odd file name): replaced.
  std::string text = log.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
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

void log_failed_attempt(const fs::path& backup_dir, const std::string& backup_type,
                        std::chrono::system_clock::time_point started, double duration_seconds,
                        const nlohmann::json& metadata, const std::string& error, const std::string& category) {
  try {
    std::error_code ec;
    if (!fs::is_directory(backup_dir, ec)) return;
    auto type = backup_type_from_name(backup_type).value_or(BackupType::kFull);
    BackupLog(backup_dir)
        .append({{"backup_id", make_backup_id(type, started, [](const std::string&) { return false; })},
                 {"backup_type", backup_type},
                 {"timestamp", iso8601_utc(started)},
                 {"status", "failed"},
                 {"size_bytes", 0},
                 {"file_path", nullptr},
                 {"metadata", metadata},
                 {"duration_seconds", duration_seconds},
                 {"bytes_added", 0},
                 {"file_count", 0},
                 {"warnings", nlohmann::json::array()},
                 {"error", error},
                 {"error_category", category}});
  } catch (const std::exception&) {
    // ignored on purpose: the attempt's own error is the one to report
  }
}

}  // namespace coffer
