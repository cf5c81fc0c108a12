#include "engine/restore_target.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "coffer/error.h"
#include "repo/repo_lock.h"
#include "source/postgres/pg_test_env.h"

namespace coffer {
namespace {

using pg::sql_identifier;
using pg::sql_literal;

class PgRestoreTargetTest : public pg::PgTestBase {
 protected:
  bool exists(const std::string& db) {
    pg::Connection conn(config("postgres"));
    pg::Session admin(conn, "postgres");
    return admin.database_exists(db);
  }
  std::string one(const std::string& db, const std::string& query) {
    pg::Connection conn(config(db));
    pg::Session s(conn);
    return s.query_value(query);
  }
  // A database with one table `marker` holding `value`.
  std::string database_with(const std::string& stem, const std::string& value) {
    std::string db = new_database(stem);
    sql(db, "CREATE TABLE marker (v text); INSERT INTO marker VALUES (" + sql_literal(value) + ")");
    return db;
  }
  // Warnings other than a sweep's: a test running beside this one (ctest -j) may leave a killed
  // restore's or drill's database that this test's sweep then drops, rightly and with a warning.
  std::vector<std::string> own_warnings() const {
    std::vector<std::string> own;
    for (const std::string& w : warnings_)
      if (w.rfind("dropped database ", 0) != 0) own.push_back(w);
    return own;
  }
  // The sweep's warnings that name `db`.
  std::vector<std::string> warnings_naming(const std::string& db) const {
    std::vector<std::string> found;
    for (const std::string& w : warnings_)
      if (w.find("dropped database " + db + ",") != std::string::npos) found.push_back(w);
    return found;
  }
  // A process that is alive until `end_of_life`, then surely gone: a leftover marked with its pid
  // cannot be swept by a test running beside this one before this test's own sweep is due.
  pid_t live_child() {
    pid_t child = ::fork();
    if (child == 0) {
      ::pause();
      ::_exit(0);
    }
    return child;
  }
  void end_of_life(pid_t child) {
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
  }
  std::vector<std::string> warnings_;
  std::function<void(const std::string&)> warn_ = [this](const std::string& w) { warnings_.push_back(w); };
};

TEST_F(PgRestoreTargetTest, NewDatabaseIsRenamedIntoPlaceOnlyOnCommit) {
  pg::Connection conn(config("postgres"));
  std::string target = new_db_name("coffer_rt_new");
  std::string scratch;
  {
    RestoreTarget t(conn, {target, false, false, "full_x"}, warn_);
    scratch = t.restore_into();
    EXPECT_EQ(scratch.rfind(kScratchDatabasePrefix, 0), 0u) << scratch;
    EXPECT_FALSE(t.single_transaction());
    EXPECT_TRUE(exists(scratch));
    EXPECT_FALSE(exists(target));
  }  // not committed: dropped
  EXPECT_FALSE(exists(scratch));
  EXPECT_FALSE(exists(target));

  RestoreTarget t(conn, {target, false, false, "full_x"}, warn_);
  sql(t.restore_into(), "CREATE TABLE restored (x int)");
  t.commit();
  EXPECT_TRUE(exists(target));
  EXPECT_FALSE(exists(t.restore_into()));
  EXPECT_EQ(one(target, "SELECT count(*) FROM restored"), "0");
  EXPECT_EQ(one("postgres", "SELECT coalesce(shobj_description(oid, 'pg_database'), 'none') FROM pg_database "
                            "WHERE datname = " + sql_literal(target)),
            "none");
}

TEST_F(PgRestoreTargetTest, CleanReplacesTheTargetOnlyOnCommit) {
  pg::Connection conn(config("postgres"));
  std::string target = database_with("coffer_rt_live", "old");
  {
    RestoreTarget t(conn, {target, true, false, "full_x"}, warn_);
    sql(t.restore_into(), "CREATE TABLE marker (v text); INSERT INTO marker VALUES ('half')");
  }  // a failure: the target stays
  EXPECT_EQ(one(target, "SELECT v FROM marker"), "old");

  const std::string old_oid = one("postgres", "SELECT oid FROM pg_database WHERE datname = " + sql_literal(target));
  RestoreTarget t(conn, {target, true, false, "full_x"}, warn_);
  EXPECT_EQ(t.method(), "into a scratch database, then swapped into place");
  sql(t.restore_into(), "CREATE TABLE marker (v text); INSERT INTO marker VALUES ('new')");
  t.commit();
  EXPECT_EQ(one(target, "SELECT v FROM marker"), "new");
  EXPECT_FALSE(exists(t.restore_into()));
  EXPECT_EQ(one("postgres", "SELECT count(*) FROM pg_database WHERE oid = " + old_oid), "0")
      << "the replaced database is left";
  EXPECT_TRUE(own_warnings().empty()) << own_warnings()[0];
}

TEST_F(PgRestoreTargetTest, RefusesTablesWithoutCleanAndBusyDatabases) {
  pg::Connection conn(config("postgres"));
  std::string target = database_with("coffer_rt_refuse", "old");
  try {
    RestoreTarget t(conn, {target, false, false, "full_x"}, warn_);
    FAIL() << "a target with tables was accepted without clean";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kInput);
    EXPECT_NE(std::string(e.what()).find("--clean"), std::string::npos) << e.what();
  }
  pg::Connection busy_conn(config(target));
  pg::Session busy(busy_conn);  // someone using the database
  try {
    RestoreTarget t(conn, {target, true, false, "full_x"}, warn_);
    FAIL() << "a database in use was accepted for replacing";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kInput);
    EXPECT_NE(std::string(e.what()).find("1 session(s) are connected"), std::string::npos) << e.what();
  }
}

TEST_F(PgRestoreTargetTest, SomeTablesRestoreInPlaceInOneTransaction) {
  pg::Connection conn(config("postgres"));
  std::string target = database_with("coffer_rt_tables", "old");
  RestoreTarget t(conn, {target, true, true, "full_x"}, warn_);
  EXPECT_TRUE(t.single_transaction());
  EXPECT_EQ(t.restore_into(), target);
  EXPECT_EQ(t.keep_for_inspection("why"), "");
}

TEST_F(PgRestoreTargetTest, KeptCopyOutlivesTheRestoreAndIsNotSwept) {
  pg::Connection conn(config("postgres"));
  std::string target = new_db_name("coffer_rt_keep");
  std::string kept;
  {
    RestoreTarget t(conn, {target, false, false, "full_x"}, warn_);
    kept = t.keep_for_inspection("row counts differ");
  }
  databases_.push_back(kept);  // dropped by TearDown
  EXPECT_TRUE(exists(kept));
  RestoreTarget again(conn, {new_db_name("coffer_rt_keep2"), false, false, "full_y"}, warn_);
  EXPECT_TRUE(exists(kept)) << "a sweep dropped a copy kept for inspection";
}

TEST_F(PgRestoreTargetTest, SweepDropsScratchOfDeadRestoresOfThisHostOnly) {
  const pid_t child = live_child();
  auto scratch = [&](const std::string& host, pid_t pid) {
    std::string name = new_db_name("coffer_restore_t");
    admin_sql("CREATE DATABASE " + sql_identifier(name) + " TEMPLATE template0");
    admin_sql("COMMENT ON DATABASE " + sql_identifier(name) + " IS " +
              sql_literal("coffer restore in progress: backup=full_x target=t host=" + host + " pid=" +
                          std::to_string(pid)));
    return name;
  };
  std::string dead = scratch(this_host(), child);
  std::string alive = scratch(this_host(), ::getpid());
  std::string elsewhere = scratch("some-other-host", child);
  pg::Connection conn(config("postgres"));
  end_of_life(child);
  RestoreTarget t(conn, {new_db_name("coffer_rt_sweep"), false, false, "full_x"}, warn_);
  EXPECT_FALSE(exists(dead));
  EXPECT_TRUE(exists(alive));
  EXPECT_TRUE(exists(elsewhere));
  EXPECT_EQ(warnings_naming(dead).size(), 1u);
  EXPECT_TRUE(own_warnings().empty()) << own_warnings()[0];
}

RestoreTarget::Request drill_request(const std::string& from, const std::string& scratch = "") {
  RestoreTarget::Request r{from, false, false, "full_x"};
  r.drill = true;
  r.scratch = scratch;
  return r;
}

TEST_F(PgRestoreTargetTest, ADrillRestoresIntoItsOwnScratchDatabaseAlwaysDroppedNeverCommitted) {
  pg::Connection conn(config("postgres"));
  std::string source = database_with("coffer_rt_drill_src", "live");
  std::string scratch;
  {
    RestoreTarget t(conn, drill_request(source), warn_);
    scratch = t.restore_into();
    EXPECT_EQ(scratch.rfind(kDrillDatabasePrefix, 0), 0u) << scratch;
    EXPECT_FALSE(t.single_transaction());
    EXPECT_TRUE(exists(scratch));
    EXPECT_EQ(t.keep_for_inspection("why"), "");
    EXPECT_THROW(t.commit(), Error);
    EXPECT_NE(t.state_after_failure().find("dropped"), std::string::npos);
  }
  EXPECT_FALSE(exists(scratch));
  EXPECT_EQ(one(source, "SELECT v FROM marker"), "live");  // the database it came from is untouched
  EXPECT_TRUE(own_warnings().empty()) << own_warnings()[0];
}

TEST_F(PgRestoreTargetTest, ADrillRefusesAScratchNameThatExistsAndIsNotItsOwn) {
  pg::Connection conn(config("postgres"));
  std::string taken = database_with("coffer_rt_drill_taken", "someone's");
  try {
    RestoreTarget t(conn, drill_request("school", taken), warn_);
    FAIL() << "a drill took an existing database as its scratch database";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kInput);
    EXPECT_NE(std::string(e.what()).find("database " + taken + " on "), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("--scratch-db"), std::string::npos) << e.what();
  }
  EXPECT_EQ(one(taken, "SELECT v FROM marker"), "someone's");
  // A name of its choosing is created, and dropped afterwards.
  std::string chosen = new_db_name("coffer_rt_drill_named");
  { RestoreTarget t(conn, drill_request("school", chosen), warn_); EXPECT_TRUE(exists(chosen)); }
  EXPECT_FALSE(exists(chosen));
}

TEST_F(PgRestoreTargetTest, SweepDropsWhatAKilledDrillLeftWhateverItsName) {
  const pid_t child = live_child();
  std::string left = new_db_name("my_drill_scratch");
  admin_sql("CREATE DATABASE " + sql_identifier(left) + " TEMPLATE template0");
  admin_sql("COMMENT ON DATABASE " + sql_identifier(left) + " IS " +
            sql_literal("coffer drill in progress: backup=full_x host=" + this_host() + " pid=" + std::to_string(child)));
  pg::Connection conn(config("postgres"));
  end_of_life(child);
  // The next drill may even reuse the name.
  RestoreTarget t(conn, drill_request("school", left), warn_);
  EXPECT_TRUE(exists(left));
  ASSERT_EQ(warnings_naming(left).size(), 1u);
  EXPECT_NE(warnings_naming(left)[0].find("the scratch database of a drill"), std::string::npos)
      << warnings_naming(left)[0];
}

}  // namespace
}  // namespace coffer
