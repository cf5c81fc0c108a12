#include "engine/retention_policy.h"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <numeric>

namespace coffer {
namespace {

using namespace std::chrono;

year_month_day civil(system_clock::time_point t) { return year_month_day(floor<days>(t)); }

std::string two(unsigned v) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%02u", v);
  return buf;
}

std::string year_of(system_clock::time_point t) { return std::to_string(int(civil(t).year())); }
std::string month_of(system_clock::time_point t) { return year_of(t) + "-" + two(unsigned(civil(t).month())); }
std::string day_of(system_clock::time_point t) { return month_of(t) + "-" + two(unsigned(civil(t).day())); }

// ISO 8601 week: weeks start on Monday; week 1 is the one holding the year's first Thursday.
std::string iso_week_of(system_clock::time_point t) {
  sys_days d = floor<days>(t);
  unsigned iso_weekday = weekday(d).iso_encoding();  // Monday = 1 .. Sunday = 7
  sys_days thursday = d + days(4 - static_cast<int>(iso_weekday));
  year iso_year = year_month_day(thursday).year();
  int week = static_cast<int>((thursday - sys_days(iso_year / January / 1)).count() / 7 + 1);
  return std::to_string(int(iso_year)) + "-W" + two(static_cast<unsigned>(week));
}

struct BucketRule {
  int count;
  const char* name;  // for reasons: "daily 2024-12-01"
  std::function<std::string(system_clock::time_point)> bucket;
};

}  // namespace

std::string describe_policy(const RetentionPolicy& p) {
  std::string out = "RETENTION_DAYS=" + std::to_string(p.retention_days);
  auto add = [&](const char* name, int v) {
    if (v > 0) out += std::string(", ") + name + "=" + std::to_string(v);
  };
  add("KEEP_LAST", p.keep_last);
  add("KEEP_DAILY", p.keep_daily);
  add("KEEP_WEEKLY", p.keep_weekly);
  add("KEEP_MONTHLY", p.keep_monthly);
  add("KEEP_YEARLY", p.keep_yearly);
  return out;
}

std::vector<RetentionDecision> apply_retention(const std::vector<RetentionCandidate>& backups,
                                               const RetentionPolicy& policy, system_clock::time_point now) {
  std::vector<RetentionDecision> out;
  for (const auto& b : backups) out.push_back({b.backup_id, false, {}, false});
  // Newest first; ids break ties in time.
  std::vector<size_t> order(backups.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return std::tie(backups[a].time, backups[a].backup_id) > std::tie(backups[b].time, backups[b].backup_id);
  });
  auto keep = [&](size_t i, std::string reason, bool by_policy) {
    out[i].keep = true;
    out[i].kept_by_policy = out[i].kept_by_policy || by_policy;
    out[i].reasons.push_back(std::move(reason));
  };

  for (size_t i = 0; i < backups.size(); ++i)
    if (now - backups[i].time < days(policy.retention_days))
      keep(i, "within " + std::to_string(policy.retention_days) + " days", true);

  for (size_t k = 0; k < order.size() && k < static_cast<size_t>(std::max(policy.keep_last, 0)); ++k)
    keep(order[k], "last " + std::to_string(policy.keep_last), true);

  const BucketRule rules[] = {{policy.keep_daily, "daily", day_of},
                              {policy.keep_weekly, "weekly", iso_week_of},
                              {policy.keep_monthly, "monthly", month_of},
                              {policy.keep_yearly, "yearly", year_of}};
  for (const BucketRule& rule : rules) {
    int left = rule.count;
    std::string last_bucket;
    for (size_t i : order) {
      if (left <= 0) break;
      std::string bucket = rule.bucket(backups[i].time);
      if (bucket == last_bucket) continue;  // an older backup of a period already counted
      last_bucket = bucket;
      keep(i, std::string(rule.name) + " " + bucket, true);
      --left;
    }
  }

  for (size_t i = 0; i < backups.size(); ++i)
    if (backups[i].pinned) keep(i, "pinned", false);

  // Safety guards: a restorable full backup of each part always survives.
  auto guard = [&](const std::function<bool(const RetentionCandidate&)>& match, const std::string& reason) {
    for (size_t i : order)
      if (backups[i].type == BackupType::kFull && match(backups[i])) {
        if (std::find(out[i].reasons.begin(), out[i].reasons.end(), "newest full backup") == out[i].reasons.end())
          keep(i, reason, false);
        return;
      }
  };
  guard([](const RetentionCandidate&) { return true; }, "newest full backup");
  guard([](const RetentionCandidate& b) { return b.has_files; }, "newest full backup with files");
  guard([](const RetentionCandidate& b) { return b.has_database; }, "newest full backup with the database");

  bool any_keep_rule = policy.keep_last > 0 || policy.keep_daily > 0 || policy.keep_weekly > 0 ||
                       policy.keep_monthly > 0 || policy.keep_yearly > 0;
  for (size_t i = 0; i < backups.size(); ++i) {
    if (out[i].keep) continue;
    auto age = floor<days>(now - backups[i].time).count();
    out[i].reasons.push_back(std::to_string(age) + " days old, beyond RETENTION_DAYS=" +
                             std::to_string(policy.retention_days) +
                             (any_keep_rule ? ", and no KEEP_* rule keeps it" : ""));
  }
  return out;
}

}  // namespace coffer
