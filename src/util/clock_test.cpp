#include "coffer/clock.h"

#include <stdlib.h>

#include <cstdlib>

#include <gtest/gtest.h>

#include "coffer/error.h"

namespace coffer {
namespace {

using namespace std::chrono;

TEST(ClockTest, ParsesWholeSecondsAndFractions) {
  auto t = parse_iso8601_utc("2024-12-01T02:00:00Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(duration_cast<seconds>(t->time_since_epoch()).count(), 1733018400);
  auto f = parse_iso8601_utc("2024-12-01T02:00:00.250000Z");
  ASSERT_TRUE(f);
  EXPECT_EQ(duration_cast<milliseconds>(*f - *t).count(), 250);
  auto g = parse_iso8601_utc("2024-12-01T02:00:00.5Z");
  ASSERT_TRUE(g);
  EXPECT_EQ(duration_cast<milliseconds>(*g - *t).count(), 500);
}

TEST(ClockTest, FormatsWithMicrosecondsAndRoundTrips) {
  TimePoint t = sys_days(year(2023) / 2 / 28) + hours(23) + minutes(59) + seconds(58) + microseconds(123456);
  EXPECT_EQ(format_iso8601_utc(t), "2023-02-28T23:59:58.123456Z");
  EXPECT_EQ(format_iso8601_utc(system_clock::from_time_t(1733018400)), "2024-12-01T02:00:00.000000Z");
  EXPECT_EQ(format_iso8601_utc(system_clock::from_time_t(1733018400) + microseconds(1500)),
            "2024-12-01T02:00:00.001500Z");
  auto back = parse_iso8601_utc(format_iso8601_utc(t));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, t);
}

TEST(ClockTest, RejectsWhatIsNotUtcIso8601) {
  for (const char* bad : {"", "2024-12-01", "2024-12-01 02:00:00Z", "2024-12-01T02:00:00", "2024-12-01T02:00:00+01:00",
                          "2024-02-30T00:00:00Z", "2024-12-01T24:00:00Z", "2024-12-01T02:00:00.Z", "yesterday",
                          "2024-12-01T02:00:00Zjunk"})
    EXPECT_FALSE(parse_iso8601_utc(bad)) << bad;
}

TEST(ClockTest, JobNowHonoursCofferNow) {
  ::setenv("COFFER_NOW", "2024-12-01T02:00:00Z", 1);
  EXPECT_EQ(job_now(), *parse_iso8601_utc("2024-12-01T02:00:00Z"));
  ::setenv("COFFER_NOW", "tomorrow", 1);
  try {
    job_now();
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kConfig);
    EXPECT_NE(std::string(e.what()).find("COFFER_NOW='tomorrow'"), std::string::npos);
  }
  ::unsetenv("COFFER_NOW");
  EXPECT_LT(std::llabs(duration_cast<seconds>(job_now() - system_clock::now()).count()), 5);
}

}  // namespace
}  // namespace coffer
