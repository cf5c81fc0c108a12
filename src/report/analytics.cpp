#include "report/analytics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "coffer/human_bytes.h"

namespace coffer::report {

namespace {

constexpr double kGrowthWindowDays = 30;
constexpr double kSecondsPerDay = 86400;

bool is_create(const std::string& type) { return type == "full" || type == "incremental" || type == "differential"; }

uint64_t logical_bytes_of(const BackupInfo& b) {
  uint64_t n = b.size_bytes;
  if (b.database) n += b.database->dump_bytes;
  if (b.physical) n += b.physical->data_bytes;
  return n;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

std::vector<Attempt> attempts_of(const std::vector<HistoryRecord>& history) {
  std::vector<Attempt> out;
  for (const HistoryRecord& r : history) {
    if (!is_create(r.backup_type) || (r.status != "success" && r.status != "failed")) continue;
    std::optional<TimePoint> at = parse_iso8601_utc(r.timestamp);
    if (!at) continue;
    Attempt a;
    a.time = r.timestamp;
    a.at = *at;
    a.type = r.backup_type;
    a.backup_id = r.backup_id;
    a.ok = r.status == "success";
    a.duration_seconds = r.duration_seconds;
    a.bytes_added = a.ok ? r.backup.bytes_added : 0;
    a.error = r.error;
    out.push_back(std::move(a));
  }
  return out;
}

std::map<std::string, TypeStats> type_stats(const std::vector<Attempt>& attempts) {
  std::map<std::string, TypeStats> out;
  std::map<std::string, std::vector<double>> durations;
  std::map<std::string, double> added;
  for (const char* t : {"full", "incremental", "differential"}) out[t];
  for (const Attempt& a : attempts) {
    TypeStats& s = out[a.type];
    ++s.attempts;
    if (!a.ok) {
      ++s.failures;
      continue;
    }
    ++s.successes;
    durations[a.type].push_back(a.duration_seconds);
    added[a.type] += static_cast<double>(a.bytes_added);
  }
  for (auto& [type, s] : out) {
    if (s.successes == 0) continue;
    const std::vector<double>& d = durations[type];
    double sum = 0;
    for (double x : d) sum += x;
    s.mean_duration_seconds = sum / static_cast<double>(s.successes);
    s.median_duration_seconds = median(d);
    s.mean_bytes_added = added[type] / static_cast<double>(s.successes);
  }
  return out;
}

// The size after each successful backup and cleanup, worked back from the size now: before a
// backup the repository was smaller by what it added, before a cleanup larger by what it freed.
std::vector<SizePoint> size_series(const std::vector<HistoryRecord>& history, uint64_t stored_now) {
  std::vector<SizePoint> out;
  uint64_t after = stored_now;
  for (auto it = history.rbegin(); it != history.rend(); ++it) {
    const HistoryRecord& r = *it;
    if (r.status != "success") continue;
    const bool create = is_create(r.backup_type);
    const bool cleanup = r.is_cleanup() && !r.cleanup.dry_run;
    if (!create && !cleanup) continue;
    std::optional<TimePoint> at = parse_iso8601_utc(r.timestamp);
    if (!at) continue;
    out.push_back({*at, r.timestamp, after});
    if (create)
      after = after > r.backup.bytes_added ? after - r.backup.bytes_added : 0;
    else
      after += r.cleanup.bytes_freed;
  }
  std::reverse(out.begin(), out.end());
  // A log edited by hand may be out of order: the chart and the fit need time order.
  std::stable_sort(out.begin(), out.end(), [](const SizePoint& a, const SizePoint& b) { return a.at < b.at; });
  return out;
}

// Bytes per day: the least-squares slope through the sizes of the last 30 days and the size now.
std::optional<double> growth_per_day(const std::vector<SizePoint>& series, uint64_t stored_now, TimePoint now) {
  const TimePoint since = now - std::chrono::seconds(static_cast<long>(kGrowthWindowDays * kSecondsPerDay));
  std::vector<std::pair<double, double>> pts;  // (days before now, bytes)
  for (const SizePoint& p : series)
    if (p.at >= since && p.at <= now)
      pts.emplace_back(std::chrono::duration<double>(p.at - now).count() / kSecondsPerDay, static_cast<double>(p.bytes));
  pts.emplace_back(0.0, static_cast<double>(stored_now));
  if (pts.size() < 3) return std::nullopt;  // two points are one backup: no trend yet
  double mx = 0, my = 0;
  for (auto& [x, y] : pts) mx += x, my += y;
  mx /= static_cast<double>(pts.size());
  my /= static_cast<double>(pts.size());
  double sxx = 0, sxy = 0;
  for (auto& [x, y] : pts) sxx += (x - mx) * (x - mx), sxy += (x - mx) * (y - my);
  if (sxx < 1e-6) return std::nullopt;  // all within a few minutes: no trend yet
  return sxy / sxx;
}

std::vector<Gap> gaps_of(const std::vector<Attempt>& attempts, TimePoint now, double max_age_hours) {
  std::vector<TimePoint> ok;
  for (const Attempt& a : attempts)
    if (a.ok) ok.push_back(a.at);
  std::sort(ok.begin(), ok.end());
  const auto limit = std::chrono::duration<double>(max_age_hours * 3600);
  std::vector<Gap> out;
  for (size_t i = 1; i < ok.size(); ++i)
    if (ok[i] - ok[i - 1] > limit) out.push_back({ok[i - 1], ok[i], false});
  if (!ok.empty() && now - ok.back() > limit) out.push_back({ok.back(), now, true});
  return out;
}

std::string days_text(double days) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", days);
  return buf;
}

}  // namespace

Analytics analyze(const AnalyticsInput& in) {
  Analytics a;
  a.min_days_left = in.min_days_left;
  a.attempts = attempts_of(in.history);
  a.types = type_stats(a.attempts);
  for (const BackupInfo& b : in.backups) a.logical_bytes += logical_bytes_of(b);
  a.unique_raw_bytes = in.chunks.raw_bytes;
  a.stored_bytes = in.stored_bytes;
  if (in.chunks.raw_bytes > 0 && a.logical_bytes > 0)
    a.dedup_ratio = static_cast<double>(a.logical_bytes) / static_cast<double>(in.chunks.raw_bytes);
  if (in.chunks.stored_bytes > 0 && in.chunks.raw_bytes > 0)
    a.compression_ratio = static_cast<double>(in.chunks.raw_bytes) / static_cast<double>(in.chunks.stored_bytes);
  a.size_series = size_series(in.history, in.stored_bytes);
  a.growth_bytes_per_day = growth_per_day(a.size_series, in.stored_bytes, in.now);
  for (const Room& room : in.rooms) {
    RoomForecast f{room, std::nullopt};
    if (a.growth_bytes_per_day && *a.growth_bytes_per_day > 0)
      f.days_left = static_cast<double>(room.free_bytes) / *a.growth_bytes_per_day;
    if (f.days_left && *f.days_left < in.min_days_left)
      a.warnings.push_back(room.name + " (" + room.where + ") has " + days_text(*f.days_left) +
                           " days left at the current growth of " +
                           human_bytes(static_cast<uint64_t>(*a.growth_bytes_per_day)) + "/day (" +
                           human_bytes(room.free_bytes) + " free; STATUS_MIN_DAYS_LEFT=" + days_text(in.min_days_left) +
                           "): free space, lower RETENTION_DAYS, or move BACKUP_DIR");
    a.rooms.push_back(std::move(f));
  }
  a.gaps = gaps_of(a.attempts, in.now, in.max_age_hours);
  return a;
}

nlohmann::json to_json(const Analytics& a) {
  auto opt = [](const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); };
  nlohmann::json types = nlohmann::json::object();
  for (const auto& [name, s] : a.types) {
    nlohmann::json series = nlohmann::json::array();
    for (const Attempt& at : a.attempts) {
      if (at.type != name) continue;
      series.push_back({{"time", at.time},
                        {"backup_id", at.backup_id.empty() ? nlohmann::json(nullptr) : nlohmann::json(at.backup_id)},
                        {"status", at.ok ? "success" : "failed"},
                        {"duration_seconds", at.duration_seconds},
                        {"bytes_added", at.bytes_added}});
    }
    types[name] = {{"attempts", s.attempts},
                   {"successes", s.successes},
                   {"failures", s.failures},
                   {"mean_duration_seconds", s.mean_duration_seconds},
                   {"median_duration_seconds", s.median_duration_seconds},
                   {"mean_bytes_added", s.mean_bytes_added},
                   {"series", series}};
  }
  nlohmann::json disk = nullptr, quota = nullptr;
  for (const RoomForecast& f : a.rooms) {
    if (f.room.quota_bytes)
      quota = {{"bucket", f.room.where},
               {"quota_bytes", *f.room.quota_bytes},
               {"used_bytes", a.stored_bytes},
               {"free_bytes", f.room.free_bytes},
               {"days_left", opt(f.days_left)}};
    else
      disk = {{"path", f.room.where}, {"free_bytes", f.room.free_bytes}, {"days_left", opt(f.days_left)}};
  }
  nlohmann::json gaps = nlohmann::json::array();
  for (const Gap& g : a.gaps)
    gaps.push_back({{"from", format_iso8601_utc(g.from)},
                    {"to", g.open ? nlohmann::json(nullptr) : nlohmann::json(format_iso8601_utc(g.to))},
                    {"hours", g.hours()}});
  nlohmann::json sizes = nlohmann::json::array();
  for (const SizePoint& p : a.size_series) sizes.push_back({{"time", p.time}, {"bytes", p.bytes}});
  return {{"types", types},
          {"logical_bytes", a.logical_bytes},
          {"unique_raw_bytes", a.unique_raw_bytes},
          {"stored_bytes", a.stored_bytes},
          {"dedup_ratio", opt(a.dedup_ratio)},
          {"compression_ratio", opt(a.compression_ratio)},
          {"growth_bytes_per_day", opt(a.growth_bytes_per_day)},
          {"disk", disk},
          {"s3_quota", quota},
          {"min_days_left", a.min_days_left},
          {"gaps", gaps},
          {"size_series", sizes},
          {"warnings", a.warnings}};
}

}  // namespace coffer::report
