#include "source/postgres/pg_dump_stream.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "coffer/error.h"
#include "source/postgres/pg_catalog.h"
#include "source/postgres/pg_test_env.h"

namespace coffer::pg {
namespace {

namespace fs = std::filesystem;

class PgDumpTest : public PgTestWithDir {
 protected:
  // A source database with two schemas and a quoted name; returns its name.
  std::string make_source() {
    std::string db = new_database("coffer_dump_src");
    sql(db,
        "CREATE TABLE items (id int PRIMARY KEY, name text);"
        "INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 500) g;"
        "CREATE TABLE empty_one (x int);"
        "CREATE SCHEMA sales;"
        "CREATE TABLE sales.\"Order Lines\" (id int, qty int);"
        "INSERT INTO sales.\"Order Lines\" SELECT g, g % 7 FROM generate_series(1, 40) g;"
        "CREATE TABLE sales.items (sku text);"
        "INSERT INTO sales.items VALUES ('x'), ('y');");
    return db;
  }

  // Streams a dump of `conn`'s database into a file; returns its path.
  std::string dump_to_file(const Tools& tools, const Connection& conn, const std::string& snapshot) {
    std::string path = (dir_ / ("dump" + std::to_string(dumps_++))).string();
    DumpStream dump(tools, conn, snapshot);
    std::ofstream(path, std::ios::binary) << to_string(read_whole_dump(dump));
    return path;
  }

  std::vector<TableInfo> counts(const Connection& conn, const std::string& db) {
    Session s(conn, db);
    return s.tables_with_row_counts();
  }

  Tools tools(const Connection& conn) {
    Session s(conn);
    return find_tools(s.server_version_num());
  }

  int dumps_ = 0;
};

TEST_F(PgDumpTest, DumpFromSnapshotRestoresIdenticalCounts) {
  std::string src = make_source();
  Connection conn(config(src));
  Tools t = tools(conn);
  Session reader(conn);
  std::string snapshot = reader.begin_snapshot();
  std::vector<TableInfo> expected = reader.tables_with_row_counts();
  sql(src, "INSERT INTO items VALUES (1000, 'late'); DELETE FROM sales.items");  // after the snapshot

  std::string archive = dump_to_file(t, conn, snapshot);
  reader.end_snapshot();
  std::ifstream in(archive, std::ios::binary);
  char magic[5] = {};
  in.read(magic, 5);
  EXPECT_EQ(std::string(magic, 5), "PGDMP");
  EXPECT_GT(fs::file_size(archive), 10000u);  // uncompressed: the 500 item names are in there

  std::string target = new_db_name("coffer \"restored\" db");
  Session(conn).create_database(target);
  RestoreRequest req;
  req.archive_path = archive;
  req.dbname = target;
  run_pg_restore(t, conn, req);
  EXPECT_EQ(counts(conn, target), expected);
  EXPECT_EQ(expected[1], (TableInfo{"public", "items", 500}));
  EXPECT_EQ(expected[3], (TableInfo{"sales", "items", 2}));
}

TEST_F(PgDumpTest, RestoreSelectedTablesThenClean) {
  std::string src = make_source();
  Connection conn(config(src));
  Tools t = tools(conn);
  std::string archive = dump_to_file(t, conn, "");

  std::string target = new_database("coffer_dump_sel");
  RestoreRequest req;
  req.archive_path = archive;
  req.dbname = target;
  req.tables = {"sales.Order Lines", "public.items", "empty_one"};
  run_pg_restore(t, conn, req);
  // Only the named tables: not sales.items (one pg_restore run would pair -n sales with -t items).
  std::vector<TableInfo> want = {{"public", "empty_one", 0}, {"public", "items", 500}, {"sales", "Order Lines", 40}};
  EXPECT_EQ(counts(conn, target), want);

  // Restoring over existing tables fails without clean, and replaces them with it.
  sql(target, "INSERT INTO sales.\"Order Lines\" VALUES (99, 1)");
  req.tables = {"sales.Order Lines"};
  EXPECT_THROW(run_pg_restore(t, conn, req), Error);
  req.clean = true;
  run_pg_restore(t, conn, req);
  EXPECT_EQ(counts(conn, target), want);

  // A whole-database clean restore over a changed copy brings back the dumped state.
  sql(target, "DELETE FROM items WHERE id > 10; DROP TABLE empty_one");
  req.tables.clear();
  run_pg_restore(t, conn, req);
  EXPECT_EQ(counts(conn, target), counts(conn, src));
}

TEST_F(PgDumpTest, FailingRestoreReportsPgRestoreMessage) {
  std::string src = make_source();
  Connection conn(config(src));
  Tools t = tools(conn);
  std::string archive = dump_to_file(t, conn, "");
  RestoreRequest req;
  req.archive_path = archive;
  req.dbname = "coffer_no_such_db_" + std::to_string(::getpid());
  try {
    run_pg_restore(t, conn, req);
    FAIL() << "restored into a database that does not exist";
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_EQ(e.category(), ErrorCategory::kDatabase);
    EXPECT_NE(msg.find("pg_restore into " + conn.describe(req.dbname) + " failed"), std::string::npos) << msg;
    EXPECT_NE(msg.find("database \"" + req.dbname + "\" does not exist"), std::string::npos) << msg;
  }
}

TEST_F(PgDumpTest, FailingDumpReportsPgDumpMessage) {
  std::string src = make_source();
  Connection conn(config(src));
  Tools t = tools(conn);
  try {
    dump_to_file(t, conn, "00000003-000000FF-1");  // no such exported snapshot
    FAIL() << "pg_dump accepted a snapshot that does not exist";
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_EQ(e.category(), ErrorCategory::kDatabase);
    EXPECT_NE(msg.find("pg_dump failed"), std::string::npos) << msg;
    EXPECT_NE(msg.find("snapshot"), std::string::npos) << msg;
  }
}

TEST_F(PgDumpTest, GlobalsNeedASuperuser) {
  std::string src = make_source();
  Connection conn(config(src));
  Tools t = tools(conn);
  std::string warning;
  auto globals = dump_globals(t, conn, &warning);
  ASSERT_TRUE(globals.has_value());
  EXPECT_NE(globals->find("CREATE ROLE "), std::string::npos) << *globals;
  EXPECT_NE(globals->find(user_), std::string::npos);
  EXPECT_EQ(warning, "");

  std::string role = new_role("coffer_plain", "plain-pw");
  BackupConfig c = config(src);
  c.db_user = role;
  c.db_password = "plain-pw";
  Connection plain(c);
  auto none = dump_globals(t, plain, &warning);
  EXPECT_FALSE(none.has_value());
  EXPECT_NE(warning.find("needs a superuser"), std::string::npos) << warning;
  EXPECT_NE(warning.find(role), std::string::npos) << warning;
  EXPECT_EQ(warning.find("plain-pw"), std::string::npos) << warning;
}

}  // namespace
}  // namespace coffer::pg
