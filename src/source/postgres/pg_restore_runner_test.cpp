#include "source/postgres/pg_restore_runner.h"

#include <gtest/gtest.h>

#include "coffer/error.h"
#include "source/postgres/pg_catalog.h"
#include "source/postgres/pg_test_env.h"

namespace coffer::pg {
namespace {

using PgRestoreRunnerTest = PgDumpTestBase;

TEST_F(PgRestoreRunnerTest, RestoreSelectedTablesThenClean) {
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

TEST_F(PgRestoreRunnerTest, FailingRestoreReportsPgRestoreMessage) {
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

}  // namespace
}  // namespace coffer::pg
