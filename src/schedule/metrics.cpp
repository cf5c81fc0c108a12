#include "schedule/metrics.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>

#include "coffer/clock.h"
#include "coffer/error.h"

namespace coffer::schedule {

namespace {

double seconds_of(TimePoint t) { return std::chrono::duration<double>(t.time_since_epoch()).count(); }

// Prometheus floats: plain decimal, enough digits for a Unix time with milliseconds.
std::string number(double v) {
  std::ostringstream out;
  out.precision(15);
  out << v;
  return out.str();
}

const char* const kJobs[] = {"full", "incremental", "differential", "cleanup", "verify", "drill"};

}  // namespace

MetricsSettings load_metrics_settings(const EnvLookup& env) {
  MetricsSettings s;
  if (auto v = setting_text(env, "METRICS_FILE")) {
    s.file = *v;
    std::filesystem::path dir = s.file.parent_path().empty() ? "." : s.file.parent_path();
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec))
      fail(ErrorCategory::kConfig, "METRICS_FILE: folder '" + dir.string() +
                                       "' does not exist; create it or point METRICS_FILE at an existing folder "
                                       "(for node_exporter: its --collector.textfile.directory)");
  }
  if (auto v = setting_text(env, "METRICS_PORT")) {
    const std::string& t = *v;
    int port = small_whole_number(t).value_or(-1);
    if (port < 0 || port > 65535)
      fail(ErrorCategory::kConfig, "METRICS_PORT: \"" + t + "\" is not a TCP port (1-65535, or 0 for no HTTP endpoint)");
    s.port = port;
  }
  if (auto v = setting_text(env, "METRICS_ADDRESS")) {
    const std::string& t = *v;
    in_addr addr{};
    if (inet_pton(AF_INET, t.c_str(), &addr) != 1)
      fail(ErrorCategory::kConfig, "METRICS_ADDRESS: \"" + t + "\" is not an IPv4 address such as 127.0.0.1");
    s.address = t;
  }
  return s;
}

Metrics::Metrics(TimePoint started) : started_(started) {}

void Metrics::seed_last_success(const std::string& job, TimePoint when) {
  std::lock_guard<std::mutex> lock(mu_);
  PerJob& j = jobs_[job];
  if (!j.last_success || when > *j.last_success) j.last_success = when;
}

void Metrics::seed_newest_offsite(TimePoint when) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!newest_offsite_ || when > *newest_offsite_) newest_offsite_ = when;
}

void Metrics::record(const JobRun& run) {
  std::lock_guard<std::mutex> lock(mu_);
  PerJob& j = jobs_[run.name];
  if (run.output.offsite_copied) {
    j.last_offsite_ok = *run.output.offsite_copied;
    if (*run.output.offsite_copied && (!newest_offsite_ || run.started > *newest_offsite_)) newest_offsite_ = run.started;
  }
  j.has_run = true;
  j.last_ok = run.ok;
  j.last_duration_seconds = std::chrono::duration<double>(run.ended - run.started).count();
  if (run.ok) {
    ++j.successes;
    j.last_success = run.ended;
    j.last_bytes_added = run.output.bytes_added;
    j.bytes_added_total += run.output.bytes_added;
  } else {
    ++j.failures;
    j.last_failure = run.ended;
  }
}

void Metrics::set_analytics(const AnalyticsGauges& gauges) {
  std::lock_guard lock(mu_);
  analytics_ = gauges;
}

void Metrics::set_repository_bytes(uint64_t bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  repository_bytes_ = bytes;
}

void Metrics::set_wal_source(std::function<std::vector<WalArchiveStatus>()> source) {
  std::lock_guard<std::mutex> lock(mu_);
  wal_source_ = std::move(source);
}

namespace {

// Per cluster, from this host's push record: alert on a growing age or any failed push.
void render_wal(std::ostringstream& out, const std::vector<WalArchiveStatus>& wal, TimePoint at) {
  if (wal.empty()) return;
  auto family = [&](const char* name, const char* type, const char* help) {
    out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
  };
  family("coffer_wal_last_archived_timestamp_seconds", "gauge",
         "Unix time of the last WAL file wal-push stored on this host, per cluster.");
  for (const WalArchiveStatus& w : wal)
    if (std::optional<TimePoint> t = parse_iso8601_utc(w.last_archived_time))
      out << "coffer_wal_last_archived_timestamp_seconds{cluster=\"" << w.cluster << "\"} " << number(seconds_of(*t)) << '\n';
  family("coffer_wal_last_archived_age_seconds", "gauge",
         "Age of the last WAL file wal-push stored on this host, when the metrics were rendered.");
  for (const WalArchiveStatus& w : wal)
    if (std::optional<TimePoint> t = parse_iso8601_utc(w.last_archived_time))
      out << "coffer_wal_last_archived_age_seconds{cluster=\"" << w.cluster << "\"} "
          << number(std::chrono::duration<double>(at - *t).count()) << '\n';
  family("coffer_wal_failed_pushes", "gauge",
         "Failed wal-push calls since the last successful one, per cluster (PostgreSQL keeps WAL until one succeeds).");
  for (const WalArchiveStatus& w : wal)
    out << "coffer_wal_failed_pushes{cluster=\"" << w.cluster << "\"} " << w.failed_pushes << '\n';
}

}  // namespace

std::string Metrics::render(std::optional<TimePoint> now) const {
  const TimePoint at = now.value_or(std::chrono::system_clock::now());
  std::vector<WalArchiveStatus> wal;
  std::function<std::vector<WalArchiveStatus>()> wal_source;
  {
    std::lock_guard<std::mutex> lock(mu_);
    wal_source = wal_source_;
  }
  if (wal_source) {
    try {
      wal = wal_source();
    } catch (const std::exception&) {
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  std::ostringstream out;
  auto family = [&](const char* name, const char* type, const char* help) {
    out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
  };
  auto each_job = [&](const char* name, auto value_of) {
    for (const char* job : kJobs) {
      auto it = jobs_.find(job);
      static const PerJob kEmpty;
      std::optional<double> v = value_of(it == jobs_.end() ? kEmpty : it->second);
      if (v) out << name << "{job=\"" << job << "\"} " << number(*v) << '\n';
    }
  };
  family("coffer_scheduler_start_time_seconds", "gauge", "When this coffer schedule process started (Unix time).");
  out << "coffer_scheduler_start_time_seconds " << number(seconds_of(started_)) << '\n';
  family("coffer_job_last_success_timestamp_seconds", "gauge",
         "Unix time of the job's last successful run (backups: also from backup_log.json before this start).");
  each_job("coffer_job_last_success_timestamp_seconds", [](const PerJob& j) -> std::optional<double> {
    if (!j.last_success) return std::nullopt;
    return seconds_of(*j.last_success);
  });
  family("coffer_job_last_failure_timestamp_seconds", "gauge", "Unix time of the job's last failed run since start.");
  each_job("coffer_job_last_failure_timestamp_seconds", [](const PerJob& j) -> std::optional<double> {
    if (!j.last_failure) return std::nullopt;
    return seconds_of(*j.last_failure);
  });
  family("coffer_job_last_run_success", "gauge", "1 when the job's last run since start succeeded, 0 when it failed.");
  each_job("coffer_job_last_run_success", [](const PerJob& j) -> std::optional<double> {
    if (!j.has_run) return std::nullopt;
    return j.last_ok ? 1.0 : 0.0;
  });
  family("coffer_job_last_duration_seconds", "gauge", "Duration of the job's last run since start.");
  each_job("coffer_job_last_duration_seconds", [](const PerJob& j) -> std::optional<double> {
    if (!j.has_run) return std::nullopt;
    return j.last_duration_seconds;
  });
  family("coffer_job_runs_total", "counter", "Successful runs of the job since start.");
  each_job("coffer_job_runs_total", [](const PerJob& j) -> std::optional<double> {
    return static_cast<double>(j.successes);
  });
  family("coffer_job_failures_total", "counter", "Failed runs of the job since start.");
  each_job("coffer_job_failures_total", [](const PerJob& j) -> std::optional<double> {
    return static_cast<double>(j.failures);
  });
  family("coffer_backup_last_bytes_added", "gauge",
         "Bytes the job's last successful backup added to the repository (after dedup, compression, encryption).");
  each_job("coffer_backup_last_bytes_added", [](const PerJob& j) -> std::optional<double> {
    if (!j.successes) return std::nullopt;
    return static_cast<double>(j.last_bytes_added);
  });
  family("coffer_backup_bytes_added_total", "counter", "Bytes the job's backups added to the repository since start.");
  each_job("coffer_backup_bytes_added_total", [](const PerJob& j) -> std::optional<double> {
    return static_cast<double>(j.bytes_added_total);
  });
  family("coffer_job_last_offsite_copy_success", "gauge",
         "S3_MODE=copy: 1 when the off-site copy after the job's last backup succeeded, 0 when it failed.");
  each_job("coffer_job_last_offsite_copy_success", [](const PerJob& j) -> std::optional<double> {
    if (!j.last_offsite_ok) return std::nullopt;
    return *j.last_offsite_ok ? 1.0 : 0.0;
  });
  if (newest_offsite_) {
    family("coffer_offsite_newest_backup_timestamp_seconds", "gauge",
           "Unix time of the newest backup copied off-site (S3_MODE=copy).");
    out << "coffer_offsite_newest_backup_timestamp_seconds " << number(seconds_of(*newest_offsite_)) << '\n';
    family("coffer_offsite_newest_backup_age_seconds", "gauge",
           "Age of the newest backup copied off-site (S3_MODE=copy), when the metrics were rendered.");
    out << "coffer_offsite_newest_backup_age_seconds "
        << number(std::chrono::duration<double>(at - *newest_offsite_).count()) << '\n';
  }
  if (repository_bytes_) {
    family("coffer_repository_size_bytes", "gauge", "Total size of the repository's objects after the last job.");
    out << "coffer_repository_size_bytes " << *repository_bytes_ << '\n';
  }
  if (analytics_) {
    auto gauge = [&](const char* name, const char* help, const std::optional<double>& v) {
      if (!v) return;
      family(name, "gauge", help);
      out << name << ' ' << number(*v) << '\n';
    };
    gauge("coffer_repository_growth_bytes_per_day", "Repository growth per day over the last 30 days (least squares).",
          analytics_->growth_bytes_per_day);
    gauge("coffer_dedup_ratio", "Logical bytes of the backups kept per byte of their unique chunks.",
          analytics_->dedup_ratio);
    gauge("coffer_compression_ratio", "Bytes of the unique chunks per byte stored.", analytics_->compression_ratio);
    if (!analytics_->days_left.empty()) {
      family("coffer_storage_days_left", "gauge", "Days until the room runs out at the current growth.");
      for (const auto& [room, days] : analytics_->days_left)
        out << "coffer_storage_days_left{room=\"" << room << "\"} " << number(days) << '\n';
    }
  }
  render_wal(out, wal, at);
  return out.str();
}

void Metrics::write_file(const std::filesystem::path& file) const {
  const std::string text = render();
  const std::string tmp = file.string() + ".tmp." + std::to_string(getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail(ErrorCategory::kStorage, "cannot write metrics file '" + tmp + "': " + std::strerror(errno));
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      fail(ErrorCategory::kStorage, "cannot write metrics file '" + tmp + "': " + std::strerror(err));
    }
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  if (::rename(tmp.c_str(), file.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    fail(ErrorCategory::kStorage, "cannot rename metrics file to '" + file.string() + "': " + std::strerror(err));
  }
}

}  // namespace coffer::schedule
