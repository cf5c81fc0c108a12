// Prometheus metrics of the scheduler service: per job (full, incremental, differential,
// cleanup, verify, drill) the last success and failure times, the last duration, run counts, and bytes
// added; the repository's size. Rendered in the Prometheus text format (version 0.0.4) for
// node_exporter's textfile collector (METRICS_FILE) and for the HTTP endpoint (METRICS_PORT).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "coffer/backup_types.h"
#include "schedule/schedule_config.h"
#include "schedule/scheduler.h"

namespace coffer::schedule {

struct MetricsSettings {
  std::filesystem::path file;          // METRICS_FILE: "" = no file
  int port = 0;                        // METRICS_PORT: 0 = no HTTP endpoint
  std::string address = "127.0.0.1";  // METRICS_ADDRESS: IPv4 address to listen on
};

// Throws Error(kConfig) naming the setting: a port outside 1..65535, an address that is not an
// IPv4 literal, a file whose folder does not exist.
MetricsSettings load_metrics_settings(const EnvLookup& env);

// The analytics (report/analytics.h) a dashboard or an alert wants as numbers.
struct AnalyticsGauges {
  std::optional<double> growth_bytes_per_day;
  std::optional<double> dedup_ratio;
  std::optional<double> compression_ratio;
  std::map<std::string, double> days_left;  // "disk", "s3_quota": only rooms that are filling
};

// Thread-safe: the HTTP endpoint renders while the scheduler records.
class Metrics {
 public:
  explicit Metrics(TimePoint started);

  // The newest success of a job known before this process started (from backup_log.json), so a
  // restart does not reset "last success".
  void seed_last_success(const std::string& job, TimePoint when);
  // The newest backup known to be off-site before this start (S3_MODE=copy; backup_log.json).
  void seed_newest_offsite(TimePoint when);
  void record(const JobRun& run);
  void set_repository_bytes(uint64_t bytes);
  void set_analytics(const AnalyticsGauges& gauges);
  // The WAL archives' state, asked at each render (this host's push record: cheap, and fresh
  // for an alert when archiving stalls). Its errors leave the WAL metrics out.
  void set_wal_source(std::function<std::vector<WalArchiveStatus>()> source);

  // `now` (default: the clock) gives the age of the newest off-site copy.
  std::string render(std::optional<TimePoint> now = std::nullopt) const;
  // Writes render() to `file` atomically (temporary file + rename), as the textfile collector
  // requires. Throws Error(kStorage) naming the file.
  void write_file(const std::filesystem::path& file) const;

 private:
  struct PerJob {
    std::optional<TimePoint> last_success;
    std::optional<TimePoint> last_failure;
    double last_duration_seconds = 0;
    bool has_run = false;
    bool last_ok = true;
    uint64_t successes = 0;
    uint64_t failures = 0;
    uint64_t last_bytes_added = 0;
    uint64_t bytes_added_total = 0;
    std::optional<bool> last_offsite_ok;  // the last run's off-site copy (S3_MODE=copy backups)
  };
  mutable std::mutex mu_;
  TimePoint started_;
  std::map<std::string, PerJob> jobs_;
  std::optional<uint64_t> repository_bytes_;
  std::optional<AnalyticsGauges> analytics_;
  std::optional<TimePoint> newest_offsite_;
  std::function<std::vector<WalArchiveStatus>()> wal_source_;  // when the newest backup copied off-site was made
};

}  // namespace coffer::schedule
