// Backup analytics and the dashboard page of a repository: what `coffer status` adds to its
// figures, what `coffer report` writes, and what the scheduler's metrics server serves at GET /.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "coffer/backup_manager.h"
#include "coffer/clock.h"

namespace coffer {

struct ReportSettings {
  double max_age_hours = 26;               // STATUS_MAX_AGE_HOURS: longer without a backup is a gap
  double min_days_left = 14;               // STATUS_MIN_DAYS_LEFT: fewer days of room left warns
  std::optional<uint64_t> s3_quota_bytes;  // S3_QUOTA: the bucket's quota for this repository
};

// Reads STATUS_MAX_AGE_HOURS, STATUS_MIN_DAYS_LEFT and S3_QUOTA from the service settings (as
// ScheduleService::Settings looks them up). Throws Error(kConfig) naming a bad one.
ReportSettings report_settings(const std::function<std::optional<std::string>(const std::string&)>& settings);

// "500G", "1.5T", "2048M", "1073741824": bytes (K, M, G, T: powers of 1024; an optional "iB"
// or "B" after). nullopt when it is not one.
std::optional<uint64_t> parse_byte_size(const std::string& text);

class BackupReport {
 public:
  // Reads what the repository records (backups, its size, the index's chunk totals),
  // backup_log.json and the free space where the repository lives. No repository yet: an empty
  // report. Throws what reading the repository throws otherwise (a wrong passphrase, S3 down).
  BackupReport(BackupManager& manager, const ReportSettings& settings, TimePoint now);
  ~BackupReport();
  BackupReport(const BackupReport&) = delete;
  BackupReport& operator=(const BackupReport&) = delete;

  // The figures (see `coffer status --json`'s "analytics" in README).
  nlohmann::json analytics_json() const;
  // A room (BACKUP_DIR's filesystem, the S3 quota) with fewer than min_days_left days left.
  const std::vector<std::string>& warnings() const;
  // The self-contained page; refresh_seconds > 0 makes the browser reload it that often.
  std::string html(int refresh_seconds = 0) const;
  size_t backup_count() const;
  // What it read, for a caller that shows more (`coffer status`): the committed backups (none
  // when there is no repository), and backup_log.json's records.
  const std::vector<BackupInfo>& backups() const;
  const std::vector<HistoryRecord>& history() const;
  bool repository_exists() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace coffer
