#include "source/postgres/pg_catalog.h"

#include <unistd.h>

#include <gtest/gtest.h>

#include "coffer/error.h"
#include "source/postgres/pg_test_env.h"
#include "source/postgres/pg_tools.h"

namespace coffer::pg {
namespace {

class PgCatalogTest : public PgTestBase {
 protected:
  // Two schemas, a quoted mixed-case name, an empty table, a partitioned table, and things
  // that are not tables.
  void make_schema(const std::string& db) {
    sql(db,
        "CREATE TABLE items (id int PRIMARY KEY, name text);"
        "INSERT INTO items VALUES (1, 'a'), (2, 'b'), (3, 'c');"
        "CREATE TABLE empty_one (x int);"
        "CREATE SCHEMA sales;"
        "CREATE TABLE sales.\"Order Lines\" (id int, qty int);"
        "INSERT INTO sales.\"Order Lines\" VALUES (1, 5), (2, 7);"
        "CREATE TABLE measures (at date, v int) PARTITION BY RANGE (at);"
        "CREATE TABLE measures_2023 PARTITION OF measures FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');"
        "CREATE TABLE measures_2024 PARTITION OF measures FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');"
        "INSERT INTO measures VALUES ('2023-05-01', 1), ('2023-06-01', 2), ('2024-02-01', 3);"
        "CREATE VIEW item_names AS SELECT name FROM items;"
        "CREATE SEQUENCE some_seq;");
  }
};

TEST_F(PgCatalogTest, ServerVersion) {
  std::string db = new_database("coffer_cat_ver");
  Connection conn(config(db));
  Session s(conn);
  int num = s.server_version_num();
  EXPECT_GE(num, 90600);
  std::string text = s.server_version();
  EXPECT_EQ(text.find(' '), std::string::npos) << text;  // "15.18", not "15.18 (Debian ...)"
  EXPECT_EQ(version_num_of(text), num) << text;
  EXPECT_GT(s.database_size(), 1000000u);  // an empty database is several MB
}

TEST_F(PgCatalogTest, TablesWithRowCounts) {
  std::string db = new_database("coffer_cat_tables");
  Connection conn(config(db));
  {
    Session s(conn);
    EXPECT_FALSE(s.has_user_tables());
    EXPECT_TRUE(s.tables_with_row_counts().empty());
  }
  make_schema(db);
  Session s(conn);
  EXPECT_TRUE(s.has_user_tables());
  std::vector<TableInfo> expected = {{"public", "empty_one", 0},
                                     {"public", "items", 3},
                                     {"public", "measures_2023", 2},
                                     {"public", "measures_2024", 1},
                                     {"sales", "Order Lines", 2}};
  EXPECT_EQ(s.tables_with_row_counts(), expected);
}

TEST_F(PgCatalogTest, InsertedRowsFromStatistics) {
  std::string db = new_database("coffer_cat_inserted");
  make_schema(db);
  sql(db, "DELETE FROM items WHERE id = 3; UPDATE sales.\"Order Lines\" SET qty = 6 WHERE id = 1;");
  Connection conn(config(db));
  Session s(conn);
  // The sessions above report their counts as they end: wait for the last one's.
  std::vector<TableInfo> got;
  for (int i = 0; i < 100; ++i) {
    got = s.tables_with_inserted_rows();
    if (got.size() == 3) break;
    usleep(50000);
  }
  // items had a delete and Order Lines an update: the statistics cannot vouch for them.
  std::vector<TableInfo> expected = {{"public", "empty_one", 0}, {"public", "measures_2023", 2}, {"public", "measures_2024", 1}};
  EXPECT_EQ(got, expected);
}

TEST_F(PgCatalogTest, CreateDatabaseWithANameNeedingQuotes) {
  std::string db = new_database("coffer_cat_admin");
  std::string odd = new_db_name("coffer \"Odd\" db's");
  Connection conn(config(db));
  Session s(conn);
  EXPECT_TRUE(s.database_exists(db));
  EXPECT_FALSE(s.database_exists(odd));
  s.create_database(odd);
  EXPECT_TRUE(s.database_exists(odd));
  Session in_odd(conn, odd);
  EXPECT_EQ(in_odd.query_value("SELECT current_database()"), odd);
  EXPECT_FALSE(in_odd.has_user_tables());
  EXPECT_TRUE(s.can_read_roles());  // the test user is a superuser
  try {
    s.create_database(odd);
    FAIL() << "created a database twice";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kDatabase);
    EXPECT_NE(std::string(e.what()).find("already exists"), std::string::npos) << e.what();
  }
}

TEST_F(PgCatalogTest, SnapshotHidesConcurrentInserts) {
  std::string db = new_database("coffer_cat_snap");
  make_schema(db);
  Connection conn(config(db));
  Session reader(conn);
  std::string snapshot = reader.begin_snapshot();
  EXPECT_FALSE(snapshot.empty());
  EXPECT_THROW(reader.begin_snapshot(), Error);  // one at a time

  sql(db, "INSERT INTO items VALUES (4, 'd'), (5, 'e'); INSERT INTO sales.\"Order Lines\" VALUES (3, 1)");
  auto during = reader.tables_with_row_counts();
  EXPECT_EQ(during[1], (TableInfo{"public", "items", 3}));
  EXPECT_EQ(during[4], (TableInfo{"sales", "Order Lines", 2}));

  // Another session can adopt the exported snapshot, as pg_dump --snapshot does and as the
  // backup's row counts do (import_snapshot), and counts exactly what the snapshot holds.
  Session other(conn);
  other.import_snapshot(snapshot);
  EXPECT_EQ(other.query_value("SELECT count(*) FROM items"), "3");
  EXPECT_EQ(other.tables_with_row_counts(), during);
  other.end_snapshot();
  EXPECT_THROW(other.import_snapshot("x'; DROP TABLE items; --"), Error);  // not a snapshot id
  EXPECT_EQ(sql(db, "SELECT count(*) FROM items"), "5");

  reader.end_snapshot();
  auto after = reader.tables_with_row_counts();
  EXPECT_EQ(after[1].rows, 5u);
  EXPECT_EQ(after[4].rows, 3u);
  reader.end_snapshot();  // no transaction: nothing to do
}

TEST_F(PgCatalogTest, QueryErrorsCarryTheServerMessage) {
  std::string db = new_database("coffer_cat_err");
  Connection conn(config(db));
  Session s(conn);
  try {
    s.query_value("SELECT * FROM no_such_table");
    FAIL() << "query on a missing table succeeded";
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_EQ(e.category(), ErrorCategory::kDatabase);
    EXPECT_NE(msg.find("no_such_table"), std::string::npos) << msg;
    EXPECT_NE(msg.find("does not exist"), std::string::npos) << msg;
    EXPECT_NE(msg.find(conn.describe()), std::string::npos) << msg;
  }
  EXPECT_EQ(s.query_value("SELECT 41 + 1"), "42");  // the session is still usable
}

TEST_F(PgCatalogTest, WrongPortNamesTheTargetAndNotThePassword) {
  BackupConfig c = config("coffer_nowhere");
  c.db_port = 1;
  c.db_password = "Secret-Never-Shown";
  Connection conn(c);
  try {
    Session s(conn);
    FAIL() << "connected to port 1";
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_EQ(e.category(), ErrorCategory::kDatabase);
    EXPECT_NE(msg.find(host_ + ":1/coffer_nowhere"), std::string::npos) << msg;
    EXPECT_EQ(msg.find("Secret-Never-Shown"), std::string::npos) << msg;
  }
}

TEST_F(PgCatalogTest, MissingDatabaseIsADatabaseError) {
  Connection conn(config("coffer_missing_db_" + std::to_string(::getpid())));
  try {
    Session s(conn);
    FAIL() << "connected to a database that does not exist";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kDatabase);
    EXPECT_NE(std::string(e.what()).find("does not exist"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace coffer::pg
