#include "source/postgres/pg_archive_rows.h"

#include <gtest/gtest.h>

#include <functional>
#include <random>

#include "source/postgres/pg_archive_test_builder.h"
#include "source/postgres/pg_dump_stream.h"
#include "source/postgres/pg_test_env.h"

namespace coffer::pg {
namespace {

using Rows = std::map<ArchiveRowCounter::TableName, uint64_t>;

// Feeds `stream` in pieces whose sizes `next_size` chooses.
ArchiveRowCounter count_in_pieces(const Bytes& stream, const std::function<size_t()>& next_size) {
  ArchiveRowCounter counter;
  for (size_t at = 0; at < stream.size();) {
    size_t n = std::min(next_size(), stream.size() - at);
    counter.feed(ByteView(stream).subspan(at, n));
    at += n;
  }
  counter.finish();
  return counter;
}

ArchiveRowCounter count_whole(const Bytes& stream) {
  return count_in_pieces(stream, [&] { return stream.size(); });
}

TEST(ArchiveRowCounter, CountsAHandBuiltArchiveFedInAnyPieces) {
  const Rows expected{{{"public", "a"}, 3}, {{"odd schema", "B \"x\""}, 0}, {{"public", "many"}, 3000}};
  for (int vmin : {14, 15}) {
    ArchiveBuilder built = valid_archive(vmin, 3000);
    const Bytes& archive = built.out;
    ASSERT_EQ(built.starts.size(), 4u);
    for (size_t piece : {size_t(1), size_t(2), size_t(7), size_t(4096), archive.size()}) {
      ArchiveRowCounter c = count_in_pieces(archive, [&] { return piece; });
      EXPECT_TRUE(c.understood()) << c.reason();
      EXPECT_TRUE(c.complete()) << c.reason();
      EXPECT_EQ(c.rows(), expected) << "vmin " << vmin << ", pieces of " << piece;
      EXPECT_EQ(c.block_offsets(), built.starts) << "vmin " << vmin << ", pieces of " << piece;
    }
  }
}

TEST(ArchiveRowCounter, RefusesACompressedArchive) {
  for (auto [vmin, compression] : {std::pair{14, 6}, std::pair{14, -1}, std::pair{15, 1}}) {
    ArchiveBuilder b(vmin, compression);
    b.toc({{2, "TABLE DATA", "public", "a", true}});
    b.data_block(2, {"compressed bytes\n"});
    ArchiveRowCounter c = count_whole(b.out);
    EXPECT_FALSE(c.understood());
    EXPECT_NE(c.reason().find("compressed"), std::string::npos) << c.reason();
    EXPECT_FALSE(c.complete());
    EXPECT_TRUE(c.rows().empty());
  }
}

TEST(ArchiveRowCounter, RefusesUnknownVersionsAndFormats) {
  for (int vmin : {11, 16}) {
    ArchiveBuilder b(vmin);
    b.toc({});
    ArchiveRowCounter c = count_whole(b.out);
    EXPECT_FALSE(c.understood());
    EXPECT_NE(c.reason().find("1." + std::to_string(vmin)), std::string::npos) << c.reason();
  }
  std::string plain_sql = "--\n-- PostgreSQL database dump\n";
  ArchiveRowCounter not_custom = count_whole(Bytes(plain_sql.begin(), plain_sql.end()));
  EXPECT_FALSE(not_custom.understood());
  EXPECT_FALSE(not_custom.reason().empty());
}

TEST(ArchiveRowCounter, StopsAtWhatItDoesNotKnowInTheDataBlocks) {
  ArchiveBuilder base;
  base.toc({{2, "TABLE DATA", "public", "a", true}, {3, "TABLE DATA", "public", "b", true}});
  base.table_block(2, {"1\n", "2\n"});

  ArchiveBuilder unknown_block = base;
  unknown_block.out.push_back(2);  // BLK_DATA and BLK_BLOBS only
  unknown_block.write_int(3);
  unknown_block.write_int(0);
  ArchiveRowCounter c = count_whole(unknown_block.out);
  EXPECT_FALSE(c.understood());
  EXPECT_NE(c.reason().find("block type 2"), std::string::npos) << c.reason();
  EXPECT_EQ(c.rows(), (Rows{{{"public", "a"}, 2}}));  // what it counted before stays

  ArchiveBuilder negative = base;
  negative.out.push_back(1);
  negative.write_int(3);
  negative.write_int(-5);
  c = count_whole(negative.out);
  EXPECT_FALSE(c.understood());
  EXPECT_NE(c.reason().find("negative"), std::string::npos) << c.reason();

  ArchiveBuilder huge = base;
  huge.out.push_back(1);
  huge.write_int(3);
  huge.out.insert(huge.out.end(), {0, 0xff, 0xff, 0xff, 0xff});  // 2^32 - 1 > INT_MAX
  c = count_whole(huge.out);
  EXPECT_FALSE(c.understood());
  EXPECT_NE(c.reason().find("out of range"), std::string::npos) << c.reason();

  ArchiveBuilder stranger = base;
  stranger.table_block(9, {"1\n"});
  c = count_whole(stranger.out);
  EXPECT_FALSE(c.understood());
  EXPECT_NE(c.reason().find("dump id 9"), std::string::npos) << c.reason();
}

TEST(ArchiveRowCounter, CountsOnlyCopyTextEndingWithItsMarker) {
  // Zero-column tables have empty lines; the marker must be on a line of its own.
  ArchiveBuilder zero_columns;
  zero_columns.toc({{2, "TABLE DATA", "public", "z", true}});
  zero_columns.table_block(2, {"\n", "\n"});
  ArchiveRowCounter c = count_whole(zero_columns.out);
  EXPECT_TRUE(c.complete()) << c.reason();
  EXPECT_EQ(c.rows(), (Rows{{{"public", "z"}, 2}}));

  for (const std::vector<std::string>& pieces : std::vector<std::vector<std::string>>{
           {"1\n", "2\n"}, {"1\n", "2\\.\n\n\n"}, {"\\.\n\n"}, {"1\n", "\\.\n\n\n", "3\n"}}) {
    ArchiveBuilder no_marker;
    no_marker.toc({{2, "TABLE DATA", "public", "a", true}});
    no_marker.data_block(2, pieces);
    c = count_whole(no_marker.out);
    EXPECT_FALSE(c.understood());
    EXPECT_NE(c.reason().find("end marker"), std::string::npos) << c.reason();
  }

  ArchiveBuilder inserts;
  inserts.toc({{2, "TABLE DATA", "public", "a", true, true}});
  inserts.data_block(2, {"INSERT INTO public.a VALUES (1);\n"});
  c = count_whole(inserts.out);
  EXPECT_FALSE(c.understood());
  EXPECT_NE(c.reason().find("INSERT"), std::string::npos) << c.reason();
}

TEST(ArchiveRowCounter, ATruncatedStreamIsNotComplete) {
  Bytes archive = valid_archive().out;
  ArchiveRowCounter whole = count_whole(archive);
  ASSERT_TRUE(whole.complete()) << whole.reason();

  // Cut inside the header, the table of contents, a data piece and a blob: each understood so
  // far, none complete.
  size_t cuts = 0;
  for (size_t len = 0; len < archive.size(); ++len) {
    ArchiveRowCounter c = count_whole(Bytes(archive.begin(), archive.begin() + static_cast<std::ptrdiff_t>(len)));
    EXPECT_TRUE(c.understood()) << "cut at " << len << ": " << c.reason();
    EXPECT_FALSE(c.complete()) << "cut at " << len;
    EXPECT_FALSE(c.reason().empty()) << "cut at " << len;
    ++cuts;
  }
  EXPECT_EQ(cuts, archive.size());

  // Ends at a block boundary, but an entry's data never came.
  ArchiveBuilder missing;
  missing.toc({{2, "TABLE DATA", "public", "a", true}, {3, "TABLE DATA", "public", "b", true}});
  missing.table_block(2, {"1\n"});
  ArchiveRowCounter c = count_whole(missing.out);
  EXPECT_TRUE(c.understood());
  EXPECT_FALSE(c.complete());
  EXPECT_NE(c.reason().find("dump id 3"), std::string::npos) << c.reason();
}

class PgArchiveRowsTest : public PgTestBase {};

}  // namespace

TEST_F(PgArchiveRowsTest, CountsMatchCountStarForEveryTable) {
  std::string db = new_database("coffer_rows");
  sql(db,
      "CREATE TABLE plain (id int, t text); INSERT INTO plain SELECT g, repeat('x', g % 300) FROM "
      "generate_series(1, 5000) g;"
      "CREATE TABLE tricky (id int, t text, b bytea);"
      "INSERT INTO tricky VALUES (1, E'two\\nlines', E'\\\\x0a0a0d'), (2, E'tab\\there', NULL),"
      " (3, E'back\\\\slash\\\\n', ''), (4, NULL, NULL), (5, E'\\\\.', E'\\\\x5c2e0a'), (6, E'\\r\\n\\n', NULL),"
      " (7, '', NULL);"
      "CREATE TABLE empty_one (x int);"
      "CREATE TABLE zero_columns (); INSERT INTO zero_columns DEFAULT VALUES; INSERT INTO zero_columns DEFAULT VALUES;"
      "CREATE SCHEMA \"Other Schema\";"
      "CREATE TABLE \"Other Schema\".\"Mixed \"\"Case\"\" name\" (v text);"
      "INSERT INTO \"Other Schema\".\"Mixed \"\"Case\"\" name\" SELECT E'row\\n' || g FROM generate_series(1, 42) g;"
      "CREATE TABLE parted (id int, t text) PARTITION BY RANGE (id);"
      "CREATE TABLE parted_low PARTITION OF parted FOR VALUES FROM (0) TO (100);"
      "CREATE TABLE parted_high PARTITION OF parted FOR VALUES FROM (100) TO (1000);"
      "INSERT INTO parted SELECT g, E'p\\n' FROM generate_series(1, 250) g;"
      "CREATE MATERIALIZED VIEW mv AS SELECT * FROM plain;"
      "SELECT lo_from_bytea(0, E'large\\nobject\\nwith\\nnewlines')");
  Connection conn(config(db));
  Session session(conn);
  Tools tools = find_tools(session.server_version_num());

  std::vector<TableInfo> tables;
  const Bytes stream = dump_from_snapshot(session, conn, tools, [&] { tables = session.tables_with_row_counts(); });
  Rows expected;
  for (const TableInfo& t : tables) expected[{t.schema, t.name}] = t.rows;
  ASSERT_EQ(expected.size(), 7u);  // plain, tricky, empty_one, zero_columns, the odd one, two partitions
  EXPECT_EQ(expected.at({"Other Schema", "Mixed \"Case\" name"}), 42u);
  EXPECT_EQ(expected.at({"public", "tricky"}), 7u);
  EXPECT_EQ(expected.at({"public", "zero_columns"}), 2u);

  std::mt19937 rng(20261126);
  std::uniform_int_distribution<size_t> random_size(1, 20000);
  const std::vector<std::pair<std::string, std::function<size_t()>>> splits = {
      {"1 byte", [] { return size_t(1); }},
      {"7 bytes", [] { return size_t(7); }},
      {"64 KiB", [] { return size_t(65536); }},
      {"random", [&] { return random_size(rng); }},
  };
  for (const auto& [name, next_size] : splits) {
    ArchiveRowCounter c = count_in_pieces(stream, next_size);
    EXPECT_TRUE(c.understood()) << name << ": " << c.reason();
    EXPECT_TRUE(c.complete()) << name << ": " << c.reason();
    EXPECT_EQ(c.rows(), expected) << name;
  }
}

}  // namespace coffer::pg
