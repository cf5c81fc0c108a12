// The retention policy as a table of cases with a fake clock and irregular backup times.
#include "engine/retention_policy.h"

#include <algorithm>
#include <set>

#include <gtest/gtest.h>

#include "coffer/clock.h"

namespace coffer {
namespace {

using namespace std::chrono;

TimePoint at(const std::string& iso) {
  auto t = parse_iso8601_utc(iso);
  if (!t) throw std::runtime_error("bad time in test: " + iso);
  return *t;
}

struct B {
  std::string time;   // ISO 8601 UTC; also the id (made unique by `tag`)
  char type = 'f';    // f full, i incremental, d differential
  bool pinned = false;
  bool files = true;
  bool db = false;
  std::string tag = "";
};

std::string id_of(const B& b) {
  std::string id = b.time.substr(0, 19) + b.tag;
  std::replace(id.begin(), id.end(), ':', '.');
  return id;
}

std::vector<RetentionCandidate> candidates(const std::vector<B>& bs) {
  std::vector<RetentionCandidate> out;
  for (const B& b : bs)
    out.push_back({id_of(b), b.type == 'f' ? BackupType::kFull : b.type == 'i' ? BackupType::kIncremental
                                                                              : BackupType::kDifferential,
                   at(b.time), b.pinned, b.files, b.db});
  return out;
}

std::set<std::string> kept(const std::vector<RetentionDecision>& d) {
  std::set<std::string> out;
  for (const auto& x : d)
    if (x.keep) out.insert(x.backup_id);
  return out;
}

std::set<std::string> ids(std::initializer_list<std::string> times) {
  std::set<std::string> out;
  for (const auto& t : times) out.insert(id_of({t}));
  return out;
}

const RetentionDecision& decision(const std::vector<RetentionDecision>& d, const std::string& time) {
  for (const auto& x : d)
    if (x.backup_id == id_of({time})) return x;
  throw std::runtime_error("no decision for " + time);
}

bool has_reason(const RetentionDecision& d, const std::string& reason) {
  return std::find(d.reasons.begin(), d.reasons.end(), reason) != d.reasons.end();
}

// Every day at 02:00 from 2024-09-01 to 2024-12-01; a full on the 1st of each month.
std::vector<B> daily_backups() {
  std::vector<B> out;
  for (sys_days d = sys_days(2024y / 9 / 1); d <= sys_days(2024y / 12 / 1); d += days(1)) {
    year_month_day ymd(d);
    char buf[32];
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT02:00:00Z", int(ymd.year()), unsigned(ymd.month()),
                  unsigned(ymd.day()));
    out.push_back({buf, unsigned(ymd.day()) == 1 ? 'f' : 'i'});
  }
  return out;
}

struct Case {
  const char* name;
  RetentionPolicy policy;
  const char* now;
  std::vector<B> backups;
  std::set<std::string> expected_kept;
};

std::vector<Case> cases() {
  return {
      {"days alone: younger than N days stays, exactly N days goes",
       {30},
       "2024-12-31T12:00:00Z",
       {{"2024-10-01T02:00:00Z"}, {"2024-11-30T13:00:00Z"}, {"2024-12-01T11:59:59Z"}, {"2024-12-01T12:00:00Z"},
        {"2024-12-01T12:00:01Z"}, {"2024-12-15T08:30:00Z", 'i'}, {"2024-12-31T02:00:00Z"}},
       ids({"2024-12-01T12:00:01Z", "2024-12-15T08:30:00Z", "2024-12-31T02:00:00Z"})},
      {"days alone: a backup from the future (clock skew) stays",
       {1},
       "2024-12-31T12:00:00Z",
       {{"2024-12-01T00:00:00Z", 'i'}, {"2025-01-02T00:00:00Z"}},
       ids({"2025-01-02T00:00:00Z"})},
      {"keep-last alone",
       {1, 3},
       "2025-06-01T00:00:00Z",
       {{"2024-01-05T10:00:00Z"}, {"2024-03-01T23:00:00Z", 'i'}, {"2024-03-02T01:00:00Z", 'd'},
        {"2024-07-19T17:45:00Z", 'i'}, {"2024-07-19T17:46:00Z"}},
       ids({"2024-03-02T01:00:00Z", "2024-07-19T17:45:00Z", "2024-07-19T17:46:00Z"})},
      {"keep-last larger than the number of backups keeps all",
       {1, 10},
       "2025-06-01T00:00:00Z",
       {{"2024-01-05T10:00:00Z"}, {"2024-03-01T23:00:00Z", 'i'}},
       ids({"2024-01-05T10:00:00Z", "2024-03-01T23:00:00Z"})},
      {"daily alone: newest of each day, days without backups do not count, UTC midnight splits",
       {1, 0, 3},
       "2024-12-20T00:00:00Z",
       {{"2024-12-01T01:00:00Z"}, {"2024-12-01T23:59:59Z", 'i'}, {"2024-12-02T00:00:00Z", 'i'},
        {"2024-12-04T12:00:00Z", 'i'}, {"2024-12-04T13:00:00Z", 'd'}, {"2024-12-07T09:10:00Z"}},
       ids({"2024-12-02T00:00:00Z", "2024-12-04T13:00:00Z", "2024-12-07T09:10:00Z"})},
      {"weekly alone: ISO weeks across a year end",
       {1, 0, 0, 3},
       "2025-02-01T00:00:00Z",
       {{"2024-12-23T08:00:00Z"}, {"2024-12-29T22:00:00Z", 'i'}, {"2024-12-30T03:00:00Z", 'i'},
        {"2025-01-04T23:00:00Z", 'i'}, {"2025-01-06T00:30:00Z"}},
       ids({"2024-12-29T22:00:00Z", "2025-01-04T23:00:00Z", "2025-01-06T00:30:00Z"})},
      {"monthly alone: months without backups do not count",
       {1, 0, 0, 0, 2},
       "2025-06-01T00:00:00Z",
       {{"2025-01-31T23:00:00Z"}, {"2025-02-01T00:30:00Z", 'i'}, {"2025-02-28T12:00:00Z", 'i'},
        {"2025-03-15T12:00:00Z", 'i'}, {"2025-05-02T06:00:00Z"}},
       ids({"2025-03-15T12:00:00Z", "2025-05-02T06:00:00Z"})},
      {"yearly alone",
       {1, 0, 0, 0, 0, 2},
       "2025-06-01T00:00:00Z",
       {{"2021-06-01T00:00:00Z"}, {"2022-01-01T00:00:00Z"}, {"2022-12-31T23:59:00Z", 'i'},
        {"2024-03-03T03:03:00Z"}},
       ids({"2022-12-31T23:59:00Z", "2024-03-03T03:03:00Z"})},
      {"mixture: days + daily + weekly + monthly over three months of daily backups",
       {3, 0, 5, 3, 3},
       "2024-12-01T12:00:00Z",
       daily_backups(),
       ids({"2024-12-01T02:00:00Z", "2024-11-30T02:00:00Z", "2024-11-29T02:00:00Z", "2024-11-28T02:00:00Z",
            "2024-11-27T02:00:00Z", "2024-11-24T02:00:00Z", "2024-11-17T02:00:00Z", "2024-10-31T02:00:00Z"})},
      {"mixture: keep-last + yearly, plus a pinned backup",
       {1, 2, 0, 0, 0, 2},
       "2026-01-01T00:00:00Z",
       {{"2023-05-05T05:05:00Z", 'f', true}, {"2024-06-30T00:00:00Z"}, {"2024-12-30T00:00:00Z", 'i'},
        {"2025-03-01T00:00:00Z"}, {"2025-03-02T00:00:00Z", 'i'}, {"2025-03-03T00:00:00Z", 'i'}},
       ids({"2023-05-05T05:05:00Z", "2024-12-30T00:00:00Z", "2025-03-01T00:00:00Z", "2025-03-02T00:00:00Z",
            "2025-03-03T00:00:00Z"})},
      {"guard: the newest full backup stays even when every rule lets it go",
       {7},
       "2024-12-06T00:00:00Z",
       {{"2023-12-01T00:00:00Z"}, {"2024-01-01T00:00:00Z"}, {"2024-12-01T00:00:00Z", 'i'},
        {"2024-12-05T00:00:00Z", 'd'}},
       ids({"2024-01-01T00:00:00Z", "2024-12-01T00:00:00Z", "2024-12-05T00:00:00Z"})},
      {"guard: newest full of each part (files-only and database-only backups)",
       {1},
       "2025-01-01T00:00:00Z",
       {{"2024-01-01T00:00:00Z", 'f', false, true, false}, {"2024-01-02T00:00:00Z", 'f', false, false, true},
        {"2024-01-03T00:00:00Z", 'f', false, true, false}, {"2024-01-04T00:00:00Z", 'i', false, true, true}},
       ids({"2024-01-02T00:00:00Z", "2024-01-03T00:00:00Z"})},
  };
}

TEST(RetentionPolicyTest, TableOfCases) {
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.name);
    auto d = apply_retention(candidates(c.backups), c.policy, at(c.now));
    ASSERT_EQ(d.size(), c.backups.size());
    EXPECT_EQ(kept(d), c.expected_kept);
    for (size_t i = 0; i < d.size(); ++i) {
      EXPECT_EQ(d[i].backup_id, id_of(c.backups[i])) << "decisions keep the input order";
      EXPECT_FALSE(d[i].reasons.empty()) << d[i].backup_id << " has no reason";
    }
  }
}

TEST(RetentionPolicyTest, InputOrderDoesNotMatter) {
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.name);
    std::vector<B> reversed(c.backups.rbegin(), c.backups.rend());
    EXPECT_EQ(kept(apply_retention(candidates(reversed), c.policy, at(c.now))), c.expected_kept);
  }
}

TEST(RetentionPolicyTest, KeptBackupsListEveryRuleThatKeepsThem) {
  auto d = apply_retention(candidates(daily_backups()), {3, 0, 5, 3, 3}, at("2024-12-01T12:00:00Z"));
  const auto& newest = decision(d, "2024-12-01T02:00:00Z");
  EXPECT_TRUE(newest.kept_by_policy);
  for (const char* r :
       {"within 3 days", "daily 2024-12-01", "weekly 2024-W48", "monthly 2024-12", "newest full backup"})
    EXPECT_TRUE(has_reason(newest, r)) << r;
  const auto& october = decision(d, "2024-10-31T02:00:00Z");
  EXPECT_EQ(october.reasons, std::vector<std::string>{"monthly 2024-10"});
  const auto& gone = decision(d, "2024-10-19T02:00:00Z");
  EXPECT_FALSE(gone.keep);
  EXPECT_EQ(gone.reasons,
            std::vector<std::string>{"43 days old, beyond RETENTION_DAYS=3, and no KEEP_* rule keeps it"});
}

TEST(RetentionPolicyTest, IsoWeekAtYearBoundaries) {
  // 2020-12-31 is a Thursday: 2021-01-03 (Sunday) still belongs to 2020-W53.
  auto d = apply_retention(candidates({{"2021-01-03T12:00:00Z"}, {"2021-01-04T00:00:00Z"}}), {1, 0, 0, 5},
                           at("2021-06-01T00:00:00Z"));
  EXPECT_TRUE(has_reason(decision(d, "2021-01-03T12:00:00Z"), "weekly 2020-W53"));
  EXPECT_TRUE(has_reason(decision(d, "2021-01-04T00:00:00Z"), "weekly 2021-W01"));
}

TEST(RetentionPolicyTest, PinsAndGuardsKeepButAreNotPolicyKeeps) {
  auto d = apply_retention(candidates({{"2024-01-01T00:00:00Z", 'f', true}, {"2024-02-01T00:00:00Z"},
                                       {"2024-02-02T00:00:00Z", 'i'}}),
                           {5}, at("2025-01-01T00:00:00Z"));
  const auto& pinned = decision(d, "2024-01-01T00:00:00Z");
  EXPECT_TRUE(pinned.keep);
  EXPECT_FALSE(pinned.kept_by_policy);
  EXPECT_EQ(pinned.reasons, std::vector<std::string>{"pinned"});
  const auto& full = decision(d, "2024-02-01T00:00:00Z");
  EXPECT_TRUE(full.keep);
  EXPECT_FALSE(full.kept_by_policy);
  EXPECT_EQ(full.reasons, std::vector<std::string>{"newest full backup"});
  EXPECT_FALSE(decision(d, "2024-02-02T00:00:00Z").keep);
  EXPECT_EQ(decision(d, "2024-02-02T00:00:00Z").reasons,
            std::vector<std::string>{"334 days old, beyond RETENTION_DAYS=5"});
}

TEST(RetentionPolicyTest, SameSecondBackupsAreOrderedById) {
  // Two backups started in the same second: the id with the "_2" suffix is the newer one.
  auto d = apply_retention(candidates({{"2024-01-01T00:00:00Z", 'i', false, true, false, "_2"},
                                       {"2024-01-01T00:00:00Z", 'i'}, {"2023-01-01T00:00:00Z"}}),
                           {1, 1}, at("2025-01-01T00:00:00Z"));
  EXPECT_TRUE(d[0].keep);
  EXPECT_FALSE(d[1].keep);
}

TEST(RetentionPolicyTest, EmptyInputAndPolicyDescription) {
  EXPECT_TRUE(apply_retention({}, {}, at("2025-01-01T00:00:00Z")).empty());
  EXPECT_EQ(describe_policy({30}), "RETENTION_DAYS=30");
  EXPECT_EQ(describe_policy({7, 2, 0, 4, 0, 1}), "RETENTION_DAYS=7, KEEP_LAST=2, KEEP_WEEKLY=4, KEEP_YEARLY=1");
}

}  // namespace
}  // namespace coffer
