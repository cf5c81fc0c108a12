// Cron expressions and their next run times in an IANA time zone.
//
// Syntax: "minute hour day-of-month month day-of-week" with lists (1,2,5), ranges (9-17),
// steps (*/15, 9-17/2, 5/10 = 5-59/10), month names jan-dec, day names sun-sat (any case),
// 0 and 7 both Sunday; in day-of-week, DAY#N is the Nth such weekday of the month (sun#1: the
// first Sunday; N 1-5; may be listed with other days); aliases @hourly @daily @midnight @weekly @monthly @yearly @annually.
// Day matching: when both day-of-month and day-of-week are restricted, a day matches if EITHER
// matches (Vixie cron). A field counts as unrestricted when it covers its whole range ("*", "*/1",
// "0-6"); unlike Vixie, "*/2" in day-of-month is therefore restricted (croniter agrees with us).
// An expression that can never match (e.g. "0 0 30 2 *") is rejected at parse time.
// Six fields put a seconds field first ("*/10 * * * * *": every 10 seconds), as in Quartz and
// robfig/cron; five fields run at second 0. Seconds are for tests and short health jobs.
//
// Daylight-saving rules of next_after(), in the expression's wall-clock time:
//  - A wall time that does not exist (spring-forward gap, e.g. 02:30 on the switch day in
//    Europe/Berlin) runs at the first instant after the gap (03:00 local). Several gap times of one
//    job (e.g. 02:00 and 02:30) collapse into that single run; nothing is skipped or run twice.
//  - A wall time that occurs twice (fall-back overlap) runs only at its FIRST occurrence.
//
// Time zones are resolved with the C library (TZ + tzset + localtime_r). Switching TZ is
// process-global, so every conversion here holds one global mutex and restores TZ afterwards.
// Code elsewhere in coffer must not call localtime/mktime concurrently with a different TZ
// expectation; use gmtime/UTC there.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace coffer::schedule {

using TimePoint = std::chrono::system_clock::time_point;

// Throws coffer::Error(kConfig) unless tz is "", "UTC" or a zone known to the system tz database.
void check_time_zone(const std::string& tz);

class CronExpr {
 public:
  // Throws coffer::Error(kConfig) naming the expression, the field and what is allowed.
  static CronExpr parse(const std::string& text);

  // First matching wall-clock minute strictly after t in zone tz ("" or "UTC" for UTC), following
  // the DST rules above. nullopt only if nothing matches within the next 9 years (cannot happen for
  // an expression parse() accepted). Throws coffer::Error(kConfig) for an unknown zone.
  std::optional<TimePoint> next_after(TimePoint t, const std::string& tz) const;

  // The next n run times after t (fewer only if next_after runs out).
  std::vector<TimePoint> next_n(TimePoint t, const std::string& tz, int n) const;

  // Normalised form for log lines, e.g. "0 9-17 * * *", "*/15 * * * 1-5" (six fields when the
  // expression had a seconds field).
  std::string describe() const;

  // A log line's worth of explanation when a run at `run` (as next_after returned it) is moved by
  // a daylight-saving change: the wall time did not exist that day (it runs after the gap), or it
  // occurs twice (it runs only the first time). "" when the run is an ordinary one.
  std::string dst_note(TimePoint run, const std::string& tz) const;

  // The text given to parse().
  const std::string& text() const { return text_; }

  // True if the wall-clock day (month 1-12, day 1-31, weekday 0 = Sunday) matches.
  bool matches_day(int month, int day, int weekday) const;

 private:
  std::string text_;
  bool has_seconds_ = false;
  uint64_t seconds_ = 1;   // bit 0-59; second 0 only unless a seconds field is given
  uint64_t minutes_ = 0;   // bit 0-59
  uint64_t hours_ = 0;     // bit 0-23
  uint64_t days_ = 0;      // bit 1-31
  uint64_t months_ = 0;    // bit 1-12
  uint64_t weekdays_ = 0;  // bit 0-6, 0 = Sunday
  uint64_t nth_weekdays_ = 0;  // DAY#N: bit weekday * 8 + N
  bool days_restricted_ = false;
  bool weekdays_restricted_ = false;

  std::string describe_weekdays() const;
};

}  // namespace coffer::schedule
