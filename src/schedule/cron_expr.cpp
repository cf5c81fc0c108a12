#include "schedule/cron_expr.h"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <mutex>
#include <sstream>

#include "coffer/error.h"

namespace coffer::schedule {
namespace {

struct FieldSpec {
  const char* name;
  int min;
  int max;                   // largest value accepted in the text (7 for day-of-week)
  const char* const* names;  // optional names, index 0 = value `names_base`
  int names_base;
};

const char* const kMonthNames[] = {"jan", "feb", "mar", "apr", "may", "jun",  "jul",
                                   "aug", "sep", "oct", "nov", "dec", nullptr};
const char* const kDayNames[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat", nullptr};

const FieldSpec kSecondField = {"second", 0, 59, nullptr, 0};
const FieldSpec kFields[5] = {
    {"minute", 0, 59, nullptr, 0},       {"hour", 0, 23, nullptr, 0},
    {"day-of-month", 1, 31, nullptr, 0}, {"month", 1, 12, kMonthNames, 1},
    {"day-of-week", 0, 7, kDayNames, 0},
};

[[noreturn]] void bad(const std::string& expr, const std::string& what) {
  fail(ErrorCategory::kConfig, "cron expression '" + expr + "': " + what);
}

std::string allowed(const FieldSpec& f) {
  std::string s = std::to_string(f.min) + "-" + std::to_string(f.max);
  if (f.names == kMonthNames) s += " or jan-dec";
  if (f.names == kDayNames) s += " or sun-sat (0 and 7 are Sunday)";
  return s;
}

int parse_value(const std::string& expr, const FieldSpec& f, const std::string& tok) {
  if (tok.empty()) bad(expr, std::string(f.name) + " has an empty value; allowed: " + allowed(f));
  if (std::all_of(tok.begin(), tok.end(), [](unsigned char c) { return std::isdigit(c); })) {
    if (tok.size() > 4)
      bad(expr, std::string(f.name) + " " + tok + " is out of range " + allowed(f));
    int v = std::stoi(tok);
    if (v < f.min || v > f.max)
      bad(expr, std::string(f.name) + " " + tok + " is out of range " + allowed(f));
    return v;
  }
  if (f.names != nullptr) {
    std::string lower;
    for (unsigned char c : tok) lower += static_cast<char>(std::tolower(c));
    for (int i = 0; f.names[i] != nullptr; ++i)
      if (lower == f.names[i]) return f.names_base + i;
  }
  bad(expr, std::string(f.name) + " '" + tok + "' is not a valid value; allowed: " + allowed(f));
}

// Parses one field into a bit mask. Day-of-week 7 is folded into 0 by the caller.
uint64_t parse_field(const std::string& expr, const FieldSpec& f, const std::string& text) {
  uint64_t mask = 0;
  std::stringstream items(text);
  std::string item;
  if (text.empty() || text.front() == ',' || text.back() == ',')
    bad(expr, std::string(f.name) + " '" + text + "' has an empty list item");
  while (std::getline(items, item, ',')) {
    if (item.empty()) bad(expr, std::string(f.name) + " '" + text + "' has an empty list item");
    std::string range = item;
    int step = 1;
    bool has_step = false;
    if (auto slash = item.find('/'); slash != std::string::npos) {
      range = item.substr(0, slash);
      std::string step_text = item.substr(slash + 1);
      has_step = true;
      if (step_text.empty() || step_text.size() > 4 ||
          !std::all_of(step_text.begin(), step_text.end(),
                       [](unsigned char c) { return std::isdigit(c); }))
        bad(expr, std::string(f.name) + " step '" + step_text + "' in '" + item +
                      "' must be a whole number of at least 1");
      step = std::stoi(step_text);
      if (step < 1) bad(expr, std::string(f.name) + " step 0 in '" + item + "' must be at least 1");
    }
    int lo = 0;
    int hi = 0;
    if (range == "*") {
      lo = f.min;
      hi = f.names == kDayNames ? 6 : f.max;
    } else if (auto dash = range.find('-'); dash != std::string::npos) {
      lo = parse_value(expr, f, range.substr(0, dash));
      hi = parse_value(expr, f, range.substr(dash + 1));
      if (lo > hi)
        bad(expr, std::string(f.name) + " range " + range +
                      " is reversed; write it low-high within " + allowed(f));
    } else {
      lo = parse_value(expr, f, range);
      hi = has_step ? (f.names == kDayNames ? 6 : f.max) : lo;  // "5/10" means 5-max/10
    }
    if (lo > hi)
      bad(expr, std::string(f.name) + " '" + item + "' matches no value; allowed: " + allowed(f));
    for (int v = lo; v <= hi; v += step) mask |= uint64_t{1} << v;
  }
  return mask;
}

uint64_t full_mask(int lo, int hi) {
  uint64_t m = 0;
  for (int v = lo; v <= hi; ++v) m |= uint64_t{1} << v;
  return m;
}

std::string alias_fields(const std::string& expr, const std::string& alias) {
  std::string lower;
  for (unsigned char c : alias) lower += static_cast<char>(std::tolower(c));
  if (lower == "@hourly") return "0 * * * *";
  if (lower == "@daily" || lower == "@midnight") return "0 0 * * *";
  if (lower == "@weekly") return "0 0 * * 0";
  if (lower == "@monthly") return "0 0 1 * *";
  if (lower == "@yearly" || lower == "@annually") return "0 0 1 1 *";
  bad(expr, "unknown alias " + alias +
                "; allowed: @hourly, @daily, @midnight, @weekly, @monthly, @yearly, @annually");
}

// Takes the "DAY#N" items (the Nth such weekday of the month, N 1-5, as Quartz and croniter
// write it) out of a day-of-week field; returns their mask (bit weekday * 8 + N) and leaves the
// other items in `field` ("" when there are none).
uint64_t take_nth_weekdays(const std::string& expr, std::string& field) {
  uint64_t nth = 0;
  std::string rest;
  std::stringstream items(field);
  for (std::string item; std::getline(items, item, ',');) {
    const size_t hash = item.find('#');
    if (hash == std::string::npos) {
      rest += (rest.empty() ? "" : ",") + item;
      continue;
    }
    const std::string n = item.substr(hash + 1);
    if (n.size() != 1 || n[0] < '1' || n[0] > '5')
      bad(expr, "day-of-week '" + item + "': the number after # must be 1 to 5 (sun#1: the first Sunday of the month)");
    int day = parse_value(expr, kFields[4], item.substr(0, hash)) % 7;
    nth |= uint64_t{1} << (day * 8 + (n[0] - '0'));
  }
  if (nth != 0) field = rest;
  return nth;
}

std::string describe_field(uint64_t mask, int lo, int hi) {
  if (mask == full_mask(lo, hi)) return "*";
  std::vector<int> v;
  for (int i = lo; i <= hi; ++i)
    if (mask & (uint64_t{1} << i)) v.push_back(i);
  // A whole-field arithmetic progression of 3+ values is written as a step.
  if (v.size() >= 3) {
    int step = v[1] - v[0];
    bool progression = step > 1;
    for (size_t i = 1; i < v.size() && progression; ++i) progression = v[i] - v[i - 1] == step;
    if (progression && v.back() + step > hi)
      return (v[0] == lo ? std::string("*") : std::to_string(v[0])) + "/" + std::to_string(step);
    if (progression)
      return std::to_string(v[0]) + "-" + std::to_string(v.back()) + "/" + std::to_string(step);
  }
  std::string out;
  for (size_t i = 0; i < v.size();) {
    size_t j = i;
    while (j + 1 < v.size() && v[j + 1] == v[j] + 1) ++j;
    if (!out.empty()) out += ",";
    out += std::to_string(v[i]);
    if (j > i) out += "-" + std::to_string(v[j]);
    i = j + 1;
  }
  return out;
}

// ---- civil calendar (proleptic Gregorian, days since 1970-01-01) ----

int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

void civil_from_days(int64_t z, int& y, int& m, int& d) {
  z += 719468;
  const int64_t era = floor_div(z, 146097);
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  y = static_cast<int>(yoe + era * 400 + (m <= 2));
}

int weekday_from_days(int64_t z) {
  return static_cast<int>(z + 4 - floor_div(z + 4, 7) * 7);
}  // 0 = Sunday

// ---- time zone access (process-global TZ, serialised) ----

std::mutex& tz_mutex() {
  static std::mutex m;
  return m;
}

std::string zone_dir() {
  const char* dir = std::getenv("TZDIR");
  return dir != nullptr && *dir != '\0' ? dir : "/usr/share/zoneinfo";
}

bool is_utc(const std::string& tz) { return tz.empty() || tz == "UTC" || tz == "Etc/UTC"; }

// Sets TZ for the lifetime of the object; the caller holds tz_mutex().
class ScopedTz {
 public:
  explicit ScopedTz(const std::string& tz) {
    const char* old = std::getenv("TZ");
    had_old_ = old != nullptr;
    if (had_old_) old_ = old;
    setenv("TZ", is_utc(tz) ? "UTC0" : tz.c_str(), 1);
    tzset();
  }
  ~ScopedTz() {
    if (had_old_) {
      setenv("TZ", old_.c_str(), 1);
    } else {
      unsetenv("TZ");
    }
    tzset();
  }
  ScopedTz(const ScopedTz&) = delete;
  ScopedTz& operator=(const ScopedTz&) = delete;

 private:
  bool had_old_ = false;
  std::string old_;
};

// UTC offset in seconds at instant u in the current TZ.
int64_t offset_at(int64_t u) {
  time_t tt = static_cast<time_t>(u);
  struct tm tm {};
  localtime_r(&tt, &tm);
  return tm.tm_gmtoff;
}

// The instant at which wall time w (seconds since 1970-01-01 local) runs: its first occurrence,
// or for a wall time inside a gap the first whole minute after the gap.
int64_t resolve_wall(int64_t w) {
  std::vector<int64_t> offsets = {offset_at(w - 86400), offset_at(w), offset_at(w + 86400)};
  std::sort(offsets.begin(), offsets.end());
  offsets.erase(std::unique(offsets.begin(), offsets.end()), offsets.end());
  std::optional<int64_t> first;
  for (int64_t o : offsets) {
    int64_t u = w - o;
    if (offset_at(u) == o && (!first || u < *first)) first = u;
  }
  if (first) return *first;
  // Gap: find the first instant whose wall time is past w (the transition), then round up.
  int64_t lo = w - offsets.back();
  int64_t hi = w - offsets.front();
  while (lo < hi) {
    int64_t mid = lo + (hi - lo) / 2;
    if (mid + offset_at(mid) > w) {
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  return floor_div(lo + 59, 60) * 60;
}

bool can_ever_match(uint64_t days, uint64_t months) {
  static const int kMaxDay[13] = {0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  for (int m = 1; m <= 12; ++m) {
    if (!(months & (uint64_t{1} << m))) continue;
    for (int d = 1; d <= kMaxDay[m]; ++d)
      if (days & (uint64_t{1} << d)) return true;
  }
  return false;
}

}  // namespace

void check_time_zone(const std::string& tz) {
  if (is_utc(tz)) return;
  std::string path = zone_dir() + "/" + tz;
  struct stat st {};
  bool ok = tz.front() != '/' && tz.find("..") == std::string::npos &&
            stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
  if (!ok)
    fail(ErrorCategory::kConfig, "time zone '" + tz + "' is unknown (no file " + path +
                                     "); use an IANA name such as Europe/Berlin, or UTC");
}

CronExpr CronExpr::parse(const std::string& text) {
  std::vector<std::string> fields;
  std::istringstream in(text);
  for (std::string f; in >> f;) fields.push_back(f);
  if (fields.size() == 1 && fields[0].front() == '@') {
    std::string expanded = alias_fields(text, fields[0]);
    CronExpr e = parse(expanded);
    e.text_ = text;
    return e;
  }
  CronExpr e;
  e.text_ = text;
  if (fields.size() == 6) {
    e.has_seconds_ = true;
    e.seconds_ = parse_field(text, kSecondField, fields[0]);
    fields.erase(fields.begin());
  }
  if (fields.size() != 5)
    bad(text,
        "expected 5 fields (minute hour day-of-month month day-of-week), 6 with a leading seconds "
        "field, or an alias such as @daily, got " +
            std::to_string(fields.size() + (e.has_seconds_ ? 1 : 0)));
  e.minutes_ = parse_field(text, kFields[0], fields[0]);
  e.hours_ = parse_field(text, kFields[1], fields[1]);
  e.days_ = parse_field(text, kFields[2], fields[2]);
  e.months_ = parse_field(text, kFields[3], fields[3]);
  e.nth_weekdays_ = take_nth_weekdays(text, fields[4]);
  e.weekdays_ = fields[4].empty() ? 0 : parse_field(text, kFields[4], fields[4]);
  if (e.weekdays_ & (uint64_t{1} << 7)) e.weekdays_ = (e.weekdays_ & ~(uint64_t{1} << 7)) | 1;
  e.days_restricted_ = e.days_ != full_mask(1, 31);
  e.weekdays_restricted_ = e.weekdays_ != full_mask(0, 6);
  if (e.days_restricted_ && !e.weekdays_restricted_ && !can_ever_match(e.days_, e.months_))
    bad(text, "day-of-month " + fields[2] + " never occurs in month " + fields[3] +
                  "; the job would never run");
  return e;
}

bool CronExpr::matches_day(int month, int day, int weekday) const {
  if (!(months_ & (uint64_t{1} << month))) return false;
  bool dom = (days_ & (uint64_t{1} << day)) != 0;
  bool dow = (weekdays_ & (uint64_t{1} << weekday)) != 0 ||
             (nth_weekdays_ & (uint64_t{1} << (weekday * 8 + (day - 1) / 7 + 1))) != 0;
  if (days_restricted_ && weekdays_restricted_) return dom || dow;
  return dom && dow;  // an unrestricted field matches every day
}

std::optional<TimePoint> CronExpr::next_after(TimePoint t, const std::string& tz) const {
  check_time_zone(tz);
  using std::chrono::seconds;
  const int64_t t_sec = std::chrono::floor<seconds>(t.time_since_epoch()).count();
  std::lock_guard<std::mutex> lock(tz_mutex());
  ScopedTz scoped(tz);
  const int64_t start_wall = t_sec + offset_at(t_sec) + 1;  // first wall second worth trying
  const int64_t first_day = floor_div(start_wall, 86400);
  for (int64_t day = first_day; day < first_day + 366 * 9; ++day) {
    int y = 0, m = 0, d = 0;
    civil_from_days(day, y, m, d);
    if (!matches_day(m, d, weekday_from_days(day))) continue;
    for (int h = 0; h < 24; ++h) {
      if (!(hours_ & (uint64_t{1} << h))) continue;
      for (int mi = 0; mi < 60; ++mi) {
        if (!(minutes_ & (uint64_t{1} << mi))) continue;
        const int64_t minute_wall = day * 86400 + h * 3600 + mi * 60;
        if (minute_wall + 59 < start_wall) continue;
        for (int s = 0; s < 60; ++s) {
          if (!(seconds_ & (uint64_t{1} << s)) || minute_wall + s < start_wall) continue;
          int64_t u = resolve_wall(minute_wall + s);
          TimePoint run{std::chrono::duration_cast<TimePoint::duration>(seconds(u))};
          if (run > t) return run;
        }
      }
    }
  }
  return std::nullopt;
}

std::string CronExpr::dst_note(TimePoint run, const std::string& tz) const {
  if (is_utc(tz)) return "";
  check_time_zone(tz);
  const int64_t u = std::chrono::floor<std::chrono::seconds>(run.time_since_epoch()).count();
  std::lock_guard<std::mutex> lock(tz_mutex());
  ScopedTz scoped(tz);
  const int64_t wall = u + offset_at(u);
  auto hhmm = [](int64_t w) {
    int64_t in_day = w - floor_div(w, 86400) * 86400;
    char buf[16];
    std::snprintf(buf, sizeof buf, "%02d:%02d", static_cast<int>(in_day / 3600), static_cast<int>(in_day / 60 % 60));
    return std::string(buf);
  };
  // Clocks went forward within the minute before the run: did the gap swallow any of its times?
  if (offset_at(u - 60) < offset_at(u)) {
    int64_t transition = u - 59;
    while (offset_at(transition) == offset_at(u - 60)) ++transition;
    const int64_t gap_begin = transition + offset_at(transition - 1);  // first wall time that never came
    const int64_t gap_end = transition + offset_at(transition);
    for (int64_t w = gap_begin; w < gap_end; ++w) {
      const int64_t day = floor_div(w, 86400);
      const int64_t sec = w - day * 86400;
      int y = 0, m = 0, d = 0;
      civil_from_days(day, y, m, d);
      if ((hours_ & (uint64_t{1} << (sec / 3600))) && (minutes_ & (uint64_t{1} << (sec / 60 % 60))) &&
          (seconds_ & (uint64_t{1} << (sec % 60))) && matches_day(m, d, weekday_from_days(day)))
        return hhmm(w) + " did not exist on this day in " + tz + " (clocks went forward): runs once at " +
               hhmm(wall) + " instead";
    }
  }
  for (int64_t probe : {u - 86400, u + 86400}) {
    const int64_t other = wall - offset_at(probe);
    if (other > u && offset_at(other) == wall - other)
      return hhmm(wall) + " occurs twice on this day in " + tz + " (clocks go back): runs only at its first occurrence";
  }
  return "";
}

std::vector<TimePoint> CronExpr::next_n(TimePoint t, const std::string& tz, int n) const {
  std::vector<TimePoint> out;
  for (int i = 0; i < n; ++i) {
    auto next = next_after(t, tz);
    if (!next) break;
    out.push_back(*next);
    t = *next;
  }
  return out;
}

std::string CronExpr::describe() const {
  return (has_seconds_ ? describe_field(seconds_, 0, 59) + " " : std::string()) + describe_field(minutes_, 0, 59) + " " + describe_field(hours_, 0, 23) + " " +
         describe_field(days_, 1, 31) + " " + describe_field(months_, 1, 12) + " " +
         describe_weekdays();
}

std::string CronExpr::describe_weekdays() const {
  std::string out = weekdays_ == 0 ? "" : describe_field(weekdays_, 0, 6);
  for (int day = 0; day < 7; ++day)
    for (int n = 1; n <= 5; ++n)
      if (nth_weekdays_ & (uint64_t{1} << (day * 8 + n)))
        out += (out.empty() ? "" : ",") + std::string(kDayNames[day]) + "#" + std::to_string(n);
  return out;
}

}  // namespace coffer::schedule
