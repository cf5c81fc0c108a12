#include "schedule/scheduler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <stdexcept>

#include "coffer/clock.h"

namespace coffer::schedule {
namespace {

using namespace std::chrono_literals;

TimePoint at(const std::string& iso) { return parse_iso8601_utc(iso).value(); }
std::string iso(TimePoint t) { return format_iso8601_utc(t).substr(0, 19); }  // "2024-06-01T02:00:00"

// A simulated clock: sleeping jumps to the wake time; jobs advance it by their duration.
struct Sim {
  TimePoint now;
  TimePoint end;
  std::map<std::string, std::chrono::minutes> duration;  // per job; 0 when absent
  std::map<std::string, int> failures_left;               // job throws this many times first
  bool stop = false;

  SchedulerHooks hooks() {
    return {[this] { return now; }, [this](TimePoint until) { now = std::max(now, until); },
            [this] { return stop || now >= end; }};
  }
  ScheduledTask task(const std::string& name, const std::string& cron) {
    return {name, CronExpr::parse(cron), [this, name] {
              if (auto d = duration.find(name); d != duration.end()) now += d->second;
              if (int& left = failures_left[name]; left > 0) {
                --left;
                throw std::runtime_error("simulated failure of " + name);
              }
              return JobOutput{name + "_id", 42, 0, "ran " + name};
            }};
  }
  std::vector<ScheduledTask> defaults() {
    return {task("full", "0 2 * * *"), task("incremental", "0 9-17 * * *"), task("cleanup", "0 3 * * *")};
  }
};

SchedulerOptions no_catch_up(const std::string& tz = "UTC") {
  SchedulerOptions o;
  o.time_zone = tz;
  o.catch_up = false;
  return o;
}

std::vector<std::string> runs(const Scheduler& s) {
  std::vector<std::string> out;
  for (const JobRun& r : s.history())
    out.push_back(r.name + "@" + iso(r.started) + (r.ok ? "" : "!") + (r.catch_up ? "(catch-up)" : ""));
  return out;
}

bool logged(const Scheduler& s, const std::string& part) {
  return std::any_of(s.log_lines().begin(), s.log_lines().end(),
                     [&](const std::string& l) { return l.find(part) != std::string::npos; });
}

TEST(Scheduler, DefaultScheduleOverOneDay) {
  Sim sim{at("2024-06-01T00:00:00Z"), at("2024-06-02T00:00:00Z")};
  Scheduler s(sim.defaults(), sim.hooks(), no_catch_up());
  EXPECT_EQ(s.run(), 11);
  std::vector<std::string> want = {"full@2024-06-01T02:00:00", "cleanup@2024-06-01T03:00:00"};
  for (int h = 9; h <= 17; ++h)
    want.push_back("incremental@2024-06-01T" + std::string(h < 10 ? "0" : "") + std::to_string(h) + ":00:00");
  EXPECT_EQ(runs(s), want);
  EXPECT_FALSE(logged(s, "waited"));
  EXPECT_FALSE(logged(s, "skipped"));
}

TEST(Scheduler, LongJobMakesNextSlotWaitAndOlderSlotsAreSkipped) {
  Sim sim{at("2024-06-01T00:00:00Z"), at("2024-06-01T04:00:00Z")};
  sim.duration["full"] = 90min;  // 02:00 - 03:30
  Scheduler s({sim.task("full", "0 2 * * *"), sim.task("cleanup", "*/20 * * * *")}, sim.hooks(), no_catch_up());
  s.run();
  std::vector<std::string> r = runs(s);
  ASSERT_GE(r.size(), 3u);
  // cleanup ran every 20 min until 01:40; full 02:00 (first: same minute, configured first); cleanup's
  // 02:00, 02:20, 02:40, 03:00 slots are lost,
  // its 03:20 slot (the latest one) runs right after full, at 03:30, and says it waited.
  auto full = std::find(r.begin(), r.end(), "full@2024-06-01T02:00:00");
  ASSERT_NE(full, r.end());
  ASSERT_NE(full + 1, r.end());
  EXPECT_EQ(*(full + 1), "cleanup@2024-06-01T03:30:00");
  EXPECT_EQ(*(full + 2), "cleanup@2024-06-01T03:40:00");
  EXPECT_TRUE(logged(s, "cleanup: skipped 4 slot(s) from 2024-06-01T02:00:00"));
  EXPECT_TRUE(logged(s, "cleanup: slot 2024-06-01T03:20:00.000000Z waited 10 min"));
  // never two at once: each job starts after the previous one ended
  for (size_t i = 1; i < s.history().size(); ++i) EXPECT_GE(s.history()[i].started, s.history()[i - 1].ended);
}

TEST(Scheduler, JobOverrunningItsOwnSlotsSkipsThemInsteadOfQueueing) {
  Sim sim{at("2024-06-01T08:30:00Z"), at("2024-06-01T13:30:00Z")};
  sim.duration["incremental"] = 150min;  // 09:00 - 11:30
  Scheduler s({sim.task("incremental", "0 9-17 * * *")}, sim.hooks(), no_catch_up());
  s.run();
  EXPECT_EQ(runs(s), (std::vector<std::string>{"incremental@2024-06-01T09:00:00", "incremental@2024-06-01T12:00:00"}));
  EXPECT_TRUE(logged(s, "incremental: skipped 2 slot(s) that came while it ran"));
}

TEST(Scheduler, FailedJobIsRetriedAtItsNextSlot) {
  Sim sim{at("2024-06-01T08:00:00Z"), at("2024-06-01T11:30:00Z")};
  sim.failures_left["incremental"] = 1;
  Scheduler s(sim.defaults(), sim.hooks(), no_catch_up());
  EXPECT_EQ(s.run(), 3);
  EXPECT_EQ(runs(s), (std::vector<std::string>{"incremental@2024-06-01T09:00:00!", "incremental@2024-06-01T10:00:00",
                                               "incremental@2024-06-01T11:00:00"}));
  EXPECT_EQ(s.history()[0].error, "simulated failure of incremental");
  EXPECT_TRUE(logged(s, "incremental: failed: simulated failure of incremental"));
}

TEST(Scheduler, CatchUpFullRunsFirstWhenNoneOrTooOld) {
  for (std::optional<TimePoint> last :
       {std::optional<TimePoint>{}, std::optional<TimePoint>(at("2024-06-01T10:00:00Z"))}) {
    Sim sim{at("2024-06-02T12:30:00Z"), at("2024-06-02T13:30:00Z")};  // 26.5 h after the last full
    SchedulerOptions o;
    o.last_full = last;
    Scheduler s(sim.defaults(), sim.hooks(), o);
    s.run();
    EXPECT_EQ(runs(s),
              (std::vector<std::string>{"full@2024-06-02T12:30:00(catch-up)", "incremental@2024-06-02T13:00:00"}));
  }
}

TEST(Scheduler, NoCatchUpWhenLastFullIsWithinItsPeriod) {
  Sim sim{at("2024-06-02T12:30:00Z"), at("2024-06-02T13:30:00Z")};
  SchedulerOptions o;
  o.last_full = at("2024-06-01T12:00:00Z");  // 24.5 h: within one day + the 1 h margin
  Scheduler s(sim.defaults(), sim.hooks(), o);
  s.run();
  EXPECT_EQ(runs(s), (std::vector<std::string>{"incremental@2024-06-02T13:00:00"}));
}

TEST(Scheduler, StopFlagIsHonouredBetweenJobsNeverMidway) {
  Sim sim{at("2024-06-01T01:00:00Z"), at("2024-06-02T00:00:00Z")};
  sim.duration["full"] = 5min;
  std::vector<ScheduledTask> tasks = {sim.task("full", "0 2 * * *"), sim.task("cleanup", "0 2 * * *")};
  auto inner = tasks[0].run;
  bool finished = false;
  tasks[0].run = [&] {
    sim.stop = true;  // SIGTERM arrives while full runs
    JobOutput out = inner();
    finished = true;
    return out;
  };
  Scheduler s(std::move(tasks), sim.hooks(), no_catch_up());
  EXPECT_EQ(s.run(), 1);
  EXPECT_TRUE(finished);
  EXPECT_EQ(runs(s), (std::vector<std::string>{"full@2024-06-01T02:00:00"}));  // cleanup (due too) did not start
  EXPECT_TRUE(logged(s, "stop requested"));
}

TEST(Scheduler, MaxJobsEndsTheLoop) {
  Sim sim{at("2024-06-01T00:00:00Z"), at("2024-06-03T00:00:00Z")};
  SchedulerOptions o = no_catch_up();
  o.max_jobs = 2;
  Scheduler s(sim.defaults(), sim.hooks(), o);
  EXPECT_EQ(s.run(), 2);
  EXPECT_EQ(runs(s), (std::vector<std::string>{"full@2024-06-01T02:00:00", "cleanup@2024-06-01T03:00:00"}));
}

// Europe/Berlin: 2024-03-31 02:00 CET -> 03:00 CEST (no 02:xx); 2024-10-27 03:00 CEST -> 02:00 CET
// (02:xx twice). Each job runs once per day, at the documented instant, and nothing is dropped.
TEST(Scheduler, DaylightSavingDaysInBerlinRunEachJobOnce) {
  struct Case {
    const char* from;
    const char* to;
    std::vector<std::string> want;
  };
  std::vector<Case> cases = {
      {"2024-03-30T23:00:00Z", "2024-03-31T07:00:00Z",  // 2024-03-31 00:00 - 09:00 local
       {"full@2024-03-31T01:00:00", "gap@2024-03-31T01:00:00", "cleanup@2024-03-31T01:00:00"}},
      {"2024-10-26T22:00:00Z", "2024-10-27T07:00:00Z",  // 2024-10-27 00:00 - 08:00 local
       // fall back: 02:00 and 02:30 run at their first occurrence only (00:00Z, 00:30Z)
       {"full@2024-10-27T00:00:00", "gap@2024-10-27T00:00:00", "gap@2024-10-27T00:30:00",
        "cleanup@2024-10-27T02:00:00"}},
  };
  for (const Case& c : cases) {
    Sim sim{at(c.from), at(c.to)};
    // "gap" has two runs in the 02:xx hour; on the spring day they collapse into one at 03:00.
    std::vector<ScheduledTask> tasks = {sim.task("full", "0 2 * * *"), sim.task("gap", "0,30 2 * * *"),
                                        sim.task("cleanup", "0 3 * * *")};
    Scheduler s(std::move(tasks), sim.hooks(), no_catch_up("Europe/Berlin"));
    s.run();
    EXPECT_EQ(runs(s), c.want) << c.from;
    EXPECT_FALSE(logged(s, "skipped"));
    // Every run a daylight-saving change moved or kept from repeating has its log line.
    if (std::string(c.from).substr(0, 7) == "2024-03") {
      EXPECT_TRUE(logged(s, "full: run at 2024-03-31T01:00:00.000000Z: 02:00 did not exist")) << c.from;
      EXPECT_TRUE(logged(s, "gap: run at 2024-03-31T01:00:00.000000Z: 02:00 did not exist")) << c.from;
    } else {
      EXPECT_TRUE(logged(s, "full: run at 2024-10-27T00:00:00.000000Z: 02:00 occurs twice")) << c.from;
      EXPECT_TRUE(logged(s, "gap: run at 2024-10-27T00:30:00.000000Z: 02:30 occurs twice")) << c.from;
    }
    EXPECT_FALSE(logged(s, "cleanup: run at")) << c.from;  // 03:00 is an ordinary time both days
  }
}

TEST(Scheduler, ReportsEachFinishedJobWithItsOutputOrError) {
  Sim sim{at("2024-06-01T00:00:00Z"), at("2024-06-01T04:00:00Z")};
  sim.failures_left["cleanup"] = 1;
  std::vector<JobRun> reported;
  SchedulerHooks hooks = sim.hooks();
  hooks.job_finished = [&](const JobRun& r) { reported.push_back(r); };
  Scheduler s({sim.task("full", "0 2 * * *"), sim.task("cleanup", "0 3 * * *")}, hooks, no_catch_up());
  s.run();
  ASSERT_EQ(reported.size(), 2u);
  EXPECT_TRUE(reported[0].ok);
  EXPECT_EQ(reported[0].output.backup_id, "full_id");
  EXPECT_EQ(reported[0].output.bytes_added, 42u);
  EXPECT_FALSE(reported[1].ok);
  EXPECT_EQ(reported[1].error, "simulated failure of cleanup");
  EXPECT_EQ(reported[1].output.backup_id, "");
}

TEST(Scheduler, JobWithOutputButAFailureIsAFailedRunKeepingItsOutput) {
  // A backup committed locally whose off-site copy failed: failed, as `create` exits 6.
  Sim sim{at("2024-06-01T00:00:00Z"), at("2024-06-01T03:00:00Z")};
  std::vector<JobRun> reported;
  SchedulerHooks hooks = sim.hooks();
  hooks.job_finished = [&](const JobRun& r) { reported.push_back(r); };
  ScheduledTask full{"full", CronExpr::parse("0 2 * * *"), [] {
                       JobOutput out{"full_1", 42, 0, "ran full"};
                       out.offsite_copied = false;
                       out.failure = "backup full_1 is committed locally but NOT off-site: denied";
                       return out;
                     }};
  Scheduler s({full}, hooks, no_catch_up());
  s.run();
  ASSERT_EQ(reported.size(), 1u);
  EXPECT_FALSE(reported[0].ok);
  EXPECT_EQ(reported[0].error, "backup full_1 is committed locally but NOT off-site: denied");
  EXPECT_EQ(reported[0].output.backup_id, "full_1");  // the notification still names the backup
  EXPECT_TRUE(logged(s, "full: failed: backup full_1 is committed locally but NOT off-site"));
  EXPECT_FALSE(logged(s, "full: finished"));
}

}  // namespace
}  // namespace coffer::schedule
