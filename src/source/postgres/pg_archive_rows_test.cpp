#include "source/postgres/pg_archive_rows.h"

#include <gtest/gtest.h>

#include <functional>
#include <random>

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

// Writes a custom-format archive the way pg_dump does, small enough to build by hand.
class ArchiveBuilder {
 public:
  explicit ArchiveBuilder(int vmin = 14, int compression = 0) {
    for (char c : std::string("PGDMP")) out.push_back(static_cast<uint8_t>(c));
    out.insert(out.end(), {1, static_cast<uint8_t>(vmin), 0, 4, 8, 1});
    if (vmin >= 15)
      out.push_back(static_cast<uint8_t>(compression));
    else
      write_int(compression);
    for (int v : {5, 4, 3, 2, 1, 124, 0}) write_int(v);  // creation time
    write_str("db");
    write_str("15.18");
    write_str("15.18");
    vmin_ = vmin;
  }
  void write_int(int64_t v) {
    out.push_back(v < 0 ? 1 : 0);
    uint64_t m = static_cast<uint64_t>(v < 0 ? -v : v);
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(m >> (8 * i)));
  }
  void write_str(const std::string& s) {
    write_int(static_cast<int64_t>(s.size()));
    out.insert(out.end(), s.begin(), s.end());
  }
  void write_null() { write_int(-1); }

  struct Entry {
    int id;
    std::string desc, schema, tag;
    bool has_data;
    bool as_inserts = false;  // pg_dump --inserts: no COPY statement
  };
  void toc(const std::vector<Entry>& entries) {
    write_int(static_cast<int64_t>(entries.size()));
    for (const Entry& e : entries) {
      write_int(e.id);
      write_int(e.has_data);
      write_str("1259");
      write_str("16384");
      write_str(e.tag);
      write_str(e.desc);
      write_int(e.has_data ? 3 : 2);  // section
      write_str("");                  // defn
      write_str("");                  // drop
      write_str(e.desc == "TABLE DATA" && !e.as_inserts ? "COPY x FROM stdin;\n" : "");
      write_str(e.schema);
      write_str("");
      if (vmin_ >= 14) write_str("heap");
      write_str("owner");
      write_str("false");
      write_str("7");  // one dependency
      write_null();
      out.push_back(e.has_data ? 1 : 3);  // offset not set / no data
      for (int i = 0; i < 8; ++i) out.push_back(0);
    }
  }
  void data_block(int id, const std::vector<std::string>& pieces) {
    starts[id] = out.size();
    out.push_back(1);
    write_int(id);
    for (const auto& p : pieces) write_str(p);
    write_int(0);
  }
  // A table's COPY text: the rows, one piece each as pg_dump writes them, then the end marker.
  void table_block(int id, std::vector<std::string> rows) {
    rows.push_back("\\.\n\n\n");
    data_block(id, rows);
  }
  void blobs_block(int id, const std::vector<std::pair<int64_t, std::string>>& blobs) {
    starts[id] = out.size();
    out.push_back(3);
    write_int(id);
    for (const auto& [oid, bytes] : blobs) {
      write_int(oid);
      write_str(bytes);
      write_int(0);
    }
    write_int(0);
  }

  Bytes out;
  std::map<int64_t, uint64_t> starts;  // dump id -> offset of its data block

 private:
  int vmin_;
};

// Two tables, a large object with newlines, an entry without data, and optionally a table of
// `many` rows (enough to stream the data in small pieces once the table of contents is parsed).
ArchiveBuilder valid_archive(int vmin = 14, int many = 0) {
  ArchiveBuilder b(vmin);
  b.toc({{1, "TABLE", "public", "a", false},
         {2, "TABLE DATA", "public", "a", true},
         {3, "TABLE DATA", "odd schema", "B \"x\"", true},
         {4, "BLOBS", "", "BLOBS", true},
         {5, "TABLE DATA", "public", "many", true}});
  b.table_block(2, {"1\tx\\ny\n", "2\t\\N\n", "3\t\\\\.\n"});
  b.table_block(3, {});
  b.blobs_block(4, {{16385, "a\nb\nc\n"}, {-1294967296, "\n"}});
  b.table_block(5, std::vector<std::string>(static_cast<size_t>(many), "row\n"));
  return b;
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

  Bytes stream;
  std::vector<TableInfo> tables;
  {
    std::string snapshot = session.begin_snapshot();
    DumpStream dump(tools, conn, snapshot);
    stream = read_whole_dump(dump);
    tables = session.tables_with_row_counts();
    session.end_snapshot();
  }
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
