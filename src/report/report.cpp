// Gathers what the analytics need from a BackupManager and the machine (free space), and hands
// it to the pure parts: report/analytics (the figures) and report/html_report (the page).
#include "coffer/report.h"

#include <sys/statvfs.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "coffer/error.h"
#include "report/analytics.h"
#include "report/html_report.h"

namespace coffer {

namespace {

namespace fs = std::filesystem;

double positive_number(const std::function<std::optional<std::string>(const std::string&)>& settings,
                       const char* name, double fallback, const char* unit) {
  std::optional<std::string> v = settings(name);
  if (!v || v->empty()) return fallback;
  char* end = nullptr;
  const double x = std::strtod(v->c_str(), &end);
  if (*end != '\0' || !(x > 0) || !std::isfinite(x))
    fail(ErrorCategory::kConfig, std::string(name) + ": \"" + *v + "\" is not a positive number of " + unit);
  return x;
}

// The free bytes of the filesystem holding `dir` (or, before it exists, its nearest parent).
std::optional<uint64_t> free_bytes_at(fs::path dir) {
  std::error_code ec;
  dir = fs::absolute(dir, ec);
  while (!dir.empty() && !fs::exists(dir, ec) && dir != dir.parent_path()) dir = dir.parent_path();
  struct statvfs st {};
  if (::statvfs(dir.c_str(), &st) != 0) return std::nullopt;
  return static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
}

std::string s3_place(const BackupConfig& c) { return "s3://" + c.s3_bucket + "/" + c.s3_prefix; }

// What keeps the page from saying "Healthy": a gap still open, a job whose last attempt failed
// after its last success, a room filling up. (`coffer status` checks more: off-site copies, WAL.)
std::vector<std::string> health_of(const report::Analytics& a, double max_age_hours) {
  std::vector<std::string> out;
  for (const report::Gap& g : a.gaps)
    if (g.open)
      out.push_back("no successful backup for " + std::to_string(static_cast<long>(g.hours())) +
                    " h (STATUS_MAX_AGE_HOURS=" + std::to_string(static_cast<long>(max_age_hours)) + ")");
  std::map<std::string, const report::Attempt*> last;
  for (const report::Attempt& at : a.attempts) last[at.type] = &at;
  for (const auto& [type, at] : last)
    if (!at->ok) out.push_back("the last " + type + " backup failed: " + (at->error.empty() ? "unknown" : at->error));
  for (const std::string& w : a.warnings) out.push_back(w);
  return out;
}

}  // namespace

std::optional<uint64_t> parse_byte_size(const std::string& text) {
  if (text.empty()) return std::nullopt;
  char* end = nullptr;
  const double n = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || !(n >= 0) || !std::isfinite(n)) return std::nullopt;
  std::string unit(end);
  if (unit.ends_with("iB"))
    unit.resize(unit.size() - 2);
  else if (unit.size() > 1 && unit.ends_with("B"))
    unit.resize(unit.size() - 1);
  double scale = 1;
  if (unit == "" || unit == "B") scale = 1;
  else if (unit == "K" || unit == "k") scale = 1024.0;
  else if (unit == "M") scale = 1024.0 * 1024;
  else if (unit == "G") scale = 1024.0 * 1024 * 1024;
  else if (unit == "T") scale = 1024.0 * 1024 * 1024 * 1024;
  else return std::nullopt;
  const double bytes = n * scale;
  if (bytes > 1.8e19) return std::nullopt;
  return static_cast<uint64_t>(bytes);
}

ReportSettings report_settings(const std::function<std::optional<std::string>(const std::string&)>& settings) {
  ReportSettings s;
  s.max_age_hours = positive_number(settings, "STATUS_MAX_AGE_HOURS", s.max_age_hours, "hours");
  s.min_days_left = positive_number(settings, "STATUS_MIN_DAYS_LEFT", s.min_days_left, "days");
  if (std::optional<std::string> q = settings("S3_QUOTA"); q && !q->empty()) {
    s.s3_quota_bytes = parse_byte_size(*q);
    if (!s.s3_quota_bytes || *s.s3_quota_bytes == 0)
      fail(ErrorCategory::kConfig, "S3_QUOTA: \"" + *q + "\" is not a size (for example 500G, 2T or a number of bytes)");
  }
  return s;
}

struct BackupReport::Impl {
  report::Analytics analytics;
  std::vector<BackupInfo> backups;
  std::vector<HistoryRecord> history;
  bool repository_exists = true;
  report::PageOptions page;
};

BackupReport::BackupReport(BackupManager& manager, const ReportSettings& settings, TimePoint now)
    : impl_(std::make_unique<Impl>()) {
  const BackupConfig& config = manager.config();
  report::AnalyticsInput in;
  in.now = now;
  in.max_age_hours = settings.max_age_hours;
  in.min_days_left = settings.min_days_left;
  in.history = manager.history();
  try {
    in.backups = manager.list_backups();
    in.chunks = manager.chunk_totals();
  } catch (const Error& e) {
    if (e.category() != ErrorCategory::kNotFound) throw;  // no repository yet: nothing to count
    impl_->repository_exists = false;
  }
  in.stored_bytes = manager.repository_bytes();
  const bool on_s3 = config.s3_mode == S3Mode::kRepository;
  if (!on_s3)
    if (std::optional<uint64_t> free = free_bytes_at(config.backup_dir))
      in.rooms.push_back({"BACKUP_DIR's filesystem", config.backup_dir.string(), *free, std::nullopt});
  if (settings.s3_quota_bytes && config.s3_mode != S3Mode::kOff) {
    const uint64_t quota = *settings.s3_quota_bytes;
    in.rooms.push_back({"the S3 quota", s3_place(config), quota > in.stored_bytes ? quota - in.stored_bytes : 0, quota});
  }
  impl_->analytics = report::analyze(in);
  impl_->backups = std::move(in.backups);
  impl_->page.repository = on_s3 ? s3_place(config) : config.backup_dir.string();
  impl_->page.now = now;
  impl_->page.health = health_of(impl_->analytics, settings.max_age_hours);
  for (const HistoryRecord& r : in.history)
    if (r.is_drill()) impl_->page.last_drill = r;
  impl_->history = std::move(in.history);
}

BackupReport::~BackupReport() = default;

nlohmann::json BackupReport::analytics_json() const { return report::to_json(impl_->analytics); }

const std::vector<std::string>& BackupReport::warnings() const { return impl_->analytics.warnings; }

std::string BackupReport::html(int refresh_seconds) const {
  report::PageOptions page = impl_->page;
  page.refresh_seconds = refresh_seconds;
  return report::render_html(impl_->analytics, impl_->backups, page);
}

size_t BackupReport::backup_count() const { return impl_->backups.size(); }
const std::vector<BackupInfo>& BackupReport::backups() const { return impl_->backups; }
const std::vector<HistoryRecord>& BackupReport::history() const { return impl_->history; }
bool BackupReport::repository_exists() const { return impl_->repository_exists; }

}  // namespace coffer
