#include "source/postgres/wal/wal_names.h"

#include <gtest/gtest.h>

namespace coffer::pg::wal {
namespace {

constexpr uint64_t k16MiB = 16u << 20;

TEST(WalNamesTest, ParsesTheFourKinds) {
  auto seg = parse_file_name("000000020000001A000000FE");
  ASSERT_TRUE(seg);
  EXPECT_EQ(seg->kind, FileKind::kSegment);
  EXPECT_EQ(seg->timeline, 2u);
  EXPECT_EQ(seg->log, 0x1Au);
  EXPECT_EQ(seg->seg, 0xFEu);
  EXPECT_EQ(parse_file_name("000000010000000000000003.partial")->kind, FileKind::kPartial);
  EXPECT_EQ(parse_file_name("000000010000000000000003.00000028.backup")->kind, FileKind::kBackupHistory);
  auto history = parse_file_name("0000000A.history");
  ASSERT_TRUE(history);
  EXPECT_EQ(history->kind, FileKind::kTimelineHistory);
  EXPECT_EQ(history->timeline, 10u);
}

TEST(WalNamesTest, RefusesEverythingElse) {
  for (const char* bad : {"", "00000001000000000000000", "0000000100000000000000030", "000000010000000000000003.tmp",
                          "000000010000000000000003.partial.x", "00000001000000000000000g", "000000010000000000000003a",
                          "0000000a.history", "../00000001.history", "00000001.history/x", "archive_status",
                          "000000010000000000000003.0000002.backup", "000000010000000000000003.000000280.backup"})
    EXPECT_FALSE(parse_file_name(bad)) << bad;
}

TEST(WalNamesTest, SegmentArithmeticMatchesPostgres) {
  // pg_walfile_name('16/B374D848') on timeline 1 with 16 MiB segments: 0000000100000016000000B3.
  const uint64_t lsn = *parse_lsn("16/B374D848");
  EXPECT_EQ(lsn, 0x16B374D848ull);
  const uint64_t n = segment_of_lsn(lsn, k16MiB);
  EXPECT_EQ(segment_name(1, n, k16MiB), "0000000100000016000000B3");
  EXPECT_EQ(segment_number(*parse_file_name("0000000100000016000000B3"), k16MiB), n);
  // The segment after the last of a log starts the next log.
  EXPECT_EQ(segment_name(1, segment_number(*parse_file_name("0000000100000016000000FF"), k16MiB) + 1, k16MiB),
            "000000010000001700000000");
  // 1 GiB segments: 4 per log.
  EXPECT_EQ(segment_name(3, 9, 1ull << 30), "000000030000000200000001");
}

TEST(WalNamesTest, LsnTextRoundTrips) {
  EXPECT_EQ(format_lsn(0x16B374D848ull), "16/B374D848");
  EXPECT_EQ(format_lsn(0), "0/0");
  EXPECT_EQ(*parse_lsn("0/3000028"), 0x3000028ull);
  EXPECT_EQ(*parse_lsn("a/ff"), 0xA000000FFull);
  for (const char* bad : {"", "/", "1/", "/1", "123456789/0", "1/2/3", "x/1", "1-2"}) EXPECT_FALSE(parse_lsn(bad)) << bad;
}

}  // namespace
}  // namespace coffer::pg::wal
