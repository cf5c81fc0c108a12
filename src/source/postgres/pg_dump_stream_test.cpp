#include "source/postgres/pg_dump_stream.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "coffer/error.h"
#include "source/postgres/pg_catalog.h"
#include "source/postgres/pg_restore_runner.h"
#include "source/postgres/pg_test_env.h"

namespace coffer::pg {
namespace {

namespace fs = std::filesystem;
using PgDumpTest = PgDumpTestBase;

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
