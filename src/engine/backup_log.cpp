#include "engine/backup_log.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>

#include "coffer/backup_types.h"
#include "coffer/clock.h"
#include "coffer/error.h"
#include "coffer/redact.h"
#include "engine/backup_id.h"
#include "engine/history_json.h"
#include "repo/manifest.h"
#include "util/host.h"
#include "util/locked_file.h"

namespace coffer {
namespace fs = std::filesystem;

BackupLog::BackupLog(fs::path backup_dir, Warn warn)
    : path_(std::move(backup_dir) / "backup_log.json"), warn_(std::move(warn)) {}

nlohmann::json BackupLog::read_json() const {
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

namespace {

std::vector<HistoryRecord> records_of(const nlohmann::json& log) {
  std::vector<HistoryRecord> out;
  for (const auto& rec : log)
    if (rec.is_object()) out.push_back(history_record_from_json(rec));
  return out;
}

std::set<std::string> ids_of(const std::vector<HistoryRecord>& records) {
  std::set<std::string> out;
  for (const HistoryRecord& r : records)
    if (!r.backup_id.empty()) out.insert(r.backup_id);
  return out;
}

}  // namespace

std::vector<HistoryRecord> BackupLog::read() const { return records_of(read_json()); }

std::set<std::string> BackupLog::ids() const {
  try {
    return ids_of(read());
  } catch (const Error&) {
    return {};
  }
}

// Called under the log's lock. A damaged log would block every backup; its bytes are kept
// under a new name for whoever wants to look at them.
nlohmann::json BackupLog::read_or_set_aside() {
  try {
    return read_json();
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

void BackupLog::append(const HistoryRecord& record) {
  update([&](nlohmann::json& log) { log.push_back(redacted(history_record_json(record))); });
}

std::string BackupLog::append_with_new_id(HistoryRecord record, std::chrono::system_clock::time_point started,
                                          const std::function<bool(const std::string&)>& taken) {
  update([&](nlohmann::json& log) {
    const std::set<std::string> logged = ids_of(records_of(log));
    auto type = backup_type_from_name(record.backup_type).value_or(BackupType::kFull);
    record.backup_id = make_backup_id(type, started, [&](const std::string& candidate) {
      return logged.count(candidate) > 0 || (taken && taken(candidate));
    });
    log.push_back(redacted(history_record_json(record)));
  });
  return record.backup_id;
}

void BackupLog::update(const std::function<void(nlohmann::json& log)>& change) {
  with_file_lock(path_.string() + ".lock", [&] {
    nlohmann::json log = read_or_set_aside();
    change(log);
    // Error texts can quote bytes that are not UTF-8 (a damaged file, an odd file name): replaced.
    replace_file(path_, log.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n", true);
  });
}

HistoryRecord failed_attempt_record(BackupType type, std::chrono::system_clock::time_point started,
                                    double duration_seconds, const std::string& db_name, const Error& error) {
  HistoryRecord r;
  r.backup_type = backup_type_name(type);
  r.timestamp = format_iso8601_utc(started);
  r.status = "failed";
  r.duration_seconds = duration_seconds;
  r.error = error.what();
  r.error_category = category_name(error.category());
  // The guide's fields, for failed attempts too: which database it was for (shaped as in a
  // successful record, which has more to say about it), and where.
  if (!db_name.empty()) r.backup.database = HistoryRecord::Database{db_name};
  r.backup.host = this_host();
  return r;
}

void log_failed_attempt(const fs::path& backup_dir, const HistoryRecord& record,
                        std::chrono::system_clock::time_point started,
                        const std::function<bool(const std::string&)>& taken, const BackupLog::Warn& warn) {
  try {
    std::error_code ec;
    if (!fs::is_directory(backup_dir, ec)) return;
    BackupLog(backup_dir, warn).append_with_new_id(record, started, [&](const std::string& id) {
      // A local repository's manifests, even when it could not be opened.
      return (taken && taken(id)) || fs::exists(backup_dir / manifest_key(id), ec);
    });
  } catch (const std::exception&) {
    // ignored on purpose: the attempt's own error is the one to report
  }
}

void log_failed_create(const fs::path& backup_dir, BackupType type, const std::string& db_name, const Error& error,
                       const std::function<void(const std::string&)>& warn) {
  try {
    const auto now = std::chrono::system_clock::now();
    log_failed_attempt(backup_dir, failed_attempt_record(type, now, 0, db_name, error), now, {}, warn);
  } catch (const std::exception&) {
    // ignored on purpose: the configuration's own error is the one to report
  }
}

}  // namespace coffer
