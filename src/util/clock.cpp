#include "coffer/clock.h"

#include <cstdio>
#include <cstdlib>

#include "coffer/error.h"

namespace coffer {
namespace {

bool digits(const std::string& s, size_t pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

}  // namespace

std::string format_iso8601_utc(TimePoint t) {
  using namespace std::chrono;
  auto micros = floor<microseconds>(t);
  sys_days d = floor<days>(micros);
  year_month_day ymd(d);
  hh_mm_ss<microseconds> tod(micros - d);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%06lldZ", int(ymd.year()), unsigned(ymd.month()),
                unsigned(ymd.day()), int(tod.hours().count()), int(tod.minutes().count()),
                int(tod.seconds().count()), static_cast<long long>(tod.subseconds().count()));
  return buf;
}

std::optional<TimePoint> parse_iso8601_utc(const std::string& s) {
  using namespace std::chrono;
  int y, mo, d, h, mi, sec;
  if (!digits(s, 0, 4, y) || s.size() < 20 || s[4] != '-' || !digits(s, 5, 2, mo) || s[7] != '-' ||
      !digits(s, 8, 2, d) || s[10] != 'T' || !digits(s, 11, 2, h) || s[13] != ':' || !digits(s, 14, 2, mi) ||
      s[16] != ':' || !digits(s, 17, 2, sec))
    return std::nullopt;
  year_month_day date{year(y), month(static_cast<unsigned>(mo)), day(static_cast<unsigned>(d))};
  if (!date.ok() || h > 23 || mi > 59 || sec > 59) return std::nullopt;
  size_t pos = 19;
  microseconds frac{0};
  if (s[pos] == '.') {
    ++pos;
    size_t start = pos;
    int64_t value = 0, scale = 1000000;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (pos - start < 6) {
        value = value * 10 + (s[pos] - '0');
        scale /= 10;
      }
      ++pos;
    }
    if (pos == start) return std::nullopt;
    frac = microseconds(value * scale);
  }
  if (pos + 1 != s.size() || s[pos] != 'Z') return std::nullopt;
  return sys_days(date) + hours(h) + minutes(mi) + seconds(sec) + frac;
}

TimePoint job_now() {
  const char* fake = std::getenv("COFFER_NOW");
  if (!fake || !*fake) return std::chrono::system_clock::now();
  auto t = parse_iso8601_utc(fake);
  if (!t)
    fail(ErrorCategory::kConfig, std::string("COFFER_NOW='") + fake +
                                     "' (a testing hook) is not valid: expected an ISO 8601 UTC time such as "
                                     "2024-12-01T02:00:00Z, or leave it unset");
  return *t;
}

}  // namespace coffer
