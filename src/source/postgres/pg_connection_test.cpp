#include "source/postgres/pg_connection.h"

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "coffer/error.h"
#include "source/postgres/pg_test_env.h"
#include "source/postgres/pg_tools.h"
#include "util/subprocess.h"

namespace coffer::pg {
namespace {

namespace fs = std::filesystem;

const std::string kPassword = "pa:ss\\wo rd'\"x";

BackupConfig sample_config() {
  BackupConfig c;
  c.db_host = "db.example.com";
  c.db_port = 6543;
  c.db_user = "back:up\\user";
  c.db_name = "shop";
  c.db_password = kPassword;
  return c;
}

std::string file_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// What libpq makes of a conninfo string.
std::map<std::string, std::string> parse_conninfo(const std::string& info) {
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(info.c_str(), &err);
  if (!opts) {
    std::string msg = err ? err : "?";
    PQfreemem(err);
    ADD_FAILURE() << "libpq rejected conninfo: " << msg;
    return {};
  }
  std::map<std::string, std::string> out;
  for (auto* o = opts; o->keyword; ++o)
    if (o->val) out[o->keyword] = o->val;
  PQconninfoFree(opts);
  return out;
}

TEST(PostgresConnectionTest, RequiresDbName) {
  BackupConfig c = sample_config();
  c.db_name = "";
  try {
    Connection conn(c);
    FAIL() << "accepted an empty DB_NAME";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kConfig);
    EXPECT_NE(std::string(e.what()).find("DB_NAME"), std::string::npos);
  }
  c.db_name = "x";
  c.db_port = 70000;
  EXPECT_THROW(Connection{c}, Error);
}

TEST(PostgresConnectionTest, ChildEnvNeverHoldsThePassword) {
  Connection conn(sample_config());
  const ProcessSpec spec = conn.child_spec({"pg_dump"});
  EXPECT_EQ(spec.argv, std::vector<std::string>{"pg_dump"});
  auto env = spec.env_set;
  EXPECT_EQ(env.count("PGPASSWORD"), 0u);
  for (const auto& [name, value] : env) {
    EXPECT_EQ(value.find("pa:ss"), std::string::npos) << name;
  }
  EXPECT_EQ(env["PGHOST"], "db.example.com");
  EXPECT_EQ(env["PGPORT"], "6543");
  EXPECT_EQ(env["PGUSER"], "back:up\\user");
  EXPECT_EQ(env["PGDATABASE"], "shop");
  EXPECT_EQ(env["PGAPPNAME"], "coffer");
  EXPECT_EQ(env["PGPASSFILE"], conn.passfile());
  EXPECT_EQ(conn.child_spec({"pg_dump"}, "other").env_set.at("PGDATABASE"), "other");
  EXPECT_EQ(conn.conninfo().find("pa:ss"), std::string::npos);
  EXPECT_EQ(conn.describe(), "db.example.com:6543/shop");
  EXPECT_EQ(conn.describe("other"), "db.example.com:6543/other");
}

TEST(PostgresConnectionTest, PassfileIsPrivateEscapedInMemoryAndGoneAfter) {
  auto temp_passfiles = [] {
    size_t n = 0;
    for (const auto& e : fs::directory_iterator(fs::temp_directory_path()))
      n += e.path().filename().string().rfind("coffer-pgpass", 0) == 0;
    return n;
  };
  const size_t before = temp_passfiles();
  std::string path;
  {
    Connection conn(sample_config());
    path = conn.passfile();
    ASSERT_EQ(path.rfind("/proc/self/fd/", 0), 0u) << path;
    EXPECT_EQ(conn.child_spec({"pg_dump"}).keep_fds, std::vector<int>{std::stoi(path.substr(14))});
    struct stat st;
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_TRUE(S_ISREG(st.st_mode));  // libpq refuses anything else
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_EQ(file_text(path), "db.example.com:6543:*:back\\:up\\\\user:pa\\:ss\\\\wo rd'\"x\n");
    EXPECT_EQ(temp_passfiles(), before);  // nothing on disk
  }
  EXPECT_FALSE(fs::exists(path));  // closed with the connection
}

TEST(PostgresConnectionTest, PassfileStaysClearOfStandardDescriptorsWhenTheyAreClosed) {
  // A child's stdin, stdout and stderr replace 0-2, so the passfile must not sit there.
  const int saved = ::dup(0);
  ASSERT_GE(saved, 0);
  ::close(0);
  std::vector<int> fds;
  std::string text;
  {
    Connection conn(sample_config());
    fds = conn.child_spec({"pg_dump"}).keep_fds;
    text = file_text(conn.passfile());
  }
  ASSERT_EQ(::dup2(saved, 0), 0);
  ::close(saved);
  ASSERT_EQ(fds.size(), 1u);
  EXPECT_GE(fds[0], 3);
  EXPECT_NE(text.find("db.example.com:6543"), std::string::npos);
}

TEST(PostgresConnectionTest, NoPasswordNoPassfile) {
  BackupConfig c = sample_config();
  c.db_password.reset();
  c.db_user = "";
  Connection conn(c);
  EXPECT_EQ(conn.passfile(), "");
  const ProcessSpec spec = conn.child_spec({"pg_dump"});
  EXPECT_TRUE(spec.keep_fds.empty());
  auto env = spec.env_set;
  EXPECT_EQ(env.count("PGPASSFILE"), 0u);
  EXPECT_EQ(env.count("PGUSER"), 0u);  // libpq's own defaults (PGUSER, OS user) apply
  EXPECT_EQ(parse_conninfo(conn.conninfo()).count("passfile"), 0u);
}

TEST(PostgresConnectionTest, PasswordWithLineBreakIsRefused) {
  BackupConfig c = sample_config();
  c.db_password = "a\nb";
  try {
    Connection conn(c);
    FAIL() << "accepted a password libpq cannot read back";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kConfig);
    EXPECT_EQ(std::string(e.what()).find("a\nb"), std::string::npos);
  }
}

TEST(PostgresConnectionTest, ConninfoQuotesOddValues) {
  EXPECT_EQ(quote_conninfo_value("it's a \\ test"), "'it\\'s a \\\\ test'");
  BackupConfig c = sample_config();
  c.db_name = "my db 'quoted' \\ name";
  c.db_host = "/var/run/postgre sql";
  Connection conn(c);
  auto parsed = parse_conninfo(conn.conninfo());
  EXPECT_EQ(parsed["dbname"], "my db 'quoted' \\ name");
  EXPECT_EQ(parsed["host"], "/var/run/postgre sql");
  EXPECT_EQ(parsed["port"], "6543");
  EXPECT_EQ(parsed["user"], "back:up\\user");
  EXPECT_EQ(parsed["passfile"], conn.passfile());
  EXPECT_EQ(parsed.count("password"), 0u);
  EXPECT_EQ(parse_conninfo(conn.conninfo("x y"))["dbname"], "x y");
}

TEST(PostgresConnectionTest, LibpqReadsThePasswordBackFromThePassfile) {
  BackupConfig c = sample_config();
  c.db_host = "127.0.0.1";
  c.db_port = 1;  // nothing listens: libpq reads the passfile before it connects
  Connection conn(c);
  PGconn* pg = PQconnectdb(conn.conninfo().c_str());
  ASSERT_NE(pg, nullptr);
  EXPECT_NE(PQstatus(pg), CONNECTION_OK);
  EXPECT_EQ(std::string(PQpass(pg)), kPassword);  // ':' and '\' in user and password survived
  PQfinish(pg);
}

// Against the real server, as the role tests/fixtures/pg_server.sh makes for this: coffer_pw
// must give its password (scram-sha-256), which scripts/test.sh exports as COFFER_TEST_PG_PASSWORD.
class PgPasswordTest : public PgTestBase {
 protected:
  void SetUp() override {
    PgTestBase::SetUp();
    if (HasFailure()) return;
    const char* pw = std::getenv("COFFER_TEST_PG_PASSWORD");
    if (!pw || !*pw)
      GTEST_FAIL() << "COFFER_TEST_PG_PASSWORD is not set: run the tests via scripts/test.sh";
    password_ = pw;
  }
  BackupConfig password_config(const std::string& db, const std::string& password) {
    BackupConfig c = config(db);
    c.db_user = "coffer_pw";
    c.db_password = password;
    return c;
  }
  std::string password_;
};

TEST_F(PgPasswordTest, PassfileAuthenticatesSessionsAndChildren) {
  std::string db = new_database("coffer_pw");
  Connection conn(password_config(db, password_));
  Session s(conn);
  EXPECT_EQ(s.query_value("SELECT current_user"), "coffer_pw");

  Tools tools = find_tools(s.server_version_num());
  ProcessSpec psql =
      conn.child_spec({tools.psql(), "--no-psqlrc", "-tAc", "SELECT current_user || '@' || current_database()"});
  psql.env_unset = {"PGPASSWORD"};
  std::string out, err;
  EXPECT_EQ(run_process(psql, &out, &err), 0) << err;
  EXPECT_EQ(out, "coffer_pw@" + db + "\n");

  // A child that was not given the descriptor has no password: the passfile reaches only the
  // PostgreSQL tools coffer runs, not every child of the process.
  psql.keep_fds.clear();
  EXPECT_NE(run_process(psql, &out, &err), 0);
  EXPECT_NE(err.find("no password supplied"), std::string::npos) << err;
}

TEST_F(PgPasswordTest, WrongPasswordFailsWithoutEchoingIt) {
  std::string db = new_database("coffer_pwbad");
  Connection conn(password_config(db, "Wrong-Secret-123"));
  try {
    Session s(conn);
    FAIL() << "the test server accepted a wrong password for coffer_pw: it must require "
              "scram-sha-256 for that role (tests/fixtures/pg_server.sh)";
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_EQ(e.category(), ErrorCategory::kDatabase);
    EXPECT_NE(msg.find(conn.describe()), std::string::npos) << msg;
    EXPECT_NE(msg.find("password authentication failed"), std::string::npos) << msg;
    EXPECT_EQ(msg.find("Wrong-Secret-123"), std::string::npos) << msg;
    EXPECT_EQ(msg.find(password_), std::string::npos) << msg;
    EXPECT_EQ(msg.find(conn.passfile()), std::string::npos) << msg;  // an internal detail
  }
}

}  // namespace
}  // namespace coffer::pg
