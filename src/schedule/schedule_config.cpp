#include "schedule/schedule_config.h"

#include <cctype>
#include <cstdlib>

#include "coffer/error.h"
#include "coffer/schedule_service.h"

namespace coffer::schedule {

namespace {

struct Default {
  const char* name;
  const char* variable;
  const char* expr;  // "off" = disabled unless set
};

// Order matters: jobs due at the same minute run in this order (full before cleanup, ...).
constexpr Default kDefaults[] = {
    {"full", "BACKUP_SCHEDULE_FULL", "0 2 * * *"},
    {"differential", "BACKUP_SCHEDULE_DIFFERENTIAL", "off"},
    {"incremental", "BACKUP_SCHEDULE_INCREMENTAL", "0 9-17 * * *"},
    {"cleanup", "BACKUP_SCHEDULE_CLEANUP", "0 3 * * *"},
    {"verify", "BACKUP_SCHEDULE_VERIFY", "off"},
    {"drill", "BACKUP_SCHEDULE_DRILL", "0 4 * * sun#1"},
};

}  // namespace

std::string trim_blanks(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

std::optional<std::string> setting_text(const EnvLookup& env, const std::string& name) {
  std::optional<std::string> v = env(name);
  if (!v) return std::nullopt;
  std::string t = trim_blanks(*v);
  if (t.empty()) return std::nullopt;
  return t;
}

std::optional<int> small_whole_number(const std::string& text) {
  if (text.empty() || text.size() > 5 || text.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  return std::stoi(text);
}

std::string default_service_setting(const std::string& name) {
  for (const Default& d : kDefaults)
    if (name == d.variable) return d.expr;
  static const std::pair<const char*, const char*> kOthers[] = {
      {"TZ", "UTC"},          {"STATUS_MAX_AGE_HOURS", "26"}, {"METRICS_PORT", "0"},
      {"METRICS_ADDRESS", "127.0.0.1"}, {"NOTIFY_ON", "failure"}, {"NOTIFY_TIMEOUT_SECONDS", "30"}};
  for (const auto& [n, v] : kOthers)
    if (name == n) return v;
  return "";
}

ScheduleConfig load_schedule_config(const EnvLookup& env) {
  ScheduleConfig out;
  if (std::optional<std::string> tz = setting_text(env, "TZ")) {
    std::string zone = *tz;
    if (zone.front() == ':') zone.erase(0, 1);  // POSIX ":Europe/Berlin"
    try {
      check_time_zone(zone);
    } catch (const Error& e) {
      fail(ErrorCategory::kConfig, std::string("TZ: ") + e.what());
    }
    out.time_zone = zone;
  }
  for (const Default& d : kDefaults) {
    std::optional<std::string> set = env(d.variable);
    std::string text = trim_blanks(set ? *set : std::string(d.expr));
    std::string lower = text;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (text.empty() || lower == "off") continue;
    try {
      out.jobs.push_back({d.name, d.variable, CronExpr::parse(text)});
    } catch (const Error& e) {
      fail(ErrorCategory::kConfig, std::string(d.variable) + ": " + e.what() + " (or \"off\" to disable the " +
                                       d.name + " job)");
    }
  }
  return out;
}

}  // namespace coffer::schedule
