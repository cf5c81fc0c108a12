#include "schedule/cron_expr.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "coffer/error.h"

namespace coffer {
namespace {

using schedule::CronExpr;
using schedule::TimePoint;

// "2026-03-29T01:00:00Z" -> time point.
TimePoint at(const std::string& iso) {
  struct tm tm {};
  if (strptime(iso.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm) == nullptr) ADD_FAILURE() << iso;
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

std::string iso(TimePoint t) {
  time_t tt = std::chrono::system_clock::to_time_t(t);
  struct tm tm {};
  gmtime_r(&tt, &tm);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::vector<std::string> runs(const std::string& expr, const std::string& start,
                              const std::string& tz, int n) {
  std::vector<std::string> out;
  for (TimePoint t : CronExpr::parse(expr).next_n(at(start), tz, n)) out.push_back(iso(t));
  return out;
}

using V = std::vector<std::string>;

TEST(CronExprParse, ValidExpressionsNormalise) {
  const std::pair<const char*, const char*> cases[] = {
      {"* * * * *", "* * * * *"},
      {"*/15 * * * *", "*/15 * * * *"},
      {"0 9-17 * * *", "0 9-17 * * *"},
      {"0 9-17/2 * * *", "0 9-17/2 * * *"},
      {"5/10 * * * *", "5/10 * * * *"},
      {"1,2,5 * * * *", "1-2,5 * * * *"},
      {"0 0 * JAN-Mar mon-FRI", "0 0 * 1-3 1-5"},
      {"0 0 * * 7", "0 0 * * 0"},
      {"0 0 * * 0,7", "0 0 * * 0"},
      {"0 0 * * 5-7", "0 0 * * 0,5-6"},
      {"0 0 * * sun-sat", "0 0 * * *"},
      {"0 0 * * 0-7", "0 0 * * *"},
      {"  30   2 * *   *  ", "30 2 * * *"},
      {"@hourly", "0 * * * *"},
      {"@daily", "0 0 * * *"},
      {"@midnight", "0 0 * * *"},
      {"@weekly", "0 0 * * 0"},
      {"@monthly", "0 0 1 * *"},
      {"@yearly", "0 0 1 1 *"},
      {"@ANNUALLY", "0 0 1 1 *"},
      {"0 0 29 2 *", "0 0 29 2 *"},
      {"59 23 31 dec *", "59 23 31 12 *"},
      {"0 4 * * sun#1", "0 4 * * sun#1"},
      {"0 4 * * 7#1,FRI#5", "0 4 * * sun#1,fri#5"},
      {"0 4 * * mon,sun#2", "0 4 * * 1,sun#2"},
  };
  for (const auto& [text, normal] : cases) {
    SCOPED_TRACE(text);
    CronExpr e = CronExpr::parse(text);
    EXPECT_EQ(e.describe(), normal);
    EXPECT_EQ(e.text(), text);
    EXPECT_EQ(CronExpr::parse(e.describe()).describe(), normal);  // describe() parses back
  }
}

TEST(CronExprParse, InvalidExpressionsNameTheField) {
  const std::pair<const char*, const char*> cases[] = {
      {"61 * * * *", "cron expression '61 * * * *': minute 61 is out of range 0-59"},
      {"* 24 * * *", "hour 24 is out of range 0-23"},
      {"* * 0 * *", "day-of-month 0 is out of range 1-31"},
      {"* * 32 * *", "day-of-month 32 is out of range 1-31"},
      {"* * * 13 *", "month 13 is out of range 1-12 or jan-dec"},
      {"* * * foo *", "month 'foo' is not a valid value"},
      {"* * * * 8", "day-of-week 8 is out of range 0-7"},
      {"* * * * funday", "day-of-week 'funday' is not a valid value"},
      {"*/0 * * * *", "minute step 0"},
      {"*/x * * * *", "minute step 'x'"},
      {"* 17-9 * * *", "hour range 17-9 is reversed"},
      {"1,,2 * * * *", "minute '1,,2' has an empty list item"},
      {"* * * * 1-", "day-of-week has an empty value"},
      {"* * * *", "expected 5 fields"},
      {"* * * * * * *", "expected 5 fields"},
      {"60 * * * * *", "second 60 is out of range 0-59"},
      {"*/0 * * * * *", "second step 0"},
      {"", "expected 5 fields"},
      {"@fortnightly", "unknown alias @fortnightly"},
      {"0 0 30 2 *", "day-of-month 30 never occurs in month 2"},
      {"0 0 31 apr,jun *", "day-of-month 31 never occurs"},
      {"a * * * *", "minute 'a' is not a valid value; allowed: 0-59"},
      {"* * * * mon-sun", "day-of-week range mon-sun is reversed"},
      {"99999 * * * *", "minute 99999 is out of range"},
      {"0 0 * * 7/2", "day-of-week '7/2' matches no value"},
      {"0 4 * * sun#6", "day-of-week 'sun#6': the number after # must be 1 to 5"},
      {"0 4 * * sun#", "day-of-week 'sun#': the number after # must be 1 to 5"},
      {"0 4 * * funday#1", "day-of-week 'funday' is not a valid value"},
  };
  for (const auto& [text, message] : cases) {
    SCOPED_TRACE(text);
    try {
      CronExpr::parse(text);
      ADD_FAILURE() << "accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.category(), ErrorCategory::kConfig);
      EXPECT_NE(std::string(e.what()).find(message), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("'" + std::string(text) + "'"), std::string::npos);
    }
  }
}

TEST(CronExprNext, UtcTable) {
  struct Case {
    const char* expr;
    const char* start;
    V expected;
  };
  const Case cases[] = {
      {"* * * * *", "2026-01-01T00:00:00Z", {"2026-01-01T00:01:00Z", "2026-01-01T00:02:00Z"}},
      {"* * * * *", "2026-01-01T00:00:30Z", {"2026-01-01T00:01:00Z", "2026-01-01T00:02:00Z"}},
      {"*/15 * * * *", "2026-01-01T00:14:59Z", {"2026-01-01T00:15:00Z", "2026-01-01T00:30:00Z"}},
      {"5/10 * * * *", "2026-01-01T00:55:00Z", {"2026-01-01T01:05:00Z", "2026-01-01T01:15:00Z"}},
      {"0 9-17/2 * * *", "2026-01-01T16:00:00Z", {"2026-01-01T17:00:00Z", "2026-01-02T09:00:00Z"}},
      {"59 23 31 12 *", "2026-06-01T00:00:00Z", {"2026-12-31T23:59:00Z", "2027-12-31T23:59:00Z"}},
      {"0 0 29 2 *", "2026-01-01T00:00:00Z", {"2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"}},
      // 2026-11-01 is a Sunday.
      {"0 0 * * 0", "2026-10-28T00:00:00Z", {"2026-11-01T00:00:00Z", "2026-11-08T00:00:00Z"}},
      {"0 0 * * 7", "2026-10-28T00:00:00Z", {"2026-11-01T00:00:00Z", "2026-11-08T00:00:00Z"}},
      {"30 6 * * mon-fri",
       "2026-10-30T07:00:00Z",
       {"2026-11-02T06:30:00Z", "2026-11-03T06:30:00Z"}},
      // Day-of-month OR day-of-week when both are restricted: the 13th or any Friday.
      {"0 0 13 * fri",
       "2026-11-01T00:00:00Z",
       {"2026-11-06T00:00:00Z", "2026-11-13T00:00:00Z", "2026-11-20T00:00:00Z"}},
      // "*/2" restricts day-of-month too (croniter agrees; Vixie would treat it as "*").
      {"0 0 */2 * 1",
       "2026-11-01T00:00:00Z",
       {"2026-11-02T00:00:00Z", "2026-11-03T00:00:00Z", "2026-11-05T00:00:00Z"}},
      // Only day-of-month restricted ("*" day-of-week): AND semantics, just the 13th.
      {"0 0 13 * *", "2026-11-01T00:00:00Z", {"2026-11-13T00:00:00Z", "2026-12-13T00:00:00Z"}},
      {"@monthly", "2026-12-15T00:00:00Z", {"2027-01-01T00:00:00Z", "2027-02-01T00:00:00Z"}},
      {"@yearly", "2026-01-01T00:00:00Z", {"2027-01-01T00:00:00Z"}},
      // The first Sunday of each month (a drill's default): 2026-11-01, 12-06, 2027-01-03.
      {"0 4 * * sun#1",
       "2026-11-01T05:00:00Z",
       {"2026-12-06T04:00:00Z", "2027-01-03T04:00:00Z", "2027-02-07T04:00:00Z"}},
      // The fifth Friday: only months that have one (2027-01-29, 2027-04-30).
      {"0 0 * * fri#5", "2027-01-01T00:00:00Z", {"2027-01-29T00:00:00Z", "2027-04-30T00:00:00Z"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(c.expr) + " from " + c.start);
    EXPECT_EQ(runs(c.expr, c.start, "UTC", static_cast<int>(c.expected.size())), c.expected);
    EXPECT_EQ(runs(c.expr, c.start, "", static_cast<int>(c.expected.size())), c.expected);
  }
}

TEST(CronExprNext, DocumentedDefaultSchedule) {
  // Full 02:00 daily, incremental hourly 09:00-17:00, cleanup 03:00 (Europe/Berlin, winter: UTC+1).
  EXPECT_EQ(runs("0 2 * * *", "2026-01-10T12:00:00Z", "Europe/Berlin", 2),
            (V{"2026-01-11T01:00:00Z", "2026-01-12T01:00:00Z"}));
  EXPECT_EQ(runs("0 3 * * *", "2026-01-10T12:00:00Z", "Europe/Berlin", 2),
            (V{"2026-01-11T02:00:00Z", "2026-01-12T02:00:00Z"}));
  V incremental = runs("0 9-17 * * *", "2026-01-10T12:30:00Z", "Europe/Berlin", 6);
  EXPECT_EQ(incremental,
            (V{"2026-01-10T13:00:00Z", "2026-01-10T14:00:00Z", "2026-01-10T15:00:00Z",
               "2026-01-10T16:00:00Z", "2026-01-11T08:00:00Z", "2026-01-11T09:00:00Z"}));
  EXPECT_EQ(runs("0 9-17 * * *", "2026-01-10T00:00:00Z", "UTC", 10).size(), 10u);
  EXPECT_EQ(runs("0 9-17 * * *", "2026-01-10T00:00:00Z", "UTC", 10)[9], "2026-01-11T09:00:00Z");
}

// Europe/Berlin 2026: 2026-03-29 02:00 CET -> 03:00 CEST (01:00Z);
// 2026-10-25 03:00 CEST -> 02:00 CET (01:00Z), so 02:00-02:59 happens twice.
TEST(CronExprDst, BerlinSpringForwardGapRunsAtEndOfGap) {
  EXPECT_EQ(runs("30 2 * * *", "2026-03-28T12:00:00Z", "Europe/Berlin", 3),
            (V{"2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z", "2026-03-31T00:30:00Z"}));
  // Hourly: 02:00 does not exist and collapses with 03:00; nothing runs twice.
  EXPECT_EQ(runs("0 * * * *", "2026-03-28T23:30:00Z", "Europe/Berlin", 4),
            (V{"2026-03-29T00:00:00Z", "2026-03-29T01:00:00Z", "2026-03-29T02:00:00Z",
               "2026-03-29T03:00:00Z"}));
  EXPECT_EQ(runs("*/30 * * * *", "2026-03-29T00:45:00Z", "Europe/Berlin", 3),
            (V{"2026-03-29T01:00:00Z", "2026-03-29T01:30:00Z", "2026-03-29T02:00:00Z"}));
  // A job at 02:30 whose previous run was the end of the gap does not run again that day.
  EXPECT_EQ(runs("30 2 * * *", "2026-03-29T01:00:00Z", "Europe/Berlin", 1),
            (V{"2026-03-30T00:30:00Z"}));
  // The default full backup (02:00) runs at 03:00 CEST on the switch day.
  EXPECT_EQ(runs("0 2 * * *", "2026-03-28T12:00:00Z", "Europe/Berlin", 2),
            (V{"2026-03-29T01:00:00Z", "2026-03-30T00:00:00Z"}));
}

TEST(CronExprDst, BerlinFallBackOverlapRunsOnce) {
  EXPECT_EQ(runs("30 2 * * *", "2026-10-24T12:00:00Z", "Europe/Berlin", 2),
            (V{"2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"}));
  // Starting inside the second 02:xx (CET): the first occurrence is past, so tomorrow.
  EXPECT_EQ(runs("30 2 * * *", "2026-10-25T01:15:00Z", "Europe/Berlin", 1),
            (V{"2026-10-26T01:30:00Z"}));
  // Hourly: 02:00 CEST runs, the repeated 02:00 CET does not; next is 03:00 CET.
  EXPECT_EQ(runs("0 * * * *", "2026-10-24T23:30:00Z", "Europe/Berlin", 3),
            (V{"2026-10-25T00:00:00Z", "2026-10-25T02:00:00Z", "2026-10-25T03:00:00Z"}));
  // 01:30 is before the overlap and unaffected.
  EXPECT_EQ(runs("30 1 * * *", "2026-10-24T12:00:00Z", "Europe/Berlin", 2),
            (V{"2026-10-24T23:30:00Z", "2026-10-26T00:30:00Z"}));
}

// America/New_York 2026: 2026-03-08 02:00 EST -> 03:00 EDT (07:00Z);
// 2026-11-01 02:00 EDT -> 01:00 EST (06:00Z), so 01:00-01:59 happens twice.
TEST(CronExprDst, NewYorkSpringForwardGap) {
  EXPECT_EQ(runs("30 2 * * *", "2026-03-07T12:00:00Z", "America/New_York", 2),
            (V{"2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z"}));
  EXPECT_EQ(runs("30 1 * * *", "2026-03-07T12:00:00Z", "America/New_York", 2),
            (V{"2026-03-08T06:30:00Z", "2026-03-09T05:30:00Z"}));
  EXPECT_EQ(runs("0 * * * *", "2026-03-08T06:30:00Z", "America/New_York", 2),
            (V{"2026-03-08T07:00:00Z", "2026-03-08T08:00:00Z"}));
}

TEST(CronExprDst, NewYorkFallBackOverlap) {
  EXPECT_EQ(runs("30 1 * * *", "2026-10-31T12:00:00Z", "America/New_York", 2),
            (V{"2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"}));
  EXPECT_EQ(runs("30 1 * * *", "2026-11-01T06:00:00Z", "America/New_York", 1),
            (V{"2026-11-02T06:30:00Z"}));
  EXPECT_EQ(runs("30 2 * * *", "2026-10-31T12:00:00Z", "America/New_York", 2),
            (V{"2026-11-01T07:30:00Z", "2026-11-02T07:30:00Z"}));
  EXPECT_EQ(runs("0 * * * *", "2026-11-01T04:30:00Z", "America/New_York", 3),
            (V{"2026-11-01T05:00:00Z", "2026-11-01T07:00:00Z", "2026-11-01T08:00:00Z"}));
}

TEST(CronExprSeconds, SixFieldsPutSecondsFirst) {
  EXPECT_EQ(runs("*/10 * * * * *", "2026-01-10T12:00:03Z", "UTC", 4),
            (V{"2026-01-10T12:00:10Z", "2026-01-10T12:00:20Z", "2026-01-10T12:00:30Z", "2026-01-10T12:00:40Z"}));
  EXPECT_EQ(runs("5,50 30 2 * * *", "2026-01-10T02:30:05Z", "UTC", 3),
            (V{"2026-01-10T02:30:50Z", "2026-01-11T02:30:05Z", "2026-01-11T02:30:50Z"}));
  // Second 0 of every minute is the five-field expression.
  EXPECT_EQ(runs("0 * * * * *", "2026-01-10T12:00:00Z", "UTC", 3), runs("* * * * *", "2026-01-10T12:00:00Z", "UTC", 3));
  EXPECT_EQ(CronExpr::parse("*/10 * * * * *").describe(), "*/10 * * * * *");
  EXPECT_EQ(CronExpr::parse("0 2 * * *").describe(), "0 2 * * *");
  // Seconds in a spring-forward gap collapse into one run after it, like minutes.
  EXPECT_EQ(runs("*/20 30 2 * * *", "2026-03-28T12:00:00Z", "Europe/Berlin", 2),
            (V{"2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"}));
}

TEST(CronExprDst, NoteExplainsShiftedAndUnrepeatedRuns) {
  auto note = [](const char* expr, const char* run) {
    return CronExpr::parse(expr).dst_note(at(run), "Europe/Berlin");
  };
  // 02:30 does not exist on 2026-03-29: the run at 03:00 CEST says so.
  EXPECT_NE(note("30 2 * * *", "2026-03-29T01:00:00Z").find("02:30 did not exist"), std::string::npos);
  // Hourly: 02:00 vanished into the 03:00 run.
  EXPECT_NE(note("0 * * * *", "2026-03-29T01:00:00Z").find("02:00 did not exist"), std::string::npos);
  // 03:00 itself on another day, and 04:00 on the switch day, are ordinary.
  EXPECT_EQ(note("0 * * * *", "2026-03-29T02:00:00Z"), "");
  EXPECT_EQ(note("0 3 * * *", "2026-03-30T01:00:00Z"), "");
  // A job at 03:00 on the switch day lost nothing to the gap.
  EXPECT_EQ(note("0 3 * * *", "2026-03-29T01:00:00Z"), "");
  // 02:30 CEST on 2026-10-25 comes again an hour later and does not run again.
  EXPECT_NE(note("30 2 * * *", "2026-10-25T00:30:00Z").find("occurs twice"), std::string::npos);
  EXPECT_EQ(note("30 1 * * *", "2026-10-24T23:30:00Z"), "");
  EXPECT_EQ(CronExpr::parse("30 2 * * *").dst_note(at("2026-03-29T02:30:00Z"), "UTC"), "");
}

TEST(CronExprZone, UnknownZoneIsConfigError) {
  CronExpr e = CronExpr::parse("@daily");
  for (const char* tz : {"Mars/Olympus", "../etc/passwd", "/etc/localtime"}) {
    try {
      e.next_after(at("2026-01-01T00:00:00Z"), tz);
      ADD_FAILURE() << tz;
    } catch (const Error& err) {
      EXPECT_EQ(err.category(), ErrorCategory::kConfig);
      EXPECT_NE(std::string(err.what()).find(tz), std::string::npos) << err.what();
    }
  }
  EXPECT_NO_THROW(schedule::check_time_zone("Europe/Berlin"));
  EXPECT_NO_THROW(schedule::check_time_zone("UTC"));
}

TEST(CronExprZone, RestoresTzAndIsSafeAcrossThreads) {
  setenv("TZ", "Asia/Tokyo", 1);
  CronExpr e = CronExpr::parse("0 2 * * *");
  e.next_after(at("2026-01-01T00:00:00Z"), "Europe/Berlin");
  ASSERT_NE(std::getenv("TZ"), nullptr);
  EXPECT_STREQ(std::getenv("TZ"), "Asia/Tokyo");
  unsetenv("TZ");
  e.next_after(at("2026-01-01T00:00:00Z"), "America/New_York");
  EXPECT_EQ(std::getenv("TZ"), nullptr);

  auto worker = [&](const std::string& tz, const std::string& expected, bool* ok) {
    *ok = true;
    for (int i = 0; i < 200; ++i)
      if (iso(*e.next_after(at("2026-01-01T12:00:00Z"), tz)) != expected) *ok = false;
  };
  bool ok1 = false, ok2 = false;
  std::thread a(worker, "Europe/Berlin", "2026-01-02T01:00:00Z", &ok1);
  std::thread b(worker, "America/New_York", "2026-01-02T07:00:00Z", &ok2);
  a.join();
  b.join();
  EXPECT_TRUE(ok1);
  EXPECT_TRUE(ok2);
}

TEST(CronExprOracle, AgreesWithCroniter) {
  std::filesystem::path file =
      std::filesystem::path(__FILE__).parent_path() / "testdata" / "croniter_cases.json";
  std::ifstream in(file);
  ASSERT_TRUE(in) << file;
  nlohmann::json doc = nlohmann::json::parse(in);
  const auto& cases = doc.at("croniter_cases");
  ASSERT_GE(cases.size(), 300u);
  size_t agree = 0;
  for (const auto& c : cases) {
    std::string expr = c.at("expr"), tz = c.at("tz"), start = c.at("start");
    V expected = c.at("next").get<V>();
    V got = runs(expr, start, tz, static_cast<int>(expected.size()));
    if (got == expected) {
      ++agree;
    } else {
      ADD_FAILURE() << expr << " in " << tz << " from " << start << ": got "
                    << ::testing::PrintToString(got) << " croniter "
                    << ::testing::PrintToString(expected);
    }
  }
  EXPECT_EQ(agree, cases.size());
}

}  // namespace
}  // namespace coffer
