#include "engine/row_count_check.h"

#include <gtest/gtest.h>

namespace coffer {
namespace {

struct Counter {
  std::map<std::string, uint64_t> tables;  // what count(*) finds
  std::vector<std::string> asked;
  std::optional<uint64_t> operator()(const TableRows& t) {
    asked.push_back(t.schema + "." + t.name);
    auto it = tables.find(t.schema + "." + t.name);
    if (it == tables.end()) return std::nullopt;
    return it->second;
  }
};

TEST(RowCountCheck, MatchingStatisticsNeedNoScan) {
  Counter c{{{"public.a", 3}, {"public.b", 0}}};
  auto r = check_row_counts({{"public", "a", 3}, {"public", "b", 0}}, {{"public.a", 3}, {"public.b", 0}}, std::ref(c));
  EXPECT_TRUE(r.mismatches.empty());
  EXPECT_EQ(r.scanned, 0u);
  EXPECT_TRUE(c.asked.empty());
}

TEST(RowCountCheck, LaggingStatisticsAreCheckedWithCount) {
  // pg_restore's sessions had not flushed their counts yet (2 of 5), or a table is missing from
  // the statistics (updates counted, statistics off): count(*) decides, and agrees.
  Counter c{{{"public.a", 5}, {"s.b", 7}}};
  auto r = check_row_counts({{"public", "a", 5}, {"s", "b", 7}}, {{"public.a", 2}}, std::ref(c));
  EXPECT_TRUE(r.mismatches.empty());
  EXPECT_EQ(r.scanned, 2u);
  EXPECT_EQ(c.asked, (std::vector<std::string>{"public.a", "s.b"}));
}

TEST(RowCountCheck, ShortAndMissingTablesAreReported) {
  Counter c{{{"public.a", 4}}};
  auto r = check_row_counts({{"public", "a", 5}, {"public", "gone", 2}}, {{"public.a", 4}}, std::ref(c));
  ASSERT_EQ(r.mismatches.size(), 2u);
  EXPECT_EQ(r.mismatches[0].table, "public.a");
  EXPECT_EQ(r.mismatches[0].expected, 5u);
  EXPECT_EQ(r.mismatches[0].actual, 4u);
  EXPECT_EQ(r.mismatches[1].table, "public.gone");
  EXPECT_EQ(r.mismatches[1].actual, 0u);
}

TEST(RowCountCheck, StatisticsAboveTheDumpAreNotTrusted) {
  // More inserted than dumped: count(*) must say so, not the statistics.
  Counter c{{{"public.a", 6}}};
  auto r = check_row_counts({{"public", "a", 5}}, {{"public.a", 6}}, std::ref(c));
  ASSERT_EQ(r.mismatches.size(), 1u);
  EXPECT_EQ(r.mismatches[0].actual, 6u);
}

}  // namespace
}  // namespace coffer
