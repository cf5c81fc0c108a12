#include "engine/backup_log.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>

#include "coffer/backup_types.h"
#include "coffer/error.h"
#include "engine/backup_id.h"
#include "util/clock.h"
#include "repo/manifest.h"
#include "util/host.h"
#include "util/redact.h"

namespace coffer {
namespace fs = std::filesystem;

BackupLog::BackupLog(fs::path backup_dir, Warn warn)
    : path_(std::move(backup_dir) / "backup_log.json"), warn_(std::move(warn)) {}

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
                                      " (the next backup sets it aside and starts a new one)");
  }
}

std::set<std::string> BackupLog::ids() const {
  std::set<std::string> out;
  nlohmann::json log;
  try {
    log = read();
  } catch (const Error&) {
    return out;
  }
  for (const auto& rec : log)
    if (rec.is_object() && rec.contains("backup_id") && rec["backup_id"].is_string())
      out.insert(rec["backup_id"].get<std::string>());
  return out;
}

// Called under the log's lock. A damaged log would block every backup; its bytes are kept
// under a new name for whoever wants to look at them.
nlohmann::json BackupLog::read_or_set_aside() {
  try {
    return read();
  } catch (const Error& e) {
    if (e.category() != ErrorCategory::kDamaged) throw;
    std::string stamp = format_iso8601_utc(std::chrono::system_clock::now());
    stamp.erase(std::remove(stamp.begin(), stamp.end(), ':'), stamp.end());
    fs::path aside = path_.string() + ".damaged-" + stamp;
    if (::rename(path_.c_str(), aside.c_str()) != 0)
      fail(ErrorCategory::kStorage, std::string(e.what()) + "; cannot move it aside to " + aside.string() + ": " +
                                        std::strerror(errno));
    if (warn_)
      warn_("backup log " + path_.string() + " was damaged (not a JSON array of records); it was moved to " +
            aside.string() + " and a new log was started");
    return nlohmann::json::array();
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
  update([&](nlohmann::json& log) { log.push_back(redacted(record)); });
}

std::string BackupLog::append_with_new_id(nlohmann::json record, const std::string& backup_type,
                                          std::chrono::system_clock::time_point started,
                                          const std::function<bool(const std::string&)>& taken) {
  std::string id;
  update([&](nlohmann::json& log) {
    std::set<std::string> logged;
    for (const auto& rec : log)
      if (rec.is_object() && rec.contains("backup_id") && rec["backup_id"].is_string())
        logged.insert(rec["backup_id"].get<std::string>());
    auto type = backup_type_from_name(backup_type).value_or(BackupType::kFull);
    id = make_backup_id(type, started, [&](const std::string& candidate) {
      return logged.count(candidate) > 0 || (taken && taken(candidate));
    });
    record["backup_id"] = id;
    log.push_back(redacted(record));
  });
  return id;
}

void BackupLog::update(const std::function<void(nlohmann::json& log)>& change) {
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

  nlohmann::json log = read_or_set_aside();
  change(log);
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
                        nlohmann::json metadata, const std::string& db_name, const std::string& error,
                        const std::string& category, const std::function<bool(const std::string&)>& taken,
                        const BackupLog::Warn& warn) {
  try {
    std::error_code ec;
    if (!fs::is_directory(backup_dir, ec)) return;
    if (!metadata.is_object()) metadata = nlohmann::json::object();
    // The guide's fields, for failed attempts too: which database it was for (shaped as in a
    // successful record, which has more to say about it), and where.
    if (!metadata.contains("database"))
      metadata["database"] = db_name.empty() ? nlohmann::json(nullptr) : nlohmann::json{{"name", db_name}};
    if (!metadata.contains("host")) metadata["host"] = this_host();
    if (!metadata.contains("hostname")) metadata["hostname"] = metadata["host"];
    for (const char* field : {"compressed", "encrypted"})
      if (!metadata.contains(field)) metadata[field] = nullptr;
    BackupLog(backup_dir, warn)
        .append_with_new_id({{"backup_id", nullptr},
                             {"backup_type", backup_type},
                             {"timestamp", format_iso8601_utc(started)},
                             {"status", "failed"},
                             {"size_bytes", 0},
                             {"file_path", nullptr},
                             {"metadata", metadata},
                             {"duration_seconds", duration_seconds},
                             {"bytes_added", 0},
                             {"file_count", 0},
                             {"warnings", nlohmann::json::array()},
                             {"error", error},
                             {"error_category", category}},
                            backup_type, started, [&](const std::string& id) {
                              // A local repository's manifests, even when it could not be opened.
                              return (taken && taken(id)) || fs::exists(backup_dir / manifest_key(id), ec);
                            });
  } catch (const std::exception&) {
    // ignored on purpose: the attempt's own error is the one to report
  }
}

}  // namespace coffer
