#include "source/postgres/restored_checks.h"

#include <gtest/gtest.h>

#include "coffer/error.h"
#include "source/postgres/pg_test_env.h"

namespace coffer::pg {
namespace {

TEST(ParseProbes, QueriesEndWithASemicolonAtALineEndAndMaySpanLines) {
  auto probes = parse_probes(
      "-- the school's own checks\n"
      "select count(*) > 0 from students;\n"
      "\n"
      "select max(graded_at) > now() - interval '2 days'\n"
      "  from grades;\n"
      "select ';' = ';';\n",
      "probes.sql");
  ASSERT_EQ(probes.size(), 3u);
  EXPECT_EQ(probes[0].line, 2);
  EXPECT_EQ(probes[0].sql, "select count(*) > 0 from students");
  EXPECT_EQ(probes[1].line, 4);
  EXPECT_EQ(probes[1].sql, "select max(graded_at) > now() - interval '2 days'\n  from grades");
  EXPECT_EQ(probes[2].sql, "select ';' = ';'");
  EXPECT_TRUE(parse_probes("", "empty.sql").empty());
  EXPECT_TRUE(parse_probes("-- nothing yet\n\n", "empty.sql").empty());
}

TEST(ParseProbes, AQueryWithoutItsSemicolonIsAConfigErrorNamingTheLine) {
  try {
    parse_probes("select true;\n\nselect count(*) > 0\nfrom students\n", "/etc/coffer/probes.sql");
    FAIL() << "an unterminated probe was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kConfig);
    EXPECT_NE(std::string(e.what()).find("/etc/coffer/probes.sql"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("line 3"), std::string::npos) << e.what();
  }
}

class PgRestoredChecksTest : public PgTestBase {};

TEST_F(PgRestoredChecksTest, EveryRowIsReadInFullThroughToastAndCounted) {
  std::string db = new_database("coffer_rc_read");
  sql(db, "CREATE SCHEMA app; CREATE TABLE app.docs (id int PRIMARY KEY, body text);"
          "ALTER TABLE app.docs ALTER COLUMN body SET STORAGE EXTERNAL;"
          "INSERT INTO app.docs SELECT g, repeat(md5(g::text), 1000) FROM generate_series(1, 50) g;"
          "CREATE TABLE empty_one (x int)");
  Connection conn(config(db));
  std::vector<TableRead> reads = check_database(conn, db, 1).tables;
  ASSERT_EQ(reads.size(), 2u);
  EXPECT_EQ(reads[0].table.schema, "app");
  EXPECT_EQ(reads[0].table.rows, 50u);
  EXPECT_GT(reads[0].bytes, 50u * 32000) << "the TOASTed bodies were not read";
  EXPECT_EQ(reads[0].error, "");
  EXPECT_EQ(reads[1].table.name, "empty_one");
  EXPECT_EQ(reads[1].table.rows, 0u);
}

TEST_F(PgRestoredChecksTest, BtreeIndexesPassWhenConsistentAndAnIndexMissingRowsIsNamed) {
  std::string db = new_database("coffer_rc_index");
  sql(db, "CREATE FUNCTION shift(int) RETURNS int IMMUTABLE LANGUAGE sql AS 'SELECT $1';"
          "CREATE TABLE t (x int PRIMARY KEY); INSERT INTO t SELECT generate_series(1, 1000);"
          "CREATE INDEX t_shifted ON t (shift(x)); CREATE INDEX t_hash ON t USING hash (x)");
  Connection conn(config(db));
  {
    IndexCheck ok = check_database(conn, db, 1).indexes;
    ASSERT_TRUE(ok.available) << ok.why_unavailable;
    EXPECT_EQ(ok.checked, 2u);  // the primary key and t_shifted; the hash index is not a btree
    EXPECT_TRUE(ok.failures.empty()) << ok.failures.front();
  }
  // A function that lied about being immutable: the index no longer matches its table's rows.
  sql(db, "CREATE OR REPLACE FUNCTION shift(int) RETURNS int IMMUTABLE LANGUAGE sql AS 'SELECT $1 + 1000000'");
  IndexCheck bad = check_database(conn, db, 1).indexes;
  EXPECT_EQ(bad.checked, 1u);
  ASSERT_EQ(bad.failures.size(), 1u);
  EXPECT_EQ(bad.failures[0].rfind("public.t_shifted: ", 0), 0u) << bad.failures[0];
  // The structure alone is still sound (the shifted keys keep their order): only heapallindexed,
  // which looks each row up, sees it.
  IndexCheck structure = check_database(conn, db, 1, false).indexes;
  EXPECT_EQ(structure.checked, 2u);
  EXPECT_TRUE(structure.failures.empty());
}

TEST_F(PgRestoredChecksTest, BothChecksOverSeveralSessionsGiveWhatOneSessionGives) {
  std::string db = new_database("coffer_rc_jobs");
  sql(db, "CREATE FUNCTION shift(int) RETURNS int IMMUTABLE LANGUAGE sql AS 'SELECT $1';"
          "CREATE TABLE big (x int PRIMARY KEY, y text); INSERT INTO big SELECT g, md5(g::text) FROM generate_series(1, 20000) g;"
          "CREATE INDEX big_y ON big (y); CREATE INDEX big_shifted ON big (shift(x));"
          "CREATE TABLE small (x int PRIMARY KEY); INSERT INTO small VALUES (1), (2), (3);"
          "CREATE TABLE empty_one (x int)");
  sql(db, "CREATE OR REPLACE FUNCTION shift(int) RETURNS int IMMUTABLE LANGUAGE sql AS 'SELECT $1 + 7'");
  Connection conn(config(db));
  std::vector<TableRead> one_reads;
  IndexCheck one_indexes;
  {
    DatabaseCheck one = check_database(conn, db, 1);  // one session: the reference
    one_reads = one.tables;
    one_indexes = one.indexes;
  }
  for (int jobs : {2, 3}) {
    SCOPED_TRACE("jobs " + std::to_string(jobs));
    DatabaseCheck c = check_database(conn, db, jobs);
    ASSERT_EQ(c.tables.size(), one_reads.size());
    for (size_t i = 0; i < c.tables.size(); ++i) {
      EXPECT_EQ(c.tables[i].table, one_reads[i].table);
      EXPECT_EQ(c.tables[i].bytes, one_reads[i].bytes);
      EXPECT_EQ(c.tables[i].error, "");
    }
    EXPECT_EQ(c.tables[0].table.rows, 20000u);
    EXPECT_TRUE(c.indexes.available);
    EXPECT_EQ(c.indexes.checked, one_indexes.checked);
    EXPECT_EQ(c.indexes.checked, 3u);  // two primary keys and big_y
    ASSERT_EQ(c.indexes.failures.size(), 1u);
    EXPECT_EQ(c.indexes.failures[0].rfind("public.big_shifted: ", 0), 0u) << c.indexes.failures[0];
  }
}

TEST_F(PgRestoredChecksTest, AProbePassesOnlyOnOneTrueValue) {
  std::string db = new_database("coffer_rc_probe");
  sql(db, "CREATE TABLE students (id int); INSERT INTO students VALUES (1), (2)");
  Connection conn(config(db));
  Session s(conn);
  EXPECT_EQ(run_probe(s, {1, "select count(*) = 2 from students"}), "");
  EXPECT_EQ(run_probe(s, {2, "select count(*) > 5 from students"}), "returned 'f', not true");
  EXPECT_EQ(run_probe(s, {3, "select id from students"}), "returned 2 row(s) of 1 column(s), not one true value");
  EXPECT_NE(run_probe(s, {4, "select count(*) > 0 from teachers"}).find("teachers"), std::string::npos);
  // Read only: a probe cannot change the restored data, and the session goes on after an error.
  EXPECT_NE(run_probe(s, {5, "insert into students values (3) returning true"}).find("read-only"), std::string::npos);
  EXPECT_EQ(run_probe(s, {6, "select count(*) = 2 from students"}), "");
}

}  // namespace
}  // namespace coffer::pg
